//! Sigma: reading rule documents and compiling their detection sections.
//!
//! [`parse_documents`] reads the YAML documents of one file (a file may hold
//! several, separated by `---`, as correlation rules do); [`compile_detection`]
//! turns a `detection` block into selections of [`FieldTest`]s and a
//! condition [`Expr`]. Whatever palisade cannot evaluate exactly is an
//! error naming the feature, so the rule is reported at load rather than
//! silently matching less than its author meant.

pub mod condition;
pub mod matcher;
pub mod value;

use palisade_core::Severity;
use palisade_lake::Source;
use serde_norway::{Mapping, Value};

use crate::event::FieldTable;
use crate::mapping::{FieldMapping, LogSource};
use condition::Expr;
use matcher::{Combine, FieldTest, Matcher};
use value::{compile_values, parse_modifiers, Kind};

/// The metadata every Sigma document may carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub description: String,
    pub status: Option<String>,
    pub level: Option<Severity>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
}

/// One YAML document of a rule file.
#[derive(Debug, Clone)]
pub struct Document {
    pub meta: Meta,
    pub body: Body,
}

/// What a document defines.
#[derive(Debug, Clone)]
pub enum Body {
    /// A Sigma detection rule.
    Detection {
        logsource: LogSource,
        detection: Mapping,
    },
    /// A Sigma correlation rule (the `correlation` block).
    Correlation(Mapping),
    /// A palisade SQL detection (a document with `query`).
    Sql(Mapping),
}

fn text(map: &Mapping, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(map: &Mapping, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Sigma's `level` as a severity (`informational` is info).
pub fn parse_level(level: &str) -> Result<Severity, String> {
    level
        .parse::<Severity>()
        .map_err(|_| format!("unknown level `{level}`"))
}

/// Parses every YAML document of a file. Each entry is a document or the
/// reason it cannot be used (with the document's title when it has one).
pub fn parse_documents(text: &str) -> Vec<Result<Document, (Option<String>, String)>> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value = match Value::deserialize(document) {
            Ok(value) => value,
            Err(e) => {
                out.push(Err((None, format!("invalid YAML: {e}"))));
                // The parser cannot resume after a syntax error.
                break;
            }
        };
        if value.is_null() {
            continue;
        }
        out.push(parse_document(value));
    }
    out
}

fn parse_document(value: Value) -> Result<Document, (Option<String>, String)> {
    let Value::Mapping(map) = value else {
        return Err((None, "a rule document must be a YAML mapping".into()));
    };
    let title = text(&map, "title");
    let fail = |reason: String| (title.clone(), reason);
    let level = match text(&map, "level").or_else(|| text(&map, "severity")) {
        Some(level) => Some(parse_level(&level).map_err(fail)?),
        None => None,
    };
    let meta = Meta {
        id: text(&map, "id"),
        name: text(&map, "name"),
        title: title.clone().unwrap_or_default(),
        description: text(&map, "description").unwrap_or_default(),
        status: text(&map, "status"),
        level,
        tags: strings(&map, "tags"),
        references: strings(&map, "references"),
        falsepositives: strings(&map, "falsepositives"),
    };
    if meta.title.trim().is_empty() {
        return Err(fail("missing `title`".into()));
    }
    if map.get("action").is_some() {
        return Err(fail(
            "Sigma 1.0 rule collections (`action: global`) are not supported".into(),
        ));
    }
    if map.get("filter").is_some() && map.get("detection").is_none() {
        return Err(fail("Sigma filter documents are not supported".into()));
    }
    let body = if let Some(correlation) = map.get("correlation") {
        let Value::Mapping(correlation) = correlation else {
            return Err(fail("`correlation` must be a mapping".into()));
        };
        Body::Correlation(correlation.clone())
    } else if map.get("query").is_some() {
        Body::Sql(map.clone())
    } else {
        let logsource: LogSource = match map.get("logsource") {
            Some(value) => serde_norway::from_value(value.clone())
                .map_err(|e| fail(format!("invalid `logsource`: {e}")))?,
            None => return Err(fail("missing `logsource`".into())),
        };
        let Some(Value::Mapping(detection)) = map.get("detection") else {
            return Err(fail("missing `detection` mapping".into()));
        };
        Body::Detection {
            logsource,
            detection: detection.clone(),
        }
    };
    Ok(Document { meta, body })
}

/// A compiled `detection`: selections (each an OR of AND-ed field tests)
/// and the condition over them.
#[derive(Debug, Clone)]
pub struct Detection {
    pub selections: Vec<Vec<Vec<FieldTest>>>,
    pub condition: Expr,
}

impl Detection {
    /// Whether `event` matches.
    pub fn matches(&self, event: &dyn crate::event::Event) -> bool {
        self.condition.eval(&mut |i| {
            self.selections[i]
                .iter()
                .any(|alternative| alternative.iter().all(|test| test.matches(event)))
        })
    }
}

