//! Single sign-on on the settings page: administrators set the identity
//! provider, its client, the role mapping, the clock skew, SSO-only and
//! whether the provider's MFA claim is trusted; auditors read them.
//!
//! - The client secret is sealed by the vault before it is stored and never
//!   shown back: the page says whether one is set, and a new value replaces it.
//! - A save first discovers the issuer; if that fails the page says why and
//!   the previous configuration stays in force. A saved configuration takes
//!   effect at once, without a restart.
//! - `palisade serve --oidc-*` flags take precedence over the settings: while
//!   they are given, the page says so and saved settings wait.
//! - Every change is audited (`settings.sso`, `settings.sso.delete`), with
//!   the secret only as "replaced", "kept" or "removed".

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use palisade_store::{Role, SsoSettings, StoredSsoSettings};
use serde::Deserialize;

use super::audit;
use crate::app::ClientIp;
use crate::authz::{CurrentUser, Permission};
use crate::oidc::{parse_role_map, Sso, SsoConfig, SsoError, CALLBACK_PATH, POST_LOGOUT_PATH};
use crate::state::AppState;
use crate::WebError;

/// The vault context the client secret is sealed for.
const SECRET_CONTEXT: &str = "sso:client-secret";
/// The largest clock skew the form accepts, in seconds.
const MAX_SKEW_SECONDS: u32 = 600;

/// What the settings say, once loaded.
#[derive(Clone, Default)]
struct Loaded {
    sso: Option<Arc<Sso>>,
    sso_only: bool,
}

/// The single sign-on of the settings page, cached in memory: loaded from
/// the store on first use, replaced on save.
#[derive(Default)]
pub struct LiveSso {
    loaded: std::sync::RwLock<Option<Loaded>>,
}

impl LiveSso {
    fn get(&self) -> Option<Loaded> {
        self.loaded.read().map(|l| l.clone()).unwrap_or_default()
    }

    fn set(&self, loaded: Loaded) {
        if let Ok(mut slot) = self.loaded.write() {
            *slot = Some(loaded);
        }
    }
}

impl AppState {
    /// The single sign-on in force: `--oidc-*` flags, else the settings page's.
    pub async fn sso(&self) -> Result<Option<Arc<Sso>>, WebError> {
        if let Some(sso) = &self.config().sso {
            return Ok(Some(sso.clone()));
        }
        Ok(self.live_sso().await?.sso)
    }

    /// [`AppState::sso`] as far as it is already loaded (for pages rendered
    /// without awaiting; the async callers load it first).
    pub fn sso_cached(&self) -> Option<Arc<Sso>> {
        self.config()
            .sso
            .clone()
            .or_else(|| self.inner.live_sso.get().and_then(|l| l.sso))
    }

    /// Whether passphrase sign-in is limited to break-glass accounts.
    pub async fn sso_only(&self) -> Result<bool, WebError> {
        if self.config().sso.is_some() {
            return Ok(self.config().sso_only);
        }
        let live = self.live_sso().await?;
        Ok(live.sso_only && live.sso.is_some())
    }

    /// [`AppState::sso_only`] as far as it is already loaded.
    pub fn sso_only_cached(&self) -> bool {
        if self.config().sso.is_some() {
            return self.config().sso_only;
        }
        self.inner
            .live_sso
            .get()
            .is_some_and(|l| l.sso_only && l.sso.is_some())
    }

    async fn live_sso(&self) -> Result<Loaded, WebError> {
        if let Some(loaded) = self.inner.live_sso.get() {
            return Ok(loaded);
        }
        self.load_sso_settings().await
    }

    /// Reads the settings page's single sign-on from the store again (at
    /// start, so the sign-in page offers it from the first request).
    pub async fn reload_sso_settings(&self) -> Result<(), WebError> {
        self.load_sso_settings().await.map(drop)
    }

    /// A stored configuration that no longer builds (a master key that cannot
    /// open the secret) is logged and left off, so sign-in pages still work.
    async fn load_sso_settings(&self) -> Result<Loaded, WebError> {
        let loaded = match self.store().sso_settings().await? {
            None => Loaded::default(),
            Some(stored) => match build(self, &stored) {
                Ok(sso) => Loaded {
                    sso: Some(Arc::new(sso)),
                    sso_only: stored.settings.sso_only,
                },
                Err(error) => {
                    tracing::error!(%error, "single sign-on settings are unusable; SSO is off");
                    Loaded::default()
                }
            },
        };
        self.inner.live_sso.set(loaded.clone());
        Ok(loaded)
    }
}

