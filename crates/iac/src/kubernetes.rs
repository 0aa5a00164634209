//! Kubernetes manifests: multi-document YAML, JSON (one object, a stream of
//! objects, or an array), `kind: List` and typed `*List` objects.
//!
//! Every object becomes one [`IacResource`] with the whole object as its
//! attributes. Documents that are not Kubernetes objects (no `apiVersion`
//! or `kind`: Helm values, empty documents) and tool configuration that
//! merely borrows the format (kustomization, kubeconfig, kind clusters) are
//! skipped silently, since the engine offers any YAML that looks like a
//! manifest and these are not mistakes.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::cloudformation::source::{
    indent, is_content, json_children, parse_yaml, skip_ws, split_documents, LineIndex,
};
use crate::model::{Framework, IacResource, ParsedSet};

/// How deep `List`s of `List`s are flattened; real ones never nest.
const MAX_LIST_DEPTH: usize = 4;

/// Every object of one manifest file.
pub fn parse(rel_path: &str, content: &str) -> ParsedSet {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let trimmed = content.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let json = parse_json(rel_path, content);
        // JSON is also YAML; a file that fails as JSON from its first value
        // may still be YAML flow style, and deserves that chance.
        if json.resources.is_empty() && !json.errors.is_empty() {
            let yaml = parse_yaml_stream(rel_path, content);
            if yaml.errors.is_empty() {
                return yaml;
            }
        }
        return json;
    }
    parse_yaml_stream(rel_path, content)
}

fn parse_yaml_stream(rel_path: &str, content: &str) -> ParsedSet {
    let mut out = ParsedSet::default();
    let mut template_error: Option<(Option<u32>, usize)> = None;
    for chunk in split_documents(content) {
        match parse_yaml(chunk.text, chunk.line_offset) {
            Ok(document) if chunk.text.contains("{{") && has_template_key(&document, 0) => {
                // `key: {{ .Values.x }}` parses as a nested flow mapping
                // used as a key: the document is a template, not an object.
                let entry = template_error.get_or_insert((Some(chunk.start_line), 0));
                entry.1 += 1;
            }
            Ok(document) => {
                let item_lines = || yaml_item_lines(chunk.text, chunk.line_offset);
                collect(
                    rel_path,
                    document,
                    (chunk.start_line, chunk.end_line),
                    &item_lines,
                    0,
                    &mut out,
                );
            }
            Err((line, message)) => {
                if chunk.text.contains("{{") {
                    // One error per file: every document of a template fails
                    // the same way and the fix is the same.
                    let entry = template_error.get_or_insert((line, 0));
                    entry.1 += 1;
                } else {
                    out.errors.push(palisade_core::ScanError {
                        path: rel_path.to_string(),
                        line,
                        message: format!("invalid YAML in Kubernetes manifest: {message}"),
                    });
                }
            }
        }
    }
    if let Some((line, count)) = template_error {
        out.errors.push(palisade_core::ScanError {
            path: rel_path.to_string(),
            line,
            message: format!(
                "looks like a Helm/Go template (`{{{{ ... }}}}`), not plain YAML: {count} document(s) \
                 could not be parsed; render it first (`helm template`) and scan the output"
            ),
        });
    }
    out
}

