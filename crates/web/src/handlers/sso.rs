//! Single sign-on: `/sso/start` sends the browser to the identity provider,
//! `/sso/callback` brings it back, and `--sso-only` limits passphrase
//! sign-in to break-glass accounts. Every outcome is in the audit log
//! (`sso.*` actions).
//!
//! The sign-in in progress (state, nonce, PKCE verifier) is kept server-side
//! under the hash of a random flow id held in a `__Host-` cookie for ten
//! minutes: a callback is accepted once, only in the browser that started
//! it, and only with the state that was sent.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use palisade_store::{Role, User};
use serde::Deserialize;

use super::account::{login_page, start_session};
use super::audit;
use crate::app::ClientIp;
use crate::oidc::{role_for, IdTokenHint, Identity, Sso, SsoError};
use crate::secrets::{constant_time_eq, random_token, token_hash};
use crate::session::{cookie, read_cookie};
use crate::state::AppState;
use crate::WebError;

/// How long a browser has to come back from the provider.
const FLOW_TTL: Duration = Duration::minutes(10);

const FAILED: &str = "Single sign-on did not complete. Try again, or ask an administrator.";
const NO_ROLE: &str =
    "Your identity provider account is not in a group that may use this console. Ask an administrator.";
const DISABLED: &str = "This account is disabled. Ask an administrator.";
const SSO_ONLY: &str =
    "Passphrase sign-in is turned off: use \"Sign in with SSO\". Only break-glass accounts may use a passphrase.";

fn flow_cookie_name(state: &AppState) -> &'static str {
    if state.config().secure_cookies {
        "__Host-palisade_sso"
    } else {
        "palisade_sso"
    }
}

async fn sso(state: &AppState) -> Result<Arc<Sso>, WebError> {
    state.sso().await?.ok_or(WebError::NotFound)
}

