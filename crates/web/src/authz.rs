//! Authentication and authorisation, in one place.
//!
//! Every route is declared in [`crate::app::routes`] with the [`Permission`]
//! it needs, and every route is wrapped by [`guard`], which:
//! 1. finds the session from its cookie and drops it if it is past its idle
//!    or absolute timeout or its user is disabled;
//! 2. refuses the request unless the user's role grants the permission
//!    (deny by default: a route cannot exist without a permission);
//! 3. on every state-changing method, refuses cross-site requests
//!    (`Sec-Fetch-Site: cross-site`) and checks the `csrf` form field against
//!    the session's token, or, on the public sign-in and enrolment forms,
//!    against the pre-session cookie (double submit).

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use palisade_store::{Role, Session, User};

use crate::secrets::{constant_time_eq, token_hash};
use crate::session::{clear_session_cookie, pre_cookie_name, read_cookie, session_cookie_name};
use crate::state::AppState;
use crate::WebError;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Anyone, signed in or not (sign-in, enrolment, the style sheet).
    Public,
    /// Any signed-in user (sign out, own account).
    SignedIn,
    /// Dashboard, findings, runs, assets.
    ReadFindings,
    /// Suppress and unsuppress findings.
    WriteFindings,
    /// The list of users and their roles.
    ReadUsers,
    /// Create users, change roles, disable accounts.
    ManageUsers,
    /// The audit log.
    ReadAudit,
    /// Only with a half-authenticated pre-session (passphrase right, second
    /// factor due): the second-factor pages of sign-in. No session needed.
    MfaPending,
    /// The settings page (MFA policy, SLAs).
    ReadSettings,
    /// Change settings.
    ManageSettings,
    /// `/api/...` reads: a bearer token with the `read` scope whose owner may read findings.
    ApiRead,
    /// `/api/...` uploads: a bearer token with the `write-findings` scope whose
    /// owner may write findings.
    ApiWriteFindings,
}

impl Permission {
    /// Whether `role` has this permission. The one table of who may do what.
    pub fn allows(self, role: Role) -> bool {
        use Role::*;
        match self {
            Permission::Public | Permission::SignedIn | Permission::ReadFindings => true,
            Permission::WriteFindings => matches!(role, Admin | Analyst),
            Permission::ReadUsers | Permission::ReadAudit => matches!(role, Admin | Auditor),
            Permission::ManageUsers => matches!(role, Admin),
            Permission::MfaPending => true,
            Permission::ReadSettings => matches!(role, Admin | Auditor),
            Permission::ManageSettings => matches!(role, Admin),
            Permission::ApiRead => Permission::ReadFindings.allows(role),
            Permission::ApiWriteFindings => Permission::WriteFindings.allows(role),
        }
    }

    /// The token scope an API permission needs; `None` for console permissions,
    /// which only a session cookie satisfies.
    pub fn api_scope(self) -> Option<palisade_store::ApiScope> {
        match self {
            Permission::ApiRead => Some(palisade_store::ApiScope::Read),
            Permission::ApiWriteFindings => Some(palisade_store::ApiScope::WriteFindings),
            _ => None,
        }
    }
}

/// The signed-in user of a request, put there by [`guard`].
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// The stored hash of the session id.
    pub session_hash: String,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(WebError::Unauthenticated)
    }
}

/// The signed-in user, if any (for public pages).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<CurrentUser>().cloned()))
    }
}

/// Whether a session may still be used at `now`.
pub fn session_is_live(session: &Session, user: &User, idle: Duration, now: DateTime<Utc>) -> bool {
    session_is_live_with(session, user, false, idle, now)
}

/// [`session_is_live`] for a user who may have no passphrase because they
/// sign in through single sign-on (`federated`).
pub fn session_is_live_with(
    session: &Session,
    user: &User,
    federated: bool,
    idle: Duration,
    now: DateTime<Utc>,
) -> bool {
    now < session.expires_at
        && now < session.last_seen_at + idle
        && !user.disabled
        && (user.password_hash.is_some() || federated)
}

/// Activity is written back at most this often, to spare the database a write per request.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

