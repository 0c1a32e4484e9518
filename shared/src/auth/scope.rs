//! OAuth scopes: what a token allows its client to do. A token's `scope` claim is the
//! space-separated list of scope names (RFC 6749 §3.3); an unknown name is an error, never
//! silently dropped, so a typo cannot grant less (or more) than intended unnoticed.

use std::{fmt, str::FromStr};

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Create, confirm and cancel payments.
    PaymentsWrite,
    /// Read payments.
    PaymentsRead,
    /// Read accounts: balances and ledger entries.
    AccountsRead,
    /// Register, list, rotate and delete webhook endpoints; read and resend events.
    WebhooksManage,
    /// List payments in review and decide them: granted only to operator clients.
    RiskReview,
}

impl Scope {
    /// Every scope, in the stable order [`Scopes`] prints them.
    pub const ALL: [Scope; 5] = [
        Scope::PaymentsWrite,
        Scope::PaymentsRead,
        Scope::AccountsRead,
        Scope::WebhooksManage,
        Scope::RiskReview,
    ];

    /// The scope's name as it appears in tokens.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::PaymentsWrite => "payments:write",
            Scope::PaymentsRead => "payments:read",
            Scope::AccountsRead => "accounts:read",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::RiskReview => "risk:review",
        }
    }

    /// The scope called `name`, if any.
    pub fn parse(name: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A name that is not a known scope (cut to 64 characters).
    #[error("unknown scope `{0}`")]
    Unknown(String),
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(name: &str) -> Result<Self, ScopeError> {
        Scope::parse(name).ok_or_else(|| ScopeError::Unknown(name.chars().take(64).collect()))
    }
}

/// A set of scopes. Prints as the space-separated names in [`Scope::ALL`] order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Adds `scope` to the set.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Whether every scope of `other` is also in this set.
    pub const fn contains_all(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes of the set, in [`Scope::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::empty();
        iter.into_iter().for_each(|s| scopes.insert(s));
        scopes
    }
}

impl FromStr for Scopes {
    type Err = ScopeError;

    /// Parses space-separated scope names; repeated names and extra spaces are harmless, an
    /// unknown name is an error.
    fn from_str(list: &str) -> Result<Self, ScopeError> {
        list.split_ascii_whitespace().map(Scope::from_str).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(Scope::PaymentsWrite.as_str(), "payments:write");
        assert_eq!(Scope::PaymentsRead.as_str(), "payments:read");
        assert_eq!(Scope::AccountsRead.as_str(), "accounts:read");
        assert_eq!(Scope::WebhooksManage.as_str(), "webhooks:manage");
        assert_eq!(Scope::parse("Payments:Write"), None);
    }

    #[test]
    fn scope_lists_parse_and_print_in_a_stable_order() {
        let scopes: Scopes = "accounts:read  payments:write accounts:read"
            .parse()
            .unwrap();
        assert!(scopes.contains(Scope::PaymentsWrite));
        assert!(scopes.contains(Scope::AccountsRead));
        assert!(!scopes.contains(Scope::PaymentsRead));
        assert_eq!(scopes.to_string(), "payments:write accounts:read");
        assert_eq!(
            format!("{scopes:?}"),
            "Scopes(payments:write accounts:read)"
        );
        assert!(scopes.contains_all("payments:write".parse().unwrap()));
        assert!(!scopes.contains_all("payments:read accounts:read".parse().unwrap()));

        let all: Scopes = Scope::ALL.into_iter().collect();
        assert_eq!(
            all.to_string(),
            "payments:write payments:read accounts:read webhooks:manage risk:review"
        );
        assert_eq!(all.to_string().parse::<Scopes>(), Ok(all));

        let empty: Scopes = "".parse().unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.to_string(), "");
    }

    #[test]
    fn an_unknown_scope_name_is_an_error() {
        assert_eq!(
            "payments:read payments:admin".parse::<Scopes>(),
            Err(ScopeError::Unknown("payments:admin".to_owned()))
        );
        let long = "x".repeat(500);
        assert_eq!(
            long.parse::<Scope>(),
            Err(ScopeError::Unknown("x".repeat(64)))
        );
    }
}
