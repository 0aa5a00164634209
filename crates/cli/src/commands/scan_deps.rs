//! `palisade scan deps` and `palisade sbom`: inventory lockfiles (or read an
//! SBOM), match the packages against the local advisory database, record
//! and report the findings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use palisade_core::{FindingDetails, ScanOutput};
use palisade_deps::image::{inventory_image, looks_like_image, ImageLimits};
use palisade_deps::matching::{self, AdvisoryIndex, Exploitation, Judged};
use palisade_deps::osv::normalize_name;
use palisade_deps::sbom::{self, SpecVersion};
use palisade_deps::{inventory_path, lockfile, Package, WalkOptions};

use super::scan::{finish_scan_failing_also, scope_of, ScanResult};
use super::{block_on, open_store};
use crate::args::{
    CycloneDxVersion, ExploitationArgs, GlobalArgs, SbomArgs, ScanCommonArgs, ScanDepsArgs,
    ScanImageArgs,
};
use crate::config::Config;
use crate::Outcome;

/// A database whose newest record is older than this is reported as stale.
pub const STALE_AFTER_DAYS: i64 = 7;

pub fn run(global: &GlobalArgs, args: ScanDepsArgs) -> Result<Outcome> {
    let root = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let config = Config::load(global.config.as_deref(), &root)?;
    let started_at = Utc::now();
    let options = WalkOptions {
        max_file_size: args
            .common
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(lockfile::DEFAULT_MAX_LOCKFILE_SIZE),
        skip_paths: config
            .skip_paths
            .iter()
            .chain(&args.common.skip_paths)
            .cloned()
            .collect(),
    };
    let (inventory, scope) = if args.sbom.is_empty() {
        (inventory_of(&args.paths, &options)?, scope_of(&args.paths))
    } else {
        (
            sbom_inventory(&args.sbom, options.max_file_size)?,
            format!("sbom:{}", scope_of(&args.sbom)),
        )
    };
    tracing::info!(
        files = inventory.files.len(),
        packages = inventory.packages.len(),
        "inventory read"
    );

    match_and_finish(
        global,
        &config,
        inventory,
        scope,
        started_at,
        &args.exploitation,
        &args.common,
    )
}

/// `palisade scan image IMAGE`.
pub fn run_image(global: &GlobalArgs, args: ScanImageArgs) -> Result<Outcome> {
    let config = Config::load(global.config.as_deref(), Path::new("."))?;
    let started_at = Utc::now();
    let mut limits = ImageLimits::default();
    if let Some(max) = args.common.max_file_size.or(config.max_file_size) {
        limits.max_file_bytes = max;
    }
    let image = inventory_image(&args.image, &limits)?;
    tracing::info!(
        image = image.name.as_deref().unwrap_or("-"),
        os = image.os.as_ref().map_or("-", |o| o.pretty_name.as_str()),
        layers = image.layers,
        packages = image.packages.len(),
        "image read"
    );
    // Findings of one image name share a lifecycle whatever file it was saved to.
    let scope = match &image.name {
        Some(name) => format!("image:{name}"),
        None => format!("image:{}", scope_of(std::slice::from_ref(&args.image))),
    };
    // Warnings (parts knowingly not scanned) are listed with the errors but
    // leave the run complete: what was scanned resolves normally.
    let mut errors = image.errors;
    errors.extend(image.warnings);
    let inventory = lockfile::Inventory {
        packages: image.packages,
        errors,
        files: image.files,
    };
    match_and_finish(
        global,
        &config,
        inventory,
        scope,
        started_at,
        &args.exploitation,
        &args.common,
    )
}