async fn current_user(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(Option<CurrentUser>, bool), WebError> {
    let Some(id) = read_cookie(headers, session_cookie_name(state.config())) else {
        return Ok((None, false));
    };
    let hash = token_hash(id);
    let store = state.store();
    let Some((session, user)) = store.session_with_user(&hash).await? else {
        return Ok((None, true));
    };
    let federated = user.password_hash.is_none() && store.has_sso_identity(user.id).await?;
    if !session_is_live_with(&session, &user, federated, state.config().session_idle, now) {
        store.delete_session(&hash).await?;
        return Ok((None, true));
    }
    if now - session.last_seen_at > Duration::seconds(TOUCH_INTERVAL_SECONDS) {
        store.touch_session(&hash, now).await?;
    }
    Ok((
        Some(CurrentUser {
            user,
            session_hash: hash,
            csrf: session.csrf_token,
        }),
        false,
    ))
}

/// The per-route middleware described in the module docs.
pub async fn guard(
    State((state, permission)): State<(AppState, Permission)>,
    request: Request,
    next: Next,
) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    if permission.api_scope().is_some() {
        // Bearer token only: no cookie, no CSRF form field (a browser never
        // sends the header by itself, so cross-site requests carry no token).
        let mut response =
            match crate::api_auth::authenticate(&state, request.headers(), permission).await {
                Ok(caller) => {
                    let mut request = request;
                    request.extensions_mut().insert(caller);
                    next.run(request).await
                }
                Err(error) => error.into_response(),
            };
        if let Some(matched) = matched {
            response.extensions_mut().insert(matched);
        }
        return response;
    }
    let mut response = match check(&state, permission, request).await {
        Ok((request, clear_cookie)) => {
            let mut response = next.run(request).await;
            if clear_cookie {
                clear_session_cookie(response.headers_mut(), state.config());
            }
            response
        }
        Err((error, clear_cookie)) => {
            let mut response = error.into_response();
            if clear_cookie {
                clear_session_cookie(response.headers_mut(), state.config());
            }
            response
        }
    };
    // For the request log, which runs outside the router.
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

async fn check(
    state: &AppState,
    permission: Permission,
    request: Request,
) -> Result<(Request, bool), (WebError, bool)> {
    let now = state.now();
    if permission == Permission::MfaPending {
        return check_pending(state, request, now)
            .await
            .map_err(|e| (e, false));
    }
    let (user, stale) = current_user(state, request.headers(), now)
        .await
        .map_err(|e| (e, false))?;
    if permission != Permission::Public {
        match &user {
            None => return Err((WebError::Unauthenticated, stale)),
            Some(current) if !permission.allows(current.user.role) => {
                return Err((WebError::Forbidden, stale))
            }
            Some(_) => {}
        }
    }
    let mut request = if is_state_changing(request.method()) {
        let expected = match (&user, permission) {
            (Some(current), p) if p != Permission::Public => Some(current.csrf.clone()),
            _ => read_cookie(request.headers(), pre_cookie_name(state.config())).map(String::from),
        };
        check_csrf(request, expected.as_deref(), state.config().body_limit)
            .await
            .map_err(|e| (e, stale))?
    } else {
        request
    };
    if let Some(current) = user {
        request.extensions_mut().insert(current);
    }
    Ok((request, stale))
}

/// A route of the second sign-in step: only a live pre-session reaches it
/// (anyone else is sent to sign in), and its forms carry the pre-session's token.
async fn check_pending(
    state: &AppState,
    request: Request,
    now: DateTime<Utc>,
) -> Result<(Request, bool), WebError> {
    let pending = crate::handlers::mfa::pending_user(state, request.headers(), now)
        .await?
        .ok_or(WebError::Unauthenticated)?;
    let mut request = if is_state_changing(request.method()) {
        let expected = pending.pending.csrf_token.clone();
        check_csrf(request, Some(&expected), state.config().body_limit).await?
    } else {
        request
    };
    request.extensions_mut().insert(pending);
    Ok((request, false))
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Reads the (size-limited) form body, checks its `csrf` field, and puts the
/// body back for the handler.
async fn check_csrf(
    request: Request,
    expected: Option<&str>,
    limit: usize,
) -> Result<Request, WebError> {
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if cross_site {
        return Err(WebError::Csrf);
    }
    let Some(expected) = expected else {
        return Err(WebError::Csrf);
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| WebError::TooLarge)?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let given = fields
        .iter()
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.as_str());
    match given {
        Some(given) if constant_time_eq(given, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(WebError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_least_privilege() {
        use Permission::*;
        let allowed = |p: Permission| -> Vec<Role> {
            Role::ALL.into_iter().filter(|r| p.allows(*r)).collect()
        };
        assert_eq!(allowed(ReadFindings), Role::ALL.to_vec());
        assert_eq!(allowed(WriteFindings), vec![Role::Admin, Role::Analyst]);
        assert_eq!(allowed(ReadAudit), vec![Role::Admin, Role::Auditor]);
        assert_eq!(allowed(ReadUsers), vec![Role::Admin, Role::Auditor]);
        assert_eq!(allowed(ManageUsers), vec![Role::Admin]);
        assert_eq!(allowed(ReadSettings), vec![Role::Admin, Role::Auditor]);
        assert_eq!(allowed(ManageSettings), vec![Role::Admin]);
    }
}
