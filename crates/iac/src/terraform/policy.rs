//! `data "aws_iam_policy_document"` rendered to the JSON the provider emits.
//!
//! Most real-world IAM policies are written with this data source rather than
//! `jsonencode`; rendering it statically (as Checkov does) lets IAM checks see
//! wildcards and principals instead of an opaque `${data....json}`.

use serde_json::{Map, Value as Json};

/// Renders the evaluated data source body; `None` if it has a shape the
/// provider would reject.
pub(crate) fn render_policy_document(attrs: &Map<String, Json>) -> Option<String> {
    let mut statements: Vec<Json> = Vec::new();
    for source in list_of_strings(attrs.get("source_policy_documents")) {
        statements.extend(statements_of(&source));
    }
    if let Some(Json::String(source)) = attrs.get("source_json") {
        statements.extend(statements_of(source));
    }
    for block in blocks(attrs.get("statement")) {
        merge_by_sid(&mut statements, render_statement(block)?);
    }
    for over in list_of_strings(attrs.get("override_policy_documents")) {
        for s in statements_of(&over) {
            merge_by_sid(&mut statements, s);
        }
    }
    if let Some(Json::String(over)) = attrs.get("override_json") {
        for s in statements_of(over) {
            merge_by_sid(&mut statements, s);
        }
    }
    let mut doc = Map::new();
    doc.insert(
        "Version".into(),
        attrs
            .get("version")
            .cloned()
            .unwrap_or_else(|| Json::String("2012-10-17".into())),
    );
    if let Some(id) = attrs.get("policy_id") {
        doc.insert("Id".into(), id.clone());
    }
    doc.insert("Statement".into(), Json::Array(statements));
    serde_json::to_string(&Json::Object(doc)).ok()
}

fn render_statement(block: &Map<String, Json>) -> Option<Json> {
    let mut s = Map::new();
    if let Some(Json::String(sid)) = block.get("sid") {
        if !sid.is_empty() {
            s.insert("Sid".into(), Json::String(sid.clone()));
        }
    }
    s.insert(
        "Effect".into(),
        block
            .get("effect")
            .cloned()
            .unwrap_or_else(|| Json::String("Allow".into())),
    );
    for (key, out) in [
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ] {
        if let Some(v) = block.get(key) {
            s.insert(out.into(), collapse(v.clone()));
        }
    }
    for (key, out) in [
        ("principals", "Principal"),
        ("not_principals", "NotPrincipal"),
    ] {
        let mut principals = Map::new();
        for p in blocks(block.get(key)) {
            let ty = p.get("type").and_then(Json::as_str)?.to_string();
            let ids = p
                .get("identifiers")
                .cloned()
                .unwrap_or(Json::Array(Vec::new()));
            if ty == "*" {
                s.insert(out.into(), Json::String("*".into()));
                principals.clear();
                break;
            }
            match principals.get_mut(&ty) {
                Some(Json::Array(existing)) => {
                    if let Json::Array(more) = ids {
                        existing.extend(more);
                    }
                }
                _ => {
                    let ids = match ids {
                        Json::Array(items) => items,
                        other => vec![other],
                    };
                    principals.insert(ty, Json::Array(ids));
                }
            }
        }
        if !principals.is_empty() {
            let collapsed = principals
                .into_iter()
                .map(|(k, v)| (k, collapse(v)))
                .collect();
            s.insert(out.into(), Json::Object(collapsed));
        }
    }
    let mut conditions: Map<String, Json> = Map::new();
    for c in blocks(block.get("condition")) {
        let test = c.get("test").and_then(Json::as_str)?.to_string();
        let variable = c.get("variable").and_then(Json::as_str)?.to_string();
        let values = c.get("values").cloned().unwrap_or(Json::Array(Vec::new()));
        let entry = conditions
            .entry(test)
            .or_insert_with(|| Json::Object(Map::new()));
        if let Json::Object(m) = entry {
            m.insert(variable, collapse(values));
        }
    }
    if !conditions.is_empty() {
        s.insert("Condition".into(), Json::Object(conditions));
    }
    Some(Json::Object(s))
}

/// The provider writes one-element lists as plain strings.
fn collapse(v: Json) -> Json {
    match v {
        Json::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    }
}

fn merge_by_sid(statements: &mut Vec<Json>, statement: Json) {
    let sid = statement
        .get("Sid")
        .and_then(Json::as_str)
        .map(str::to_string);
    if let Some(sid) = sid {
        if let Some(existing) = statements
            .iter_mut()
            .find(|s| s.get("Sid").and_then(Json::as_str) == Some(sid.as_str()))
        {
            *existing = statement;
            return;
        }
    }
    statements.push(statement);
}

fn statements_of(doc: &str) -> Vec<Json> {
    match serde_json::from_str::<Json>(doc) {
        Ok(Json::Object(mut m)) => match m.remove("Statement") {
            Some(Json::Array(items)) => items,
            Some(single @ Json::Object(_)) => vec![single],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn list_of_strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn blocks(v: Option<&Json>) -> impl Iterator<Item = &Map<String, Json>> {
    v.and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_object)
}
