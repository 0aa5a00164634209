use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use palisade_core::{Finding, ScanError, Severity};
use serde::{Deserialize, Serialize};

/// Where a finding stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Seen, not fixed, never resolved before.
    Open,
    /// Resolved once (or suppressed until an expiry) and back again.
    Reopened,
    /// Not seen in the latest complete run of its engine and scope.
    Resolved,
    /// Accepted for a reason by someone (manually, or by a comment in the code).
    Suppressed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::Reopened,
        Status::Resolved,
        Status::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Reopened => "reopened",
            Status::Resolved => "resolved",
            Status::Suppressed => "suppressed",
        }
    }

    /// Open or reopened: something someone has to act on, and what SLAs apply to.
    pub fn is_actionable(self) -> bool {
        matches!(self, Status::Open | Status::Reopened)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding status `{0}`: expected one of open, reopened, resolved, suppressed")]
pub struct ParseStatusError(pub String);

impl FromStr for Status {
    type Err = ParseStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Status::Open),
            "reopened" => Ok(Status::Reopened),
            "resolved" => Ok(Status::Resolved),
            "suppressed" => Ok(Status::Suppressed),
            _ => Err(ParseStatusError(s.to_string())),
        }
    }
}

/// Prefix of [`Suppression::author`] for suppressions that come from a code comment.
pub const INLINE_AUTHOR_PREFIX: &str = "inline:";

/// Why a finding is accepted, by whom, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: String,
    /// Who suppressed it; `inline:<source>` (e.g. `inline:checkov:skip`) when
    /// the suppression is a comment in the scanned code.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// The moment the suppression stops applying; `None` for never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Suppression {
    /// Whether the suppression comes from a comment in the scanned code.
    pub fn is_inline(&self) -> bool {
        self.author.starts_with(INLINE_AUTHOR_PREFIX)
    }

    /// Whether the suppression still applies at `now` (it ends at `expires_at`).
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expires| now < expires)
    }
}

/// A finding as the store knows it: the latest [`Finding`] plus its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// The finding as last reported by its engine.
    pub finding: Finding,
    pub status: Status,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the finding last came back after being resolved (or after a
    /// manual suppression expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<DateTime<Utc>>,
    /// When it must be fixed, from its severity and the [`SlaPolicy`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Present while suppressed, and kept on a suppressed finding that was then resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// Engine of the run that last saw it (`iac`, `secrets` ...).
    pub engine: String,
    /// Scope of the run that last saw it.
    pub scope: String,
    pub last_run_id: i64,
}

impl StoredFinding {
    pub fn fingerprint(&self) -> &str {
        self.finding.fingerprint.as_str()
    }

    /// Open or reopened, with an SLA due date before `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_actionable() && self.sla_due_at.is_some_and(|due| due < now)
    }
}

/// How many days each severity may stay open; `None` means no deadline.
///
/// Read from the `[sla]` table of the configuration; missing keys take the
/// defaults (critical 7, high 30, medium 90, low 180, info none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaPolicy {
    pub critical: Option<u32>,
    pub high: Option<u32>,
    pub medium: Option<u32>,
    pub low: Option<u32>,
    pub info: Option<u32>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            critical: Some(7),
            high: Some(30),
            medium: Some(90),
            low: Some(180),
            info: None,
        }
    }
}

impl SlaPolicy {
    /// The number of days a finding of `severity` may stay open.
    pub fn days_for(&self, severity: Severity) -> Option<u32> {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// The due date of a finding of `severity` whose clock started at `from`.
    pub fn due_at(&self, severity: Severity, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.days_for(severity)
            .and_then(|days| from.checked_add_signed(Duration::days(i64::from(days))))
    }
}

/// The run being recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The engine that produced the findings: `iac`, `secrets`, `deps`, `aws` ...
    pub engine: String,
    /// What was scanned, canonical so the same target always gives the same
    /// string (e.g. the canonical scanned path, or `aws:<account>`). Findings
    /// are resolved per engine and scope.
    pub scope: String,
    pub started_at: DateTime<Utc>,
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Distinct findings reported by the run.
    pub total: u64,
    /// Findings seen for the first time.
    pub new: u64,
    /// Resolved findings that came back.
    pub reopened: u64,
    /// Findings of the same engine and scope that the (complete) run no longer saw.
    pub resolved: u64,
    /// Findings reported by the run that are suppressed (manually or inline).
    pub suppressed: u64,
}

/// A recorded scan run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub engine: String,
    pub scope: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Whether the run covered its whole scope; only complete runs resolve findings.
    pub complete: bool,
    pub inputs_scanned: u64,
    pub counts: RunCounts,
    /// Inputs the engine could not read.
    pub errors: Vec<ScanError>,
}

/// Which findings [`crate::Store::list_findings`] returns.
///
/// The default lists every finding that is not resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Only findings with this status (a `Resolved` status includes resolved
    /// findings whatever `include_resolved` says).
    pub status: Option<Status>,
    /// Only findings at least this severe.
    pub min_severity: Option<Severity>,
    pub rule_id: Option<String>,
    pub engine: Option<String>,
    pub scope: Option<String>,
    /// Only open or reopened findings past their SLA due date.
    pub overdue_only: bool,
    /// Also list resolved findings when no `status` is given.
    pub include_resolved: bool,
    /// At most this many findings.
    pub limit: Option<u32>,
}

/// One status change of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingEvent {
    pub at: DateTime<Utc>,
    /// `None` when the finding was first seen.
    pub from: Option<Status>,
    pub to: Status,
    /// The run that caused the change, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// Who made the change (suppress/unsuppress), `inline:<source>` for code
    /// comments; `None` for the scanner or an expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
