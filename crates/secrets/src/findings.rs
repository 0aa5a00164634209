//! From matches to findings: one finding per distinct secret, listing every
//! place it occurs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use palisade_core::{
    Finding, FindingDetails, InlineSuppression, Location, Resource, SecretDetails, Verification,
};

use crate::detector::{SecretMatch, SecretValue};
use crate::redact;
use crate::rules::SecretRule;

/// Locations kept per finding; a secret pasted into thousands of files is
/// one problem, and its first places are enough to act on.
const MAX_LOCATIONS: usize = 1000;

/// The commit a match was found in, for history scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub time: DateTime<Utc>,
    /// Longest chain of ancestors within the scan: orders commits made in
    /// the same second (scripts, rebases) parent before child.
    pub generation: u32,
}

/// One place a secret occurs.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub path: String,
    pub commit: Option<CommitInfo>,
    pub found: SecretMatch,
}

/// Accumulates occurrences and groups them by rule and secret.
#[derive(Debug, Default)]
pub struct Collector {
    groups: HashMap<(usize, [u8; 32]), Group>,
}

#[derive(Debug)]
struct Group {
    occurrences: Vec<Occurrence>,
    present_at_head: Option<bool>,
    verification: Option<Verification>,
}

impl Collector {
    pub fn add(&mut self, occurrence: Occurrence) {
        let key = (occurrence.found.rule, occurrence.found.secret_hash);
        self.groups
            .entry(key)
            .or_insert_with(|| Group {
                occurrences: Vec::new(),
                present_at_head: None,
                verification: None,
            })
            .occurrences
            .push(occurrence);
    }

    /// Every distinct secret: its rule, value and occurrences.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = (usize, &SecretValue, &[Occurrence])> {
        self.groups.values().map(|g| {
            let first = &g.occurrences[0];
            (
                first.found.rule,
                &first.found.secret,
                g.occurrences.as_slice(),
            )
        })
    }

    pub(crate) fn set_present_at_head(&mut self, rule: usize, hash: [u8; 32], present: bool) {
        if let Some(group) = self.groups.get_mut(&(rule, hash)) {
            group.present_at_head = Some(present);
        }
    }

    pub(crate) fn set_verification(
        &mut self,
        rule: usize,
        hash: [u8; 32],
        verification: Verification,
    ) {
        if let Some(group) = self.groups.get_mut(&(rule, hash)) {
            group.verification = Some(verification);
        }
    }

    /// The findings, in a stable order (by first location).
    pub fn into_findings(self, rules: &[SecretRule]) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .groups
            .into_values()
            .map(|group| finding(group, rules))
            .collect();
        findings.sort_by(|a, b| {
            let key = |f: &Finding| {
                f.location
                    .as_ref()
                    .map(|l| (l.path.clone(), l.start_line, l.start_column))
            };
            key(a).cmp(&key(b)).then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        findings
    }
}

fn finding(mut group: Group, rules: &[SecretRule]) -> Finding {
    // Oldest commit first, so the first location is where the secret was introduced.
    group.occurrences.sort_by(|a, b| {
        let time = |o: &Occurrence| o.commit.as_ref().map(|c| (c.time, c.generation));
        time(a)
            .cmp(&time(b))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.found.line.cmp(&b.found.line))
    });
    let first = &group.occurrences[0];
    let rule = &rules[first.found.rule];
    let hash = hex::encode(first.found.secret_hash);
    let redacted = redact::redact(first.found.secret.expose());
    let resource = Resource {
        kind: "secret".to_string(),
        id: hash[..16].to_string(),
        file: None,
        account: None,
        region: None,
    };
    let places = group.occurrences.len();
    let mut message = format!(
        "{} {} in {}:{}",
        rule.meta.title, redacted, first.path, first.found.line
    );
    if let Some(commit) = &first.commit {
        message.push_str(&format!(" (commit {})", short(&commit.id)));
    }
    if places > 1 {
        message.push_str(&format!(
            " and {} more place{}",
            places - 1,
            plural(places - 1)
        ));
    }
    let suppression = common_suppression(&group.occurrences);
    let evidence = first.found.evidence.clone();
    let mut locations = group.occurrences.iter().take(MAX_LOCATIONS).map(location);
    let first_location = locations.next();
    let other_locations: Vec<Location> = locations.collect();
    let mut finding = Finding::new(&rule.meta, resource, message)
        .with_evidence(evidence)
        .with_discriminator(&hash);
    finding.location = first_location;
    finding.other_locations = other_locations;
    finding.suppression = suppression;
    finding.details = Some(FindingDetails::Secret(SecretDetails {
        redacted,
        present_at_head: group.present_at_head,
        verification: group.verification,
    }));
    finding
}

/// A secret counts as suppressed only when every place it occurs says so:
/// one allowed copy must not hide another.
fn common_suppression(occurrences: &[Occurrence]) -> Option<InlineSuppression> {
    let mut suppressions = occurrences.iter().map(|o| o.found.suppression.clone());
    let first = suppressions.next().flatten()?;
    suppressions.all(|s| s.is_some()).then_some(first)
}

fn location(occurrence: &Occurrence) -> Location {
    let mut location = Location::lines(
        occurrence.path.clone(),
        occurrence.found.line,
        occurrence.found.line,
    )
    .with_column(occurrence.found.column);
    if let Some(commit) = &occurrence.commit {
        location.commit = Some(commit.id.clone());
        location.author = Some(commit.author.clone());
        location.committed_at = Some(commit.time);
    }
    location
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
