//! The scan: walk the paths, parse every input once (in parallel), evaluate
//! all checks per resource in one pass, apply inline suppressions.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{Glob, GlobSet, GlobSetBuilder};
use palisade_core::{Finding, Location, Resource, Rule, ScanError, ScanOutput, Severity};
use rayon::prelude::*;

use crate::checks::{all_checks, Check, CheckKind, Context, Violation};
use crate::detect::{self, InputKind};
use crate::model::{Framework, IacResource, ParsedSet};
use crate::rego::{PolicySet, RegoError};
use crate::suppress::{self, SuppressionComment};
use crate::{cloudformation, kubernetes, terraform};

/// Files above this size are reported, not parsed: real IaC files are far smaller,
/// and a multi-megabyte "manifest" is generated output or an attack.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// How a scan is configured (from `.palisade.toml` and flags).
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Glob patterns of paths to skip, matched against the path relative to the scanned root.
    pub skip_paths: Vec<String>,
    pub disabled_rules: HashSet<String>,
    pub severity_overrides: HashMap<String, Severity>,
    /// Directories of custom Rego policies.
    pub policy_dirs: Vec<PathBuf>,
    /// The day inline suppression expiries are judged against.
    pub today: NaiveDate,
    pub max_file_size: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            skip_paths: Vec::new(),
            disabled_rules: HashSet::new(),
            severity_overrides: HashMap::new(),
            policy_dirs: Vec::new(),
            today: chrono::Utc::now().date_naive(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IacError {
    #[error("{path}: no such file or directory")]
    MissingPath { path: String },
    #[error("invalid skip pattern `{pattern}`: {message}")]
    SkipPattern { pattern: String, message: String },
    #[error(transparent)]
    Policy(#[from] RegoError),
}

/// Every built-in rule's metadata, in registry order.
pub fn builtin_rules() -> Vec<Rule> {
    all_checks().map(|c| c.rule.to_rule()).collect()
}

/// The rules a scan with these options can report: enabled built-ins with
/// severity overrides applied, plus custom policies.
pub fn rules_for(options: &ScanOptions) -> Result<Vec<Rule>, IacError> {
    Ok(active_rules(
        options,
        &PolicySet::load(&options.policy_dirs)?,
    ))
}

fn active_rules(options: &ScanOptions, policies: &PolicySet) -> Vec<Rule> {
    all_checks()
        .map(|c| c.rule.to_rule())
        .chain(policies.rules().cloned())
        .filter(|rule| !options.disabled_rules.contains(&rule.id))
        .map(|mut rule| {
            if let Some(severity) = options.severity_overrides.get(&rule.id) {
                rule.severity = *severity;
            }
            rule
        })
        .collect()
}

/// What a scan found, with the metadata of every rule it ran (for reports).
pub struct IacScan {
    pub output: ScanOutput,
    pub rules: Vec<Rule>,
}

/// Progress callbacks: called with the number of inputs found, then once per input parsed.
pub trait Progress: Sync {
    fn found(&self, _inputs: usize) {}
    fn parsed(&self, _inputs: usize) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// Scans files and directories for misconfigurations.
pub fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> Result<ScanOutput, IacError> {
    scan_paths_with_progress(paths, options, &Silent).map(|scan| scan.output)
}

pub fn scan_paths_with_progress(
    paths: &[PathBuf],
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<IacScan, IacError> {
    let skip = build_skip_set(&options.skip_paths)?;
    let policies = PolicySet::load(&options.policy_dirs)?;
    let rules = active_rules(options, &policies);

    let mut phase = Phase::start();
    let mut inputs = Inputs::default();
    for path in paths {
        if !path.exists() {
            return Err(IacError::MissingPath {
                path: path.display().to_string(),
            });
        }
        collect_inputs(path, &skip, &mut inputs);
    }
    progress.found(inputs.files.len() + inputs.terraform_dirs.len());
    phase.done("walk");

    let mut parsed = Units {
        errors: std::mem::take(&mut inputs.errors),
        ..Units::default()
    };
    // YAML/JSON files and Terraform modules are parsed at the same time, so
    // neither one's slowest input leaves a core idle.
    let (file_results, module_sets) = rayon::join(
        || {
            inputs
                .files
                .par_iter()
                .map(|file| {
                    let result = parse_file(file, options.max_file_size);
                    progress.parsed(1);
                    result
                })
                .collect::<Vec<ParsedSet>>()
        },
        || {
            inputs
                .terraform_dirs
                .iter()
                .flat_map(|(root, dirs)| {
                    let dirs: Vec<PathBuf> = dirs.iter().cloned().collect();
                    let sets = terraform::scan_dirs_by_root(root, &dirs);
                    progress.parsed(dirs.len());
                    sets.into_iter().map(move |set| (root, set))
                })
                .collect::<Vec<_>>()
        },
    );
    // Kubernetes objects refer to each other across files (a namespace's
    // NetworkPolicy, a workload's ServiceAccount): all manifests are one unit.
    let mut manifests = ParsedSet::default();
    for result in file_results {
        if result
            .resources
            .first()
            .is_some_and(|r| r.framework == Framework::Kubernetes)
        {
            manifests.extend(result);
        } else {
            parsed.push(result);
        }
    }
    parsed.push(manifests);
    for (root, mut module_set) in module_sets {
        // Terraform reports paths relative to the module root; show them like every other file.
        let shown = |relative: &str| display_path(&root.join(relative));
        for resource in &mut module_set.resources {
            resource.file = shown(&resource.file);
        }
        for error in &mut module_set.errors {
            error.path = shown(&error.path);
        }
        parsed.push(module_set);
    }

    phase.done("parse");
    let inputs_scanned = inputs.files.len() + inputs.terraform_files;
    let mut findings = evaluate(&parsed, &rules, options, &policies);
    let mut errors = std::mem::take(&mut parsed.errors);
    phase.done("check");
    apply_inline_suppressions(
        &mut findings,
        &parsed.resources,
        &inputs.display_to_disk,
        options.today,
        &mut errors,
    );
    findings.sort_by(|(_, a), (_, b)| {
        (
            &a.resource.file,
            a.location.as_ref().map(|l| l.start_line),
            &a.rule_id,
        )
            .cmp(&(
                &b.resource.file,
                b.location.as_ref().map(|l| l.start_line),
                &b.rule_id,
            ))
    });
    errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    phase.done("suppress and sort");
    Ok(IacScan {
        output: ScanOutput {
            findings: findings.into_iter().map(|(_, f)| f).collect(),
            errors,
            inputs_scanned,
        },
        rules,
    })
}

fn build_skip_set(patterns: &[String]) -> Result<GlobSet, IacError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let trimmed = pattern.trim_end_matches('/');
        for variant in [trimmed.to_string(), format!("{trimmed}/**")] {
            let glob = Glob::new(&variant).map_err(|e| IacError::SkipPattern {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            builder.add(glob);
        }
    }
    builder.build().map_err(|e| IacError::SkipPattern {
        pattern: patterns.join(", "),
        message: e.to_string(),
    })
}

/// Logs how long each phase of a scan took, at debug level (`-vv`).
struct Phase(std::time::Instant);

impl Phase {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn done(&mut self, name: &str) {
        tracing::debug!(
            phase = name,
            elapsed_ms = self.0.elapsed().as_millis() as u64,
            "scan phase done"
        );
        self.0 = std::time::Instant::now();
    }
}

/// Resources grouped in units of evaluation: one Terraform root module with
/// its child modules, one template or plan, or all Kubernetes manifests.
/// References resolve within a unit, so checks that look for companion
/// resources (a bucket's versioning, a VPC's flow log) look only there: two
/// root modules that both declare `aws_s3_bucket.logs` are two buckets.
#[derive(Default)]
struct Units {
    resources: Vec<IacResource>,
    /// Ranges of `resources`, one per unit.
    ranges: Vec<std::ops::Range<usize>>,
    errors: Vec<ScanError>,
}

impl Units {
    fn push(&mut self, set: ParsedSet) {
        let start = self.resources.len();
        self.resources.extend(set.resources);
        if self.resources.len() > start {
            self.ranges.push(start..self.resources.len());
        }
        self.errors.extend(set.errors);
    }
}

/// A file to parse, with the path findings show (as the user named it).
struct InputFile {
    disk: PathBuf,
    display: String,
    kind: Option<InputKind>,
}

#[derive(Default)]
struct Inputs {
    files: Vec<InputFile>,
    /// Terraform module directories, grouped by the root their paths are shown relative to.
    terraform_dirs: Vec<(PathBuf, BTreeSet<PathBuf>)>,
    terraform_files: usize,
    display_to_disk: HashMap<String, PathBuf>,
    errors: Vec<ScanError>,
}

/// Shows `path` as the user would expect: relative to where they pointed us,
/// prefixed by what they typed, forward slashes, no `./`, `dir/../` folded.
fn display_path(path: &Path) -> String {
    use std::path::Component;
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for component in path.components() {
        match component {
            Component::RootDir => absolute = true,
            Component::Prefix(prefix) => {
                parts.push(prefix.as_os_str().to_string_lossy().into_owned())
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..".to_string());
                }
            }
            Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn collect_inputs(path: &Path, skip: &GlobSet, inputs: &mut Inputs) {
    // Terraform modules are shown relative to the parent of what was named,
    // so `scan iac infra/` reports `infra/main.tf`.
    let tf_root = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let mut tf_dirs = BTreeSet::new();
    let walker = ignore::WalkBuilder::new(path)
        .hidden(true)
        .follow_links(true)
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && matches!(name.as_ref(), ".terraform" | "node_modules" | ".git"))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                inputs.errors.push(walk_error(path, &error));
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let disk = entry.path().to_path_buf();
        let relative = disk.strip_prefix(path).unwrap_or(&disk);
        if !skip.is_empty() && (skip.is_match(relative) || skip.is_match(&disk)) {
            continue;
        }
        let Some(kind) = detect::by_extension(&disk) else {
            continue;
        };
        let display = display_path(&disk);
        inputs.display_to_disk.insert(display.clone(), disk.clone());
        if kind == Some(InputKind::TerraformModuleFile) {
            inputs.terraform_files += 1;
            if let Some(dir) = disk.parent() {
                tf_dirs.insert(dir.to_path_buf());
            }
        } else {
            inputs.files.push(InputFile {
                disk,
                display,
                kind,
            });
        }
    }
    if !tf_dirs.is_empty() {
        inputs.terraform_dirs.push((tf_root, tf_dirs));
    }
    // Directory order differs between file systems; findings and set checks
    // ("the first workload of a namespace") must not.
    inputs.files.sort_by(|a, b| a.display.cmp(&b.display));
}

fn walk_error(root: &Path, error: &ignore::Error) -> ScanError {
    let message = error.to_string();
    let path = match error {
        ignore::Error::WithPath { path, .. } => display_path(path),
        ignore::Error::Loop { child, .. } => display_path(child),
        _ => display_path(root),
    };
    ScanError {
        path,
        line: None,
        message: if matches!(error, ignore::Error::Loop { .. }) {
            format!("symlink loop: {message}")
        } else {
            message
        },
    }
}

/// Reads and parses one YAML/JSON file; every failure becomes a `ScanError`.
fn parse_file(file: &InputFile, max_size: u64) -> ParsedSet {
    let display = file.display.as_str();
    match std::fs::metadata(&file.disk) {
        Ok(meta) if meta.len() > max_size => {
            return ParsedSet::error(
                display,
                None,
                format!(
                    "file is too large to scan ({} bytes, limit {max_size}); raise --max-file-size or skip it",
                    meta.len()
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return ParsedSet::error(display, None, format!("cannot read: {e}")),
    }
    let bytes = match std::fs::read(&file.disk) {
        Ok(bytes) => bytes,
        Err(e) => return ParsedSet::error(display, None, format!("cannot read: {e}")),
    };
    if detect::is_binary(&bytes) {
        return ParsedSet::error(display, None, "binary content, not a text IaC file");
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = line_of_offset(e.as_bytes(), e.utf8_error().valid_up_to());
            return ParsedSet::error(display, Some(line), "invalid UTF-8");
        }
    };
    let kind = file.kind.or_else(|| detect::by_content(&file.disk, &text));
    match kind {
        Some(InputKind::TerraformPlan) => terraform::parse_plan(display, &text),
        Some(InputKind::CloudFormation) => cloudformation::parse(display, &text),
        Some(InputKind::Kubernetes) => kubernetes::parse(display, &text),
        Some(InputKind::TerraformModuleFile) | None => ParsedSet::default(),
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> u32 {
    let newlines = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// Runs every enabled check on every resource: per-resource checks are
/// dispatched by kind, so each resource is visited once; set checks run once
/// per unit, and every check sees only the resources of its unit.
/// Returns `(resource index, finding)` pairs.
fn evaluate(
    units: &Units,
    rules: &[Rule],
    options: &ScanOptions,
    policies: &PolicySet,
) -> Vec<(usize, Finding)> {
    let resources = units.resources.as_slice();
    let enabled: Vec<&'static Check> = all_checks()
        .filter(|c| !options.disabled_rules.contains(c.rule.id))
        .collect();
    let rules: HashMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut by_kind: HashMap<&str, Vec<&Check>> = HashMap::new();
    let mut set_checks = Vec::new();
    for check in &enabled {
        match &check.kind {
            CheckKind::PerResource { kinds, .. } => {
                for kind in *kinds {
                    by_kind.entry(kind).or_default().push(check);
                }
            }
            CheckKind::Set(run) => set_checks.push((check, *run)),
        }
    }
    let to_finding = |index: usize, rule_id: &str, violation: Violation| {
        let rule = rules.get(rule_id)?;
        Some((index, finding_for(rule, &resources[index], violation)))
    };
    let to_finding = &to_finding;
    let by_kind = &by_kind;
    let set_checks = &set_checks;

    let mut findings: Vec<(usize, Finding)> = units
        .ranges
        .par_iter()
        .flat_map_iter(|range| {
            let start = range.start;
            let context = Context::new(&resources[range.clone()]);
            let context = &context;
            let mut found: Vec<(usize, Finding)> = context
                .resources
                .par_iter()
                .enumerate()
                .flat_map_iter(|(local, resource)| {
                    let mut found = Vec::new();
                    for check in by_kind.get(resource.kind.as_str()).into_iter().flatten() {
                        let CheckKind::PerResource { run, .. } = check.kind else {
                            continue;
                        };
                        found.extend(
                            run(resource, context)
                                .into_iter()
                                .filter_map(|v| to_finding(start + local, check.rule.id, v)),
                        );
                    }
                    found
                })
                .collect();
            for (check, run) in set_checks {
                found.extend(
                    run(context)
                        .into_iter()
                        .filter(|(local, _)| *local < range.len())
                        .filter_map(|(local, v)| to_finding(start + local, check.rule.id, v)),
                );
            }
            found
        })
        .collect();
    findings.extend(
        policies
            .evaluate(resources)
            .into_iter()
            .filter_map(|p| to_finding(p.resource_index, &p.rule_id, p.violation)),
    );
    findings
}

fn finding_for(rule: &Rule, resource: &IacResource, violation: Violation) -> Finding {
    let identity = match violation.subject {
        Some((kind, id)) => Resource {
            kind,
            id,
            file: None,
            account: None,
            region: None,
        },
        None => Resource::in_file(&resource.kind, &resource.address, &resource.file),
    };
    let mut finding = Finding::new(rule, identity, violation.message).with_location(
        Location::lines(&resource.file, resource.start_line, resource.end_line),
    );
    if let Some(evidence) = violation.evidence {
        finding = finding.with_evidence(evidence);
    }
    if let Some(discriminator) = violation.discriminator {
        finding = finding.with_discriminator(&discriminator);
    }
    finding
}

/// Attaches active inline suppressions. Files are read again only when they
/// carry findings, and only scanned for the two comment markers.
fn apply_inline_suppressions(
    findings: &mut [(usize, Finding)],
    resources: &[IacResource],
    display_to_disk: &HashMap<String, PathBuf>,
    today: NaiveDate,
    errors: &mut Vec<ScanError>,
) {
    let checkov_ids: HashMap<&str, Vec<&str>> = all_checks()
        .map(|c| (c.rule.id, c.rule.checkov.to_vec()))
        .collect();
    let files: BTreeSet<&str> = findings
        .iter()
        .map(|(i, _)| resources[*i].file.as_str())
        .collect();
    let comments: HashMap<&str, Vec<SuppressionComment>> = files
        .into_par_iter()
        .map(|file| {
            let disk = display_to_disk
                .get(file)
                .cloned()
                .unwrap_or_else(|| PathBuf::from(file));
            let text = std::fs::read_to_string(disk).unwrap_or_default();
            let (comments, malformed) = suppress::parse_comments(&text);
            (file, comments, malformed)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(file, comments, malformed)| {
            errors.extend(malformed.into_iter().map(|m| ScanError {
                path: file.to_string(),
                line: Some(m.line),
                message: m.message,
            }));
            (file, comments)
        })
        .collect();
    for (index, finding) in findings.iter_mut() {
        let resource = &resources[*index];
        let file_comments = comments
            .get(resource.file.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let peers = checkov_ids
            .get(finding.rule_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        finding.suppression = suppress::find_for(file_comments, resource, &finding.rule_id, peers)
            .filter(|s| s.is_active_on(today));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_are_folded_and_forward_slashed() {
        assert_eq!(
            display_path(Path::new("./infra/./main.tf")),
            "infra/main.tf"
        );
        assert_eq!(
            display_path(Path::new("infra/../modules/x/main.tf")),
            "modules/x/main.tf"
        );
        assert_eq!(
            display_path(Path::new("../shared/main.tf")),
            "../shared/main.tf"
        );
        assert_eq!(display_path(Path::new("/tmp/a/../b.yaml")), "/tmp/b.yaml");
    }
}