fn parse_json(rel_path: &str, content: &str) -> ParsedSet {
    let mut out = ParsedSet::default();
    let index = LineIndex::new(content);
    let mut stream = serde_json::Deserializer::from_str(content).into_iter::<Value>();
    let mut previous_end = 0;
    while let Some(next) = stream.next() {
        match next {
            Ok(document) => {
                let end = stream.byte_offset();
                let start = skip_ws(content.as_bytes(), previous_end);
                previous_end = end;
                let range = (index.line_of(start), index.line_of(end.saturating_sub(1)));
                if let Value::Array(items) = document {
                    // A bare JSON array of objects: treat it like a List.
                    let spans = json_children(content, start, &[]).unwrap_or_default();
                    for (i, item) in items.into_iter().enumerate() {
                        let range = spans
                            .get(i)
                            .map(|s| {
                                (
                                    index.line_of(s.start),
                                    index.line_of(s.end.saturating_sub(1)),
                                )
                            })
                            .unwrap_or(range);
                        collect(rel_path, item, range, &|| None, 1, &mut out);
                    }
                } else {
                    let item_lines = json_item_lines(content, start, &index, &document);
                    collect(
                        rel_path,
                        document,
                        range,
                        &|| item_lines.clone(),
                        0,
                        &mut out,
                    );
                }
            }
            Err(error) => {
                out.errors.push(palisade_core::ScanError {
                    path: rel_path.to_string(),
                    line: u32::try_from(error.line()).ok().filter(|l| *l > 0),
                    message: format!("invalid JSON in Kubernetes manifest: {error}"),
                });
                break;
            }
        }
    }
    out
}

/// Whether some mapping key is itself a mapping (stringified as `{...}`),
/// which plain manifests never have and unrendered `{{ }}` always produce.
fn has_template_key(value: &Value, depth: usize) -> bool {
    match value {
        Value::Object(map) if depth < 256 => map
            .iter()
            .any(|(k, v)| k.starts_with('{') || has_template_key(v, depth + 1)),
        Value::Array(items) if depth < 256 => items.iter().any(|v| has_template_key(v, depth + 1)),
        _ => false,
    }
}

/// Line ranges of the `items` of a JSON List, when the list is one.
fn json_item_lines(
    content: &str,
    start: usize,
    index: &LineIndex,
    document: &Value,
) -> Option<Vec<(u32, u32)>> {
    document.get("items")?.as_array()?;
    let spans = json_children(content, start, &["items"])?;
    Some(
        spans
            .iter()
            .map(|s| {
                (
                    index.line_of(s.start),
                    index.line_of(s.end.saturating_sub(1)),
                )
            })
            .collect(),
    )
}

/// Line ranges of the entries of a top-level `items:` sequence in one YAML
/// document: each `- ` line at the entries' indentation starts one.
fn yaml_item_lines(text: &str, line_offset: u32) -> Option<Vec<(u32, u32)>> {
    let lines: Vec<&str> = text.lines().collect();
    let items_at = lines.iter().position(|l| {
        indent(l) == 0
            && l.strip_prefix("items")
                .is_some_and(|r| r.trim_start().starts_with(':'))
    })?;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut entry_indent = None;
    for (i, line) in lines.iter().enumerate().skip(items_at + 1) {
        if !is_content(line) {
            continue;
        }
        let depth = indent(line);
        let trimmed = line.trim_start();
        let is_entry = trimmed == "-" || trimmed.starts_with("- ");
        let expected = *entry_indent.get_or_insert(depth);
        if depth < expected || (depth == expected && !is_entry) {
            break;
        }
        if depth == expected {
            ranges.push((i, i));
        } else if let Some(last) = ranges.last_mut() {
            last.1 = i;
        }
    }
    let base = line_offset as usize + 1;
    Some(
        ranges
            .into_iter()
            .map(|(a, b)| (to_u32(a + base), to_u32(b + base)))
            .collect(),
    )
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Adds one document's objects: the object itself, or a list's items.
fn collect(
    rel_path: &str,
    document: Value,
    range: (u32, u32),
    item_lines: &dyn Fn() -> Option<Vec<(u32, u32)>>,
    depth: usize,
    out: &mut ParsedSet,
) {
    let Value::Object(mut object) = document else {
        return;
    };
    let (Some(api_version), Some(kind)) = (
        object
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        object
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_string),
    ) else {
        return;
    };
    if is_tool_config(&api_version, &kind) {
        return;
    }
    if kind.ends_with("List") && object.get("items").is_some_and(Value::is_array) {
        if depth >= MAX_LIST_DEPTH {
            return;
        }
        let Some(Value::Array(items)) = object.remove("items") else {
            return;
        };
        let ranges = item_lines().filter(|r| r.len() == items.len());
        // Items of typed lists (`DeploymentList`) may omit their own kind.
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        for (i, item) in items.into_iter().enumerate() {
            let mut item = item;
            if let Value::Object(fields) = &mut item {
                if let Some(item_kind) = item_kind {
                    fields
                        .entry("kind")
                        .or_insert_with(|| Value::String(item_kind.to_string()));
                }
                fields
                    .entry("apiVersion")
                    .or_insert_with(|| Value::String(api_version.clone()));
            }
            let item_range = ranges
                .as_ref()
                .and_then(|r| r.get(i))
                .copied()
                .unwrap_or(range);
            collect(rel_path, item, item_range, &|| None, depth + 1, out);
        }
        return;
    }
    let metadata = object.get("metadata");
    let text = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
    let name = text("name")
        .or_else(|| text("generateName"))
        .unwrap_or("")
        .to_string();
    let address = if is_cluster_scoped(&kind) {
        format!("{kind}/{name}")
    } else {
        let namespace = text("namespace")
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        format!("{namespace}/{kind}/{name}")
    };
    out.resources.push(IacResource {
        framework: Framework::Kubernetes,
        kind,
        address,
        name,
        file: rel_path.to_string(),
        start_line: range.0,
        end_line: range.1,
        attributes: Value::Object(object),
    });
}