fn match_and_finish(
    global: &GlobalArgs,
    config: &Config,
    inventory: lockfile::Inventory,
    scope: String,
    started_at: chrono::DateTime<Utc>,
    exploitation_args: &ExploitationArgs,
    common: &ScanCommonArgs,
) -> Result<Outcome> {
    let (index, judged, exploitation) = block_on(load_advisories(global, &inventory.packages))??;
    let matched = matching::findings(&inventory.packages, judged, &index, &exploitation);
    if !matched.git_ranges_ignored.is_empty() {
        tracing::info!(
            advisories = matched.git_ranges_ignored.len(),
            "GIT ranges cannot be judged against package versions and were ignored"
        );
    }
    let mut findings = matched.findings;
    let disabled: Vec<&String> = config
        .disabled_rules
        .iter()
        .chain(&common.disabled_rules)
        .collect();
    findings.retain(|f| !disabled.iter().any(|d| rule_matches(d, &f.rule_id)));
    for finding in &mut findings {
        if let Some(severity) = config.severity_overrides.get(&finding.rule_id) {
            finding.severity = *severity;
        }
    }
    let output = ScanOutput {
        findings,
        errors: inventory.errors,
        inputs_scanned: inventory.files.len(),
    };
    let fail_on_kev = exploitation_args.fail_on_kev;
    let fail_on_epss = exploitation_args.fail_on_epss;
    let fails = move |finding: &palisade_core::Finding| match &finding.details {
        Some(FindingDetails::Vulnerability(details)) => {
            (fail_on_kev && details.known_exploited)
                || fail_on_epss.is_some_and(|t| details.epss.is_some_and(|p| p >= t))
        }
        _ => false,
    };
    finish_scan_failing_also(
        global,
        ScanResult {
            engine: "deps",
            scope,
            started_at,
            output,
            rules: matching::builtin_rules(),
            sla: config.sla,
            partial: false,
        },
        &common.output,
        common.fail_on,
        common.no_store,
        &fails,
    )
}

fn rule_matches(pattern: &str, rule: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => rule.starts_with(prefix),
        None => pattern == rule,
    }
}

fn inventory_of(paths: &[PathBuf], options: &WalkOptions) -> Result<lockfile::Inventory> {
    let mut all = lockfile::Inventory::default();
    for path in paths {
        let inventory = inventory_path(path, options)?;
        let prefix = if paths.len() > 1 && path.is_dir() {
            Some(path.display().to_string())
        } else {
            None
        };
        all.files.extend(inventory.files);
        all.errors.extend(inventory.errors);
        all.packages
            .extend(inventory.packages.into_iter().map(|mut package| {
                if let Some(prefix) = &prefix {
                    package.source = format!("{}/{}", prefix.trim_end_matches('/'), package.source);
                }
                package
            }));
    }
    Ok(all)
}

fn sbom_inventory(files: &[PathBuf], max_size: u64) -> Result<lockfile::Inventory> {
    let mut inventory = lockfile::Inventory::default();
    for file in files {
        let shown = file.display().to_string();
        let metadata = std::fs::metadata(file).with_context(|| format!("cannot read {shown}"))?;
        if metadata.len() > max_size {
            bail!("{shown}: larger than the {max_size}-byte limit");
        }
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {shown}"))?;
        inventory.files.push(shown.clone());
        match sbom::read(&shown, &text) {
            Ok(packages) => inventory.packages.extend(packages),
            Err(error) => inventory.errors.push(lockfile::scan_error(&shown, error)),
        }
    }
    Ok(inventory)
}

