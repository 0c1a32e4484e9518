//! Which IP addresses a webhook may be delivered to: the public internet only. Every address
//! class a request could use to reach the deployment's own network, the cloud's metadata
//! service (169.254.169.254) or a reserved range is named here, so a refusal can say which rule
//! it broke without showing the address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A class of addresses a webhook is never delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 0.0.0.0/8 ("this network").
    ThisNetwork,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// 100.64.0.0/10 (RFC 6598 carrier-grade NAT).
    SharedCgnat,
    /// 169.254.0.0/16 (the metadata service lives here), fe80::/10.
    LinkLocal,
    /// fc00::/7 (IPv6 unique local), fec0::/10 (the deprecated site-local).
    UniqueLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// Everything else set aside by IANA: 192.0.0/24, 240/4, IPv4-compatible ::/96, 100::/64,
    /// 2001::/23, the local-use NAT64 prefix 64:ff9b:1::/48.
    Reserved,
}

impl AddressClass {
    /// The rule's name, as a refusal states it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Unspecified => "unspecified",
            Self::ThisNetwork => "this-network (0.0.0.0/8)",
            Self::Private => "private (RFC 1918)",
            Self::SharedCgnat => "shared/CGNAT (100.64.0.0/10)",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

/// The class that forbids delivering to `ip`, or None for a public address.
///
/// IPv6 addresses that carry an IPv4 address a gateway would forward to (IPv4-mapped
/// `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by that IPv4
/// address, so `::ffff:127.0.0.1` is loopback and `::ffff:169.254.169.254` link-local.
pub fn forbidden_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass as C;
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        _ if ip.is_unspecified() => C::Unspecified,
        _ if ip.is_broadcast() => C::Broadcast,
        (0, ..) => C::ThisNetwork,
        (127, ..) => C::Loopback,
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => C::Private,
        (100, 64..=127, _) => C::SharedCgnat,
        (169, 254, _) => C::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => C::Documentation,
        (198, 18..=19, _) => C::Benchmarking,
        (192, 0, 0) | (240..=255, ..) => C::Reserved,
        (224..=239, ..) => C::Multicast,
        _ => return None,
    };
    Some(class)
}

fn v6_class(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass as C;
    if let Some(v4) = embedded_v4(ip) {
        return v4_class(v4);
    }
    let s = ip.segments();
    let class = match s {
        _ if ip.is_unspecified() => C::Unspecified,
        _ if ip.is_loopback() => C::Loopback,
        // IPv4-compatible (deprecated, ::/96) and 100::/64 (discard-only).
        [0, 0, 0, 0, 0, 0, _, _] | [0x100, 0, 0, 0, ..] => C::Reserved,
        [0x64, 0xff9b, 1, ..] => C::Reserved,
        [0x2001, 0xdb8, ..] => C::Documentation,
        [0x2001, 2, 0, ..] => C::Benchmarking,
        [0x2001, 0..=0x1ff, ..] => C::Reserved,
        [0x3fff, 0..=0x0fff, ..] => C::Documentation,
        [first, ..] if first & 0xfe00 == 0xfc00 => C::UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => C::UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfe80 => C::LinkLocal,
        [first, ..] if first & 0xff00 == 0xff00 => C::Multicast,
        _ => return None,
    };
    Some(class)
}

/// The IPv4 address an IPv6 address stands for on the way out: IPv4-mapped (`::ffff:0:0/96`),
/// the well-known NAT64 prefix (`64:ff9b::/96`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

/// Whether `ip` is a loopback address (127.0.0.0/8, `::1`, or IPv4-mapped 127.0.0.0/8: the
/// addresses a connection from this host reaches this host on).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
