//! The claim rules of [`super::verify`] (times with leeway, issuer, audience), each broken by a
//! correctly signed token.

use serde_json::json;
use time::OffsetDateTime;

use super::tests::{AUD, NOW, check, claims, es256_header, key, signed_raw};
use super::{TokenError, sign};

#[test]
fn expiry_and_start_times_are_checked_with_leeway() {
    let key = key();
    let claims = claims();
    let token = sign(&key, &claims);
    let at = |epoch: i64| OffsetDateTime::from_unix_timestamp(epoch).unwrap();
    assert!(check(&token, &key, at(claims.exp + 29)).is_ok());
    assert_eq!(
        check(&token, &key, at(claims.exp + 30)),
        Err(TokenError::Expired)
    );
    assert!(check(&token, &key, at(claims.iat - 30)).is_ok());
    assert_eq!(
        check(&token, &key, at(claims.iat - 31)),
        Err(TokenError::NotYetValid)
    );

    let mut later = claims.clone();
    later.nbf = Some(NOW.unix_timestamp() + 31);
    let token = sign(&key, &later);
    assert_eq!(check(&token, &key, NOW), Err(TokenError::NotYetValid));
    assert!(check(&token, &key, at(NOW.unix_timestamp() + 1)).is_ok());

    let mut extreme = claims;
    (extreme.iat, extreme.nbf, extreme.exp) = (i64::MIN, Some(i64::MIN), i64::MAX);
    assert!(check(&sign(&key, &extreme), &key, NOW).is_ok());
}

#[test]
fn issuer_and_audience_must_match() {
    let key = key();
    let mut claims = claims();
    claims.iss = "https://evil.test".to_owned();
    assert_eq!(
        check(&sign(&key, &claims), &key, NOW),
        Err(TokenError::WrongIssuer)
    );

    let mut claims = self::claims();
    claims.aud = "another-api".to_owned();
    assert_eq!(
        check(&sign(&key, &claims), &key, NOW),
        Err(TokenError::WrongAudience)
    );

    let mut payload = serde_json::to_value(self::claims()).unwrap();
    payload["aud"] = json!(["another-api", AUD]);
    let token = signed_raw(&key, &es256_header(&key), &payload);
    assert_eq!(check(&token, &key, NOW).map(|c| c.aud), Ok(AUD.to_owned()));
    payload["aud"] = json!(["another-api", "paygate"]);
    let token = signed_raw(&key, &es256_header(&key), &payload);
    assert_eq!(check(&token, &key, NOW), Err(TokenError::WrongAudience));
    payload["aud"] = json!(42);
    let token = signed_raw(&key, &es256_header(&key), &payload);
    assert!(matches!(
        check(&token, &key, NOW),
        Err(TokenError::Malformed(_))
    ));
}