/// `GET /sso/start`: a new sign-in, and off to the provider.
pub async fn start(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Response {
    let result = async {
        let sso = sso(&state).await?;
        let authorization = match sso.authorize().await {
            Ok(authorization) => authorization,
            Err(error) => {
                fail(&state, &ip, None, &error).await?;
                return login_page(&state, StatusCode::BAD_GATEWAY, "", Some(FAILED));
            }
        };
        let flow_id = random_token()?;
        let now = state.now();
        state
            .store()
            .create_sso_flow(
                &token_hash(&flow_id),
                &authorization.flow,
                now + FLOW_TTL,
                now,
            )
            .await?;
        let location = HeaderValue::from_str(&authorization.url)
            .map_err(|_| WebError::internal("authorization URL is not a header value"))?;
        let mut response = StatusCode::SEE_OTHER.into_response();
        let headers = response.headers_mut();
        headers.insert(LOCATION, location);
        let name = flow_cookie_name(&state);
        headers.append(
            SET_COOKIE,
            cookie(state.config(), name, &flow_id, Some(FLOW_TTL.num_seconds())),
        );
        Ok::<_, WebError>(response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// RFC 9207: the issuer of the response, against mix-up attacks.
    iss: Option<String>,
}

/// `GET /sso/callback`: checks the state, exchanges the code, verifies the
/// ID token, finds or creates the user, maps the role, starts a session.
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let mut response = match complete(&state, &ip, &headers, query).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    // The flow is used (or dead) either way.
    let name = flow_cookie_name(&state);
    response
        .headers_mut()
        .append(SET_COOKIE, cookie(state.config(), name, "", Some(0)));
    response
}

async fn complete(
    state: &AppState,
    ip: &str,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Result<Response, WebError> {
    let sso = sso(state).await?;
    let now = state.now();
    let flow = match read_cookie(headers, flow_cookie_name(state)) {
        Some(flow_id) => {
            state
                .store()
                .take_sso_flow(&token_hash(flow_id), now)
                .await?
        }
        None => None,
    };
    let Some(flow) = flow else {
        return refuse(
            state,
            ip,
            None,
            &SsoError::NoFlow,
            StatusCode::BAD_REQUEST,
            FAILED,
        )
        .await;
    };
    if let Some(error) = query.error {
        // The provider's error code only (a short token), never free text.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let error = SsoError::Provider(code);
        return refuse(state, ip, None, &error, StatusCode::UNAUTHORIZED, FAILED).await;
    }
    let given_state = query.state.unwrap_or_default();
    if !constant_time_eq(&given_state, &flow.state) {
        let error = SsoError::StateMismatch;
        return refuse(state, ip, None, &error, StatusCode::BAD_REQUEST, FAILED).await;
    }
    if let Some(iss) = &query.iss {
        if !sso.is_issuer(iss) {
            let error = SsoError::Provider("response from another issuer".into());
            return refuse(state, ip, None, &error, StatusCode::BAD_REQUEST, FAILED).await;
        }
    }
    let Some(code) = query.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        let error = SsoError::Exchange("no code".into());
        return refuse(state, ip, None, &error, StatusCode::BAD_REQUEST, FAILED).await;
    };
    let (identity, id_token) = match sso.finish(&code, &flow, now).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            return refuse(state, ip, None, &error, StatusCode::UNAUTHORIZED, FAILED).await
        }
    };
    let role = match role_for(sso.config(), &identity) {
        Ok(role) => role,
        Err(error) => {
            let who = Some(identity.subject_name());
            return refuse(state, ip, who, &error, StatusCode::FORBIDDEN, NO_ROLE).await;
        }
    };
    let user = find_or_create(state, ip, &identity, role, now).await?;
    if user.disabled {
        audit(
            state,
            "anonymous",
            ip,
            "sso.refused",
            Some(user.username.clone()),
            Some("account disabled".into()),
        )
        .await?;
        return login_page(state, StatusCode::FORBIDDEN, "", Some(DISABLED));
    }
    let user = if user.role != role {
        // The provider is the source of truth for SSO users' roles.
        let updated = state.store().set_user_role(user.id, role, now).await?;
        audit(
            state,
            "sso",
            ip,
            "user.role",
            Some(user.username.clone()),
            Some(format!(
                "{} -> {} (from the identity provider)",
                user.role, role
            )),
        )
        .await?;
        updated
    } else {
        user
    };
    state
        .store()
        .record_sso_login(&identity.issuer, &identity.subject, now)
        .await?;
    keep_logout_hint(state, &user, &id_token, now).await?;
    let config = sso.config();
    if !(config.trust_idp_mfa && identity.asserts_mfa(&config.mfa_acr_values)) {
        // The console's own second factor, as after a passphrase.
        if let Some(step) = super::mfa::second_step(state, headers, &user, now).await? {
            audit(
                state,
                &user.username,
                ip,
                "sso.login.second-step",
                Some(user.username.clone()),
                Some(format!("role {role}; provider asserted no trusted MFA")),
            )
            .await?;
            return Ok(step);
        }
    }
    state.store().record_login(user.id, now).await?;
    audit(
        state,
        &user.username,
        ip,
        "sso.login.success",
        Some(user.username.clone()),
        Some(format!("role {role}")),
    )
    .await?;
    start_session(state, headers, &user, now, "/").await
}

