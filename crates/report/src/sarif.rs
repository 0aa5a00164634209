//! SARIF 2.1.0, shaped for GitHub code scanning.
//!
//! One run; `tool.driver.rules` holds a reporting descriptor for every rule in
//! the report plus one built from the finding itself for any rule the report
//! has no metadata for, sorted by id, so every result has a valid `ruleIndex`.
//! Results carry `partialFingerprints["palisade/v1"]` (the finding's
//! fingerprint) so code scanning keeps one alert per problem across runs, and
//! `security-severity` on the rule sets GitHub's severity.
//!
//! A finding without a location is anchored at its resource's file when it
//! has one (line 1, the whole file; GitHub rejects a result without a
//! physical location). Findings with neither (live cloud resources) get a
//! location with only `logicalLocations`: valid SARIF, but GitHub code
//! scanning rejects the whole upload for such results, so callers uploading
//! to GitHub should render only code findings.
//!
//! Scan errors go to `invocations[0].toolExecutionNotifications`; the run
//! still counts as successful, since unreadable inputs never fail a scan.

use std::collections::BTreeMap;
use std::io::Write;

use palisade_core::{Finding, Rule, Severity};
use serde_json::{json, Map, Value};

use crate::{timestamp, Report, ReportError, ReportItem, INFORMATION_URI};

pub(crate) const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub(crate) const FINGERPRINT_KEY: &str = "palisade/v1";
const SRCROOT: &str = "%SRCROOT%";

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, &document(report))?;
    writeln!(out)?;
    Ok(())
}

fn document(report: &Report) -> Value {
    let rules = rule_set(report);
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| (rule.id.as_str(), i))
        .collect();
    let day = report.day();

    let results: Vec<Value> = report
        .sorted_items()
        .into_iter()
        .map(|item| result(item, index[item.finding.rule_id.as_str()], day))
        .collect();

    let mut invocation = Map::new();
    invocation.insert("executionSuccessful".into(), true.into());
    invocation.insert("endTimeUtc".into(), timestamp(&report.generated_at).into());
    let notifications: Vec<Value> = report
        .sorted_errors()
        .into_iter()
        .map(|error| {
            let mut region = Map::new();
            if let Some(line) = error.line.filter(|line| *line > 0) {
                region.insert("startLine".into(), line.into());
            }
            json!({
                "level": "error",
                "message": { "text": non_empty(&error.message, "the input could not be read") },
                "locations": [{ "physicalLocation": physical_location(&error.path, region) }],
            })
        })
        .collect();
    if !notifications.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), notifications.into());
    }

    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool_name,
                    "version": report.tool_version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules.iter().map(descriptor).collect::<Vec<_>>(),
                }
            },
            "invocations": [invocation],
            "results": results,
        }]
    })
}

/// The report's rules (first of each id wins) plus rules rebuilt from
/// findings whose metadata is missing, sorted by id.
fn rule_set(report: &Report) -> Vec<Rule> {
    let mut rules: BTreeMap<&str, Rule> = BTreeMap::new();
    for rule in &report.rules {
        rules.entry(&rule.id).or_insert_with(|| rule.clone());
    }
    for item in &report.items {
        let finding = &item.finding;
        rules
            .entry(&finding.rule_id)
            .or_insert_with(|| rule_from_finding(finding));
    }
    rules.into_values().collect()
}

fn rule_from_finding(finding: &Finding) -> Rule {
    Rule {
        id: finding.rule_id.clone(),
        title: finding.title.clone(),
        severity: finding.severity,
        category: finding.category,
        description: String::new(),
        remediation: finding.remediation.clone(),
        references: finding.references.clone(),
        compliance: finding.compliance.clone(),
        peers: Vec::new(),
    }
}

