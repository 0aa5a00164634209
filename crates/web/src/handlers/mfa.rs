//! The second factor in the console: the second step of sign-in (a TOTP
//! code or a recovery code), enrolment (from the account page, or forced at
//! sign-in when administrators require MFA), disabling it, and an
//! administrator's reset.
//!
//! Between passphrase and code the browser holds only a pre-session
//! (`__Host-palisade_mfa`, 5 minutes; 15 to enrol), which the guard lets
//! reach the `/login/mfa` pages and nothing else. Code attempts are
//! throttled like passphrases (per account and per address), every accepted
//! code's time step is burnt, and every outcome is audited.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Duration, Utc};
use palisade_store::{MfaPending, PendingPurpose, User};
use serde::Deserialize;

use super::account::begin_session;
use super::{audit, blocking, html, Layout};
use crate::app::ClientIp;
use crate::authz::CurrentUser;
use crate::mfa::{
    check_code, new_recovery_codes, new_seed, otpauth_uri, qr_svg, recovery_code_hash, seed_base32,
    seed_context,
};
use crate::password::{verify_passphrase, MAX_PASSPHRASE_CHARS};
use crate::secrets::{key_hash, random_token, token_hash};
use crate::session::{clear_mfa_cookie, mfa_cookie_name, read_cookie, set_mfa_cookie};
use crate::state::AppState;
use crate::WebError;

/// How long the second step may take after the passphrase.
const VERIFY_MINUTES: i64 = 5;
/// How long a forced enrolment may take.
const ENROL_MINUTES: i64 = 15;

pub(crate) const CODE_FAILED: &str = "The code is wrong, expired or already used.";
pub(crate) const CODE_PAUSED: &str =
    "Too many wrong codes. Sign-in is paused for a while; try again in a few minutes.";

/// The pre-session of a request, put there by the guard.
#[derive(Debug, Clone)]
pub struct PendingUser {
    pub user: User,
    pub pending: MfaPending,
    /// Whether the user has WebAuthn keys (the step pages offer them).
    pub has_keys: bool,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PendingUser {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<PendingUser>()
            .cloned()
            .ok_or(WebError::Unauthenticated)
    }
}

