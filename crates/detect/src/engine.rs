//! Loading a rule set and running its Sigma rules over lake events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ProjectionMask;
use palisade_core::Severity;
use palisade_lake::Source;
use rayon::prelude::*;
use serde::Serialize;

use crate::correlation::{self, Correlation};
use crate::error::{Error, Result};
use crate::event::{BatchView, Event, FieldId, FieldSpec, FieldTable, Scalar};
use crate::mapping::FieldMapping;
use crate::sigma::matcher::{Combine, FieldTest, Matcher};
use crate::sigma::{self, Body, Detection, Document};
use crate::sql::{self, SqlDetection};

/// What kind of detection a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A Sigma rule matched event by event.
    Sigma,
    /// A Sigma correlation rule over the matches of other rules.
    Correlation,
    /// A scheduled SQL detection over the lake.
    Sql,
}

/// A loaded rule's metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// The rule's palisade id: its `name`, else its Sigma `id`, else `<file>#<n>`.
    pub key: String,
    pub sigma_id: Option<String>,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub kind: RuleKind,
    /// The source its events come from (none for SQL detections).
    pub source: Option<String>,
    /// The file it came from, `builtin:<pack>` for the embedded packs.
    pub origin: String,
    /// Whether its own matches raise alerts (rules only referenced by a
    /// correlation do not, unless the correlation says `generate: true`).
    pub alerts: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// A rule that did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleProblem {
    /// The file (or `builtin:<pack>`).
    pub origin: String,
    /// The rule's title, when the document got that far.
    pub rule: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: {rule}: {}", self.origin, self.reason),
            None => write!(f, "{}: {}", self.origin, self.reason),
        }
    }
}

/// One Sigma rule compiled for one source.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub info: usize,
    pub detection: Detection,
    /// Fields correlations group or count by, captured on every match.
    pub captures: Vec<(String, FieldId)>,
}

/// The rules of one source, indexed by the event's action.
#[derive(Debug, Default)]
pub(crate) struct SourceRules {
    pub fields: FieldTable,
    pub rules: Vec<CompiledRule>,
    /// Lower-cased action (`eventName`, `verb`) -> the rules that need it.
    by_action: HashMap<String, Vec<usize>>,
    /// Rules that may match any action.
    unindexed: Vec<usize>,
    action: Option<FieldId>,
    entity: Vec<FieldId>,
}

/// One event a rule matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Microseconds since the epoch.
    pub time: i64,
    pub event_id: Option<String>,
    /// Who or what the event is about (`actor`, else `src_ip`).
    pub entity: Option<String>,
    /// The fields correlations need (group-by and counted fields).
    pub fields: BTreeMap<String, String>,
}

/// Loaded, compiled rules: Sigma rules per source, correlations, SQL detections.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<RuleInfo>,
    pub(crate) problems: Vec<RuleProblem>,
    pub(crate) sources: Vec<(Source, SourceRules)>,
    pub(crate) correlations: Vec<Correlation>,
    pub(crate) sql: Vec<SqlDetection>,
}

/// Collects rule documents, then compiles them all at once
/// (correlations may name rules from any file).
pub struct Loader {
    mapping: FieldMapping,
    documents: Vec<(String, Document)>,
    problems: Vec<RuleProblem>,
}

