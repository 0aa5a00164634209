//! The JSON API under `/api/v1`, for CI and the CLI (bearer tokens only; see
//! [`crate::api_auth`]):
//!
//! - `GET /api/v1/findings`: the console's findings list with the same
//!   filters (`status`, `severity`, `engine`, `category`, `rule`, `q`,
//!   `overdue`, `sort`), `limit` (1-500, default 100) and keyset paging
//!   (`after` = the previous page's `next_cursor`);
//! - `GET /api/v1/findings/{id}`: one finding with its lifecycle;
//! - `POST /api/v1/scans`: a scan result ([`ScanUpload`]) recorded through
//!   the same lifecycle as a local scan (`Store::record_scan`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use palisade_core::ScanOutput;
use palisade_store::{FindingEvent, NewRun, SlaPolicy, StoredFinding};
use serde::{Deserialize, Serialize};

use super::audit;
use super::pages::FindingsParams;
use crate::api_auth::{ApiCaller, ApiError};
use crate::app::ClientIp;
use crate::state::AppState;

/// The path of the upload endpoint, which alone takes large bodies.
pub const SCANS_PATH: &str = "/api/v1/scans";
/// The largest scan upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
/// Findings per API page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;

/// A scan result as `palisade scan ... --upload` sends it: the run and
/// everything `Store::record_scan` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanUpload {
    /// `iac`, `secrets`, `deps`, `image`, `aws`.
    pub engine: String,
    /// What was scanned (a path, an account, an image), as the engine names it.
    pub scope: String,
    pub started_at: DateTime<Utc>,
    /// When the scan ended (default: when the server receives it).
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether the run covered its whole scope: only a complete run resolves
    /// the scope's findings it did not see.
    pub complete: bool,
    /// Rules that could not run; their findings are left as they are.
    #[serde(default)]
    pub unchecked_rules: Vec<String>,
    pub output: ScanOutput,
}

#[derive(Deserialize)]
pub struct LimitParam {
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn list_findings(
    State(state): State<AppState>,
    Query(params): Query<FindingsParams>,
    Query(LimitParam { limit }): Query<LimitParam>,
) -> Result<Response, ApiError> {
    let mut query = params.query()?;
    query.limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 500);
    let page = state.store().findings_page(&query, state.now()).await?;
    Ok(Json(page).into_response())
}

/// One finding as `GET /api/v1/findings/{id}` returns it.
#[derive(Serialize)]
struct FindingDetail {
    id: i64,
    #[serde(flatten)]
    stored: StoredFinding,
    /// Status changes, oldest first.
    history: Vec<FindingEvent>,
}

pub async fn finding(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let stored = state.store().get_finding_id(id, state.now()).await?;
    let history = state.store().finding_history_id(id).await?;
    Ok(Json(FindingDetail {
        id,
        stored,
        history,
    })
    .into_response())
}

fn check_upload(upload: &ScanUpload) -> Result<(), ApiError> {
    let bad = |why: String| Err(ApiError::BadRequest(why));
    let known = ["iac", "secrets", "deps", "image", "aws"];
    if !known.contains(&upload.engine.as_str()) {
        return bad(format!(
            "engine `{}`: expected one of {}",
            upload.engine,
            known.join(", ")
        ));
    }
    if upload.scope.trim().is_empty() || upload.scope.len() > 4096 {
        return bad("scope: 1 to 4096 characters".into());
    }
    Ok(())
}

pub async fn upload_scan(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Extension(caller): Extension<ApiCaller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::BadRequest(
            "scan upload: Content-Type must be application/json".into(),
        ));
    }
    let upload: ScanUpload = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("scan upload: {e}")))?;
    check_upload(&upload)?;
    let now = state.now();
    let finished = upload.finished_at.unwrap_or(now).min(now);
    let run = NewRun {
        engine: upload.engine.clone(),
        scope: upload.scope.clone(),
        started_at: upload.started_at.min(finished),
    };
    // The server's SLA policy applies, whatever the uploader's configuration says.
    let sla = SlaPolicy::default();
    let store = state.store();
    let summary = if upload.complete && !upload.unchecked_rules.is_empty() {
        store
            .record_scan_except(run, &upload.output, &upload.unchecked_rules, &sla, finished)
            .await?
    } else {
        store
            .record_scan(run, &upload.output, upload.complete, &sla, finished)
            .await?
    };
    audit(
        &state,
        &caller.user.username,
        &ip,
        "scan.upload",
        Some(format!("{}:{}", upload.engine, upload.scope)),
        Some(format!(
            "run {} via token {}: {} findings, {} new, {} resolved",
            summary.id,
            caller.token_id,
            summary.counts.total,
            summary.counts.new,
            summary.counts.resolved
        )),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}