/// The live pre-session named by the request's cookie, if any; a stale one
/// (expired, or its user disabled) is deleted.
pub async fn pending_user(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<PendingUser>, WebError> {
    let Some(id) = read_cookie(headers, mfa_cookie_name(state.config())) else {
        return Ok(None);
    };
    let hash = token_hash(id);
    let Some((pending, user)) = state.store().mfa_pending_with_user(&hash).await? else {
        return Ok(None);
    };
    // SSO users have no passphrase: their first factor was the identity provider.
    let no_first_factor =
        user.password_hash.is_none() && !state.store().has_sso_identity(user.id).await?;
    if now >= pending.expires_at || user.disabled || no_first_factor {
        state.store().delete_mfa_pending(&hash).await?;
        return Ok(None);
    }
    let has_keys = state.store().has_webauthn(user.id).await?;
    Ok(Some(PendingUser {
        user,
        pending,
        has_keys,
    }))
}

/// Called once the first factor is proven (passphrase, or an enrolment
/// link): `Some(redirect)` to the second step if the user has a second
/// factor, or must enrol one because MFA is required; `None` to sign in now.
pub(crate) async fn second_step(
    state: &AppState,
    request_headers: &HeaderMap,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Option<Response>, WebError> {
    let store = state.store();
    let (purpose, minutes, to) = if store.has_webauthn(user.id).await? {
        (PendingPurpose::Verify, VERIFY_MINUTES, "/login/mfa/key")
    } else if store.has_mfa(user.id).await? {
        (PendingPurpose::Verify, VERIFY_MINUTES, "/login/mfa")
    } else if store.mfa_required().await? {
        (PendingPurpose::Enrol, ENROL_MINUTES, "/login/mfa/enrol")
    } else {
        return Ok(None);
    };
    let config = state.config();
    if let Some(old) = read_cookie(request_headers, mfa_cookie_name(config)) {
        store.delete_mfa_pending(&token_hash(old)).await?;
    }
    let id = random_token()?;
    let pending = MfaPending {
        id_hash: token_hash(&id),
        user_id: user.id,
        purpose,
        csrf_token: random_token()?,
        created_at: now,
        expires_at: now + Duration::minutes(minutes),
    };
    store.create_mfa_pending(&pending).await?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static(to));
    set_mfa_cookie(headers, config, &id, minutes * 60);
    crate::session::clear_pre_cookie(headers, config);
    Ok(Some(response))
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Factor {
    Totp,
    RecoveryCode,
}

/// Checks a TOTP code (burning its time step) or, failing that, a recovery
/// code (using it up).
pub(crate) async fn verify_factor(
    state: &AppState,
    user_id: i64,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Factor>, WebError> {
    let store = state.store();
    let Some(totp) = store
        .totp(user_id)
        .await?
        .filter(|t| t.confirmed_at.is_some())
    else {
        return Ok(None);
    };
    let seed = state
        .vault()?
        .open_sealed(&totp.sealed_seed, &seed_context(user_id))
        .map_err(|e| WebError::internal(format!("TOTP seed of user {user_id}: {e}")))?;
    if let Some(step) = check_code(&seed, code, now)? {
        return Ok(store
            .advance_totp_step(user_id, step)
            .await?
            .then_some(Factor::Totp));
    }
    if let Some(hash) = recovery_code_hash(code) {
        if store.use_recovery_code(user_id, &hash, now).await? {
            return Ok(Some(Factor::RecoveryCode));
        }
    }
    Ok(None)
}

/// The throttle keys of code attempts: per account and per client address.
fn throttle_keys(user_id: i64, ip: &str) -> [String; 2] {
    [
        key_hash("mfa-account", &user_id.to_string()),
        key_hash("address", ip),
    ]
}

pub(crate) async fn code_attempts_locked(
    state: &AppState,
    user_id: i64,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<bool, WebError> {
    for key in throttle_keys(user_id, ip) {
        if state.store().throttle_state(&key).await?.is_locked_at(now) {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) async fn record_code_failure(
    state: &AppState,
    user: &User,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<(), WebError> {
    let policy = state.config().throttle;
    let [account, address] = throttle_keys(user.id, ip);
    let store = state.store();
    store
        .record_login_failure(
            &account,
            policy.forget_after,
            |n| policy.lock_for(n, policy.account_failures),
            now,
        )
        .await?;
    store
        .record_login_failure(
            &address,
            policy.forget_after,
            |n| policy.lock_for(n, policy.address_failures),
            now,
        )
        .await?;
    audit(
        state,
        &user.username,
        ip,
        "login.mfa_failed",
        Some(user.username.clone()),
        None,
    )
    .await
}

/// A QR code and the seed to type, for an enrolment page.
struct Setup {
    qr: String,
    secret: String,
}

/// The user's pending (unconfirmed) seed, or a new one stored sealed.
async fn enrolment_setup(
    state: &AppState,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Setup, WebError> {
    let store = state.store();
    let vault = state.vault()?;
    let context = seed_context(user.id);
    let seed = match store.totp(user.id).await? {
        Some(t) if t.confirmed_at.is_some() => {
            return Err(WebError::BadRequest(
                "This account already has an authenticator.".into(),
            ))
        }
        Some(t) => vault
            .open_sealed(&t.sealed_seed, &context)
            .map_err(|e| WebError::internal(format!("TOTP seed of user {}: {e}", user.id)))?,
        None => {
            let seed = new_seed()?;
            let sealed = vault
                .seal(&seed, &context)
                .map_err(|e| WebError::internal(format!("sealing a TOTP seed: {e}")))?;
            store.start_totp_enrolment(user.id, &sealed, now).await?;
            seed
        }
    };
    Ok(Setup {
        qr: qr_svg(&otpauth_uri(&user.username, &seed))?,
        secret: seed_base32(&seed).to_string(),
    })
}

/// Confirms a pending enrolment with its first code; the new recovery codes
/// on success, `None` if the code is wrong.
async fn confirm_enrolment(
    state: &AppState,
    user: &User,
    ip: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, WebError> {
    let store = state.store();
    let Some(totp) = store
        .totp(user.id)
        .await?
        .filter(|t| t.confirmed_at.is_none())
    else {
        return Ok(None);
    };
    let seed = state
        .vault()?
        .open_sealed(&totp.sealed_seed, &seed_context(user.id))
        .map_err(|e| WebError::internal(format!("TOTP seed of user {}: {e}", user.id)))?;
    let Some(step) = check_code(&seed, code, now)? else {
        return Ok(None);
    };
    let (codes, hashes) = new_recovery_codes()?;
    store.confirm_totp(user.id, step, &hashes, now).await?;
    audit(
        state,
        &user.username,
        ip,
        "mfa.enrol",
        Some(user.username.clone()),
        Some("totp".into()),
    )
    .await?;
    Ok(Some(codes))
}

#[derive(Template)]
#[template(path = "mfa_step.html")]
struct StepPage<'a> {
    title: &'a str,
    csrf: String,
    /// `verify`, `enrol` or `codes`.
    mode: &'a str,
    setup: Option<Setup>,
    codes: Vec<String>,
    message: Option<&'a str>,
    /// Offer the user's WebAuthn keys instead.
    has_keys: bool,
}

fn step_page(
    status: StatusCode,
    pending: &PendingUser,
    mode: &'static str,
    setup: Option<Setup>,
    message: Option<&str>,
) -> Result<Response, WebError> {
    html(
        status,
        &StepPage {
            title: "Second factor",
            csrf: pending.pending.csrf_token.clone(),
            mode,
            setup,
            codes: Vec::new(),
            message,
            has_keys: pending.has_keys,
        },
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn login_form(pending: PendingUser) -> Result<Response, WebError> {
    if pending.pending.purpose == PendingPurpose::Enrol {
        return Ok(Redirect::to("/login/mfa/enrol").into_response());
    }
    step_page(StatusCode::OK, &pending, "verify", None, None)
}

/// Ends the pre-session and signs in: audited, with a new session id.
pub(crate) async fn finish_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    pending: &PendingUser,
    ip: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<HeaderMap, WebError> {
    let store = state.store();
    store.delete_mfa_pending(&pending.pending.id_hash).await?;
    // The account's count starts again; the address's keeps counting.
    let [account, _] = throttle_keys(pending.user.id, ip);
    store.clear_login_failures(&account).await?;
    store.record_login(pending.user.id, now).await?;
    audit(
        state,
        &pending.user.username,
        ip,
        "login.success",
        Some(pending.user.username.clone()),
        Some(detail.to_string()),
    )
    .await?;
    let mut cookies = begin_session(state, headers, &pending.user, now).await?;
    clear_mfa_cookie(&mut cookies, state.config());
    Ok(cookies)
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    pending: PendingUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    if pending.pending.purpose == PendingPurpose::Enrol {
        return Ok(Redirect::to("/login/mfa/enrol").into_response());
    }
    let user = &pending.user;
    if code_attempts_locked(&state, user.id, &ip, now).await? {
        audit(
            &state,
            &user.username,
            &ip,
            "login.mfa_throttled",
            Some(user.username.clone()),
            None,
        )
        .await?;
        return step_page(
            StatusCode::TOO_MANY_REQUESTS,
            &pending,
            "verify",
            None,
            Some(CODE_PAUSED),
        );
    }
    let Some(factor) = verify_factor(&state, user.id, &form.code, now).await? else {
        record_code_failure(&state, user, &ip, now).await?;
        return step_page(
            StatusCode::UNAUTHORIZED,
            &pending,
            "verify",
            None,
            Some(CODE_FAILED),
        );
    };
    let detail = match factor {
        Factor::Totp => "second factor totp",
        Factor::RecoveryCode => {
            let left = state.store().unused_recovery_codes(user.id).await?;
            audit(
                &state,
                &user.username,
                &ip,
                "mfa.recovery_used",
                Some(user.username.clone()),
                Some(format!("{left} recovery codes left")),
            )
            .await?;
            "second factor recovery code"
        }
    };
    let cookies = finish_sign_in(&state, &headers, &pending, &ip, detail, now).await?;
    Ok((cookies, Redirect::to("/")).into_response())
}

pub async fn enrol_form(
    State(state): State<AppState>,
    pending: PendingUser,
) -> Result<Response, WebError> {
    if pending.pending.purpose == PendingPurpose::Verify {
        return Ok(Redirect::to("/login/mfa").into_response());
    }
    let setup = enrolment_setup(&state, &pending.user, state.now()).await?;
    step_page(StatusCode::OK, &pending, "enrol", Some(setup), None)
}

pub async fn enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    pending: PendingUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    if pending.pending.purpose == PendingPurpose::Verify {
        return Ok(Redirect::to("/login/mfa").into_response());
    }
    let user = &pending.user;
    if code_attempts_locked(&state, user.id, &ip, now).await? {
        let setup = enrolment_setup(&state, user, now).await?;
        return step_page(
            StatusCode::TOO_MANY_REQUESTS,
            &pending,
            "enrol",
            Some(setup),
            Some(CODE_PAUSED),
        );
    }
    let Some(codes) = confirm_enrolment(&state, user, &ip, &form.code, now).await? else {
        record_code_failure(&state, user, &ip, now).await?;
        let setup = enrolment_setup(&state, user, now).await?;
        return step_page(
            StatusCode::BAD_REQUEST,
            &pending,
            "enrol",
            Some(setup),
            Some(CODE_FAILED),
        );
    };
    let cookies = finish_sign_in(
        &state,
        &headers,
        &pending,
        &ip,
        "second factor enrolled",
        now,
    )
    .await?;
    let page = StepPage {
        title: "Recovery codes",
        csrf: String::new(),
        mode: "codes",
        setup: None,
        codes,
        message: None,
        has_keys: false,
    };
    Ok((cookies, html(StatusCode::OK, &page)?).into_response())
}

#[derive(Template)]
#[template(path = "mfa_account.html")]
struct AccountMfaPage<'a> {
    layout: Layout,
    enrolled: bool,
    required: bool,
    unused_codes: u32,
    setup: Option<Setup>,
    codes: Vec<String>,
    message: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct AccountMfaQuery {
    #[serde(default)]
    disabled: bool,
}

async fn account_page(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    codes: Vec<String>,
    message: Option<&str>,
) -> Result<Response, WebError> {
    let store = state.store();
    let enrolled = store.has_totp(current.user.id).await?;
    let setup = if enrolled {
        None
    } else {
        Some(enrolment_setup(state, &current.user, state.now()).await?)
    };
    let page = AccountMfaPage {
        layout: Layout::new(current, "Two-factor authentication", "account"),
        enrolled,
        required: store.mfa_required().await?,
        unused_codes: store.unused_recovery_codes(current.user.id).await?,
        setup,
        codes,
        message,
    };
    html(status, &page)
}

pub async fn account(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<AccountMfaQuery>,
) -> Result<Response, WebError> {
    let message = query
        .disabled
        .then_some("Two-factor authentication is off; other sessions were signed out.");
    account_page(&state, &current, StatusCode::OK, Vec::new(), message).await
}

pub async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let user = &current.user;
    if code_attempts_locked(&state, user.id, &ip, now).await? {
        return account_page(
            &state,
            &current,
            StatusCode::TOO_MANY_REQUESTS,
            Vec::new(),
            Some(CODE_PAUSED),
        )
        .await;
    }
    match confirm_enrolment(&state, user, &ip, &form.code, now).await? {
        Some(codes) => account_page(&state, &current, StatusCode::OK, codes, None).await,
        None => {
            record_code_failure(&state, user, &ip, now).await?;
            account_page(
                &state,
                &current,
                StatusCode::BAD_REQUEST,
                Vec::new(),
                Some(CODE_FAILED),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current: String,
}

/// What [`check_presence`] found.
pub(crate) enum Presence {
    Proven,
    /// Too many wrong codes lately: nothing was checked.
    Paused,
    /// Wrong code or passphrase (counted towards the pause).
    Refused,
}

/// Whether a form proves the user is at the keyboard now: a current TOTP or
/// recovery code when one is given, else the passphrase, throttled like
/// sign-in codes. Removing a second factor (TOTP or a security key) asks
/// for one of them.
pub(crate) async fn check_presence(
    state: &AppState,
    user: &User,
    ip: &str,
    code: &str,
    passphrase: String,
    now: DateTime<Utc>,
) -> Result<Presence, WebError> {
    if code_attempts_locked(state, user.id, ip, now).await? {
        return Ok(Presence::Paused);
    }
    let proven = if !code.trim().is_empty() {
        verify_factor(state, user.id, code, now).await?.is_some()
    } else {
        let stored = user.password_hash.clone().unwrap_or_default();
        passphrase.chars().count() <= MAX_PASSPHRASE_CHARS
            && !passphrase.is_empty()
            && blocking(move || verify_passphrase(&passphrase, &stored)).await?
    };
    if proven {
        return Ok(Presence::Proven);
    }
    record_code_failure(state, user, ip, now).await?;
    Ok(Presence::Refused)
}

/// Turns the second factor off, proven by a fresh code or the passphrase;
/// other sessions end and this browser gets a new one.
pub async fn disable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    current: CurrentUser,
    Form(form): Form<DisableForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let store = state.store();
    let user = &current.user;
    let refuse =
        |status, message| account_page(&state, &current, status, Vec::new(), Some(message));
    if !store.has_totp(user.id).await? {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Two-factor authentication is not on.",
        )
        .await;
    }
    // WebAuthn keys, if any, stay and keep the account's second factor.
    if store.mfa_required().await? && !store.has_webauthn(user.id).await? {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Administrators require two-factor authentication for every account.",
        )
        .await;
    }
    match check_presence(&state, user, &ip, &form.code, form.current, now).await? {
        Presence::Proven => {}
        Presence::Paused => return refuse(StatusCode::TOO_MANY_REQUESTS, CODE_PAUSED).await,
        Presence::Refused => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Give a current code or your passphrase to turn two-factor authentication off.",
            )
            .await
        }
    }
    store.remove_totp(user.id, true).await?;
    audit(
        &state,
        &user.username,
        &ip,
        "mfa.disable",
        Some(user.username.clone()),
        None,
    )
    .await?;
    let cookies = begin_session(&state, &headers, user, now).await?;
    Ok((cookies, Redirect::to("/account/mfa?disabled=true")).into_response())
}

/// An administrator removes a user's second factor (lost phone): the
/// user's sessions end, and they enrol again at their next sign-in if MFA
/// is required.
pub async fn reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let target = state
        .store()
        .user_by_id(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let had = state.store().remove_mfa(target.id, true).await?;
    audit(
        &state,
        &current.user.username,
        &ip,
        "mfa.reset",
        Some(target.username.clone()),
        Some(
            if had {
                "second factor removed, sessions ended"
            } else {
                "no second factor; sessions ended"
            }
            .into(),
        ),
    )
    .await?;
    Ok(Redirect::to("/users").into_response())
}
