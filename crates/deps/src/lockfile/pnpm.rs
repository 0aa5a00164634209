//! `pnpm-lock.yaml`, lockfileVersion 5.x, 6.x and 9.x. Packages are the keys
//! of `packages` (`/name/1.0.0` in 5, `/name@1.0.0` in 6, `name@1.0.0` in 9,
//! peer suffixes dropped); direct ones are those the importers (or, in 5, the
//! root) list. Dependency edges come from each entry's `dependencies` and
//! `optionalDependencies` (in 9, from `snapshots`; peer variants of one
//! package are merged).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

fn string_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `(name, version)` of a `packages` key.
fn split_key(key: &str, v5: bool) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    // Peer-dependency suffixes: `(react@18.2.0)` (6, 9) or `_react@18.2.0` (5).
    let key = key.split('(').next().unwrap_or(key);
    if v5 {
        let (name, version) = key.rsplit_once('/')?;
        let version = version.split('_').next().unwrap_or(version);
        return Some((name.to_string(), version.to_string()));
    }
    let at = key.char_indices().skip(1).find(|&(_, c)| c == '@')?.0;
    Some((key[..at].to_string(), key[at + 1..].to_string()))
}

/// `(name, version)` a dependency's locked version points at: a version
/// (peer suffix dropped), an alias (`npm:name@1.0.0`, `name@1.0.0`) or, in
/// 5 and 6, a path key (`/name/1.0.0`, `/name@1.0.0`); `None` for `link:`
/// and `file:` dependencies.
fn dependency_target(name: &str, locked: &str, v5: bool) -> Option<(String, String)> {
    if locked.starts_with("link:") || locked.starts_with("file:") {
        return None;
    }
    if locked.starts_with('/') {
        return split_key(locked, v5);
    }
    let locked = locked.strip_prefix("npm:").unwrap_or(locked);
    let locked = locked.split('(').next().unwrap_or(locked);
    let locked = if v5 {
        locked.split('_').next().unwrap_or(locked)
    } else {
        locked
    };
    match locked.char_indices().skip(1).find(|&(_, c)| c == '@') {
        Some((at, _)) => Some((locked[..at].to_string(), locked[at + 1..].to_string())),
        None => Some((name.to_string(), locked.to_string())),
    }
}

/// Dependency purls by `(name, version)`, from the entries of `section`.
fn edges(section: Option<&Value>, v5: bool) -> HashMap<(String, String), BTreeSet<String>> {
    let mut out: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    let Some(entries) = section.and_then(Value::as_mapping) else {
        return out;
    };
    for (key, entry) in entries {
        let Some((name, version)) = key.as_str().and_then(|k| split_key(k, v5)) else {
            continue;
        };
        let targets = out.entry((name, version)).or_default();
        for section in ["dependencies", "optionalDependencies"] {
            let Some(deps) = entry.get(section).and_then(Value::as_mapping) else {
                continue;
            };
            for (dep, locked) in deps {
                let (Some(dep), Some(locked)) = (dep.as_str(), string_of(locked)) else {
                    continue;
                };
                if let Some((name, version)) = dependency_target(dep, &locked, v5) {
                    targets.insert(crate::inventory::purl(&Ecosystem::Npm, &name, &version));
                }
            }
        }
    }
    out
}

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Value = serde_norway::from_str(content).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        Error::parse_at(path, line, e)
    })?;
    let version = lock
        .get("lockfileVersion")
        .and_then(string_of)
        .ok_or_else(|| Error::parse(path, "no lockfileVersion"))?;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if !(5..=9).contains(&major) {
        return Err(Error::Unsupported {
            path: path.to_string(),
            what: format!("lockfileVersion {version}"),
        });
    }
    let v5 = major == 5;
    let mut direct: HashSet<(String, String)> = HashSet::new();
    let mut add_direct = |deps: &Value| {
        let Some(deps) = deps.as_mapping() else {
            return;
        };
        for (name, spec) in deps {
            let Some(name) = name.as_str() else { continue };
            // 6 and 9: `{ specifier, version }`; 5: the version itself.
            let version = spec
                .get("version")
                .and_then(string_of)
                .or_else(|| string_of(spec));
            if let Some(version) = version {
                let version = version
                    .split(['(', '_'])
                    .next()
                    .unwrap_or(&version)
                    .to_string();
                direct.insert((name.to_string(), version));
            }
        }
    };
    let sections = ["dependencies", "devDependencies", "optionalDependencies"];
    match lock.get("importers").and_then(Value::as_mapping) {
        Some(importers) => {
            for importer in importers.values() {
                for section in sections {
                    if let Some(deps) = importer.get(section) {
                        add_direct(deps);
                    }
                }
            }
        }
        None => {
            for section in sections {
                if let Some(deps) = lock.get(section) {
                    add_direct(deps);
                }
            }
        }
    }
    let mut graph = edges(
        lock.get(if major >= 9 { "snapshots" } else { "packages" }),
        v5,
    );
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut lines = super::LineFinder::new(content);
    if let Some(packages) = lock.get("packages").and_then(Value::as_mapping) {
        for (key, entry) in packages {
            let Some(key) = key.as_str() else { continue };
            let line = lines.find(key);
            let Some((name, version)) = split_key(key, v5) else {
                continue;
            };
            // Tarball and git dependencies carry no registry version.
            if version.contains(':') || !seen.insert((name.clone(), version.clone())) {
                continue;
            }
            let is_direct = direct.contains(&(name.clone(), version.clone()));
            let dependencies = graph
                .remove(&(name.clone(), version.clone()))
                .unwrap_or_default();
            let mut package = Package::new(Ecosystem::Npm, name, version, path).direct(is_direct);
            package.dependencies = dependencies.into_iter().collect();
            package.line = line;
            if let Some(integrity) = entry
                .get("resolution")
                .and_then(|r| r.get("integrity"))
                .and_then(Value::as_str)
            {
                package.hashes.push(integrity.to_string());
            }
            out.push(package);
        }
    }
    Ok(out)
}
