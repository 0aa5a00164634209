//! WebAuthn security keys and passkeys as a second factor (webauthn-rs):
//! registering named keys from the account page, listing and removing them,
//! and the second step of sign-in with a key instead of a TOTP code.
//!
//! Each ceremony is two requests from `/static/webauthn.js`: `begin` returns
//! the options for `navigator.credentials.create/get` as JSON and keeps the
//! challenge server-side (the store's `webauthn_ceremonies`, keyed by the
//! hash of the session or pre-session id, taken once, 5 minutes); `finish`
//! checks the browser's answer against it. Both are form posts carrying the
//! CSRF token like every other state-changing request.
//!
//! The relying party comes from `--public-url`: its host name is the RP id
//! and its origin the only origin accepted. Browsers refuse WebAuthn on IP
//! addresses, so a loopback address (the plain-HTTP development default,
//! `http://127.0.0.1:8080`) is served as `http://localhost:8080`; other IP
//! addresses, and plain HTTP to anything but localhost, leave keys off with
//! a message saying why.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Duration, Utc};
use palisade_store::{CeremonyKind, PendingPurpose, StoredWebauthnCredential, WebauthnCeremony};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::account::begin_session;
use super::mfa::{
    check_presence, code_attempts_locked, finish_sign_in, record_code_failure, PendingUser,
    Presence, CODE_PAUSED,
};
use super::{audit, html, Layout};
use crate::app::ClientIp;
use crate::authz::CurrentUser;
use crate::state::AppState;
use crate::WebError;

/// How long the browser has to answer a challenge.
const CEREMONY_MINUTES: i64 = 5;
/// The longest key name.
const MAX_NAME_CHARS: usize = 64;
/// The most keys one account may register.
const MAX_KEYS: usize = 20;

/// The console's CSP with the one script it serves: pages that run a
/// WebAuthn ceremony need `/static/webauthn.js` and `fetch` to the console.
const KEY_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const KEY_FAILED: &str = "The security key was not accepted. Try again, or use another key.";

/// The script of the key pages, served as a same-origin static file (the
/// CSP allows no inline script).
const SCRIPT: &str = include_str!("../../static/webauthn.js");

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The relying party of the console, or why security keys are off.
#[derive(Debug)]
pub(crate) struct RelyingParty {
    webauthn: Webauthn,
    /// Where keys work (`http://localhost:8080`).
    origin: String,
}

/// The relying party for the console at `public_url`: the RP id is its host
/// name, the origin its scheme, host and port; a loopback IP becomes
/// `localhost` (browsers allow WebAuthn on neither IPs nor plain HTTP,
/// except on localhost). `Err` says why keys cannot work there.
pub(crate) fn relying_party(public_url: &str) -> Result<RelyingParty, String> {
    let url = Url::parse(public_url).map_err(|e| format!("--public-url `{public_url}`: {e}"))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!("--public-url `{public_url}` is not an http(s) URL"));
    }
    let host = match (url.domain(), url.host_str()) {
        (Some(domain), _) => domain.trim_end_matches('.').to_ascii_lowercase(),
        (None, Some(ip)) => {
            let loopback = ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(format!(
                    "security keys need the console at a host name, not an IP address \
                     ({public_url}); set --public-url to the name browsers use"
                ));
            }
            "localhost".to_string()
        }
        (None, None) => return Err(format!("--public-url `{public_url}` has no host")),
    };
    let local = host == "localhost" || host.ends_with(".localhost");
    if scheme == "http" && !local {
        return Err(format!(
            "security keys need HTTPS ({public_url}); browsers allow plain HTTP only on localhost"
        ));
    }
    let origin = match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    let origin_url = Url::parse(&origin).map_err(|e| format!("origin `{origin}`: {e}"))?;
    let webauthn = WebauthnBuilder::new(&host, &origin_url)
        .and_then(|b| b.rp_name("Palisade").build())
        .map_err(|e| format!("WebAuthn relying party `{host}`: {e}"))?;
    Ok(RelyingParty { webauthn, origin })
}

