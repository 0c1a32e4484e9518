//! The AWS SDK configuration the functions' clients are built from, once per sandbox. Three
//! choices keep the bootstrap small and its init short (measured in `docs/performance.md`):
//!
//! - The SDK gets paygate's own HTTP client: HTTP/1.1 over rustls on *ring* (`http1`). The SDK
//!   crates are compiled without their `default-https-client` (rustls over aws-lc-rs, HTTP/1.1
//!   and HTTP/2), so neither aws-lc's C library nor `h2` is linked into the functions.
//! - The client trusts the Amazon Trust Services roots that every AWS service endpoint chains
//!   to, compiled in ([`Trust::AmazonRoots`]). The SDK otherwise loads and parses the
//!   platform's whole root store, every file of the certificate directory, when a client is
//!   built: most of a cold start's init. An explicit `https://` endpoint of another service
//!   (an emulator behind TLS) gets the platform's roots ([`Trust::for_endpoints`]).
//! - The configuration is built from what Lambda puts in the environment (region, credentials)
//!   rather than by `aws_config`'s loader: its default credential chain (profile files, SSO,
//!   web identity through STS, ECS, IMDS) and profile-file settings never apply in Lambda, yet
//!   would be linked into every bootstrap and run at every start.

use std::time::Duration;

use aws_config::{
    BehaviorVersion, ConfigLoader, Region, SdkConfig,
    environment::EnvironmentVariableCredentialsProvider, timeout::TimeoutConfig,
};
use aws_types::sdk_config::{SharedCredentialsProvider, SharedHttpClient};
use rustls::{
    RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

mod http1;

use crate::config::{ConfigError, process_env};

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, the roots AWS documents for its
/// service endpoints (PEM, public certificates).
const AMAZON_ROOTS: [&str; 5] = [
    include_str!("aws/amazon-root-ca-1.pem"),
    include_str!("aws/amazon-root-ca-2.pem"),
    include_str!("aws/amazon-root-ca-3.pem"),
    include_str!("aws/amazon-root-ca-4.pem"),
    include_str!("aws/starfield-services-root-ca-g2.pem"),
];

/// Which certificate authorities the HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The Amazon Trust Services roots only, compiled in: enough for every AWS endpoint and
    /// nothing to read from disk.
    AmazonRoots,
    /// The platform's root store, read from the file system when a client is built.
    Platform,
}

impl Trust {
    /// [`Trust::Platform`] when an endpoint override is an `https://` URL (its certificate may
    /// come from any CA), else [`Trust::AmazonRoots`] (AWS's own endpoints; plain-HTTP
    /// emulators need no trust at all).
    pub fn for_endpoints<'a>(endpoints: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let custom_https = endpoints.into_iter().flatten().any(|url| {
            url.get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        });
        if custom_https {
            Self::Platform
        } else {
            Self::AmazonRoots
        }
    }

    fn roots(self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        match self {
            Self::AmazonRoots => {
                for pem in AMAZON_ROOTS {
                    let der = CertificateDer::from_pem_slice(pem.as_bytes())
                        .expect("the compiled-in roots are PEM certificates");
                    roots
                        .add(der)
                        .expect("the compiled-in roots are usable trust anchors");
                }
            }
            Self::Platform => {
                let found = rustls_native_certs::load_native_certs();
                if !found.errors.is_empty() {
                    tracing::warn!(
                        errors = found.errors.len(),
                        "unreadable platform root certificates"
                    );
                }
                roots.add_parsable_certificates(found.certs);
            }
        }
        roots
    }
}

/// paygate's HTTPS client: HTTP/1.1 over rustls on ring, trusting `trust`.
fn https_client(trust: Trust) -> SharedHttpClient {
    http1::client(trust.roots())
}

/// Every call to DynamoDB or Secrets Manager is bounded: without operation timeouts a stalled
/// endpoint would hold a request until the function's own timeout, where a 503 belongs. 3.1 s to
/// connect (past the first TCP SYN retry), 2 s per attempt, 5 s per operation, retries included.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(3100))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// `aws_config`'s loader (region, credentials and settings from every source it knows) with
/// paygate's HTTPS client and [`timeouts`]: for tools and tests, not for the functions.
pub fn loader(trust: Trust) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(trust))
        .timeout_config(timeouts())
}

/// The configuration of a Lambda function, from what Lambda puts in the environment: the region
/// (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and the credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, read when first needed), with [`timeouts`].
/// Retries and the identity cache are the SDK's defaults for [`BehaviorVersion::latest`].
///
/// # Errors
/// [`ConfigError::Missing`] without a region.
pub fn lambda_config(trust: Trust) -> Result<SdkConfig, ConfigError> {
    let env = process_env();
    let region = env
        .optional("AWS_REGION")
        .or_else(|| env.optional("AWS_DEFAULT_REGION"))
        .ok_or(ConfigError::Missing("AWS_REGION"))?;
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client(trust))
        .timeout_config(timeouts())
        .build())
}

/// The SDK configuration of the unit tests that need moto: `PAYGATE_TEST_DYNAMODB_ENDPOINT`
/// (moto serves every service on one endpoint; `tests/run.sh` sets it) and static test
/// credentials. Without it the test fails, saying so.
#[cfg(test)]
pub(crate) async fn moto_test_config() -> aws_config::SdkConfig {
    #[cfg(feature = "dynamodb")]
    use aws_sdk_dynamodb::config::Credentials;
    #[cfg(not(feature = "dynamodb"))]
    use aws_sdk_secretsmanager::config::Credentials;
    let endpoint = std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
        .expect(
            "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: run the suite with `bash tests/run.sh`",
        );
    loader(Trust::AmazonRoots)
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "paygate-static",
        ))
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_endpoints_of_other_services_get_the_platform_roots() {
        assert_eq!(Trust::for_endpoints([None, None]), Trust::AmazonRoots);
        let moto = Some("http://127.0.0.1:5000");
        assert_eq!(Trust::for_endpoints([moto, None]), Trust::AmazonRoots);
        let tls = Some("HTTPS://localstack.internal:4566");
        assert_eq!(Trust::for_endpoints([moto, tls]), Trust::Platform);
    }

    // Building a client parses the trust store (rustls panics on a certificate it cannot use),
    // so this fails for a corrupt or unparsable compiled-in root.
    #[tokio::test]
    async fn a_client_builds_on_the_compiled_in_roots() {
        assert!(
            AMAZON_ROOTS
                .iter()
                .all(|pem| pem.matches("BEGIN CERTIFICATE").count() == 1)
        );
        let config = loader(Trust::AmazonRoots)
            .region(aws_config::Region::new("eu-west-1"))
            .load()
            .await;
        #[cfg(feature = "dynamodb")]
        let _client = aws_sdk_dynamodb::Client::new(&config);
        #[cfg(not(feature = "dynamodb"))]
        let _client = aws_sdk_secretsmanager::Client::new(&config);
    }
}
