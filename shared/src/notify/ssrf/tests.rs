//! Every SSRF rule, one test per refused address class (as a literal host, IPv4-mapped when
//! it is IPv4, and as what a name resolves to), and the URL syntax rules.

use std::net::{IpAddr, SocketAddr};

use super::*;

const AWS: UrlPolicy = UrlPolicy::PUBLIC_ONLY;
const LOCAL: UrlPolicy = UrlPolicy::LOCAL;

/// `ip` is refused with `class` on AWS: as a literal host, as the IPv4-mapped IPv6 literal of
/// an IPv4 address, and as the resolution of a public-looking name (DNS rebinding).
fn refused(ip: &str, class: AddressClass) {
    let parsed: IpAddr = ip.parse().unwrap();
    let literal = match parsed {
        IpAddr::V4(v4) => format!("https://{v4}/hook"),
        IpAddr::V6(v6) => format!("https://[{v6}]/hook"),
    };
    assert_eq!(
        AWS.check(&literal),
        Err(UrlError::NotPublic(class)),
        "{literal}"
    );
    if let IpAddr::V4(v4) = parsed {
        let mapped = format!("https://[::ffff:{v4}]:8443/hook");
        assert_eq!(
            AWS.check(&mapped),
            Err(UrlError::NotPublic(class)),
            "{mapped}"
        );
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        assert_eq!(forbidden_class(mapped), Some(class), "{mapped}");
    }
    let named = AWS.check("https://hooks.example.com/x").unwrap();
    let rebound = [
        SocketAddr::new("93.184.215.14".parse().unwrap(), 443),
        SocketAddr::new(parsed, 443),
    ];
    assert_eq!(
        AWS.admit(&named, rebound),
        Err(UrlError::NotPublic(class)),
        "one bad address among good ones refuses the host: {ip}"
    );
}

#[test]
fn loopback_is_refused() {
    refused("127.0.0.1", AddressClass::Loopback);
    refused("127.255.0.9", AddressClass::Loopback);
    refused("::1", AddressClass::Loopback);
    assert_eq!(
        AWS.check("https://localhost:8443/x"),
        Err(UrlError::NotPublic(AddressClass::Loopback))
    );
    assert_eq!(
        AWS.check("https://api.LOCALHOST./x"),
        Err(UrlError::NotPublic(AddressClass::Loopback))
    );
}

#[test]
fn unspecified_and_this_network_are_refused() {
    refused("0.0.0.0", AddressClass::Unspecified);
    refused("::", AddressClass::Unspecified);
    refused("0.1.2.3", AddressClass::ThisNetwork);
}

#[test]
fn rfc1918_private_ranges_are_refused() {
    for ip in [
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
    ] {
        refused(ip, AddressClass::Private);
    }
    // Just outside 172.16/12.
    assert!(AWS.check("https://172.15.255.255/").is_ok());
    assert!(AWS.check("https://172.32.0.1/").is_ok());
}

#[test]
fn cgnat_is_refused() {
    refused("100.64.0.1", AddressClass::SharedCgnat);
    refused("100.127.255.255", AddressClass::SharedCgnat);
    assert!(AWS.check("https://100.128.0.1/").is_ok());
    assert!(AWS.check("https://100.63.255.255/").is_ok());
}

