//! The query-ready form of what one advisory says about one package: its
//! explicit `versions` and its `SEMVER`/`ECOSYSTEM` ranges' events, as one
//! short text the store keeps next to its (ecosystem, name) index row.
//!
//! A scan judges every candidate advisory from this form alone, and reads a
//! record's full JSON (summary, aliases, severity, references) only when it
//! matched: with tens of thousands of candidates and a few hundred matches,
//! parsing JSON was most of a scan's time.
//!
//! Encoding: tokens separated by U+001C, each a one-letter tag and a value:
//! `v` explicit version; `S`/`E` start a SEMVER/ECOSYSTEM range; `G` the
//! record has a GIT range for the package (ignored, noted); `i`, `f`, `l`,
//! `m` an introduced, fixed, last_affected, limit event of the current range.
//! Values never hold U+001C..U+001F (the store's separators); such
//! characters are dropped from versions when encoding. An empty text affects
//! nothing (a withdrawn record).

use std::cmp::Ordering;

use crate::osv::{normalize_name, Record};
use crate::version::VersionScheme;

const SEPARATOR: char = '\u{1c}';

/// One event of a range, borrowed from a record or its compact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
    LastAffected(&'a str),
    Limit(&'a str),
}

impl<'a> Bound<'a> {
    fn version(self) -> &'a str {
        match self {
            Bound::Introduced(v) | Bound::Fixed(v) | Bound::LastAffected(v) | Bound::Limit(v) => v,
        }
    }
}

/// What a record says about one installed version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub affected: bool,
    /// `fixed` versions of the ranges that contain the version.
    pub fixed: Vec<String>,
    /// Set when a `GIT` range was skipped for this package.
    pub git_ranges_ignored: bool,
}

fn clean(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains(['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}']) {
        value
            .chars()
            .filter(|c| !('\u{1c}'..='\u{1f}').contains(c))
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
}

/// The compact form of what `record` says about package `name` (normalised)
/// of `ecosystem`: every `affected` entry naming it, flattened. Withdrawn
/// records encode as the empty text.
pub fn encode(record: &Record, ecosystem: &str, name: &str) -> String {
    let mut out = String::new();
    if record.is_withdrawn() {
        return out;
    }
    let mut push = |tag: char, value: &str| {
        if !out.is_empty() {
            out.push(SEPARATOR);
        }
        out.push(tag);
        out.push_str(&clean(value));
    };
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        if package.ecosystem != ecosystem || normalize_name(ecosystem, &package.name) != name {
            continue;
        }
        for version in &affected.versions {
            push('v', version);
        }
        for range in &affected.ranges {
            match range.kind.as_str() {
                "SEMVER" => push('S', ""),
                "ECOSYSTEM" => push('E', ""),
                _ => {
                    push('G', "");
                    continue;
                }
            }
            for event in &range.events {
                if let Some(v) = &event.introduced {
                    push('i', v);
                } else if let Some(v) = &event.fixed {
                    push('f', v);
                } else if let Some(v) = &event.last_affected {
                    push('l', v);
                } else if let Some(v) = &event.limit {
                    push('m', v);
                }
            }
        }
    }
    out
}

