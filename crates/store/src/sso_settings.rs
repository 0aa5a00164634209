//! Single sign-on set up from the console (rather than `palisade serve`
//! flags), and the sealed ID tokens kept for signing out at the provider.
//!
//! The client secret and the ID tokens arrive sealed by the vault: this
//! module never sees them in clear.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};

/// The non-secret single sign-on settings, as an administrator entered them
/// (the web crate checks and parses them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub role_claim: String,
    /// `group=role,group=role`, first match wins.
    pub role_map: String,
    /// A role name, or `None` to refuse users in no mapped group.
    pub default_role: Option<String>,
    pub clock_skew_seconds: u32,
    pub sso_only: bool,
    pub trust_idp_mfa: bool,
    #[serde(default)]
    pub mfa_acr_values: Vec<String>,
}

/// [`SsoSettings`] with the sealed secret and who last changed them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSsoSettings {
    pub settings: SsoSettings,
    pub client_secret_sealed: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl std::fmt::Debug for StoredSsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSsoSettings")
            .field("settings", &self.settings)
            .field("has_client_secret", &self.client_secret_sealed.is_some())
            .field("updated_at", &self.updated_at)
            .field("updated_by", &self.updated_by)
            .finish()
    }
}

impl Store {
    pub async fn sso_settings(&self) -> Result<Option<StoredSsoSettings>> {
        let row: Option<(String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT config, client_secret_sealed, updated_at, updated_by FROM sso_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(config, sealed, updated_at, updated_by)| {
            Ok(StoredSsoSettings {
                settings: serde_json::from_str(&config)
                    .map_err(|e| Error::corrupt("sso_settings.config", e))?,
                client_secret_sealed: sealed,
                updated_at: parse_ts("sso_settings.updated_at", &updated_at)?,
                updated_by,
            })
        })
        .transpose()
    }

    /// Replaces the settings and the sealed secret (`None`: a public client).
    pub async fn set_sso_settings(
        &self,
        settings: &SsoSettings,
        client_secret_sealed: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let config = serde_json::to_string(settings).map_err(|source| Error::Encode {
            what: "SSO settings",
            source,
        })?;
        sqlx::query(
            "INSERT INTO sso_settings (id, config, client_secret_sealed, updated_at, updated_by) \
             VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config, \
             client_secret_sealed = excluded.client_secret_sealed, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(config)
        .bind(client_secret_sealed)
        .bind(ts(now))
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the settings; returns whether there were any.
    pub async fn delete_sso_settings(&self) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sso_settings")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Enabled break-glass accounts (SSO-only needs at least one).
    pub async fn count_enabled_break_glass(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM break_glass_accounts b JOIN users u ON u.id = b.user_id \
             WHERE u.disabled = 0",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Keeps the sealed ID token of a user's latest SSO sign-in.
    pub async fn set_sso_logout_hint(
        &self,
        user_id: i64,
        id_token_sealed: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sso_logout_hints (user_id, id_token_sealed, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET id_token_sealed = excluded.id_token_sealed, \
             created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(id_token_sealed)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) the sealed ID token kept for `user_id`.
    pub async fn take_sso_logout_hint(&self, user_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM sso_logout_hints WHERE user_id = ? RETURNING id_token_sealed",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn settings() -> SsoSettings {
        SsoSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "palisade".into(),
            role_claim: "groups".into(),
            role_map: "sec=admin".into(),
            default_role: None,
            clock_skew_seconds: 60,
            sso_only: false,
            trust_idp_mfa: true,
            mfa_acr_values: vec![],
        }
    }

    #[tokio::test]
    async fn settings_and_hints_round_trip_and_are_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("s.db").to_str().expect("utf-8"))
            .await
            .expect("store");
        let now = Utc::now();
        assert!(store.sso_settings().await.expect("read").is_none());
        store
            .set_sso_settings(&settings(), Some("pv1:k:sealed"), "ann", now)
            .await
            .expect("save");
        let mut changed = settings();
        changed.sso_only = true;
        store
            .set_sso_settings(&changed, None, "bob", now)
            .await
            .expect("replace");
        let stored = store.sso_settings().await.expect("read").expect("row");
        assert_eq!(stored.settings, changed);
        assert_eq!(stored.client_secret_sealed, None);
        assert_eq!(stored.updated_by, "bob");
        assert!(!format!("{stored:?}").contains("pv1"));
        assert!(store.delete_sso_settings().await.expect("delete"));
        assert!(!store.delete_sso_settings().await.expect("delete again"));

        let user = store
            .create_user("sam", Role::Viewer, Some("hash"), now)
            .await
            .expect("user");
        assert_eq!(store.count_enabled_break_glass().await.expect("count"), 0);
        store
            .set_break_glass(user.id, true, now)
            .await
            .expect("mark");
        assert_eq!(store.count_enabled_break_glass().await.expect("count"), 1);
        store
            .set_sso_logout_hint(user.id, "pv1:a", now)
            .await
            .expect("hint");
        store
            .set_sso_logout_hint(user.id, "pv1:b", now)
            .await
            .expect("hint again");
        let taken = store.take_sso_logout_hint(user.id).await.expect("take");
        assert_eq!(taken.as_deref(), Some("pv1:b"));
        assert_eq!(
            store.take_sso_logout_hint(user.id).await.expect("take"),
            None
        );
    }
}
