//! Server-side request forgery guard for webhook URLs. A client names the URL; paygate's own
//! network makes the request. So a URL is accepted only if it leads to the public internet:
//! [`UrlPolicy::check`] judges its syntax (at registration), [`UrlPolicy::resolve`] the
//! addresses its host resolves to, at registration and again before every delivery, whose
//! connection then goes to exactly the addresses checked (a host re-pointed at 127.0.0.1
//! between check and connect — DNS rebinding — is caught by the second resolution, and cannot
//! slip in after it). Refusals name the rule, never the addresses.

mod addr;
mod url;

use std::{net::SocketAddr, time::Duration};

pub use addr::{AddressClass, forbidden_class, is_loopback};
pub use url::{MAX_URL_LEN, Scheme, WebhookUrl};

/// How long a host's resolution may take before the URL counts as unresolvable.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a webhook URL is refused. The messages are safe to show the client that registered it:
/// they name the rule broken, never an address the host resolved to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    #[error("the URL is malformed: {0}")]
    Malformed(&'static str),
    #[error("the URL must use https")]
    NotHttps,
    #[error("the URL may use http only to a loopback host (127.0.0.1, [::1], localhost)")]
    HttpNotLoopback,
    #[error("the URL must not carry credentials")]
    Userinfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL's host is not a public address ({})", .0.as_str())]
    NotPublic(AddressClass),
    #[error("the URL's host does not resolve")]
    Unresolvable,
}

/// Which webhook URLs are allowed. On AWS only `https` to public addresses; the local gateway
/// also allows loopback addresses (and `http` to them), so a developer's receiver on 127.0.0.1
/// works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    pub allow_loopback_http: bool,
}

impl UrlPolicy {
    /// AWS's policy: `https` to public addresses only.
    pub const PUBLIC_ONLY: Self = Self {
        allow_loopback_http: false,
    };
    /// The local gateway's: also loopback, over `http` or `https`.
    pub const LOCAL: Self = Self {
        allow_loopback_http: true,
    };

    /// The functions' policy: [`Self::PUBLIC_ONLY`], unless `PAYGATE_WEBHOOK_ALLOW_LOOPBACK=true`
    /// (only for `cargo lambda watch` beside a receiver on 127.0.0.1; never on AWS, where
    /// loopback reaches the Lambda runtime API). The webhooks function (at registration) and
    /// the notify function (at each delivery) read the same variable, so they agree.
    ///
    /// # Errors
    /// When the variable is set to something other than `true` or `false`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &crate::config::Env<F>,
    ) -> Result<Self, crate::config::ConfigError> {
        let allow_loopback_http = env.parsed("PAYGATE_WEBHOOK_ALLOW_LOOPBACK", false)?;
        if allow_loopback_http {
            tracing::warn!(
                "webhook URLs to loopback addresses are allowed (local development only)"
            );
        }
        Ok(Self {
            allow_loopback_http,
        })
    }

    /// Checks `url`'s syntax: `https` (or `http` to a loopback host when allowed), a host, no
    /// credentials, at most [`MAX_URL_LEN`] bytes. A host written as an IP address is judged
    /// here too; a name is judged by [`Self::resolve`].
    ///
    /// # Errors
    /// The [`UrlError`] naming the first rule broken.
    pub fn check(&self, url: &str) -> Result<WebhookUrl, UrlError> {
        let parsed = WebhookUrl::parse(url)?;
        if let Some(ip) = parsed.ip() {
            self.admit_ip(&parsed, ip)?;
        } else if parsed.host() == "localhost" || parsed.host().ends_with(".localhost") {
            // RFC 6761: always loopback, whatever a resolver says.
            if !self.allow_loopback_http {
                return Err(UrlError::NotPublic(AddressClass::Loopback));
            }
        } else if parsed.scheme() == Scheme::Http {
            return Err(self.http_refusal());
        }
        Ok(parsed)
    }

    /// The addresses to deliver to: `url`'s host resolved now, every address allowed.
    ///
    /// # Errors
    /// [`UrlError::Unresolvable`] when resolution fails, times out or finds nothing;
    /// [`UrlError::NotPublic`] (or [`UrlError::HttpNotLoopback`]) when ANY address is refused,
    /// since a connection may go to any of them.
    pub async fn resolve(&self, url: &WebhookUrl) -> Result<Vec<SocketAddr>, UrlError> {
        if let Some(ip) = url.ip() {
            return self.admit(url, [SocketAddr::new(ip, url.port())]);
        }
        let lookup = tokio::net::lookup_host((url.host(), url.port()));
        let found = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
            .await
            .map_err(|_| UrlError::Unresolvable)?
            .map_err(|_| UrlError::Unresolvable)?;
        self.admit(url, found)
    }

    /// Judges the addresses `url`'s host resolved to (the part of [`Self::resolve`] after the
    /// lookup): all must be allowed; duplicates are dropped, order kept.
    ///
    /// # Errors
    /// As [`Self::resolve`].
    pub fn admit(
        &self,
        url: &WebhookUrl,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, UrlError> {
        let mut admitted: Vec<SocketAddr> = Vec::new();
        for address in found {
            self.admit_ip(url, address.ip())?;
            if !admitted.contains(&address) {
                admitted.push(address);
            }
        }
        if admitted.is_empty() {
            return Err(UrlError::Unresolvable);
        }
        Ok(admitted)
    }

    fn admit_ip(&self, url: &WebhookUrl, ip: std::net::IpAddr) -> Result<(), UrlError> {
        let loopback_allowed = self.allow_loopback_http && is_loopback(ip);
        if url.scheme() == Scheme::Http && !loopback_allowed {
            return Err(self.http_refusal());
        }
        match forbidden_class(ip) {
            Some(_) if loopback_allowed => Ok(()),
            Some(class) => Err(UrlError::NotPublic(class)),
            None => Ok(()),
        }
    }

    fn http_refusal(&self) -> UrlError {
        if self.allow_loopback_http {
            UrlError::HttpNotLoopback
        } else {
            UrlError::NotHttps
        }
    }
}

#[cfg(test)]
mod tests;
