//! Read models for the web console: the dashboard's counts and trend, and a
//! findings list with filters, two sort orders and keyset pagination, cheap
//! at any depth of a 100,000-finding store.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use palisade_core::Severity;
use serde::Serialize;

// Queries are assembled from constant fragments only; values are always bound.
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite};

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
    /// How many findings match the filters, on all pages (at most
    /// [`COUNT_CAP`] when not exact).
    pub total: u64,
    /// `false` when more than `total` findings match.
    pub total_is_exact: bool,
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

/// The cursor of `query.after`, if any.
fn parse_query_cursor(query: &FindingQuery) -> Result<Option<(i64, String, i64)>> {
    query
        .after
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| parse_cursor(query.sort, c))
        .transpose()
}

/// Beyond this many matching findings, a filtered list says "N+" instead of
/// counting every match.
pub const COUNT_CAP: u64 = 1_000;

/// Text searches with fewer full-text matches than this read the matches
/// by id and sort them; broader ones walk the list's sort index with a LIKE
/// filter, which finds a page of dense matches within a few hundred rows.
const SEARCH_DIRECT_MAX: i64 = 1_000;

/// How the findings list matches `q=`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextSearch {
    /// The ids the FTS5 trigram index of title, rule, location and asset
    /// matched, as a JSON array: the index is read once per page, not once
    /// per statement.
    FullText(String),
    /// A LIKE pattern over the same four texts (with `\` as escape).
    Like(String),
}

/// The `q=` text as an FTS5 phrase: a substring match under the trigram
/// tokenizer, with no query syntax of its own.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The index a page of the list walks: led by the most selective equality
/// filter, then the sort key, so the page is one range scan in order that
/// stops after `limit` rows. `None`: a full-text search, read by id.
fn list_index(query: &FindingQuery, search: Option<&TextSearch>) -> Option<&'static str> {
    if matches!(search, Some(TextSearch::FullText(_))) {
        return None;
    }
    let by_severity = query.sort == FindingSort::Severity;
    let pick = |severity_order, last_seen_order| {
        if by_severity {
            severity_order
        } else {
            last_seen_order
        }
    };
    Some(if query.rule_id.is_some() {
        pick("findings_console_rule", "findings_console_rule_last_seen")
    } else if query.engine.is_some() {
        pick(
            "findings_console_engine",
            "findings_console_engine_last_seen",
        )
    } else if query.category.is_some() {
        pick(
            "findings_console_category",
            "findings_console_category_last_seen",
        )
    } else if matches!(query.status, StatusFilter::Only(_)) {
        pick(
            "findings_console_status_severity",
            "findings_console_status_last_seen",
        )
    } else {
        pick("findings_console_severity", "findings_console_last_seen")
    })
}

/// `FROM findings` naming the index `list_index` chose (or none, for rows
/// read by id), so the plan does not depend on the planner's guesses.
fn push_from(builder: &mut QueryBuilder<Sqlite>, index: Option<&'static str>) {
    match index {
        Some(index) => builder.push(format_args!(" FROM findings INDEXED BY {index}")),
        None => builder.push(" FROM findings NOT INDEXED"),
    };
}

/// The filters of `query` as ` AND ...` fragments over `findings`, values bound.
fn push_filters(
    builder: &mut QueryBuilder<Sqlite>,
    query: &FindingQuery,
    search: Option<&TextSearch>,
    now: &str,
) {
    builder.push(" WHERE 1 = 1");
    match query.status {
        StatusFilter::Actionable => {
            builder.push(format_args!(" AND status IN {ACTIONABLE}"));
        }
        StatusFilter::Only(status) => {
            builder.push(" AND status = ").push_bind(status.as_str());
        }
        StatusFilter::All => {}
    }
    if let Some(severity) = query.min_severity.filter(|s| rank_of(*s) > 0) {
        builder
            .push(" AND severity_rank >= ")
            .push_bind(rank_of(severity));
    }
    for (column, value) in [
        ("engine", &query.engine),
        ("category", &query.category),
        ("rule_id", &query.rule_id),
    ] {
        if let Some(value) = value.as_deref() {
            builder
                .push(format_args!(" AND {column} = "))
                .push_bind(value.to_string());
        }
    }
    match search {
        Some(TextSearch::FullText(ids)) => {
            builder
                .push(" AND id IN (SELECT value FROM json_each(")
                .push_bind(ids.clone())
                .push("))");
        }
        Some(TextSearch::Like(pattern)) => {
            builder.push(" AND (");
            for (i, text) in [
                "rule_id",
                "COALESCE(file_path, '')",
                "resource_kind || ' ' || resource_id",
                // Last: reading the title parses the finding's JSON.
                "COALESCE(json_extract(finding, '$.title'), '')",
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    builder.push(" OR ");
                }
                builder
                    .push(format_args!("{text} LIKE "))
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\'");
            }
            builder.push(")");
        }
        None => {}
    }
    if query.overdue_only {
        builder
            .push(format_args!(
                " AND status IN {ACTIONABLE} AND sla_due_at IS NOT NULL AND sla_due_at < "
            ))
            .push_bind(now.to_string());
    }
}

