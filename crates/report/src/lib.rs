//! Renderers for palisade findings: table, JSON, SARIF 2.1.0, CSV and HTML.
//!
//! This crate owns presentation. It turns a [`Report`] (findings, optionally
//! with the lifecycle state the store keeps for them, the scan errors and the
//! metadata of the rules involved) into bytes on a writer, in one of the
//! [`Format`]s, deterministically: the same report renders to the same bytes,
//! whatever order its items came in.
//!
//! It must not read the store, run scans or decide exit codes: callers build
//! the [`Report`] and pick the format; this crate only writes it out. Every
//! string that comes from scanned input (messages, paths, resource ids,
//! custom rule metadata) is treated as hostile: escaped for HTML, neutralised
//! against spreadsheet formula injection in CSV, and stripped of terminal
//! control characters in the table.

use std::cmp::Ordering;
use std::fmt;
use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use palisade_core::{Finding, Rule, ScanError, ScanOutput, Severity};

mod csv_format;
mod html;
mod json;
mod sarif;
mod table;

pub use html::escape_html;
pub use table::render_table;

/// Where users find palisade; used as the SARIF `informationUri`.
pub const INFORMATION_URI: &str = "https://github.com/palisade-sec/palisade";

/// An output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A plain UTF-8 table for people at a terminal.
    Table,
    /// A stable JSON document for scripts.
    Json,
    /// SARIF 2.1.0, for code hosts (GitHub code scanning) and IDEs.
    Sarif,
    /// One row per finding, for spreadsheets.
    Csv,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Csv,
        Format::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }

    /// The usual file extension (without the dot) for `--output` defaults.
    pub fn file_extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}`: expected one of table, json, sarif, csv, html")]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == wanted)
            .ok_or_else(|| ParseFormatError(s.to_string()))
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("could not write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not serialise the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not write the report as CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// One finding to render, with the lifecycle state the store keeps for it.
///
/// For a plain scan result every optional field is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportItem {
    pub finding: Finding,
    /// Lifecycle status from the store: `open`, `resolved`, `reopened`, `suppressed`.
    pub status: Option<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
}

impl From<Finding> for ReportItem {
    fn from(finding: Finding) -> Self {
        Self {
            finding,
            status: None,
            first_seen: None,
            last_seen: None,
            sla_due_at: None,
        }
    }
}

impl ReportItem {
    /// Whether the finding carries an inline suppression that applies on `day`.
    pub fn is_inline_suppressed_on(&self, day: NaiveDate) -> bool {
        self.finding.is_inline_suppressed_on(day)
    }

    /// Whether the store marks the finding as suppressed.
    pub fn is_externally_suppressed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|status| status.trim().eq_ignore_ascii_case("suppressed"))
    }

    /// Whether the finding is suppressed on `day`, inline or in the store.
    pub fn is_suppressed_on(&self, day: NaiveDate) -> bool {
        self.is_inline_suppressed_on(day) || self.is_externally_suppressed()
    }
}

/// Everything a renderer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub tool_name: String,
    pub tool_version: String,
    /// When the report was made; also the day inline suppression expiry is judged on.
    pub generated_at: DateTime<Utc>,
    pub items: Vec<ReportItem>,
    pub errors: Vec<ScanError>,
    /// Metadata of the rules that appear in `items` (more is harmless). A
    /// finding whose rule is missing here is rendered from its own fields.
    pub rules: Vec<Rule>,
}

impl Report {
    /// A report of one scan's output.
    pub fn from_scan_output(
        tool_name: impl Into<String>,
        tool_version: impl Into<String>,
        generated_at: DateTime<Utc>,
        output: ScanOutput,
        rules: Vec<Rule>,
    ) -> Self {
        Self {
            tool_name: tool_name.into(),
            tool_version: tool_version.into(),
            generated_at,
            items: output.findings.into_iter().map(ReportItem::from).collect(),
            errors: output.errors,
            rules,
        }
    }

    /// The day inline suppressions are judged on.
    pub fn day(&self) -> NaiveDate {
        self.generated_at.date_naive()
    }

    /// Counts by severity, suppressed items and scan errors.
    pub fn summary(&self) -> Summary {
        let day = self.day();
        let mut summary = Summary {
            total: self.items.len(),
            suppressed: 0,
            errors: self.errors.len(),
            by_severity: [0; 5],
        };
        for item in &self.items {
            summary.by_severity[severity_slot(item.finding.severity)] += 1;
            if item.is_suppressed_on(day) {
                summary.suppressed += 1;
            }
        }
        summary
    }

    /// The metadata of `rule_id`, if the report carries it.
    pub fn rule(&self, rule_id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == rule_id)
    }

    /// Items in report order: severity descending, then file, line, rule and
    /// fingerprint, so output does not depend on the order engines produced them.
    pub fn sorted_items(&self) -> Vec<&ReportItem> {
        let mut items: Vec<&ReportItem> = self.items.iter().collect();
        items.sort_by(|a, b| compare_items(a, b));
        items
    }

    /// Scan errors ordered by path and line.
    pub(crate) fn sorted_errors(&self) -> Vec<&ScanError> {
        let mut errors: Vec<&ScanError> = self.errors.iter().collect();
        errors.sort_by(|a, b| {
            (a.path.as_str(), a.line, a.message.as_str()).cmp(&(
                b.path.as_str(),
                b.line,
                b.message.as_str(),
            ))
        });
        errors
    }
}

/// Counts of a report, used by every format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Every item, suppressed or not.
    pub total: usize,
    /// Items suppressed inline (and not expired) or by status.
    pub suppressed: usize,
    /// Scan errors.
    pub errors: usize,
    by_severity: [usize; 5],
}

impl Summary {
    /// Items of `severity`, suppressed or not.
    pub fn count(&self, severity: Severity) -> usize {
        self.by_severity[severity_slot(severity)]
    }

    /// `N findings: X critical, Y high, Z medium, W low, V info`, with the
    /// number suppressed when there are any.
    pub fn line(&self) -> String {
        let counts: Vec<String> = Severity::ALL_DESCENDING
            .iter()
            .map(|severity| format!("{} {}", self.count(*severity), severity))
            .collect();
        let noun = if self.total == 1 {
            "finding"
        } else {
            "findings"
        };
        let mut line = format!("{} {}: {}", self.total, noun, counts.join(", "));
        if self.suppressed > 0 {
            line.push_str(&format!(" ({} suppressed)", self.suppressed));
        }
        line
    }
}

fn severity_slot(severity: Severity) -> usize {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

/// The file a finding is in: its location, else the resource's file.
pub(crate) fn finding_file(finding: &Finding) -> Option<&str> {
    finding
        .location
        .as_ref()
        .map(|location| location.path.as_str())
        .or(finding.resource.file.as_deref())
}

fn compare_items(a: &ReportItem, b: &ReportItem) -> Ordering {
    let (fa, fb) = (&a.finding, &b.finding);
    fb.severity
        .cmp(&fa.severity)
        .then_with(|| {
            finding_file(fa)
                .unwrap_or("")
                .cmp(finding_file(fb).unwrap_or(""))
        })
        .then_with(|| {
            let line = |f: &Finding| f.location.as_ref().map(|l| (l.start_line, l.end_line));
            line(fa).cmp(&line(fb))
        })
        .then_with(|| fa.rule_id.cmp(&fb.rule_id))
        .then_with(|| fa.fingerprint.cmp(&fb.fingerprint))
        .then_with(|| fa.message.cmp(&fb.message))
}

/// RFC 3339 in UTC with a `Z`, the one timestamp form every format uses.
pub(crate) fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Writes `report` as `format` to `out`.
///
/// The output depends only on the report: items are sorted, and the only
/// time written is `report.generated_at`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> Result<(), ReportError> {
    match format {
        Format::Table => table::render_table(report, None, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Csv => csv_format::render(report, out),
        Format::Html => html::render(report, out),
    }
}

/// [`render`] into a `String`.
pub fn render_to_string(report: &Report, format: Format) -> Result<String, ReportError> {
    let mut buffer = Vec::new();
    render(report, format, &mut buffer)?;
    // Every renderer writes UTF-8 from `String`s; a failure here is a bug.
    String::from_utf8(buffer)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_through_their_names() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
            assert_eq!(format.as_str().to_uppercase().parse::<Format>(), Ok(format));
        }
        let error = "xml".parse::<Format>().unwrap_err();
        assert!(error.to_string().contains("sarif"));
    }
}
