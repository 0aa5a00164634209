//! `pom.xml`: the dependencies a project declares, with the versions Maven
//! would resolve for them from local files:
//!
//! - `${property}` references, from the POM's own `<properties>`, its
//!   parents' (a child's win) and `${project.version}` / `${project.groupId}`
//!   / `${project.parent.version}`;
//! - versions left to `<dependencyManagement>`: the POM's own, its parents',
//!   and BOMs it imports (`<scope>import</scope>`, `<type>pom</type>`),
//!   Maven's precedence: the POM's own entries, then its imports in order,
//!   then its parent's;
//! - parents are read from `<relativePath>` (default `../pom.xml`, when its
//!   coordinates match), else found by coordinates; BOMs by coordinates. A
//!   lookup by coordinates (the caller's [`PomFinder`]) searches the scanned
//!   tree and the local Maven repository.
//!
//! The packages are the POM's own `<dependencies>` (not those of
//! `<dependencyManagement>`, `<build>` plugins or `<profiles>`; dependencies
//! inherited from a parent are the parent's to report). Version ranges and
//! versions nothing resolves are left out.

use std::collections::HashMap;

use super::IncludeReader;
use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

/// Finds a POM by `(groupId, artifactId, version)`: its shown path and text.
pub type PomFinder<'a> = dyn FnMut(&str, &str, &str) -> Option<(String, String)> + 'a;

/// Most parent and import levels followed (Maven itself has no limit, cycles are errors).
const MAX_DEPTH: usize = 12;

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

/// Blanks out every `open`...`close` region with spaces of the same byte
/// length (newlines kept), so offsets and line numbers stay intact.
fn blank(xml: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find(close)
            .map(|e| start + e + close.len())
            .unwrap_or(rest.len());
        for c in rest[start..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
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

/// Coordinates as written (before property resolution).
#[derive(Debug, Clone, Default)]
struct Declared {
    group: String,
    artifact: String,
    version: Option<String>,
    scope: String,
    kind: String,
    offset: usize,
}

fn declared(offset: usize, block: &str) -> Option<Declared> {
    Some(Declared {
        group: element(block, "groupId")?.to_string(),
        artifact: element(block, "artifactId")?.to_string(),
        version: element(block, "version").map(str::to_string),
        scope: element(block, "scope").unwrap_or("compile").to_string(),
        kind: element(block, "type").unwrap_or("jar").to_string(),
        offset,
    })
}

/// One POM's own declarations.
#[derive(Debug, Default)]
struct Pom {
    group: Option<String>,
    artifact: Option<String>,
    version: Option<String>,
    parent: Option<(Declared, Option<String>)>,
    properties: HashMap<String, String>,
    managed: Vec<Declared>,
    dependencies: Vec<Declared>,
}

fn read_pom(path: &str, content: &str) -> Result<Pom> {
    let xml = blank(content, "<!--", "-->");
    if !xml.contains("<project") {
        return Err(Error::parse(path, "no <project> element"));
    }
    // Profiles, build plugins and the parent do not declare the project's own coordinates or dependencies.
    let without_profiles = blank(&xml, "<profiles>", "</profiles>");
    let own = blank(&without_profiles, "<build>", "</build>");
    let mut pom = Pom::default();
    if let Some(parent) = element(&own, "parent") {
        if let Some(mut declared) = declared(0, parent) {
            declared.kind = "pom".into();
            // `<relativePath/>`: no relative path, look the parent up by coordinates.
            let relative = element(parent, "relativePath")
                .map(str::to_string)
                .or_else(|| {
                    (parent.contains("<relativePath/>") || parent.contains("<relativePath />"))
                        .then(String::new)
                });
            pom.parent = Some((declared, relative));
        }
    }
    let top = blank(&own, "<parent>", "</parent>");
    let top = blank(&top, "<dependencyManagement>", "</dependencyManagement>");
    let top = blank(&top, "<dependencies>", "</dependencies>");
    pom.group = element(&top, "groupId").map(str::to_string);
    pom.artifact = element(&top, "artifactId").map(str::to_string);
    pom.version = element(&top, "version").map(str::to_string);
    if let Some(props) = element(&top, "properties") {
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
            pom.properties.insert(
                name.to_string(),
                rest[name_end + 1..value_end].trim().to_string(),
            );
            rest = &rest[value_end + close.len()..];
        }
    }
    if let Some(management) = element(&own, "dependencyManagement") {
        pom.managed = blocks(management, "dependency")
            .into_iter()
            .filter_map(|(offset, block)| declared(offset, block))
            .collect();
    }
    let dependencies = blank(&own, "<dependencyManagement>", "</dependencyManagement>");
    pom.dependencies = blocks(&dependencies, "dependency")
        .into_iter()
        .filter_map(|(offset, block)| declared(offset, block))
        .collect();
    Ok(pom)
}

/// What a POM and its ancestry resolve: properties and managed versions.
#[derive(Debug, Default, Clone)]
struct Effective {
    group: Option<String>,
    version: Option<String>,
    properties: HashMap<String, String>,
    /// Managed versions by `group:artifact`.
    managed: HashMap<String, String>,
}

struct Resolver<'r, 'a, 'b> {
    read_include: &'r mut IncludeReader<'a>,
    find_pom: &'r mut PomFinder<'b>,
}

