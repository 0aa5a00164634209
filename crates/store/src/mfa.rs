//! Second factors of console accounts (TOTP authenticators and one-time
//! recovery codes), the half-authenticated pre-sessions between passphrase
//! and code, and the vault's wrapped data keys.
//!
//! Like the rest of the accounts data, the store keeps only what it is
//! given: TOTP seeds arrive sealed by the vault, recovery codes and
//! pre-session ids hashed.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};
use crate::User;

/// A data key of the vault, as stored: wrapped by the master key `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub id: String,
    pub master_key_id: String,
    pub wrapped: String,
}

/// A user's TOTP authenticator.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTotp {
    pub user_id: i64,
    /// The seed, sealed by the vault.
    pub sealed_seed: String,
    /// `None` while enrolment waits for its first code.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last accepted time step (-1: none yet).
    pub last_step: i64,
}

impl std::fmt::Debug for StoredTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTotp")
            .field("user_id", &self.user_id)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// What a half-authenticated pre-session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingPurpose {
    /// The passphrase was right; the second factor is due.
    Verify,
    /// The passphrase was right; MFA is required and the user has none yet.
    Enrol,
}

impl PendingPurpose {
    fn as_str(self) -> &'static str {
        match self {
            PendingPurpose::Verify => "verify",
            PendingPurpose::Enrol => "enrol",
        }
    }
}

/// A half-authenticated pre-session, found by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPending {
    pub id_hash: String,
    pub user_id: i64,
    pub purpose: PendingPurpose,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    id_hash: String,
    user_id: i64,
    purpose: String,
    csrf_token: String,
    created_at: String,
    expires_at: String,
}

impl PendingRow {
    fn parse(self) -> Result<MfaPending> {
        let purpose = match self.purpose.as_str() {
            "verify" => PendingPurpose::Verify,
            "enrol" => PendingPurpose::Enrol,
            other => {
                return Err(Error::Corrupt {
                    what: "mfa_pending.purpose".into(),
                    reason: format!("unknown purpose `{other}`"),
                })
            }
        };
        Ok(MfaPending {
            created_at: parse_ts("mfa_pending.created_at", &self.created_at)?,
            expires_at: parse_ts("mfa_pending.expires_at", &self.expires_at)?,
            id_hash: self.id_hash,
            user_id: self.user_id,
            purpose,
            csrf_token: self.csrf_token,
        })
    }
}

