//! CloudFormation templates (YAML with short-form intrinsics, and JSON),
//! SAM templates included.
//!
//! Each entry of `Resources` becomes one [`IacResource`] whose attributes are
//! its `Properties` with intrinsics resolved by [`intrinsics`]. SAM resources
//! are kept as written (no transform to the resources SAM would generate),
//! with the template's `Globals` merged in, since that is where SAM authors
//! put settings shared by every function.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::model::{Framework, IacResource, ParsedSet};

mod intrinsics;
pub(crate) mod source;

use intrinsics::Resolver;
use source::{
    indent, is_content, json_children, line_key, parse_yaml, skip_ws, split_documents, LineIndex,
};

/// Resources of one template, intrinsics resolved where possible.
pub fn parse(rel_path: &str, content: &str) -> ParsedSet {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let trimmed = content.trim_start();
    if trimmed.is_empty() {
        return ParsedSet::default();
    }
    let is_json = trimmed.starts_with('{');
    let mut out = ParsedSet::default();
    let template = if is_json {
        serde_json::from_str::<Value>(content).map_err(|e| {
            let line = u32::try_from(e.line()).ok().filter(|l| *l > 0);
            (line, format!("invalid JSON CloudFormation template: {e}"))
        })
    } else {
        let documents = split_documents(content);
        let Some(first) = documents.first() else {
            return ParsedSet::default();
        };
        if let Some(extra) = documents.get(1) {
            out.errors.push(palisade_core::ScanError {
                path: rel_path.to_string(),
                line: Some(extra.start_line),
                message:
                    "a CloudFormation template is one YAML document; later documents are ignored"
                        .to_string(),
            });
        }
        parse_yaml(first.text, first.line_offset).map_err(|(line, message)| {
            (
                line,
                format!("invalid YAML CloudFormation template: {message}"),
            )
        })
    };
    let template = match template {
        Ok(Value::Object(template)) => template,
        Ok(_) => {
            return ParsedSet::error(
                rel_path,
                None,
                "not a CloudFormation template: the top level is not a mapping",
            )
        }
        Err((line, message)) => {
            out.extend(ParsedSet::error(rel_path, line, message));
            return out;
        }
    };
    let resources = match template.get("Resources") {
        None | Some(Value::Null) => return ParsedSet::default(),
        Some(Value::Object(resources)) => resources,
        Some(_) => {
            return ParsedSet::error(
                rel_path,
                None,
                "`Resources` is not a mapping of logical ids to resources",
            )
        }
    };

    let lines = if is_json {
        json_resource_lines(content)
    } else {
        yaml_resource_lines(content)
    };
    let fallback = lines.section.unwrap_or((1, 1));
    let globals = template.get("Globals").and_then(Value::as_object);
    let mut resolver = Resolver::new(&template);

    for (logical_id, definition) in resources {
        // `Fn::ForEach::Name` entries (LanguageExtensions) expand to
        // resources only at deploy time.
        if logical_id.starts_with("Fn::ForEach") {
            continue;
        }
        let (start_line, end_line) = lines.resources.get(logical_id).copied().unwrap_or(fallback);
        let Some(kind) = definition.get("Type").and_then(Value::as_str) else {
            out.errors.push(palisade_core::ScanError {
                path: rel_path.to_string(),
                line: Some(start_line),
                message: format!("resource `{logical_id}` has no `Type`; skipped"),
            });
            continue;
        };
        let mut properties = match definition.get("Properties") {
            Some(p @ Value::Object(_)) => p.clone(),
            _ => Value::Object(Map::new()),
        };
        if let Some(global) = kind
            .strip_prefix("AWS::Serverless::")
            .and_then(|section| globals?.get(section))
        {
            properties = merge_globals(global, properties);
        }
        let attributes = resolver
            .resolve(&properties)
            .unwrap_or_else(|| Value::Object(Map::new()));
        out.resources.push(IacResource {
            framework: Framework::CloudFormation,
            kind: kind.to_string(),
            address: logical_id.clone(),
            name: logical_id.clone(),
            file: rel_path.to_string(),
            start_line,
            end_line,
            attributes,
        });
    }
    out
}

