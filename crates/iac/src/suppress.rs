//! Inline suppressions written next to the code.
//!
//! Two comment forms are honoured, so teams moving from Checkov keep theirs:
//! - `palisade:ignore=<rule-id>[,<rule-id>...] <reason> [expires=YYYY-MM-DD]`
//!   (a rule id may end in `*` to cover a family, e.g. `iac.aws.s3-*`);
//! - `checkov:skip=<CKV_ID>[:<reason>]`, matched through each rule's Checkov ids.
//!
//! On Kubernetes objects Checkov's annotations (`checkov.io/skip1: CKV_K8S_20=reason`)
//! are honoured too. A comment applies to the resource whose lines contain it,
//! or to the resource starting on the next line.

use crate::model::{Framework, IacResource};
use chrono::NaiveDate;
use palisade_core::InlineSuppression;

/// What a suppression comment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A palisade rule id, or a prefix when written with a trailing `*`.
    Rule(String),
    /// A Checkov check id (`CKV_AWS_20`).
    Checkov(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionComment {
    /// 1-based line of the comment.
    pub line: u32,
    pub targets: Vec<Target>,
    pub reason: String,
    pub expires: Option<NaiveDate>,
    pub source: &'static str,
}

/// A comment that looked like a suppression but could not be read
/// (a bad expiry date): reported so it does not silently suppress or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedSuppression {
    pub line: u32,
    pub message: String,
}

const PALISADE_MARKER: &str = "palisade:ignore=";
const CHECKOV_MARKER: &str = "checkov:skip=";

/// Every suppression comment in a file's text.
pub fn parse_comments(text: &str) -> (Vec<SuppressionComment>, Vec<MalformedSuppression>) {
    let mut comments = Vec::new();
    let mut malformed = Vec::new();
    if !text.contains(PALISADE_MARKER) && !text.contains(CHECKOV_MARKER) {
        return (comments, malformed);
    }
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if let Some(rest) = after_marker(line, PALISADE_MARKER) {
            match parse_palisade(rest) {
                Ok((targets, reason, expires)) => comments.push(SuppressionComment {
                    line: line_no,
                    targets,
                    reason,
                    expires,
                    source: "palisade:ignore",
                }),
                Err(message) => malformed.push(MalformedSuppression {
                    line: line_no,
                    message,
                }),
            }
        } else if let Some(rest) = after_marker(line, CHECKOV_MARKER) {
            let rest = rest.trim().trim_end_matches("*/").trim();
            let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
            let id = id.trim();
            if !id.is_empty() {
                comments.push(SuppressionComment {
                    line: line_no,
                    targets: vec![Target::Checkov(id.to_string())],
                    reason: non_empty_reason(reason),
                    expires: None,
                    source: "checkov:skip",
                });
            }
        }
    }
    (comments, malformed)
}

/// The text after a marker, only when the marker sits in a comment
/// (`#`, `//` or `/*` before it on the line), so a string value that merely
/// contains the marker does not suppress anything.
fn after_marker<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let at = line.find(marker)?;
    let before = &line[..at];
    let in_comment = before.contains('#') || before.contains("//") || before.contains("/*");
    in_comment.then(|| &line[at + marker.len()..])
}

type ParsedPalisade = (Vec<Target>, String, Option<NaiveDate>);

fn parse_palisade(rest: &str) -> Result<ParsedPalisade, String> {
    let rest = rest.trim().trim_end_matches("*/").trim();
    let mut words = rest.split_whitespace();
    let ids = words.next().unwrap_or_default();
    let targets: Vec<Target> = ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            if id.starts_with("CKV") {
                Target::Checkov(id.to_string())
            } else {
                Target::Rule(id.to_string())
            }
        })
        .collect();
    if targets.is_empty() {
        return Err("palisade:ignore names no rule".to_string());
    }
    let mut reason_words = Vec::new();
    let mut expires = None;
    for word in words {
        if let Some(date) = word.strip_prefix("expires=") {
            let parsed = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                format!("palisade:ignore has an invalid expiry `{date}` (expected YYYY-MM-DD)")
            })?;
            expires = Some(parsed);
        } else {
            reason_words.push(word);
        }
    }
    Ok((targets, non_empty_reason(&reason_words.join(" ")), expires))
}

fn non_empty_reason(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        "no reason given".to_string()
    } else {
        reason.to_string()
    }
}

impl Target {
    fn matches(&self, rule_id: &str, checkov_ids: &[&str]) -> bool {
        match self {
            Target::Rule(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => rule_id.starts_with(prefix),
                None => pattern == rule_id,
            },
            Target::Checkov(id) => checkov_ids.iter().any(|c| c.eq_ignore_ascii_case(id)),
        }
    }
}

