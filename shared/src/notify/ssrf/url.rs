//! The syntax of a webhook URL, parsed strictly: an absolute `http`/`https` URL with a host
//! that is a DNS name, a dotted IPv4 address or a bracketed IPv6 address, and nothing a parser
//! elsewhere could read differently (no credentials, no fragment, no spaces or non-ASCII, no
//! numeric host spellings such as `0x7f.1` or `2130706433` that resolvers take for IPv4).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use super::UrlError;

/// The longest URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// How a webhook is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A syntactically valid webhook URL (see [`super::UrlPolicy::check`]), with its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: String,
    scheme: Scheme,
    /// Lowercase, without brackets or a trailing dot.
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    path_and_query: String,
}

impl WebhookUrl {
    /// The URL as registered.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a DNS name (lowercase) or an IP address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host's address when the URL names one literally.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The port, the scheme's default when the URL names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: the path (at least `/`) and the query.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The `Host` header's value: the host (bracketed if IPv6) and a port that is not the
    /// scheme's default.
    pub fn authority(&self) -> String {
        let host = match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Parses `url`'s syntax; no policy beyond the scheme being `http` or `https`.
    pub(super) fn parse(url: &str) -> Result<Self, UrlError> {
        if url.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::Malformed(
                "spaces, control or non-ASCII characters",
            ));
        }
        let (scheme, rest) = split_scheme(url)?;
        if url.contains('#') {
            return Err(UrlError::Malformed("a fragment"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UrlError::Userinfo);
        }
        if authority.contains('\\') {
            return Err(UrlError::Malformed("a backslash in the host"));
        }
        let (host, ip, port) = split_authority(authority)?;
        let port = match port {
            Some(port) => port,
            None if scheme == Scheme::Https => 443,
            None => 80,
        };
        let path_and_query = match target.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{target}"),
            Some(_) => target.to_owned(),
        };
        Ok(Self {
            url: url.to_owned(),
            scheme,
            host,
            ip,
            port,
            path_and_query,
        })
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

fn split_scheme(url: &str) -> Result<(Scheme, &str), UrlError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(UrlError::Malformed("not an absolute URL"))?;
    if scheme.eq_ignore_ascii_case("https") {
        Ok((Scheme::Https, rest))
    } else if scheme.eq_ignore_ascii_case("http") {
        Ok((Scheme::Http, rest))
    } else {
        Err(UrlError::NotHttps)
    }
}

type Authority = (String, Option<IpAddr>, Option<u16>);

fn split_authority(authority: &str) -> Result<Authority, UrlError> {
    if authority.is_empty() {
        return Err(UrlError::NoHost);
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (literal, after) = bracketed
            .split_once(']')
            .ok_or(UrlError::Malformed("an unclosed IPv6 bracket"))?;
        // No zone ids (`%25eth0`): an interface name means a link-local address anyway.
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| UrlError::Malformed("an invalid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(after.strip_prefix(':').ok_or(
                UrlError::Malformed("characters after the IPv6 address"),
            )?)?),
        };
        return Ok((ip.to_string(), Some(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (authority, None),
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Ok((v4.to_string(), Some(IpAddr::V4(v4)), port));
    }
    check_dns_name(&host)?;
    Ok((host, None, port))
}

fn parse_port(port: &str) -> Result<u16, UrlError> {
    let invalid = UrlError::Malformed("an invalid port");
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid);
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(invalid),
    }
}

/// A host name: labels of letters, digits and inner hyphens, at most 63 bytes each and 253 in
/// all, whose last label is not numeric (a numeric last label makes resolvers read the whole
/// host as an IPv4 address in one of its legacy spellings).
fn check_dns_name(host: &str) -> Result<(), UrlError> {
    let invalid = UrlError::Malformed("an invalid host name");
    if host.len() > 253 {
        return Err(invalid);
    }
    for label in host.split('.') {
        let well_formed = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !well_formed {
            return Err(invalid);
        }
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err(UrlError::Malformed(
            "a numeric host that is not an IPv4 address",
        ));
    }
    Ok(())
}
