//! `palisade findings ...`: the one list of findings kept in the store.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use palisade_report::{Report, ReportItem};
use palisade_store::{FindingFilter, StoredFinding};

use super::{actor, block_on, open_store};
use crate::args::{FindingsCommand, FindingsListArgs, GlobalArgs, OutputFormat};
use crate::output::write_report;
use crate::Outcome;

pub fn run(global: &GlobalArgs, command: FindingsCommand) -> Result<Outcome> {
    block_on(async {
        let store = open_store(global).await?;
        let now = Utc::now();
        let result = match command {
            FindingsCommand::List(args) | FindingsCommand::Export(args) => {
                let found = store.list_findings(&filter_of(&args), now).await?;
                write_report(
                    &report_of(found, now),
                    args.output.format,
                    args.output.output.as_deref(),
                )
            }
            FindingsCommand::Show(args) => {
                let finding = store.get_finding(&args.fingerprint, now).await?;
                let history = store.finding_history(&args.fingerprint).await?;
                show(&finding, &history, args.format)
            }
            FindingsCommand::Suppress(args) => {
                let expires = args
                    .expires
                    .as_deref()
                    .map(|e| parse_expiry(e, now))
                    .transpose()?;
                let author = actor(args.author.as_deref());
                let finding = store
                    .suppress(&args.fingerprint, &args.reason, &author, expires, now)
                    .await?;
                eprintln!(
                    "suppressed {} ({}){}",
                    finding.finding.fingerprint.short(),
                    finding.finding.rule_id,
                    expires
                        .map(|e| format!(" until {}", e.date_naive()))
                        .unwrap_or_default()
                );
                Ok(())
            }
            FindingsCommand::Unsuppress(args) => {
                let author = actor(args.author.as_deref());
                let finding = store.unsuppress(&args.fingerprint, &author, now).await?;
                eprintln!(
                    "{} is {} again",
                    finding.finding.fingerprint.short(),
                    finding.status
                );
                Ok(())
            }
        };
        store.close().await;
        result
    })??;
    Ok(Outcome::Clean)
}

fn filter_of(args: &FindingsListArgs) -> FindingFilter {
    FindingFilter {
        status: args.status,
        min_severity: args.severity,
        rule_id: args.rule.clone(),
        engine: args.engine.clone(),
        overdue_only: args.overdue,
        include_resolved: args.all,
        limit: args.limit,
        ..FindingFilter::default()
    }
}

fn report_of(found: Vec<StoredFinding>, now: DateTime<Utc>) -> Report {
    let rules = palisade_iac::builtin_rules();
    let items = found.into_iter().map(item_of).collect();
    Report {
        tool_name: "palisade".to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: now,
        items,
        errors: Vec::new(),
        rules,
    }
}

fn item_of(stored: StoredFinding) -> ReportItem {
    ReportItem {
        status: Some(stored.status.to_string()),
        first_seen: Some(stored.first_seen),
        last_seen: Some(stored.last_seen),
        sla_due_at: stored.sla_due_at,
        finding: stored.finding,
    }
}

/// `YYYY-MM-DD` (the suppression lasts through that day, UTC) or `<N>d`.
fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Some(days) = text.strip_suffix('d') {
        let days: i64 = days.parse().with_context(|| {
            format!("--expires `{text}`: expected YYYY-MM-DD or a number of days like 30d")
        })?;
        if days <= 0 {
            bail!("--expires `{text}`: the number of days must be positive");
        }
        return Ok(now + Duration::days(days));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
        format!("--expires `{text}`: expected YYYY-MM-DD or a number of days like 30d")
    })?;
    let end_of_day = day
        .and_hms_opt(23, 59, 59)
        .context("--expires: invalid time")?;
    Ok(end_of_day.and_utc())
}

fn show(
    stored: &StoredFinding,
    history: &[palisade_store::FindingEvent],
    format: OutputFormat,
) -> Result<()> {
    if format == OutputFormat::Json {
        let document = serde_json::json!({ "finding": stored, "history": history });
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    let f = &stored.finding;
    let mut text = String::new();
    writeln!(text, "{}  {}", f.severity.as_str().to_uppercase(), f.title)?;
    writeln!(text, "rule:         {}", f.rule_id)?;
    writeln!(text, "fingerprint:  {}", f.fingerprint)?;
    writeln!(text, "status:       {}", stored.status)?;
    writeln!(text, "resource:     {} {}", f.resource.kind, f.resource.id)?;
    if let Some(location) = &f.location {
        writeln!(
            text,
            "location:     {}:{}-{}",
            location.path, location.start_line, location.end_line
        )?;
    }
    writeln!(text, "message:      {}", f.message)?;
    if let Some(evidence) = &f.evidence {
        writeln!(text, "evidence:     {evidence}")?;
    }
    writeln!(text, "first seen:   {}", stored.first_seen.to_rfc3339())?;
    writeln!(text, "last seen:    {}", stored.last_seen.to_rfc3339())?;
    if let Some(due) = stored.sla_due_at {
        writeln!(text, "SLA due:      {}", due.to_rfc3339())?;
    }
    if let Some(s) = &stored.suppression {
        writeln!(
            text,
            "suppression:  {} (by {}, {})",
            s.reason,
            s.author,
            s.expires_at
                .map(|e| format!("until {}", e.to_rfc3339()))
                .unwrap_or_else(|| "no expiry".into())
        )?;
    }
    writeln!(text, "remediation:  {}", f.remediation)?;
    for reference in f.references.iter() {
        writeln!(text, "reference:    {reference}")?;
    }
    for c in f.compliance.iter() {
        writeln!(text, "compliance:   {} {}", c.framework, c.control)?;
    }
    if !history.is_empty() {
        writeln!(text, "history:")?;
        for event in history {
            writeln!(
                text,
                "  {}  {} -> {}{}",
                event.at.to_rfc3339(),
                event
                    .from
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                event.to,
                event
                    .note
                    .as_deref()
                    .map(|n| format!("  ({n})"))
                    .unwrap_or_default()
            )?;
        }
    }
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_dates_and_day_counts() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_expiry("2026-12-31", now).unwrap().to_rfc3339(),
            "2026-12-31T23:59:59+00:00"
        );
        assert_eq!(parse_expiry("30d", now).unwrap(), now + Duration::days(30));
        assert!(parse_expiry("soon", now).is_err());
        assert!(parse_expiry("0d", now).is_err());
    }
}
