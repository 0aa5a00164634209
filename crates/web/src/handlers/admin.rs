//! Users and roles, and the audit log.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use palisade_store::{AuditFilter, AuditRecord, Role, User};
use serde::Deserialize;

use super::{audit, html, Layout};
use crate::accounts::{self, ENROL_PATH};
use crate::app::ClientIp;
use crate::authz::CurrentUser;
use crate::state::AppState;
use crate::WebError;

struct UserLine {
    id: i64,
    username: String,
    role: Role,
    status: &'static str,
    last_login: String,
    is_self: bool,
    mfa: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    roles: Vec<Role>,
    /// The link of a user just created, shown once.
    new_link: Option<(String, String)>,
}

fn lines(users: Vec<User>, me: i64, with_mfa: &[i64]) -> Vec<UserLine> {
    users
        .into_iter()
        .map(|u| UserLine {
            status: if u.disabled {
                "disabled"
            } else if u.password_hash.is_none() && u.last_login_at.is_some() {
                // Only single sign-on signs in a user without a passphrase.
                "single sign-on"
            } else if u.password_hash.is_none() {
                "invited"
            } else {
                "active"
            },
            last_login: u
                .last_login_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "never".into()),
            is_self: u.id == me,
            mfa: with_mfa.contains(&u.id),
            id: u.id,
            username: u.username,
            role: u.role,
        })
        .collect()
}

async fn users_page(
    state: &AppState,
    current: &CurrentUser,
    new_link: Option<(String, String)>,
) -> Result<Response, WebError> {
    let page = UsersPage {
        layout: Layout::new(current, "Users", "users"),
        users: lines(
            state.store().list_users().await?,
            current.user.id,
            &state.store().users_with_mfa().await?,
        ),
        roles: Role::ALL.to_vec(),
        new_link,
    };
    html(StatusCode::OK, &page)
}

pub async fn users(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, WebError> {
    users_page(&state, &current, None).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

fn parse_role(text: &str) -> Result<Role, WebError> {
    text.parse()
        .map_err(|e: palisade_store::ParseRoleError| WebError::BadRequest(e.to_string()))
}

pub async fn create_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<NewUserForm>,
) -> Result<Response, WebError> {
    let role = parse_role(&form.role)?;
    let username = form.username.trim();
    let now = state.now();
    let (user, token) =
        accounts::create_user(state.store(), state.config(), username, role, None, now).await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "user.create",
        Some(user.username.clone()),
        Some(format!("role {role}")),
    )
    .await?;
    let link = token.map(|t| {
        (
            user.username.clone(),
            format!("{}{ENROL_PATH}{t}", state.config().public_url),
        )
    });
    users_page(&state, &current, link).await
}

/// The user a form acts on, refusing to act on oneself (an admin cannot
/// lock themselves out) or to leave no enabled administrator.
async fn target(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
    removes_admin: bool,
) -> Result<User, WebError> {
    let user = state
        .store()
        .user_by_id(id)
        .await?
        .ok_or(WebError::NotFound)?;
    if user.id == current.user.id {
        return Err(WebError::BadRequest(
            "You cannot change your own role or account status; ask another administrator.".into(),
        ));
    }
    if removes_admin && accounts::would_remove_last_admin(state.store(), &user).await? {
        return Err(WebError::BadRequest(
            "This is the last enabled administrator.".into(),
        ));
    }
    Ok(user)
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    let role = parse_role(&form.role)?;
    let user = target(&state, &current, id, role != Role::Admin).await?;
    let updated = state
        .store()
        .set_user_role(user.id, role, state.now())
        .await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "user.role",
        Some(updated.username),
        Some(format!("{} -> {role}", user.role)),
    )
    .await?;
    Ok(Redirect::to("/users").into_response())
}

async fn set_disabled(
    state: AppState,
    ip: String,
    current: CurrentUser,
    id: i64,
    disabled: bool,
) -> Result<Response, WebError> {
    let user = target(&state, &current, id, disabled).await?;
    let updated = state
        .store()
        .set_user_disabled(user.id, disabled, state.now())
        .await?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit(
        &state,
        &current.user.username,
        &ip,
        action,
        Some(updated.username),
        None,
    )
    .await?;
    Ok(Redirect::to("/users").into_response())
}

pub async fn disable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_disabled(state, ip, current, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_disabled(state, ip, current, id, false).await
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    records: Vec<AuditRecord>,
    actor: String,
    action: String,
    next_link: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

/// Records per page of the audit log.
const AUDIT_PAGE: u32 = 100;

pub async fn audit_log(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(params): Query<AuditParams>,
) -> Result<Response, WebError> {
    let actor = params.actor.trim().to_string();
    let action = params.action.trim().to_string();
    let filter = AuditFilter {
        before_id: params.before,
        actor: (!actor.is_empty()).then(|| actor.clone()),
        action_prefix: (!action.is_empty()).then(|| action.clone()),
        limit: AUDIT_PAGE,
    };
    let records = state.store().list_audit(&filter).await?;
    let next_link = (records.len() == AUDIT_PAGE as usize)
        .then(|| records.last().map(|r| r.id))
        .flatten()
        .map(|before| {
            let query = serde_urlencoded::to_string([
                ("actor", actor.as_str()),
                ("action", action.as_str()),
                ("before", &before.to_string()),
            ])
            .unwrap_or_default();
            format!("/audit?{query}")
        });
    let page = AuditPage {
        layout: Layout::new(&current, "Audit log", "audit"),
        records,
        actor,
        action,
        next_link,
    };
    html(StatusCode::OK, &page)
}
