//! One spelling per enum variant. An account's status, a payment's kind, a ledger entry's
//! direction are written as text in three places: the API's JSON, the DynamoDB items and serde.
//! [`spelled!`] writes all of them from one table, so the three cannot disagree.

/// Why a text is not a spelling of an enum made by [`spelled!`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a known {what}; expected one of {expected:?}")]
pub struct UnknownSpelling {
    /// The enum's name.
    pub what: &'static str,
    pub text: String,
    pub expected: &'static [&'static str],
}

/// Declares a fieldless enum with one spelling per variant, and derives from that table its
/// `as_str`/`parse` pair, `Display`, `FromStr`, `Serialize` and `Deserialize`.
///
/// ```ignore
/// spelled! {
///     /// Doc comment of the enum.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
///     pub enum AccountStatus {
///         Active => "active",
///         Frozen => "frozen",
///     }
/// }
/// ```
macro_rules! spelled {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every spelling, in declaration order.
            pub const SPELLINGS: &'static [&'static str] = &[$($text),+];

            /// The variant's one spelling: in the API, in DynamoDB items and in serde.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The variant spelled exactly `text`.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::spelling::UnknownSpelling;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text).ok_or_else(|| $crate::spelling::UnknownSpelling {
                    what: stringify!($name),
                    text: text.to_owned(),
                    expected: Self::SPELLINGS,
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::string::String>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&text, Self::SPELLINGS)
                })
            }
        }
    };
}

pub(crate) use spelled;

#[cfg(test)]
mod tests {
    use serde::{Serialize, de::DeserializeOwned};

    use crate::{
        AccountKind, AccountStatus, Direction, PaymentKind, PaymentStatus, client::ClientStatus,
    };

    /// serde, `Display`, `FromStr` and `parse` all agree with `as_str`, for every variant.
    fn agrees<T>(all: &[T], spellings: &[&str])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
        T: Serialize + DeserializeOwned,
        T::Err: std::fmt::Debug,
    {
        assert_eq!(all.len(), spellings.len());
        for (variant, spelling) in all.iter().zip(spellings) {
            assert_eq!(serde_json::to_value(variant).unwrap(), *spelling);
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(spelling)).unwrap(),
                *variant
            );
            assert_eq!(variant.to_string(), *spelling);
            assert_eq!(spelling.parse::<T>().unwrap(), *variant);
        }
        assert!("Active".parse::<T>().is_err(), "spellings are exact");
        assert!(serde_json::from_value::<T>(serde_json::json!("nonsense")).is_err());
    }

    #[test]
    fn every_spelling_is_the_same_in_serde_text_and_parse() {
        agrees(AccountStatus::ALL, &["active", "frozen", "closed"]);
        agrees(AccountKind::ALL, &["customer", "treasury"]);
        agrees(
            PaymentStatus::ALL,
            &[
                "pending",
                "succeeded",
                "canceled",
                "expired",
                "requires_review",
                "declined",
            ],
        );
        agrees(PaymentKind::ALL, &["transfer", "funding"]);
        agrees(Direction::ALL, &["debit", "credit"]);
        agrees(ClientStatus::ALL, &["active", "disabled"]);
    }

    #[test]
    fn unknown_spellings_name_what_was_expected() {
        let err = serde_json::from_value::<PaymentStatus>(serde_json::json!("done")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variant `done`, expected one of `pending`, `succeeded`, `canceled`, `expired`, \
             `requires_review`, `declined`"
        );
        assert_eq!(
            "done".parse::<PaymentStatus>().unwrap_err().to_string(),
            "`done` is not a known PaymentStatus; expected one of [\"pending\", \"succeeded\", \
             \"canceled\", \"expired\", \"requires_review\", \"declined\"]"
        );
    }
}
