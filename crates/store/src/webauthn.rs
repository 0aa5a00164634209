//! WebAuthn security keys and passkeys of console accounts, and the
//! server-side state of their registration and sign-in ceremonies.
//!
//! The store does not parse credentials: the web crate hands them over
//! serialised (webauthn-rs's `Passkey` as JSON), with the credential id and
//! signature counter next to them for uniqueness and display.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};

/// A registered security key or passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebauthnCredential {
    pub id: i64,
    pub user_id: i64,
    /// The name the user gave it.
    pub name: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The serialised credential (public key and counter).
    pub credential: String,
    pub sign_count: i64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a WebAuthn ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Register,
    Authenticate,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Authenticate => "authenticate",
        }
    }
}

/// A ceremony in progress, as taken back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCeremony {
    pub user_id: i64,
    /// webauthn-rs's serialised ceremony state.
    pub state: String,
    /// The name of the key being registered.
    pub key_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: i64,
    user_id: i64,
    name: String,
    credential_id: String,
    credential: String,
    sign_count: i64,
    created_at: String,
    last_used_at: Option<String>,
}

impl CredentialRow {
    fn parse(self) -> Result<StoredWebauthnCredential> {
        Ok(StoredWebauthnCredential {
            created_at: parse_ts("webauthn_credentials.created_at", &self.created_at)?,
            last_used_at: self
                .last_used_at
                .map(|t| parse_ts("webauthn_credentials.last_used_at", &t))
                .transpose()?,
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            credential_id: self.credential_id,
            credential: self.credential,
            sign_count: self.sign_count,
        })
    }
}

impl Store {
    /// The user's WebAuthn user handle, created from `candidate` on first use.
    pub async fn webauthn_user_handle(&self, user_id: i64, candidate: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO webauthn_user_handles (user_id, handle) VALUES (?, ?) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(candidate)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT handle FROM webauthn_user_handles WHERE user_id = ?")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The user's keys, oldest first.
    pub async fn webauthn_credentials(
        &self,
        user_id: i64,
    ) -> Result<Vec<StoredWebauthnCredential>> {
        sqlx::query_as::<_, CredentialRow>(
            "SELECT id, user_id, name, credential_id, credential, sign_count, created_at, \
             last_used_at FROM webauthn_credentials WHERE user_id = ? ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CredentialRow::parse)
        .collect()
    }

    /// Whether the user has at least one key.
    pub async fn has_webauthn(&self, user_id: i64) -> Result<bool> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(count > 0)
    }

    /// Registers a key; its id. Error [`Error::Conflict`] if the credential
    /// is already registered (to this or another account).
    pub async fn add_webauthn_credential(
        &self,
        user_id: i64,
        name: &str,
        credential_id: &str,
        credential: &str,
        sign_count: i64,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let done = sqlx::query(
            "INSERT INTO webauthn_credentials \
             (user_id, name, credential_id, credential, sign_count, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(name)
        .bind(credential_id)
        .bind(credential)
        .bind(sign_count)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict("this key is already registered".into()));
        }
        Ok(done.last_insert_rowid())
    }

