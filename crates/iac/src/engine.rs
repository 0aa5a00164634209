//! The scan: walk the paths, parse every input once (in parallel), evaluate
//! all checks per resource in one pass, apply inline suppressions. Inputs are
//! checked unit by unit as they are parsed, and only findings outlive a unit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{Glob, GlobSet, GlobSetBuilder};
use palisade_core::{Finding, Location, Resource, Rule, ScanError, ScanOutput, Severity};
use rayon::prelude::*;

use crate::checks::{all_checks, Check, CheckKind, Context, SetCheckFn, Violation};
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

    // Each unit is checked as soon as it is parsed and only its findings are
    // kept, so the scan never holds every parsed resource and every finding
    // at once. Terraform goes first and alone: its parsed modules are the
    // largest transient structure, and they are gone before the manifests,
    // the one unit that has to be held whole, pile up.
    let evaluator = Evaluator::new(&rules, options, &policies, &inputs.display_to_disk);
    let mut terraform_units = Vec::new();
    for (root, dirs) in &inputs.terraform_dirs {
        let dirs: Vec<PathBuf> = dirs.iter().cloned().collect();
        terraform_units.extend(terraform::scan_dirs_by_root_with(
            root,
            &dirs,
            |mut module_set| {
                // Terraform reports paths relative to the module root; show them like every other file.
                let shown = |relative: &str| display_path(&root.join(relative));
                for resource in &mut module_set.resources {
                    resource.file = shown(&resource.file);
                }
                for error in &mut module_set.errors {
                    error.path = shown(&error.path);
                }
                evaluator.unit(module_set)
            },
        ));
        progress.parsed(dirs.len());
    }
    phase.done("terraform parse and check");

    // A template or plan is a unit of its own, checked right away.
    // Kubernetes objects refer to each other across files (a namespace's
    // NetworkPolicy, a workload's ServiceAccount): all manifests are one unit.
    let file_results: Vec<Result<UnitFindings, ParsedSet>> = inputs
        .files
        .par_iter()
        .map(|file| {
            let set = parse_file(file, options.max_file_size);
            progress.parsed(1);
            if set
                .resources
                .first()
                .is_some_and(|r| r.framework == Framework::Kubernetes)
            {
                Err(set)
            } else {
                Ok(evaluator.unit(set))
            }
        })
        .collect();
    phase.done("templates parse and check, manifests parse");
    let mut units = Vec::with_capacity(file_results.len() + terraform_units.len() + 1);
    let mut manifests = ParsedSet::default();
    for result in file_results {
        match result {
            Ok(unit) => units.push(unit),
            Err(set) => manifests.extend(set),
        }
    }
    units.push(evaluator.unit(manifests));
    units.append(&mut terraform_units);
    phase.done("manifests check");

    let output = assemble(
        units,
        std::mem::take(&mut inputs.errors),
        inputs.files.len() + inputs.terraform_files,
    );
    phase.done("join and sort");
    Ok(IacScan { output, rules })
}