/// The suppression that applies to `rule_id` on `resource`, if any, from the
/// file's comments or (Kubernetes) the object's Checkov annotations.
pub fn find_for(
    comments: &[SuppressionComment],
    resource: &IacResource,
    rule_id: &str,
    checkov_ids: &[&str],
) -> Option<InlineSuppression> {
    let first = resource.start_line.saturating_sub(1);
    let from_comment = comments
        .iter()
        .filter(|c| c.line >= first && c.line <= resource.end_line)
        .find(|c| c.targets.iter().any(|t| t.matches(rule_id, checkov_ids)))
        .map(|c| InlineSuppression {
            reason: c.reason.clone(),
            expires: c.expires,
            source: c.source.to_string(),
        });
    from_comment.or_else(|| from_checkov_annotations(resource, checkov_ids))
}

fn from_checkov_annotations(
    resource: &IacResource,
    checkov_ids: &[&str],
) -> Option<InlineSuppression> {
    if resource.framework != Framework::Kubernetes || checkov_ids.is_empty() {
        return None;
    }
    let annotations = resource.get("metadata.annotations")?.as_object()?;
    annotations
        .iter()
        .filter(|(key, _)| key.starts_with("checkov.io/skip"))
        .filter_map(|(_, value)| value.as_str())
        .find_map(|value| {
            let (id, reason) = value.split_once('=').unwrap_or((value, ""));
            Target::Checkov(id.trim().to_string())
                .matches("", checkov_ids)
                .then(|| InlineSuppression {
                    reason: non_empty_reason(reason),
                    expires: None,
                    source: "checkov.io/skip".to_string(),
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(start: u32, end: u32) -> IacResource {
        IacResource {
            framework: Framework::Terraform,
            kind: "aws_s3_bucket".into(),
            address: "aws_s3_bucket.b".into(),
            name: "b".into(),
            file: "main.tf".into(),
            start_line: start,
            end_line: end,
            attributes: json!({}),
        }
    }

    #[test]
    fn reads_palisade_comments_with_reason_and_expiry() {
        let text = "resource \"aws_s3_bucket\" \"b\" {\n  # palisade:ignore=iac.aws.s3-encryption public assets, see ADR-7 expires=2027-01-31\n}\n";
        let (comments, malformed) = parse_comments(text);
        assert!(malformed.is_empty());
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].line, 2);
        assert_eq!(comments[0].reason, "public assets, see ADR-7");
        assert_eq!(comments[0].expires, NaiveDate::from_ymd_opt(2027, 1, 31));
        let s = find_for(&comments, &resource(1, 3), "iac.aws.s3-encryption", &[]).unwrap();
        assert_eq!(s.source, "palisade:ignore");
        assert!(find_for(&comments, &resource(1, 3), "iac.aws.s3-versioning", &[]).is_none());
        assert!(find_for(&comments, &resource(5, 9), "iac.aws.s3-encryption", &[]).is_none());
    }

    #[test]
    fn comment_on_the_line_before_the_resource_applies() {
        let (comments, _) = parse_comments("# palisade:ignore=iac.aws.* legacy\nresource {}\n");
        assert!(find_for(&comments, &resource(2, 2), "iac.aws.s3-encryption", &[]).is_some());
    }

    #[test]
    fn checkov_skip_matches_through_checkov_ids() {
        let (comments, _) =
            parse_comments("  #checkov:skip=CKV_AWS_19:The bucket holds only public data\n");
        let s = find_for(
            &comments,
            &resource(1, 4),
            "iac.aws.s3-encryption",
            &["CKV_AWS_19"],
        )
        .unwrap();
        assert_eq!(s.reason, "The bucket holds only public data");
        assert!(find_for(&comments, &resource(1, 4), "x", &["CKV_AWS_20"]).is_none());
    }

    #[test]
    fn bad_expiry_is_reported_not_applied() {
        let (comments, malformed) =
            parse_comments("# palisade:ignore=r reason expires=2026-13-45\n");
        assert!(comments.is_empty());
        assert_eq!(malformed[0].line, 1);
        assert!(malformed[0].message.contains("2026-13-45"));
    }

    #[test]
    fn marker_inside_a_string_value_is_not_a_comment() {
        let (comments, _) = parse_comments("  description = \"palisade:ignore=everything\"\n");
        assert!(comments.is_empty());
    }

    #[test]
    fn kubernetes_checkov_annotations_are_honoured() {
        let mut r = resource(1, 10);
        r.framework = Framework::Kubernetes;
        r.attributes = json!({"metadata": {"annotations": {"checkov.io/skip1": "CKV_K8S_16=needs host access"}}});
        let s = find_for(&[], &r, "iac.k8s.privileged-container", &["CKV_K8S_16"]).unwrap();
        assert_eq!(s.reason, "needs host access");
    }
}
