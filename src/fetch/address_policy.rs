//! The SSRF guard: which addresses the fetcher may connect to.
//!
//! Feeds and the pages they link to are written by strangers, so a link or a
//! redirect may point at the machine redline runs on, the local network or a
//! cloud metadata service. Every address is classified before any connection is
//! opened: hosts that are IP literals are checked in the URL (of the request and
//! of every redirect hop), and host names are resolved by [`GuardedResolver`],
//! which drops refused addresses and fails when none is left. Loopback and
//! private addresses can be allowed by configuration (`fetch.allow_loopback`,
//! `fetch.allow_private`); link-local, multicast, documentation and other special
//! addresses never are. (Behind a proxy set in the environment, the proxy
//! resolves host names; only IP literals are then checked here.)

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::config::FetchConfig;

/// Why an address is not an ordinary public unicast one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, shared address space (100.64.0.0/10), unique-local fc00::/7 and
    /// the deprecated site-local fec0::/10.
    Private,
    /// 169.254.0.0/16 (where cloud metadata services live), fe80::/10.
    LinkLocal,
    Multicast,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 255.255.255.255.
    Broadcast,
    /// Reserved, benchmarking and protocol-assignment ranges.
    Reserved,
}

impl AddressClass {
    /// The class in a sentence: "a loopback address".
    fn phrase(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Reserved => "a reserved address",
        }
    }

    /// The config switch that allows this class, if one does.
    fn switch(self) -> Option<&'static str> {
        match self {
            AddressClass::Loopback => Some("fetch.allow_loopback"),
            AddressClass::Private => Some("fetch.allow_private"),
            _ => None,
        }
    }
}

/// An address the policy refuses to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub addr: IpAddr,
    pub class: AddressClass,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.addr, self.class.phrase())?;
        match self.class.switch() {
            Some(switch) => write!(f, " (set {switch} = true to allow)"),
            None => f.write_str(" (never fetched)"),
        }
    }
}

/// Which special addresses may be fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allow_private: bool,
}

impl AddressPolicy {
    pub fn from_config(config: &FetchConfig) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: config.allow_loopback,
            allow_private: config.allow_private,
        }
    }

    /// Whether `addr` may be connected to.
    pub fn check_ip(&self, addr: IpAddr) -> Result<(), Refusal> {
        match classify(addr) {
            None => Ok(()),
            Some(AddressClass::Loopback) if self.allow_loopback => Ok(()),
            Some(AddressClass::Private) if self.allow_private => Ok(()),
            Some(class) => Err(Refusal { addr, class }),
        }
    }

    /// Whether `url` may be requested, as far as its host shows: an IP literal is
    /// decided here, a name only once it is resolved (by [`GuardedResolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.host() {
            Some(Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            Some(Host::Domain(_)) | None => Ok(()),
        }
    }
}

/// The class of a special address; `None` for an ordinary public one.
pub fn classify(addr: IpAddr) -> Option<AddressClass> {
    match addr {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const SHARED: Ipv4Net = v4(100, 64, 0, 0, 10);
const THIS_NETWORK: Ipv4Net = v4(0, 0, 0, 0, 8);
const RESERVED_V4: &[Ipv4Net] = &[
    v4(192, 0, 0, 0, 24),   // IETF protocol assignments
    v4(192, 88, 99, 0, 24), // deprecated 6to4 relay anycast
    v4(198, 18, 0, 0, 15),  // benchmarking
    v4(240, 0, 0, 0, 4),    // future use
];

fn classify_v4(addr: Ipv4Addr) -> Option<AddressClass> {
    let class = if addr.is_loopback() {
        AddressClass::Loopback
    } else if addr.is_private() || SHARED.contains(&addr) {
        AddressClass::Private
    } else if addr.is_link_local() {
        AddressClass::LinkLocal
    } else if addr.is_multicast() {
        AddressClass::Multicast
    } else if THIS_NETWORK.contains(&addr) {
        AddressClass::Unspecified
    } else if addr.is_documentation() {
        AddressClass::Documentation
    } else if addr.is_broadcast() {
        AddressClass::Broadcast
    } else if RESERVED_V4.iter().any(|net| net.contains(&addr)) {
        AddressClass::Reserved
    } else {
        return None;
    };
    Some(class)
}

const fn v6(first: u16, second: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(first, second, 0, 0, 0, 0, 0, 0), len)
}

/// IPv6 ranges by class (other than those std's methods answer).
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (v6(0xfec0, 0, 10), AddressClass::Private), // deprecated site-local
    (v6(0x2001, 0xdb8, 32), AddressClass::Documentation),
    (v6(0x3fff, 0, 20), AddressClass::Documentation),
    (v6(0x100, 0, 64), AddressClass::Reserved), // discard-only
    (v6(0x2001, 0, 23), AddressClass::Reserved), // protocol assignments, Teredo
    (v6(0, 0, 96), AddressClass::Reserved),     // deprecated IPv4-compatible
];

