//! Semantic Versioning 2.0.0 precedence (semver.org, section 11), lenient:
//! a leading `v` (Go) is dropped, build metadata (`+incompatible`) is
//! ignored, and a missing minor or patch counts as 0.
//!
//! Go pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`,
//! `v1.2.4-0.20191109021931-daa7c04131f5`) are pre-releases by design and
//! order correctly under these rules.

use std::cmp::Ordering;

use super::compare_digits;

struct Parsed<'a> {
    core: Vec<&'a str>,
    pre: Option<&'a str>,
}

fn parse(version: &str) -> Parsed<'_> {
    let version = version.trim();
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let version = version.split('+').next().unwrap_or(version);
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    Parsed {
        core: core.split('.').collect(),
        pre,
    }
}

fn compare_identifier(a: &str, b: &str) -> Ordering {
    let a_numeric = !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit());
    let b_numeric = !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit());
    match (a_numeric, b_numeric) {
        (true, true) => compare_digits(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// Orders two semantic versions; build metadata does not count.
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = parse(a);
    let b = parse(b);
    let len = a.core.len().max(b.core.len()).max(3);
    for i in 0..len {
        let x = a.core.get(i).copied().unwrap_or("0");
        let y = b.core.get(i).copied().unwrap_or("0");
        let ordering = compare_identifier(x, y);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    match (a.pre, b.pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let mut xs = x.split('.');
            let mut ys = y.split('.');
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let ordering = compare_identifier(x, y);
                        if ordering != Ordering::Equal {
                            return ordering;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn semver_org_precedence_examples() {
        // semver.org 2.0.0, section 11.
        assert_ascending(compare, &["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        assert_ascending(
            compare,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
    }

    #[test]
    fn build_metadata_and_v_prefix_do_not_count() {
        assert_eq!(compare("1.0.0+build.1", "1.0.0+build.2"), Ordering::Equal);
        assert_eq!(compare("v2.0.0+incompatible", "2.0.0"), Ordering::Equal);
        assert_eq!(compare("1.2", "1.2.0"), Ordering::Equal);
    }

    #[test]
    fn go_pseudo_versions_sit_between_releases() {
        // go.dev/ref/mod#pseudo-versions
        assert_ascending(
            compare,
            &[
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4",
                "v1.10.0",
            ],
        );
    }

    #[test]
    fn numbers_of_any_length_compare_numerically() {
        assert_ascending(compare, &["1.9.0", "1.10.0", "1.99999999999999999999.0"]);
    }
}
