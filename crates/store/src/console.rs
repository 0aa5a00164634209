//! Read models for the web console: the dashboard's counts and trend, and a
//! findings list with filters, two sort orders and keyset pagination, cheap
//! at any depth of a 100,000-finding store.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use palisade_core::Severity;
use serde::Serialize;

// Queries are assembled from constant fragments only; values are always bound.
use sqlx::AssertSqlSafe;

use crate::error::{Error, Result};
use crate::model::Status;
use crate::store::{parse_ts, ts, Store};

/// Which findings by status the console lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum StatusFilter {
    /// Open or reopened: what someone has to act on.
    #[default]
    Actionable,
    Only(Status),
    All,
}

impl StatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Actionable => "actionable",
            StatusFilter::Only(status) => status.as_str(),
            StatusFilter::All => "all",
        }
    }
}

impl FromStr for StatusFilter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "actionable" => Ok(StatusFilter::Actionable),
            "all" => Ok(StatusFilter::All),
            other => other.parse().map(StatusFilter::Only).map_err(
                |e: crate::model::ParseStatusError| Error::invalid("status", e.to_string()),
            ),
        }
    }
}

/// The order of the findings list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum FindingSort {
    /// Most severe first, then oldest first.
    #[default]
    Severity,
    /// Most recently seen first.
    LastSeen,
}

impl FindingSort {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSort::Severity => "severity",
            FindingSort::LastSeen => "last_seen",
        }
    }
}

impl FromStr for FindingSort {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "severity" => Ok(FindingSort::Severity),
            "last_seen" => Ok(FindingSort::LastSeen),
            other => Err(Error::invalid(
                "sort",
                format!("`{other}`: expected severity or last_seen"),
            )),
        }
    }
}

/// A page request of the console's findings list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub status: StatusFilter,
    pub min_severity: Option<Severity>,
    pub engine: Option<String>,
    pub category: Option<String>,
    pub rule_id: Option<String>,
    /// Text that the resource id, file path or rule id contains.
    pub text: Option<String>,
    /// Only actionable findings past their SLA due date.
    pub overdue_only: bool,
    pub sort: FindingSort,
    /// Where the previous page ended ([`FindingsPage::next_cursor`]).
    pub after: Option<String>,
    pub limit: u32,
}

/// One line of the findings list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FindingSummary {
    pub id: i64,
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub severity: String,
    pub category: String,
    pub engine: String,
    pub scope: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub file_path: Option<String>,
    pub status: String,
    pub first_seen: String,
    pub last_seen: String,
    pub sla_due_at: Option<String>,
    #[serde(skip)]
    severity_rank: i64,
}

/// One page of the findings list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingsPage {
    pub findings: Vec<FindingSummary>,
    /// How many findings match the filters, on all pages.
    pub total: u64,
    /// The `after` of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Counts for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// Open and reopened findings per severity, most severe first (all five listed).
    pub actionable_by_severity: Vec<(Severity, u64)>,
    /// Open and reopened findings per category, largest first.
    pub actionable_by_category: Vec<(String, u64)>,
    pub actionable: u64,
    /// Actionable findings past their SLA due date, per severity (most severe first).
    pub overdue_by_severity: Vec<(Severity, u64)>,
    pub suppressed: u64,
    /// Open and reopened findings at the end of each of the last days, oldest first.
    pub trend: Vec<(NaiveDate, u64)>,
}

const ACTIONABLE: &str = "('open', 'reopened')";

