//! Account operations shared by the console and `palisade users`.

use chrono::{DateTime, Utc};
use palisade_store::{NewAuditEvent, Role, Store, User};

use crate::password::{check_passphrase, hash_passphrase, HashingParams};
use crate::secrets::{random_token, token_hash};
use crate::state::WebConfig;
use crate::WebError;

/// The path of an enrolment link; the token follows.
pub const ENROL_PATH: &str = "/enrol?token=";

/// On a store without users, a one-time link (token) to create the first
/// administrator, valid for `config.enrolment_ttl`. `None` when users exist.
pub async fn first_admin_link(
    store: &Store,
    config: &WebConfig,
    now: DateTime<Utc>,
) -> Result<Option<String>, WebError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = random_token()?;
    store
        .create_enrolment_token(&token_hash(&token), None, now + config.enrolment_ttl, now)
        .await?;
    Ok(Some(token))
}

/// A new one-time link for an existing user to set their passphrase.
pub async fn enrolment_link(
    store: &Store,
    config: &WebConfig,
    user: &User,
    now: DateTime<Utc>,
) -> Result<String, WebError> {
    let token = random_token()?;
    store
        .create_enrolment_token(
            &token_hash(&token),
            Some(user.id),
            now + config.enrolment_ttl,
            now,
        )
        .await?;
    Ok(token)
}

/// Creates a user. With a passphrase it is checked against the policy and
/// hashed; without one the user gets an enrolment link (returned) to choose it.
pub async fn create_user(
    store: &Store,
    config: &WebConfig,
    username: &str,
    role: Role,
    passphrase: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(User, Option<String>), WebError> {
    palisade_store::validate_username(username)?;
    let hash = match passphrase {
        Some(passphrase) => {
            check_passphrase(passphrase, username)
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            Some(hash_passphrase(passphrase, &config.hashing)?)
        }
        None => None,
    };
    let user = store
        .create_user(username, role, hash.as_deref(), now)
        .await?;
    let link = match hash {
        Some(_) => None,
        None => Some(enrolment_link(store, config, &user, now).await?),
    };
    Ok((user, link))
}

/// Whether `change` would leave no enabled administrator.
pub async fn would_remove_last_admin(store: &Store, target: &User) -> Result<bool, WebError> {
    if target.role != Role::Admin || target.disabled {
        return Ok(false);
    }
    let admins = store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Admin && !u.disabled)
        .count();
    Ok(admins <= 1)
}

/// Appends an audit record for an action taken from the command line.
pub async fn audit_cli(
    store: &Store,
    os_user: &str,
    action: &str,
    target: &str,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), WebError> {
    let event = NewAuditEvent {
        actor: format!("cli:{os_user}"),
        source_ip: None,
        action: action.to_string(),
        target: Some(target.to_string()),
        detail,
    };
    store.append_audit(&event, now).await?;
    Ok(())
}

/// Parameters for tests and benchmarks that must not spend 19 MiB and two
/// passes per hash; never the default.
pub fn fast_hashing_for_tests() -> HashingParams {
    HashingParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    }
}
