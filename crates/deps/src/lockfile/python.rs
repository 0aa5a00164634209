//! Python: `requirements*.txt` (pins only, `--hash` options, `-r` includes),
//! `poetry.lock`, `Pipfile.lock` and `uv.lock`.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::IncludeReader;
use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

/// How deep `-r` includes may nest (and a guard against include cycles).
const MAX_INCLUDE_DEPTH: usize = 8;

pub(super) fn parse_requirements(
    path: &str,
    content: &str,
    read_include: &mut IncludeReader<'_>,
) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut visited = HashSet::from([path.to_string()]);
    requirements_into(path, content, read_include, &mut visited, 0, &mut out);
    Ok(out)
}

fn requirements_into(
    path: &str,
    content: &str,
    read_include: &mut IncludeReader<'_>,
    visited: &mut HashSet<String>,
    depth: usize,
    out: &mut Vec<Package>,
) {
    // Join `\` continuations, remembering where each logical line starts.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in content.lines().enumerate() {
        let (start, mut text) = pending.take().unwrap_or((index + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                text.push_str(head);
                text.push(' ');
                pending = Some((start, text));
            }
            None => {
                text.push_str(raw);
                logical.push((start, text));
            }
        }
    }
    logical.extend(pending);
    for (line, text) in logical {
        // ` #` starts a comment; a `#` inside a URL fragment does not.
        let text = match text.find(" #") {
            Some(at) => &text[..at],
            None if text.trim_start().starts_with('#') => "",
            None => &text,
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or_default();
        let include = match first {
            "-r" | "--requirement" => words.next(),
            _ => first
                .strip_prefix("--requirement=")
                .or_else(|| first.strip_prefix("-r")),
        };
        if let Some(target) = include.filter(|t| !t.is_empty()) {
            if depth >= MAX_INCLUDE_DEPTH {
                continue;
            }
            if let Some((included_path, included)) = read_include(path, target) {
                if visited.insert(included_path.clone()) {
                    requirements_into(
                        &included_path,
                        &included,
                        read_include,
                        visited,
                        depth + 1,
                        out,
                    );
                }
            }
            continue;
        }
        if first.starts_with('-') {
            // Other options (-c, -e, --index-url ...) declare no pinned package.
            continue;
        }
        let spec = text.split(';').next().unwrap_or(text);
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        let Some((name, version)) = spec.split_once("==") else {
            continue;
        };
        let name = name.split('[').next().unwrap_or(name).trim();
        let version = version.trim_start_matches('=').trim();
        if name.is_empty()
            || version.is_empty()
            || version.contains('*')
            || version.contains(',')
            || name.contains(['/', ':', ' '])
        {
            continue;
        }
        let mut package = Package::new(Ecosystem::PyPI, name, version, path)
            .at_line(u32::try_from(line).unwrap_or(u32::MAX));
        package.hashes = text
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("--hash="))
            .map(str::to_string)
            .collect();
        out.push(package);
    }
}

#[derive(Deserialize)]
struct TomlLock {
    version: Option<toml::Value>,
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct TomlPackage {
    name: String,
    version: Option<String>,
    source: Option<toml::Value>,
    /// uv: an array of `{ name = ... }`; poetry: a table of name to constraint.
    dependencies: Option<toml::Value>,
}

impl TomlPackage {
    /// Names of the packages this one depends on.
    fn dependency_names(&self) -> Vec<String> {
        match &self.dependencies {
            Some(toml::Value::Array(items)) => items
                .iter()
                .filter_map(|d| d.get("name").and_then(toml::Value::as_str))
                .map(str::to_string)
                .collect(),
            Some(toml::Value::Table(table)) => table.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

/// Resolves dependency names to purls, for lockfiles that hold one version per name.
fn dependency_purls(packages: &[TomlPackage]) -> impl Fn(&TomlPackage) -> Vec<String> + '_ {
    let versions: std::collections::HashMap<String, &str> = packages
        .iter()
        .filter_map(|p| {
            p.version
                .as_deref()
                .map(|v| (Ecosystem::PyPI.normalize_name(&p.name), v))
        })
        .collect();
    move |package: &TomlPackage| {
        let mut purls: Vec<String> = package
            .dependency_names()
            .iter()
            .filter_map(|name| {
                let version = versions.get(&Ecosystem::PyPI.normalize_name(name))?;
                Some(crate::inventory::purl(&Ecosystem::PyPI, name, version))
            })
            .collect();
        purls.sort();
        purls
    }
}

pub(super) fn parse_poetry(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: TomlLock = toml::from_str(content).map_err(|e| Error::parse(path, e.message()))?;
    let mut lines = super::LineFinder::new(content);
    let mut out = Vec::new();
    let edges = dependency_purls(&lock.package);
    for entry in &lock.package {
        let line = lines.find_line(&format!("name = \"{}\"", entry.name));
        let Some(version) = &entry.version else {
            continue;
        };
        // Path and git sources are not PyPI releases.
        let source_type = entry
            .source
            .as_ref()
            .and_then(|s| s.get("type"))
            .and_then(toml::Value::as_str);
        if matches!(source_type, Some("directory" | "file" | "git" | "url")) {
            continue;
        }
        let mut package = Package::new(Ecosystem::PyPI, &entry.name, version, path);
        package.line = line;
        package.dependencies = edges(entry);
        out.push(package);
    }
    Ok(out)
}

pub(super) fn parse_uv(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: TomlLock = toml::from_str(content).map_err(|e| Error::parse(path, e.message()))?;
    if let Some(version) = lock.version.as_ref().and_then(toml::Value::as_integer) {
        if version > 1 {
            return Err(Error::Unsupported {
                path: path.to_string(),
                what: format!("uv.lock version {version}"),
            });
        }
    }
    let is_local = |source: &Option<toml::Value>| {
        source.as_ref().is_some_and(|s| {
            ["editable", "virtual", "directory", "path"]
                .iter()
                .any(|k| s.get(*k).is_some())
        })
    };
    // The project itself (editable or virtual) names the direct dependencies.
    let mut direct = HashSet::new();
    for entry in lock.package.iter().filter(|p| is_local(&p.source)) {
        for name in entry.dependency_names() {
            direct.insert(Ecosystem::PyPI.normalize_name(&name));
        }
    }
    let edges = dependency_purls(&lock.package);
    let mut lines = super::LineFinder::new(content);
    let mut out = Vec::new();
    for entry in &lock.package {
        let line = lines.find_line(&format!("name = \"{}\"", entry.name));
        let Some(version) = &entry.version else {
            continue;
        };
        if is_local(&entry.source) {
            continue;
        }
        let is_direct = direct.contains(&Ecosystem::PyPI.normalize_name(&entry.name));
        let mut package =
            Package::new(Ecosystem::PyPI, &entry.name, version, path).direct(is_direct);
        package.line = line;
        package.dependencies = edges(entry);
        out.push(package);
    }
    Ok(out)
}

pub(super) fn parse_pipfile(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Value = serde_json::from_str(content)
        .map_err(|e| Error::parse_at(path, e.line(), e.to_string()))?;
    let mut out = Vec::new();
    let mut lines = super::LineFinder::new(content);
    for section in ["default", "develop"] {
        let Some(entries) = lock.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let line = lines.find(&format!("\"{name}\""));
            let Some(version) = entry
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.strip_prefix("=="))
            else {
                continue;
            };
            let mut package = Package::new(Ecosystem::PyPI, name, version, path);
            package.line = line;
            package.hashes = entry
                .get("hashes")
                .and_then(Value::as_array)
                .map(|h| {
                    h.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.push(package);
        }
    }
    Ok(out)
}