fn rp(state: &AppState) -> Result<RelyingParty, String> {
    relying_party(&state.config().public_url)
}

/// A JSON answer to the script: `{"error": ...}` with a status.
fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn with_key_page_csp(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(KEY_PAGE_CSP),
    );
    response
}

/// The credential id as stored (base64url, as webauthn-rs serialises it).
fn credential_id_text(passkey: &Passkey) -> Result<String, WebError> {
    match serde_json::to_value(passkey.cred_id()) {
        Ok(serde_json::Value::String(id)) => Ok(id),
        other => Err(WebError::internal(format!(
            "unexpected credential id encoding: {other:?}"
        ))),
    }
}

fn serialise<T: serde::Serialize>(what: &str, value: &T) -> Result<String, WebError> {
    serde_json::to_string(value).map_err(|e| WebError::internal(format!("serialising {what}: {e}")))
}

/// The stored keys that still parse, with their passkeys.
fn passkeys(
    stored: &[StoredWebauthnCredential],
) -> Result<Vec<(&StoredWebauthnCredential, Passkey)>, WebError> {
    stored
        .iter()
        .map(|c| {
            serde_json::from_str::<Passkey>(&c.credential)
                .map(|p| (c, p))
                .map_err(|e| {
                    WebError::internal(format!("webauthn_credentials.credential {}: {e}", c.id))
                })
        })
        .collect()
}

/// A key name from a form: trimmed, 1 to 64 printable characters.
fn key_name(given: &str) -> Result<String, &'static str> {
    let name = given.trim();
    if name.is_empty() {
        return Err("Give the key a name, such as \u{201c}YubiKey on my keyring\u{201d}.");
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err("The key name must be at most 64 printable characters.");
    }
    Ok(name.to_string())
}

/// A user's key as listed on the page.
struct KeyRow {
    id: i64,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "webauthn_keys.html")]
struct KeysPage<'a> {
    layout: Layout,
    keys: Vec<KeyRow>,
    /// Why keys cannot be added here, if so.
    unavailable: Option<String>,
    /// Where keys work when it is not where the user may be (loopback).
    origin: String,
    message: Option<&'a str>,
    alert: Option<&'a str>,
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn keys_page(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    message: Option<&str>,
    alert: Option<&str>,
) -> Result<Response, WebError> {
    let keys = state
        .store()
        .webauthn_credentials(current.user.id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name,
            created: day(k.created_at),
            last_used: k.last_used_at.map(day).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let (unavailable, origin) = match rp(state) {
        Ok(rp) => (None, rp.origin),
        Err(why) => (Some(why), String::new()),
    };
    let page = KeysPage {
        layout: Layout::new(current, "Security keys", "account"),
        keys,
        unavailable,
        origin,
        message,
        alert,
    };
    Ok(with_key_page_csp(html(status, &page)?))
}

#[derive(Deserialize)]
pub struct KeysQuery {
    #[serde(default)]
    added: bool,
    #[serde(default)]
    removed: bool,
}

pub async fn keys(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<KeysQuery>,
) -> Result<Response, WebError> {
    let message = if query.added {
        Some("The key is registered. It signs you in as a second factor from now on.")
    } else if query.removed {
        Some("The key is removed; other sessions were signed out.")
    } else {
        None
    };
    keys_page(&state, &current, StatusCode::OK, message, None).await
}

#[derive(Deserialize)]
pub struct BeginRegistrationForm {
    #[serde(default)]
    name: String,
}

/// A random WebAuthn user handle for a user who has none yet.
fn new_user_handle() -> Result<String, WebError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

fn parse_user_handle(handle: &str) -> Result<Uuid, WebError> {
    hex::decode(handle)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| WebError::internal("webauthn_user_handles.handle is not 16 hex bytes"))
}

