//! One row per finding, for spreadsheets.
//!
//! Quoting is the `csv` crate's (RFC 4180). Spreadsheets evaluate cells that
//! start with `=`, `+`, `-` or `@` (and some treat a leading tab or carriage
//! return the same way) as formulas, so such cells get a leading `'`
//! (OWASP's advice against CSV injection). Scan errors are not rows: a
//! spreadsheet of findings has no place for them; use another format to see them.

use std::io::Write;

use crate::{timestamp, Report, ReportError};

pub(crate) const HEADER: [&str; 15] = [
    "severity",
    "rule_id",
    "title",
    "resource_kind",
    "resource_id",
    "file",
    "start_line",
    "end_line",
    "message",
    "status",
    "first_seen",
    "last_seen",
    "sla_due_at",
    "fingerprint",
    "suppressed",
];

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let day = report.day();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for item in report.sorted_items() {
        let finding = &item.finding;
        let location = finding.location.as_ref();
        let record = [
            finding.severity.as_str().to_string(),
            finding.rule_id.clone(),
            finding.title.to_string(),
            finding.resource.kind.clone(),
            finding.resource.id.clone(),
            crate::finding_file(finding).unwrap_or_default().to_string(),
            location
                .map(|l| l.start_line.to_string())
                .unwrap_or_default(),
            location.map(|l| l.end_line.to_string()).unwrap_or_default(),
            finding.message.clone(),
            item.status.clone().unwrap_or_default(),
            item.first_seen.as_ref().map(timestamp).unwrap_or_default(),
            item.last_seen.as_ref().map(timestamp).unwrap_or_default(),
            item.sla_due_at.as_ref().map(timestamp).unwrap_or_default(),
            finding.fingerprint.to_string(),
            item.is_suppressed_on(day).to_string(),
        ];
        writer.write_record(record.iter().map(|cell| neutralise(cell).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

/// Prefixes a cell a spreadsheet would read as a formula with `'`.
pub(crate) fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for hostile in ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"));
        }
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise(""), "");
        assert_eq!(neutralise("42"), "42");
    }
}