/// The advisories naming any of `packages` (judged from the store's compact
/// forms, full records read for the matches only), and exploitation data
/// for their CVEs.
async fn load_advisories(
    global: &GlobalArgs,
    packages: &[Package],
) -> Result<(AdvisoryIndex, Judged, Exploitation)> {
    let store = open_store(global).await?;
    let started = std::time::Instant::now();
    let (any, newest_record) = store.advisory_freshness().await?;
    if !any {
        store.close().await;
        bail!(
            "the advisory database is empty: import an OSV export first \
             (`palisade vulndb import all.zip`, see docs/deps.md)"
        );
    }
    warn_if_stale(newest_record.as_deref());
    let keys: BTreeSet<(String, String)> = packages
        .iter()
        .map(|p| {
            let ecosystem = p.ecosystem.osv_name();
            let name = normalize_name(&ecosystem, p.advisory_name());
            (ecosystem, name)
        })
        .collect();
    let keys: Vec<(String, String)> = keys.into_iter().collect();
    let candidates = store.advisory_candidates(&keys).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        candidates = candidates.len(),
        "advisory candidates fetched"
    );
    let mut index = AdvisoryIndex::default();
    let mut legacy = Vec::new();
    for candidate in candidates {
        match candidate.compact {
            Some(compact) => index.insert_compact(
                candidate.ecosystem,
                candidate.name,
                &candidate.record_id,
                compact,
            ),
            None => legacy.push(candidate.record_id),
        }
    }
    let mut unreadable = 0;
    if !legacy.is_empty() {
        // Rows imported before compact forms were kept: judged from the JSON.
        tracing::warn!(
            records = legacy.len(),
            "advisories imported by an older palisade are judged from their JSON (slower): \
             run `palisade vulndb import` again"
        );
        legacy.sort();
        legacy.dedup();
        for json in store.advisory_records(&legacy).await? {
            match serde_json::from_str::<palisade_deps::osv::Record>(&json) {
                Ok(record) => index.insert(record),
                Err(_) => unreadable += 1,
            }
        }
    }
    let judged = index.judge(packages);
    let matched = store.advisory_records(&judged.record_ids()).await?;
    unreadable += index.add_records_json(&matched);
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        records = matched.len(),
        "advisories judged, matching records read"
    );
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "unreadable advisories in the database were skipped"
        );
    }
    let cves = index.cve_ids();
    let (known_exploited, epss) = store.exploitation_of(&cves).await?;
    store.close().await;
    tracing::info!(candidates = index.candidates(), "advisories loaded");
    Ok((
        index,
        judged,
        Exploitation {
            known_exploited,
            epss,
        },
    ))
}

fn warn_if_stale(newest_record: Option<&str>) {
    let newest = newest_record
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    if let Some(newest) = newest {
        let age = Utc::now() - newest;
        if age.num_days() > STALE_AFTER_DAYS {
            tracing::warn!(
                newest_record = %newest.date_naive(),
                days = age.num_days(),
                "the advisory database is more than {STALE_AFTER_DAYS} days old: import a fresh OSV export"
            );
        }
    }
}

/// `palisade sbom PATH`.
pub fn sbom(global: &GlobalArgs, args: SbomArgs) -> Result<Outcome> {
    let config = Config::load(global.config.as_deref(), &args.path)?;
    let options = WalkOptions {
        max_file_size: config
            .max_file_size
            .unwrap_or(lockfile::DEFAULT_MAX_LOCKFILE_SIZE),
        skip_paths: config
            .skip_paths
            .iter()
            .chain(&args.skip_paths)
            .cloned()
            .collect(),
    };
    let (inventory, subject) = if looks_like_image(&args.path) {
        let image = inventory_image(&args.path, &ImageLimits::default())?;
        let subject = image
            .name
            .clone()
            .unwrap_or_else(|| subject_name(&args.path));
        let mut errors = image.errors;
        errors.extend(image.warnings);
        (
            lockfile::Inventory {
                packages: image.packages,
                errors,
                files: image.files,
            },
            subject,
        )
    } else {
        (
            inventory_path(&args.path, &options)?,
            subject_name(&args.path),
        )
    };
    for error in &inventory.errors {
        tracing::warn!("{error}");
    }
    let spec = match args.spec_version {
        CycloneDxVersion::V1_5 => SpecVersion::V1_5,
        CycloneDxVersion::V1_6 => SpecVersion::V1_6,
    };
    let text = sbom::write(
        &inventory.packages,
        &subject,
        spec,
        env!("CARGO_PKG_VERSION"),
        Utc::now(),
        &random_uuid()?,
    )?;
    match &args.output {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.write_all(b"\n")?;
        }
    }
    tracing::info!(
        packages = inventory.packages.len(),
        files = inventory.files.len(),
        "sbom written"
    );
    Ok(Outcome::Clean)
}

fn subject_name(path: &Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string())
}

/// A random (version 4) UUID for the SBOM's serial number.
fn random_uuid() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}