/// Files in manifest format that configure tools rather than describe
/// cluster objects; no check applies to them.
fn is_tool_config(api_version: &str, kind: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or("");
    group == "kustomize.config.k8s.io"
        || group == "kind.x-k8s.io"
        || group.starts_with("skaffold")
        || group.ends_with(".config.k8s.io")
        || (api_version == "v1" && kind == "Config")
}

/// Kinds that live outside namespaces (built-in and common add-ons).
/// Custom resources default to namespaced, which is the common case.
fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PriorityClass"
            | "PodSecurityPolicy"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "APIService"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "VolumeSnapshotClass"
            | "VolumeSnapshotContent"
            | "RuntimeClass"
            | "IngressClass"
            | "CertificateSigningRequest"
            | "ComponentStatus"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "ClusterIssuer"
            | "ClusterPolicy"
            | "ClusterPolicyReport"
            | "ClusterSecretStore"
            | "GatewayClass"
            | "IPAddressPool"
            | "ClusterTrustBundle"
            | "ServiceCIDR"
            | "IPAddress"
            | "DeviceClass"
    )
}

/// Whether a YAML/JSON file is probably a Kubernetes manifest.
///
/// The engine calls this on every `.yaml`/`.json` file, so it only looks at
/// the text: top-level `apiVersion:` and `kind:` lines, or JSON keys.
pub fn looks_like_kubernetes(content: &str) -> bool {
    static YAML_API: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^apiVersion[ \t]*:[ \t]*\S").expect("constant regex"));
    static YAML_KIND: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^kind[ \t]*:[ \t]*\S").expect("constant regex"));
    static JSON_API: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""apiVersion"\s*:\s*""#).expect("constant regex"));
    static JSON_KIND: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""kind"\s*:\s*""#).expect("constant regex"));
    (YAML_API.is_match(content) && YAML_KIND.is_match(content))
        || (JSON_API.is_match(content) && JSON_KIND.is_match(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_manifests() {
        assert!(looks_like_kubernetes("apiVersion: v1\nkind: Pod\n"));
        assert!(looks_like_kubernetes(
            r#"{"apiVersion": "v1", "kind": "Pod"}"#
        ));
        assert!(!looks_like_kubernetes("apiVersion: v2\nname: chart\n"));
        assert!(!looks_like_kubernetes(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        ));
    }
}