/// Joins the units' findings and errors in unit order, built-in findings
/// before custom policy findings, then sorts them for output.
fn assemble(
    units: Vec<UnitFindings>,
    walk_errors: Vec<ScanError>,
    inputs_scanned: usize,
) -> ScanOutput {
    let finding_count = units
        .iter()
        .map(|u| u.findings.iter().map(Vec::len).sum::<usize>() + u.policy_findings.len())
        .sum();
    let mut findings = Vec::with_capacity(finding_count);
    let mut policy_findings = Vec::new();
    let mut errors = walk_errors;
    // A file checked in several units (a child module under two roots) has
    // its unreadable suppression comments reported once.
    let mut malformed: BTreeMap<String, Vec<ScanError>> = BTreeMap::new();
    for unit in units {
        findings.extend(unit.findings.into_iter().flatten());
        policy_findings.push(unit.policy_findings);
        errors.extend(unit.errors);
        for (file, file_errors) in unit.malformed {
            malformed.entry(file).or_insert(file_errors);
        }
    }
    findings.extend(policy_findings.into_iter().flatten());
    errors.extend(malformed.into_values().flatten());
    sort_findings(&mut findings);
    errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    ScanOutput {
        findings,
        errors,
        inputs_scanned,
    }
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

/// Orders findings by file, line and rule, equal ones in their current order.
///
/// Sorts small keys and then moves each finding once, in place: a stable
/// sort of the findings themselves would copy half of them (tens of MB for
/// a large scan) into scratch memory and move every one many times.
fn sort_findings(findings: &mut [Finding]) {
    let mut keys: Vec<(Option<&str>, Option<u32>, &str, usize)> = findings
        .iter()
        .enumerate()
        .map(|(index, f)| {
            (
                f.resource.file.as_deref(),
                f.location.as_ref().map(|l| l.start_line),
                f.rule_id.as_str(),
                index,
            )
        })
        .collect();
    // The index makes every key distinct, so an unstable sort keeps equal findings in order.
    keys.sort_unstable();
    let mut order: Vec<usize> = keys.into_iter().map(|(.., index)| index).collect();
    // Position `i` takes the finding now at `order[i]`: follow each cycle of
    // the permutation, swapping as we go, and mark placed positions with `order[i] == i`.
    for start in 0..order.len() {
        let mut current = start;
        loop {
            let next = order[current];
            order[current] = current;
            if next == start {
                break;
            }
            findings.swap(current, next);
            current = next;
        }
    }
}

/// What a unit of evaluation leaves once its resources are dropped.
///
/// A unit is one Terraform root module with its child modules, one template
/// or plan, or all Kubernetes manifests. References resolve within a unit,
/// so checks that look for companion resources (a bucket's versioning, a
/// VPC's flow log) look only there: two root modules that both declare
/// `aws_s3_bucket.logs` are two buckets.
struct UnitFindings {
    /// Built-in check findings in chunks: one per resource, in resource
    /// order, then one of the set checks' findings.
    findings: Vec<Vec<Finding>>,
    /// Custom policy findings, in resource order.
    policy_findings: Vec<Finding>,
    /// The unit's parse errors.
    errors: Vec<ScanError>,
    /// Unreadable suppression comments, by file, for the files with findings.
    malformed: Vec<(String, Vec<ScanError>)>,
}

/// Checks units: everything that does not change from one unit to the next,
/// prepared once per scan.
struct Evaluator<'a> {
    by_kind: HashMap<&'static str, Vec<&'static Check>>,
    set_checks: Vec<(&'static Check, SetCheckFn)>,
    rules: HashMap<&'a str, &'a Rule>,
    checkov_ids: HashMap<&'static str, &'static [&'static str]>,
    policies: &'a PolicySet,
    display_to_disk: &'a HashMap<String, PathBuf>,
    today: NaiveDate,
}

impl<'a> Evaluator<'a> {
    fn new(
        rules: &'a [Rule],
        options: &ScanOptions,
        policies: &'a PolicySet,
        display_to_disk: &'a HashMap<String, PathBuf>,
    ) -> Self {
        let mut by_kind: HashMap<&'static str, Vec<&'static Check>> = HashMap::new();
        let mut set_checks = Vec::new();
        for check in all_checks().filter(|c| !options.disabled_rules.contains(c.rule.id)) {
            match &check.kind {
                CheckKind::PerResource { kinds, .. } => {
                    for kind in *kinds {
                        by_kind.entry(kind).or_default().push(check);
                    }
                }
                CheckKind::Set(run) => set_checks.push((check, *run)),
            }
        }
        Self {
            by_kind,
            set_checks,
            rules: rules.iter().map(|r| (r.id.as_str(), r)).collect(),
            checkov_ids: all_checks().map(|c| (c.rule.id, c.rule.checkov)).collect(),
            policies,
            display_to_disk,
            today: options.today,
        }
    }

    /// Runs every enabled check on the unit's resources: per-resource checks
    /// are dispatched by kind, so each resource is visited once; set checks
    /// run once over the unit. Then applies inline suppressions, and drops
    /// the resources.
    fn unit(&self, set: ParsedSet) -> UnitFindings {
        let resources = set.resources.as_slice();
        let context = Context::new(resources);
        let to_finding = |index: usize, rule_id: &str, violation: Violation| {
            let rule = self.rules.get(rule_id)?;
            Some(finding_for(rule, &resources[index], violation))
        };
        let context = &context;
        let to_finding = &to_finding;
        // One exactly sized chunk per resource, collected straight into
        // place: a flattening parallel collect would briefly hold the
        // findings twice, next to every parsed manifest.
        let mut per_resource: Vec<Vec<Finding>> = resources
            .par_iter()
            .enumerate()
            .map(|(index, resource)| {
                let violations: Vec<(&Check, Vec<Violation>)> = self
                    .by_kind
                    .get(resource.kind.as_str())
                    .into_iter()
                    .flatten()
                    .filter_map(|check| match check.kind {
                        CheckKind::PerResource { run, .. } => {
                            Some((*check, run(resource, context)))
                        }
                        CheckKind::Set(_) => None,
                    })
                    .collect();
                let mut found = Vec::with_capacity(violations.iter().map(|(_, v)| v.len()).sum());
                for (check, violations) in violations {
                    found.extend(
                        violations
                            .into_iter()
                            .filter_map(|v| to_finding(index, check.rule.id, v)),
                    );
                }
                found
            })
            .collect();
        let mut set_found: Vec<(usize, Finding)> = Vec::new();
        for (check, run) in &self.set_checks {
            set_found.extend(
                run(context)
                    .into_iter()
                    .filter(|(index, _)| *index < resources.len())
                    .filter_map(|(index, v)| Some((index, to_finding(index, check.rule.id, v)?))),
            );
        }
        let mut policy_found: Vec<(usize, Finding)> = self
            .policies
            .evaluate(resources)
            .into_iter()
            .filter_map(|p| {
                let finding = to_finding(p.resource_index, &p.rule_id, p.violation)?;
                Some((p.resource_index, finding))
            })
            .collect();
        let located: Vec<(usize, &mut Finding)> = per_resource
            .iter_mut()
            .enumerate()
            .flat_map(|(index, found)| found.iter_mut().map(move |f| (index, f)))
            .chain(set_found.iter_mut().map(|(index, f)| (*index, f)))
            .chain(policy_found.iter_mut().map(|(index, f)| (*index, f)))
            .collect();
        let malformed = self.apply_inline_suppressions(located, resources);
        per_resource.push(set_found.into_iter().map(|(_, f)| f).collect());
        UnitFindings {
            findings: per_resource,
            policy_findings: policy_found.into_iter().map(|(_, f)| f).collect(),
            errors: set.errors,
            malformed,
        }
    }

    /// Attaches active inline suppressions to `(resource index, finding)`
    /// pairs. Files are read again only when they carry findings, and only
    /// scanned for the two comment markers. Returns the comments that could
    /// not be read, by file.
    fn apply_inline_suppressions(
        &self,
        findings: Vec<(usize, &mut Finding)>,
        resources: &[IacResource],
    ) -> Vec<(String, Vec<ScanError>)> {
        let files: BTreeSet<&str> = findings
            .iter()
            .map(|(i, _)| resources[*i].file.as_str())
            .collect();
        let parsed: Vec<(&str, Vec<SuppressionComment>, Vec<ScanError>)> = files
            .into_par_iter()
            .map(|file| {
                let disk = self
                    .display_to_disk
                    .get(file)
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from(file));
                let text = std::fs::read_to_string(disk).unwrap_or_default();
                let (comments, malformed) = suppress::parse_comments(&text);
                let malformed = malformed
                    .into_iter()
                    .map(|m| ScanError {
                        path: file.to_string(),
                        line: Some(m.line),
                        message: m.message,
                    })
                    .collect();
                (file, comments, malformed)
            })
            .collect();
        let mut comments: HashMap<&str, Vec<SuppressionComment>> = HashMap::new();
        let mut malformed = Vec::new();
        for (file, file_comments, file_malformed) in parsed {
            comments.insert(file, file_comments);
            if !file_malformed.is_empty() {
                malformed.push((file.to_string(), file_malformed));
            }
        }
        for (index, finding) in findings {
            let resource = &resources[index];
            let file_comments = comments
                .get(resource.file.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let peers = self
                .checkov_ids
                .get(finding.rule_id.as_str())
                .copied()
                .unwrap_or(&[]);
            finding.suppression =
                suppress::find_for(file_comments, resource, &finding.rule_id, peers)
                    .filter(|s| s.is_active_on(self.today));
        }
        malformed
    }
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

    #[test]
    fn findings_sort_like_a_stable_sort_by_file_line_and_rule() {
        let rules: Vec<Rule> = builtin_rules().into_iter().take(3).collect();
        // Few distinct keys, so most findings tie and their order shows.
        let mut findings: Vec<Finding> = (0..200u32)
            .map(|i| {
                let n = i.wrapping_mul(2_654_435_761) >> 7;
                let resource = if n % 5 == 0 {
                    Resource {
                        kind: "Namespace".into(),
                        id: "ns".into(),
                        file: None,
                        account: None,
                        region: None,
                    }
                } else {
                    Resource::in_file("k", "id", format!("f{}.tf", n % 3))
                };
                let mut finding = Finding::new(&rules[(n % 3) as usize], resource, i.to_string());
                if n % 7 != 0 {
                    finding = finding.with_location(Location::lines("f.tf", n % 4, n % 4));
                }
                finding
            })
            .collect();
        let mut expected = findings.clone();
        expected.sort_by(|a, b| {
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
        sort_findings(&mut findings);
        let messages = |f: &[Finding]| f.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
        assert_eq!(messages(&findings), messages(&expected));
    }
}
