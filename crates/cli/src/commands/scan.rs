//! `palisade scan ...`: run an engine, record the run, present the findings.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use palisade_core::{Rule, ScanOutput, Severity};
use palisade_iac::engine::{self, Progress, ScanOptions, DEFAULT_MAX_FILE_SIZE};
use palisade_report::{Report, ReportItem};
use palisade_store::{FindingFilter, NewRun, SlaPolicy, Status};

use super::upload::UploadArgs;
use super::{block_on, open_store};
use crate::args::{GlobalArgs, OutputArgs, ScanCommand, ScanIacArgs};
use crate::config::Config;
use crate::output::write_report;
use crate::Outcome;

/// This process's `--upload` target, set once by [`run`] for [`finish`].
static UPLOAD: std::sync::OnceLock<UploadArgs> = std::sync::OnceLock::new();

pub fn run(global: &GlobalArgs, command: ScanCommand) -> Result<Outcome> {
    let upload = match &command {
        ScanCommand::Iac(args) => &args.common.upload,
        ScanCommand::Secrets(args) => &args.common.upload,
        ScanCommand::Aws(args) => &args.common.upload,
        ScanCommand::Deps(args) => &args.common.upload,
        ScanCommand::Image(args) => &args.common.upload,
    };
    if upload.upload.is_some() {
        let _ = UPLOAD.set(upload.clone());
    }
    match command {
        ScanCommand::Iac(args) => scan_iac(global, args),
        ScanCommand::Secrets(args) => super::scan_secrets::run(global, args),
        ScanCommand::Aws(args) => super::scan_aws::run(global, args),
        ScanCommand::Deps(args) => super::scan_deps::run(global, args),
        ScanCommand::Image(args) => super::scan_deps::run_image(global, args),
    }
}

fn scan_iac(global: &GlobalArgs, args: ScanIacArgs) -> Result<Outcome> {
    let config = Config::load(global.config.as_deref(), &args.paths[0])?;
    let options = iac_options(&config, &args);
    let started_at = Utc::now();

    let progress = ScanProgress::new(global.quiet);
    let engine::IacScan { output, rules } =
        engine::scan_paths_with_progress(&args.paths, &options, &progress)?;
    progress.finish();

    let scope = scope_of(&args.paths);
    finish_scan(
        global,
        ScanResult {
            engine: "iac",
            scope,
            started_at,
            output,
            rules,
            sla: config.sla,
            partial: false,
        },
        &args.common.output,
        args.common.fail_on,
        args.common.no_store,
    )
}

fn iac_options(config: &Config, args: &ScanIacArgs) -> ScanOptions {
    let mut policy_dirs = config.resolved_policy_dirs();
    policy_dirs.extend(args.policy_dirs.iter().cloned());
    ScanOptions {
        skip_paths: config
            .skip_paths
            .iter()
            .chain(&args.common.skip_paths)
            .cloned()
            .collect(),
        disabled_rules: config
            .disabled_rules
            .iter()
            .chain(&args.common.disabled_rules)
            .cloned()
            .collect(),
        severity_overrides: config.severity_overrides.clone(),
        policy_dirs,
        today: Utc::now().date_naive(),
        max_file_size: args
            .common
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(DEFAULT_MAX_FILE_SIZE),
    }
}

/// The canonical scanned paths: the same target gives the same scope from
/// any working directory, so resolution compares like with like.
pub fn scope_of(paths: &[PathBuf]) -> String {
    let mut canonical: Vec<String> = paths
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    canonical.sort();
    canonical.dedup();
    canonical.join(" ")
}

/// What any engine hands over for recording and presentation.
pub struct ScanResult {
    pub engine: &'static str,
    pub scope: String,
    pub started_at: chrono::DateTime<Utc>,
    pub output: ScanOutput,
    pub rules: Vec<Rule>,
    pub sla: SlaPolicy,
    /// The run covered only part of its scope on purpose (an incremental
    /// history scan): it must not resolve what it did not look at.
    pub partial: bool,
}

/// Records the run (unless `--no-store`), renders the report and decides the exit code.
pub fn finish_scan(
    global: &GlobalArgs,
    result: ScanResult,
    output_args: &OutputArgs,
    fail_on: Option<Severity>,
    no_store: bool,
) -> Result<Outcome> {
    finish_scan_failing_also(global, result, output_args, fail_on, no_store, &|_| false)
}

/// [`finish_scan`], where an unsuppressed finding for which `fails` holds
/// also fails the run (KEV membership, EPSS thresholds ...).
pub fn finish_scan_failing_also(
    global: &GlobalArgs,
    result: ScanResult,
    output_args: &OutputArgs,
    fail_on: Option<Severity>,
    no_store: bool,
    fails: &dyn Fn(&palisade_core::Finding) -> bool,
) -> Result<Outcome> {
    finish(global, result, None, output_args, fail_on, no_store, fails)
}

/// [`finish_scan`] for an engine that knows which rules could not run
/// (AWS: the checks reading a service whose calls failed): the run resolves
/// the unseen findings of every other rule, whatever its errors.
pub fn finish_scan_except(
    global: &GlobalArgs,
    result: ScanResult,
    unchecked_rules: &[String],
    output_args: &OutputArgs,
    fail_on: Option<Severity>,
    no_store: bool,
) -> Result<Outcome> {
    finish(
        global,
        result,
        Some(unchecked_rules),
        output_args,
        fail_on,
        no_store,
        &|_| false,
    )
}