fn descriptor(rule: &Rule) -> Value {
    let title = non_empty(&rule.title, &rule.id);
    let description = non_empty(&rule.description, title);
    let mut descriptor = Map::new();
    descriptor.insert("id".into(), rule.id.clone().into());
    descriptor.insert("name".into(), pascal_case(&rule.id).into());
    descriptor.insert("shortDescription".into(), json!({ "text": title }));
    descriptor.insert("fullDescription".into(), json!({ "text": description }));
    descriptor.insert(
        "help".into(),
        json!({ "text": help_text(rule), "markdown": help_markdown(rule) }),
    );
    if let Some(uri) = rule.references.iter().find(|r| is_web_link(r)) {
        descriptor.insert("helpUri".into(), uri.clone().into());
    }
    descriptor.insert(
        "defaultConfiguration".into(),
        json!({ "level": level(rule.severity) }),
    );
    let mut properties = Map::new();
    properties.insert("tags".into(), json!(["security", rule.category.as_str()]));
    properties.insert(
        "security-severity".into(),
        security_severity(rule.severity).into(),
    );
    properties.insert("precision".into(), "high".into());
    properties.insert(
        "problem.severity".into(),
        problem_severity(rule.severity).into(),
    );
    if !rule.compliance.is_empty() {
        let compliance: Vec<String> = rule
            .compliance
            .iter()
            .map(|c| format!("{} {}", c.framework, c.control))
            .collect();
        properties.insert("compliance".into(), compliance.into());
    }
    descriptor.insert("properties".into(), properties.into());
    descriptor.into()
}

fn help_text(rule: &Rule) -> String {
    let mut text = non_empty(&rule.description, &rule.title).to_string();
    if !rule.remediation.is_empty() {
        text.push_str("\n\nRemediation: ");
        text.push_str(&rule.remediation);
    }
    if !rule.compliance.is_empty() {
        text.push_str("\n\nCompliance:");
        for c in rule.compliance.iter() {
            text.push_str(&format!("\n- {} {}", c.framework, c.control));
        }
    }
    if !rule.references.is_empty() {
        text.push_str("\n\nReferences:");
        for reference in rule.references.iter() {
            text.push_str("\n- ");
            text.push_str(reference);
        }
    }
    text
}

fn help_markdown(rule: &Rule) -> String {
    let mut md = non_empty(&rule.description, &rule.title).to_string();
    if !rule.remediation.is_empty() {
        md.push_str("\n\n## Remediation\n\n");
        md.push_str(&rule.remediation);
    }
    if !rule.compliance.is_empty() {
        md.push_str("\n\n## Compliance\n");
        for c in rule.compliance.iter() {
            md.push_str(&format!("\n- {} {}", c.framework, c.control));
        }
    }
    if !rule.references.is_empty() {
        md.push_str("\n\n## References\n");
        for reference in rule.references.iter() {
            if is_web_link(reference) {
                md.push_str(&format!("\n- <{reference}>"));
            } else {
                md.push_str(&format!("\n- {reference}"));
            }
        }
    }
    md
}

fn result(item: &ReportItem, rule_index: usize, day: chrono::NaiveDate) -> Value {
    let finding = &item.finding;
    let mut result = Map::new();
    result.insert("ruleId".into(), finding.rule_id.clone().into());
    result.insert("ruleIndex".into(), rule_index.into());
    result.insert("level".into(), level(finding.severity).into());
    result.insert(
        "message".into(),
        json!({ "text": non_empty(&finding.message, non_empty(&finding.title, &finding.rule_id)) }),
    );
    result.insert("locations".into(), json!([location(finding)]));
    if !finding.other_locations.is_empty() {
        // The same problem elsewhere (one secret in several files or commits).
        let related: Vec<Value> = finding
            .other_locations
            .iter()
            .enumerate()
            .map(|(id, at)| {
                let mut related = Map::new();
                related.insert("id".into(), id.into());
                related.insert(
                    "physicalLocation".into(),
                    physical_location(&at.path, region(at)),
                );
                if let Some(commit) = &at.commit {
                    related.insert(
                        "message".into(),
                        json!({ "text": format!("in commit {commit}") }),
                    );
                }
                Value::Object(related)
            })
            .collect();
        result.insert("relatedLocations".into(), related.into());
    }
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT_KEY: finding.fingerprint.as_str() }),
    );

    let mut suppressions = Vec::new();
    if let Some(suppression) = finding.suppression.as_ref().filter(|s| s.is_active_on(day)) {
        let mut properties = Map::new();
        properties.insert("source".into(), suppression.source.clone().into());
        if let Some(expires) = suppression.expires {
            properties.insert("expires".into(), expires.to_string().into());
        }
        suppressions.push(json!({
            "kind": "inSource",
            "status": "accepted",
            "justification": suppression.reason,
            "properties": properties,
        }));
    }
    if item.is_externally_suppressed() {
        suppressions.push(json!({ "kind": "external", "status": "accepted" }));
    }
    if !suppressions.is_empty() {
        result.insert("suppressions".into(), suppressions.into());
    }

    let mut properties = Map::new();
    properties.insert(
        "resource".into(),
        serde_json::to_value(&finding.resource).unwrap_or(Value::Null),
    );
    properties.insert("severity".into(), finding.severity.as_str().into());
    if let Some(status) = &item.status {
        properties.insert("status".into(), status.clone().into());
    }
    if let Some(commit) = finding.location.as_ref().and_then(|l| l.commit.as_ref()) {
        properties.insert("commit".into(), commit.clone().into());
    }
    if let Some(details) = &finding.details {
        properties.insert(
            "details".into(),
            serde_json::to_value(details).unwrap_or(Value::Null),
        );
    }
    for (key, at) in [
        ("firstSeen", &item.first_seen),
        ("lastSeen", &item.last_seen),
        ("slaDueAt", &item.sla_due_at),
    ] {
        if let Some(at) = at {
            properties.insert(key.into(), timestamp(at).into());
        }
    }
    result.insert("properties".into(), properties.into());
    result.into()
}