fn rank_of(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

fn severity_of_rank(rank: i64) -> Option<Severity> {
    Severity::ALL_DESCENDING
        .into_iter()
        .find(|s| rank_of(*s) == rank)
}

/// A cursor: the sort key of the last row of a page, `~`-separated.
fn cursor_of(sort: FindingSort, row: &FindingSummary) -> String {
    match sort {
        FindingSort::Severity => format!("{}~{}~{}", row.severity_rank, row.first_seen, row.id),
        FindingSort::LastSeen => format!("{}~{}", row.last_seen, row.id),
    }
}

/// The parts of a cursor: (severity rank, timestamp, id).
fn parse_cursor(sort: FindingSort, cursor: &str) -> Result<(i64, String, i64)> {
    let bad = || Error::invalid("page cursor", "not one this list produced");
    let parts: Vec<&str> = cursor.split('~').collect();
    let (rank, time, id) = match (sort, parts.as_slice()) {
        (FindingSort::Severity, [rank, time, id]) => (rank.parse().map_err(|_| bad())?, *time, *id),
        (FindingSort::LastSeen, [time, id]) => (0, *time, *id),
        _ => return Err(bad()),
    };
    parse_ts("page cursor", time).map_err(|_| bad())?;
    Ok((rank, time.to_string(), id.parse().map_err(|_| bad())?))
}

impl Store {
    /// One page of the console's findings list.
    pub async fn findings_page(
        &self,
        query: &FindingQuery,
        now: DateTime<Utc>,
    ) -> Result<FindingsPage> {
        self.expire_suppressions_if_due(now).await?;
        let limit = query.limit.clamp(1, 500);
        let (status_any, status_one) = match query.status {
            StatusFilter::Actionable => (false, None),
            StatusFilter::Only(status) => (false, Some(status.as_str())),
            StatusFilter::All => (true, None),
        };
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| format!("%{}%", t.replace(['%', '_', '\\'], "")));
        let filters = format!(
            "(?1 OR (?2 IS NULL AND status IN {ACTIONABLE}) OR status = ?2) \
             AND severity_rank >= ?3 \
             AND (?4 IS NULL OR engine = ?4) \
             AND (?5 IS NULL OR category = ?5) \
             AND (?6 IS NULL OR rule_id = ?6) \
             AND (?7 IS NULL OR resource_id LIKE ?7 OR file_path LIKE ?7 OR rule_id LIKE ?7) \
             AND (NOT ?8 OR (status IN {ACTIONABLE} AND sla_due_at IS NOT NULL AND sla_due_at < ?9))"
        );
        let (keyset, order) = match query.sort {
            FindingSort::Severity => (
                "(?10 IS NULL OR severity_rank < ?10 OR (severity_rank = ?10 AND \
                 (first_seen > ?11 OR (first_seen = ?11 AND id > ?12))))",
                "severity_rank DESC, first_seen ASC, id ASC",
            ),
            FindingSort::LastSeen => (
                "(?10 IS NULL OR (last_seen, id) < (?11, ?12))",
                "last_seen DESC, id DESC",
            ),
        };
        let cursor = query
            .after
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| parse_cursor(query.sort, c))
            .transpose()?;
        let sql = format!(
            "SELECT id, fingerprint, rule_id, \
             COALESCE(json_extract(finding, '$.title'), rule_id) AS title, severity, category, \
             engine, scope, resource_kind, resource_id, file_path, status, first_seen, last_seen, \
             sla_due_at, severity_rank \
             FROM findings WHERE {filters} AND {keyset} ORDER BY {order} LIMIT ?13"
        );
        let mut findings: Vec<FindingSummary> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(status_any)
            .bind(status_one)
            .bind(query.min_severity.map_or(0, rank_of))
            .bind(query.engine.as_deref())
            .bind(query.category.as_deref())
            .bind(query.rule_id.as_deref())
            .bind(text.as_deref())
            .bind(query.overdue_only)
            .bind(ts(now))
            .bind(cursor.as_ref().map(|c| c.0))
            .bind(cursor.as_ref().map(|c| c.1.as_str()))
            .bind(cursor.as_ref().map(|c| c.2))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let more = findings.len() > limit as usize;
        findings.truncate(limit as usize);
        let next_cursor = if more {
            findings.last().map(|row| cursor_of(query.sort, row))
        } else {
            None
        };
        let count_sql = format!("SELECT COUNT(*) FROM findings WHERE {filters}");
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
            .bind(status_any)
            .bind(status_one)
            .bind(query.min_severity.map_or(0, rank_of))
            .bind(query.engine.as_deref())
            .bind(query.category.as_deref())
            .bind(query.rule_id.as_deref())
            .bind(text.as_deref())
            .bind(query.overdue_only)
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(FindingsPage {
            findings,
            total: u64::try_from(total).unwrap_or(0),
            next_cursor,
        })
    }

    /// The distinct engines and categories of stored findings, for filter menus.
    pub async fn finding_facets(&self) -> Result<(Vec<String>, Vec<String>)> {
        let engines = sqlx::query_scalar("SELECT DISTINCT engine FROM findings ORDER BY engine")
            .fetch_all(&self.pool)
            .await?;
        let categories =
            sqlx::query_scalar("SELECT DISTINCT category FROM findings ORDER BY category")
                .fetch_all(&self.pool)
                .await?;
        Ok((engines, categories))
    }

    /// The dashboard's counts, with a trend over the `days` days up to `now`.
    pub async fn dashboard(&self, now: DateTime<Utc>, days: u32) -> Result<Dashboard> {
        self.expire_suppressions_if_due(now).await?;
        let by_rank: Vec<(i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT severity_rank, COUNT(*), \
             SUM(CASE WHEN sla_due_at IS NOT NULL AND sla_due_at < ? THEN 1 ELSE 0 END) \
             FROM findings WHERE status IN {ACTIONABLE} GROUP BY severity_rank"
        )))
        .bind(ts(now))
        .fetch_all(&self.pool)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut actionable_by_severity = Vec::new();
        let mut overdue_by_severity = Vec::new();
        for severity in Severity::ALL_DESCENDING {
            let row = by_rank.iter().find(|r| r.0 == rank_of(severity));
            actionable_by_severity.push((severity, row.map_or(0, |r| count(r.1))));
            overdue_by_severity.push((severity, row.map_or(0, |r| count(r.2))));
        }
        debug_assert!(by_rank.iter().all(|r| severity_of_rank(r.0).is_some()));
        let actionable = actionable_by_severity.iter().map(|s| s.1).sum();
        let actionable_by_category: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT category, COUNT(*) AS n FROM findings WHERE status IN {ACTIONABLE} \
             GROUP BY category ORDER BY n DESC, category"
        )))
        .fetch_all(&self.pool)
        .await?;
        let suppressed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE status = 'suppressed'")
                .fetch_one(&self.pool)
                .await?;

        // Walk back from today's count: each day's net change is the findings
        // that became actionable minus those that stopped being so.
        let today = now.date_naive();
        let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
        let since = first_day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let changes: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT substr(at, 1, 10) AS day, SUM(CASE \
               WHEN to_status IN {ACTIONABLE} AND (from_status IS NULL OR from_status NOT IN {ACTIONABLE}) THEN 1 \
               WHEN from_status IN {ACTIONABLE} AND to_status NOT IN {ACTIONABLE} THEN -1 \
               ELSE 0 END) \
             FROM finding_events WHERE at >= ? GROUP BY day"
        )))
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await?;
        let changes: BTreeMap<NaiveDate, i64> = changes
            .into_iter()
            .filter_map(|(day, n)| Some((day.parse().ok()?, n)))
            .collect();
        let mut trend = Vec::new();
        let mut open = i64::try_from(actionable).unwrap_or(i64::MAX);
        let mut day = today;
        while day >= first_day {
            trend.push((day, u64::try_from(open).unwrap_or(0)));
            open -= changes.get(&day).copied().unwrap_or(0);
            day -= Duration::days(1);
        }
        trend.reverse();

        Ok(Dashboard {
            actionable_by_severity,
            actionable_by_category: actionable_by_category
                .into_iter()
                .map(|(c, n)| (c, count(n)))
                .collect(),
            actionable,
            overdue_by_severity,
            suppressed: count(suppressed),
            trend,
        })
    }
}
