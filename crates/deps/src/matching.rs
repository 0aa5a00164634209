//! From an inventory and the advisories that name its packages to findings.
//!
//! A package is matched against the records indexed under its ecosystem and
//! (normalised) name; distribution packages under their source package.
//! Records whose ids and aliases overlap are one vulnerability (a GHSA and
//! the PYSEC and CVE records of the same flaw), so they make one finding,
//! identified by its CVE id when it has one (else its smallest record id),
//! per package and file. The finding's severity is the highest CVSS base
//! score among the merged records, else their severity label, else medium.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use palisade_core::{
    Category, Finding, FindingDetails, Location, Resource, Rule, Severity, VulnerabilityDetails,
};

use crate::inventory::Package;
use crate::osv::{normalize_name, Record};
use crate::severity;

/// The rule every dependency vulnerability is reported under.
pub const RULE_ID: &str = "deps.vulnerable-package";

/// Severity when a record gives neither a CVSS vector nor a label.
pub const UNKNOWN_SEVERITY: Severity = Severity::Medium;

/// The rules of this engine, for the registry and docs.
pub fn builtin_rules() -> Vec<Rule> {
    vec![Rule {
        id: RULE_ID.into(),
        title: "Vulnerable dependency".into(),
        severity: Severity::High,
        category: Category::Vulnerability,
        description: "A package in a lockfile, manifest, SBOM or container image is at a version \
                      that a published OSV advisory (GitHub, PyPI, RustSec, Go, Debian, Alpine ...) \
                      says is affected. The finding's severity is the advisory's CVSS base score \
                      (v4.0 or v3.x, computed from its vector), else the database's label; \
                      the rule's severity is only a default."
            .into(),
        remediation: "Upgrade the package to a fixed version (named in the finding) and \
                      regenerate the lockfile; if no fix exists, remove or replace the package, \
                      or suppress the finding with the reason the vulnerable code is unreachable."
            .into(),
        references: Arc::from(vec![
            "https://ossf.github.io/osv-schema/".to_string(),
            "https://osv.dev/".to_string(),
        ]),
        compliance: Arc::default(),
        peers: vec![],
    }]
}

/// Advisories by `(OSV ecosystem, normalised package name)`.
#[derive(Debug, Default, Clone)]
pub struct AdvisoryIndex {
    by_package: HashMap<(String, String), Vec<Arc<Record>>>,
    /// Number of records held.
    pub records: usize,
}

impl AdvisoryIndex {
    /// Adds a record under every package it names; withdrawn records are dropped.
    pub fn insert(&mut self, record: Record) {
        if record.is_withdrawn() {
            return;
        }
        let record = Arc::new(record);
        self.records += 1;
        for key in record.package_keys() {
            let entry = self.by_package.entry(key).or_default();
            if !entry.iter().any(|r| r.id == record.id) {
                entry.push(record.clone());
            }
        }
    }

    /// Builds the index from records' JSON (as the store keeps them), parsing
    /// on every core; returns the index and the records that did not parse.
    pub fn from_json(records: &[String]) -> (AdvisoryIndex, usize) {
        use rayon::prelude::*;
        let parsed: Vec<Option<Record>> = records
            .par_iter()
            .map(|json| serde_json::from_str::<Record>(json).ok())
            .collect();
        let mut index = AdvisoryIndex::default();
        let mut unreadable = 0;
        for record in parsed {
            match record {
                Some(record) => index.insert(record),
                None => unreadable += 1,
            }
        }
        (index, unreadable)
    }

    /// Every CVE id the indexed records name (ids, aliases, upstream).
    pub fn cve_ids(&self) -> Vec<String> {
        let mut cves: Vec<String> = self
            .by_package
            .values()
            .flatten()
            .flat_map(|r| {
                std::iter::once(&r.id)
                    .chain(&r.aliases)
                    .chain(&r.upstream)
                    .filter(|id| id.starts_with("CVE-"))
                    .cloned()
            })
            .collect();
        cves.sort();
        cves.dedup();
        cves
    }

