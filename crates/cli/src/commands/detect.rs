//! `palisade detect`: run the detections over the lake, list the rules.
//!
//! The detection engine (`palisade-detect`) matches events and builds
//! alerts; this module picks the lake files, stores the alerts (deduplicated),
//! turns them into findings of category `detection` and sends new ones to
//! the webhooks. `logs ingest --detect` calls [`detect_files`] with the files
//! the ingest wrote.

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput};
use palisade_detect::webhook::{self, RetryPolicy, Sender, Webhook, WebhookKind};
use palisade_detect::{build_alerts, Alert, FieldMapping, Loader, RuleKind, RuleSet};
use palisade_lake::{Lake, Source};
use palisade_store::{AlertChange, NewAlert, NewDelivery, NewRun, SlaPolicy, Store};
use serde::Serialize;

use super::open_store;
use crate::args::{
    DataFormat, DetectCommand, DetectRulesArgs, DetectRunArgs, DetectionArgs, GlobalArgs,
    SummaryFormat,
};
use crate::Outcome;

/// The engine name of detection findings in the store.
pub const ENGINE: &str = "detect";

pub fn run(global: &GlobalArgs, command: DetectCommand) -> Result<Outcome> {
    match command {
        DetectCommand::Run(args) => run_detections(global, args),
        DetectCommand::Rules(args) => list_rules(args),
    }
}

/// Loads the built-in packs (unless told not to) and the given rule paths.
pub fn load_rules(paths: &[PathBuf], no_builtin: bool, mapping: Option<&Path>) -> Result<RuleSet> {
    let mut field_mapping = FieldMapping::default();
    if let Some(path) = mapping {
        field_mapping = field_mapping.with_file(path)?;
    }
    let mut loader = Loader::new(field_mapping);
    if !no_builtin {
        loader.add_builtin();
    }
    for path in paths {
        loader.add_path(path)?;
    }
    let rules = loader.build();
    for problem in rules.problems() {
        tracing::warn!("rule not loaded: {problem}");
    }
    Ok(rules)
}

fn multi_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The part files of `source` for the days `[since, until]` touch, as
/// local files (downloaded when the lake is on object storage).
fn partition_files(
    lake: &Lake,
    source: Source,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<palisade_lake::LocalFiles> {
    let first = since.format("%Y-%m-%d").to_string();
    let last = until.format("%Y-%m-%d").to_string();
    let mut files = Vec::new();
    for day in lake.days(source)? {
        if day < first || day > last {
            continue;
        }
        files.extend(lake.parts(source, &day)?);
    }
    files.sort();
    Ok(lake.local_files(&files)?)
}

/// What a detection run did.
#[derive(Debug, Default, Serialize)]
pub struct DetectReport {
    pub events: u64,
    pub files: u64,
    pub sigma_rules: usize,
    pub correlations: usize,
    pub sql_detections: usize,
    pub rules_not_loaded: usize,
    /// Events matched by Sigma rules.
    pub matches: usize,
    pub alerts_new: usize,
    pub alerts_updated: usize,
    pub alerts_unchanged: usize,
    pub webhooks_delivered: usize,
    /// Deliveries that failed after every retry (`palisade alerts dead-letters`).
    pub webhooks_failed: usize,
    pub alerts: Vec<ReportedAlert>,
}

/// One alert of the run, as printed.
#[derive(Debug, Serialize)]
pub struct ReportedAlert {
    /// The stored alert's id (none with `--no-store`).
    pub id: Option<i64>,
    pub change: &'static str,
    #[serde(flatten)]
    pub alert: Alert,
}

/// The time range of a run, in microseconds: `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub start: i64,
    pub end: i64,
}

