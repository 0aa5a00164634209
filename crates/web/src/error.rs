//! Errors as responses: the user sees a short message and an error id, the
//! log holds the detail under the same id.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page or object (also for objects the user may not see).
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// Not signed in: sent to the sign-in page.
    #[error("not signed in")]
    Unauthenticated,
    /// A state-changing request without the right CSRF token, or from another site.
    #[error("the form was stale or came from another site")]
    Csrf,
    /// A request body over the configured limit.
    #[error("request body too large")]
    TooLarge,
    /// Input the user can fix; the text is shown to them.
    #[error("{0}")]
    BadRequest(String),
    /// Anything else; the text is logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    pub fn internal(detail: impl Into<String>) -> Self {
        WebError::Internal(detail.into())
    }
}

impl From<palisade_store::Error> for WebError {
    fn from(error: palisade_store::Error) -> Self {
        use palisade_store::Error as E;
        match error {
            E::NotFound(_) | E::TokenNotFound(_) => WebError::NotFound,
            E::InvalidInput { .. } | E::Conflict(_) | E::NotSuppressed(_) => {
                WebError::BadRequest(error.to_string())
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(error: askama::Error) -> Self {
        WebError::Internal(format!("template: {error}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    error_id: &'a str,
}

/// A short random id for an error, to quote to an administrator.
fn error_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return "unavailable".to_string();
    }
    hex::encode(bytes)
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            WebError::Unauthenticated => return Redirect::to("/login").into_response(),
            WebError::NotFound => (StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Your role does not allow this.",
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was stale or came from another site. Go back, reload and try again.",
            ),
            WebError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Cannot do that",
                "The request is too large.",
            ),
            WebError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "Cannot do that", message.as_str())
            }
            WebError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete the request. Quote the error id to your administrator.",
            ),
        };
        let id = error_id();
        match &self {
            WebError::Internal(detail) => {
                tracing::error!(error_id = %id, %detail, "request failed")
            }
            other => {
                tracing::info!(error_id = %id, status = status.as_u16(), error = %other, "request refused")
            }
        }
        error_response(status, title, message, &id)
    }
}

/// The error page (also for failures outside handlers: timeouts, size limits).
pub fn error_response(status: StatusCode, title: &str, message: &str, id: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        message,
        error_id: id,
    };
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => (status, format!("{title} (error id {id})")).into_response(),
    }
}

/// Replaces the bodies of error responses that did not come from a handler
/// (413 from the body limit, 408 from the timeout, 405, 404 of unknown routes)
/// with the error page.
pub fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"))
}
