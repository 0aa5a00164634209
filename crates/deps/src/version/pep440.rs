//! PEP 440 ordering (PyPI), as the `packaging` library's `Version._key`
//! implements it: epoch, release (trailing zeros ignored), pre-release,
//! post-release, development release, local version label. Alternative
//! spellings are normalised (`alpha` → `a`, `c`/`pre`/`preview` → `rc`,
//! `rev`/`r`/`-N` → post, `_`/`-` separators, a leading `v`).

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Only a `.devN`: sorts before any pre-release of the same release.
    DevOnly,
    Pre(u8, u64),
    /// No pre-release part.
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    // Declared first: alphanumeric segments sort before numeric ones.
    Text(String),
    Number(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    epoch: u64,
    release: Vec<u64>,
    phase: Phase,
    /// `None` (no post-release) sorts first.
    post: Option<u64>,
    /// `None` (not a dev release) must sort last: stored as `u64::MAX`.
    dev: u64,
    local: Vec<LocalSegment>,
}

fn number(s: &str) -> u64 {
    s.parse().unwrap_or(u64::MAX)
}

fn take_number(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(['.', '-', '_']);
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn key(version: &str) -> Key {
    let lower = version.trim().to_ascii_lowercase();
    let mut s = lower.strip_prefix('v').unwrap_or(&lower);
    let (public, local) = match s.split_once('+') {
        Some((public, local)) => (public, Some(local)),
        None => (s, None),
    };
    s = public;
    let mut epoch = 0;
    if let Some((e, rest)) = s.split_once('!') {
        epoch = number(e);
        s = rest;
    }
    let mut release = Vec::new();
    loop {
        let (digits, rest) = take_number(s);
        if digits.is_empty() {
            break;
        }
        release.push(number(digits));
        s = rest;
        if !s.starts_with('.') || !s[1..].starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
    }
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let mut pre = None;
    let mut post = None;
    let mut dev = None;
    loop {
        let trimmed = s.trim_start_matches(['.', '-', '_']);
        let had_separator = trimmed.len() != s.len();
        s = trimmed;
        if s.is_empty() {
            break;
        }
        let word_end = s
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(s.len());
        let word = &s[..word_end];
        let (digits, rest) = take_number(&s[word_end..]);
        let n = if digits.is_empty() { 0 } else { number(digits) };
        match word {
            "a" | "alpha" => pre = Some((0, n)),
            "b" | "beta" => pre = Some((1, n)),
            "c" | "rc" | "pre" | "preview" => pre = Some((2, n)),
            "post" | "rev" | "r" => post = Some(n),
            "dev" => dev = Some(n),
            "" if had_separator && !digits.is_empty() => post = Some(n),
            _ => break,
        }
        s = rest;
    }
    let phase = match (pre, post, dev) {
        (Some((kind, n)), _, _) => Phase::Pre(kind, n),
        (None, None, Some(_)) => Phase::DevOnly,
        (None, _, _) => Phase::Final,
    };
    let local = local
        .map(|l| {
            l.split(['.', '-', '_'])
                .map(|seg| match seg.parse::<u64>() {
                    Ok(n) if seg.bytes().all(|c| c.is_ascii_digit()) => LocalSegment::Number(n),
                    _ => LocalSegment::Text(seg.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    Key {
        epoch,
        release,
        phase,
        post,
        dev: dev.unwrap_or(u64::MAX),
        local,
    }
}

/// Orders two PyPI versions by PEP 440.
pub fn compare(a: &str, b: &str) -> Ordering {
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::assert_ascending;

    #[test]
    fn pep_440_summary_of_permitted_suffixes_and_relative_ordering() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        assert_ascending(
            compare,
            &[
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
    }

    #[test]
    fn epochs_win_over_everything() {
        assert_ascending(compare, &["2013.10", "2014.04", "1!1.0", "1!1.1", "2!0.1"]);
    }

    #[test]
    fn normalised_spellings_are_equal() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1.0alpha1", "1.0a1"),
            ("1.0-c1", "1.0rc1"),
            ("1.0-preview1", "1.0rc1"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev1", "1.0.post1"),
            ("v1.0", "1.0"),
            ("1.0.DEV1", "1.0.dev1"),
            ("1.0_a_1", "1.0a1"),
        ] {
            assert_eq!(compare(a, b), Ordering::Equal, "{a} == {b}");
        }
    }
}
