//! The read side of the console (dashboard, findings, runs, assets) and
//! suppressing findings.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use palisade_core::Severity;
use palisade_store::{
    AssetFilter, Dashboard, FindingEvent, FindingQuery, FindingSort, RunSummary, StatusFilter,
    StoredAsset, StoredFinding,
};
use serde::Deserialize;

use super::{audit, html, Layout};
use crate::app::ClientIp;
use crate::authz::CurrentUser;
use crate::state::AppState;
use crate::svg::{bar_chart, trend_chart};
use crate::WebError;

const STYLESHEET: &str = include_str!("../../static/palisade.css");

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

pub async fn health() -> &'static str {
    "ok"
}

/// Days the dashboard's trend covers.
const TREND_DAYS: u32 = 30;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    dashboard: Dashboard,
    overdue: u64,
    severity_chart: String,
    category_chart: String,
    trend_chart: String,
}

pub async fn dashboard(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, WebError> {
    let dashboard = state.store().dashboard(state.now(), TREND_DAYS).await?;
    let severities: Vec<(String, u64)> = dashboard
        .actionable_by_severity
        .iter()
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
    let page = DashboardPage {
        layout: Layout::new(&current, "Dashboard", "dashboard"),
        overdue: dashboard.overdue_by_severity.iter().map(|o| o.1).sum(),
        severity_chart: bar_chart(&severities, "Open findings by severity"),
        category_chart: bar_chart(
            &dashboard.actionable_by_category,
            "Open findings by category",
        ),
        trend_chart: trend_chart(
            &dashboard.trend,
            &format!("Open findings at the end of each of the last {TREND_DAYS} days"),
        ),
        dashboard,
    };
    html(StatusCode::OK, &page)
}

/// The findings list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct FindingsParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    engine: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    overdue: bool,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

/// Findings per page.
const PAGE_SIZE: u32 = 50;

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.chars().take(200).collect())
}

impl FindingsParams {
    pub(crate) fn query(&self) -> Result<FindingQuery, WebError> {
        let min_severity = match self.severity.trim() {
            "" => None,
            s => Some(
                s.parse::<Severity>()
                    .map_err(|_| WebError::BadRequest(format!("unknown severity `{s}`")))?,
            ),
        };
        Ok(FindingQuery {
            status: self.status.trim().parse::<StatusFilter>()?,
            min_severity,
            engine: non_empty(&self.engine),
            category: non_empty(&self.category),
            rule_id: non_empty(&self.rule),
            text: non_empty(&self.q),
            overdue_only: self.overdue,
            sort: self.sort.trim().parse::<FindingSort>()?,
            after: non_empty(&self.after),
            limit: PAGE_SIZE,
        })
    }

    /// The query string of these filters (without the cursor), for links.
    fn filters_query(&self) -> String {
        let pairs = [
            ("status", self.status.as_str()),
            ("severity", self.severity.as_str()),
            ("engine", self.engine.as_str()),
            ("category", self.category.as_str()),
            ("rule", self.rule.as_str()),
            ("q", self.q.as_str()),
            ("overdue", if self.overdue { "true" } else { "" }),
            ("sort", self.sort.as_str()),
        ];
        let kept: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }
}

/// One choice of a filter menu.
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

fn choices<S: AsRef<str>>(values: &[S], selected: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v.as_ref().to_string(),
            selected: v.as_ref() == selected,
        })
        .collect()
}

/// A line of the findings table, ready to print.
struct FindingLine {
    id: i64,
    title: String,
    rule_id: String,
    severity: String,
    category: String,
    engine: String,
    resource: String,
    status: String,
    first_seen: String,
    last_seen: String,
    due: String,
    overdue: bool,
}

fn day(timestamp: &str) -> String {
    timestamp.get(..10).unwrap_or(timestamp).to_string()
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsListPage {
    layout: Layout,
    lines: Vec<FindingLine>,
    total: u64,
    /// `false`: more than `total` match (the count stops at a cap).
    total_is_exact: bool,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    engines: Vec<Choice>,
    categories: Vec<Choice>,
    sorts: Vec<Choice>,
    rule: String,
    q: String,
    overdue: bool,
    next_link: Option<String>,
    first_link: Option<String>,
}

pub async fn findings(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(params): Query<FindingsParams>,
) -> Result<Response, WebError> {
    let query = params.query()?;
    let now = state.now();
    let page = state.store().findings_page(&query, now).await?;
    let (engines, categories) = state.store().finding_facets().await?;
    let filters = params.filters_query();
    let next_link = page.next_cursor.as_ref().map(|cursor| {
        let after = serde_urlencoded::to_string([("after", cursor)]).unwrap_or_default();
        if filters.is_empty() {
            format!("/findings?{after}")
        } else {
            format!("/findings?{filters}&{after}")
        }
    });
    let first_link = query.after.as_ref().map(|_| format!("/findings?{filters}"));
    let now_text = store_timestamp(now);
    let lines = page
        .findings
        .into_iter()
        .map(|f| {
            let actionable = f.status == "open" || f.status == "reopened";
            FindingLine {
                overdue: actionable && f.sla_due_at.as_ref().is_some_and(|d| *d < now_text),
                due: f.sla_due_at.as_deref().map(day).unwrap_or_default(),
                resource: f.file_path.clone().unwrap_or_else(|| f.resource_id.clone()),
                first_seen: day(&f.first_seen),
                last_seen: day(&f.last_seen),
                id: f.id,
                title: f.title,
                rule_id: f.rule_id,
                severity: f.severity,
                category: f.category,
                engine: f.engine,
                status: f.status,
            }
        })
        .collect();
    let page = FindingsListPage {
        layout: Layout::new(&current, "Findings", "findings"),
        lines,
        total: page.total,
        total_is_exact: page.total_is_exact,
        statuses: choices(
            &[
                "actionable",
                "open",
                "reopened",
                "suppressed",
                "resolved",
                "all",
            ],
            query.status.as_str(),
        ),
        severities: choices(
            &["", "critical", "high", "medium", "low", "info"],
            params.severity.trim(),
        ),
        engines: choices(
            &[vec![String::new()], engines].concat(),
            params.engine.trim(),
        ),
        categories: choices(
            &[vec![String::new()], categories].concat(),
            params.category.trim(),
        ),
        sorts: choices(&["severity", "last_seen"], query.sort.as_str()),
        rule: params.rule.clone(),
        q: params.q.clone(),
        overdue: params.overdue,
        next_link,
        first_link,
    };
    html(StatusCode::OK, &page)
}

/// The store's timestamp format, to compare with the text columns of a summary.
fn store_timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    layout: Layout,
    id: i64,
    stored: StoredFinding,
    history: Vec<FindingEvent>,
    overdue: bool,
    location: Option<String>,
    /// The suppression form's bounds and suggested expiry (90 days).
    min_expiry: String,
    max_expiry: String,
    default_expiry: String,
}

