//! `composer.lock`: `packages` and `packages-dev`; a leading `v` of tag
//! versions is dropped; branch versions (`dev-main`) are kept as written.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let lock: Value = serde_json::from_str(content)
        .map_err(|e| Error::parse_at(path, e.line(), e.to_string()))?;
    let mut out = Vec::new();
    let mut lines = super::LineFinder::new(content);
    for section in ["packages", "packages-dev"] {
        let Some(entries) = lock.get(section).and_then(Value::as_array) else {
            continue;
        };
        for entry in entries {
            let (Some(name), Some(version)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("version").and_then(Value::as_str),
            ) else {
                continue;
            };
            let line = lines.find(&format!("\"name\": \"{name}\""));
            let version = version.strip_prefix('v').unwrap_or(version);
            let mut package = Package::new(Ecosystem::Packagist, name, version, path);
            package.line = line;
            out.push(package);
        }
    }
    Ok(out)
}
