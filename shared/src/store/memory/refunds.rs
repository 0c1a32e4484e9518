//! Refunds in the embedded store: checked and posted under the store's lock, in the order the
//! DynamoDB adapter explains a cancelled refund (idempotency, payment, payee, payer).

use time::OffsetDateTime;

use super::State;
use crate::{
    Event, IdempotencyRecord, Payment, PaymentId, Refund, RefundId, StoreError,
    store::RefundOutcome, unposted::Settlement,
};

impl State {
    pub(super) fn refund(
        &mut self,
        payment: PaymentId,
        refund: &Refund,
        idempotency: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<RefundOutcome, StoreError> {
        if let Some(previous) = self.previous(idempotency, now) {
            return previous.map(RefundOutcome::Replayed);
        }
        let current = self.current_payment(payment)?;
        let refunded = current.refund(refund.amount, now)?;
        let payee = self.account(current.destination)?;
        payee.check_refund(refund.amount)?;
        let payer = self.account(current.source)?;
        payer.check_receive(refund.amount.currency)?;
        if self.refunds.contains_key(&(payment, refund.id)) {
            return Err(StoreError::DuplicateId(refund.id.to_string()));
        }
        let settlement = Settlement::refund(refund, payee, payer, now)?;
        self.settle(settlement, false);
        self.payments.insert(refunded.id, refunded.clone());
        self.refunds.insert((payment, refund.id), refund.clone());
        self.idempotency
            .insert(idempotency.key.clone(), idempotency.clone());
        self.emit(Event::for_refund(refund, &refunded, now));
        Ok(RefundOutcome::Created {
            refund: refund.clone(),
            payment: refunded,
        })
    }

    pub(super) fn payment_with_refunds(&self, id: PaymentId) -> Option<(Payment, Vec<Refund>)> {
        let payment = self.payments.get(&id)?;
        let low = RefundId::from_ulid(ulid::Ulid::nil());
        let high = RefundId::from_ulid(ulid::Ulid(u128::MAX));
        let refunds = self
            .refunds
            .range((id, low)..=(id, high))
            .map(|(_, refund)| refund.clone())
            .collect();
        Some((payment.clone(), refunds))
    }
}