pub async fn finding(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let now = state.now();
    let stored = state.store().get_finding_id(id, now).await?;
    let history = state.store().finding_history_id(id).await?;
    let location = stored.finding.location.as_ref().map(|l| {
        if l.start_line > 0 {
            format!("{}:{}", l.path, l.start_line)
        } else {
            l.path.clone()
        }
    });
    let page = FindingPage {
        layout: Layout::new(&current, stored.finding.title.to_string(), "findings"),
        id,
        overdue: stored.is_overdue(now),
        location,
        min_expiry: (now.date_naive() + Duration::days(1)).to_string(),
        max_expiry: (now.date_naive() + Duration::days(MAX_SUPPRESSION_DAYS - 1)).to_string(),
        default_expiry: (now.date_naive() + Duration::days(90)).to_string(),
        stored,
        history,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SuppressForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: String,
}

/// Longest suppression the console accepts: a year, so every accepted risk is reviewed.
const MAX_SUPPRESSION_DAYS: i64 = 366;

pub async fn suppress(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<SuppressForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(WebError::BadRequest(
            "Say why the finding is suppressed.".into(),
        ));
    }
    if reason.chars().count() > 1000 {
        return Err(WebError::BadRequest(
            "The reason is longer than 1000 characters.".into(),
        ));
    }
    let expires = NaiveDate::parse_from_str(form.expires.trim(), "%Y-%m-%d")
        .map_err(|_| WebError::BadRequest("Give the expiry date as YYYY-MM-DD.".into()))?;
    let expires_at = expires
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| WebError::BadRequest("The expiry date is not valid.".into()))?;
    if expires_at <= now || (expires_at - now).num_days() > MAX_SUPPRESSION_DAYS {
        return Err(WebError::BadRequest(format!(
            "The expiry must be after today and within {MAX_SUPPRESSION_DAYS} days."
        )));
    }
    let finding = state
        .store()
        .suppress_id(id, reason, &current.user.username, Some(expires_at), now)
        .await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "finding.suppress",
        Some(format!(
            "finding {id} ({})",
            finding.finding.fingerprint.short()
        )),
        Some(format!("until {expires}: {reason}")),
    )
    .await?;
    Ok(Redirect::to(&format!("/findings/{id}")).into_response())
}

pub async fn unsuppress(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let finding = state
        .store()
        .unsuppress_id(id, &current.user.username, state.now())
        .await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "finding.unsuppress",
        Some(format!(
            "finding {id} ({})",
            finding.finding.fingerprint.short()
        )),
        None,
    )
    .await?;
    Ok(Redirect::to(&format!("/findings/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    layout: Layout,
    runs: Vec<RunSummary>,
}

/// Runs the page lists.
const RUNS_SHOWN: u32 = 200;

pub async fn runs(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, WebError> {
    let page = RunsPage {
        layout: Layout::new(&current, "Scan runs", "runs"),
        runs: state.store().list_runs(RUNS_SHOWN).await?,
    };
    html(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    layout: Layout,
    assets: Vec<StoredAsset>,
    total: usize,
    kind: String,
}

#[derive(Deserialize)]
pub struct AssetsParams {
    #[serde(default)]
    kind: String,
}

/// Assets the page lists.
const ASSETS_SHOWN: usize = 500;

pub async fn assets(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(params): Query<AssetsParams>,
) -> Result<Response, WebError> {
    let filter = AssetFilter {
        kind: non_empty(&params.kind),
        ..AssetFilter::default()
    };
    let mut assets = state.store().list_assets(&filter).await?;
    let total = assets.len();
    assets.truncate(ASSETS_SHOWN);
    let page = AssetsPage {
        layout: Layout::new(&current, "Assets", "assets"),
        assets,
        total,
        kind: params.kind,
    };
    html(StatusCode::OK, &page)
}
