//! RPM ordering: `rpmvercmp` (rpm's `rpmio/rpmvercmp.c`) applied to epoch,
//! version and release in turn (`[epoch:]version[-release]`). Alphanumeric
//! runs are compared, separators skipped; numbers beat letters; `~` sorts
//! before everything and `^` after the end of the string.

use std::cmp::Ordering;

fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (mut i, mut j) = (0, 0);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == Some(b'^') || y == Some(b'^') {
            if x.is_none() {
                return Ordering::Less;
            }
            if y.is_none() {
                return Ordering::Greater;
            }
            if x != Some(b'^') {
                return Ordering::Greater;
            }
            if y != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(x), Some(_)) = (x, y) else {
            break;
        };
        let numeric = x.is_ascii_digit();
        let run = |s: &[u8], from: usize| {
            let mut end = from;
            while end < s.len()
                && (if numeric {
                    s[end].is_ascii_digit()
                } else {
                    s[end].is_ascii_alphabetic()
                })
            {
                end += 1;
            }
            end
        };
        let (ei, ej) = (run(a, i), run(b, j));
        if ej == j {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[i..ei], &b[j..ej]);
        let ordering = if numeric {
            let sa = std::str::from_utf8(sa).unwrap_or("0");
            let sb = std::str::from_utf8(sb).unwrap_or("0");
            super::compare_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        i = ei;
        j = ej;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn split(evr: &str) -> (&str, &str, &str) {
    let evr = evr.trim();
    let (epoch, rest) = match evr.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|c| c.is_ascii_digit()) => (epoch, rest),
        _ => ("0", evr),
    };
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, version, release)
}

/// Orders two RPM `[epoch:]version[-release]` strings.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    super::compare_digits(ea, eb)
        .then_with(|| rpmvercmp(va, vb))
        .then_with(|| {
            // A missing release matches any release, as rpm does for dependencies.
            if ra.is_empty() || rb.is_empty() {
                Ordering::Equal
            } else {
                rpmvercmp(ra, rb)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_test_suite() {
        // rpm's tests/rpmvercmp.at.
        use Ordering::*;
        for (a, b, expected) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0.1", Equal),
            ("2.0", "2.0.1", Less),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("5.5p2", "5.6p1", Less),
            ("6.0.rc1", "6.0", Greater),
            ("10b2", "10a1", Greater),
            ("1.0aa", "1.0a", Greater),
            ("10.0001", "10.1", Equal),
            ("10.0001", "10.0039", Less),
            ("4.999.9", "5.0", Less),
            ("20101121", "20101122", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a", "a", Equal),
            ("a+", "a_", Equal),
            ("+", "_", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
        ] {
            assert_eq!(rpmvercmp(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn epoch_version_release() {
        assert_eq!(compare("1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(compare("1.0-1.el9", "1.0-2.el9"), Ordering::Less);
        assert_eq!(compare("1.0-1.el9_2", "1.0-1.el9"), Ordering::Greater);
    }
}
