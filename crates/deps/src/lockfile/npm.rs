//! `package-lock.json` / `npm-shrinkwrap.json`: lockfileVersion 2 and 3 from
//! `packages` (keyed by install path), version 1 from the nested
//! `dependencies` tree. Linked (workspace) entries are skipped; direct means
//! installed at the top level and named by the root package.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::LineFinder;
use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Value = serde_json::from_str(content)
        .map_err(|e| Error::parse_at(path, e.line(), e.to_string()))?;
    let Some(lock) = lock.as_object() else {
        return Err(Error::parse(path, "expected a JSON object"));
    };
    let version = lock
        .get("lockfileVersion")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if version > 3 {
        return Err(Error::Unsupported {
            path: path.to_string(),
            what: format!("lockfileVersion {version}"),
        });
    }
    match lock.get("packages").and_then(Value::as_object) {
        Some(packages) if version >= 2 => Ok(from_packages(path, content, packages)),
        _ => {
            let mut out = Vec::new();
            let mut lines = LineFinder::new(content);
            if let Some(dependencies) = lock.get("dependencies").and_then(Value::as_object) {
                from_v1(path, dependencies, true, &mut lines, &mut out);
            }
            Ok(out)
        }
    }
}

fn dependency_names(entry: &Map<String, Value>) -> HashSet<String> {
    [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ]
    .iter()
    .filter_map(|key| entry.get(*key).and_then(Value::as_object))
    .flat_map(|deps| deps.keys().cloned())
    .collect()
}

fn from_packages(path: &str, content: &str, packages: &Map<String, Value>) -> Vec<Package> {
    let roots = packages
        .get("")
        .and_then(Value::as_object)
        .map(dependency_names)
        .unwrap_or_default();
    let mut lines = LineFinder::new(content);
    let mut out = Vec::new();
    for (install_path, entry) in packages {
        if install_path.is_empty() {
            continue;
        }
        let line = lines.find(&format!("\"{install_path}\""));
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if entry.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(version) = entry.get("version").and_then(Value::as_str) else {
            continue;
        };
        let Some(installed_as) = install_path.rsplit("node_modules/").next() else {
            continue;
        };
        if !install_path.contains("node_modules/") {
            // A workspace package's own folder.
            continue;
        }
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(installed_as);
        let top_level = install_path == &format!("node_modules/{installed_as}");
        let mut package = Package::new(Ecosystem::Npm, name, version, path)
            .direct(top_level && roots.contains(installed_as));
        package.line = line;
        if let Some(integrity) = entry.get("integrity").and_then(Value::as_str) {
            package.hashes.push(integrity.to_string());
        }
        package.dependencies = dependency_names(entry)
            .iter()
            .filter_map(|dependency| resolve(packages, install_path, dependency))
            .collect();
        package.dependencies.sort();
        out.push(package);
    }
    out
}

/// The purl of the copy of `dependency` that the package installed at
/// `from` loads: Node's resolution, from its own `node_modules` upwards.
fn resolve(packages: &Map<String, Value>, from: &str, dependency: &str) -> Option<String> {
    let mut base = from.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{dependency}")
        } else {
            format!("{base}/node_modules/{dependency}")
        };
        if let Some(entry) = packages.get(&candidate).and_then(Value::as_object) {
            let version = entry.get("version").and_then(Value::as_str)?;
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(dependency);
            return Some(crate::inventory::purl(&Ecosystem::Npm, name, version));
        }
        if base.is_empty() {
            return None;
        }
        match base.rfind("/node_modules/") {
            Some(at) => base.truncate(at),
            None => base.clear(),
        }
    }
}

fn from_v1(
    path: &str,
    dependencies: &Map<String, Value>,
    top_level: bool,
    lines: &mut LineFinder<'_>,
    out: &mut Vec<Package>,
) {
    for (name, entry) in dependencies {
        let line = lines.find(&format!("\"{name}\": {{"));
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if let Some(version) = entry.get("version").and_then(Value::as_str) {
            // `file:` and `git+` versions are not registry versions.
            if !version.contains(':') {
                // Version 1 hoists transitive packages to the top level
                // without saying which the root asked for.
                let mut package = Package::new(Ecosystem::Npm, name, version, path);
                if !top_level {
                    package.direct = Some(false);
                }
                package.line = line;
                if let Some(integrity) = entry.get("integrity").and_then(Value::as_str) {
                    package.hashes.push(integrity.to_string());
                }
                out.push(package);
            }
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            from_v1(path, nested, false, lines, out);
        }
    }
}