impl Resolver<'_, '_, '_> {
    /// The parent POM: at its relative path when the coordinates match, else by coordinates.
    fn parent(
        &mut self,
        from: &str,
        parent: &Declared,
        relative: Option<&str>,
    ) -> Option<(String, String)> {
        let relative = relative.unwrap_or("../pom.xml");
        if !relative.is_empty() {
            let name = if relative.ends_with(".xml") {
                relative.to_string()
            } else {
                format!("{}/pom.xml", relative.trim_end_matches('/'))
            };
            if let Some((shown, text)) = (self.read_include)(from, &name) {
                if let Ok(pom) = read_pom(&shown, &text) {
                    let group = pom
                        .group
                        .as_deref()
                        .or(pom.parent.as_ref().map(|p| p.0.group.as_str()));
                    if pom.artifact.as_deref() == Some(parent.artifact.as_str())
                        && group == Some(parent.group.as_str())
                    {
                        return Some((shown, text));
                    }
                }
            }
        }
        let version = parent.version.as_deref()?;
        (self.find_pom)(&parent.group, &parent.artifact, version)
    }

    fn effective(&mut self, path: &str, pom: &Pom, depth: usize) -> Effective {
        let mut effective = Effective::default();
        if depth < MAX_DEPTH {
            if let Some((parent, relative)) = &pom.parent {
                if let Some((shown, text)) = self.parent(path, parent, relative.as_deref()) {
                    if let Ok(parent_pom) = read_pom(&shown, &text) {
                        effective = self.effective(&shown, &parent_pom, depth + 1);
                    }
                }
                if let Some(version) = &parent.version {
                    effective
                        .properties
                        .insert("project.parent.version".into(), version.clone());
                    effective.version.get_or_insert_with(|| version.clone());
                }
                effective.group.get_or_insert_with(|| parent.group.clone());
            }
        }
        if let Some(group) = &pom.group {
            effective.group = Some(group.clone());
        }
        if let Some(version) = &pom.version {
            effective.version = Some(version.clone());
        }
        effective.properties.extend(pom.properties.clone());
        for (key, value) in [
            ("project.version", &effective.version),
            ("pom.version", &effective.version),
            ("version", &effective.version),
            ("project.groupId", &effective.group),
            ("pom.groupId", &effective.group),
            ("groupId", &effective.group),
            ("project.artifactId", &pom.artifact),
        ] {
            if let Some(value) = value {
                effective.properties.insert(key.into(), value.clone());
            }
        }
        // Precedence: own entries, then imported BOMs in order, then the parent's.
        let inherited = std::mem::take(&mut effective.managed);
        let mut managed: HashMap<String, String> = HashMap::new();
        let mut imported: Vec<HashMap<String, String>> = Vec::new();
        for entry in &pom.managed {
            let (Some(group), Some(artifact)) = (
                resolve(&entry.group, &effective.properties),
                resolve(&entry.artifact, &effective.properties),
            ) else {
                continue;
            };
            let Some(version) = entry
                .version
                .as_deref()
                .and_then(|v| resolve(v, &effective.properties))
            else {
                continue;
            };
            if entry.scope == "import" && entry.kind == "pom" {
                if depth < MAX_DEPTH {
                    if let Some((shown, text)) = (self.find_pom)(&group, &artifact, &version) {
                        if let Ok(bom) = read_pom(&shown, &text) {
                            imported.push(self.effective(&shown, &bom, depth + 1).managed);
                        }
                    }
                }
                continue;
            }
            managed
                .entry(format!("{group}:{artifact}"))
                .or_insert(version);
        }
        for bom in imported {
            for (key, version) in bom {
                managed.entry(key).or_insert(version);
            }
        }
        for (key, version) in inherited {
            managed.entry(key).or_insert(version);
        }
        effective.managed = managed;
        effective
    }
}

pub(super) fn parse(
    path: &str,
    content: &str,
    read_include: &mut IncludeReader<'_>,
    find_pom: &mut PomFinder<'_>,
) -> Result<Vec<Package>> {
    let pom = read_pom(path, content)?;
    let effective = Resolver {
        read_include,
        find_pom,
    }
    .effective(path, &pom, 0);
    let xml = blank(content, "<!--", "-->");
    let mut out = Vec::new();
    for dependency in &pom.dependencies {
        let (Some(group), Some(artifact)) = (
            resolve(&dependency.group, &effective.properties),
            resolve(&dependency.artifact, &effective.properties),
        ) else {
            continue;
        };
        let key = format!("{group}:{artifact}");
        let version = match &dependency.version {
            Some(version) => resolve(version, &effective.properties),
            None => effective.managed.get(&key).cloned(),
        };
        let Some(version) = version else {
            tracing::debug!(path, dependency = %key, "no version resolved; left out");
            continue;
        };
        if version.starts_with(['[', '(']) || version.is_empty() {
            continue;
        }
        out.push(
            Package::new(Ecosystem::Maven, key, version, path)
                .direct(dependency.scope != "import")
                .at_line(super::line_at(&xml, dependency.offset)),
        );
    }
    Ok(out)
}

/// The coordinates a POM declares for itself (`groupId`, `artifactId`,
/// `version`, the group and version inherited from `<parent>` when absent).
pub(super) fn coordinates(content: &str) -> Option<(String, String, String)> {
    let pom = read_pom("", content).ok()?;
    let parent = pom.parent.as_ref().map(|p| &p.0);
    let group = pom.group.or_else(|| parent.map(|p| p.group.clone()))?;
    let version = pom
        .version
        .or_else(|| parent.and_then(|p| p.version.clone()))?;
    Some((group, pom.artifact?, version))
}
