//! OSV advisories (ossf.github.io/osv-schema): the record model, reading
//! records from a JSON file, a directory or an OSV `all.zip` export (with
//! size limits), and OSV's rules for whether a record affects a version.
//!
//! Evaluation follows the schema's "Evaluation" section: for each `affected`
//! entry of the package, a version is affected when it is listed in
//! `versions`, or when, walking the `SEMVER`/`ECOSYSTEM` range's events in
//! version order, the last `introduced` at or below it is not followed by a
//! `fixed` at or below it or a `last_affected` below it, and it is below a
//! `limit` when the range has any. `GIT` ranges (commit hashes) cannot be
//! judged against a version and are ignored. Withdrawn records affect nothing.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::inventory::Ecosystem;
use crate::version::VersionScheme;

/// One OSV record, with the fields palisade uses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<AffectedPackage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AffectedPackage {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub url: String,
}

pub use crate::compact::Verdict;

impl Record {
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.as_deref().is_some_and(|w| !w.is_empty())
    }

    /// The `(ecosystem, normalised name)` pairs the record names, for indexing.
    pub fn package_keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = self
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| (p.ecosystem.clone(), normalize_name(&p.ecosystem, &p.name)))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The `(ecosystem, normalised name, compact form)` of every package the
    /// record names: the store's scan-time index rows (see [`crate::compact`]).
    pub fn compact_packages(&self) -> Vec<(String, String, String)> {
        self.package_keys()
            .into_iter()
            .map(|(ecosystem, name)| {
                let compact = crate::compact::encode(self, &ecosystem, &name);
                (ecosystem, name, compact)
            })
            .collect()
    }

    /// Judges `version` of package `name` in `ecosystem` (an OSV ecosystem string).
    pub fn verdict(&self, ecosystem: &str, name: &str, version: &str) -> Verdict {
        let compact = crate::compact::encode(self, ecosystem, &normalize_name(ecosystem, name));
        let scheme = Ecosystem::from_osv(ecosystem).map(|e| e.version_scheme());
        crate::compact::verdict(&compact, version, scheme)
    }
}

/// Package names as each ecosystem compares them.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match Ecosystem::from_osv(ecosystem) {
        Some(e) => e.normalize_name(name),
        None => name.to_string(),
    }
}

/// Whether `version` falls in a range of `events`, by OSV's evaluation rules.
pub fn range_contains(events: &[Event], version: &str, scheme: VersionScheme) -> bool {
    use crate::compact::Bound;
    let mut bounds: Vec<Bound<'_>> = events
        .iter()
        .filter_map(|e| {
            if let Some(v) = &e.introduced {
                Some(Bound::Introduced(v))
            } else if let Some(v) = &e.fixed {
                Some(Bound::Fixed(v))
            } else if let Some(v) = &e.last_affected {
                Some(Bound::LastAffected(v))
            } else {
                e.limit.as_deref().map(Bound::Limit)
            }
        })
        .collect();
    crate::compact::bounds_contain(&mut bounds, version, scheme)
}

/// Bounds on what an import reads, so a hostile archive cannot exhaust memory or disk.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest single record (file or archive entry), decompressed.
    pub max_record_bytes: u64,
    /// Most bytes decompressed from one archive in total.
    pub max_total_bytes: u64,
    /// Most entries read from one archive.
    pub max_entries: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_record_bytes: 16 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 5_000_000,
        }
    }
}

/// A record as read, with its JSON text (what the store keeps).
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub record: Record,
    pub json: String,
}

/// A record that could not be read; the import goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProblem {
    pub entry: String,
    pub message: String,
}

fn parse_record(entry: &str, bytes: &[u8]) -> std::result::Result<RawRecord, ReadProblem> {
    let record: Record = serde_json::from_slice(bytes).map_err(|e| ReadProblem {
        entry: entry.to_string(),
        message: format!("not an OSV record: {e}"),
    })?;
    if record.id.is_empty() || record.id.chars().any(char::is_control) {
        return Err(ReadProblem {
            entry: entry.to_string(),
            message: "OSV record without a usable id".into(),
        });
    }
    // Keep the compact form of what was read (unknown fields dropped).
    let json = serde_json::to_string(&record).map_err(|e| ReadProblem {
        entry: entry.to_string(),
        message: e.to_string(),
    })?;
    Ok(RawRecord { record, json })
}

