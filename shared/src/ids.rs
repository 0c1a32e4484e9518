//! Typed identifiers. Entity ids are ULIDs (time-ordered) behind a readable prefix, so an
//! `AccountId` can never be passed where a `PaymentId` is expected, and a string that is not a
//! well-formed id never reaches a store key.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use ulid::Ulid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an identifier starting with `{0}`")]
    MissingPrefix(&'static str),
    #[error("`{0}` identifiers end in a 26-character ULID")]
    MalformedUlid(&'static str),
    #[error(
        "client ids are 3 to 64 characters of letters, digits, `.`, `_` and `-`, starting with a letter or digit"
    )]
    MalformedClientId,
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id whose time component is `at`.
            pub fn generate(at: OffsetDateTime) -> Self {
                Self(Ulid::from_parts(unix_millis(at), rand::random::<u128>()))
            }

            pub const fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            pub const fn ulid(self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let rest = s.strip_prefix($prefix).ok_or(IdError::MissingPrefix($prefix))?;
                parse_canonical_ulid(rest).map(Self).ok_or(IdError::MalformedUlid($prefix))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(
    /// An account, customer or treasury: `acc_01J…`.
    AccountId,
    "acc_"
);
ulid_id!(
    /// A payment (a transfer or a funding): `pay_01J…`.
    PaymentId,
    "pay_"
);
ulid_id!(
    /// A refund of part or all of a captured payment: `re_01J…`.
    RefundId,
    "re_"
);
ulid_id!(
    /// One ledger entry (a debit or a credit): `txn_01J…`.
    EntryId,
    "txn_"
);

ulid_id!(
    /// A notification of something that happened, addressed to one client: `evt_01J…`.
    EventId,
    "evt_"
);
ulid_id!(
    /// A client's webhook endpoint: `we_01J…`.
    WebhookEndpointId,
    "we_"
);

/// Only the canonical upper-case Crockford form is accepted, so one id has exactly one spelling
/// (store keys and idempotency fingerprints depend on that).
fn parse_canonical_ulid(s: &str) -> Option<Ulid> {
    if s.len() != ulid::ULID_LEN
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return None;
    }
    let ulid = Ulid::from_string(s).ok()?;
    (ulid.to_string() == s).then_some(ulid)
}

pub(crate) fn unix_millis(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// An OAuth client: the principal that owns accounts and payments.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// The owner of the treasury accounts. No OAuth client may take this id.
    pub const SYSTEM: &'static str = "paygate-system";

    pub fn system() -> Self {
        Self(Self::SYSTEM.to_owned())
    }

    /// A fresh client id: `cli_` and a ULID.
    pub fn generate(at: OffsetDateTime) -> Self {
        Self(format!(
            "cli_{}",
            Ulid::from_parts(unix_millis(at), rand::random::<u128>())
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_system(&self) -> bool {
        self.0 == Self::SYSTEM
    }
}

impl FromStr for ClientId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid_len = (3..=64).contains(&s.len());
        let valid_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let valid_start = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if valid_len && valid_chars && valid_start {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::MalformedClientId)
        }
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_round_trip_through_their_prefixed_form() {
        let id = PaymentId::generate(datetime!(2026-11-22 10:00 UTC));
        let text = id.to_string();
        assert!(text.starts_with("pay_") && text.len() == 30, "{text}");
        assert_eq!(text.parse::<PaymentId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
    }

    #[test]
    fn ids_are_time_ordered() {
        let earlier = AccountId::generate(datetime!(2026-11-22 10:00 UTC));
        let later = AccountId::generate(datetime!(2026-11-22 10:00:00.001 UTC));
        assert!(earlier < later);
        assert!(earlier.to_string() < later.to_string());
    }

    #[test]
    fn wrong_prefix_and_non_canonical_forms_are_rejected() {
        let acc = AccountId::generate(datetime!(2026-11-22 10:00 UTC)).to_string();
        assert_eq!(
            acc.parse::<PaymentId>(),
            Err(IdError::MissingPrefix("pay_"))
        );
        let lower = format!("acc_{}", acc[4..].to_lowercase());
        assert_eq!(
            lower.parse::<AccountId>(),
            Err(IdError::MalformedUlid("acc_"))
        );
        for bad in [
            "acc_",
            "acc_123",
            "acc_' OR 1=1 --",
            "acc_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn client_ids_are_restricted_to_a_safe_alphabet() {
        assert!("acme-payments_01".parse::<ClientId>().is_ok());
        for bad in [
            "",
            "ab",
            "-lead",
            "has space",
            "semi;colon",
            &"x".repeat(65),
        ] {
            assert_eq!(
                bad.parse::<ClientId>(),
                Err(IdError::MalformedClientId),
                "{bad:?}"
            );
        }
    }
}
