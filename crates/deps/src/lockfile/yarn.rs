//! `yarn.lock`: classic (v1, yarn's own format) and berry (v2+, YAML with a
//! `__metadata` entry). Workspace, link and patch entries are skipped;
//! yarn.lock does not say which packages are direct.

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

fn parse_classic(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, bool)> = None;
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
            let first = header.split(", ").next().unwrap_or(header);
            // `file:` and `link:` descriptors are not registry packages.
            let registry = !header.contains("@file:") && !header.contains("@link:");
            current = Some((descriptor_name(first).to_string(), index + 1, registry));
            continue;
        }
        if let (Some((name, header_line, true)), Some(version)) = (
            &current,
            line.strip_prefix("  version ")
                .map(|v| v.trim().trim_matches('"')),
        ) {
            out.push(
                Package::new(Ecosystem::Npm, name, version, path)
                    .at_line(u32::try_from(*header_line).unwrap_or(u32::MAX)),
            );
        }
        if let (Some(package), Some(integrity)) =
            (out.last_mut(), line.strip_prefix("  integrity "))
        {
            package.hashes.push(integrity.trim().to_string());
        }
    }
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
    let mut out = Vec::new();
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
        out.push(package);
    }
    Ok(out)
}