/// Starts registering a key: the options for `navigator.credentials.create`.
pub async fn register_begin(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<BeginRegistrationForm>,
) -> Result<Response, WebError> {
    let rp = match rp(&state) {
        Ok(rp) => rp,
        Err(why) => return Ok(json_error(StatusCode::BAD_REQUEST, &why)),
    };
    let name = match key_name(&form.name) {
        Ok(name) => name,
        Err(why) => return Ok(json_error(StatusCode::BAD_REQUEST, why)),
    };
    let store = state.store();
    let user = &current.user;
    let existing = store.webauthn_credentials(user.id).await?;
    if existing.len() >= MAX_KEYS {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "This account has the most keys allowed (20); remove one first.",
        ));
    }
    let exclude = passkeys(&existing)?
        .into_iter()
        .map(|(_, p)| p.cred_id().clone())
        .collect();
    let handle = store
        .webauthn_user_handle(user.id, &new_user_handle()?)
        .await?;
    let (options, registration) = rp
        .webauthn
        .start_passkey_registration(
            parse_user_handle(&handle)?,
            &user.username,
            &user.username,
            Some(exclude),
        )
        .map_err(|e| WebError::internal(format!("starting a WebAuthn registration: {e}")))?;
    let now = state.now();
    let ceremony = WebauthnCeremony {
        user_id: user.id,
        state: serialise("a registration state", &registration)?,
        key_name: Some(name),
        expires_at: now + Duration::minutes(CEREMONY_MINUTES),
    };
    store
        .put_webauthn_ceremony(
            &current.session_hash,
            CeremonyKind::Register,
            &ceremony,
            now,
        )
        .await?;
    Ok(Json(options).into_response())
}

#[derive(Deserialize)]
pub struct CredentialForm {
    /// The browser's answer, as JSON.
    #[serde(default)]
    credential: String,
}

/// Finishes registering a key with the browser's answer.
pub async fn register_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<CredentialForm>,
) -> Result<Response, WebError> {
    let rp = match rp(&state) {
        Ok(rp) => rp,
        Err(why) => return Ok(json_error(StatusCode::BAD_REQUEST, &why)),
    };
    let now = state.now();
    let store = state.store();
    let user = &current.user;
    let ceremony = store
        .take_webauthn_ceremony(&current.session_hash, CeremonyKind::Register)
        .await?
        .filter(|c| c.user_id == user.id && now < c.expires_at);
    let Some(ceremony) = ceremony else {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "The registration expired or was already used; start again.",
        ));
    };
    let registration: PasskeyRegistration = serde_json::from_str(&ceremony.state)
        .map_err(|e| WebError::internal(format!("webauthn_ceremonies.state: {e}")))?;
    let passkey = serde_json::from_str::<RegisterPublicKeyCredential>(&form.credential)
        .ok()
        .and_then(|answer| {
            rp.webauthn
                .finish_passkey_registration(&answer, &registration)
                .map_err(|e| tracing::info!(error = %e, "WebAuthn registration refused"))
                .ok()
        });
    let Some(passkey) = passkey else {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "The key's answer was not valid; start again.",
        ));
    };
    let name = ceremony.key_name.unwrap_or_else(|| "Security key".into());
    let added = store
        .add_webauthn_credential(
            user.id,
            &name,
            &credential_id_text(&passkey)?,
            &serialise("a passkey", &passkey)?,
            0,
            now,
        )
        .await;
    match added {
        Ok(_) => {}
        Err(palisade_store::Error::Conflict(_)) => {
            return Ok(json_error(
                StatusCode::CONFLICT,
                "This key is already registered.",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    audit(
        &state,
        &user.username,
        &ip,
        "mfa.webauthn_register",
        Some(user.username.clone()),
        Some(format!("key \u{201c}{name}\u{201d}")),
    )
    .await?;
    Ok(Json(json!({ "redirect": "/account/keys?added=true" })).into_response())
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current: String,
}

/// Removes one of the user's keys, proven by a fresh TOTP or recovery code
/// or the passphrase; the user's other sessions end.
pub async fn remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    let store = state.store();
    let user = &current.user;
    let keys = store.webauthn_credentials(user.id).await?;
    // Another user's key is as absent as a key that never was.
    if !keys.iter().any(|k| k.id == id) {
        return Err(WebError::NotFound);
    }
    let refuse = |status, alert| keys_page(&state, &current, status, None, Some(alert));
    if keys.len() == 1 && store.mfa_required().await? && !store.has_totp(user.id).await? {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Administrators require two-factor authentication: add another key or an \
             authenticator app before removing your last key.",
        )
        .await;
    }
    match check_presence(&state, user, &ip, &form.code, form.current, now).await? {
        Presence::Proven => {}
        Presence::Paused => return refuse(StatusCode::TOO_MANY_REQUESTS, CODE_PAUSED).await,
        Presence::Refused => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Give a current code or your passphrase to remove a key.",
            )
            .await
        }
    }
    let Some(name) = store.remove_webauthn_credential(user.id, id).await? else {
        return Err(WebError::NotFound);
    };
    store.delete_user_sessions(user.id).await?;
    audit(
        &state,
        &user.username,
        &ip,
        "mfa.webauthn_remove",
        Some(user.username.clone()),
        Some(format!("key \u{201c}{name}\u{201d}; other sessions ended")),
    )
    .await?;
    let cookies = begin_session(&state, &headers, user, now).await?;
    Ok((cookies, Redirect::to("/account/keys?removed=true")).into_response())
}