/// The provider client for stored settings.
fn build(state: &AppState, stored: &StoredSsoSettings) -> Result<Sso, WebError> {
    let secret = open_secret(state, stored.client_secret_sealed.as_deref())?;
    let config = config_from(&stored.settings, secret).map_err(|e| match e {
        FormError(message) => WebError::internal(message),
    })?;
    Sso::new(config, &state.config().public_url)
        .map_err(|e| WebError::internal(format!("SSO settings: {e}")))
}

/// The client secret in clear, from its sealed form.
fn open_secret(state: &AppState, sealed: Option<&str>) -> Result<Option<String>, WebError> {
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let plain = state
        .vault()?
        .open_sealed(sealed, SECRET_CONTEXT)
        .map_err(|e| WebError::internal(format!("opening the SSO client secret: {e}")))?;
    String::from_utf8(plain.to_vec())
        .map(Some)
        .map_err(|_| WebError::internal("the SSO client secret is not UTF-8"))
}

/// A field the administrator must correct; the text names it.
struct FormError(String);

fn config_from(settings: &SsoSettings, secret: Option<String>) -> Result<SsoConfig, FormError> {
    let role_map = parse_role_map(&settings.role_map).map_err(|e| FormError(e.to_string()))?;
    let default_role = settings
        .default_role
        .as_deref()
        .map(|r| r.parse::<Role>())
        .transpose()
        .map_err(|e| FormError(format!("default role: {e}")))?;
    if role_map.is_empty() && default_role.is_none() {
        return Err(FormError(
            "role map: map at least one group to a role, or choose a default role (nobody could sign in)"
                .into(),
        ));
    }
    Ok(SsoConfig {
        issuer: settings.issuer.clone(),
        client_id: settings.client_id.clone(),
        client_secret: secret,
        role_claim: settings.role_claim.clone(),
        role_map,
        default_role,
        clock_skew: Duration::seconds(i64::from(settings.clock_skew_seconds)),
        trust_idp_mfa: settings.trust_idp_mfa,
        mfa_acr_values: settings.mfa_acr_values.clone(),
    })
}

#[derive(Template)]
#[template(path = "settings_sso.html")]
struct Section<'a> {
    csrf: &'a str,
    can_manage: bool,
    flags: Option<FlagSummary>,
    configured: bool,
    issuer: String,
    client_id: String,
    secret_set: bool,
    role_claim: String,
    role_map: String,
    default_role: String,
    clock_skew: u32,
    sso_only: bool,
    trust_idp_mfa: bool,
    mfa_acr_values: String,
    updated: String,
    redirect_url: String,
    post_logout_url: String,
    roles: [&'static str; 4],
    message: Option<&'a str>,
}

/// What the `--oidc-*` flags set, for the page.
struct FlagSummary {
    issuer: String,
    client_id: String,
}

/// Why a save was refused, and what the administrator had typed (shown
/// again in the form, except the secret).
pub(crate) struct SsoNotice {
    message: String,
    attempted: Option<SsoSettings>,
}

/// The settings page's single sign-on section, rendered (askama escapes it).
pub(crate) async fn section(
    state: &AppState,
    current: &CurrentUser,
    notice: Option<&SsoNotice>,
) -> Result<String, WebError> {
    let stored = state.store().sso_settings().await?;
    let settings = notice
        .and_then(|n| n.attempted.clone())
        .or_else(|| stored.as_ref().map(|s| s.settings.clone()));
    let message = notice.map(|n| n.message.as_str());
    let public_url = state.config().public_url.trim_end_matches('/');
    let section = Section {
        csrf: &current.csrf,
        can_manage: Permission::ManageSettings.allows(current.user.role),
        flags: state.config().sso.as_ref().map(|sso| FlagSummary {
            issuer: sso.config().issuer.clone(),
            client_id: sso.config().client_id.clone(),
        }),
        configured: stored.is_some(),
        issuer: settings
            .as_ref()
            .map(|s| s.issuer.clone())
            .unwrap_or_default(),
        client_id: settings
            .as_ref()
            .map(|s| s.client_id.clone())
            .unwrap_or_default(),
        secret_set: stored
            .as_ref()
            .is_some_and(|s| s.client_secret_sealed.is_some()),
        role_claim: settings
            .as_ref()
            .map(|s| s.role_claim.clone())
            .unwrap_or_else(|| "groups".into()),
        role_map: settings
            .as_ref()
            .map(|s| s.role_map.clone())
            .unwrap_or_default(),
        default_role: settings
            .as_ref()
            .and_then(|s| s.default_role.clone())
            .unwrap_or_default(),
        clock_skew: settings.as_ref().map_or(60, |s| s.clock_skew_seconds),
        sso_only: settings.as_ref().is_some_and(|s| s.sso_only),
        trust_idp_mfa: settings.as_ref().is_none_or(|s| s.trust_idp_mfa),
        mfa_acr_values: settings
            .as_ref()
            .map(|s| s.mfa_acr_values.join(" "))
            .unwrap_or_default(),
        updated: stored
            .as_ref()
            .map(|s| {
                format!(
                    "{} by {}",
                    s.updated_at.format("%Y-%m-%d %H:%M UTC"),
                    s.updated_by
                )
            })
            .unwrap_or_default(),
        redirect_url: format!("{public_url}{CALLBACK_PATH}"),
        post_logout_url: format!("{public_url}{POST_LOGOUT_PATH}"),
        roles: ["admin", "analyst", "viewer", "auditor"],
        message,
    };
    Ok(section.render()?)
}

