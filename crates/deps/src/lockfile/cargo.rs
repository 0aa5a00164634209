//! `Cargo.lock` (versions 1 to 4): every package with a `source` (registry
//! or git); workspace members (no source) are the roots, and what they depend
//! on is direct. Dependency edges are kept.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::LineFinder;
use crate::error::{Error, Result};
use crate::inventory::{purl, Ecosystem, Package};

#[derive(Deserialize)]
struct Lock {
    version: Option<u32>,
    #[serde(default)]
    package: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Lock = toml::from_str(content).map_err(|e| Error::parse(path, e.message()))?;
    if lock.version.is_some_and(|v| v > 4) {
        return Err(Error::Unsupported {
            path: path.to_string(),
            what: format!("Cargo.lock version {}", lock.version.unwrap_or_default()),
        });
    }
    // A dependency is written `name`, `name version` or `name version (source)`.
    let mut versions_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for entry in &lock.package {
        versions_of
            .entry(entry.name.as_str())
            .or_default()
            .push(entry.version.as_str());
    }
    let resolve = |dependency: &str| -> Option<(String, String)> {
        let mut parts = dependency.split_whitespace();
        let name = parts.next()?;
        let version = match parts.next() {
            Some(version) => version.to_string(),
            None => (*versions_of.get(name)?.first()?).to_string(),
        };
        Some((name.to_string(), version))
    };
    let mut direct: HashSet<(String, String)> = HashSet::new();
    for entry in lock.package.iter().filter(|e| e.source.is_none()) {
        direct.extend(entry.dependencies.iter().filter_map(|d| resolve(d)));
    }
    let mut lines = LineFinder::new(content);
    let mut packages = Vec::new();
    for entry in &lock.package {
        let line = lines.find_line(&format!("name = \"{}\"", entry.name));
        if entry.source.is_none() {
            continue;
        }
        let mut package = Package::new(Ecosystem::CratesIo, &entry.name, &entry.version, path)
            .direct(direct.contains(&(entry.name.clone(), entry.version.clone())));
        package.line = line;
        if let Some(checksum) = &entry.checksum {
            package.hashes.push(format!("sha256:{checksum}"));
        }
        package.dependencies = entry
            .dependencies
            .iter()
            .filter_map(|d| resolve(d))
            .map(|(name, version)| purl(&Ecosystem::CratesIo, &name, &version))
            .collect();
        packages.push(package);
    }
    Ok(packages)
}