fn classify_v6(addr: Ipv6Addr) -> Option<AddressClass> {
    if let Some(embedded) = embedded_v4(addr) {
        return classify_v4(embedded);
    }
    let class = if addr.is_loopback() {
        AddressClass::Loopback
    } else if addr.is_unspecified() {
        AddressClass::Unspecified
    } else if addr.is_unique_local() {
        AddressClass::Private
    } else if addr.is_unicast_link_local() {
        AddressClass::LinkLocal
    } else if addr.is_multicast() {
        AddressClass::Multicast
    } else {
        return V6_RANGES
            .iter()
            .find(|(net, _)| net.contains(&addr))
            .map(|&(_, class)| class);
    };
    Some(class)
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (::ffff:a.b.c.d),
/// NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::/48).
fn embedded_v4(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(mapped) = addr.to_ipv4_mapped() {
        return Some(mapped);
    }
    let s = addr.segments();
    let octets = addr.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    (s[0] == 0x2002).then(|| Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]))
}

/// A host name that resolved to refused addresses only.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to refused addresses only: {refusal}")]
pub struct NameRefused {
    pub host: String,
    pub refusal: Refusal,
}

/// Resolves host names with the system resolver and keeps only the addresses
/// the policy allows, so that no connection to a refused address is opened.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: AddressPolicy,
}