fn finish(
    global: &GlobalArgs,
    result: ScanResult,
    unchecked_rules: Option<&[String]>,
    output_args: &OutputArgs,
    fail_on: Option<Severity>,
    no_store: bool,
    fails: &dyn Fn(&palisade_core::Finding) -> bool,
) -> Result<Outcome> {
    let output = &result.output;
    for error in &output.errors {
        tracing::warn!("{error}");
    }
    tracing::info!(
        inputs = output.inputs_scanned,
        findings = output.findings.len(),
        errors = output.errors.len(),
        "scan finished"
    );
    let now = Utc::now();
    let lifecycle = if no_store {
        HashMap::new()
    } else {
        record(global, &result, unchecked_rules, now)?
    };
    if let Some(target) = UPLOAD.get() {
        super::upload::upload(target, &result, unchecked_rules, run_is_complete(&result))?;
    }
    let items: Vec<ReportItem> = result
        .output
        .findings
        .into_iter()
        .map(|finding| {
            let stored = lifecycle.get(finding.fingerprint.as_str());
            let mut item = ReportItem::from(finding);
            if let Some(stored) = stored {
                item.status = Some(stored.status.to_string());
                item.first_seen = Some(stored.first_seen);
                item.last_seen = Some(stored.last_seen);
                item.sla_due_at = stored.sla_due_at;
            }
            item
        })
        .collect();
    let report = Report {
        tool_name: "palisade".to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: now,
        items,
        errors: result.output.errors,
        rules: result.rules,
    };
    let rendering = std::time::Instant::now();
    write_report(&report, output_args.format, output_args.output.as_deref())?;
    tracing::debug!(
        elapsed_ms = rendering.elapsed().as_millis() as u64,
        "report written"
    );

    let day = now.date_naive();
    let failing = report
        .items
        .iter()
        .filter(|item| {
            let at_threshold = fail_on.is_some_and(|threshold| item.finding.severity >= threshold);
            (at_threshold || fails(&item.finding)) && !item.is_suppressed_on(day)
        })
        .count();
    if failing > 0 {
        tracing::info!(failing, "findings at or above the --fail-on threshold");
        Ok(Outcome::FindingsAtThreshold)
    } else {
        Ok(Outcome::Clean)
    }
}

/// Whether a run covered its whole scope. A file that failed to parse hides
/// its findings; resolving them would close problems that are still there,
/// so such a run is recorded as incomplete. Parts knowingly not supported
/// (warnings) hide nothing that was ever found.
fn run_is_complete(result: &ScanResult) -> bool {
    result
        .output
        .errors
        .iter()
        .all(palisade_core::ScanError::is_unsupported)
        && !result.partial
}

/// Records the run and returns the lifecycle of this scope's findings by fingerprint.
fn record(
    global: &GlobalArgs,
    result: &ScanResult,
    unchecked_rules: Option<&[String]>,
    now: chrono::DateTime<Utc>,
) -> Result<HashMap<String, palisade_store::StoredFinding>> {
    let complete = run_is_complete(result);
    block_on(async {
        let store = open_store(global).await?;
        let run = NewRun {
            engine: result.engine.to_string(),
            scope: result.scope.clone(),
            started_at: result.started_at,
        };
        // SLA days saved on the console's settings page win over `[sla]`.
        let sla = store
            .sla_policy_setting()
            .await
            .context("cannot read the SLA setting")?
            .unwrap_or(result.sla);
        let summary = match unchecked_rules {
            Some(rules) if !result.partial => {
                store
                    .record_scan_except(run, &result.output, rules, &sla, now)
                    .await
            }
            _ => {
                store
                    .record_scan(run, &result.output, complete, &sla, now)
                    .await
            }
        }
        .context("cannot record the scan")?;
        let complete = summary.complete;
        tracing::info!(
            run = summary.id,
            new = summary.counts.new,
            reopened = summary.counts.reopened,
            resolved = summary.counts.resolved,
            complete,
            "run recorded"
        );
        let stored = store
            .list_findings(
                &FindingFilter {
                    engine: Some(result.engine.to_string()),
                    scope: Some(result.scope.clone()),
                    ..FindingFilter::default()
                },
                now,
            )
            .await?;
        store.close().await;
        Ok::<_, anyhow::Error>(
            stored
                .into_iter()
                .filter(|s| s.status != Status::Resolved)
                .map(|s| (s.fingerprint().to_string(), s))
                .collect(),
        )
    })?
}

/// A progress bar on stderr, only when stderr is a terminal.
struct ScanProgress {
    bar: Option<ProgressBar>,
}

impl ScanProgress {
    fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} scanning {pos}/{len} inputs {wide_bar} {elapsed}",
        ) {
            bar.set_style(style);
        }
        Self { bar: Some(bar) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ScanProgress {
    fn found(&self, inputs: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(inputs as u64);
        }
    }

    fn parsed(&self, inputs: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(inputs as u64);
        }
    }
}