/// Reads OSV records from `path`: an `all.zip` export, a directory (searched
/// recursively for `*.json`) or one JSON file. `each` receives every record;
/// unreadable records are returned as problems, archive-level failures
/// (not a zip, limits exceeded) as errors.
pub fn read_records(
    path: &Path,
    limits: &ReadLimits,
    each: &mut dyn FnMut(RawRecord),
) -> Result<Vec<ReadProblem>> {
    let shown = path.display().to_string();
    let mut problems = Vec::new();
    if path.is_dir() {
        let walker = ignore::WalkBuilder::new(path)
            .standard_filters(false)
            .follow_links(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker.flatten() {
            let file = entry.path();
            if !entry.file_type().is_some_and(|t| t.is_file())
                || file.extension().is_none_or(|e| e != "json")
            {
                continue;
            }
            let name = file.display().to_string();
            match read_file_bounded(file, limits.max_record_bytes) {
                Ok(bytes) => match parse_record(&name, &bytes) {
                    Ok(record) => each(record),
                    Err(problem) => problems.push(problem),
                },
                Err(error) => problems.push(ReadProblem {
                    entry: name,
                    message: error.to_string(),
                }),
            }
        }
        return Ok(problems);
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
    let mut magic = [0u8; 4];
    let is_zip = file.read_exact(&mut magic).is_ok() && &magic == b"PK\x03\x04";
    drop(file);
    if !is_zip {
        let bytes = read_file_bounded(path, limits.max_record_bytes)?;
        match parse_record(&shown, &bytes) {
            Ok(record) => each(record),
            Err(problem) => problems.push(problem),
        }
        return Ok(problems);
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| Error::Archive {
            path: shown.clone(),
            message: format!("not a readable zip archive: {e}"),
        })?;
    if archive.len() > limits.max_entries {
        return Err(Error::TooLarge {
            path: shown,
            what: format!("archive of {} entries", archive.len()),
            limit: limits.max_entries as u64,
        });
    }
    let mut total = 0u64;
    let mut buffer = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| Error::Archive {
            path: shown.clone(),
            message: format!("entry {index}: {e}"),
        })?;
        let entry_name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {index}"));
        if !entry.is_file() || !entry_name.ends_with(".json") {
            continue;
        }
        let name = format!("{shown}!{entry_name}");
        buffer.clear();
        // Never trust the sizes the archive declares: read at most one byte past the limit.
        let read = (&mut entry)
            .take(limits.max_record_bytes + 1)
            .read_to_end(&mut buffer);
        if let Err(e) = read {
            problems.push(ReadProblem {
                entry: name,
                message: format!("cannot decompress: {e}"),
            });
            continue;
        }
        total += buffer.len() as u64;
        if total > limits.max_total_bytes {
            return Err(Error::TooLarge {
                path: shown,
                what: "decompressed archive".into(),
                limit: limits.max_total_bytes,
            });
        }
        if buffer.len() as u64 > limits.max_record_bytes {
            problems.push(ReadProblem {
                entry: name,
                message: format!(
                    "record larger than the {}-byte limit",
                    limits.max_record_bytes
                ),
            });
            continue;
        }
        match parse_record(&name, &buffer) {
            Ok(record) => each(record),
            Err(problem) => problems.push(problem),
        }
    }
    Ok(problems)
}

fn read_file_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&shown, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: shown,
            what: "record".into(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(json: &str) -> Vec<Event> {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn introduced_fixed_pairs_in_any_order() {
        let e = events(
            r#"[{"introduced":"2.0.0"},{"fixed":"2.5.0"},{"introduced":"0"},{"fixed":"1.5.0"}]"#,
        );
        let s = VersionScheme::Semver;
        assert!(range_contains(&e, "0.1.0", s));
        assert!(range_contains(&e, "1.4.9", s));
        assert!(!range_contains(&e, "1.5.0", s));
        assert!(!range_contains(&e, "1.9.0", s));
        assert!(range_contains(&e, "2.0.0", s));
        assert!(!range_contains(&e, "2.5.0", s));
    }

    #[test]
    fn last_affected_includes_its_version_and_limit_bounds() {
        let s = VersionScheme::Semver;
        let e = events(r#"[{"introduced":"1.0.0"},{"last_affected":"1.2.0"}]"#);
        assert!(range_contains(&e, "1.2.0", s));
        assert!(!range_contains(&e, "1.2.1", s));
        assert!(!range_contains(&e, "0.9.0", s));
        let e = events(r#"[{"introduced":"0"},{"limit":"3.0.0"}]"#);
        assert!(range_contains(&e, "2.9.9", s));
        assert!(!range_contains(&e, "3.0.0", s));
    }
}
