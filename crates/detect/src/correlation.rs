//! Sigma correlation rules: `event_count`, `value_count`, `temporal` and
//! `temporal_ordered` over the matches of other rules, grouped by fields,
//! within a sliding `timespan`.
//!
//! Each group's matches are walked in time order with a window of
//! `timespan` ending at the current match; when the condition holds the
//! correlation matches (first and last time of the window, its events) and
//! the window starts afresh. Correlations may refer to correlations (a
//! brute force followed by a success is a `temporal_ordered` over an
//! `event_count` and a rule); their matches carry the group-by fields.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;
use serde_norway::{Mapping, Value};

use crate::engine::{Hit, RuleInfo, RuleKind, RuleProblem, RuleSet};
use crate::sigma::{Body, Document};

/// At most this many event ids are kept per match.
pub const MAX_EVENT_IDS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    EventCount,
    ValueCount(String),
    Temporal,
    TemporalOrdered,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Rule(usize),
    Correlation(usize),
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub(crate) struct Correlation {
    pub info: usize,
    kind: Kind,
    inputs: Vec<Input>,
    input_keys: Vec<String>,
    group_by: Vec<String>,
    aliases: HashMap<String, HashMap<String, String>>,
    timespan: i64,
    condition: Vec<(Op, f64)>,
}

/// A correlation that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrelationMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// The group-by fields and their values.
    pub group: BTreeMap<String, String>,
    /// Microseconds since the epoch.
    pub first_time: i64,
    pub last_time: i64,
    /// Events in the window (a chained correlation counts its inner matches' events).
    pub count: u64,
    pub event_ids: Vec<String>,
}

/// What correlations need from a rule they refer to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Referenced {
    pub fields: Vec<String>,
    /// A correlation asked for the rule's own matches too (`generate: true`).
    pub generate: bool,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn aliases(spec: &Mapping) -> HashMap<String, HashMap<String, String>> {
    let mut out = HashMap::new();
    if let Some(Value::Mapping(map)) = spec.get("aliases") {
        for (alias, per_rule) in map {
            let (Some(alias), Value::Mapping(per_rule)) = (alias.as_str(), per_rule) else {
                continue;
            };
            let fields = per_rule
                .iter()
                .filter_map(|(rule, field)| {
                    Some((rule.as_str()?.to_string(), field.as_str()?.to_string()))
                })
                .collect();
            out.insert(alias.to_string(), fields);
        }
    }
    out
}

/// Resolves a reference (a rule's `name` or `id`) to its key.
fn resolver(documents: &[(String, String, Document)]) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for (key, _, document) in documents {
        for name in [&document.meta.id, &document.meta.name]
            .into_iter()
            .flatten()
        {
            keys.entry(name.clone()).or_insert_with(|| key.clone());
        }
        keys.entry(key.clone()).or_insert_with(|| key.clone());
    }
    keys
}

/// For every rule some correlation refers to: the fields to capture.
pub(crate) fn references(documents: &[(String, String, Document)]) -> HashMap<String, Referenced> {
    let keys = resolver(documents);
    let mut out: HashMap<String, Referenced> = HashMap::new();
    for (_, _, document) in documents {
        let Body::Correlation(spec) = &document.body else {
            continue;
        };
        let aliases = aliases(spec);
        let group_by = strings(spec.get("group-by"));
        let generate = spec
            .get("generate")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let value_field = spec
            .get("condition")
            .and_then(Value::as_mapping)
            .and_then(|c| c.get("field"))
            .and_then(Value::as_str)
            .map(String::from);
        for reference in strings(spec.get("rules")) {
            let Some(key) = keys.get(&reference) else {
                continue;
            };
            let referenced = out.entry(key.clone()).or_default();
            referenced.generate |= generate;
            let names: Vec<&str> = [key.as_str(), reference.as_str()].to_vec();
            for field in &group_by {
                let own = aliases
                    .get(field)
                    .and_then(|per_rule| names.iter().find_map(|n| per_rule.get(*n)))
                    .unwrap_or(field);
                if !referenced.fields.contains(own) {
                    referenced.fields.push(own.clone());
                }
            }
            if let Some(field) = &value_field {
                if !referenced.fields.contains(field) {
                    referenced.fields.push(field.clone());
                }
            }
        }
    }
    out
}