impl Store {
    /// Every data key of the vault.
    pub async fn vault_data_keys(&self) -> Result<Vec<StoredDataKey>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, master_key_id, wrapped FROM vault_data_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, master_key_id, wrapped)| StoredDataKey {
                id,
                master_key_id,
                wrapped,
            })
            .collect())
    }

    pub async fn insert_vault_data_key(
        &self,
        key: &StoredDataKey,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO vault_data_keys (id, master_key_id, wrapped, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&key.id)
        .bind(&key.master_key_id)
        .bind(&key.wrapped)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces the wrapping of data keys, all or none. Each key must still be
    /// wrapped by `old_master_key_id` (error [`Error::Conflict`] otherwise, so
    /// two rotations cannot interleave).
    pub async fn rewrap_vault_data_keys(
        &self,
        old_master_key_id: &str,
        keys: &[StoredDataKey],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for key in keys {
            let done = sqlx::query(
                "UPDATE vault_data_keys SET master_key_id = ?, wrapped = ? \
                 WHERE id = ? AND master_key_id = ?",
            )
            .bind(&key.master_key_id)
            .bind(&key.wrapped)
            .bind(&key.id)
            .bind(old_master_key_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Conflict(format!(
                    "data key {} is not wrapped by master key {old_master_key_id}",
                    key.id
                )));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's authenticator, confirmed or not.
    pub async fn totp(&self, user_id: i64) -> Result<Option<StoredTotp>> {
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT sealed_seed, confirmed_at, last_step FROM user_totp WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(sealed_seed, confirmed_at, last_step)| {
            Ok(StoredTotp {
                user_id,
                sealed_seed,
                confirmed_at: confirmed_at
                    .map(|t| parse_ts("user_totp.confirmed_at", &t))
                    .transpose()?,
                last_step,
            })
        })
        .transpose()
    }

    /// Whether the user has a confirmed TOTP authenticator.
    pub async fn has_totp(&self, user_id: i64) -> Result<bool> {
        Ok(self
            .totp(user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// Whether the user has a second factor: a confirmed TOTP authenticator
    /// or a WebAuthn key.
    pub async fn has_mfa(&self, user_id: i64) -> Result<bool> {
        Ok(self.has_totp(user_id).await? || self.has_webauthn(user_id).await?)
    }

    /// Ids of users with a second factor (TOTP or a WebAuthn key).
    pub async fn users_with_mfa(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM user_totp WHERE confirmed_at IS NOT NULL \
             UNION SELECT user_id FROM webauthn_credentials ORDER BY user_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Starts (or restarts) an enrolment with a new sealed seed. Error
    /// [`Error::Conflict`] if the user already has a confirmed authenticator.
    pub async fn start_totp_enrolment(
        &self,
        user_id: i64,
        sealed_seed: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO user_totp (user_id, sealed_seed, confirmed_at, last_step, created_at) \
             VALUES (?, ?, NULL, -1, ?) \
             ON CONFLICT (user_id) DO UPDATE SET sealed_seed = excluded.sealed_seed, \
             created_at = excluded.created_at WHERE user_totp.confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(sealed_seed)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(
                "this account already has an authenticator".into(),
            ));
        }
        Ok(())
    }

    /// Confirms a pending enrolment whose first code was of time step `step`,
    /// and stores the hashes of the new recovery codes (replacing any).
    /// Error [`Error::Conflict`] if there was no pending enrolment.
    pub async fn confirm_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_code_hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE user_totp SET confirmed_at = ?, last_step = ? \
             WHERE user_id = ? AND confirmed_at IS NULL",
        )
        .bind(ts(now))
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(
                "no authenticator enrolment is pending".into(),
            ));
        }
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_code_hashes {
            sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Accepts a code of time step `step` if no code of this step or a later
    /// one was accepted before (replay protection). Atomic: of two requests
    /// with the same code, one wins.
    pub async fn advance_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE user_totp SET last_step = ? \
             WHERE user_id = ? AND last_step < ? AND confirmed_at IS NOT NULL",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up the recovery code whose hash is `code_hash`; false if the user
    /// has no such unused code.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = ? \
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(ts(now))
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() >= 1)
    }

    /// How many unused recovery codes the user has.
    pub async fn unused_recovery_codes(&self, user_id: i64) -> Result<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    /// Removes the user's second factors (TOTP and WebAuthn keys), recovery
    /// codes and pre-sessions. With `end_sessions`, their sessions end too
    /// (an administrator's reset). Returns whether there was a second factor.
    pub async fn remove_mfa(&self, user_id: i64, end_sessions: bool) -> Result<bool> {
        self.remove_factors(user_id, true, end_sessions).await
    }

    /// Removes the user's TOTP authenticator, recovery codes and
    /// pre-sessions, keeping any WebAuthn keys; with `end_sessions` their
    /// sessions end too. Returns whether there was a confirmed authenticator.
    pub async fn remove_totp(&self, user_id: i64, end_sessions: bool) -> Result<bool> {
        self.remove_factors(user_id, false, end_sessions).await
    }

    async fn remove_factors(&self, user_id: i64, keys: bool, end_sessions: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let had: i64 = sqlx::query_scalar(if keys {
            "SELECT (SELECT COUNT(*) FROM user_totp WHERE user_id = ?1 AND confirmed_at IS NOT NULL) \
             + (SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?1)"
        } else {
            "SELECT COUNT(*) FROM user_totp WHERE user_id = ?1 AND confirmed_at IS NOT NULL"
        })
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if keys {
            for sql in [
                "DELETE FROM webauthn_credentials WHERE user_id = ?",
                "DELETE FROM webauthn_ceremonies WHERE user_id = ?",
            ] {
                sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
            }
        }
        for sql in [
            "DELETE FROM user_totp WHERE user_id = ?",
            "DELETE FROM mfa_recovery_codes WHERE user_id = ?",
            "DELETE FROM mfa_pending WHERE user_id = ?",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        if end_sessions {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(had > 0)
    }

    /// Ends the sessions of every user without a confirmed second factor
    /// (when MFA becomes required); returns how many sessions ended.
    pub async fn end_sessions_without_mfa(&self) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM sessions WHERE user_id NOT IN \
             (SELECT user_id FROM user_totp WHERE confirmed_at IS NOT NULL \
              UNION SELECT user_id FROM webauthn_credentials)",
        )
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub async fn create_mfa_pending(&self, pending: &MfaPending) -> Result<()> {
        sqlx::query(
            "INSERT INTO mfa_pending (id_hash, user_id, purpose, csrf_token, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&pending.id_hash)
        .bind(pending.user_id)
        .bind(pending.purpose.as_str())
        .bind(&pending.csrf_token)
        .bind(ts(pending.created_at))
        .bind(ts(pending.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The pre-session whose id hashes to `id_hash` and its user, whatever
    /// their state: the caller checks expiry and that the user is enabled.
    pub async fn mfa_pending_with_user(&self, id_hash: &str) -> Result<Option<(MfaPending, User)>> {
        let Some(row) = sqlx::query_as::<_, PendingRow>(
            "SELECT id_hash, user_id, purpose, csrf_token, created_at, expires_at \
             FROM mfa_pending WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let pending = row.parse()?;
        let user = self.user_by_id(pending.user_id).await?;
        Ok(user.map(|user| (pending, user)))
    }

    pub async fn delete_mfa_pending(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM mfa_pending WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
