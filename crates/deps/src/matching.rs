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

/// Advisories by `(OSV ecosystem, normalised package name)`: what each says
/// about the package in compact form (enough to judge a version), and the
/// full records of those that may be reported.
///
/// An index built from records ([`AdvisoryIndex::insert`]) holds every full
/// record. A scan builds it from the store's compact rows
/// ([`AdvisoryIndex::insert_compact`]), judges its packages
/// ([`AdvisoryIndex::judge`]) and then adds the full records of the matches
/// only ([`AdvisoryIndex::add_record`]) before making findings.
#[derive(Debug, Default, Clone)]
pub struct AdvisoryIndex {
    by_package: HashMap<(String, String), Vec<Candidate>>,
    full: HashMap<Arc<str>, Arc<Record>>,
}

/// A record id and the compact form of what it says about one package.
type Candidate = (Arc<str>, String);

impl AdvisoryIndex {
    /// Adds a record under every package it names; withdrawn records are dropped.
    pub fn insert(&mut self, record: Record) {
        if record.is_withdrawn() {
            return;
        }
        let id: Arc<str> = Arc::from(record.id.as_str());
        for (ecosystem, name, compact) in record.compact_packages() {
            let entry = self.by_package.entry((ecosystem, name)).or_default();
            if !entry.iter().any(|(known, _)| *known == id) {
                entry.push((id.clone(), compact));
            }
        }
        self.full.insert(id, Arc::new(record));
    }

    /// Adds what record `id` says about package `name` (normalised) of
    /// `ecosystem`, in compact form (as the store keeps it).
    pub fn insert_compact(&mut self, ecosystem: String, name: String, id: &str, compact: String) {
        let entry = self.by_package.entry((ecosystem, name)).or_default();
        if !entry.iter().any(|(known, _)| &**known == id) {
            entry.push((Arc::from(id), compact));
        }
    }

    /// Adds a full record (one that matched) for the findings to describe.
    pub fn add_record(&mut self, record: Record) {
        self.full
            .insert(Arc::from(record.id.as_str()), Arc::new(record));
    }

    /// Builds full records from their JSON (as the store keeps them), parsing
    /// on every core; returns how many did not parse.
    pub fn add_records_json(&mut self, records: &[String]) -> usize {
        use rayon::prelude::*;
        let parsed: Vec<Option<Record>> = records
            .par_iter()
            .map(|json| serde_json::from_str::<Record>(json).ok())
            .collect();
        let mut unreadable = 0;
        for record in parsed {
            match record {
                Some(record) => self.add_record(record),
                None => unreadable += 1,
            }
        }
        unreadable
    }

    /// Number of (package, advisory) pairs held.
    pub fn candidates(&self) -> usize {
        self.by_package.values().map(Vec::len).sum()
    }

    /// Every CVE id the full records name (ids, aliases, upstream).
    pub fn cve_ids(&self) -> Vec<String> {
        let mut cves: Vec<String> = self
            .full
            .values()
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

    fn get(&self, ecosystem: &str, name: &str) -> &[Candidate] {
        self.by_package
            .get(&(ecosystem.to_string(), normalize_name(ecosystem, name)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Judges every package against its candidate advisories.
    pub fn judge(&self, packages: &[Package]) -> Judged {
        use rayon::prelude::*;
        let per_package: Vec<(Vec<IdHit>, Vec<Arc<str>>)> = packages
            .par_iter()
            .map(|package| {
                let ecosystem = package.ecosystem.osv_name();
                let scheme = Some(package.ecosystem.version_scheme());
                let mut hits = Vec::new();
                let mut git = Vec::new();
                for (id, compact) in self.get(&ecosystem, package.advisory_name()) {
                    let verdict = crate::compact::verdict(compact, &package.version, scheme);
                    if verdict.git_ranges_ignored {
                        git.push(id.clone());
                    }
                    if verdict.affected {
                        hits.push((id.clone(), verdict.fixed));
                    }
                }
                (hits, git)
            })
            .collect();
        let mut judged = Judged::default();
        for (hits, git) in per_package {
            judged
                .git_ranges_ignored
                .extend(git.iter().map(|id| id.to_string()));
            judged.hits.push(hits);
        }
        judged
    }
}

/// A matching advisory (by id) and the fixed versions of the ranges that matched.
type IdHit = (Arc<str>, Vec<String>);

/// The advisories affecting each package, in the order of the packages judged.
#[derive(Debug, Default)]
pub struct Judged {
    hits: Vec<Vec<IdHit>>,
    /// Advisories with GIT ranges that could not be judged, by id.
    pub git_ranges_ignored: BTreeSet<String>,
}

impl Judged {
    /// The ids of every advisory that matched some package.
    pub fn record_ids(&self) -> Vec<String> {
        let ids: BTreeSet<&str> = self.hits.iter().flatten().map(|(id, _)| &**id).collect();
        ids.into_iter().map(str::to_string).collect()
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
    /// Matched advisories whose full record was not in the index (skipped).
    pub missing_records: usize,
}

/// Matches every package against the index.
pub fn match_packages(
    packages: &[Package],
    index: &AdvisoryIndex,
    exploitation: &Exploitation,
) -> MatchOutput {
    let judged = index.judge(packages);
    findings(packages, judged, index, exploitation)
}

/// Turns judged packages into findings, one per package, file and
/// vulnerability (aliases merged); `judged` must come from
/// [`AdvisoryIndex::judge`] over the same `packages`.
pub fn findings(
    packages: &[Package],
    judged: Judged,
    index: &AdvisoryIndex,
    exploitation: &Exploitation,
) -> MatchOutput {
    let rule = &builtin_rules()[0];
    let mut output = MatchOutput {
        git_ranges_ignored: judged.git_ranges_ignored,
        ..MatchOutput::default()
    };
    let mut seen = HashSet::new();
    for (package, id_hits) in packages.iter().zip(judged.hits) {
        let mut hits: Vec<Hit> = Vec::new();
        for (id, fixed) in id_hits {
            match index.full.get(&id) {
                Some(record) => hits.push((record.clone(), fixed)),
                None => output.missing_records += 1,
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
