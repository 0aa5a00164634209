//! Request handlers, one module per part of the console.

pub mod account;
pub mod admin;
pub mod api;
pub mod mfa;
pub mod pages;
pub mod settings;
pub mod sso;
pub mod sso_settings;
pub mod tokens;
pub mod webauthn;

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use palisade_store::{NewAuditEvent, Role};

use crate::authz::{CurrentUser, Permission};
use crate::state::AppState;
use crate::WebError;

/// What every signed-in page shows around its content.
pub struct Layout {
    pub title: String,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub username: String,
    pub role: Role,
    pub csrf: String,
    pub can_read_users: bool,
    pub can_read_audit: bool,
    pub can_write_findings: bool,
    pub can_manage_users: bool,
    pub can_read_settings: bool,
}

impl Layout {
    pub fn new(current: &CurrentUser, title: impl Into<String>, section: &'static str) -> Self {
        let role = current.user.role;
        Layout {
            title: title.into(),
            section,
            username: current.user.username.clone(),
            role,
            csrf: current.csrf.clone(),
            can_read_users: Permission::ReadUsers.allows(role),
            can_read_audit: Permission::ReadAudit.allows(role),
            can_write_findings: Permission::WriteFindings.allows(role),
            can_manage_users: Permission::ManageUsers.allows(role),
            can_read_settings: Permission::ReadSettings.allows(role),
        }
    }
}

/// A rendered template as an HTML response.
pub fn html(status: StatusCode, template: &impl Template) -> Result<Response, WebError> {
    let body = template.render()?;
    Ok((
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response())
}

/// Appends to the audit log; a failure fails the request, since an action
/// that cannot be recorded must not go unrecorded.
pub async fn audit(
    state: &AppState,
    actor: &str,
    ip: &str,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
) -> Result<(), WebError> {
    let event = NewAuditEvent {
        actor: actor.to_string(),
        source_ip: Some(ip.to_string()),
        action: action.to_string(),
        target,
        detail,
    };
    state.store().append_audit(&event, state.now()).await?;
    Ok(())
}

/// Runs Argon2 off the async workers (it takes tens of milliseconds of CPU).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::internal(format!("hashing task failed: {e}")))
}