/// Judges `version` against a compact text; `scheme` is the package
/// ecosystem's ordering (`None`: an ecosystem palisade cannot order, whose
/// ECOSYSTEM ranges are skipped).
pub fn verdict(compact: &str, version: &str, scheme: Option<VersionScheme>) -> Verdict {
    let mut verdict = Verdict::default();
    if compact.is_empty() {
        return verdict;
    }
    let mut range: Option<(VersionScheme, Vec<Bound<'_>>)> = None;
    let finish = |range: Option<(VersionScheme, Vec<Bound<'_>>)>, verdict: &mut Verdict| {
        if let Some((scheme, mut bounds)) = range {
            if bounds_contain(&mut bounds, version, scheme) {
                verdict.affected = true;
                verdict.fixed.extend(bounds.iter().filter_map(|b| match b {
                    Bound::Fixed(v) => Some(v.to_string()),
                    _ => None,
                }));
            }
        }
    };
    // Tokens of a range whose scheme is unknown are skipped until the next range.
    let mut skipping = false;
    for token in compact.split(SEPARATOR) {
        let mut chars = token.chars();
        let Some(tag) = chars.next() else { continue };
        let value = chars.as_str();
        match tag {
            'v' if value == version
                || scheme.is_some_and(|s| s.compare(value, version) == Ordering::Equal) =>
            {
                verdict.affected = true;
            }
            'S' | 'E' | 'G' => {
                finish(range.take(), &mut verdict);
                skipping = false;
                match (tag, scheme) {
                    ('S', _) => range = Some((VersionScheme::Semver, Vec::new())),
                    ('E', Some(scheme)) => range = Some((scheme, Vec::new())),
                    ('E', None) => skipping = true,
                    _ => verdict.git_ranges_ignored = true,
                }
            }
            'i' | 'f' | 'l' | 'm' if !skipping => {
                if let Some((_, bounds)) = &mut range {
                    bounds.push(match tag {
                        'i' => Bound::Introduced(value),
                        'f' => Bound::Fixed(value),
                        'l' => Bound::LastAffected(value),
                        _ => Bound::Limit(value),
                    });
                }
            }
            _ => {}
        }
    }
    finish(range.take(), &mut verdict);
    verdict.fixed.sort();
    verdict.fixed.dedup();
    verdict
}

/// Whether `version` falls in a range of `bounds`, by OSV's evaluation
/// rules (sorts `bounds` in place).
pub(crate) fn bounds_contain(
    bounds: &mut [Bound<'_>],
    version: &str,
    scheme: VersionScheme,
) -> bool {
    let compare = |a: &str, b: &str| {
        if a == "0" && b == "0" {
            Ordering::Equal
        } else if a == "0" {
            Ordering::Less
        } else if b == "0" {
            Ordering::Greater
        } else {
            scheme.compare(a, b)
        }
    };
    bounds.sort_by(|a, b| compare(a.version(), b.version()));
    let mut affected = false;
    let mut limits = false;
    for bound in bounds.iter() {
        match *bound {
            Bound::Introduced(introduced) => {
                if introduced == "0" || scheme.compare(version, introduced) != Ordering::Less {
                    affected = true;
                }
            }
            Bound::Fixed(fixed) => {
                if scheme.compare(version, fixed) != Ordering::Less {
                    affected = false;
                }
            }
            Bound::LastAffected(last) => {
                if scheme.compare(version, last) == Ordering::Greater {
                    affected = false;
                }
            }
            Bound::Limit(_) => limits = true,
        }
    }
    if affected && limits {
        affected = bounds.iter().any(|b| match *b {
            Bound::Limit(limit) => limit == "*" || scheme.compare(version, limit) == Ordering::Less,
            _ => false,
        });
    }
    affected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).expect("record")
    }

    #[test]
    fn encodes_versions_ranges_and_git_of_one_package_only() {
        let r = record(
            r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[
              {"package":{"ecosystem":"PyPI","name":"Django"},"versions":["1.0"],
               "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]},
                         {"type":"GIT","events":[{"introduced":"abc"}]}]},
              {"package":{"ecosystem":"PyPI","name":"other"},"versions":["9.9"]},
              {"package":{"ecosystem":"PyPI","name":"django"},
               "ranges":[{"type":"SEMVER","events":[{"introduced":"3.0.0"},{"last_affected":"3.1.0"},{"limit":"4"}]}]}]}"#,
        );
        assert_eq!(
            encode(&r, "PyPI", "django"),
            "v1.0\u{1c}E\u{1c}i0\u{1c}f2.0\u{1c}G\u{1c}S\u{1c}i3.0.0\u{1c}l3.1.0\u{1c}m4"
        );
        assert_eq!(encode(&r, "PyPI", "other"), "v9.9");
        assert_eq!(encode(&r, "npm", "django"), "");
    }

    #[test]
    fn withdrawn_records_and_separators_in_versions() {
        let withdrawn = record(
            r#"{"id":"X-2","withdrawn":"2024-01-01T00:00:00Z","affected":[
              {"package":{"ecosystem":"npm","name":"a"},"versions":["1.0.0"]}]}"#,
        );
        assert_eq!(encode(&withdrawn, "npm", "a"), "");
        assert!(!verdict("", "1.0.0", Some(VersionScheme::Semver)).affected);
        let odd = record(
            "{\"id\":\"X-3\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"a\"},\"versions\":[\"1.0\\u001c.0\"]}]}",
        );
        assert_eq!(encode(&odd, "npm", "a"), "v1.0.0");
    }

    #[test]
    fn verdicts_follow_osv_evaluation() {
        let s = Some(VersionScheme::Semver);
        let text = "E\u{1c}i1.0.0\u{1c}f1.5.0\u{1c}i2.0.0\u{1c}f2.1.0";
        let v = verdict(text, "1.2.0", s);
        assert!(v.affected);
        assert_eq!(v.fixed, vec!["1.5.0".to_string(), "2.1.0".to_string()]);
        assert!(!verdict(text, "1.5.0", s).affected);
        assert!(verdict(text, "2.0.5", s).affected);
        assert!(!verdict(text, "0.9.0", s).affected);
        let git = verdict("G\u{1c}i0", "1.0.0", s);
        assert!(!git.affected && git.git_ranges_ignored);
        // ECOSYSTEM ranges of an ecosystem without an ordering are skipped; SEMVER ones are not.
        assert!(!verdict("E\u{1c}i0", "1.0.0", None).affected);
        assert!(verdict("S\u{1c}i0", "1.0.0", None).affected);
        assert!(verdict("v1.0.0", "1.0.0", None).affected);
        // Pep440: `1.0` and `1.0.0` are one version.
        assert!(verdict("v1.0", "1.0.0", Some(VersionScheme::Pep440)).affected);
    }
}