/// The user linked to the identity, or a new one (just-in-time), linked by
/// issuer and subject, never by e-mail or name.
async fn find_or_create(
    state: &AppState,
    ip: &str,
    identity: &Identity,
    role: Role,
    now: DateTime<Utc>,
) -> Result<User, WebError> {
    let store = state.store();
    if let Some(user) = store
        .user_by_sso_identity(&identity.issuer, &identity.subject)
        .await?
    {
        return Ok(user);
    }
    let hint = identity.username_hint();
    let candidates = std::iter::once(hint.clone())
        .chain((2..10).map(|n| format!("{hint}-{n}")))
        .chain(std::iter::once(identity.subject_name()));
    for username in candidates {
        match store
            .create_sso_user(&identity.issuer, &identity.subject, &username, role, now)
            .await
        {
            Ok(user) => {
                audit(
                    state,
                    "sso",
                    ip,
                    "sso.user.create",
                    Some(user.username.clone()),
                    Some(format!("role {role}")),
                )
                .await?;
                return Ok(user);
            }
            // A local account or another identity has the name: try the next.
            Err(palisade_store::Error::Conflict(_)) => {
                if let Some(user) = store
                    .user_by_sso_identity(&identity.issuer, &identity.subject)
                    .await?
                {
                    return Ok(user); // created by a concurrent sign-in
                }
            }
            Err(palisade_store::Error::InvalidInput { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Err(WebError::internal("no free username for a new SSO user"))
}

async fn fail(
    state: &AppState,
    ip: &str,
    target: Option<String>,
    error: &SsoError,
) -> Result<(), WebError> {
    tracing::info!(%error, "single sign-on refused");
    let action = match error {
        SsoError::NoRole { .. } => "sso.refused",
        _ => "sso.failure",
    };
    audit(
        state,
        "anonymous",
        ip,
        action,
        target,
        Some(error.to_string()),
    )
    .await
}

async fn refuse(
    state: &AppState,
    ip: &str,
    target: Option<String>,
    error: &SsoError,
    status: StatusCode,
    message: &str,
) -> Result<Response, WebError> {
    fail(state, ip, target, error).await?;
    login_page(state, status, "", Some(message))
}

/// Under `--sso-only`, the answer to a correct passphrase of an account that
/// is not break-glass (`None`: go ahead). Both cases are audited.
pub async fn refuse_password_login(
    state: &AppState,
    user: &User,
    ip: &str,
) -> Result<Option<Response>, WebError> {
    if !state.sso_only().await? {
        return Ok(None);
    }
    if state.store().is_break_glass(user.id).await? {
        audit(
            state,
            &user.username,
            ip,
            "login.break-glass",
            Some(user.username.clone()),
            Some("passphrase sign-in under --sso-only".into()),
        )
        .await?;
        return Ok(None);
    }
    audit(
        state,
        "anonymous",
        ip,
        "login.sso-only.refused",
        Some(user.username.clone()),
        None,
    )
    .await?;
    login_page(state, StatusCode::FORBIDDEN, &user.username, Some(SSO_ONLY)).map(Some)
}

/// The vault context of a user's kept ID token.
fn hint_context(user_id: i64) -> String {
    format!("sso-id-token:{user_id}")
}

/// Keeps the ID token, sealed, as the `id_token_hint` of a later sign-out
/// at the provider (it identifies the user, so it is not stored in clear).
async fn keep_logout_hint(
    state: &AppState,
    user: &User,
    id_token: &IdTokenHint,
    now: DateTime<Utc>,
) -> Result<(), WebError> {
    let sealed = state
        .vault()?
        .seal(id_token.0.as_bytes(), &hint_context(user.id))
        .map_err(|e| WebError::internal(format!("sealing an ID token: {e}")))?;
    state
        .store()
        .set_sso_logout_hint(user.id, &sealed, now)
        .await?;
    Ok(())
}

/// After the local session is revoked: where to sign the user out at the
/// provider (RP-initiated logout), if they came through SSO and the
/// provider has an end-session endpoint. Any failure only skips that step,
/// the local sign-out stands.
pub(crate) async fn provider_logout_url(state: &AppState, user: &User) -> Option<String> {
    let result = async {
        let Some(sso) = state.sso().await? else {
            return Ok(None);
        };
        let Some(sealed) = state.store().take_sso_logout_hint(user.id).await? else {
            return Ok(None);
        };
        let token = state
            .vault()?
            .open_sealed(&sealed, &hint_context(user.id))
            .map_err(|e| WebError::internal(format!("opening an ID token: {e}")))?;
        let token = String::from_utf8(token.to_vec())
            .map_err(|_| WebError::internal("a kept ID token is not UTF-8"))?;
        sso.logout_url(&IdTokenHint(token))
            .await
            .map_err(|e| WebError::internal(e.to_string()))
    }
    .await;
    result.unwrap_or_else(|error: WebError| {
        tracing::info!(%error, "no sign-out at the identity provider");
        None
    })
}

/// The console's CSP with the provider's origin added to `form-action`:
/// browsers check a form's redirects against it, and the sign-out form
/// ends at the provider.
pub(crate) fn logout_csp(url: &str) -> Option<HeaderValue> {
    let url = openidconnect::url::Url::parse(url).ok()?;
    let origin = url.origin().ascii_serialization();
    if origin == "null" {
        return None;
    }
    let csp = crate::app::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    HeaderValue::from_str(&csp).ok()
}