#[test]
fn link_local_and_the_metadata_service_are_refused() {
    refused("169.254.169.254", AddressClass::LinkLocal);
    refused("169.254.0.1", AddressClass::LinkLocal);
    refused("fe80::1", AddressClass::LinkLocal);
    refused("febf::1", AddressClass::LinkLocal);
    // Reached through NAT64 or 6to4 gateways.
    refused("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal);
    refused("2002:a9fe:a9fe::1", AddressClass::LinkLocal);
}

#[test]
fn ipv6_unique_local_and_site_local_are_refused() {
    refused("fc00::1", AddressClass::UniqueLocal);
    refused("fd12:3456:789a::1", AddressClass::UniqueLocal);
    refused("fec0::1", AddressClass::UniqueLocal);
}

#[test]
fn multicast_and_broadcast_are_refused() {
    refused("224.0.0.1", AddressClass::Multicast);
    refused("239.255.255.250", AddressClass::Multicast);
    refused("ff02::1", AddressClass::Multicast);
    refused("255.255.255.255", AddressClass::Broadcast);
}

#[test]
fn documentation_benchmarking_and_reserved_ranges_are_refused() {
    for ip in [
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "2001:db8::1",
        "3fff::1",
    ] {
        refused(ip, AddressClass::Documentation);
    }
    refused("198.18.0.1", AddressClass::Benchmarking);
    refused("198.19.255.255", AddressClass::Benchmarking);
    refused("2001:2::1", AddressClass::Benchmarking);
    for ip in [
        "192.0.0.8",
        "240.0.0.1",
        "::a00:1",
        "100::1",
        "2001::1",
        "64:ff9b:1::1",
    ] {
        refused(ip, AddressClass::Reserved);
    }
}

#[test]
fn public_addresses_pass() {
    for url in [
        "https://93.184.215.14/hooks",
        "https://[2606:4700:4700::1111]:8443/a?b=c",
        "https://[::ffff:8.8.8.8]/",
        "https://[2002:808:808::1]/",
        "https://hooks.example.com",
    ] {
        assert!(AWS.check(url).is_ok(), "{url}");
    }
    let named = AWS.check("https://hooks.example.com/x").unwrap();
    let found = [
        SocketAddr::new("93.184.215.14".parse().unwrap(), 443),
        SocketAddr::new("93.184.215.14".parse().unwrap(), 443),
        SocketAddr::new(
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c".parse().unwrap(),
            443,
        ),
    ];
    assert_eq!(
        AWS.admit(&named, found).unwrap().len(),
        2,
        "duplicates dropped"
    );
    assert_eq!(AWS.admit(&named, []), Err(UrlError::Unresolvable));
}

#[test]
fn only_https_on_aws() {
    assert_eq!(
        AWS.check("http://hooks.example.com/"),
        Err(UrlError::NotHttps)
    );
    assert_eq!(AWS.check("http://127.0.0.1:9000/"), Err(UrlError::NotHttps));
    assert_eq!(
        AWS.check("ftp://hooks.example.com/"),
        Err(UrlError::NotHttps)
    );
    assert_eq!(AWS.check("file:///etc/passwd"), Err(UrlError::NotHttps));
    assert_eq!(AWS.check("gopher://x"), Err(UrlError::NotHttps));
}

#[test]
fn locally_loopback_is_allowed_over_http_and_nothing_else_private() {
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://[::1]:9000/hook",
        "http://[::ffff:127.0.0.1]:9000/",
        "http://localhost:9000/",
        "https://127.0.0.1:9443/",
    ] {
        assert!(LOCAL.check(url).is_ok(), "{url}");
    }
    assert_eq!(
        LOCAL.check("http://hooks.example.com/"),
        Err(UrlError::HttpNotLoopback)
    );
    assert_eq!(
        LOCAL.check("http://10.0.0.1/"),
        Err(UrlError::HttpNotLoopback)
    );
    assert_eq!(
        LOCAL.check("https://169.254.169.254/"),
        Err(UrlError::NotPublic(AddressClass::LinkLocal))
    );
    // An http URL whose name resolves anywhere but loopback is refused at delivery.
    let named = LOCAL.check("http://localhost:9000/").unwrap();
    let rebound = [SocketAddr::new("93.184.215.14".parse().unwrap(), 9000)];
    assert_eq!(LOCAL.admit(&named, rebound), Err(UrlError::HttpNotLoopback));
}

