//! A stable JSON document for scripts.
//!
//! Shape (every key always present unless noted):
//! ```text
//! { "tool": { "name", "version", "information_uri" },
//!   "generated_at": RFC 3339,
//!   "summary": { "total", "suppressed", "errors",
//!                "by_severity": { "critical", "high", "medium", "low", "info" } },
//!   "findings": [ { <palisade_core::Finding fields>,
//!                   "suppressed", "status", "first_seen", "last_seen", "sla_due_at" } ],
//!   "errors": [ { "path", "line" (when known), "message" } ] }
//! ```
//! The finding fields are those of `Finding`'s serde form; the lifecycle
//! fields are `null` for a plain scan result.

use std::io::Write;

use palisade_core::{Finding, ScanError, Severity};
use serde::Serialize;

use crate::{timestamp, Report, ReportError, INFORMATION_URI};

#[derive(Serialize)]
struct Document<'a> {
    tool: Tool<'a>,
    generated_at: String,
    summary: Summary,
    findings: Vec<Item<'a>>,
    errors: Vec<&'a ScanError>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    version: &'a str,
    information_uri: &'static str,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    suppressed: usize,
    errors: usize,
    by_severity: BySeverity,
}

#[derive(Serialize)]
struct BySeverity {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

#[derive(Serialize)]
struct Item<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    suppressed: bool,
    status: Option<&'a str>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    sla_due_at: Option<String>,
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let day = report.day();
    let summary = report.summary();
    let document = Document {
        tool: Tool {
            name: &report.tool_name,
            version: &report.tool_version,
            information_uri: INFORMATION_URI,
        },
        generated_at: timestamp(&report.generated_at),
        summary: Summary {
            total: summary.total,
            suppressed: summary.suppressed,
            errors: summary.errors,
            by_severity: BySeverity {
                critical: summary.count(Severity::Critical),
                high: summary.count(Severity::High),
                medium: summary.count(Severity::Medium),
                low: summary.count(Severity::Low),
                info: summary.count(Severity::Info),
            },
        },
        findings: report
            .sorted_items()
            .into_iter()
            .map(|item| Item {
                finding: &item.finding,
                suppressed: item.is_suppressed_on(day),
                status: item.status.as_deref(),
                first_seen: item.first_seen.as_ref().map(timestamp),
                last_seen: item.last_seen.as_ref().map(timestamp),
                sla_due_at: item.sla_due_at.as_ref().map(timestamp),
            })
            .collect(),
        errors: report.sorted_errors(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}
