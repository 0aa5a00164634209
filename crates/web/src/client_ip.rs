//! The client's address behind reverse proxies.
//!
//! `X-Forwarded-For` and `Forwarded` (RFC 7239) are written by whoever sent
//! the request, so they are believed only when the TCP peer is one of the
//! proxies named by `palisade serve --trusted-proxy CIDR`. Then the client is
//! the right-most address of the chain that is not itself a trusted proxy:
//! everything left of it was written by hosts we do not trust. Any other
//! peer, an absent header, or a header that does not parse leaves the peer's
//! own address (a malformed header is ignored, never an error).
//!
//! The address feeds the per-address sign-in throttling and the audit log.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header a trusted proxy writes the chain into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, AWS ALB).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client;proto=https, for=proxy1` (RFC 7239).
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!(
                "unknown header `{other}`: expected x-forwarded-for or forwarded"
            )),
        }
    }
}

/// The proxies whose forwarding headers are believed, and which header they write.
///
/// Only one header is read: reading both would let a client plant the one
/// the proxy does not overwrite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    pub networks: Vec<IpNet>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses `--trusted-proxy` values: a CIDR (`10.0.0.0/8`) or one address.
    pub fn parse(cidrs: &[String], header: ForwardedHeader) -> Result<TrustedProxies, String> {
        let networks = cidrs
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("--trusted-proxy `{text}`: expected a CIDR such as 10.0.0.0/8 or an address")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks, header })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let Some(chain) = self.chain(headers) else {
            return peer;
        };
        // Right to left: skip our own proxies; the first other hop is the client.
        let mut leftmost = peer;
        for hop in chain.into_iter().rev() {
            if !self.trusts(hop) {
                return hop;
            }
            leftmost = hop;
        }
        // Every hop is a trusted proxy: the farthest one is all we know.
        leftmost
    }

    /// The addresses of the configured header, left to right (every
    /// instance of the header, in order), or `None` when it is absent or any
    /// element is not an address.
    fn chain(&self, headers: &HeaderMap) -> Option<Vec<IpAddr>> {
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut chain = Vec::new();
        for value in headers.get_all(name) {
            let value = value.to_str().ok()?;
            for element in value.split(',') {
                let node = match self.header {
                    ForwardedHeader::XForwardedFor => element.trim(),
                    ForwardedHeader::Forwarded => forwarded_for(element)?,
                };
                chain.push(parse_node(node)?);
            }
        }
        (!chain.is_empty()).then_some(chain)
    }
}

/// The `for=` parameter of one `Forwarded` element (`for=1.2.3.4;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// An address, with or without a port: `192.0.2.1`, `192.0.2.1:80`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`. Obfuscated or
/// `unknown` nodes (RFC 7239) are not addresses.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
        .map(canonical)
}

/// `::ffff:192.0.2.1` (a dual-stack socket's view of an IPv4 client) as `192.0.2.1`.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8".into(), "2001:db8:f::1".into()], header)
            .expect("valid")
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name, HeaderValue::from_str(value).expect("value"));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let trusted = proxies(ForwardedHeader::XForwardedFor);
        let spoofed = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            trusted.client_ip(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        // With no proxy configured nothing is believed, even from loopback.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), &spoofed), ip("127.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(ForwardedHeader::XForwardedFor);
        // The client forged the first entry; the edge proxy appended the real one.
        let chain = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &chain),
            ip("198.51.100.7")
        );
        let ports = headers("x-forwarded-for", &["[2001:db8::7]:4711, 10.0.0.9:80"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.2"), &ports), ip("2001:db8::7"));
        let mapped = headers("x-forwarded-for", &["198.51.100.8"]);
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.0.0.2"), &mapped),
            ip("198.51.100.8")
        );
        let all_proxies = headers("x-forwarded-for", &["10.9.9.9, 10.1.1.1"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &all_proxies),
            ip("10.9.9.9")
        );
        // Forwarded is not read when the proxies write X-Forwarded-For.
        let other = headers("forwarded", &["for=198.51.100.99"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.2"), &other), ip("10.0.0.2"));
    }

    #[test]
    fn rfc_7239_forwarded_is_read_when_configured() {
        let trusted = proxies(ForwardedHeader::Forwarded);
        let chain = headers(
            "forwarded",
            &[r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, For=10.0.0.5;by=10.0.0.1"#],
        );
        assert_eq!(
            trusted.client_ip(ip("2001:db8:f::1"), &chain),
            ip("2001:db8::7")
        );
        let xff = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.2"), &xff), ip("10.0.0.2"));
    }

    #[test]
    fn malformed_headers_are_ignored() {
        let trusted = proxies(ForwardedHeader::XForwardedFor);
        for bad in [
            "not-an-address",
            "198.51.100.7, , 10.0.0.1",
            "",
            "1.2.3.4.5",
            "unknown",
        ] {
            let h = headers("x-forwarded-for", &[bad]);
            assert_eq!(
                trusted.client_ip(ip("10.0.0.2"), &h),
                ip("10.0.0.2"),
                "{bad:?}"
            );
        }
        let mut binary = HeaderMap::new();
        binary.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"198.51.100.7\xff").expect("opaque bytes"),
        );
        assert_eq!(trusted.client_ip(ip("10.0.0.2"), &binary), ip("10.0.0.2"));
        let forwarded = proxies(ForwardedHeader::Forwarded);
        for bad in ["for=_hidden", "for=unknown", "proto=https", "for=\"[::1\""] {
            let h = headers("forwarded", &[bad]);
            assert_eq!(
                forwarded.client_ip(ip("10.0.0.2"), &h),
                ip("10.0.0.2"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_proxy_lists_are_refused_with_the_value() {
        let error = TrustedProxies::parse(&["10.0.0.0/33".into()], ForwardedHeader::default())
            .expect_err("invalid prefix");
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
        assert_eq!("Forwarded".parse(), Ok(ForwardedHeader::Forwarded));
    }
}