    /// Stores a key's credential after a sign-in (its new counter) and when
    /// it was used.
    pub async fn update_webauthn_credential(
        &self,
        user_id: i64,
        id: i64,
        credential: &str,
        sign_count: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE webauthn_credentials SET credential = ?, sign_count = ?, last_used_at = ? \
             WHERE id = ? AND user_id = ?",
        )
        .bind(credential)
        .bind(sign_count)
        .bind(ts(now))
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes one of the user's keys; its name, or `None` if the user has
    /// no key with this id (another user's key included).
    pub async fn remove_webauthn_credential(
        &self,
        user_id: i64,
        id: i64,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ? RETURNING name",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps the state of a ceremony for the session or pre-session whose id
    /// hashes to `owner_hash`, replacing the one of the same kind it had.
    /// Expired ceremonies of anyone are dropped on the way.
    pub async fn put_webauthn_ceremony(
        &self,
        owner_hash: &str,
        kind: CeremonyKind,
        ceremony: &WebauthnCeremony,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= ?")
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO webauthn_ceremonies \
             (owner_hash, kind, user_id, state, key_name, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (owner_hash, kind) DO UPDATE SET user_id = excluded.user_id, \
             state = excluded.state, key_name = excluded.key_name, \
             expires_at = excluded.expires_at",
        )
        .bind(owner_hash)
        .bind(kind.as_str())
        .bind(ceremony.user_id)
        .bind(&ceremony.state)
        .bind(&ceremony.key_name)
        .bind(ts(ceremony.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes (and deletes) the ceremony of `kind` that `owner_hash` started:
    /// each challenge is answered at most once. The caller checks expiry and
    /// the user.
    pub async fn take_webauthn_ceremony(
        &self,
        owner_hash: &str,
        kind: CeremonyKind,
    ) -> Result<Option<WebauthnCeremony>> {
        let row: Option<(i64, String, Option<String>, String)> = sqlx::query_as(
            "DELETE FROM webauthn_ceremonies WHERE owner_hash = ? AND kind = ? \
             RETURNING user_id, state, key_name, expires_at",
        )
        .bind(owner_hash)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(user_id, state, key_name, expires_at)| {
            Ok(WebauthnCeremony {
                user_id,
                state,
                key_name,
                expires_at: parse_ts("webauthn_ceremonies.expires_at", &expires_at)?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::Role;

    async fn store_with_user() -> (Store, i64, DateTime<Utc>) {
        let store = Store::open("sqlite::memory:").await.unwrap();
        // Whole seconds: the store keeps microseconds.
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
        let user = store
            .create_user("ada", Role::Analyst, Some("x"), now)
            .await
            .unwrap();
        (store, user.id, now)
    }

    #[tokio::test]
    async fn keys_are_unique_per_credential_and_count_as_mfa() {
        let (store, user, now) = store_with_user().await;
        assert!(!store.has_mfa(user).await.unwrap());
        let id = store
            .add_webauthn_credential(user, "yubikey", "cred-1", "{}", 0, now)
            .await
            .unwrap();
        assert!(store.has_webauthn(user).await.unwrap());
        assert!(store.has_mfa(user).await.unwrap());
        assert_eq!(store.users_with_mfa().await.unwrap(), vec![user]);
        let again = store
            .add_webauthn_credential(user, "copy", "cred-1", "{}", 0, now)
            .await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");

        store
            .update_webauthn_credential(user, id, "{\"n\":1}", 7, now)
            .await
            .unwrap();
        let keys = store.webauthn_credentials(user).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].sign_count, keys[0].credential.as_str()),
            (7, "{\"n\":1}")
        );
        assert_eq!(keys[0].last_used_at, Some(keys[0].created_at));

        // Another user cannot remove it; its owner can, once.
        assert_eq!(
            store
                .remove_webauthn_credential(user + 1, id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .remove_webauthn_credential(user, id)
                .await
                .unwrap()
                .as_deref(),
            Some("yubikey")
        );
        assert_eq!(
            store.remove_webauthn_credential(user, id).await.unwrap(),
            None
        );
        assert!(!store.has_mfa(user).await.unwrap());
    }

    #[tokio::test]
    async fn an_admin_reset_removes_keys_too() {
        let (store, user, now) = store_with_user().await;
        store
            .add_webauthn_credential(user, "yubikey", "cred-1", "{}", 0, now)
            .await
            .unwrap();
        assert!(store.remove_mfa(user, true).await.unwrap());
        assert!(!store.has_webauthn(user).await.unwrap());
    }

    #[tokio::test]
    async fn the_user_handle_is_made_once() {
        let (store, user, _) = store_with_user().await;
        assert_eq!(store.webauthn_user_handle(user, "aa").await.unwrap(), "aa");
        assert_eq!(store.webauthn_user_handle(user, "bb").await.unwrap(), "aa");
    }

    #[tokio::test]
    async fn a_ceremony_is_taken_once_and_expired_ones_are_dropped() {
        let (store, user, now) = store_with_user().await;
        let ceremony = |state: &str, expires_at| WebauthnCeremony {
            user_id: user,
            state: state.into(),
            key_name: Some("key".into()),
            expires_at,
        };
        let later = now + Duration::minutes(5);
        store
            .put_webauthn_ceremony("s1", CeremonyKind::Register, &ceremony("old", later), now)
            .await
            .unwrap();
        store
            .put_webauthn_ceremony("s1", CeremonyKind::Register, &ceremony("new", later), now)
            .await
            .unwrap();
        assert_eq!(
            store
                .take_webauthn_ceremony("s1", CeremonyKind::Authenticate)
                .await
                .unwrap(),
            None
        );
        let taken = store
            .take_webauthn_ceremony("s1", CeremonyKind::Register)
            .await
            .unwrap();
        assert_eq!(taken, Some(ceremony("new", later)));
        assert_eq!(
            store
                .take_webauthn_ceremony("s1", CeremonyKind::Register)
                .await
                .unwrap(),
            None
        );

        store
            .put_webauthn_ceremony("s2", CeremonyKind::Authenticate, &ceremony("x", now), now)
            .await
            .unwrap();
        store
            .put_webauthn_ceremony(
                "s3",
                CeremonyKind::Authenticate,
                &ceremony("y", later),
                later,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .take_webauthn_ceremony("s2", CeremonyKind::Authenticate)
                .await
                .unwrap(),
            None
        );
    }
}