impl Loader {
    pub fn new(mapping: FieldMapping) -> Loader {
        Loader {
            mapping,
            documents: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds the documents of one file's text.
    pub fn add_text(&mut self, origin: &str, text: &str) {
        for document in sigma::parse_documents(text) {
            match document {
                Ok(document) => self.documents.push((origin.to_string(), document)),
                Err((rule, reason)) => self.problems.push(RuleProblem {
                    origin: origin.to_string(),
                    rule,
                    reason,
                }),
            }
        }
    }

    /// Adds the embedded packs.
    pub fn add_builtin(&mut self) {
        for (name, text) in crate::packs::PACKS {
            self.add_text(&format!("builtin:{name}"), text);
        }
    }

    /// Adds a rule file, or every `*.yml`/`*.yaml` under a directory (sorted).
    pub fn add_path(&mut self, path: &Path) -> Result<()> {
        let read_error = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        if path.is_dir() {
            let mut files = Vec::new();
            collect_yaml(path, &mut files)?;
            files.sort();
            for file in files {
                self.add_path(&file)?;
            }
            return Ok(());
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        self.add_text(&path.display().to_string(), &text);
        Ok(())
    }

    /// Compiles everything added.
    pub fn build(self) -> RuleSet {
        build(self.mapping, self.documents, self.problems)
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn build(
    mapping: FieldMapping,
    documents: Vec<(String, Document)>,
    mut problems: Vec<RuleProblem>,
) -> RuleSet {
    let mut set = RuleSet::default();
    // Keys first: correlations refer to rules by name or id.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut keyed = Vec::new();
    for (n, (origin, document)) in documents.into_iter().enumerate() {
        let key = document
            .meta
            .name
            .clone()
            .or_else(|| document.meta.id.clone())
            .unwrap_or_else(|| format!("{origin}#{n}"));
        if let Some(first) = seen.get(&key) {
            problems.push(RuleProblem {
                origin,
                rule: Some(document.meta.title.clone()),
                reason: format!("duplicate rule `{key}` (first defined in {first})"),
            });
            continue;
        }
        seen.insert(key.clone(), origin.clone());
        keyed.push((key, origin, document));
    }
    // Which rules correlations refer to, and which fields they need of them.
    let references = correlation::references(&keyed);

    let mut compiled_keys: HashMap<String, usize> = HashMap::new();
    let mut sources: HashMap<Source, SourceRules> = HashMap::new();
    let mut pending_correlations = Vec::new();
    for (key, origin, document) in keyed {
        let problem = |reason: String| RuleProblem {
            origin: origin.clone(),
            rule: Some(document.meta.title.clone()),
            reason,
        };
        let info = |kind, source: Option<Source>, severity, alerts| RuleInfo {
            key: key.clone(),
            sigma_id: document.meta.id.clone(),
            title: document.meta.title.clone(),
            description: document.meta.description.trim().to_string(),
            severity,
            kind,
            source: source.map(|s| s.name().to_string()),
            origin: origin.clone(),
            alerts,
            tags: document.meta.tags.clone(),
            references: document.meta.references.clone(),
        };
        let severity = document.meta.level.unwrap_or(Severity::Medium);
        match &document.body {
            Body::Detection {
                logsource,
                detection,
            } => {
                let Some(source) = mapping.source_of(logsource) else {
                    problems.push(problem(format!(
                        "logsource {} has no palisade source (known: aws/cloudtrail, kubernetes/audit; \
                         add one in the mapping file)",
                        describe_logsource(logsource)
                    )));
                    continue;
                };
                let rules = sources.entry(source).or_default();
                match sigma::compile_detection(detection, source, &mapping, &mut rules.fields) {
                    Ok(detection) => {
                        let referenced = references.get(&key);
                        let captures = referenced
                            .map(|r| {
                                r.fields
                                    .iter()
                                    .map(|f| {
                                        (f.clone(), rules.fields.intern(mapping.resolve(source, f)))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let alerts = referenced.is_none_or(|r| r.generate);
                        let index = set.rules.len();
                        set.rules
                            .push(info(RuleKind::Sigma, Some(source), severity, alerts));
                        compiled_keys.insert(key.clone(), index);
                        rules.rules.push(CompiledRule {
                            info: index,
                            detection,
                            captures,
                        });
                    }
                    Err(reason) => problems.push(problem(reason)),
                }
            }
            Body::Correlation(spec) => {
                pending_correlations.push((
                    key.clone(),
                    origin.clone(),
                    document.clone(),
                    spec.clone(),
                ));
            }
            Body::Sql(spec) => match sql::parse(spec) {
                Ok(mut detection) => {
                    detection.info = set.rules.len();
                    set.rules.push(info(RuleKind::Sql, None, severity, true));
                    set.sql.push(detection);
                }
                Err(reason) => problems.push(problem(reason)),
            },
        }
    }
    correlation::compile_all(
        pending_correlations,
        &references,
        &mut compiled_keys,
        &mut set,
        &mut problems,
    );
    for (source, mut rules) in sources {
        rules.index();
        set.sources.push((source, rules));
    }
    set.sources.sort_by_key(|(source, _)| source.name());
    set.problems = problems;
    set
}

fn describe_logsource(logsource: &crate::mapping::LogSource) -> String {
    let parts: Vec<String> = [
        ("category", &logsource.category),
        ("product", &logsource.product),
        ("service", &logsource.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    if parts.is_empty() {
        "(empty)".into()
    } else {
        parts.join(" ")
    }
}

impl SourceRules {
    /// Builds the action index: a rule whose condition requires the action
    /// to be one of a few exact values is only tried on those actions.
    fn index(&mut self) {
        let action = self.fields.intern(FieldSpec {
            column: Some("action".into()),
            json_path: Vec::new(),
        });
        self.action = Some(action);
        for column in ["actor", "src_ip"] {
            let id = self.fields.intern(FieldSpec {
                column: Some(column.into()),
                json_path: Vec::new(),
            });
            self.entity.push(id);
        }
        let action_ids: HashSet<FieldId> = (0..self.fields.len() as FieldId)
            .filter(|id| {
                self.fields
                    .get(*id)
                    .is_some_and(|f| f.column.as_deref() == Some("action"))
            })
            .collect();
        for (at, rule) in self.rules.iter().enumerate() {
            match required_actions(&rule.detection, &action_ids) {
                Some(actions) => {
                    for action in actions {
                        self.by_action.entry(action).or_default().push(at);
                    }
                }
                None => self.unindexed.push(at),
            }
        }
    }

    /// Runs every rule on every row of `batch`.
    pub(crate) fn scan(&self, batch: &RecordBatch, hits: &mut Vec<Hit>) {
        let view = BatchView::new(batch, &self.fields);
        let mut lowered = String::new();
        let mut candidates: Vec<usize> = Vec::new();
        for row in 0..view.rows() {
            candidates.clear();
            if let Some(action) = self.action.and_then(|a| view.text(a, row)) {
                lowered.clear();
                lowered.push_str(action);
                lowered.make_ascii_lowercase();
                if let Some(rules) = self.by_action.get(&lowered) {
                    candidates.extend_from_slice(rules);
                }
            }
            if candidates.is_empty() && self.unindexed.is_empty() {
                continue;
            }
            candidates.extend_from_slice(&self.unindexed);
            let event = view.row(row);
            for &at in &candidates {
                let rule = &self.rules[at];
                if !rule.detection.matches(&event) {
                    continue;
                }
                let entity = self
                    .entity
                    .iter()
                    .find_map(|field| view.text(*field, row))
                    .map(String::from);
                let fields = rule
                    .captures
                    .iter()
                    .filter_map(|(name, field)| {
                        let found = event.lookup(*field);
                        let text = found.values().iter().find_map(Scalar::text)?;
                        Some((name.clone(), text.into_owned()))
                    })
                    .collect();
                hits.push(Hit {
                    rule: rule.info,
                    time: view.time(row),
                    event_id: view.event_id(row).map(String::from),
                    entity,
                    fields,
                });
            }
        }
    }

    /// The columns a scan reads.
    fn columns(&self) -> HashSet<String> {
        let mut columns: HashSet<String> = self.fields.columns().map(String::from).collect();
        for column in [
            "time",
            "event_id",
            "request_id",
            "actor",
            "src_ip",
            "action",
        ] {
            columns.insert(column.to_string());
        }
        let needs_raw = (0..self.fields.len() as FieldId)
            .filter_map(|id| self.fields.get(id))
            .any(|f| !f.json_path.is_empty())
            || self.rules.iter().any(|r| has_keywords(&r.detection));
        if needs_raw {
            columns.insert(palisade_lake::schema::RAW_COLUMN.to_string());
        }
        columns
    }
}

fn has_keywords(detection: &Detection) -> bool {
    detection
        .selections
        .iter()
        .flatten()
        .flatten()
        .any(|t| matches!(t, FieldTest::Values { field: None, .. }))
}

/// The actions (lower-cased) an event must have for `detection` to match,
/// or `None` when any action could.
fn required_actions(
    detection: &Detection,
    action_ids: &HashSet<FieldId>,
) -> Option<HashSet<String>> {
    use crate::sigma::condition::Expr;
    let selection = |i: usize| -> Option<HashSet<String>> {
        let mut union = HashSet::new();
        for alternative in &detection.selections[i] {
            let values = alternative.iter().find_map(|test| match test {
                FieldTest::Values {
                    field: Some(field),
                    combine: Combine::Any,
                    matchers,
                } if action_ids.contains(field) => matchers
                    .iter()
                    .map(|m| match m {
                        Matcher::Exact { text, cased: false } => Some(text.to_ascii_lowercase()),
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>(),
                _ => None,
            })?;
            union.extend(values);
        }
        Some(union)
    };
    fn walk(
        expr: &Expr,
        selection: &dyn Fn(usize) -> Option<HashSet<String>>,
    ) -> Option<HashSet<String>> {
        match expr {
            Expr::Selection(i) => selection(*i),
            Expr::Not(_) => None,
            Expr::And(parts) => parts
                .iter()
                .filter_map(|p| walk(p, selection))
                .reduce(|a, b| a.intersection(&b).cloned().collect()),
            Expr::Or(parts) => parts
                .iter()
                .map(|p| walk(p, selection))
                .collect::<Option<Vec<_>>>()
                .map(|sets| sets.into_iter().flatten().collect()),
        }
    }
    walk(&detection.condition, &selection)
}

/// What a scan of lake files found.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub hits: Vec<Hit>,
    /// Events read.
    pub events: u64,
    pub files: u64,
    /// The earliest and latest event time read (microseconds).
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
}

impl RuleSet {
    /// Every loaded rule.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// The rules that did not load, with the reason.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    /// The longest window of the SQL detections (microseconds; 0 without any).
    pub fn longest_sql_window(&self) -> i64 {
        self.sql.iter().map(|d| d.window).max().unwrap_or(0)
    }

    /// The number of Sigma rules compiled for `source`.
    pub fn sigma_rules(&self, source: Source) -> usize {
        self.source_rules(source).map_or(0, |r| r.rules.len())
    }

    pub(crate) fn source_rules(&self, source: Source) -> Option<&SourceRules> {
        self.sources
            .iter()
            .find(|(s, _)| *s == source)
            .map(|(_, r)| r)
    }

    /// Runs the Sigma rules of `source` on one batch of its events.
    pub fn scan_batch(&self, source: Source, batch: &RecordBatch, hits: &mut Vec<Hit>) {
        if let Some(rules) = self.source_rules(source) {
            rules.scan(batch, hits);
        }
    }

    /// Runs the Sigma rules over lake Parquet files, row groups in parallel.
    pub fn scan_files(&self, files: &[(Source, PathBuf)]) -> Result<ScanResult> {
        let mut units = Vec::new();
        for (source, path) in files {
            let Some(rules) = self.source_rules(*source) else {
                continue;
            };
            let parquet_error = |reason: String| Error::Parquet {
                path: path.clone(),
                reason,
            };
            let file = File::open(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| parquet_error(e.to_string()))?;
            let row_groups = builder.metadata().num_row_groups();
            for row_group in 0..row_groups {
                units.push((rules, path.clone(), row_group));
            }
        }
        let results: Vec<Result<RowGroupScan>> = units
            .par_iter()
            .map(|(rules, path, row_group)| scan_row_group(rules, path, *row_group))
            .collect();
        let mut result = ScanResult {
            files: files.len() as u64,
            ..ScanResult::default()
        };
        for unit in results {
            let unit = unit?;
            result.hits.extend(unit.hits);
            result.events += unit.events;
            result.min_time = min_option(result.min_time, unit.min_time);
            result.max_time = match (result.max_time, unit.max_time) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        result.hits.sort_by_key(|hit| (hit.time, hit.rule));
        Ok(result)
    }
}

fn min_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct RowGroupScan {
    hits: Vec<Hit>,
    events: u64,
    min_time: Option<i64>,
    max_time: Option<i64>,
}

fn scan_row_group(rules: &SourceRules, path: &Path, row_group: usize) -> Result<RowGroupScan> {
    let parquet_error = |reason: String| Error::Parquet {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(e.to_string()))?;
    let wanted = rules.columns();
    let schema = builder.parquet_schema();
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|i| wanted.contains(schema.column(*i).name()))
        .collect();
    let mask = ProjectionMask::leaves(schema, leaves);
    let reader = builder
        .with_projection(mask)
        .with_row_groups(vec![row_group])
        .with_batch_size(8192)
        .build()
        .map_err(|e| parquet_error(e.to_string()))?;
    let mut scan = RowGroupScan {
        hits: Vec::new(),
        events: 0,
        min_time: None,
        max_time: None,
    };
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(e.to_string()))?;
        scan.events += batch.num_rows() as u64;
        if let Some(time) = batch
            .column_by_name("time")
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        {
            scan.min_time = min_option(scan.min_time, datafusion::arrow::compute::min(time));
            scan.max_time = match (scan.max_time, datafusion::arrow::compute::max(time)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        rules.scan(&batch, &mut scan.hits);
    }
    Ok(scan)
}