/// `30s`, `10m`, `1h`, `7d`, `2w` as microseconds.
pub fn parse_timespan(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let invalid = || format!("invalid timespan `{text}` (expected a number and s, m, h, d or w)");
    let unit_at = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid()),
    };
    if number <= 0 {
        return Err(invalid());
    }
    number.checked_mul(seconds * 1_000_000).ok_or_else(invalid)
}

fn parse_condition(spec: &Mapping, kind: &Kind) -> Result<Vec<(Op, f64)>, String> {
    let Some(value) = spec.get("condition") else {
        return match kind {
            Kind::Temporal | Kind::TemporalOrdered => Ok(Vec::new()),
            _ => Err("missing `condition`".into()),
        };
    };
    let Value::Mapping(map) = value else {
        return Err("`condition` must be a mapping such as `gte: 10`".into());
    };
    let mut out = Vec::new();
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        if key == "field" {
            continue;
        }
        let op = match key {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            other => return Err(format!("unknown condition operator `{other}`")),
        };
        let number = value
            .as_f64()
            .ok_or_else(|| format!("condition `{key}` needs a number"))?;
        out.push((op, number));
    }
    if out.is_empty() && !matches!(kind, Kind::Temporal | Kind::TemporalOrdered) {
        return Err("`condition` has no comparison".into());
    }
    Ok(out)
}

