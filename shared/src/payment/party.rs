//! The two parties of a payment: the payer (its creator, owner of the source account), who may
//! confirm or cancel it, and the payee (owner of the destination account), who may refund it.

use crate::{ClientId, spelling::spelled};

use super::Payment;

spelled! {
    /// The two sides of a payment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Party {
        /// The client that created it, owner of the source account.
        Payer => "payer",
        /// The owner of the destination account.
        Payee => "payee",
    }
}

impl Payment {
    /// Whether `client` is the payer or the payee.
    pub fn is_party(&self, client: &ClientId) -> bool {
        self.is_payer(client) || self.is_payee(client)
    }

    pub fn is_payer(&self, client: &ClientId) -> bool {
        self.client_id == *client
    }

    pub fn is_payee(&self, client: &ClientId) -> bool {
        self.payee == *client
    }

    /// The side `client` is on, the payer's first (a client paying itself is both).
    pub fn party(&self, client: &ClientId) -> Option<Party> {
        if self.is_payer(client) {
            Some(Party::Payer)
        } else if self.is_payee(client) {
            Some(Party::Payee)
        } else {
            None
        }
    }
}