impl GuardedResolver {
    pub fn new(policy: AddressPolicy) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy })
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = filter(&policy, &host, found)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The allowed addresses of `host`, or why none is.
fn filter(
    policy: &AddressPolicy,
    host: &str,
    found: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, NameRefused> {
    let mut first_refusal = None;
    let mut allowed = Vec::with_capacity(found.len());
    for addr in found {
        match policy.check_ip(addr.ip()) {
            Ok(()) => allowed.push(addr),
            Err(refusal) => {
                tracing::debug!(host, %refusal, "address refused");
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    match first_refusal {
        Some(refusal) if allowed.is_empty() => Err(NameRefused {
            host: host.to_string(),
            refusal,
        }),
        _ => Ok(allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: AddressPolicy = AddressPolicy {
        allow_loopback: false,
        allow_private: false,
    };

    fn class(text: &str) -> Option<AddressClass> {
        classify(text.parse().unwrap())
    }

    #[test]
    fn special_ipv4_addresses_are_classified() {
        assert_eq!(class("127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("127.255.0.9"), Some(AddressClass::Loopback));
        assert_eq!(class("10.0.0.1"), Some(AddressClass::Private));
        assert_eq!(class("172.16.5.4"), Some(AddressClass::Private));
        assert_eq!(class("192.168.1.1"), Some(AddressClass::Private));
        assert_eq!(class("100.64.0.1"), Some(AddressClass::Private));
        assert_eq!(class("169.254.169.254"), Some(AddressClass::LinkLocal));
        assert_eq!(class("224.0.0.1"), Some(AddressClass::Multicast));
        assert_eq!(class("0.0.0.0"), Some(AddressClass::Unspecified));
        assert_eq!(class("0.1.2.3"), Some(AddressClass::Unspecified));
        assert_eq!(class("192.0.2.7"), Some(AddressClass::Documentation));
        assert_eq!(class("255.255.255.255"), Some(AddressClass::Broadcast));
        assert_eq!(class("198.18.0.1"), Some(AddressClass::Reserved));
        assert_eq!(class("240.0.0.1"), Some(AddressClass::Reserved));
    }

    #[test]
    fn special_ipv6_addresses_are_classified() {
        assert_eq!(class("::1"), Some(AddressClass::Loopback));
        assert_eq!(class("::"), Some(AddressClass::Unspecified));
        assert_eq!(class("fd00::1"), Some(AddressClass::Private));
        assert_eq!(class("fec0::1"), Some(AddressClass::Private));
        assert_eq!(class("fe80::1"), Some(AddressClass::LinkLocal));
        assert_eq!(class("ff02::1"), Some(AddressClass::Multicast));
        assert_eq!(class("2001:db8::1"), Some(AddressClass::Documentation));
        assert_eq!(class("::127.0.0.1"), Some(AddressClass::Reserved));
    }

    #[test]
    fn ipv6_addresses_embedding_ipv4_are_classified_by_the_ipv4_address() {
        assert_eq!(class("::ffff:127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class("::ffff:10.1.2.3"), Some(AddressClass::Private));
        assert_eq!(
            class("64:ff9b::169.254.169.254"),
            Some(AddressClass::LinkLocal)
        );
        assert_eq!(class("2002:c0a8:0101::1"), Some(AddressClass::Private));
        assert_eq!(class("::ffff:93.184.216.34"), None);
    }

    #[test]
    fn public_addresses_are_allowed() {
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert_eq!(class(public), None, "{public}");
            assert!(STRICT.check_ip(public.parse().unwrap()).is_ok(), "{public}");
        }
    }

    #[test]
    fn switches_allow_loopback_and_private_but_never_link_local() {
        let open = AddressPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        assert!(STRICT.check_ip(ip("127.0.0.1")).is_err());
        assert!(open.check_ip(ip("127.0.0.1")).is_ok());
        assert!(open.check_ip(ip("::1")).is_ok());
        assert!(STRICT.check_ip(ip("192.168.1.1")).is_err());
        assert!(open.check_ip(ip("192.168.1.1")).is_ok());
        assert!(open.check_ip(ip("169.254.169.254")).is_err());
        assert!(open.check_ip(ip("0.0.0.0")).is_err());
        let loopback_only = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(loopback_only.check_ip(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn urls_with_literal_hosts_are_decided_without_resolving() {
        let url = |s: &str| Url::parse(s).unwrap();
        let refusal = STRICT
            .check_url(&url("http://[::1]:8080/feed"))
            .unwrap_err();
        assert_eq!(refusal.class, AddressClass::Loopback);
        let refusal = STRICT.check_url(&url("http://10.0.0.1/x")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "10.0.0.1 is a private address (set fetch.allow_private = true to allow)"
        );
        // url normalises decimal and hex forms of IPv4 hosts.
        let refusal = STRICT.check_url(&url("http://2130706433/")).unwrap_err();
        assert_eq!(refusal.class, AddressClass::Loopback);
        let refusal = STRICT.check_url(&url("http://0x7f.1/")).unwrap_err();
        assert_eq!(refusal.class, AddressClass::Loopback);
        assert!(STRICT.check_url(&url("http://93.184.216.34/")).is_ok());
        assert!(STRICT.check_url(&url("http://example.org/")).is_ok());
    }

    #[test]
    fn never_allowed_classes_say_so() {
        let refusal = STRICT.check_ip("169.254.169.254".parse().unwrap());
        assert_eq!(
            refusal.unwrap_err().to_string(),
            "169.254.169.254 is a link-local address (never fetched)"
        );
        let refusal = STRICT.check_ip("0.0.0.0".parse().unwrap());
        assert_eq!(
            refusal.unwrap_err().to_string(),
            "0.0.0.0 is an unspecified address (never fetched)"
        );
    }

    #[test]
    fn resolved_names_keep_allowed_addresses_and_fail_with_none() {
        let sock = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
        let mixed = vec![sock("127.0.0.1"), sock("93.184.216.34")];
        let kept = filter(&STRICT, "mixed.test", mixed).unwrap();
        assert_eq!(kept, vec![sock("93.184.216.34")]);
        let local = vec![sock("127.0.0.1"), sock("::1")];
        let error = filter(&STRICT, "localhost", local).unwrap_err();
        assert_eq!(error.refusal.class, AddressClass::Loopback);
        assert!(
            error.to_string().starts_with("localhost resolves"),
            "{error}"
        );
    }
}
