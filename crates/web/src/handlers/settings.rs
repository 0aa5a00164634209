//! The settings page: the MFA policy and the SLA days per severity.
//! Administrators change them; auditors read them; every change is audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use palisade_store::SlaPolicy;
use serde::Deserialize;

use super::{audit, html, Layout};
use crate::app::ClientIp;
use crate::authz::{CurrentUser, Permission};
use crate::state::AppState;
use crate::WebError;

/// The longest SLA the form accepts, in days (ten years).
const MAX_SLA_DAYS: u32 = 3650;

struct SlaLine {
    severity: &'static str,
    days: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    layout: Layout,
    can_manage: bool,
    mfa_required: bool,
    users_without_mfa: usize,
    sla: Vec<SlaLine>,
    sla_from_console: bool,
    message: Option<&'a str>,
    /// Rendered (and escaped) by [`super::sso_settings::section`].
    sso_section: String,
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    saved: bool,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, WebError> {
    page_with_sso(state, current, status, message, None).await
}

/// The page, with a message in its single sign-on section.
pub(crate) async fn page_with_sso(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    message: Option<&str>,
    sso_notice: Option<&super::sso_settings::SsoNotice>,
) -> Result<Response, WebError> {
    let store = state.store();
    let stored_sla = store.sla_policy_setting().await?;
    let sla = stored_sla.unwrap_or_default();
    let line = |severity, days: Option<u32>| SlaLine {
        severity,
        days: days.map(|d| d.to_string()).unwrap_or_default(),
    };
    let with_mfa = store.users_with_mfa().await?;
    let users_without_mfa = store
        .list_users()
        .await?
        .iter()
        .filter(|u| !u.disabled && !with_mfa.contains(&u.id))
        .count();
    let page = SettingsPage {
        layout: Layout::new(current, "Settings", "settings"),
        can_manage: Permission::ManageSettings.allows(current.user.role),
        mfa_required: store.mfa_required().await?,
        users_without_mfa,
        sla: vec![
            line("critical", sla.critical),
            line("high", sla.high),
            line("medium", sla.medium),
            line("low", sla.low),
            line("info", sla.info),
        ],
        sla_from_console: stored_sla.is_some(),
        message,
        sso_section: super::sso_settings::section(state, current, sso_notice).await?,
    };
    html(status, &page)
}

pub async fn settings(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<SettingsQuery>,
) -> Result<Response, WebError> {
    let message = query.saved.then_some("Saved.");
    page(&state, &current, StatusCode::OK, message).await
}

#[derive(Deserialize)]
pub struct MfaPolicyForm {
    #[serde(default)]
    required: String,
}

/// Turns "require MFA for everyone" on or off. Turning it on ends the
/// sessions of every account without a second factor, so each must enrol
/// at its next sign-in; an administrator without one cannot turn it on.
pub async fn set_mfa_policy(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<MfaPolicyForm>,
) -> Result<Response, WebError> {
    let required = match form.required.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(WebError::BadRequest(
                "required: expected true or false".into(),
            ))
        }
    };
    let store = state.store();
    let now = state.now();
    if required && !store.has_mfa(current.user.id).await? {
        return page(
            &state,
            &current,
            StatusCode::BAD_REQUEST,
            Some("Set up your own second factor first (Your account, Two-factor authentication)."),
        )
        .await;
    }
    store
        .set_mfa_required(required, &current.user.username, now)
        .await?;
    let detail = if required {
        let ended = store.end_sessions_without_mfa().await?;
        format!("required; {ended} sessions without MFA ended")
    } else {
        "not required".to_string()
    };
    audit(
        &state,
        &current.user.username,
        &ip,
        "settings.mfa_policy",
        Some("mfa_required".into()),
        Some(detail),
    )
    .await?;
    Ok(Redirect::to("/settings?saved=true").into_response())
}

#[derive(Deserialize)]
pub struct SlaForm {
    #[serde(default)]
    critical: String,
    #[serde(default)]
    high: String,
    #[serde(default)]
    medium: String,
    #[serde(default)]
    low: String,
    #[serde(default)]
    info: String,
}

fn parse_days(field: &str, text: &str) -> Result<Option<u32>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(days) if (1..=MAX_SLA_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(WebError::BadRequest(format!(
            "SLA for {field}: expected a number of days from 1 to {MAX_SLA_DAYS}, or empty for none"
        ))),
    }
}

fn describe(sla: &SlaPolicy) -> String {
    let show = |days: Option<u32>| days.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
    format!(
        "critical {}, high {}, medium {}, low {}, info {}",
        show(sla.critical),
        show(sla.high),
        show(sla.medium),
        show(sla.low),
        show(sla.info)
    )
}

/// Stores the SLA days and recomputes the due dates of open findings.
pub async fn set_sla(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<SlaForm>,
) -> Result<Response, WebError> {
    let sla = SlaPolicy {
        critical: parse_days("critical", &form.critical)?,
        high: parse_days("high", &form.high)?,
        medium: parse_days("medium", &form.medium)?,
        low: parse_days("low", &form.low)?,
        info: parse_days("info", &form.info)?,
    };
    let now = state.now();
    let before = state
        .store()
        .sla_policy_setting()
        .await?
        .unwrap_or_default();
    let updated = state
        .store()
        .set_sla_policy(&sla, &current.user.username, now)
        .await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "settings.sla",
        Some("sla_policy".into()),
        Some(format!(
            "{} (was {}); {updated} open findings re-dated",
            describe(&sla),
            describe(&before)
        )),
    )
    .await?;
    Ok(Redirect::to("/settings?saved=true").into_response())
}
