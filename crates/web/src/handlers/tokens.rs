//! The "API tokens" page: each user creates and revokes their own tokens;
//! an administrator sees and revokes everyone's. A new token is shown once.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use palisade_store::{ApiScope, ApiToken, MAX_TOKEN_LIFETIME_DAYS};
use serde::Deserialize;

use super::{audit, html, Layout};
use crate::api_auth::{issue_token, parse_expiry};
use crate::app::ClientIp;
use crate::authz::{CurrentUser, Permission};
use crate::state::AppState;
use crate::WebError;

struct TokenLine {
    id: i64,
    owner: String,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenLine>,
    /// Whether the list holds everyone's tokens (administrators).
    everyone: bool,
    can_write: bool,
    max_days: i64,
    /// (name, token) of a token just created, shown once.
    new_token: Option<(String, String)>,
}

fn minute(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn line(token: ApiToken, now: chrono::DateTime<chrono::Utc>) -> TokenLine {
    TokenLine {
        status: if token.revoked_at.is_some() {
            "revoked"
        } else if token.expires_at <= now {
            "expired"
        } else {
            "active"
        },
        id: token.id,
        owner: token.username,
        name: token.name,
        prefix: token.prefix,
        scopes: token
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        created: minute(token.created_at),
        expires: minute(token.expires_at),
        last_used: token
            .last_used_at
            .map(minute)
            .unwrap_or_else(|| "never".into()),
    }
}

/// Administrators manage every token; everyone else only their own.
fn owner_filter(current: &CurrentUser) -> Option<i64> {
    (!Permission::ManageUsers.allows(current.user.role)).then_some(current.user.id)
}

async fn tokens_page(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    new_token: Option<(String, String)>,
) -> Result<Response, WebError> {
    let now = state.now();
    let owner = owner_filter(current);
    let tokens = state.store().list_api_tokens(owner).await?;
    let page = TokensPage {
        layout: Layout::new(current, "API tokens", "tokens"),
        tokens: tokens.into_iter().map(|t| line(t, now)).collect(),
        everyone: owner.is_none(),
        can_write: Permission::WriteFindings.allows(current.user.role),
        max_days: MAX_TOKEN_LIFETIME_DAYS,
        new_token,
    };
    html(status, &page)
}

pub async fn tokens(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, WebError> {
    tokens_page(&state, &current, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    /// Days until expiry, or a date.
    #[serde(default)]
    expires: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write_findings: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let mut scopes = Vec::new();
    if form.read.is_some() {
        scopes.push(ApiScope::Read);
    }
    if form.write_findings.is_some() {
        scopes.push(ApiScope::WriteFindings);
    }
    let expires_at = parse_expiry(&form.expires, now)?;
    let issued = issue_token(
        state.store(),
        &current.user,
        &form.name,
        scopes,
        expires_at,
        now,
    )
    .await?;
    let stored = &issued.stored;
    audit(
        &state,
        &current.user.username,
        &ip,
        "token.create",
        Some(format!("token {} of {}", stored.id, stored.username)),
        Some(format!(
            "name {:?}, scopes {}, expires {}",
            stored.name,
            stored
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            stored.expires_at.date_naive()
        )),
    )
    .await?;
    tokens_page(
        &state,
        &current,
        StatusCode::OK,
        Some((stored.name.clone(), issued.token)),
    )
    .await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let revoked = state
        .store()
        .revoke_api_token(id, owner_filter(&current), state.now())
        .await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "token.revoke",
        Some(format!("token {} of {}", revoked.id, revoked.username)),
        Some(format!("name {:?}", revoked.name)),
    )
    .await?;
    Ok(Redirect::to("/tokens").into_response())
}
