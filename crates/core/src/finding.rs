use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rule::is_empty;
use crate::{ComplianceRef, Rule, Severity};

/// What kind of problem a finding is; aligned with the engines that produce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A setting in infrastructure code or a manifest (IaC, Kubernetes).
    Misconfiguration,
    /// A weakness in a live cloud account (CSPM).
    Posture,
    /// A credential committed to code.
    Secret,
    /// A vulnerable package.
    Vulnerability,
    /// A detection over logs.
    Detection,
    /// A file that could not be scanned.
    ScanError,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Misconfiguration => "misconfiguration",
            Category::Posture => "posture",
            Category::Secret => "secret",
            Category::Vulnerability => "vulnerability",
            Category::Detection => "detection",
            Category::ScanError => "scan_error",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
///
/// `kind` + `id` (+ `file` for code) is the resource's identity and goes into
/// the fingerprint; it must not contain line numbers or anything that changes
/// when unrelated parts of a file are edited.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resource {
    /// Resource type as its platform names it: `aws_s3_bucket`, `AWS::S3::Bucket`, `Deployment`.
    pub kind: String,
    /// Identity within its file or account: a Terraform address
    /// (`module.net.aws_security_group.web[0]`), a CloudFormation logical id,
    /// `namespace/Kind/name` for Kubernetes, an ARN for live cloud.
    pub id: String,
    /// Path relative to the scan root, for resources defined in code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Resource {
    pub fn in_file(
        kind: impl Into<String>,
        id: impl Into<String>,
        file: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
            file: Some(file.into()),
            account: None,
            region: None,
        }
    }
}

/// Where in a file a finding is. Lines are 1-based and inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    /// The commit that introduced the content, for findings in git history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The commit's author (`Name <email>`), as git records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit's author date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<DateTime<Utc>>,
}

impl Location {
    pub fn lines(path: impl Into<String>, start_line: u32, end_line: u32) -> Self {
        Self {
            path: path.into(),
            start_line,
            end_line: end_line.max(start_line),
            start_column: None,
            commit: None,
            author: None,
            committed_at: None,
        }
    }

    pub fn with_column(mut self, column: u32) -> Self {
        self.start_column = Some(column);
        self
    }
}

/// A suppression written next to the code (`palisade:ignore=...`, `checkov:skip=...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineSuppression {
    pub reason: String,
    /// Last day the suppression applies; after it the finding counts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// The comment form it came from, e.g. `palisade:ignore` or `checkov:skip`.
    pub source: String,
}

impl InlineSuppression {
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.expires.is_none_or(|expires| day <= expires)
    }
}

/// Stable identity of a finding across runs (hex SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    /// Derives the fingerprint from the rule, the resource identity and an
    /// optional engine-specific discriminator (e.g. a keyed hash of a secret).
    /// Line numbers, messages and severities are deliberately left out.
    pub fn compute(rule_id: &str, resource: &Resource, discriminator: Option<&str>) -> Self {
        let mut hasher = Sha256::new();
        for part in [
            "palisade-fingerprint-v1",
            rule_id,
            &resource.kind,
            &resource.id,
            resource
                .file
                .as_deref()
                .map(normalise_path)
                .as_deref()
                .unwrap_or(""),
            resource.account.as_deref().unwrap_or(""),
            resource.region.as_deref().unwrap_or(""),
            discriminator.unwrap_or(""),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        Fingerprint(hex::encode(hasher.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, enough to name a finding on the command line.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn normalise_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    path.strip_prefix("./").unwrap_or(&path).to_string()
}

/// One occurrence of a rule on a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub title: Arc<str>,
    pub severity: Severity,
    pub category: Category,
    /// What is wrong with this particular resource, in one sentence.
    pub message: String,
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The minimum that proves the finding (an attribute and its value).
    /// Secrets are always redacted before they get here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub remediation: Arc<str>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub references: Arc<[String]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub compliance: Arc<[ComplianceRef]>,
    pub fingerprint: Fingerprint,
    /// Set when the code carries a suppression comment for this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<InlineSuppression>,
    /// Further places the same problem occurs (the same secret in several
    /// files or commits); `location` is the first of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_locations: Vec<Location>,
    /// Engine-specific facts that do not fit the common fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<FindingDetails>,
}

/// What only some kinds of finding carry, typed per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingDetails {
    Secret(SecretDetails),
    Vulnerability(VulnerabilityDetails),
}

/// A package version named by a published advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityDetails {
    /// The advisory ecosystem, as OSV names it (`npm`, `PyPI`, `Debian:12`).
    pub ecosystem: String,
    pub package: String,
    pub installed_version: String,
    /// Versions that fix it; empty when no fix is published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    pub purl: String,
    /// The advisory's id first, then every alias (CVE, GHSA, PYSEC, RUSTSEC ...).
    pub advisory_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalogue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_exploited: bool,
    /// EPSS probability of exploitation in the next 30 days (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    /// Whether the project depends on the package directly, when the lockfile says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
}

/// A committed credential, described without ever holding its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretDetails {
    /// The secret with all but a short, non-secret prefix masked.
    pub redacted: String,
    /// Whether the secret is still in the tree at HEAD (history scans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_at_head: Option<bool>,
    /// The result of a live check with the provider (`--verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// What the provider said when asked whether a credential works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// The provider accepted it: a live credential.
    Verified { identity: String },
    /// The provider rejected it.
    Invalid { reason: String },
    /// The check could not be made (network, endpoint, throttling).
    Unknown { reason: String },
}