const SUMMARY_COLUMNS: &str = "id, fingerprint, rule_id, \
     COALESCE(json_extract(finding, '$.title'), rule_id) AS title, severity, category, \
     engine, scope, resource_kind, resource_id, file_path, status, first_seen, last_seen, \
     sla_due_at, severity_rank";

/// The statement of one page of the list after `prefix` (`EXPLAIN QUERY
/// PLAN ` or nothing).
fn page_statement(
    prefix: &str,
    query: &FindingQuery,
    search: Option<&TextSearch>,
    cursor: Option<(i64, String, i64)>,
    now: &str,
    limit: i64,
) -> QueryBuilder<Sqlite> {
    let mut builder = QueryBuilder::<Sqlite>::new(prefix.to_string());
    let index = list_index(query, search);
    match (query.sort, cursor) {
        (FindingSort::Severity, None) => {
            builder.push(format_args!("SELECT {SUMMARY_COLUMNS}"));
            push_from(&mut builder, index);
            push_filters(&mut builder, query, search, now);
            builder.push(" ORDER BY severity_rank DESC, first_seen ASC, id ASC");
        }
        (FindingSort::Severity, Some((rank, time, id))) => {
            // The rest of the cursor's severity, then the lower ones: two
            // range scans, where one OR-ed condition would scan from the top.
            builder.push(format_args!("SELECT * FROM (SELECT {SUMMARY_COLUMNS}"));
            push_from(&mut builder, index);
            push_filters(&mut builder, query, search, now);
            builder
                .push(" AND severity_rank = ")
                .push_bind(rank)
                .push(" AND (first_seen, id) > (")
                .push_bind(time)
                .push(", ")
                .push_bind(id)
                .push(") ORDER BY severity_rank DESC, first_seen ASC, id ASC LIMIT ")
                .push_bind(limit + 1);
            builder.push(format_args!(
                ") UNION ALL SELECT * FROM (SELECT {SUMMARY_COLUMNS}"
            ));
            push_from(&mut builder, index);
            push_filters(&mut builder, query, search, now);
            builder
                .push(" AND severity_rank < ")
                .push_bind(rank)
                .push(" ORDER BY severity_rank DESC, first_seen ASC, id ASC LIMIT ")
                .push_bind(limit + 1)
                .push(") ORDER BY severity_rank DESC, first_seen ASC, id ASC");
        }
        (FindingSort::LastSeen, cursor) => {
            builder.push(format_args!("SELECT {SUMMARY_COLUMNS}"));
            push_from(&mut builder, index);
            push_filters(&mut builder, query, search, now);
            if let Some((_, time, id)) = cursor {
                builder
                    .push(" AND (last_seen, id) < (")
                    .push_bind(time)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            builder.push(" ORDER BY last_seen DESC, id DESC");
        }
    }
    builder.push(" LIMIT ").push_bind(limit + 1);
    builder
}

/// Whether the rollup counts answer the total of `query` exactly.
fn total_from_rollup(query: &FindingQuery, search: Option<&TextSearch>) -> bool {
    query.rule_id.is_none() && search.is_none() && !query.overdue_only
}

/// The statement counting `query`'s matches up to [`COUNT_CAP`] + 1.
fn count_statement(
    prefix: &str,
    query: &FindingQuery,
    search: Option<&TextSearch>,
    now: &str,
) -> QueryBuilder<Sqlite> {
    let mut builder =
        QueryBuilder::<Sqlite>::new(format!("{prefix}SELECT COUNT(*) FROM (SELECT 1"));
    push_from(&mut builder, list_index(query, search));
    push_filters(&mut builder, query, search, now);
    builder
        .push(" LIMIT ")
        .push_bind(COUNT_CAP as i64 + 1)
        .push(")");
    builder
}

impl Store {
    /// How the list matches `query.text`: through the full-text index when
    /// it has at most [`SEARCH_DIRECT_MAX`] matches, else by LIKE on the walk.
    async fn text_search(&self, query: &FindingQuery) -> Result<Option<TextSearch>> {
        let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        // Trigrams need three characters; shorter text matches most rows anyway.
        if text.chars().count() >= 3 {
            // One row (a JSON array) rather than a row per match: rows cross
            // from SQLite's thread one by one.
            let (matches, ids): (i64, String) = sqlx::query_as(
                "SELECT COUNT(*), json_group_array(id) FROM (SELECT rowid AS id FROM findings_fts \
                 WHERE findings_fts MATCH ? LIMIT ?)",
            )
            .bind(fts_phrase(text))
            .bind(SEARCH_DIRECT_MAX + 1)
            .fetch_one(&self.pool)
            .await?;
            if matches <= SEARCH_DIRECT_MAX {
                return Ok(Some(TextSearch::FullText(ids)));
            }
        }
        Ok(Some(TextSearch::Like(like_pattern(text))))
    }

    /// The query plan (EXPLAIN QUERY PLAN, one line per step) of the page
    /// and of the count that [`Store::findings_page`] runs for `query`, so
    /// tests can pin the index each filter combination walks.
    pub async fn findings_page_plan(
        &self,
        query: &FindingQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let search = self.text_search(query).await?;
        let now_text = ts(now);
        let cursor = parse_query_cursor(query)?;
        let limit = i64::from(query.limit.clamp(1, 500));
        let mut statements = vec![page_statement(
            "EXPLAIN QUERY PLAN ",
            query,
            search.as_ref(),
            cursor,
            &now_text,
            limit,
        )];
        if !total_from_rollup(query, search.as_ref()) {
            statements.push(count_statement(
                "EXPLAIN QUERY PLAN ",
                query,
                search.as_ref(),
                &now_text,
            ));
        }
        let mut plan = Vec::new();
        for mut statement in statements {
            let rows: Vec<(i64, i64, i64, String)> =
                statement.build_query_as().fetch_all(&self.pool).await?;
            plan.extend(rows.into_iter().map(|r| r.3));
            plan.push("--".into());
        }
        Ok(plan)
    }

    /// One page of the console's findings list.
    ///
    /// Each page is one index range scan from the cursor (so page 500 costs
    /// what page 1 does) over an index led by the filtered column, and the
    /// total is exact from the rollup counts when only status, severity,
    /// category and engine filter, or else counted up to [`COUNT_CAP`].
    pub async fn findings_page(
        &self,
        query: &FindingQuery,
        now: DateTime<Utc>,
    ) -> Result<FindingsPage> {
        self.expire_suppressions_if_due(now).await?;
        let limit = i64::from(query.limit.clamp(1, 500));
        let now_text = ts(now);
        let cursor = parse_query_cursor(query)?;
        let search = self.text_search(query).await?;
        let mut findings: Vec<FindingSummary> =
            page_statement("", query, search.as_ref(), cursor, &now_text, limit)
                .build_query_as()
                .fetch_all(&self.pool)
                .await?;
        let more = findings.len() as i64 > limit;
        findings.truncate(limit as usize);
        let next_cursor = if more {
            findings.last().map(|row| cursor_of(query.sort, row))
        } else {
            None
        };
        let (total, total_is_exact) = self
            .count_matching(query, search.as_ref(), &now_text)
            .await?;
        Ok(FindingsPage {
            findings,
            total,
            total_is_exact,
            next_cursor,
        })
    }

    /// How many findings match `query`'s filters: exact from the rollup counts
    /// when they can answer, else counted up to [`COUNT_CAP`] (`false`: more).
    async fn count_matching(
        &self,
        query: &FindingQuery,
        search: Option<&TextSearch>,
        now: &str,
    ) -> Result<(u64, bool)> {
        if total_from_rollup(query, search) {
            let mut builder = QueryBuilder::<Sqlite>::new(
                "SELECT COALESCE(SUM(n), 0) FROM finding_engine_counts WHERE 1 = 1",
            );
            match query.status {
                StatusFilter::Actionable => {
                    builder.push(format_args!(" AND status IN {ACTIONABLE}"));
                }
                StatusFilter::Only(status) => {
                    builder.push(" AND status = ").push_bind(status.as_str());
                }
                StatusFilter::All => {}
            }
            if let Some(severity) = query.min_severity {
                builder
                    .push(" AND severity_rank >= ")
                    .push_bind(rank_of(severity));
            }
            if let Some(category) = query.category.as_deref() {
                builder
                    .push(" AND category = ")
                    .push_bind(category.to_string());
            }
            if let Some(engine) = query.engine.as_deref() {
                builder.push(" AND engine = ").push_bind(engine.to_string());
            }
            let total: i64 = builder.build_query_scalar().fetch_one(&self.pool).await?;
            return Ok((u64::try_from(total).unwrap_or(0), true));
        }
        let total: i64 = count_statement("", query, search, now)
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await?;
        let total = u64::try_from(total).unwrap_or(0);
        Ok((total.min(COUNT_CAP), total <= COUNT_CAP))
    }

    /// The distinct engines and categories of stored findings, for filter menus.
    pub async fn finding_facets(&self) -> Result<(Vec<String>, Vec<String>)> {
        // One index seek per distinct value instead of a scan of every finding.
        let engines = sqlx::query_scalar(
            "WITH RECURSIVE e(v) AS (SELECT MIN(engine) FROM findings \
             UNION ALL SELECT (SELECT MIN(engine) FROM findings WHERE engine > v) FROM e \
             WHERE v IS NOT NULL) SELECT v FROM e WHERE v IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let categories = sqlx::query_scalar(
            "SELECT DISTINCT category FROM finding_counts WHERE n > 0 ORDER BY category",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok((engines, categories))
    }

    /// The dashboard's counts, with a trend over the `days` days up to `now`.
    ///
    /// Read from the rollup tables the store's triggers keep exact
    /// (`finding_counts`, `finding_due_counts` for the days before today,
    /// `finding_due_times` for today up to `now`, `finding_daily_changes`):
    /// a few dozen rows whatever the number of findings.
    pub async fn dashboard(&self, now: DateTime<Utc>, days: u32) -> Result<Dashboard> {
        self.expire_suppressions_if_due(now).await?;
        let today = now.date_naive();
        let today_start = today
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let by_rank: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT severity_rank, SUM(n) FROM finding_counts \
             WHERE status IN {ACTIONABLE} GROUP BY severity_rank"
        )))
        .fetch_all(&self.pool)
        .await?;
        let overdue_before_today: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT severity_rank, SUM(n) FROM finding_due_counts \
             WHERE due_day < ? GROUP BY severity_rank",
        )
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?;
        let overdue_today: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT severity_rank, SUM(n) FROM finding_due_times \
             WHERE due_at >= ? AND due_at < ? GROUP BY severity_rank",
        )
        .bind(ts(today_start))
        .bind(ts(now))
        .fetch_all(&self.pool)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let sum_for = |rows: &[(i64, i64)], rank: i64| -> u64 {
            rows.iter()
                .filter(|r| r.0 == rank)
                .map(|r| count(r.1))
                .sum()
        };
        let mut actionable_by_severity = Vec::new();
        let mut overdue_by_severity = Vec::new();
        for severity in Severity::ALL_DESCENDING {
            let rank = rank_of(severity);
            actionable_by_severity.push((severity, sum_for(&by_rank, rank)));
            overdue_by_severity.push((
                severity,
                sum_for(&overdue_before_today, rank) + sum_for(&overdue_today, rank),
            ));
        }
        debug_assert!(by_rank.iter().all(|r| severity_of_rank(r.0).is_some()));
        let actionable = actionable_by_severity.iter().map(|s| s.1).sum();
        let actionable_by_category: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT category, SUM(n) AS total FROM finding_counts WHERE status IN {ACTIONABLE} \
             GROUP BY category HAVING total > 0 ORDER BY total DESC, category"
        )))
        .fetch_all(&self.pool)
        .await?;
        let suppressed: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(n), 0) FROM finding_counts WHERE status = 'suppressed'",
        )
        .fetch_one(&self.pool)
        .await?;

        // Walk back from today's count: each day's net change is the findings
        // that became actionable minus those that stopped being so.
        let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
        let changes: Vec<(String, i64)> =
            sqlx::query_as("SELECT day, delta FROM finding_daily_changes WHERE day >= ?")
                .bind(first_day.to_string())
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
