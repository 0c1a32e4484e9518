//! Client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic with the
//! form-encoded client id and secret, or `client_id` and `client_secret` in the body, never
//! both. Checking the secret is constant time, and an unknown client costs the same work as a
//! known one, so neither the answer nor its timing tells whether a client id exists.

use base64::{
    Engine,
    alphabet::STANDARD,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use paygate_shared::{
    ClientId, StoreError,
    client::{ClientRecord, ClientStatus, SecretHash},
    store::ClientStore,
};

use crate::{
    form::{Form, decode},
    oauth::{ErrorCode, OAuthError},
};

/// Clients differ on padding the Basic credentials; both forms are accepted.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Basic,
    Body,
}

/// A client id and secret as presented, not yet checked.
pub struct Credentials {
    pub client_id: String,
    secret: String,
    pub method: Method,
}

// The secret never reaches a log.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The same answer for every failed authentication: which check failed is not told.
const FAILED: &str = "client authentication failed";

impl Credentials {
    /// The credentials of a token request: its `Authorization` header, else its body.
    ///
    /// # Errors
    /// `invalid_request` for two methods at once; `invalid_client` for none, a scheme other than
    /// Basic, malformed Basic credentials or a body with only one of id and secret.
    pub fn from_request(authorization: Option<&str>, form: &Form) -> Result<Self, OAuthError> {
        let in_body = (form.get("client_id"), form.get("client_secret"));
        let Some(authorization) = authorization else {
            return match in_body {
                (Some(id), Some(secret)) => Ok(Self {
                    client_id: id.to_owned(),
                    secret: secret.to_owned(),
                    method: Method::Body,
                }),
                (None, None) => Err(OAuthError::invalid_client(
                    "client authentication is required: HTTP Basic, or client_id and client_secret in the body",
                    true,
                )),
                _ => Err(OAuthError::invalid_client(
                    "client_id and client_secret are both required",
                    false,
                )),
            };
        };
        if in_body != (None, None) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "use one client authentication method: HTTP Basic or the body, not both",
            ));
        }
        let authorization = authorization.trim();
        let (scheme, encoded) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::invalid_client(
                "client authentication must use HTTP Basic or the body",
                true,
            ));
        }
        let (client_id, secret) = basic(encoded.trim()).ok_or(OAuthError::invalid_client(
            "the HTTP Basic credentials are malformed",
            true,
        ))?;
        Ok(Self {
            client_id,
            secret,
            method: Method::Basic,
        })
    }

    /// The client these credentials prove, after one read of the client store.
    ///
    /// # Errors
    /// `Ok(Err(invalid_client))` for an unknown or disabled client or a wrong secret, all three
    /// answered identically; `Err` when the store cannot be read.
    pub async fn authenticate(
        &self,
        clients: &dyn ClientStore,
    ) -> Result<Result<ClientRecord, OAuthError>, StoreError> {
        // A malformed id cannot be registered: it is unknown without asking the store.
        let record = match self.client_id.parse::<ClientId>() {
            Ok(id) => clients.client(&id).await?,
            Err(_) => None,
        };
        let secret_matches = match &record {
            Some(record) => record.secret_hash.verify(&self.secret),
            None => {
                SecretHash::verify_nothing(&self.secret);
                false
            }
        };
        Ok(match record {
            Some(record) if secret_matches && record.status == ClientStatus::Active => Ok(record),
            _ => Err(OAuthError::invalid_client(
                FAILED,
                self.method == Method::Basic,
            )),
        })
    }
}

/// `base64(form-encoded id ":" form-encoded secret)`.
fn basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(BASIC.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((decode(id).ok()?, decode(secret).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD as PADDED, STANDARD_NO_PAD};

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    fn error(result: Result<Credentials, OAuthError>) -> (ErrorCode, bool) {
        let err = result.unwrap_err();
        (err.error, err.challenge)
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        // RFC 6749 §2.3.1: each part is form-encoded before joining, so ':' may be in a secret.
        for engine in [PADDED, STANDARD_NO_PAD] {
            let header = format!("bAsIc {}", engine.encode("my%20app:s%3Ac+r%2Bt:x"));
            let creds = Credentials::from_request(Some(&header), &form("")).unwrap();
            assert_eq!(creds.client_id, "my app");
            assert_eq!(creds.secret, "s:c r+t:x");
            assert_eq!(creds.method, Method::Basic);
        }
    }

    #[test]
    fn body_credentials_need_both_parts() {
        let creds =
            Credentials::from_request(None, &form("client_id=app&client_secret=s%26t")).unwrap();
        assert_eq!(
            (creds.client_id.as_str(), creds.secret.as_str()),
            ("app", "s&t")
        );
        assert_eq!(creds.method, Method::Body);
        assert_eq!(
            error(Credentials::from_request(None, &form("client_id=app"))),
            (ErrorCode::InvalidClient, false)
        );
        assert_eq!(
            error(Credentials::from_request(None, &form(""))),
            (ErrorCode::InvalidClient, true)
        );
    }

    #[test]
    fn two_methods_or_other_schemes_are_refused() {
        let basic = format!("Basic {}", PADDED.encode("app:secret"));
        for body in [
            "client_id=app",
            "client_secret=x",
            "client_id=a&client_secret=x",
        ] {
            assert_eq!(
                error(Credentials::from_request(Some(&basic), &form(body))),
                (ErrorCode::InvalidRequest, false),
                "{body}"
            );
        }
        for header in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            "Basic YXBw", // "app": no colon
            &format!("Basic {}", PADDED.encode("app:%zz")),
            &format!("Basic {}", PADDED.encode([b'a', b':', 0xff])),
        ] {
            assert_eq!(
                error(Credentials::from_request(Some(header), &form(""))),
                (ErrorCode::InvalidClient, true),
                "{header}"
            );
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let creds =
            Credentials::from_request(None, &form("client_id=app&client_secret=pgs_s3cr3t"))
                .unwrap();
        let printed = format!("{creds:?}");
        assert!(
            printed.contains("app") && !printed.contains("pgs_s3cr3t"),
            "{printed}"
        );
    }
}
