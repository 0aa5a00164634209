//! Allow comments written next to a secret.
//!
//! - `gitleaks:allow` on the line: the match is dropped (gitleaks' semantics);
//! - `pragma: allowlist secret` on the line, or `pragma: allowlist nextline secret`
//!   on the line before (detect-secrets' semantics): dropped;
//! - `palisade:ignore=<rule>[,<rule>] <reason> [expires=YYYY-MM-DD]` on the line
//!   or the line before: the finding is kept and recorded as suppressed, with
//!   its reason, until the expiry date passes (a rule may end in `*`).

use chrono::NaiveDate;
use palisade_core::InlineSuppression;

/// What the comments around a match say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Report,
    Drop,
    Suppress(InlineSuppression),
}

const PALISADE_MARKER: &str = "palisade:ignore=";

pub fn verdict(line: &str, previous_line: Option<&str>, rule_id: &str) -> Verdict {
    if line.contains("gitleaks:allow") || line.contains("pragma: allowlist secret") {
        return Verdict::Drop;
    }
    if previous_line.is_some_and(|l| l.contains("pragma: allowlist nextline secret")) {
        return Verdict::Drop;
    }
    for text in [Some(line), previous_line].into_iter().flatten() {
        if let Some(suppression) = palisade_ignore(text, rule_id) {
            return Verdict::Suppress(suppression);
        }
    }
    Verdict::Report
}

fn palisade_ignore(line: &str, rule_id: &str) -> Option<InlineSuppression> {
    let at = line.find(PALISADE_MARKER)?;
    let rest = line[at + PALISADE_MARKER.len()..]
        .trim()
        .trim_end_matches("*/")
        .trim_end_matches("-->");
    let mut words = rest.split_whitespace();
    let names_rule = words.next()?.split(',').any(|id| {
        let id = id.trim();
        match id.strip_suffix('*') {
            Some(prefix) => rule_id.starts_with(prefix),
            None => id == rule_id || Some(id) == rule_id.strip_prefix("secret."),
        }
    });
    if !names_rule {
        return None;
    }
    let mut reason = Vec::new();
    let mut expires = None;
    for word in words {
        match word.strip_prefix("expires=") {
            // An unreadable date must not suppress forever: treat it as already expired.
            Some(date) => {
                expires =
                    Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap_or(NaiveDate::MIN))
            }
            None => reason.push(word),
        }
    }
    Some(InlineSuppression {
        reason: if reason.is_empty() {
            "no reason given".to_string()
        } else {
            reason.join(" ")
        },
        expires,
        source: "palisade:ignore".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitleaks_and_detect_secrets_comments_drop() {
        assert_eq!(
            verdict("key = 'x' # gitleaks:allow", None, "secret.a"),
            Verdict::Drop
        );
        assert_eq!(
            verdict("key = 'x'  # pragma: allowlist secret", None, "secret.a"),
            Verdict::Drop
        );
        assert_eq!(
            verdict(
                "key = 'x'",
                Some("# pragma: allowlist nextline secret"),
                "secret.a"
            ),
            Verdict::Drop
        );
        assert_eq!(
            verdict("key = 'x'", Some("# unrelated"), "secret.a"),
            Verdict::Report
        );
    }

    #[test]
    fn palisade_ignore_names_the_rule_and_carries_reason_and_expiry() {
        let v = verdict(
            "token = 'x' # palisade:ignore=secret.github-* rotated in INC-4 expires=2027-01-31",
            None,
            "secret.github-classic-pat",
        );
        let Verdict::Suppress(s) = v else {
            panic!("expected a suppression, got {v:?}")
        };
        assert_eq!(s.reason, "rotated in INC-4");
        assert_eq!(s.expires, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(
            verdict(
                "x # palisade:ignore=secret.other",
                None,
                "secret.github-classic-pat"
            ),
            Verdict::Report
        );
        assert!(matches!(
            verdict(
                "x",
                Some("// palisade:ignore=github-classic-pat test key"),
                "secret.github-classic-pat"
            ),
            Verdict::Suppress(_)
        ));
    }
}
