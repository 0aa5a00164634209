use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Category, Severity};

/// A control id in a compliance framework that a rule helps prove,
/// e.g. `{ framework: "CIS AWS Foundations v3.0", control: "2.1.1" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComplianceRef {
    pub framework: String,
    pub control: String,
}

impl ComplianceRef {
    pub fn new(framework: impl Into<String>, control: impl Into<String>) -> Self {
        Self {
            framework: framework.into(),
            control: control.into(),
        }
    }
}

/// The id of the equivalent check in another tool (Checkov, Prowler, gitleaks ...),
/// so users moving from that tool can map their suppressions and reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerId {
    pub tool: String,
    pub id: String,
}

impl PeerId {
    pub fn new(tool: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            tool: tool.into(),
            id: id.into(),
        }
    }
}

/// The metadata every check carries, whatever engine runs it.
///
/// Built-in rules are registered once per engine; custom rules (Rego
/// policies, gitleaks TOML, Sigma) are turned into the same shape at load.
/// The texts every finding repeats are shared (`Arc`), so a scan with
/// thousands of findings of one rule holds its remediation once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable, namespaced id: `iac.aws.s3-encryption`, `iac.k8s.privileged`.
    pub id: String,
    pub title: Arc<str>,
    pub severity: Severity,
    pub category: Category,
    /// What the rule detects and why it matters.
    pub description: String,
    pub remediation: Arc<str>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub references: Arc<[String]>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub compliance: Arc<[ComplianceRef]>,
    /// Equivalent check ids in other tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerId>,
}

impl Rule {
    /// The peer ids of one tool (e.g. every Checkov id this rule covers).
    pub fn peer_ids<'a>(&'a self, tool: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.peers
            .iter()
            .filter(move |p| p.tool == tool)
            .map(|p| p.id.as_str())
    }
}

pub(crate) fn is_empty<T>(items: &Arc<[T]>) -> bool {
    items.is_empty()
}
