//! Public keys as JSON Web Keys (RFC 7517/7518): the `Jwks` document published for verifiers
//! (the public-keys secret, and `/.well-known/jwks.json` later). Only what this crate signs with
//! is accepted back: `kty` EC, `crv` P-256, `alg` ES256, `use` sig, 32-byte coordinates that
//! name a point on the curve.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::EncodedPoint;
use serde::{Deserialize, Serialize};

use super::VerifyingKey;

/// Why a JWK is not an ES256 verifying key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// `kty`, `crv`, `alg` or `use` is not the one value accepted (the field is named).
    #[error("JWK {kid}: `{field}` must be `{expected}`")]
    Unsupported {
        kid: String,
        field: &'static str,
        expected: &'static str,
    },
    /// A coordinate is not 32 bytes of unpadded base64url.
    #[error("JWK {kid}: `{field}` is not a 32-byte base64url coordinate")]
    BadCoordinate { kid: String, field: &'static str },
    /// The coordinates do not name a point on P-256.
    #[error("JWK {kid}: the point is not on the P-256 curve")]
    NotOnCurve { kid: String },
    /// The key id is empty.
    #[error("JWK without a key id")]
    MissingKeyId,
}

/// One EC public key (RFC 7518 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The affine x coordinate: 32 bytes, big-endian, base64url without padding.
    pub x: String,
    /// The affine y coordinate: 32 bytes, big-endian, base64url without padding.
    pub y: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub alg: String,
}

/// A JWK Set: the current key first, then the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl From<&VerifyingKey> for Jwk {
    fn from(key: &VerifyingKey) -> Self {
        let point = key.key.to_encoded_point(false);
        // An uncompressed point of a valid key always carries both coordinates.
        let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c));
        Self {
            kty: "EC".to_owned(),
            crv: "P-256".to_owned(),
            x: coordinate(point.x()).unwrap_or_default(),
            y: coordinate(point.y()).unwrap_or_default(),
            kid: key.kid.clone(),
            key_use: "sig".to_owned(),
            alg: "ES256".to_owned(),
        }
    }
}

impl TryFrom<&Jwk> for VerifyingKey {
    type Error = JwkError;

    fn try_from(jwk: &Jwk) -> Result<Self, JwkError> {
        if jwk.kid.is_empty() {
            return Err(JwkError::MissingKeyId);
        }
        for (field, value, expected) in [
            ("kty", &jwk.kty, "EC"),
            ("crv", &jwk.crv, "P-256"),
            ("alg", &jwk.alg, "ES256"),
            ("use", &jwk.key_use, "sig"),
        ] {
            if value != expected {
                return Err(JwkError::Unsupported {
                    kid: jwk.kid.clone(),
                    field,
                    expected,
                });
            }
        }
        let x = coordinate(&jwk.kid, "x", &jwk.x)?;
        let y = coordinate(&jwk.kid, "y", &jwk.y)?;
        let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
        let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|_| {
            JwkError::NotOnCurve {
                kid: jwk.kid.clone(),
            }
        })?;
        Ok(Self {
            kid: jwk.kid.clone(),
            key,
        })
    }
}

fn coordinate(kid: &str, field: &'static str, value: &str) -> Result<[u8; 32], JwkError> {
    let bad = || JwkError::BadCoordinate {
        kid: kid.to_owned(),
        field,
    };
    let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

impl Jwks {
    /// The set publishing `keys`, in order (current first).
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Jwk::from).collect(),
        }
    }

    /// Every key of the set, in order.
    ///
    /// # Errors
    /// The first key that is not an ES256 verifying key.
    pub fn verifying_keys(&self) -> Result<Vec<VerifyingKey>, JwkError> {
        self.keys.iter().map(VerifyingKey::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SigningKey;
    use time::macros::datetime;

    fn key() -> VerifyingKey {
        SigningKey::generate(datetime!(2026-11-22 10:00 UTC))
            .unwrap()
            .verifying_key()
    }

    #[test]
    fn a_verifying_key_round_trips_through_jwk_and_jwks_json() {
        let (a, b) = (key(), key());
        let jwk = Jwk::from(&a);
        assert_eq!((jwk.x.len(), jwk.y.len()), (43, 43));
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["kty"], "EC");
        assert_eq!(json["crv"], "P-256");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["alg"], "ES256");
        assert_eq!(json["kid"], a.kid.as_str());
        assert_eq!(VerifyingKey::try_from(&jwk).unwrap(), a);

        let jwks = Jwks::from_keys([&a, &b]);
        let parsed: Jwks = serde_json::from_str(&serde_json::to_string(&jwks).unwrap()).unwrap();
        assert_eq!(parsed.verifying_keys().unwrap(), vec![a, b]);
    }

    #[test]
    fn jwks_that_are_not_es256_p256_keys_are_rejected() {
        let good = Jwk::from(&key());
        let kid = good.kid.clone();
        let with = |f: fn(&mut Jwk)| {
            let mut jwk = good.clone();
            f(&mut jwk);
            VerifyingKey::try_from(&jwk).unwrap_err()
        };
        let unsupported = |field, expected| JwkError::Unsupported {
            kid: kid.clone(),
            field,
            expected,
        };
        assert_eq!(with(|j| j.kty = "RSA".into()), unsupported("kty", "EC"));
        assert_eq!(
            with(|j| j.crv = "P-384".into()),
            unsupported("crv", "P-256")
        );
        assert_eq!(
            with(|j| j.alg = "HS256".into()),
            unsupported("alg", "ES256")
        );
        assert_eq!(
            with(|j| j.alg = "ES256 ".into()),
            unsupported("alg", "ES256")
        );
        assert_eq!(
            with(|j| j.key_use = "enc".into()),
            unsupported("use", "sig")
        );
        assert_eq!(with(|j| j.kid.clear()), JwkError::MissingKeyId);

        let bad = |field| JwkError::BadCoordinate {
            kid: kid.clone(),
            field,
        };
        // 31 and 33 bytes, padding, and not base64url at all.
        assert_eq!(with(|j| j.x = URL_SAFE_NO_PAD.encode([1u8; 31])), bad("x"));
        assert_eq!(with(|j| j.y = URL_SAFE_NO_PAD.encode([1u8; 33])), bad("y"));
        assert_eq!(with(|j| j.x.push('=')), bad("x"));
        assert_eq!(with(|j| j.y = "not base64url!".into()), bad("y"));

        // Flipping y's last bit moves a valid point off the curve; so does replacing x with zero.
        let flipped = |j: &mut Jwk| {
            let mut y = URL_SAFE_NO_PAD.decode(&j.y).unwrap();
            y[31] ^= 1;
            j.y = URL_SAFE_NO_PAD.encode(y);
        };
        assert_eq!(with(flipped), JwkError::NotOnCurve { kid: kid.clone() });
        assert_eq!(
            with(|j| j.x = URL_SAFE_NO_PAD.encode([0u8; 32])),
            JwkError::NotOnCurve { kid: kid.clone() }
        );
    }

    #[test]
    fn a_jwk_missing_a_member_does_not_parse() {
        let mut json = serde_json::to_value(Jwk::from(&key())).unwrap();
        json.as_object_mut().unwrap().remove("alg");
        assert!(serde_json::from_value::<Jwk>(json).is_err());
    }
}