/// SAM `Globals` under a resource's own properties: maps merge, lists
/// concatenate (globals first), scalars of the resource win.
fn merge_globals(global: &Value, own: Value) -> Value {
    match (global, own) {
        (Value::Object(global), Value::Object(mut own)) => {
            for (key, global_value) in global {
                let merged = match own.remove(key) {
                    Some(own_value) => merge_globals(global_value, own_value),
                    None => global_value.clone(),
                };
                own.insert(key.clone(), merged);
            }
            Value::Object(own)
        }
        (Value::Array(global), Value::Array(own)) => {
            Value::Array(global.iter().cloned().chain(own).collect())
        }
        (_, own) => own,
    }
}

/// Line ranges of the entries of `Resources`, and of the section itself.
#[derive(Default)]
struct ResourceLines {
    section: Option<(u32, u32)>,
    resources: HashMap<String, (u32, u32)>,
}

/// For a YAML template: each `  LogicalId:` line under the top-level
/// `Resources:` key, up to the last content line before the next sibling.
fn yaml_resource_lines(content: &str) -> ResourceLines {
    let mut out = ResourceLines::default();
    let lines: Vec<&str> = content.lines().collect();
    let Some(section_index) = lines
        .iter()
        .position(|l| indent(l) == 0 && line_key(l).as_deref() == Some("Resources"))
    else {
        return out;
    };
    let mut child_indent = None;
    let mut current: Option<(String, usize)> = None;
    let mut last_content = section_index;
    let close = |current: &mut Option<(String, usize)>, last: usize, out: &mut ResourceLines| {
        if let Some((name, start)) = current.take() {
            out.resources
                .entry(name)
                .or_insert((line_no(start), line_no(last.max(start))));
        }
    };
    for (i, line) in lines.iter().enumerate().skip(section_index + 1) {
        if !is_content(line) {
            continue;
        }
        let depth = indent(line);
        if depth == 0 {
            break;
        }
        let child = *child_indent.get_or_insert(depth);
        if depth < child {
            break;
        }
        if depth == child {
            close(&mut current, last_content, &mut out);
            current = line_key(line.trim_start()).map(|key| (key, i));
        }
        last_content = i;
    }
    close(&mut current, last_content, &mut out);
    out.section = Some((line_no(section_index), line_no(last_content)));
    out
}

/// For a JSON template: from each logical id's key to its closing brace.
fn json_resource_lines(content: &str) -> ResourceLines {
    let mut out = ResourceLines::default();
    let index = LineIndex::new(content);
    let root = skip_ws(content.as_bytes(), 0);
    if let Some(sections) = json_children(content, root, &[]) {
        if let Some(section) = sections
            .iter()
            .find(|s| s.key.as_deref() == Some("Resources"))
        {
            out.section = Some((
                index.line_of(section.start),
                index.line_of(section.end.saturating_sub(1)),
            ));
        }
    }
    for child in json_children(content, root, &["Resources"]).unwrap_or_default() {
        if let Some(key) = child.key {
            let range = (
                index.line_of(child.start),
                index.line_of(child.end.saturating_sub(1)),
            );
            out.resources.entry(key).or_insert(range);
        }
    }
    out
}

fn line_no(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Whether a YAML/JSON file is probably a CloudFormation (or SAM) template.
///
/// The engine calls this on every `.yaml`/`.json`/`.template` file, so it
/// only looks at the text: the format version marker, or a top-level
/// `Resources` section with an `AWS::`/`Custom::` resource type.
pub fn looks_like_cloudformation(content: &str) -> bool {
    static RESOURCES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?m)^(Resources[ \t]*:|[ \t]*"Resources"[ \t]*:)|[{,][ \t]*"Resources"[ \t]*:"#,
        )
        .expect("constant regex")
    });
    static TYPE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?m)(^[ \t]*(-[ \t]+)?Type[ \t]*:|"Type"[ \t]*:)[ \t]*["']?(AWS|Custom|Alexa)::"#,
        )
        .expect("constant regex")
    });
    content.contains("AWSTemplateFormatVersion")
        || (RESOURCES.is_match(content) && TYPE.is_match(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_templates() {
        assert!(looks_like_cloudformation(
            "AWSTemplateFormatVersion: '2010-09-09'\n"
        ));
        assert!(looks_like_cloudformation(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        ));
        assert!(looks_like_cloudformation(
            r#"{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}"#
        ));
        assert!(!looks_like_cloudformation("apiVersion: v1\nkind: Pod\n"));
        assert!(!looks_like_cloudformation(
            "resources:\n  Resources:\n    B:\n      Type: AWS::S3::Bucket\n"
        ));
    }
}