fn location(finding: &Finding) -> Value {
    let logical = json!([{
        "name": finding.resource.id,
        "fullyQualifiedName": finding.resource.id,
        "kind": "resource",
    }]);
    if let Some(location) = &finding.location {
        json!({
            "physicalLocation": physical_location(&location.path, region(location)),
            "logicalLocations": logical,
        })
    } else if let Some(file) = &finding.resource.file {
        let mut region = Map::new();
        region.insert("startLine".into(), 1.into());
        json!({
            "physicalLocation": physical_location(file, region),
            "logicalLocations": logical,
        })
    } else {
        json!({ "logicalLocations": logical })
    }
}

fn region(location: &palisade_core::Location) -> Map<String, Value> {
    let mut region = Map::new();
    region.insert("startLine".into(), location.start_line.max(1).into());
    if let Some(column) = location.start_column.filter(|c| *c > 0) {
        region.insert("startColumn".into(), column.into());
    }
    region.insert(
        "endLine".into(),
        location.end_line.max(location.start_line).max(1).into(),
    );
    region
}

fn physical_location(path: &str, region: Map<String, Value>) -> Value {
    let mut physical = Map::new();
    physical.insert("artifactLocation".into(), artifact_location(path));
    if !region.is_empty() {
        physical.insert("region".into(), region.into());
    }
    physical.into()
}

/// A relative path becomes a `%SRCROOT%`-relative URI with forward slashes;
/// an absolute one becomes a `file://` URI.
fn artifact_location(path: &str) -> Value {
    let path = path.replace('\\', "/");
    let is_windows_absolute = path.len() >= 3
        && path.as_bytes()[0].is_ascii_alphabetic()
        && &path.as_bytes()[1..3] == b":/";
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", encode_uri_path(&path)) })
    } else if is_windows_absolute {
        json!({ "uri": format!("file:///{}:{}", &path[..1], encode_uri_path(&path[2..])) })
    } else {
        let mut relative = path.as_str();
        while let Some(rest) = relative.strip_prefix("./") {
            relative = rest;
        }
        json!({ "uri": encode_uri_path(relative), "uriBaseId": SRCROOT })
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, `/`, and
/// the sub-delimiters that are safe in a path.
pub(crate) fn encode_uri_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// `iac.aws.s3-encryption` → `IacAwsS3Encryption`.
pub(crate) fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `problem.severity` vocabulary, for tools that ignore `security-severity`.
fn problem_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "recommendation",
    }
}

/// GitHub maps over 9.0 to critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn is_web_link(reference: &str) -> bool {
    let lower = reference.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("iac.aws.s3-encryption"), "IacAwsS3Encryption");
        assert_eq!(pascal_case("vuln.GHSA-abcd-1234"), "VulnGHSAAbcd1234");
        assert_eq!(pascal_case("--"), "");
    }

    #[test]
    fn paths_become_relative_forward_slash_uris() {
        assert_eq!(
            artifact_location("./infra\\main.tf"),
            json!({ "uri": "infra/main.tf", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            artifact_location("my dir/a#b?.tf"),
            json!({ "uri": "my%20dir/a%23b%3F.tf", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            artifact_location("/abs/x.tf"),
            json!({ "uri": "file:///abs/x.tf" })
        );
        assert_eq!(
            artifact_location("C:\\src\\x.tf"),
            json!({ "uri": "file:///C:/src/x.tf" })
        );
    }
}
