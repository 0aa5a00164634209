//! API tokens: issuing them (shown once, stored as a SHA-256 hash) and
//! authenticating `/api/...` requests by `Authorization: Bearer`.
//!
//! Cookies never authenticate an API request, and bearer tokens never
//! authenticate a page: [`crate::authz::guard`] sends routes with an API
//! [`Permission`] here and every other route to the session check. A token
//! acts with the lesser of its scopes and its owner's current role, and dies
//! with its expiry, its revocation, or its owner's account.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use palisade_store::{ApiScope, ApiToken, NewApiToken, User};
use serde::Serialize;

use crate::authz::Permission;
use crate::secrets::{random_token, token_hash};
use crate::state::AppState;
use crate::WebError;

/// Every token starts with this, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "pal_";
/// Characters of a token kept in the clear to tell tokens apart in lists.
const SHOWN_PREFIX_CHARS: usize = TOKEN_PREFIX.len() + 8;
/// Last use is written back at most this often.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// A token just made: `token` is shown to its owner once and never stored.
pub struct IssuedToken {
    pub token: String,
    pub stored: ApiToken,
}

/// Makes a token for `user`, refusing scopes their role cannot use.
pub async fn issue_token(
    state_store: &palisade_store::Store,
    user: &User,
    name: &str,
    scopes: Vec<ApiScope>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, WebError> {
    if user.disabled {
        return Err(WebError::BadRequest(format!(
            "user {} is disabled",
            user.username
        )));
    }
    if scopes.contains(&ApiScope::WriteFindings) && !Permission::WriteFindings.allows(user.role) {
        return Err(WebError::BadRequest(format!(
            "the {} role cannot write findings, so its tokens cannot have the write-findings scope",
            user.role
        )));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token()?);
    let stored = state_store
        .create_api_token(
            &NewApiToken {
                user_id: user.id,
                name: name.to_string(),
                token_hash: token_hash(&token),
                prefix: token[..SHOWN_PREFIX_CHARS].to_string(),
                scopes,
                expires_at,
            },
            now,
        )
        .await?;
    Ok(IssuedToken { token, stored })
}

/// Parses scopes written as `read,write-findings` (or space-separated).
pub fn parse_scopes(text: &str) -> Result<Vec<ApiScope>, WebError> {
    text.split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse().map_err(WebError::from))
        .collect()
}

/// The token's expiry from a day count (`90`, `90d`) or a date (`2027-01-31`, end of that day UTC).
pub fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, WebError> {
    let text = text.trim();
    if let Ok(days) = text.trim_end_matches('d').parse::<i64>() {
        return Ok(now + Duration::days(days));
    }
    let date: chrono::NaiveDate = text.parse().map_err(|_| {
        WebError::BadRequest(format!(
            "token expiry `{text}`: give a number of days or a date (YYYY-MM-DD)"
        ))
    })?;
    date.and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .ok_or_else(|| WebError::BadRequest(format!("token expiry `{text}`: not a valid date")))
}

/// Who an API request acts as.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: User,
    pub token_id: i64,
}

/// An API failure, as JSON: `{"error": "..."}` (and an `error_id` that the
/// log holds the detail under, for server errors).
#[derive(Debug)]
pub enum ApiError {
    /// No, unknown, expired or revoked token, or a disabled owner: all alike.
    Unauthenticated,
    /// A valid token whose scope or owner's role does not allow this.
    Forbidden(String),
    NotFound,
    BadRequest(String),
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_id: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "a valid API token is required (Authorization: Bearer pal_...)",
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, why.as_str()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found"),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.as_str()),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server could not complete the request",
            ),
        };
        let id = match &self {
            ApiError::Internal(detail) => {
                let id = random_token()
                    .map(|t| t[..16].to_string())
                    .unwrap_or_else(|_| "unavailable".into());
                tracing::error!(error_id = %id, %detail, "API request failed");
                Some(id)
            }
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: message,
                error_id: id.as_deref(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"palisade\""),
            );
        }
        response
    }
}

impl From<WebError> for ApiError {
    fn from(error: WebError) -> Self {
        match error {
            WebError::NotFound => ApiError::NotFound,
            WebError::Forbidden | WebError::Csrf => ApiError::Forbidden("forbidden".into()),
            WebError::Unauthenticated => ApiError::Unauthenticated,
            WebError::TooLarge => ApiError::BadRequest("request body too large".into()),
            WebError::BadRequest(why) => ApiError::BadRequest(why),
            WebError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<palisade_store::Error> for ApiError {
    fn from(error: palisade_store::Error) -> Self {
        WebError::from(error).into()
    }
}

/// The token of an `Authorization: Bearer` header, if it has our shape.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && token.len() == TOKEN_PREFIX.len() + 64
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(token)
}

/// Authenticates an API request for `permission` (one with an API scope).
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    permission: Permission,
) -> Result<ApiCaller, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthenticated)?;
    let now = state.now();
    let (stored, user) = state
        .store()
        .api_token_with_user(&token_hash(token))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !stored.is_live(now) || user.disabled {
        return Err(ApiError::Unauthenticated);
    }
    let Some(scope) = permission.api_scope() else {
        return Err(ApiError::Internal(format!(
            "{permission:?} is not an API permission"
        )));
    };
    if !stored.allows(scope) {
        return Err(ApiError::Forbidden(format!(
            "this token lacks the {scope} scope"
        )));
    }
    if !permission.allows(user.role) {
        return Err(ApiError::Forbidden(format!(
            "the {} role does not allow this",
            user.role
        )));
    }
    let stale = stored
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(TOUCH_INTERVAL_SECONDS));
    if stale {
        state.store().touch_api_token(stored.id, now).await?;
    }
    Ok(ApiCaller {
        user,
        token_id: stored.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_bearer_tokens_are_looked_up() {
        let good = format!("pal_{}", "a1".repeat(32));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            bearer_token(&headers).map(String::from)
        };
        assert_eq!(with(&format!("Bearer {good}")), Some(good.clone()));
        assert_eq!(with(&format!("bearer  {good} ")), Some(good.clone()));
        assert_eq!(with(&format!("Basic {good}")), None);
        assert_eq!(with(&format!("Bearer {}", &good[..60])), None);
        assert_eq!(with(&format!("Bearer {}", good.replace('a', "g"))), None);
        assert_eq!(with(&format!("Bearer x{}", &good[1..])), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn scopes_and_expiries_parse() {
        assert_eq!(
            parse_scopes("read, write-findings").unwrap(),
            vec![ApiScope::Read, ApiScope::WriteFindings]
        );
        assert!(parse_scopes("admin").is_err());
        let now = Utc::now();
        assert_eq!(parse_expiry("90d", now).unwrap(), now + Duration::days(90));
        assert_eq!(parse_expiry("30", now).unwrap(), now + Duration::days(30));
        assert_eq!(
            parse_expiry("2027-01-31", now).unwrap().to_rfc3339(),
            "2027-01-31T23:59:59+00:00"
        );
        assert!(parse_expiry("soon", now).is_err());
    }
}
