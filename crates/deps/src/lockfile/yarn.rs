//! `yarn.lock`: classic (v1, yarn's own format) and berry (v2+, YAML with a
//! `__metadata` entry). Workspace, link and patch entries are skipped;
//! yarn.lock does not say which packages are direct. Dependency edges come
//! from each entry's `dependencies` and `optionalDependencies`, resolved
//! through the descriptors (`name@range`) that head the entries.

use std::collections::HashMap;

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    if content.contains("__metadata:") {
        parse_berry(path, content)
    } else {
        parse_classic(path, content)
    }
}

/// The package name of a descriptor `name@range` (`@scope/name@range`).
fn descriptor_name(descriptor: &str) -> &str {
    let descriptor = descriptor.trim().trim_matches('"');
    let at = descriptor
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '@')
        .map(|(i, _)| i);
    match at {
        Some(at) => &descriptor[..at],
        None => descriptor,
    }
}

/// Sets each package's dependencies from `wanted` (per package, the
/// descriptors it asks for), resolved through `resolved` (descriptor to
/// purl); descriptors no entry resolves are left out.
fn link(out: &mut [Package], wanted: Vec<Vec<String>>, resolved: &HashMap<String, String>) {
    for (package, wanted) in out.iter_mut().zip(wanted) {
        let mut dependencies: Vec<String> = wanted
            .iter()
            .filter_map(|descriptor| resolved.get(descriptor).cloned())
            .collect();
        dependencies.sort();
        dependencies.dedup();
        package.dependencies = dependencies;
    }
}

fn parse_classic(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut out: Vec<Package> = Vec::new();
    // Per package, the descriptors of its dependencies.
    let mut wanted: Vec<Vec<String>> = Vec::new();
    let mut resolved: HashMap<String, String> = HashMap::new();
    // The current entry: its name, header line, whether it is a registry
    // package, and its descriptors.
    let mut current: Option<(String, usize, bool, Vec<String>)> = None;
    let mut in_dependencies = false;
    for (index, line) in content.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let Some(header) = line.strip_suffix(':') else {
                return Err(Error::parse_at(
                    path,
                    index + 1,
                    "expected an entry header ending in `:`",
                ));
            };
            let descriptors: Vec<String> = header
                .split(", ")
                .map(|d| d.trim().trim_matches('"').to_string())
                .collect();
            let first = descriptors.first().map_or(header, String::as_str);
            // `file:` and `link:` descriptors are not registry packages.
            let registry = !header.contains("@file:") && !header.contains("@link:");
            current = Some((
                descriptor_name(first).to_string(),
                index + 1,
                registry,
                descriptors,
            ));
            in_dependencies = false;
            continue;
        }
        if let (Some((name, header_line, true, descriptors)), Some(version)) = (
            &current,
            line.strip_prefix("  version ")
                .map(|v| v.trim().trim_matches('"')),
        ) {
            let package = Package::new(Ecosystem::Npm, name, version, path)
                .at_line(u32::try_from(*header_line).unwrap_or(u32::MAX));
            for descriptor in descriptors {
                resolved.insert(descriptor.clone(), package.purl());
            }
            out.push(package);
            wanted.push(Vec::new());
        }
        if let (Some(package), Some(integrity)) =
            (out.last_mut(), line.strip_prefix("  integrity "))
        {
            package.hashes.push(integrity.trim().to_string());
        }
        if let Some(section) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            in_dependencies = matches!(
                section.trim_end(),
                "dependencies:" | "optionalDependencies:"
            );
            continue;
        }
        if in_dependencies {
            // `    name "range"` under the current registry entry.
            let registry_entry = current.as_ref().is_some_and(|c| c.2);
            if let (true, Some(list), Some(dependency)) =
                (registry_entry, wanted.last_mut(), line.strip_prefix("    "))
            {
                let dependency = dependency.trim();
                let (name, range) = match dependency.strip_prefix('"') {
                    Some(quoted) => match quoted.split_once('"') {
                        Some((name, range)) => (name, range),
                        None => continue,
                    },
                    None => dependency.split_once(' ').unwrap_or((dependency, "")),
                };
                list.push(format!("{name}@{}", range.trim().trim_matches('"')));
            }
        }
    }
    link(&mut out, wanted, &resolved);
    Ok(out)
}

fn parse_berry(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Value = serde_norway::from_str(content).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        Error::parse_at(path, line, e)
    })?;
    let Some(entries) = lock.as_mapping() else {
        return Err(Error::parse(path, "expected a YAML mapping"));
    };
    let mut out: Vec<Package> = Vec::new();
    let mut wanted: Vec<Vec<String>> = Vec::new();
    let mut resolved: HashMap<String, String> = HashMap::new();
    let mut lines = super::LineFinder::new(content);
    for (key, entry) in entries {
        let Some(key) = key.as_str() else { continue };
        if key == "__metadata" {
            continue;
        }
        let line = lines.find(key);
        let resolution = entry
            .get("resolution")
            .and_then(Value::as_str)
            .unwrap_or("");
        // `name@npm:1.2.3`; workspace:, link:, portal:, patch: and file: are not registry packages.
        let Some((name, version)) = resolution.rsplit_once("@npm:") else {
            continue;
        };
        let version = entry
            .get("version")
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| version.to_string());
        let mut package = Package::new(Ecosystem::Npm, name, version, path);
        package.line = line;
        if let Some(checksum) = entry.get("checksum").and_then(Value::as_str) {
            package.hashes.push(checksum.to_string());
        }
        for descriptor in key.split(',') {
            resolved.insert(descriptor.trim().to_string(), package.purl());
        }
        let mut descriptors = Vec::new();
        for section in ["dependencies", "optionalDependencies"] {
            let Some(deps) = entry.get(section).and_then(Value::as_mapping) else {
                continue;
            };
            for (name, range) in deps {
                let (Some(name), Some(range)) = (name.as_str(), range.as_str()) else {
                    continue;
                };
                // A range without a protocol is an npm range (`^1.0.0` is `npm:^1.0.0`).
                if range.contains(':') {
                    descriptors.push(format!("{name}@{range}"));
                } else {
                    descriptors.push(format!("{name}@npm:{range}"));
                }
            }
        }
        out.push(package);
        wanted.push(descriptors);
    }
    link(&mut out, wanted, &resolved);
    Ok(out)
}
