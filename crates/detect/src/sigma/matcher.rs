//! Compiled value tests: what one field value (or the raw record) is
//! compared with.

use std::net::IpAddr;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::event::{Event, FieldId, Lookup, Scalar};

/// How a list of values combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Any value matches (Sigma's default for lists).
    Any,
    /// Every value matches (`|all`).
    All,
    /// No value matches (`|neq`).
    NoneOf,
}

/// A numeric comparison (`|gt`, `|gte`, `|lt`, `|lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One compiled value.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The whole value, compared case-insensitively (ASCII) unless `cased`.
    Exact {
        text: String,
        cased: bool,
    },
    Prefix {
        text: String,
        cased: bool,
    },
    Suffix {
        text: String,
        cased: bool,
    },
    /// Any of several literal needles anywhere in the value.
    Contains(AhoCorasick),
    /// A wildcard pattern or a `|re` regular expression.
    Pattern(Regex),
    Compare(Compare, f64),
    Cidr(Cidr),
    /// Equal to another field of the same event (`|fieldref`).
    FieldRef(FieldId),
    /// The field is missing or null (`field: null`).
    Null,
}

impl Matcher {
    /// Whether `text` (a value or the raw record) matches.
    pub fn matches_text(&self, text: &str) -> bool {
        match self {
            Matcher::Exact { text: want, cased } => {
                if *cased {
                    text == want
                } else {
                    text.eq_ignore_ascii_case(want)
                }
            }
            Matcher::Prefix { text: want, cased } => {
                text.len() >= want.len()
                    && eq_bytes(&text.as_bytes()[..want.len()], want.as_bytes(), *cased)
            }
            Matcher::Suffix { text: want, cased } => {
                text.len() >= want.len()
                    && eq_bytes(
                        &text.as_bytes()[text.len() - want.len()..],
                        want.as_bytes(),
                        *cased,
                    )
            }
            Matcher::Contains(needles) => needles.is_match(text),
            Matcher::Pattern(regex) => regex.is_match(text),
            Matcher::Compare(op, value) => text
                .trim()
                .parse::<f64>()
                .is_ok_and(|n| compare(*op, n, *value)),
            Matcher::Cidr(net) => text
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| net.contains(ip)),
            Matcher::FieldRef(_) | Matcher::Null => false,
        }
    }

    /// Whether one value of the field matches.
    fn matches_scalar(&self, value: &Scalar<'_>, event: &dyn Event) -> bool {
        match self {
            Matcher::Compare(op, want) => value.number().is_some_and(|n| compare(*op, n, *want)),
            Matcher::FieldRef(other) => {
                let Some(text) = value.text() else {
                    return false;
                };
                event
                    .lookup(*other)
                    .values()
                    .iter()
                    .filter_map(Scalar::text)
                    .any(|o| o.eq_ignore_ascii_case(&text))
            }
            _ => value.text().is_some_and(|text| self.matches_text(&text)),
        }
    }

    /// Whether the looked-up field matches (an array matches when any element does).
    pub fn matches(&self, found: &Lookup<'_>, event: &dyn Event) -> bool {
        match (self, found) {
            (Matcher::Null, Lookup::Missing | Lookup::Null) => true,
            (Matcher::Null, _) => false,
            _ => found
                .values()
                .iter()
                .any(|value| self.matches_scalar(value, event)),
        }
    }
}

fn eq_bytes(a: &[u8], b: &[u8], cased: bool) -> bool {
    if cased {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

fn compare(op: Compare, field: f64, value: f64) -> bool {
    match op {
        Compare::Gt => field > value,
        Compare::Gte => field >= value,
        Compare::Lt => field < value,
        Compare::Lte => field <= value,
    }
}

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            // An IPv4 address logged in its IPv6-mapped form.
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// One test of a selection: a field (or the raw record, for keywords) and its values.
#[derive(Debug, Clone)]
pub enum FieldTest {
    /// `field|exists: true|false`.
    Exists { field: FieldId, exists: bool },
    /// Values of a field; `field: None` searches the raw record (keywords).
    Values {
        field: Option<FieldId>,
        combine: Combine,
        matchers: Vec<Matcher>,
    },
}

impl FieldTest {
    pub fn matches(&self, event: &dyn Event) -> bool {
        match self {
            FieldTest::Exists { field, exists } => {
                let present = !matches!(event.lookup(*field), Lookup::Missing);
                present == *exists
            }
            FieldTest::Values {
                field: None,
                combine,
                matchers,
            } => {
                let Some(raw) = event.raw() else {
                    return false;
                };
                combined(*combine, matchers, |m| m.matches_text(raw))
            }
            FieldTest::Values {
                field: Some(field),
                combine,
                matchers,
            } => {
                let found = event.lookup(*field);
                combined(*combine, matchers, |m| m.matches(&found, event))
            }
        }
    }
}

fn combined(
    combine: Combine,
    matchers: &[Matcher],
    mut test: impl FnMut(&Matcher) -> bool,
) -> bool {
    match combine {
        Combine::Any => matchers.iter().any(test),
        Combine::All => matchers.iter().all(test),
        Combine::NoneOf => !matchers.iter().any(&mut test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains_v4_v6_and_mapped() {
        let net = Cidr::parse("10.0.0.0/8").expect("valid");
        assert!(net.contains("10.2.3.4".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.1.1".parse().expect("ip")));
        let all = Cidr::parse("0.0.0.0/0").expect("valid");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        let v6 = Cidr::parse("2001:db8::/32").expect("valid");
        assert!(v6.contains("2001:db8::1".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::1".parse().expect("ip")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope/8").is_none());
    }
}
