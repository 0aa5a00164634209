//! Alpine's apk-tools ordering (`src/version.c`):
//! `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`. Pre-release
//! suffixes (`_alpha < _beta < _pre < _rc`) sort before the plain version,
//! the others (`_cvs < _svn < _git < _hg < _p`) after it. When the token
//! kinds of the two versions differ, the one that goes on with more version
//! (a digit, a letter, a post-release suffix, a revision) is newer.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    /// For suffixes: their rank (negative for pre-releases).
    rank: i32,
}

fn suffix_rank(suffix: &str) -> i32 {
    match suffix {
        "alpha" => -4,
        "beta" => -3,
        "pre" => -2,
        "rc" => -1,
        "cvs" => 1,
        "svn" => 2,
        "git" => 3,
        "hg" => 4,
        "p" => 5,
        // Unknown suffixes are invalid in apk; treat them as post-release.
        _ => 6,
    }
}

fn tokens(version: &str) -> Vec<Token<'_>> {
    let v = version.trim();
    let mut out = Vec::new();
    let mut rest = v;
    let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    // Digits separated by dots.
    loop {
        let end = digits_end(rest);
        if end == 0 {
            break;
        }
        out.push(Token {
            kind: Kind::Digit,
            text: &rest[..end],
            rank: 0,
        });
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) => rest = next,
            _ => break,
        }
    }
    if let Some(c) = rest.chars().next().filter(char::is_ascii_lowercase) {
        out.push(Token {
            kind: Kind::Letter,
            text: &rest[..c.len_utf8()],
            rank: 0,
        });
        rest = &rest[c.len_utf8()..];
    }
    while let Some(after) = rest.strip_prefix('_') {
        let end = after
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(after.len());
        let name = &after[..end];
        out.push(Token {
            kind: Kind::Suffix,
            text: name,
            rank: suffix_rank(name),
        });
        rest = &after[end..];
        let end = digits_end(rest);
        if end > 0 {
            out.push(Token {
                kind: Kind::SuffixNumber,
                text: &rest[..end],
                rank: 0,
            });
            rest = &rest[end..];
        }
    }
    if let Some(after) = rest.strip_prefix('~') {
        let end = after.find('-').unwrap_or(after.len());
        rest = &after[end..];
    }
    if let Some(after) = rest.strip_prefix("-r") {
        let end = digits_end(after);
        // `-r0` is the first build of a version: the same as no revision.
        if after[..end].trim_start_matches('0').is_empty() {
            return out;
        }
        out.push(Token {
            kind: Kind::Revision,
            text: &after[..end],
            rank: 0,
        });
    }
    out
}

fn compare_numbers(a: &str, b: &str, first: bool) -> Ordering {
    // After the first component, a leading zero makes apk compare the
    // digits as a decimal fraction, i.e. as strings.
    if !first && (a.starts_with('0') || b.starts_with('0')) {
        a.cmp(b)
    } else {
        super::compare_digits(a, b)
    }
}

/// Orders two Alpine package versions as `apk version -t` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let ta = tokens(a);
    let tb = tokens(b);
    let end = Token {
        kind: Kind::End,
        text: "",
        rank: 0,
    };
    let mut i = 0;
    loop {
        let x = ta.get(i).unwrap_or(&end);
        let y = tb.get(i).unwrap_or(&end);
        if x.kind == Kind::End && y.kind == Kind::End {
            return Ordering::Equal;
        }
        if x.kind != y.kind {
            if x.kind == Kind::Suffix && x.rank < 0 {
                return Ordering::Less;
            }
            if y.kind == Kind::Suffix && y.rank < 0 {
                return Ordering::Greater;
            }
            // The later kind in the token order is the older version.
            return y.kind.cmp(&x.kind);
        }
        let ordering = match x.kind {
            Kind::Digit => compare_numbers(x.text, y.text, i == 0),
            Kind::Letter => x.text.cmp(y.text),
            Kind::Suffix => x.rank.cmp(&y.rank).then_with(|| x.text.cmp(y.text)),
            Kind::SuffixNumber | Kind::Revision => super::compare_digits(x.text, y.text),
            Kind::End => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn apk_version_ordering() {
        // apk-tools test/version.data and the Alpine package policy.
        assert_ascending(
            compare,
            &[
                "1.0_alpha1",
                "1.0_beta2",
                "1.0_pre1",
                "1.0_rc1",
                "1.0",
                "1.0-r1",
                "1.0-r10",
                "1.0_cvs1",
                "1.0_svn1",
                "1.0_git20240101",
                "1.0_hg1",
                "1.0_p1",
                "1.0a",
                "1.0b",
                "1.0.1",
                "1.2",
                "1.10",
            ],
        );
    }

    #[test]
    fn version_data_pairs() {
        use Ordering::*;
        for (a, b, expected) in [
            ("2.34", "2.34-r0", Equal),
            ("3.0.12-r0", "3.0.12-r1", Less),
            ("3.1.4-r0", "3.0.13-r0", Greater),
            ("1.01", "1.1", Less),
            ("0.1.0_alpha", "0.1.0_alpha_pre2", Greater),
            ("1.3_p1", "1.3.1", Less),
            ("1.0~abc-r1", "1.0-r1", Equal),
        ] {
            assert_eq!(compare(a, b), expected, "{a} vs {b}");
        }
    }
}