#[derive(Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    /// Empty keeps the stored secret.
    #[serde(default)]
    client_secret: String,
    /// `on`: store no secret (a public client).
    #[serde(default)]
    remove_secret: Option<String>,
    #[serde(default)]
    role_claim: String,
    #[serde(default)]
    role_map: String,
    #[serde(default)]
    default_role: String,
    #[serde(default)]
    clock_skew: String,
    #[serde(default)]
    sso_only: Option<String>,
    #[serde(default)]
    trust_idp_mfa: Option<String>,
    #[serde(default)]
    mfa_acr_values: String,
}

const MAX_FIELD: usize = 2048;

fn field(name: &str, value: &str, required: bool) -> Result<String, FormError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FormError(format!("{name}: required")));
    }
    if value.len() > MAX_FIELD || value.chars().any(char::is_control) {
        return Err(FormError(format!(
            "{name}: at most {MAX_FIELD} characters, no control characters"
        )));
    }
    Ok(value.to_string())
}

fn settings_from(form: &SsoForm) -> Result<SsoSettings, FormError> {
    let clock_skew_seconds = match form.clock_skew.trim().parse::<u32>() {
        Ok(s) if s <= MAX_SKEW_SECONDS => s,
        _ => {
            return Err(FormError(format!(
                "clock skew: a number of seconds from 0 to {MAX_SKEW_SECONDS}"
            )))
        }
    };
    let default_role = field("default role", &form.default_role, false)?;
    Ok(SsoSettings {
        issuer: field("issuer URL", &form.issuer, true)?,
        client_id: field("client id", &form.client_id, true)?,
        role_claim: field("role claim", &form.role_claim, true)?,
        role_map: field("role map", &form.role_map, false)?,
        default_role: (!default_role.is_empty()).then_some(default_role),
        clock_skew_seconds,
        sso_only: form.sso_only.is_some(),
        trust_idp_mfa: form.trust_idp_mfa.is_some(),
        mfa_acr_values: field("MFA acr values", &form.mfa_acr_values, false)?
            .split_whitespace()
            .map(String::from)
            .collect(),
    })
}

/// One line for the audit log: every field but the secret.
fn describe(settings: &SsoSettings, secret: &str) -> String {
    format!(
        "issuer {}, client id {}, client secret {secret}, role claim {}, role map `{}`, \
         default role {}, clock skew {} s, sso-only {}, trust provider MFA {}, MFA acr `{}`",
        settings.issuer,
        settings.client_id,
        settings.role_claim,
        settings.role_map,
        settings.default_role.as_deref().unwrap_or("none"),
        settings.clock_skew_seconds,
        if settings.sso_only { "on" } else { "off" },
        if settings.trust_idp_mfa { "yes" } else { "no" },
        settings.mfa_acr_values.join(" "),
    )
}

/// Why a save changed nothing: shown on the settings page with what was
/// attempted, and audited.
struct Refusal {
    status: StatusCode,
    message: String,
    attempted: Option<SsoSettings>,
}

/// What stops a save: a refusal to show, or a failure of the server.
enum SaveError {
    Refused(Refusal),
    Failed(WebError),
}

impl From<WebError> for SaveError {
    fn from(error: WebError) -> Self {
        SaveError::Failed(error)
    }
}

impl From<palisade_store::Error> for SaveError {
    fn from(error: palisade_store::Error) -> Self {
        SaveError::Failed(error.into())
    }
}

fn refused(status: StatusCode, message: String, attempted: Option<&SsoSettings>) -> SaveError {
    SaveError::Refused(Refusal {
        status,
        message,
        attempted: attempted.cloned(),
    })
}