/// Runs the rules over `files`, records alerts and findings and sends webhooks.
pub fn detect_files(
    global: &GlobalArgs,
    lake: &Lake,
    rules: &RuleSet,
    files: &[(Source, PathBuf)],
    range: Option<Range>,
    args: &DetectionArgs,
    store_results: bool,
) -> Result<DetectReport> {
    let dedup_window = palisade_detect::parse_timespan(&args.dedup_window)
        .map_err(|e| anyhow::anyhow!("--dedup-window: {e}"))?;
    let webhooks = webhooks(args);
    let runtime = multi_thread_runtime()?;
    runtime.block_on(async {
        let scan = rules.scan_files(files)?;
        let mut hits = scan.hits;
        if let Some(range) = range {
            hits.retain(|h| h.time >= range.start && h.time < range.end);
        }
        let correlations = rules.correlate(&hits);
        // SQL detections cover the run's range, or the time the new events span
        // (plus the longest window, for aggregates that started earlier).
        let sql_range = range.or_else(|| {
            let (min, max) = (scan.min_time?, scan.max_time?);
            Some(Range {
                start: min - rules.longest_sql_window(),
                end: max + 1,
            })
        });
        let sql = match sql_range {
            Some(range) => rules.run_sql(lake, range.start, range.end).await?,
            None => Vec::new(),
        };
        let alerts = build_alerts(rules, &hits, &correlations, &sql, dedup_window);
        let mut report = DetectReport {
            events: scan.events,
            files: scan.files,
            sigma_rules: rules
                .rules()
                .iter()
                .filter(|r| r.kind == RuleKind::Sigma)
                .count(),
            correlations: rules
                .rules()
                .iter()
                .filter(|r| r.kind == RuleKind::Correlation)
                .count(),
            sql_detections: rules
                .rules()
                .iter()
                .filter(|r| r.kind == RuleKind::Sql)
                .count(),
            rules_not_loaded: rules.problems().len(),
            matches: hits.len(),
            ..DetectReport::default()
        };
        if !store_results {
            report.alerts = alerts
                .into_iter()
                .map(|alert| ReportedAlert {
                    id: None,
                    change: "new",
                    alert,
                })
                .collect();
            return Ok(report);
        }
        let store = open_store(global).await?;
        record(
            &store,
            lake,
            rules,
            alerts,
            dedup_window,
            &webhooks,
            args,
            &mut report,
        )
        .await?;
        store.close().await;
        Ok::<_, anyhow::Error>(report)
    })
}

