//! The claims of an access token and the checks a verified token's claims must pass: expiry
//! and start times (with leeway), issuer, and audience (a string or an array in the token).
//! Only the JWT verifier calls `check`, and only on claims `jsonwebtoken` decoded after it
//! verified the signature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use super::{ScopeError, Scopes, TokenError};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;

/// The claims of an access token. Times are epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub iss: String,
    /// The OAuth client the token was issued to.
    pub sub: String,
    /// The audience the token is for. A verified token whose `aud` is an array holds here the
    /// member that matched [`Expectations::audience`].
    pub aud: String,
    /// Space-separated scope names; see [`Claims::scopes`].
    pub scope: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    /// The token's unique id (`tok_<ULID>` for tokens made by [`Claims::new`]).
    pub jti: String,
}

impl Claims {
    /// The claims of a fresh token for `subject`, valid from `now` for `lifetime`.
    pub fn new(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        audience: impl Into<String>,
        scopes: Scopes,
        now: OffsetDateTime,
        lifetime: time::Duration,
    ) -> Self {
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Self {
            iss: issuer.into(),
            sub: subject.into(),
            aud: audience.into(),
            scope: scopes.to_string(),
            iat: now.unix_timestamp(),
            nbf: None,
            exp: (now + lifetime).unix_timestamp(),
            jti: format!("tok_{}", Ulid::from_parts(millis, rand::random::<u128>())),
        }
    }

    /// The `scope` claim as a set.
    ///
    /// # Errors
    /// [`ScopeError::Unknown`] for a name that is not a known scope.
    pub fn scopes(&self) -> Result<Scopes, ScopeError> {
        self.scope.parse()
    }
}

/// What a token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    pub issuer: String,
    /// Must be the token's `aud`, or one member of it when `aud` is an array.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
}

impl Expectations {
    /// Expect `issuer` and `audience`, with the default leeway of 30 seconds.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims as a verified token carries them (`aud` a string or an array).
#[derive(Deserialize)]
pub(super) struct ReceivedClaims {
    iss: String,
    sub: String,
    aud: Audience,
    scope: String,
    iat: i64,
    nbf: Option<i64>,
    exp: i64,
    jti: String,
}

/// Checks verified claims' times, issuer and audience.
pub(super) fn check(
    claims: ReceivedClaims,
    expected: &Expectations,
    now: OffsetDateTime,
) -> Result<Claims, TokenError> {
    let now = now.unix_timestamp();
    let leeway = i64::try_from(expected.leeway_seconds).unwrap_or(i64::MAX);
    if now >= claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let latest_start = now.saturating_add(leeway);
    if claims.iat > latest_start || claims.nbf.is_some_and(|nbf| nbf > latest_start) {
        return Err(TokenError::NotYetValid);
    }
    if claims.iss != expected.issuer {
        return Err(TokenError::WrongIssuer);
    }
    let aud_matches = match &claims.aud {
        Audience::One(aud) => *aud == expected.audience,
        Audience::Many(auds) => auds.contains(&expected.audience),
    };
    if !aud_matches {
        return Err(TokenError::WrongAudience);
    }
    Ok(Claims {
        iss: claims.iss,
        sub: claims.sub,
        aud: expected.audience.clone(),
        scope: claims.scope,
        iat: claims.iat,
        nbf: claims.nbf,
        exp: claims.exp,
        jti: claims.jti,
    })
}
