//! dpkg's version ordering (`lib/dpkg/version.c`, `verrevcmp`; Debian Policy
//! 5.6.12): `[epoch:]upstream[-revision]`, where letters sort before
//! non-letters and `~` sorts before everything, even the end of the string.

use std::cmp::Ordering;

struct Parsed<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

fn parse(version: &str) -> Parsed<'_> {
    let version = version.trim();
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|c| c.is_ascii_digit()) => (epoch, rest),
        _ => ("0", version),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    Parsed {
        epoch,
        upstream,
        revision,
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

/// Orders two Debian package versions as `dpkg --compare-versions` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = parse(a);
    let b = parse(b);
    super::compare_digits(a.epoch, b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn tilde_sorts_before_everything() {
        // Debian Policy 5.6.12: "~~, ~~a, ~, the empty part, a".
        assert_ascending(compare, &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"]);
        assert_ascending(compare, &["1.0~rc1-1", "1.0-1", "1.0+dfsg-1"]);
    }

    #[test]
    fn epoch_upstream_revision() {
        assert_ascending(
            compare,
            &["1.2-3", "1.2-3+deb12u1", "1.2-4", "1.10-1", "1:0.9-1"],
        );
        assert_eq!(compare("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(compare("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(compare("1.001", "1.1"), Ordering::Equal);
    }

    #[test]
    fn dpkg_test_suite_cases() {
        // dpkg's lib/dpkg/t/t-version.c.
        assert_eq!(compare("0:1.2-3", "0:1.2-3"), Ordering::Equal);
        assert_eq!(compare("0:1.2-3", "0:1.2-2"), Ordering::Greater);
        assert_eq!(compare("1:1.2-3", "0:1.2-3"), Ordering::Greater);
        assert_eq!(compare("0:0-0", "0:0"), Ordering::Equal);
        assert_eq!(compare("0:1.2-3", "0:1.2-3~1"), Ordering::Greater);
        assert_eq!(compare("0:a", "0:b"), Ordering::Less);
        assert_eq!(compare("0:1.0~rc1", "0:1.0"), Ordering::Less);
        assert_eq!(compare("0:1.0+b1", "0:1.0"), Ordering::Greater);
        assert_eq!(compare("2.30-21+deb12u1", "2.30-21"), Ordering::Greater);
    }
}
