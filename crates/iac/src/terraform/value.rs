//! The value model of the evaluator.
//!
//! Terraform values are richer than JSON in one way that matters here: a value
//! can be *unknown* at scan time (a resource's computed attribute, a data
//! source, an unset variable). Keeping unknowns as their own variant, instead
//! of strings that look like `"${...}"`, lets operators and functions propagate
//! them faithfully; they only become placeholder strings at the output edge.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// An evaluated Terraform value. Maps use `BTreeMap` because Terraform orders
/// map and object keys lexically (`keys()`, `for_each`, `jsonencode` all do).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Val>),
    Map(BTreeMap<String, Val>),
    /// Not knowable statically; holds the expression text (without `${}`)
    /// that checks can follow, e.g. `module.a.aws_kms_key.k.arn`.
    Unknown(String),
}

impl Val {
    pub(crate) fn unknown(text: impl Into<String>) -> Val {
        Val::Unknown(text.into())
    }

    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown(_))
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "bool",
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::List(_) => "list",
            Val::Map(_) => "map",
            Val::Unknown(_) => "unknown",
        }
    }

    /// Terraform's implicit conversion to string (numbers and bools convert).
    pub(crate) fn as_string(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Num(n) => Some(format_number(*n)),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Terraform's implicit conversion to number (numeric strings convert).
    pub(crate) fn as_number(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        }
    }

    /// Terraform's implicit conversion to bool (`"true"`/`"false"` convert).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Str(s) if s == "true" => Some(true),
            Val::Str(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    pub(crate) fn from_json(json: &Json) -> Val {
        match json {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => n.as_f64().map_or(Val::Null, Val::Num),
            Json::String(s) => Val::Str(s.clone()),
            Json::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            Json::Object(map) => Val::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The output shape: unknowns become `"${text}"` placeholders.
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Val::Null => Json::Null,
            Val::Bool(b) => Json::Bool(*b),
            Val::Num(n) => number_to_json(*n),
            Val::Str(s) => Json::String(s.clone()),
            Val::List(items) => Json::Array(items.iter().map(Val::to_json).collect()),
            Val::Map(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Val::Unknown(text) => Json::String(placeholder(text)),
        }
    }
}

pub(crate) fn placeholder(text: &str) -> String {
    format!("${{{text}}}")
}

/// Integers print without a fraction, as Terraform prints them.
pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub(crate) fn number_to_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// Renders a map key or index the way Terraform writes instance keys:
/// `[0]`, `["a\"b"]`.
pub(crate) fn index_text(key: &Val) -> String {
    match key {
        Val::Num(n) => format!("[{}]", format_number(*n)),
        Val::Str(s) => format!("[{}]", quote(s)),
        Val::Unknown(t) => format!("[{t}]"),
        other => format!("[{}]", other.to_json()),
    }
}

pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
