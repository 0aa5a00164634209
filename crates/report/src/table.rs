//! Plain UTF-8 table for people at a terminal.

use std::io::Write;

use comfy_table::{presets, Cell, ContentArrangement, Table};

use crate::{Report, ReportError, ReportItem};

/// Writes `report` as a table, optionally wrapped to `width` columns
/// (pass the terminal width; `None` never wraps, which suits pipes and files).
///
/// No colour or other escape sequences are written, and control characters in
/// findings are shown escaped so scanned input cannot drive the terminal.
pub fn render_table(
    report: &Report,
    width: Option<u16>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let day = report.day();
    let items = report.sorted_items();

    if items.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        let with_status = items
            .iter()
            .any(|item| item.status.is_some() || item.is_suppressed_on(day));

        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .force_no_tty();
        match width {
            Some(width) => {
                table
                    .set_width(width)
                    .set_content_arrangement(ContentArrangement::Dynamic);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }

        let mut header = vec!["severity", "rule", "resource", "location", "message"];
        if with_status {
            header.push("status");
        }
        table.set_header(header);

        for item in items {
            let finding = &item.finding;
            let mut row = vec![
                Cell::new(finding.severity.as_str()),
                Cell::new(clean(&finding.rule_id)),
                Cell::new(clean(&format!(
                    "{} {}",
                    finding.resource.kind, finding.resource.id
                ))),
                Cell::new(clean(&location(item))),
                Cell::new(clean(&finding.message)),
            ];
            if with_status {
                row.push(Cell::new(clean(&status(item, day))));
            }
            table.add_row(row);
        }
        writeln!(out, "{table}")?;
    }

    writeln!(out, "{}", report.summary().line())?;
    for error in report.sorted_errors() {
        writeln!(out, "error: {}", clean(&error.to_string()))?;
    }
    Ok(())
}

fn location(item: &ReportItem) -> String {
    match &item.finding.location {
        Some(location) => format!("{}:{}", location.path, location.start_line),
        None => item
            .finding
            .resource
            .file
            .clone()
            .unwrap_or_else(|| "-".to_string()),
    }
}

fn status(item: &ReportItem, day: chrono::NaiveDate) -> String {
    let inline = item.is_inline_suppressed_on(day);
    match item.status.as_deref() {
        Some(status) if inline && !item.is_externally_suppressed() => {
            format!("{status}, suppressed inline")
        }
        Some(status) => status.to_string(),
        None if inline => "suppressed (inline)".to_string(),
        None => String::new(),
    }
}

/// Replaces control characters (escape sequences, carriage returns, newlines)
/// with their escaped form, so a hostile message stays one visible line.
fn clean(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            cleaned.extend(c.escape_default());
        } else {
            cleaned.push(c);
        }
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\x1b[31mred\r\nb"), "a\\u{1b}[31mred\\r\\nb");
        assert_eq!(clean("plain ünïcode"), "plain ünïcode");
    }
}