/// Compiles a `detection` block for `source`, interning its fields in `fields`.
pub fn compile_detection(
    detection: &Mapping,
    source: Source,
    mapping: &FieldMapping,
    fields: &mut FieldTable,
) -> Result<Detection, String> {
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut condition = None;
    for (key, value) in detection {
        let Some(key) = key.as_str() else {
            return Err("detection keys must be strings".into());
        };
        match key {
            "condition" => condition = Some(value.clone()),
            "timeframe" => {
                return Err(
                    "`timeframe` (Sigma 1.0 aggregations) is not supported; use a correlation rule"
                        .into(),
                )
            }
            name => {
                let selection = compile_selection(value, source, mapping, fields)
                    .map_err(|e| format!("selection `{name}`: {e}"))?;
                names.push(name.to_string());
                selections.push(selection);
            }
        }
    }
    let condition = match condition {
        Some(Value::String(text)) => condition::parse(&text, &names)?,
        Some(Value::Sequence(items)) => {
            let mut parts = Vec::new();
            for item in items {
                let Some(text) = item.as_str() else {
                    return Err("every condition of a list must be a string".into());
                };
                parts.push(condition::parse(text, &names)?);
            }
            if parts.is_empty() {
                return Err("empty condition list".into());
            }
            Expr::Or(parts)
        }
        Some(_) => return Err("`condition` must be a string or a list of strings".into()),
        None => return Err("missing `condition`".into()),
    };
    Ok(Detection {
        selections,
        condition,
    })
}

fn values_of(value: &Value) -> Vec<Value> {
    match value {
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn compile_selection(
    value: &Value,
    source: Source,
    mapping: &FieldMapping,
    fields: &mut FieldTable,
) -> Result<Vec<Vec<FieldTest>>, String> {
    match value {
        Value::Mapping(map) => Ok(vec![compile_map(map, source, mapping, fields)?]),
        Value::Sequence(items) if items.is_empty() => Err("empty list".into()),
        Value::Sequence(items) if items.iter().all(Value::is_mapping) => items
            .iter()
            .filter_map(Value::as_mapping)
            .map(|map| compile_map(map, source, mapping, fields))
            .collect(),
        Value::Sequence(items) if items.iter().any(Value::is_mapping) => {
            Err("a list mixes maps and plain values".into())
        }
        // Keywords: values searched anywhere in the raw record.
        Value::Sequence(_) | Value::String(_) | Value::Number(_) => {
            let modifiers = parse_modifiers(&[])?;
            let matchers =
                compile_values(&values_of(value), &modifiers, &mapping.placeholders, true)?;
            Ok(vec![vec![FieldTest::Values {
                field: None,
                combine: Combine::Any,
                matchers,
            }]])
        }
        _ => Err("a selection must be a map, a list of maps or a list of keywords".into()),
    }
}

fn compile_map(
    map: &Mapping,
    source: Source,
    mapping: &FieldMapping,
    fields: &mut FieldTable,
) -> Result<Vec<FieldTest>, String> {
    let mut tests = Vec::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return Err("field names must be strings".into());
        };
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        let names: Vec<&str> = parts.collect();
        let modifiers = parse_modifiers(&names).map_err(|e| format!("`{key}`: {e}"))?;
        let values = values_of(value);
        if values.is_empty() {
            return Err(format!("`{key}` has an empty list of values"));
        }
        if field.is_empty() {
            // `'|all': [...]`: keywords with modifiers.
            let matchers = compile_values(&values, &modifiers, &mapping.placeholders, true)
                .map_err(|e| format!("`{key}`: {e}"))?;
            tests.push(FieldTest::Values {
                field: None,
                combine: modifiers.combine,
                matchers,
            });
            continue;
        }
        let id = fields.intern(mapping.resolve(source, field));
        let test = match modifiers.kind {
            Kind::Exists => match values.as_slice() {
                [Value::Bool(exists)] => FieldTest::Exists {
                    field: id,
                    exists: *exists,
                },
                _ => return Err(format!("`{key}` takes `true` or `false`")),
            },
            Kind::FieldRef => {
                let mut matchers = Vec::new();
                for value in &values {
                    let Some(other) = value.as_str() else {
                        return Err(format!("`{key}` takes field names"));
                    };
                    matchers.push(Matcher::FieldRef(
                        fields.intern(mapping.resolve(source, other)),
                    ));
                }
                FieldTest::Values {
                    field: Some(id),
                    combine: modifiers.combine,
                    matchers,
                }
            }
            _ => FieldTest::Values {
                field: Some(id),
                combine: modifiers.combine,
                matchers: compile_values(&values, &modifiers, &mapping.placeholders, false)
                    .map_err(|e| format!("`{key}`: {e}"))?,
            },
        };
        tests.push(test);
    }
    Ok(tests)
}