fn webhooks(args: &DetectionArgs) -> Vec<Webhook> {
    let json = args.webhooks.iter().map(|url| Webhook {
        url: url.clone(),
        kind: WebhookKind::Json,
    });
    let slack = args.slack_webhooks.iter().map(|url| Webhook {
        url: url.clone(),
        kind: WebhookKind::Slack,
    });
    json.chain(slack)
        .filter(|w| !w.url.trim().is_empty())
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn record(
    store: &Store,
    lake: &Lake,
    rules: &RuleSet,
    alerts: Vec<Alert>,
    dedup_window: i64,
    webhooks: &[Webhook],
    args: &DetectionArgs,
    report: &mut DetectReport,
) -> Result<()> {
    let now = Utc::now();
    let window = Duration::microseconds(dedup_window);
    let sender = if webhooks.is_empty() {
        None
    } else {
        Some(
            Sender::new(RetryPolicy {
                attempts: args.webhook_attempts.max(1),
                initial_backoff: StdDuration::from_millis(args.webhook_backoff_ms),
                ..RetryPolicy::default()
            })
            .map_err(|e| anyhow::anyhow!(e))?,
        )
    };
    let mut findings = Vec::new();
    for alert in alerts {
        let change = store
            .record_alert(&new_alert(&alert), window, now)
            .await
            .context("cannot record an alert")?;
        let (id, label) = match change {
            AlertChange::Created(id) => {
                report.alerts_new += 1;
                (id, "new")
            }
            AlertChange::Updated(id) => {
                report.alerts_updated += 1;
                (id, "updated")
            }
            AlertChange::Unchanged(id) => {
                report.alerts_unchanged += 1;
                (id, "unchanged")
            }
        };
        let stored = store.get_alert(id).await?;
        findings.push(finding(rules, &stored));
        if let (AlertChange::Created(id), Some(sender)) = (change, &sender) {
            for hook in webhooks {
                let body = webhook::payload(hook.kind, &alert, Some(id));
                let delivery = sender.send(hook, &body).await;
                if delivery.delivered {
                    report.webhooks_delivered += 1;
                } else {
                    report.webhooks_failed += 1;
                }
                store
                    .record_delivery(
                        &NewDelivery {
                            alert_id: id,
                            target: delivery.target,
                            kind: format!("{:?}", delivery.kind).to_lowercase(),
                            delivered: delivery.delivered,
                            attempts: delivery.attempts,
                            last_error: delivery.last_error,
                            payload: delivery.payload,
                        },
                        now,
                    )
                    .await?;
            }
        }
        report.alerts.push(ReportedAlert {
            id: Some(id),
            change: label,
            alert,
        });
    }
    if !findings.is_empty() {
        let output = ScanOutput {
            findings,
            errors: Vec::new(),
            inputs_scanned: report.events as usize,
        };
        store
            .record_scan(
                NewRun {
                    engine: ENGINE.to_string(),
                    scope: scope(lake),
                    started_at: now,
                },
                &output,
                false,
                &SlaPolicy::default(),
                Utc::now(),
            )
            .await
            .context("cannot record the detection findings")?;
    }
    Ok(())
}

/// The findings scope of a lake: `lake:<canonical root>`.
pub fn scope(lake: &Lake) -> String {
    let root = std::fs::canonicalize(lake.root()).unwrap_or_else(|_| lake.root().to_path_buf());
    format!("lake:{}", root.display())
}

fn new_alert(alert: &Alert) -> NewAlert {
    NewAlert {
        rule: alert.rule.clone(),
        title: alert.title.clone(),
        severity: alert.severity,
        kind: format!("{:?}", alert.kind).to_lowercase(),
        source: alert.source.clone(),
        entity: alert.entity.clone(),
        first_time: alert.first_time,
        last_time: alert.last_time,
        count: alert.count,
        event_ids: alert.event_ids.clone(),
    }
}

/// The finding of a stored alert: one per alert, so acknowledging an alert
/// (which suppresses its finding) leaves later alerts of the rule open.
pub fn finding(rules: &RuleSet, alert: &palisade_store::StoredAlert) -> Finding {
    let info = rules.rules().iter().find(|r| r.key == alert.rule);
    let rule = Rule {
        id: format!("detect.{}", alert.rule),
        title: alert.title.as_str().into(),
        severity: alert.severity,
        category: Category::Detection,
        description: info.map(|r| r.description.clone()).unwrap_or_default(),
        remediation: Arc::from(
            "Investigate the alert's events (palisade alerts list, palisade logs query); \
             acknowledge it with palisade alerts ack once handled.",
        ),
        references: Arc::from(info.map(|r| r.references.clone()).unwrap_or_default()),
        compliance: Arc::default(),
        peers: Vec::new(),
    };
    let resource = Resource {
        kind: "alert".to_string(),
        id: alert.id.to_string(),
        file: None,
        account: None,
        region: None,
    };
    Finding::new(
        &rule,
        resource,
        format!(
            "{} ({} event(s) by {} from {} to {})",
            alert.title,
            alert.count,
            alert.entity,
            alert.first_time.format("%Y-%m-%d %H:%M:%S"),
            alert.last_time.format("%Y-%m-%d %H:%M:%S")
        ),
    )
    .with_evidence(format!(
        "alert {}: {}",
        alert.id,
        alert.event_ids.join(", ")
    ))
}

/// The fingerprint of an alert's finding (the rule's metadata does not enter it).
pub fn finding_fingerprint(alert: &palisade_store::StoredAlert) -> String {
    let resource = Resource {
        kind: "alert".to_string(),
        id: alert.id.to_string(),
        file: None,
        account: None,
        region: None,
    };
    palisade_core::Fingerprint::compute(&format!("detect.{}", alert.rule), &resource, None).0
}

fn lake_of(args: &crate::args::LakeArgs) -> Result<Lake> {
    super::logs::lake(args)
}

fn run_detections(global: &GlobalArgs, args: DetectRunArgs) -> Result<Outcome> {
    let now = Utc::now();
    let since = palisade_lake::parse_since(&args.since, now)?;
    let until = match &args.until {
        Some(until) => palisade_lake::parse_since(until, now)?,
        None => now,
    };
    if until <= since {
        bail!("--until must be after --since");
    }
    let rules = load_rules(
        &args.detection.rules,
        args.detection.no_builtin,
        args.detection.mapping.as_deref(),
    )?;
    let lake = lake_of(&args.lake)?;
    let sources: Vec<Source> = match args.source {
        Some(source) => vec![source.into()],
        None => Source::ALL.to_vec(),
    };
    let mut files = Vec::new();
    // Keeps downloaded copies until the run is over.
    let mut local = Vec::new();
    for source in sources {
        if rules.sigma_rules(source) == 0 {
            continue;
        }
        let parts = partition_files(&lake, source, since, until)?;
        for path in &parts.files {
            files.push((source, path.clone()));
        }
        local.push(parts);
    }
    let range = Range {
        start: since.timestamp_micros(),
        end: until.timestamp_micros(),
    };
    let report = detect_files(
        global,
        &lake,
        &rules,
        &files,
        Some(range),
        &args.detection,
        !args.no_store,
    )?;
    print_report(&report, args.format)?;
    Ok(Outcome::Clean)
}

pub fn print_report(report: &DetectReport, format: SummaryFormat) -> Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            writeln!(out)?;
        }
        SummaryFormat::Text => write_report(&mut out, report)?,
    }
    out.flush()?;
    Ok(())
}