    pub fn get(&self, ecosystem: &str, name: &str) -> &[Arc<Record>] {
        self.by_package
            .get(&(ecosystem.to_string(), normalize_name(ecosystem, name)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Exploitation data from outside OSV (CISA KEV, FIRST EPSS), by CVE id.
#[derive(Debug, Default, Clone)]
pub struct Exploitation {
    pub known_exploited: HashSet<String>,
    pub epss: HashMap<String, f64>,
}

/// What a match run found.
#[derive(Debug, Default)]
pub struct MatchOutput {
    pub findings: Vec<Finding>,
    /// Advisories with GIT ranges that could not be judged, by id.
    pub git_ranges_ignored: BTreeSet<String>,
}

/// Matches every package against the index.
pub fn match_packages(
    packages: &[Package],
    index: &AdvisoryIndex,
    exploitation: &Exploitation,
) -> MatchOutput {
    let rule = &builtin_rules()[0];
    let mut output = MatchOutput::default();
    let mut seen = HashSet::new();
    for package in packages {
        let ecosystem = package.ecosystem.osv_name();
        let name = package.advisory_name();
        let mut hits: Vec<Hit> = Vec::new();
        for record in index.get(&ecosystem, name) {
            let verdict = record.verdict(&ecosystem, name, &package.version);
            if verdict.git_ranges_ignored {
                output.git_ranges_ignored.insert(record.id.clone());
            }
            if verdict.affected {
                hits.push((record.clone(), verdict.fixed));
            }
        }
        for group in merge_aliases(hits) {
            let finding = finding(rule, package, &group, exploitation);
            // One finding per package, version, file and vulnerability.
            if seen.insert((finding.fingerprint.clone(), package.version.clone())) {
                output.findings.push(finding);
            }
        }
    }
    output
}

/// A matching record and the fixed versions of the ranges that matched.
type Hit = (Arc<Record>, Vec<String>);

/// Groups records whose ids or aliases overlap.
fn merge_aliases(hits: Vec<Hit>) -> Vec<Vec<Hit>> {
    let mut groups: Vec<(HashSet<String>, Vec<Hit>)> = Vec::new();
    for hit in hits {
        let ids: HashSet<String> = std::iter::once(hit.0.id.clone())
            .chain(hit.0.aliases.iter().cloned())
            .chain(
                hit.0
                    .upstream
                    .iter()
                    .filter(|u| u.starts_with("CVE-"))
                    .cloned(),
            )
            .collect();
        let mut merged_ids = ids;
        let mut merged_hits = vec![hit];
        let mut i = 0;
        while i < groups.len() {
            if groups[i].0.iter().any(|id| merged_ids.contains(id)) {
                let (ids, hits) = groups.swap_remove(i);
                merged_ids.extend(ids);
                merged_hits.extend(hits);
                i = 0;
            } else {
                i += 1;
            }
        }
        groups.push((merged_ids, merged_hits));
    }
    groups.into_iter().map(|(_, hits)| hits).collect()
}

fn finding(rule: &Rule, package: &Package, group: &[Hit], exploitation: &Exploitation) -> Finding {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for (record, _) in group {
        ids.insert(record.id.clone());
        ids.extend(record.aliases.iter().cloned());
        // Distribution records name the CVE they derive from as `upstream`.
        ids.extend(
            record
                .upstream
                .iter()
                .filter(|u| u.starts_with("CVE-"))
                .cloned(),
        );
    }
    let record_ids: BTreeSet<&str> = group.iter().map(|(r, _)| r.id.as_str()).collect();
    let primary = ids
        .iter()
        .find(|id| id.starts_with("CVE-"))
        .cloned()
        .or_else(|| record_ids.iter().next().map(|id| id.to_string()))
        .unwrap_or_default();
    let mut advisory_ids = vec![primary.clone()];
    advisory_ids.extend(ids.iter().filter(|id| **id != primary).cloned());

    let mut fixed: Vec<String> = group.iter().flat_map(|(_, f)| f.iter().cloned()).collect();
    let scheme = package.ecosystem.version_scheme();
    fixed.sort_by(|a, b| scheme.compare(a, b));
    fixed.dedup();
    // Only fixes newer than what is installed are worth naming.
    fixed.retain(|f| scheme.compare(f, &package.version) == std::cmp::Ordering::Greater);

    let (severity, cvss) = group_severity(package, group);
    let summary = group
        .iter()
        .find_map(|(r, _)| r.summary.clone().filter(|s| !s.is_empty()))
        .or_else(|| {
            group.iter().find_map(|(r, _)| {
                r.details
                    .as_deref()
                    .and_then(|d| d.lines().next())
                    .map(str::to_string)
            })
        })
        .unwrap_or_else(|| "no summary".into());
    let fix_text = if fixed.is_empty() {
        "no fixed version is published".to_string()
    } else {
        format!("fixed in {}", fixed.join(", "))
    };
    let aliases = &advisory_ids[1..];
    let message = format!(
        "{} {} ({}) is affected by {}{}: {}; {}",
        package.name,
        package.version,
        package.ecosystem,
        primary,
        if aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", aliases.join(", "))
        },
        summary.trim_end_matches('.'),
        fix_text
    );
    let known_exploited = ids
        .iter()
        .any(|id| exploitation.known_exploited.contains(id));
    let epss = ids
        .iter()
        .filter_map(|id| exploitation.epss.get(id).copied())
        .fold(None, |max: Option<f64>, p| {
            Some(max.map_or(p, |m| m.max(p)))
        });

    let resource = Resource::in_file(
        format!("{}-package", package.ecosystem.purl_type()),
        package.name.clone(),
        package.source.clone(),
    );
    let mut finding = Finding::new(rule, resource, message)
        .with_location(Location::lines(
            package.source.clone(),
            package.line.unwrap_or(1),
            package.line.unwrap_or(1),
        ))
        .with_evidence(match &package.layer {
            Some(layer) => format!("{}@{} in {layer}", package.name, package.version),
            None => format!("{}@{}", package.name, package.version),
        })
        .with_discriminator(&primary);
    finding.severity = severity;
    let mut references: Vec<String> = record_ids
        .iter()
        .map(|id| format!("https://osv.dev/vulnerability/{id}"))
        .collect();
    for (record, _) in group {
        for reference in record.references.iter().filter(|r| r.kind == "ADVISORY") {
            if !references.contains(&reference.url) {
                references.push(reference.url.clone());
            }
        }
    }
    finding.references = Arc::from(references);
    finding.details = Some(FindingDetails::Vulnerability(VulnerabilityDetails {
        ecosystem: package.ecosystem.osv_name(),
        package: package.name.clone(),
        installed_version: package.version.clone(),
        fixed_versions: fixed,
        purl: package.purl(),
        advisory_ids,
        cvss_score: cvss.as_ref().map(|c| c.score),
        cvss_vector: cvss.map(|c| c.vector),
        known_exploited,
        epss,
        direct: package.direct,
    }));
    finding
}

fn group_severity(package: &Package, group: &[Hit]) -> (Severity, Option<severity::CvssScore>) {
    let ecosystem = package.ecosystem.osv_name();
    let mut best: Option<severity::CvssScore> = None;
    let mut label: Option<Severity> = None;
    for (record, _) in group {
        let affected = record.affected.iter().filter(|a| {
            a.package.as_ref().is_some_and(|p| {
                p.ecosystem == ecosystem
                    && normalize_name(&ecosystem, &p.name)
                        == normalize_name(&ecosystem, package.advisory_name())
            })
        });
        let mut entries: Vec<&crate::osv::SeverityEntry> = Vec::new();
        let mut labels: Vec<&str> = Vec::new();
        for a in affected {
            entries.extend(&a.severity);
            for specific in [&a.ecosystem_specific, &a.database_specific]
                .into_iter()
                .flatten()
            {
                if let Some(l) = specific.get("severity").and_then(|v| v.as_str()) {
                    labels.push(l);
                }
            }
        }
        entries.extend(&record.severity);
        if let Some(l) = record
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(|v| v.as_str())
        {
            labels.push(l);
        }
        // Prefer v4 over v3 within one record.
        let mut scored: Vec<(u8, f64, &str)> = entries
            .iter()
            .filter_map(|e| {
                let rank = match e.kind.as_str() {
                    "CVSS_V4" => 2,
                    "CVSS_V3" => 1,
                    _ => return None,
                };
                severity::base_score(&e.score).map(|s| (rank, s, e.score.as_str()))
            })
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        if let Some((_, score, vector)) = scored.first() {
            if best.as_ref().is_none_or(|b| *score > b.score) {
                best = Some(severity::CvssScore {
                    score: *score,
                    vector: vector.to_string(),
                });
            }
        }
        for l in labels {
            if let Some(s) = severity::from_label(l) {
                label = Some(label.map_or(s, |current| current.max(s)));
            }
        }
    }
    let severity = best
        .as_ref()
        .map(|b| severity::from_score(b.score))
        .or(label)
        .unwrap_or(UNKNOWN_SEVERITY);
    (severity, best)
}