#[derive(Template)]
#[template(path = "webauthn_step.html")]
struct StepPage<'a> {
    title: &'a str,
    csrf: String,
    has_totp: bool,
    unavailable: Option<String>,
    origin: String,
}

/// The second step of sign-in with a key.
pub async fn login_form(
    State(state): State<AppState>,
    pending: PendingUser,
) -> Result<Response, WebError> {
    if pending.pending.purpose == PendingPurpose::Enrol {
        return Ok(Redirect::to("/login/mfa/enrol").into_response());
    }
    let (unavailable, origin) = match rp(&state) {
        Ok(rp) => (None, rp.origin),
        Err(why) => (Some(why), String::new()),
    };
    let page = StepPage {
        title: "Security key",
        csrf: pending.pending.csrf_token.clone(),
        has_totp: state.store().has_totp(pending.user.id).await?,
        unavailable,
        origin,
    };
    Ok(with_key_page_csp(html(StatusCode::OK, &page)?))
}

/// Starts a sign-in with a key: the options for `navigator.credentials.get`.
pub async fn login_begin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    pending: PendingUser,
) -> Result<Response, WebError> {
    if pending.pending.purpose == PendingPurpose::Enrol {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "Set up a second factor first.",
        ));
    }
    let rp = match rp(&state) {
        Ok(rp) => rp,
        Err(why) => return Ok(json_error(StatusCode::BAD_REQUEST, &why)),
    };
    let now = state.now();
    let user = &pending.user;
    if code_attempts_locked(&state, user.id, &ip, now).await? {
        return Ok(json_error(StatusCode::TOO_MANY_REQUESTS, CODE_PAUSED));
    }
    let store = state.store();
    let stored = store.webauthn_credentials(user.id).await?;
    let keys: Vec<Passkey> = passkeys(&stored)?.into_iter().map(|(_, p)| p).collect();
    if keys.is_empty() {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "This account has no security key.",
        ));
    }
    let (options, authentication) = rp
        .webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| WebError::internal(format!("starting a WebAuthn sign-in: {e}")))?;
    let ceremony = WebauthnCeremony {
        user_id: user.id,
        state: serialise("an authentication state", &authentication)?,
        key_name: None,
        expires_at: now + Duration::minutes(CEREMONY_MINUTES),
    };
    store
        .put_webauthn_ceremony(
            &pending.pending.id_hash,
            CeremonyKind::Authenticate,
            &ceremony,
            now,
        )
        .await?;
    Ok(Json(options).into_response())
}

