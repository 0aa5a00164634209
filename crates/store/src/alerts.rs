//! Detection alerts and their webhook deliveries.
//!
//! [`Store::record_alert`] deduplicates: an alert of the same rule and
//! entity whose time range is within the dedup window of the new one
//! absorbs it (times widened, new event ids added, count raised by the
//! events it had not seen). Running the same detections over the same
//! events again therefore changes nothing.

use chrono::{DateTime, Duration, Utc};
use palisade_core::Severity;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts};
use crate::Store;

/// Event ids kept per alert.
pub const MAX_ALERT_EVENT_IDS: usize = 1000;

/// An alert to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    /// `sigma`, `correlation` or `sql`.
    pub kind: String,
    pub source: Option<String>,
    pub entity: String,
    pub first_time: DateTime<Utc>,
    pub last_time: DateTime<Utc>,
    pub count: u64,
    pub event_ids: Vec<String>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAlert {
    pub id: i64,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub kind: String,
    pub source: Option<String>,
    pub entity: String,
    pub first_time: DateTime<Utc>,
    pub last_time: DateTime<Utc>,
    pub count: u64,
    pub event_ids: Vec<String>,
    /// `open` or `acked`.
    pub status: String,
    pub acked_by: Option<String>,
    pub acked_at: Option<DateTime<Utc>>,
    pub ack_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What [`Store::record_alert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    /// A new alert.
    Created(i64),
    /// Merged into this alert, which got new events.
    Updated(i64),
    /// Merged into this alert, which had seen every event already.
    Unchanged(i64),
}

impl AlertChange {
    pub fn id(self) -> i64 {
        match self {
            AlertChange::Created(id) | AlertChange::Updated(id) | AlertChange::Unchanged(id) => id,
        }
    }
}

/// Which alerts [`Store::list_alerts`] returns, newest activity first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// `open` or `acked`; all when `None`.
    pub status: Option<String>,
    pub min_severity: Option<Severity>,
    pub rule: Option<String>,
    pub limit: Option<u32>,
}

/// A webhook delivery to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub alert_id: i64,
    /// Scheme and host only.
    pub target: String,
    pub kind: String,
    pub delivered: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub payload: String,
}

/// A recorded delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDelivery {
    pub id: i64,
    pub alert_id: i64,
    pub target: String,
    pub kind: String,
    pub delivered: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    rule: String,
    title: String,
    severity: String,
    kind: String,
    source: Option<String>,
    entity: String,
    first_time: String,
    last_time: String,
    count: i64,
    event_ids: String,
    status: String,
    acked_by: Option<String>,
    acked_at: Option<String>,
    ack_note: Option<String>,
    created_at: String,
    updated_at: String,
}

macro_rules! alert_columns {
    () => {
        "id, rule, title, severity, kind, source, entity, first_time, last_time, count, event_ids, \
         status, acked_by, acked_at, ack_note, created_at, updated_at"
    };
}

impl AlertRow {
    fn parse(self) -> Result<StoredAlert> {
        let severity = self
            .severity
            .parse::<Severity>()
            .map_err(|e| Error::corrupt(format!("alert {} severity", self.id), e))?;
        let event_ids: Vec<String> = serde_json::from_str(&self.event_ids)
            .map_err(|e| Error::corrupt(format!("alert {} event ids", self.id), e))?;
        Ok(StoredAlert {
            id: self.id,
            rule: self.rule,
            title: self.title,
            severity,
            kind: self.kind,
            source: self.source,
            entity: self.entity,
            first_time: parse_ts("first_time", &self.first_time)?,
            last_time: parse_ts("last_time", &self.last_time)?,
            count: u64::try_from(self.count).unwrap_or(0),
            event_ids,
            status: self.status,
            acked_by: self.acked_by,
            acked_at: self
                .acked_at
                .as_deref()
                .map(|t| parse_ts("acked_at", t))
                .transpose()?,
            ack_note: self.ack_note,
            created_at: parse_ts("created_at", &self.created_at)?,
            updated_at: parse_ts("updated_at", &self.updated_at)?,
        })
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn encode_ids(ids: &[String]) -> Result<String> {
    serde_json::to_string(ids).map_err(|source| Error::Encode {
        what: "alert event ids",
        source,
    })
}

impl Store {
    /// Records `alert`, merging it into an alert of the same rule and entity
    /// whose time range comes within `dedup_window` of it.
    pub async fn record_alert(
        &self,
        alert: &NewAlert,
        dedup_window: Duration,
        now: DateTime<Utc>,
    ) -> Result<AlertChange> {
        if alert.rule.trim().is_empty() {
            return Err(Error::invalid("alert rule", "empty"));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let reach_back = alert.first_time - dedup_window;
        let reach_forward = alert.last_time + dedup_window;
        let existing: Option<AlertRow> = sqlx::query_as(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE rule = ? AND entity = ? AND last_time >= ? AND first_time <= ? \
             ORDER BY last_time DESC LIMIT 1"
        ))
        .bind(&alert.rule)
        .bind(&alert.entity)
        .bind(ts(reach_back))
        .bind(ts(reach_forward))
        .fetch_optional(&mut *tx)
        .await?;
        let change = match existing {
            Some(row) => {
                let stored = row.parse()?;
                let mut ids = stored.event_ids.clone();
                let mut added = 0u64;
                for id in &alert.event_ids {
                    if !ids.contains(id) {
                        added += 1;
                        if ids.len() < MAX_ALERT_EVENT_IDS {
                            ids.push(id.clone());
                        }
                    }
                }
                // Matches without event ids cannot be told apart: count them
                // only when they widen the alert's time range.
                let widened =
                    alert.first_time < stored.first_time || alert.last_time > stored.last_time;
                let extra = if alert.event_ids.is_empty() && widened {
                    alert.count
                } else {
                    added
                };
                if extra == 0 && !widened {
                    AlertChange::Unchanged(stored.id)
                } else {
                    sqlx::query(
                        "UPDATE alerts SET first_time = ?, last_time = ?, count = ?, event_ids = ?, \
                         updated_at = ? WHERE id = ?",
                    )
                    .bind(ts(stored.first_time.min(alert.first_time)))
                    .bind(ts(stored.last_time.max(alert.last_time)))
                    .bind(to_i64(stored.count.saturating_add(extra)))
                    .bind(encode_ids(&ids)?)
                    .bind(ts(now))
                    .bind(stored.id)
                    .execute(&mut *tx)
                    .await?;
                    AlertChange::Updated(stored.id)
                }
            }
            None => {
                let mut ids = alert.event_ids.clone();
                ids.truncate(MAX_ALERT_EVENT_IDS);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alerts (rule, title, severity, kind, source, entity, first_time, \
                     last_time, count, event_ids, status, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
                )
                .bind(&alert.rule)
                .bind(&alert.title)
                .bind(alert.severity.as_str())
                .bind(&alert.kind)
                .bind(&alert.source)
                .bind(&alert.entity)
                .bind(ts(alert.first_time))
                .bind(ts(alert.last_time))
                .bind(to_i64(alert.count))
                .bind(encode_ids(&ids)?)
                .bind(ts(now))
                .bind(ts(now))
                .fetch_one(&mut *tx)
                .await?;
                AlertChange::Created(id)
            }
        };
        tx.commit().await?;
        Ok(change)
    }

    /// One alert.
    pub async fn get_alert(&self, id: i64) -> Result<StoredAlert> {
        let row: Option<AlertRow> = sqlx::query_as(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(Error::AlertNotFound(id))?.parse()
    }

    /// Alerts matching `filter`, latest activity first.
    pub async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
        let rows: Vec<AlertRow> = sqlx::query_as(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR rule = ?2) \
             ORDER BY last_time DESC, id DESC"
        ))
        .bind(&filter.status)
        .bind(&filter.rule)
        .fetch_all(&self.pool)
        .await?;
        let mut alerts = Vec::new();
        for row in rows {
            let alert = row.parse()?;
            if filter.min_severity.is_some_and(|min| alert.severity < min) {
                continue;
            }
            alerts.push(alert);
            if filter
                .limit
                .is_some_and(|limit| alerts.len() >= limit as usize)
            {
                break;
            }
        }
        Ok(alerts)
    }

    /// Acknowledges an alert; returns it as stored afterwards.
    pub async fn ack_alert(
        &self,
        id: i64,
        by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredAlert> {
        let result = sqlx::query(
            "UPDATE alerts SET status = 'acked', acked_by = ?, acked_at = ?, ack_note = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(by)
        .bind(ts(now))
        .bind(note)
        .bind(ts(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(Error::AlertNotFound(id));
        }
        self.get_alert(id).await
    }

    /// Records one webhook delivery (delivered, or a dead letter).
    pub async fn record_delivery(&self, delivery: &NewDelivery, now: DateTime<Utc>) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_deliveries (alert_id, target, kind, delivered, attempts, last_error, \
             payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(delivery.alert_id)
        .bind(&delivery.target)
        .bind(&delivery.kind)
        .bind(delivery.delivered)
        .bind(i64::from(delivery.attempts))
        .bind(&delivery.last_error)
        .bind(&delivery.payload)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Deliveries that failed after every retry, newest first.
    pub async fn dead_letters(&self) -> Result<Vec<StoredDelivery>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            alert_id: i64,
            target: String,
            kind: String,
            delivered: bool,
            attempts: i64,
            last_error: Option<String>,
            payload: String,
            created_at: String,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, alert_id, target, kind, delivered, attempts, last_error, payload, created_at \
             FROM alert_deliveries WHERE delivered = 0 ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StoredDelivery {
                    id: row.id,
                    alert_id: row.alert_id,
                    target: row.target,
                    kind: row.kind,
                    delivered: row.delivered,
                    attempts: u32::try_from(row.attempts).unwrap_or(0),
                    last_error: row.last_error,
                    payload: row.payload,
                    created_at: parse_ts("created_at", &row.created_at)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    fn alert(first: &str, last: &str, ids: &[&str]) -> NewAlert {
        NewAlert {
            rule: "aws_root_activity".into(),
            title: "Root user activity".into(),
            severity: Severity::High,
            kind: "sigma".into(),
            source: Some("cloudtrail".into()),
            entity: "arn:aws:iam::1:root".into(),
            first_time: at(first),
            last_time: at(last),
            count: ids.len() as u64,
            event_ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn alerts_are_deduplicated_within_the_window() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let now = at("2026-12-01T12:00:00Z");
        let window = Duration::hours(1);
        let first = store
            .record_alert(
                &alert("2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", &["a", "b"]),
                window,
                now,
            )
            .await
            .expect("recorded");
        assert!(matches!(first, AlertChange::Created(_)));
        // The same events again: nothing changes.
        let again = store
            .record_alert(
                &alert("2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", &["a", "b"]),
                window,
                now,
            )
            .await
            .expect("recorded");
        assert_eq!(again, AlertChange::Unchanged(first.id()));
        // A new event 30 minutes later merges.
        let merged = store
            .record_alert(
                &alert("2026-12-01T10:35:00Z", "2026-12-01T10:35:00Z", &["b", "c"]),
                window,
                now,
            )
            .await
            .expect("recorded");
        assert_eq!(merged, AlertChange::Updated(first.id()));
        let stored = store.get_alert(first.id()).await.expect("stored");
        assert_eq!(stored.count, 3);
        assert_eq!(stored.event_ids, ["a", "b", "c"]);
        assert_eq!(stored.last_time, at("2026-12-01T10:35:00Z"));
        // Three hours later: a new alert.
        let later = store
            .record_alert(
                &alert("2026-12-01T13:40:00Z", "2026-12-01T13:40:00Z", &["d"]),
                window,
                now,
            )
            .await
            .expect("recorded");
        assert!(matches!(later, AlertChange::Created(id) if id != first.id()));

        let acked = store
            .ack_alert(first.id(), "alice", Some("known admin"), now)
            .await
            .expect("acked");
        assert_eq!(acked.status, "acked");
        assert_eq!(acked.acked_by.as_deref(), Some("alice"));
        let open = store
            .list_alerts(&AlertFilter {
                status: Some("open".into()),
                ..AlertFilter::default()
            })
            .await
            .expect("listed");
        assert_eq!(open.len(), 1);
        assert!(store.ack_alert(999, "alice", None, now).await.is_err());
    }

    #[tokio::test]
    async fn dead_letters_are_the_failed_deliveries() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let now = at("2026-12-01T12:00:00Z");
        let id = store
            .record_alert(
                &alert("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z", &["a"]),
                Duration::hours(1),
                now,
            )
            .await
            .expect("recorded")
            .id();
        for delivered in [true, false] {
            store
                .record_delivery(
                    &NewDelivery {
                        alert_id: id,
                        target: "http://127.0.0.1:9".into(),
                        kind: "json".into(),
                        delivered,
                        attempts: 3,
                        last_error: (!delivered).then(|| "HTTP status 500".into()),
                        payload: "{}".into(),
                    },
                    now,
                )
                .await
                .expect("recorded");
        }
        let dead = store.dead_letters().await.expect("listed");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("HTTP status 500"));
    }
}
