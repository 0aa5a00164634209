//! Version ordering, one comparator per ecosystem.
//!
//! Every comparator is total over strings: a version that does not follow
//! its ecosystem's grammar still compares (by the same rules applied to
//! whatever parts it has) instead of failing, because an advisory must never
//! be skipped over a version it cannot parse. Each comparator follows the
//! reference implementation named in its module and is tested against the
//! example orderings that implementation publishes.

mod apk;
mod dpkg;
mod maven;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

use std::cmp::Ordering;

pub use apk::compare as compare_apk;
pub use dpkg::compare as compare_dpkg;
pub use maven::compare as compare_maven;
pub use pep440::compare as compare_pep440;
pub use rpm::compare as compare_rpm;
pub use rubygems::compare as compare_rubygems;
pub use semver::compare as compare_semver;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionScheme {
    /// Semantic Versioning 2.0 (crates.io, npm, Go with its `v` prefix and
    /// pseudo-versions, Packagist as a close approximation).
    Semver,
    /// PEP 440 (PyPI).
    Pep440,
    /// `Gem::Version` (RubyGems).
    RubyGems,
    /// Maven's `ComparableVersion`.
    Maven,
    /// dpkg (Debian, Ubuntu).
    Dpkg,
    /// apk-tools (Alpine).
    Apk,
    /// rpmvercmp over epoch:version-release.
    Rpm,
}

impl VersionScheme {
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            VersionScheme::Semver => semver::compare(a, b),
            VersionScheme::Pep440 => pep440::compare(a, b),
            VersionScheme::RubyGems => rubygems::compare(a, b),
            VersionScheme::Maven => maven::compare(a, b),
            VersionScheme::Dpkg => dpkg::compare(a, b),
            VersionScheme::Apk => apk::compare(a, b),
            VersionScheme::Rpm => rpm::compare(a, b),
        }
    }
}

/// Compares two strings of ASCII digits as numbers of any length.
pub(crate) fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
pub(crate) fn assert_ascending(compare: fn(&str, &str) -> Ordering, versions: &[&str]) {
    for (i, a) in versions.iter().enumerate() {
        assert_eq!(compare(a, a), Ordering::Equal, "{a} == {a}");
        for b in &versions[i + 1..] {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
        }
    }
}