pub fn write_report(out: &mut impl std::io::Write, report: &DetectReport) -> Result<()> {
    writeln!(
        out,
        "rules              {} sigma, {} correlation, {} sql{}",
        report.sigma_rules,
        report.correlations,
        report.sql_detections,
        if report.rules_not_loaded > 0 {
            format!(
                " ({} not loaded, see the warnings)",
                report.rules_not_loaded
            )
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "events scanned     {} in {} file(s)",
        report.events, report.files
    )?;
    writeln!(out, "matches            {}", report.matches)?;
    writeln!(
        out,
        "alerts             {} new, {} updated, {} unchanged",
        report.alerts_new, report.alerts_updated, report.alerts_unchanged
    )?;
    if report.webhooks_delivered + report.webhooks_failed > 0 {
        writeln!(
            out,
            "webhooks           {} delivered, {} failed (palisade alerts dead-letters)",
            report.webhooks_delivered, report.webhooks_failed
        )?;
    }
    for reported in &report.alerts {
        let alert = &reported.alert;
        writeln!(
            out,
            "  {:>5} {:<9} {:<8} {:<40} {} ({} event(s), {} .. {})",
            reported
                .id
                .map(|id| id.to_string())
                .unwrap_or_else(|| "-".into()),
            reported.change,
            alert.severity.as_str(),
            alert.rule,
            alert.entity,
            alert.count,
            alert.first_time.format("%Y-%m-%d %H:%M:%S"),
            alert.last_time.format("%Y-%m-%d %H:%M:%S"),
        )?;
    }
    Ok(())
}

fn list_rules(args: DetectRulesArgs) -> Result<Outcome> {
    let rules = load_rules(&args.rules, args.no_builtin, args.mapping.as_deref())?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format {
        DataFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "rules": rules.rules(), "not_loaded": rules.problems() }),
            )?;
            writeln!(out)?;
        }
        DataFormat::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::NOTHING);
            table.set_header(["RULE", "KIND", "SOURCE", "SEVERITY", "ALERTS", "TITLE"]);
            for rule in rules.rules() {
                table.add_row([
                    rule.key.as_str(),
                    match rule.kind {
                        RuleKind::Sigma => "sigma",
                        RuleKind::Correlation => "correlation",
                        RuleKind::Sql => "sql",
                    },
                    rule.source.as_deref().unwrap_or("-"),
                    rule.severity.as_str(),
                    if rule.alerts { "yes" } else { "no" },
                    rule.title.as_str(),
                ]);
            }
            writeln!(out, "{table}")?;
            writeln!(out, "\n{} rule(s) loaded", rules.rules().len())?;
            if !rules.problems().is_empty() {
                writeln!(out, "\n{} rule(s) not loaded:", rules.problems().len())?;
                for problem in rules.problems() {
                    writeln!(out, "  {problem}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}