#[tokio::test]
async fn resolution_uses_the_system_resolver_and_judges_what_it_finds() {
    let local = LOCAL.check("http://localhost:9000/x").unwrap();
    let found = LOCAL.resolve(&local).await.expect("localhost resolves");
    assert!(
        found
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 9000),
        "{found:?}"
    );
    let literal = AWS.check("https://93.184.215.14:8443/").unwrap();
    assert_eq!(
        AWS.resolve(&literal).await.unwrap(),
        [SocketAddr::new("93.184.215.14".parse().unwrap(), 8443)]
    );
    let nowhere = AWS.check("https://paygate-test.invalid/").unwrap();
    assert_eq!(AWS.resolve(&nowhere).await, Err(UrlError::Unresolvable));
}

#[test]
fn syntax_rules() {
    let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
    assert_eq!(AWS.check(&long), Err(UrlError::TooLong));
    let at_limit = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN - 26));
    assert_eq!(at_limit.len(), MAX_URL_LEN);
    assert!(AWS.check(&at_limit).is_ok());
    assert_eq!(
        AWS.check("https://user:pw@hooks.example.com/"),
        Err(UrlError::Userinfo)
    );
    assert_eq!(
        AWS.check("https://evil.com@127.0.0.1/"),
        Err(UrlError::Userinfo)
    );
    assert_eq!(AWS.check("https:///path"), Err(UrlError::NoHost));
    assert_eq!(AWS.check("https://:443/"), Err(UrlError::NoHost));
    for bad in [
        "hooks.example.com/x",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\u{e9}",
        "https://hooks.example.com/#frag",
        "https://hooks.example.com:0/",
        "https://hooks.example.com:65536/",
        "https://hooks.example.com:/",
        "https://hooks.example.com:44a/",
        "https://hooks_x.example.com/",
        "https://-hooks.example.com/",
        "https://a..b/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://127.1/",
        "https://010.0.0.1/",
        "https://[::1/",
        "https://[fe80::1%25eth0]/",
        "https://[::1]x/",
        "https://evil.com\\.127.0.0.1/",
    ] {
        assert!(
            matches!(AWS.check(bad), Err(UrlError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn parts_of_an_accepted_url() {
    let url = AWS.check("HTTPS://Hooks.Example.COM.?x=1").unwrap();
    assert_eq!(url.scheme(), Scheme::Https);
    assert_eq!(url.host(), "hooks.example.com");
    assert_eq!(url.port(), 443);
    assert_eq!(url.path_and_query(), "/?x=1");
    assert_eq!(url.authority(), "hooks.example.com");
    assert_eq!(url.as_str(), "HTTPS://Hooks.Example.COM.?x=1");
    let v6 = LOCAL.check("http://[::1]:9000/a/b?c").unwrap();
    assert_eq!(v6.host(), "::1");
    assert_eq!(v6.authority(), "[::1]:9000");
    assert_eq!(v6.path_and_query(), "/a/b?c");
}

#[test]
fn refusals_never_show_an_address() {
    let named = AWS.check("https://hooks.example.com/x").unwrap();
    let rebound = [SocketAddr::new("10.1.2.3".parse().unwrap(), 443)];
    let message = AWS.admit(&named, rebound).unwrap_err().to_string();
    assert_eq!(
        message,
        "the URL's host is not a public address (private (RFC 1918))"
    );
    assert!(!message.contains("10.1.2.3"));
}

#[test]
fn the_functions_policy_comes_from_one_variable() {
    use crate::config::Env;
    let with = |value: Option<&'static str>| {
        UrlPolicy::from_env(&Env(move |name: &str| {
            (name == "PAYGATE_WEBHOOK_ALLOW_LOOPBACK")
                .then_some(value)
                .flatten()
                .map(str::to_owned)
        }))
    };
    assert_eq!(with(None).unwrap(), UrlPolicy::PUBLIC_ONLY);
    assert_eq!(with(Some("false")).unwrap(), UrlPolicy::PUBLIC_ONLY);
    assert_eq!(with(Some("true")).unwrap(), UrlPolicy::LOCAL);
    assert!(with(Some("yes")).is_err());
}
