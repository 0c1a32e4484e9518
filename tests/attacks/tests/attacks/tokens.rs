//! Forged, tampered, expired and malformed bearer tokens. Each must get API Gateway's own 401
//! (`{"message":"Unauthorized"}`, from the Lambda authorizer) on a read and on a one-step
//! payment, and the books must not move. A correctly forged control token is accepted first, so
//! every refusal below is down to the one thing each case changes.

use std::sync::Arc;

use p256::pkcs8::{EncodePublicKey, LineEnding};
use paygate_shared::{Clock, auth::SigningKey};
use serde_json::{Value, json};
use time::Duration;

use crate::{
    forge::{self, claims, header, with},
    support::{Tally, Target, Watchlist, assert_unauthorized},
};

/// One forged `Authorization` header value and what it is.
struct Case {
    name: String,
    authorization: String,
}

fn bearer(name: &str, token: &str) -> Case {
    Case {
        name: name.to_owned(),
        authorization: format!("Bearer {token}"),
    }
}

pub async fn run(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("tokens");
    let target = Target::start(watch, "premium").await;
    let alice = target.alice.clone();
    let key = &target.signing_key;
    let kid = key.kid.as_str();
    let mine = claims(&alice.id);
    let before = target.books().await;
    let balance = format!("/v1/accounts/{}/balance", alice.accounts[0]);
    let pay = || Target::payment(alice.accounts[0], alice.accounts[1], 100, true);

    // The control: a token made exactly as the issuer makes it is accepted.
    let control = forge::es256(key, &header(kid), &mine);
    let accepted = target.get(&alice, &balance, &control).await;
    assert_eq!(
        accepted.status, 200,
        "the control token: {:?}",
        accepted.body
    );

    let real = target.token(&alice, None).await;
    let carol_real = target.token(&target.carol, None).await;
    let bob_real = target.token(&target.bob, None).await;
    let attacker = SigningKey::generate(target.clock.now()).expect("a key of the attacker's");
    let public = key.verifying_key().key;
    let pem = public
        .to_public_key_pem(LineEnding::LF)
        .expect("the public key as PEM");
    let sec1 = public.to_encoded_point(false);
    let jwks = target
        .send(
            "GET",
            "/v1/.well-known/jwks.json",
            &[("x-api-key", &alice.api_key)],
            "",
        )
        .await;
    let jwk = jwks.body["keys"][0].to_string();
    assert!(jwk.contains(kid), "the published key: {jwk}");
    let now = target.clock.now().unix_timestamp();
    let [real_header, real_claims, real_signature] = forge::segments(&real);

    let mut cases = vec![
        bearer(
            "alg none, no signature",
            &forge::unsigned(&json!({"alg": "none", "typ": "JWT", "kid": kid}), &mine),
        ),
        bearer(
            "alg None (mixed case), no signature",
            &forge::unsigned(&json!({"alg": "None", "typ": "JWT", "kid": kid}), &mine),
        ),
        bearer(
            "alg none with a real token's signature kept",
            &forge::with_header(&real, &json!({"alg": "none", "typ": "JWT", "kid": kid})),
        ),
        bearer(
            "alg missing from the header",
            &forge::es256(key, &json!({"typ": "JWT", "kid": kid}), &mine),
        ),
        bearer(
            "HS256 keyed with the public key as PEM",
            &forge::hs256(
                pem.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &mine,
            ),
        ),
        bearer(
            "HS256 keyed with the public key as SEC1 point bytes",
            &forge::hs256(
                sec1.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &mine,
            ),
        ),
        bearer(
            "HS256 keyed with the published JWK",
            &forge::hs256(
                jwk.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &mine,
            ),
        ),
        bearer(
            "alg RS256 on a valid ES256 signature",
            &forge::with_header(&real, &json!({"alg": "RS256", "typ": "JWT", "kid": kid})),
        ),
        bearer(
            "unknown kid, signed with the attacker's key",
            &forge::es256(&attacker, &header(&attacker.kid), &mine),
        ),
        bearer(
            "the real kid, signed with the attacker's key",
            &forge::es256(&attacker, &header(kid), &mine),
        ),
        bearer(
            "the attacker's key embedded as a jwk header under the real kid",
            &forge::es256(
                &attacker,
                &json!({"alg": "ES256", "typ": "JWT", "kid": kid, "jwk": jwk_of(&attacker)}),
                &mine,
            ),
        ),
        bearer(
            "no kid",
            &forge::es256(key, &json!({"alg": "ES256", "typ": "JWT"}), &mine),
        ),
        bearer(
            "kid with path traversal",
            &forge::es256(key, &header("../../keys/current"), &mine),
        ),
        bearer(
            "a critical header extension",
            &forge::es256(
                key,
                &json!({"alg": "ES256", "typ": "JWT", "kid": kid, "crit": ["exp"]}),
                &mine,
            ),
        ),
        bearer(
            "expired beyond the 30 s leeway",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"iat": now - 1000, "exp": now - 31})),
            ),
        ),
        bearer(
            "expired a year ago",
            &forge::es256(
                key,
                &header(kid),
                &with(
                    mine.clone(),
                    json!({"iat": now - 31_536_000, "exp": now - 31_535_100}),
                ),
            ),
        ),
        bearer(
            "not valid yet (nbf a minute ahead)",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"nbf": now + 60})),
            ),
        ),
        bearer(
            "issued in the future (iat a minute ahead)",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"iat": now + 60, "exp": now + 960})),
            ),
        ),
        bearer(
            "wrong issuer",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"iss": "https://evil.example"})),
            ),
        ),
        bearer(
            "wrong audience",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"aud": "another-api"})),
            ),
        ),
        bearer(
            "audience array without paygate-api",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"aud": ["another-api", "paygate"]})),
            ),
        ),
        bearer(
            "no exp",
            &forge::es256(key, &header(kid), &with(mine.clone(), json!({"exp": null}))),
        ),
        bearer(
            "exp as a string",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"exp": (now + 900).to_string()})),
            ),
        ),
        bearer(
            "subject that is not a client id",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"sub": "../admin"})),
            ),
        ),
        bearer(
            "unknown scope (admin)",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"scope": "admin payments:write"})),
            ),
        ),
        bearer(
            "tampered payload: carol's real token escalated to every scope",
            &forge::with_claims(
                &carol_real,
                &with(
                    forge::claims_of(&carol_real),
                    json!({"scope": crate::support::ALL_SCOPES}),
                ),
            ),
        ),
        bearer(
            "tampered payload: bob's real token with alice as subject",
            &forge::with_claims(
                &bob_real,
                &with(forge::claims_of(&bob_real), json!({"sub": alice.id})),
            ),
        ),
        bearer(
            "tampered payload: a real token's expiry pushed back a day",
            &forge::with_claims(
                &real,
                &with(forge::claims_of(&real), json!({"exp": now + 86_400})),
            ),
        ),
        bearer(
            "tampered header: another kid on a real token",
            &forge::with_header(&real, &header(&attacker.kid)),
        ),
        bearer(
            "one bit of the signature flipped",
            &forge::resigned(&real, &{
                let mut bytes = forge::signature(&real).to_bytes().to_vec();
                bytes[40] ^= 0x01;
                bytes
            }),
        ),
        bearer(
            "the high-S twin of a real signature",
            &forge::high_s_twin(&real),
        ),
        bearer("a real signature DER-encoded", &forge::der_encoded(&real)),
        bearer(
            "truncated: signature dropped",
            &format!("{real_header}.{real_claims}"),
        ),
        bearer(
            "truncated: signature segment empty",
            &format!("{real_header}.{real_claims}."),
        ),
        bearer("truncated: last 8 characters cut", &real[..real.len() - 8]),
        bearer("truncated: header only", real_header),
        bearer("four segments", &format!("{real}.{real_signature}")),
        bearer(
            "huge: a validly signed 5 KB token (over 4096 bytes)",
            &forge::es256(
                key,
                &header(kid),
                &with(mine.clone(), json!({"jti": "x".repeat(5_000)})),
            ),
        ),
        bearer(
            "huge: a 60 KB token",
            &format!("{real_header}.{}.{real_signature}", "A".repeat(60_000)),
        ),
        bearer("not base64url", "!!!.@@@.###"),
        Case {
            name: "empty bearer".to_owned(),
            authorization: "Bearer ".to_owned(),
        },
        Case {
            name: "a real token under the Basic scheme".to_owned(),
            authorization: format!("Basic {real}"),
        },
        Case {
            name: "a real token with no scheme".to_owned(),
            authorization: real.clone(),
        },
    ];

    for case in cases.drain(..) {
        let read = target.get_as(&alice, &balance, &case.authorization).await;
        assert_unauthorized(&read, &format!("{} (read)", case.name));
        let write = target
            .send(
                "POST",
                "/v1/payments",
                &[
                    ("x-api-key", &alice.api_key),
                    ("authorization", &case.authorization),
                    ("idempotency-key", &format!("forged-{}", tally.cases.len())),
                    ("content-type", "application/json"),
                ],
                pay(),
            )
            .await;
        assert_unauthorized(&write, &format!("{} (write)", case.name));
        tally.refused(case.name);
    }

    // A token in the query string is not a token.
    let query = target
        .send(
            "GET",
            &format!("{balance}?access_token={real}"),
            &[("x-api-key", &alice.api_key)],
            "",
        )
        .await;
    assert_unauthorized(&query, "token in the query string");
    tally.refused("a real token in the query string instead of the header");

    assert_eq!(target.books().await, before, "no forged token moved money");

    // Last, because it moves the clock: a real token, accepted and cached by the authorizer,
    // is refused once it has expired (past the leeway, and past the cache's 300 s).
    assert_eq!(target.get(&alice, &balance, &real).await.status, 200);
    target.clock.advance(Duration::seconds(900 + 31));
    assert_unauthorized(
        &target.get(&alice, &balance, &real).await,
        "a real token after expiry",
    );
    tally.refused("a real token replayed after it expired");
    tally
}

/// The public JWK of `key`, as an attacker would embed it.
fn jwk_of(key: &SigningKey) -> Value {
    let point = key.key.verifying_key().to_encoded_point(false);
    let coordinate =
        |c: Option<&p256::FieldBytes>| forge::b64(c.map(|c| c.as_slice()).unwrap_or_default());
    json!({"kty": "EC", "crv": "P-256", "kid": key.kid, "alg": "ES256", "use": "sig",
           "x": coordinate(point.x()), "y": coordinate(point.y())})
}