/// Compiles the correlations once the rules they refer to are compiled;
/// those referring to other correlations wait for them.
pub(crate) fn compile_all(
    mut pending: Vec<(String, String, Document, Mapping)>,
    references: &HashMap<String, Referenced>,
    compiled: &mut HashMap<String, usize>,
    set: &mut RuleSet,
    problems: &mut Vec<RuleProblem>,
) {
    // Names and ids of every document, to resolve references.
    let mut names: HashMap<String, String> = HashMap::new();
    for rule in &set.rules {
        names.insert(rule.key.clone(), rule.key.clone());
        if let Some(id) = &rule.sigma_id {
            names.insert(id.clone(), rule.key.clone());
        }
    }
    for (key, _, document, _) in &pending {
        names.insert(key.clone(), key.clone());
        for name in [&document.meta.id, &document.meta.name]
            .into_iter()
            .flatten()
        {
            names.insert(name.clone(), key.clone());
        }
    }
    let mut correlation_index: HashMap<String, usize> = HashMap::new();
    loop {
        let before = pending.len();
        let mut waiting = Vec::new();
        let pending_keys: HashSet<String> = pending.iter().map(|(k, ..)| k.clone()).collect();
        for (key, origin, document, spec) in pending {
            let refs = strings(spec.get("rules"));
            let resolved: Vec<Option<&String>> = refs.iter().map(|r| names.get(r)).collect();
            let blocked = resolved
                .iter()
                .flatten()
                .any(|k| !compiled.contains_key(*k) && pending_keys.contains(*k));
            if blocked {
                waiting.push((key, origin, document, spec));
                continue;
            }
            let problem = |reason: String| RuleProblem {
                origin: origin.clone(),
                rule: Some(document.meta.title.clone()),
                reason,
            };
            let mut inputs = Vec::new();
            let mut input_keys = Vec::new();
            let mut missing = None;
            for (reference, key) in refs.iter().zip(&resolved) {
                let Some(index) = key.and_then(|k| compiled.get(k)) else {
                    missing = Some(reference.clone());
                    break;
                };
                let input = match correlation_index.get(key.map(String::as_str).unwrap_or_default())
                {
                    Some(c) => Input::Correlation(*c),
                    None => Input::Rule(*index),
                };
                inputs.push(input);
                input_keys.push(key.cloned().unwrap_or_default());
            }
            if let Some(reference) = missing {
                problems.push(problem(format!(
                    "refers to rule `{reference}`, which is not loaded (unknown, or reported above)"
                )));
                continue;
            }
            match compile_one(&spec, inputs, input_keys) {
                Ok(mut correlation) => {
                    let severity = document
                        .meta
                        .level
                        .unwrap_or(palisade_core::Severity::Medium);
                    let alerts = references.get(&key).is_none_or(|r| r.generate);
                    let index = set.rules.len();
                    set.rules.push(RuleInfo {
                        key: key.clone(),
                        sigma_id: document.meta.id.clone(),
                        title: document.meta.title.clone(),
                        description: document.meta.description.trim().to_string(),
                        severity,
                        kind: RuleKind::Correlation,
                        source: None,
                        origin: origin.clone(),
                        alerts,
                        tags: document.meta.tags.clone(),
                        references: document.meta.references.clone(),
                    });
                    correlation.info = index;
                    compiled.insert(key.clone(), index);
                    correlation_index.insert(key.clone(), set.correlations.len());
                    set.correlations.push(correlation);
                }
                Err(reason) => problems.push(problem(reason)),
            }
        }
        if waiting.is_empty() {
            return;
        }
        if waiting.len() == before {
            for (_, origin, document, spec) in waiting {
                let unresolved: Vec<String> = strings(spec.get("rules"))
                    .into_iter()
                    .filter(|r| names.get(r).is_none_or(|k| !compiled.contains_key(k)))
                    .collect();
                problems.push(RuleProblem {
                    origin,
                    rule: Some(document.meta.title.clone()),
                    reason: format!(
                        "refers to {}, which did not load (unknown, unsupported, or a cycle of correlations)",
                        unresolved
                            .iter()
                            .map(|r| format!("`{r}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            return;
        }
        pending = waiting;
    }
}

fn compile_one(
    spec: &Mapping,
    inputs: Vec<Input>,
    input_keys: Vec<String>,
) -> Result<Correlation, String> {
    let kind_name = spec
        .get("type")
        .and_then(Value::as_str)
        .ok_or("missing correlation `type`")?;
    let kind = match kind_name {
        "event_count" => Kind::EventCount,
        "value_count" => Kind::ValueCount(
            spec.get("condition")
                .and_then(Value::as_mapping)
                .and_then(|c| c.get("field"))
                .and_then(Value::as_str)
                .ok_or("a value_count correlation needs `condition.field`")?
                .to_string(),
        ),
        "temporal" => Kind::Temporal,
        "temporal_ordered" => Kind::TemporalOrdered,
        other => return Err(format!("correlation type `{other}` is not supported")),
    };
    if inputs.is_empty() {
        return Err("a correlation needs `rules`".into());
    }
    let timespan = parse_timespan(
        spec.get("timespan")
            .and_then(Value::as_str)
            .ok_or("missing `timespan`")?,
    )?;
    let condition = parse_condition(spec, &kind)?;
    Ok(Correlation {
        info: 0,
        kind,
        inputs,
        input_keys,
        group_by: strings(spec.get("group-by")),
        aliases: aliases(spec),
        timespan,
        condition,
    })
}

fn holds(condition: &[(Op, f64)], value: f64) -> bool {
    condition.iter().all(|(op, want)| match op {
        Op::Gt => value > *want,
        Op::Gte => value >= *want,
        Op::Lt => value < *want,
        Op::Lte => value <= *want,
        Op::Eq => value == *want,
        Op::Neq => value != *want,
    })
}

/// One input event of a correlation.
struct Item<'a> {
    time: i64,
    input: usize,
    fields: &'a BTreeMap<String, String>,
    event_ids: Vec<&'a str>,
    /// Events it stands for (a correlation match stands for its window).
    weight: u64,
}

impl RuleSet {
    /// Runs every correlation over `hits` (sorted by time), inner
    /// correlations first.
    pub fn correlate(&self, hits: &[Hit]) -> Vec<CorrelationMatch> {
        let mut by_rule: HashMap<usize, Vec<&Hit>> = HashMap::new();
        for hit in hits {
            by_rule.entry(hit.rule).or_default().push(hit);
        }
        let mut outputs: Vec<Vec<CorrelationMatch>> = Vec::new();
        for correlation in &self.correlations {
            let mut items = Vec::new();
            for (position, input) in correlation.inputs.iter().enumerate() {
                match input {
                    Input::Rule(rule) => {
                        for hit in by_rule.get(rule).into_iter().flatten() {
                            items.push(Item {
                                time: hit.time,
                                input: position,
                                fields: &hit.fields,
                                event_ids: hit.event_id.as_deref().into_iter().collect(),
                                weight: 1,
                            });
                        }
                    }
                    Input::Correlation(inner) => {
                        for found in outputs.get(*inner).into_iter().flatten() {
                            items.push(Item {
                                time: found.last_time,
                                input: position,
                                fields: &found.group,
                                event_ids: found.event_ids.iter().map(String::as_str).collect(),
                                weight: found.count,
                            });
                        }
                    }
                }
            }
            items.sort_by_key(|item| (item.time, item.input));
            outputs.push(correlation.run(&items));
        }
        outputs.into_iter().flatten().collect()
    }
}

impl Correlation {
    fn group_of(&self, item: &Item<'_>) -> BTreeMap<String, String> {
        let input_key = &self.input_keys[item.input];
        self.group_by
            .iter()
            .map(|name| {
                let field = self
                    .aliases
                    .get(name)
                    .and_then(|per_rule| per_rule.get(input_key))
                    .unwrap_or(name);
                (
                    name.clone(),
                    item.fields.get(field).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn run(&self, items: &[Item<'_>]) -> Vec<CorrelationMatch> {
        let mut groups: BTreeMap<BTreeMap<String, String>, Vec<&Item<'_>>> = BTreeMap::new();
        for item in items {
            groups.entry(self.group_of(item)).or_default().push(item);
        }
        let mut out = Vec::new();
        for (group, items) in groups {
            match &self.kind {
                Kind::TemporalOrdered => self.run_ordered(&group, &items, &mut out),
                _ => self.run_window(&group, &items, &mut out),
            }
        }
        out
    }

    fn emit(
        &self,
        group: &BTreeMap<String, String>,
        window: &[&Item<'_>],
        out: &mut Vec<CorrelationMatch>,
    ) {
        let mut event_ids: Vec<String> = Vec::new();
        for item in window {
            for id in &item.event_ids {
                if event_ids.len() < MAX_EVENT_IDS && !event_ids.iter().any(|e| e == id) {
                    event_ids.push(id.to_string());
                }
            }
        }
        out.push(CorrelationMatch {
            rule: self.info,
            group: group.clone(),
            first_time: window.first().map_or(0, |i| i.time),
            last_time: window.last().map_or(0, |i| i.time),
            count: window.iter().map(|i| i.weight).sum(),
            event_ids,
        });
    }

    fn run_window(
        &self,
        group: &BTreeMap<String, String>,
        items: &[&Item<'_>],
        out: &mut Vec<CorrelationMatch>,
    ) {
        let mut window: VecDeque<&Item<'_>> = VecDeque::new();
        for item in items {
            window.push_back(item);
            while window
                .front()
                .is_some_and(|first| first.time < item.time - self.timespan)
            {
                window.pop_front();
            }
            let value = match &self.kind {
                Kind::EventCount => window.len() as f64,
                Kind::ValueCount(field) => window
                    .iter()
                    .filter_map(|i| i.fields.get(field))
                    .collect::<HashSet<_>>()
                    .len() as f64,
                Kind::Temporal | Kind::TemporalOrdered => {
                    window.iter().map(|i| i.input).collect::<HashSet<_>>().len() as f64
                }
            };
            let matched = match &self.kind {
                Kind::Temporal if self.condition.is_empty() => value as usize == self.inputs.len(),
                _ => holds(&self.condition, value),
            };
            if matched {
                let window_items: Vec<&Item<'_>> = window.drain(..).collect();
                self.emit(group, &window_items, out);
            }
        }
    }

    fn run_ordered(
        &self,
        group: &BTreeMap<String, String>,
        items: &[&Item<'_>],
        out: &mut Vec<CorrelationMatch>,
    ) {
        // chain[k]: the items of the latest-starting sequence of inputs 0..=k.
        let mut chain: Vec<Option<Vec<&Item<'_>>>> = vec![None; self.inputs.len()];
        let last = self.inputs.len() - 1;
        for item in items {
            let k = item.input;
            let extended = if k == 0 {
                Some(vec![*item])
            } else {
                chain[k - 1]
                    .as_ref()
                    .filter(|prefix| {
                        prefix
                            .first()
                            .is_some_and(|f| item.time - f.time <= self.timespan)
                    })
                    .map(|prefix| {
                        let mut next = prefix.clone();
                        next.push(item);
                        next
                    })
            };
            let Some(extended) = extended else {
                continue;
            };
            if k == last {
                self.emit(group, &extended, out);
                chain.iter_mut().for_each(|c| *c = None);
            } else {
                chain[k] = Some(extended);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Ok(90 * 60 * 1_000_000));
        assert_eq!(parse_timespan("1d"), Ok(86_400 * 1_000_000));
        assert!(parse_timespan("1y").is_err());
        assert!(parse_timespan("m").is_err());
        assert!(parse_timespan("-5m").is_err());
    }
}
