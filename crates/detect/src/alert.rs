//! Alerts: what rule matches become before the store deduplicates them.
//!
//! A Sigma rule's matches are grouped by rule and entity (the actor, else
//! the source IP); matches of one group closer together than the dedup
//! window make one alert. Correlation and SQL matches are one alert each,
//! their entity being the group-by values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use palisade_core::Severity;
use serde::Serialize;

use crate::correlation::{CorrelationMatch, MAX_EVENT_IDS};
use crate::engine::{Hit, RuleKind, RuleSet};
use crate::sql::SqlMatch;

/// An alert to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// The rule's key.
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub kind: RuleKind,
    pub source: Option<String>,
    /// Who or what it is about.
    pub entity: String,
    pub first_time: DateTime<Utc>,
    pub last_time: DateTime<Utc>,
    /// Matched events.
    pub count: u64,
    /// Up to [`MAX_EVENT_IDS`] matched event ids.
    pub event_ids: Vec<String>,
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default()
}

/// The entity of a group: its only value, or `field=value` pairs.
fn group_entity(group: &BTreeMap<String, String>) -> String {
    match group.len() {
        0 => "-".to_string(),
        1 => group.values().next().cloned().unwrap_or_default(),
        _ => group
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Builds the alerts of one run. `dedup_window` is in microseconds.
pub fn build_alerts(
    set: &RuleSet,
    hits: &[Hit],
    correlations: &[CorrelationMatch],
    sql: &[SqlMatch],
    dedup_window: i64,
) -> Vec<Alert> {
    let rules = set.rules();
    let mut groups: BTreeMap<(usize, String), Vec<&Hit>> = BTreeMap::new();
    for hit in hits.iter().filter(|h| rules[h.rule].alerts) {
        let entity = hit.entity.clone().unwrap_or_else(|| "-".to_string());
        groups.entry((hit.rule, entity)).or_default().push(hit);
    }
    let mut alerts = Vec::new();
    let new_alert =
        |rule: usize, entity: String, first: i64, last: i64, count: u64, ids: Vec<String>| {
            let info = &rules[rule];
            Alert {
                rule: info.key.clone(),
                title: info.title.clone(),
                severity: info.severity,
                kind: info.kind,
                source: info.source.clone(),
                entity,
                first_time: time(first),
                last_time: time(last),
                count,
                event_ids: ids,
            }
        };
    for ((rule, entity), mut hits) in groups {
        hits.sort_by_key(|h| h.time);
        let mut cluster: Vec<&Hit> = Vec::new();
        let flush = |cluster: &mut Vec<&Hit>, alerts: &mut Vec<Alert>| {
            let (Some(first), Some(last)) = (cluster.first(), cluster.last()) else {
                return;
            };
            let mut ids: Vec<String> = Vec::new();
            for hit in cluster.iter() {
                if let Some(id) = &hit.event_id {
                    if ids.len() < MAX_EVENT_IDS && !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
            }
            alerts.push(new_alert(
                rule,
                entity.clone(),
                first.time,
                last.time,
                cluster.len() as u64,
                ids,
            ));
            cluster.clear();
        };
        for hit in hits {
            if cluster
                .last()
                .is_some_and(|last| hit.time - last.time > dedup_window)
            {
                flush(&mut cluster, &mut alerts);
            }
            cluster.push(hit);
        }
        flush(&mut cluster, &mut alerts);
    }
    for found in correlations.iter().filter(|c| rules[c.rule].alerts) {
        alerts.push(new_alert(
            found.rule,
            group_entity(&found.group),
            found.first_time,
            found.last_time,
            found.count,
            found.event_ids.clone(),
        ));
    }
    for found in sql {
        alerts.push(new_alert(
            found.rule,
            group_entity(&found.group),
            found.first_time,
            found.last_time,
            found.count,
            found.event_ids.clone(),
        ));
    }
    alerts.sort_by(|a, b| {
        (a.first_time, &a.rule, &a.entity).cmp(&(b.first_time, &b.rule, &b.entity))
    });
    alerts
}