/// Finishes a sign-in with the browser's answer: the session on success.
/// A wrong answer counts against the code throttle like a wrong code.
pub async fn login_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    pending: PendingUser,
    Form(form): Form<CredentialForm>,
) -> Result<Response, WebError> {
    let rp = match rp(&state) {
        Ok(rp) => rp,
        Err(why) => return Ok(json_error(StatusCode::BAD_REQUEST, &why)),
    };
    let now = state.now();
    let user = &pending.user;
    if code_attempts_locked(&state, user.id, &ip, now).await? {
        return Ok(json_error(StatusCode::TOO_MANY_REQUESTS, CODE_PAUSED));
    }
    let store = state.store();
    let ceremony = store
        .take_webauthn_ceremony(&pending.pending.id_hash, CeremonyKind::Authenticate)
        .await?
        .filter(|c| c.user_id == user.id && now < c.expires_at);
    let verified = match ceremony {
        None => None,
        Some(ceremony) => {
            let authentication: PasskeyAuthentication = serde_json::from_str(&ceremony.state)
                .map_err(|e| WebError::internal(format!("webauthn_ceremonies.state: {e}")))?;
            serde_json::from_str::<PublicKeyCredential>(&form.credential)
                .ok()
                .and_then(|answer| {
                    rp.webauthn
                        .finish_passkey_authentication(&answer, &authentication)
                        .map_err(|e| tracing::info!(error = %e, "WebAuthn sign-in refused"))
                        .ok()
                })
        }
    };
    let stored = store.webauthn_credentials(user.id).await?;
    let used = verified.and_then(|result| {
        passkeys(&stored).ok().and_then(|keys| {
            keys.into_iter()
                .find(|(_, p)| p.cred_id() == result.cred_id())
                .map(|(c, mut p)| {
                    p.update_credential(&result);
                    (c.id, c.name.clone(), p, result.counter())
                })
        })
    });
    let Some((id, name, passkey, counter)) = used else {
        record_code_failure(&state, user, &ip, now).await?;
        return Ok(json_error(StatusCode::UNAUTHORIZED, KEY_FAILED));
    };
    store
        .update_webauthn_credential(
            user.id,
            id,
            &serialise("a passkey", &passkey)?,
            i64::from(counter),
            now,
        )
        .await?;
    let detail = format!("second factor webauthn key \u{201c}{name}\u{201d}");
    let cookies = finish_sign_in(&state, &headers, &pending, &ip, &detail, now).await?;
    Ok((cookies, Json(json!({ "redirect": "/" }))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_follows_the_public_url() {
        let rp = relying_party("https://palisade.example.com").unwrap();
        assert_eq!(rp.origin, "https://palisade.example.com");
        let rp = relying_party("https://Palisade.Example.com:8443").unwrap();
        assert_eq!(rp.origin, "https://palisade.example.com:8443");
        // Loopback addresses are served as localhost, which browsers accept.
        let rp = relying_party("http://127.0.0.1:8080").unwrap();
        assert_eq!(rp.origin, "http://localhost:8080");
        let rp = relying_party("http://[::1]:8080").unwrap();
        assert_eq!(rp.origin, "http://localhost:8080");
        assert_eq!(
            relying_party("http://localhost:9000").unwrap().origin,
            "http://localhost:9000"
        );
    }

    #[test]
    fn keys_are_off_where_browsers_refuse_them() {
        let why = relying_party("https://10.0.0.5:8443").unwrap_err();
        assert!(why.contains("host name"), "{why}");
        let why = relying_party("http://palisade.example.com").unwrap_err();
        assert!(why.contains("HTTPS"), "{why}");
        assert!(relying_party("not a url").is_err());
        assert!(relying_party("ftp://example.com").is_err());
    }

    #[test]
    fn key_names_are_short_and_printable() {
        assert_eq!(key_name("  YubiKey 5 ").unwrap(), "YubiKey 5");
        assert!(key_name("   ").is_err());
        assert!(key_name(&"x".repeat(65)).is_err());
        assert!(key_name("a\u{0}b").is_err());
        assert_eq!(key_name(&"é".repeat(64)).unwrap().chars().count(), 64);
    }
}
