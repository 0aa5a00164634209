//! The console's configuration and shared state.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use palisade_store::Store;

use crate::password::{hash_passphrase, HashingParams};
use crate::WebError;

/// How sign-in failures are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures for one account name before it is locked.
    pub account_failures: u32,
    /// Failures from one client address before it is locked.
    pub address_failures: u32,
    /// The first lock; each further failure doubles it, up to `max_lock`.
    pub first_lock: Duration,
    pub max_lock: Duration,
    /// A failure older than this no longer counts.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            account_failures: 5,
            address_failures: 20,
            first_lock: Duration::minutes(1),
            max_lock: Duration::minutes(15),
            forget_after: Duration::minutes(15),
        }
    }
}

impl ThrottlePolicy {
    /// How long a key with `failures` failures is locked (threshold `limit`).
    pub fn lock_for(&self, failures: u32, limit: u32) -> Option<Duration> {
        let over = failures.checked_sub(limit)?;
        let factor = 1i32.checked_shl(over.min(20)).unwrap_or(i32::MAX);
        Some(
            self.first_lock
                .checked_mul(factor)
                .unwrap_or(self.max_lock)
                .min(self.max_lock),
        )
    }
}

/// Everything `palisade serve` can change about the console.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Argon2id costs for new passphrase hashes.
    pub hashing: HashingParams,
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_absolute: Duration,
    /// `__Host-` cookies with `Secure`: on whenever the browser talks HTTPS
    /// (our TLS or a TLS proxy). Off only for plain-HTTP development on loopback.
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (only when serving TLS ourselves or behind a TLS proxy).
    pub hsts: bool,
    /// How long an enrolment link stays valid.
    pub enrolment_ttl: Duration,
    pub throttle: ThrottlePolicy,
    /// The whole request, handler included, must finish within this.
    pub request_timeout: std::time::Duration,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Where browsers reach the console (`https://palisade.example.com`), for
    /// the links it hands out; no trailing slash.
    pub public_url: String,
    /// OpenID Connect single sign-on, when configured.
    pub sso: Option<Arc<crate::oidc::Sso>>,
    /// Refuse passphrase sign-in except for break-glass accounts.
    pub sso_only: bool,
    /// Reverse proxies whose forwarding headers give the client's address.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            hashing: HashingParams::default(),
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            secure_cookies: true,
            hsts: true,
            enrolment_ttl: Duration::hours(1),
            throttle: ThrottlePolicy::default(),
            request_timeout: std::time::Duration::from_secs(30),
            body_limit: 64 * 1024,
            public_url: "https://127.0.0.1:8080".to_string(),
            sso: None,
            sso_only: false,
            trusted_proxies: crate::client_ip::TrustedProxies::default(),
        }
    }
}

/// The time, with an offset tests can move forward.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub config: WebConfig,
    pub clock: Clock,
    /// A hash of a random passphrase, verified against when the account does
    /// not exist so that a sign-in costs the same either way.
    pub decoy_hash: String,
    /// Seals the secrets the console keeps (TOTP seeds); set once at start.
    pub vault: std::sync::OnceLock<palisade_vault::Vault>,
    /// Single sign-on from the settings page, loaded on first use and
    /// replaced when an administrator saves it.
    pub live_sso: crate::handlers::sso_settings::LiveSso,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig, clock: Clock) -> Result<AppState, WebError> {
        let decoy = crate::secrets::random_token()?;
        let decoy_hash = hash_passphrase(&decoy, &config.hashing)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                decoy_hash,
                vault: std::sync::OnceLock::new(),
                live_sso: Default::default(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Gives the console its vault (`palisade serve` opens it with the
    /// master key before serving). Only the first call has an effect.
    pub fn set_vault(&self, vault: palisade_vault::Vault) {
        let _ = self.inner.vault.set(vault);
    }

    /// The vault, or an internal error if none was set.
    pub fn vault(&self) -> Result<&palisade_vault::Vault, WebError> {
        self.inner
            .vault
            .get()
            .ok_or_else(|| WebError::internal("the vault (master key) is not configured"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_threshold_and_double_up_to_the_maximum() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.lock_for(4, 5), None);
        assert_eq!(policy.lock_for(5, 5), Some(Duration::minutes(1)));
        assert_eq!(policy.lock_for(6, 5), Some(Duration::minutes(2)));
        assert_eq!(policy.lock_for(8, 5), Some(Duration::minutes(8)));
        assert_eq!(policy.lock_for(9, 5), Some(Duration::minutes(15)));
        assert_eq!(policy.lock_for(u32::MAX, 5), Some(Duration::minutes(15)));
    }
}
