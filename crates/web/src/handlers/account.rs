//! Signing in and out, enrolment links (the first administrator's and new
//! users'), and the user's own account.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use palisade_store::User;
use serde::Deserialize;

use super::{audit, blocking, html, Layout};
use crate::app::ClientIp;
use crate::authz::{CurrentUser, MaybeUser};
use crate::password::{check_passphrase, hash_passphrase, verify_passphrase, MAX_PASSPHRASE_CHARS};
use crate::secrets::{key_hash, random_token, token_hash};
use crate::session::{
    clear_pre_cookie, read_cookie, session_cookie_name, set_pre_cookie, set_session_cookie,
};
use crate::state::AppState;
use crate::WebError;

/// The one message for every failed sign-in, whether or not the account exists.
const SIGN_IN_FAILED: &str = "The username or passphrase is wrong.";
/// The one message while sign-in is paused, whether or not the account exists.
const SIGN_IN_PAUSED: &str =
    "Too many failed sign-ins. Sign-in is paused for a while; try again in a few minutes.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    title: &'a str,
    csrf: String,
    username: String,
    message: Option<&'a str>,
    /// Offer "Sign in with SSO".
    sso: bool,
    /// Passphrases are for break-glass accounts only.
    sso_only: bool,
}

/// A fresh pre-session token and the response headers that set it.
fn pre_session(state: &AppState) -> Result<(String, HeaderMap), WebError> {
    let token = random_token()?;
    let mut headers = HeaderMap::new();
    set_pre_cookie(&mut headers, state.config(), &token);
    Ok((token, headers))
}

pub(crate) fn login_page(
    state: &AppState,
    status: StatusCode,
    username: &str,
    message: Option<&str>,
) -> Result<Response, WebError> {
    let (csrf, headers) = pre_session(state)?;
    let page = LoginPage {
        title: "Sign in",
        csrf,
        username: username.to_string(),
        message,
        sso: state.sso_cached().is_some(),
        sso_only: state.sso_only_cached(),
    };
    Ok((headers, html(status, &page)?).into_response())
}

pub async fn login_form(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    // Single sign-on set on the settings page is loaded before the page shows.
    if let Err(error) = state.sso().await {
        return error.into_response();
    }
    login_page(&state, StatusCode::OK, "", None).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let store = state.store();
    let policy = state.config().throttle;
    let username: String = form.username.trim().chars().take(64).collect();
    let account_key = key_hash("account", &username.to_lowercase());
    let address_key = key_hash("address", &ip);

    let locked = store.throttle_state(&account_key).await?.is_locked_at(now)
        || store.throttle_state(&address_key).await?.is_locked_at(now);
    if locked {
        audit(
            &state,
            "anonymous",
            &ip,
            "login.throttled",
            Some(username.clone()),
            None,
        )
        .await?;
        return login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &username,
            Some(SIGN_IN_PAUSED),
        );
    }

    let user = store.user_by_name(&username).await?;
    let usable = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    // Without a usable account, verify against a decoy so the answer takes as long.
    let (stored, real) = match usable {
        Some(hash) => (hash, true),
        None => (state.inner.decoy_hash.clone(), false),
    };
    let password = form.password;
    let matches = password.chars().count() <= MAX_PASSPHRASE_CHARS
        && blocking(move || verify_passphrase(&password, &stored)).await?;

    let user = match user {
        Some(user) if real && matches => user,
        _ => {
            let forget = policy.forget_after;
            store
                .record_login_failure(
                    &account_key,
                    forget,
                    |n| policy.lock_for(n, policy.account_failures),
                    now,
                )
                .await?;
            store
                .record_login_failure(
                    &address_key,
                    forget,
                    |n| policy.lock_for(n, policy.address_failures),
                    now,
                )
                .await?;
            audit(
                &state,
                "anonymous",
                &ip,
                "login.failure",
                Some(username.clone()),
                None,
            )
            .await?;
            return login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                &username,
                Some(SIGN_IN_FAILED),
            );
        }
    };
    if let Some(refused) = super::sso::refuse_password_login(&state, &user, &ip).await? {
        return Ok(refused);
    }
    store.clear_login_failures(&account_key).await?;
    if let Some(second_step) = super::mfa::second_step(&state, &headers, &user, now).await? {
        return Ok(second_step);
    }
    store.record_login(user.id, now).await?;
    audit(
        &state,
        &user.username,
        &ip,
        "login.success",
        Some(user.username.clone()),
        None,
    )
    .await?;
    start_session(&state, &headers, &user, now, "/").await
}

/// Ends any session the browser had and starts a new one with a new id (so
/// an id planted before sign-in is worthless), then redirects to `to`.
pub(crate) async fn start_session(
    state: &AppState,
    request_headers: &HeaderMap,
    user: &User,
    now: DateTime<Utc>,
    to: &'static str,
) -> Result<Response, WebError> {
    let cookies = begin_session(state, request_headers, user, now).await?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().extend(cookies);
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(to));
    Ok(response)
}

/// [`start_session`]'s work: the headers that set the new session cookie.
pub(crate) async fn begin_session(
    state: &AppState,
    request_headers: &HeaderMap,
    user: &User,
    now: DateTime<Utc>,
) -> Result<HeaderMap, WebError> {
    let config = state.config();
    if let Some(old) = read_cookie(request_headers, session_cookie_name(config)) {
        state.store().delete_session(&token_hash(old)).await?;
    }
    let id = random_token()?;
    let session = palisade_store::NewSession {
        id_hash: token_hash(&id),
        user_id: user.id,
        csrf_token: random_token()?,
        expires_at: now + config.session_absolute,
    };
    state.store().create_session(&session, now).await?;
    let mut headers = HeaderMap::new();
    set_session_cookie(&mut headers, config, &id);
    clear_pre_cookie(&mut headers, config);
    Ok(headers)
}

pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
) -> Result<Response, WebError> {
    state.store().delete_session(&current.session_hash).await?;
    audit(&state, &current.user.username, &ip, "logout", None, None).await?;
    // After SSO, on to the provider's end-session endpoint when it has one.
    let provider = super::sso::provider_logout_url(&state, &current.user).await;
    let to = provider.as_deref().unwrap_or("/login");
    let mut response = Redirect::to(to).into_response();
    if let Some(csp) = provider.as_deref().and_then(super::sso::logout_csp) {
        response
            .headers_mut()
            .insert("content-security-policy", csp);
    }
    crate::session::clear_session_cookie(response.headers_mut(), state.config());
    Ok(response)
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage<'a> {
    title: &'a str,
    csrf: String,
    token: String,
    first_admin: bool,
    username: String,
    expires: String,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct EnrolQuery {
    #[serde(default)]
    token: String,
}

const BAD_LINK: &str =
    "This link is unknown, already used or expired. Ask an administrator for a new one.";

async fn enrol_page(
    state: &AppState,
    token: &str,
    username: &str,
    status: StatusCode,
    message: Option<String>,
) -> Result<Response, WebError> {
    let now = state.now();
    let Some(link) = state
        .store()
        .enrolment_token(&token_hash(token), now)
        .await?
    else {
        return Err(WebError::BadRequest(BAD_LINK.into()));
    };
    let username = match link.user_id {
        Some(id) => {
            state
                .store()
                .user_by_id(id)
                .await?
                .ok_or(WebError::NotFound)?
                .username
        }
        None => username.to_string(),
    };
    let (csrf, headers) = pre_session(state)?;
    let page = EnrolPage {
        title: "Enrol",
        csrf,
        token: token.to_string(),
        first_admin: link.user_id.is_none(),
        username,
        expires: link.expires_at.format("%Y-%m-%d %H:%M").to_string(),
        message,
    };
    Ok((headers, html(status, &page)?).into_response())
}

pub async fn enrol_form(
    State(state): State<AppState>,
    Query(query): Query<EnrolQuery>,
) -> Result<Response, WebError> {
    enrol_page(&state, &query.token, "", StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct EnrolForm {
    token: String,
    #[serde(default)]
    username: String,
    password: String,
    confirm: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let username = form.username.trim().to_string();
    let refuse = |message: String| {
        enrol_page(
            &state,
            &form.token,
            &username,
            StatusCode::BAD_REQUEST,
            Some(message),
        )
    };
    if let Err(e) = palisade_store::validate_username(&username) {
        return refuse(e.to_string()).await;
    }
    if form.password != form.confirm {
        return refuse("The two passphrases differ.".into()).await;
    }
    if let Err(e) = check_passphrase(&form.password, &username) {
        return refuse(e.to_string()).await;
    }
    let params = state.config().hashing;
    let password = form.password.clone();
    let hash = blocking(move || hash_passphrase(&password, &params)).await??;
    let user = match state
        .store()
        .complete_enrolment(&token_hash(&form.token), &username, &hash, now)
        .await
    {
        Ok(user) => user,
        Err(palisade_store::Error::Conflict(message)) => return refuse(message).await,
        Err(palisade_store::Error::InvalidInput { .. }) => {
            return Err(WebError::BadRequest(BAD_LINK.into()))
        }
        Err(other) => return Err(other.into()),
    };
    audit(
        &state,
        &user.username,
        &ip,
        "user.enrol",
        Some(user.username.clone()),
        Some(format!("role {}", user.role)),
    )
    .await?;
    if let Some(second_step) = super::mfa::second_step(&state, &headers, &user, now).await? {
        return Ok(second_step);
    }
    start_session(&state, &headers, &user, now, "/").await
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    changed: bool,
}

pub async fn account_page(
    current: CurrentUser,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let page = AccountPage {
        layout: Layout::new(&current, "Your account", "account"),
        message: query
            .changed
            .then(|| "Your passphrase was changed; other sessions were signed out.".to_string()),
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let refuse = |message: String| {
        let page = AccountPage {
            layout: Layout::new(&current, "Your account", "account"),
            message: Some(message),
        };
        html(StatusCode::BAD_REQUEST, &page)
    };
    let stored = current.user.password_hash.clone().unwrap_or_default();
    let given = form.current.clone();
    if form.current.chars().count() > MAX_PASSPHRASE_CHARS
        || !blocking(move || verify_passphrase(&given, &stored)).await?
    {
        audit(
            &state,
            &current.user.username,
            &ip,
            "user.password.failure",
            Some(current.user.username.clone()),
            None,
        )
        .await?;
        return refuse("The current passphrase is wrong.".into());
    }
    if form.password != form.confirm {
        return refuse("The two new passphrases differ.".into());
    }
    if let Err(e) = check_passphrase(&form.password, &current.user.username) {
        return refuse(e.to_string());
    }
    let params = state.config().hashing;
    let password = form.password;
    let hash = blocking(move || hash_passphrase(&password, &params)).await??;
    let now = state.now();
    // Ends every session of the user, this one included; this browser gets a new one.
    let user = state
        .store()
        .set_password_hash(current.user.id, &hash, now)
        .await?;
    audit(
        &state,
        &user.username,
        &ip,
        "user.password",
        Some(user.username.clone()),
        None,
    )
    .await?;
    start_session(&state, &headers, &user, now, "/account?changed=true").await
}
