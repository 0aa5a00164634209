//! `pom.xml`: the versions it declares in `<dependency>` elements (also in
//! `<dependencyManagement>`), with `${property}` references resolved from its
//! own `<properties>` and `${project.version}`. Parent POMs, imported BOMs and
//! version ranges are not resolved; such dependencies are left out.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

/// The text of the first `<tag>...</tag>` in `xml`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].trim())
}

/// Every `<tag>...</tag>` block, with its byte offset.
fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<(usize, &'a str)> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = xml[from..].find(&open).map(|s| s + from) {
        let body = start + open.len();
        let Some(end) = xml[body..].find(&close).map(|e| e + body) else {
            break;
        };
        out.push((start, &xml[body..end]));
        from = end + close.len();
    }
    out
}

/// Blanks out comments, keeping offsets (and so line numbers) intact.
fn without_comments(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("-->")
            .map(|e| start + e + 3)
            .unwrap_or(rest.len());
        out.extend(
            rest[start..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn resolve(value: &str, properties: &HashMap<String, String>) -> Option<String> {
    let mut out = value.to_string();
    for _ in 0..8 {
        let Some(start) = out.find("${") else {
            return Some(out);
        };
        let end = out[start..].find('}')? + start;
        let key = &out[start + 2..end];
        let replacement = properties.get(key)?;
        out.replace_range(start..=end, replacement);
    }
    None
}

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let xml = without_comments(content);
    if !xml.contains("<project") {
        return Err(Error::parse(path, "no <project> element"));
    }
    let mut properties = HashMap::new();
    if let Some(props) = element(&xml, "properties") {
        let mut rest = props;
        while let Some(start) = rest.find('<') {
            let Some(name_end) = rest[start..].find('>').map(|e| e + start) else {
                break;
            };
            let name = &rest[start + 1..name_end];
            let close = format!("</{name}>");
            let Some(value_end) = rest[name_end..].find(&close).map(|e| e + name_end) else {
                break;
            };
            properties.insert(
                name.to_string(),
                rest[name_end + 1..value_end].trim().to_string(),
            );
            rest = &rest[value_end + close.len()..];
        }
    }
    // The project's own version: outside <parent>, before its dependencies.
    let head_end = xml.find("<dependencies>").unwrap_or(xml.len());
    let mut head = xml[..head_end].to_string();
    if let (Some(start), Some(end)) = (head.find("<parent>"), head.find("</parent>")) {
        if start < end {
            head.replace_range(start..end, "");
        }
    }
    if let Some(version) = element(&head, "version") {
        properties.insert("project.version".into(), version.to_string());
    }
    let mut out = Vec::new();
    for (offset, block) in blocks(&xml, "dependency") {
        let (Some(group), Some(artifact)) =
            (element(block, "groupId"), element(block, "artifactId"))
        else {
            continue;
        };
        let Some(version) = element(block, "version").and_then(|v| resolve(v, &properties)) else {
            continue;
        };
        if version.starts_with(['[', '(']) || version.is_empty() {
            continue;
        }
        let (Some(group), Some(artifact)) =
            (resolve(group, &properties), resolve(artifact, &properties))
        else {
            continue;
        };
        let scope = element(block, "scope").unwrap_or("compile");
        out.push(
            Package::new(
                Ecosystem::Maven,
                format!("{group}:{artifact}"),
                version,
                path,
            )
            .direct(scope != "import")
            .at_line(super::line_at(&xml, offset)),
        );
    }
    Ok(out)
}