async fn refuse(
    state: &AppState,
    current: &CurrentUser,
    ip: &str,
    refusal: Refusal,
) -> Result<Response, WebError> {
    audit(
        state,
        &current.user.username,
        ip,
        "settings.sso.refused",
        Some("sso".into()),
        Some(refusal.message.clone()),
    )
    .await?;
    let notice = SsoNotice {
        message: refusal.message,
        attempted: refusal.attempted,
    };
    super::settings::page_with_sso(state, current, refusal.status, None, Some(&notice)).await
}

/// A form that passed every check: the settings, their client secret as
/// stored, and a client for the provider, discovered.
struct Checked {
    settings: SsoSettings,
    sealed: Option<String>,
    /// What happened to the secret, for the audit log.
    secret_change: &'static str,
    sso: Sso,
}

/// Checks the form, seals a new secret and discovers the issuer; nothing is
/// stored yet.
async fn check(state: &AppState, form: &SsoForm) -> Result<Checked, SaveError> {
    let settings = settings_from(form)
        .map_err(|FormError(message)| refused(StatusCode::BAD_REQUEST, message, None))?;
    let form_error =
        |FormError(message)| refused(StatusCode::BAD_REQUEST, message, Some(&settings));
    let previous = state.store().sso_settings().await?;
    let new_secret = field("client secret", &form.client_secret, false).map_err(form_error)?;
    let (secret, sealed, secret_change) = if form.remove_secret.is_some() {
        (None, None, "removed")
    } else if !new_secret.is_empty() {
        let sealed = state
            .vault()?
            .seal(new_secret.as_bytes(), SECRET_CONTEXT)
            .map_err(|e| WebError::internal(format!("sealing the SSO client secret: {e}")))?;
        (Some(new_secret), Some(sealed), "replaced")
    } else {
        let sealed = previous
            .as_ref()
            .and_then(|p| p.client_secret_sealed.clone());
        let secret = open_secret(state, sealed.as_deref())?;
        let change = if sealed.is_some() { "kept" } else { "none" };
        (secret, sealed, change)
    };
    let config = config_from(&settings, secret).map_err(form_error)?;
    let sso = Sso::new(config, &state.config().public_url).map_err(|error| {
        let message = error.to_string().replace("--oidc-issuer", "issuer URL");
        refused(StatusCode::BAD_REQUEST, message, Some(&settings))
    })?;
    if settings.sso_only && state.store().count_enabled_break_glass().await? == 0 {
        let message = "SSO-only needs a break-glass administrator first \
                       (`palisade users break-glass NAME`), or nobody could sign in when the provider is down.";
        return Err(refused(
            StatusCode::BAD_REQUEST,
            message.to_string(),
            Some(&settings),
        ));
    }
    if let Err(error) = sso.discover().await {
        let message = match error {
            SsoError::Discovery(detail) => format!(
                "Discovery of {} failed, nothing was changed: {detail}",
                settings.issuer
            ),
            other => format!("Nothing was changed: {other}"),
        };
        return Err(refused(StatusCode::BAD_GATEWAY, message, Some(&settings)));
    }
    Ok(Checked {
        settings,
        sealed,
        secret_change,
        sso,
    })
}

/// `POST /settings/sso`: checks the form, discovers the issuer, seals the
/// secret, stores the settings and puts them in force.
pub async fn save(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
    Form(form): Form<SsoForm>,
) -> Result<Response, WebError> {
    let Checked {
        settings,
        sealed,
        secret_change,
        sso,
    } = match check(&state, &form).await {
        Ok(checked) => checked,
        Err(SaveError::Refused(refusal)) => return refuse(&state, &current, &ip, refusal).await,
        Err(SaveError::Failed(error)) => return Err(error),
    };
    let now = state.now();
    state
        .store()
        .set_sso_settings(&settings, sealed.as_deref(), &current.user.username, now)
        .await?;
    state.inner.live_sso.set(Loaded {
        sso: Some(Arc::new(sso)),
        sso_only: settings.sso_only,
    });
    let mut detail = describe(&settings, secret_change);
    if state.config().sso.is_some() {
        detail.push_str("; not in force while --oidc-issuer is given");
    }
    audit(
        &state,
        &current.user.username,
        &ip,
        "settings.sso",
        Some("sso".into()),
        Some(detail),
    )
    .await?;
    Ok(Redirect::to("/settings?saved=true").into_response())
}

/// `POST /settings/sso/delete`: turns the settings page's single sign-on off.
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    current: CurrentUser,
) -> Result<Response, WebError> {
    let removed = state.store().delete_sso_settings().await?;
    state.inner.live_sso.set(Loaded::default());
    if removed {
        audit(
            &state,
            &current.user.username,
            &ip,
            "settings.sso.delete",
            Some("sso".into()),
            None,
        )
        .await?;
    }
    Ok(Redirect::to("/settings?saved=true").into_response())
}