impl Finding {
    /// A finding of `rule` on `resource`, carrying the rule's metadata.
    pub fn new(rule: &Rule, resource: Resource, message: impl Into<String>) -> Self {
        let fingerprint = Fingerprint::compute(&rule.id, &resource, None);
        Self {
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            category: rule.category,
            message: message.into(),
            resource,
            location: None,
            evidence: None,
            remediation: rule.remediation.clone(),
            references: rule.references.clone(),
            compliance: rule.compliance.clone(),
            fingerprint,
            suppression: None,
            other_locations: Vec::new(),
            details: None,
        }
    }

    pub fn with_location(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Keeps `earlier`'s locations first and adds this finding's that are
    /// new: a run that saw only part of the scope (new git commits) knows
    /// only some of the places, and must not forget the others.
    pub fn keep_earlier_locations(&mut self, earlier: &Finding) {
        let mut locations: Vec<Location> = earlier
            .location
            .iter()
            .chain(&earlier.other_locations)
            .cloned()
            .collect();
        for location in self
            .location
            .take()
            .into_iter()
            .chain(self.other_locations.drain(..))
        {
            if !locations.contains(&location) {
                locations.push(location);
            }
        }
        let mut locations = locations.into_iter();
        self.location = locations.next();
        self.other_locations = locations.collect();
    }

    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }

    /// Adds an engine-specific discriminator to the identity, for rules that
    /// can fire several times on one resource (one per port, per container ...).
    pub fn with_discriminator(mut self, discriminator: &str) -> Self {
        self.fingerprint = Fingerprint::compute(&self.rule_id, &self.resource, Some(discriminator));
        self
    }

    /// Whether an inline suppression applies on `day`.
    pub fn is_inline_suppressed_on(&self, day: NaiveDate) -> bool {
        self.suppression
            .as_ref()
            .is_some_and(|s| s.is_active_on(day))
    }
}

/// An input an engine could not read; reported, never fatal to the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// How the message of a [`ScanError`] starts when it names a part of the
/// input the engine does not support (an OS package database of a
/// distribution without advisories), rather than one it failed to read: such
/// a warning leaves the run complete, so what was scanned resolves normally.
pub const UNSUPPORTED_PREFIX: &str = "not supported: ";

impl ScanError {
    /// A part of the input that is knowingly not scanned (see [`UNSUPPORTED_PREFIX`]).
    pub fn unsupported(path: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            path: path.into(),
            line: None,
            message: format!("{UNSUPPORTED_PREFIX}{message}"),
        }
    }

    /// Whether this is a warning about an unsupported part, not a read failure.
    pub fn is_unsupported(&self) -> bool {
        self.message.starts_with(UNSUPPORTED_PREFIX)
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// What an engine returns for one scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    /// Number of inputs (files, resources ...) examined.
    pub inputs_scanned: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule {
            id: "iac.aws.s3-encryption".into(),
            title: "S3 bucket is not encrypted".into(),
            severity: Severity::High,
            category: Category::Misconfiguration,
            description: String::new(),
            remediation: "Enable SSE.".into(),
            references: Arc::default(),
            compliance: Arc::default(),
            peers: vec![],
        }
    }

    #[test]
    fn fingerprint_ignores_location_message_and_severity() {
        let resource = Resource::in_file("aws_s3_bucket", "aws_s3_bucket.logs", "main.tf");
        let a = Finding::new(&rule(), resource.clone(), "one message")
            .with_location(Location::lines("main.tf", 3, 9));
        let mut b = Finding::new(&rule(), resource, "another message")
            .with_location(Location::lines("main.tf", 40, 52));
        b.severity = Severity::Low;
        assert_eq!(a.fingerprint, b.fingerprint);
    }

    #[test]
    fn fingerprint_separates_resources_rules_and_discriminators() {
        let logs = Resource::in_file("aws_s3_bucket", "aws_s3_bucket.logs", "main.tf");
        let data = Resource::in_file("aws_s3_bucket", "aws_s3_bucket.data", "main.tf");
        let a = Finding::new(&rule(), logs.clone(), "");
        assert_ne!(a.fingerprint, Finding::new(&rule(), data, "").fingerprint);
        let mut other = rule();
        other.id = "iac.aws.s3-versioning".into();
        assert_ne!(
            a.fingerprint,
            Finding::new(&other, logs.clone(), "").fingerprint
        );
        assert_ne!(
            a.fingerprint,
            Finding::new(&rule(), logs, "")
                .with_discriminator("22")
                .fingerprint
        );
    }

    #[test]
    fn fingerprint_treats_dot_slash_paths_as_the_same_file() {
        let a = Resource::in_file("k", "id", "./infra/main.tf");
        let b = Resource::in_file("k", "id", "infra/main.tf");
        assert_eq!(
            Fingerprint::compute("r", &a, None),
            Fingerprint::compute("r", &b, None)
        );
    }

    #[test]
    fn inline_suppression_expires_after_its_day() {
        let s = InlineSuppression {
            reason: "accepted".into(),
            expires: NaiveDate::from_ymd_opt(2026, 1, 31),
            source: "palisade:ignore".into(),
        };
        assert!(s.is_active_on(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()));
        assert!(!s.is_active_on(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()));
    }
}
