//! Single sign-on state: identities linked to users by (issuer, subject),
//! sign-ins in progress, and break-glass accounts (the only ones that may
//! use a passphrase when the console runs SSO-only).

use chrono::{DateTime, Utc};

// Queries are assembled from constant fragments only; values are always bound.
use sqlx::AssertSqlSafe;

use crate::accounts::{insert_user, UserRow, USER_COLUMNS};
use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};
use crate::{Role, User};

/// What a sign-in in progress must find again when the provider sends the
/// browser back. Its `Debug` output leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoFlow {
    /// The `state` sent to the provider (checked against the one returned).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier for the token request.
    pub pkce_verifier: String,
}

impl std::fmt::Debug for SsoFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoFlow").finish_non_exhaustive()
    }
}

impl Store {
    /// Records a sign-in in progress under the hash of the browser's flow id,
    /// and drops those that expired.
    pub async fn create_sso_flow(
        &self,
        flow_hash: &str,
        flow: &SsoFlow,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM sso_flows WHERE expires_at <= ?")
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_flows (flow_hash, state, nonce, pkce_verifier, created_at, \
             expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(flow_hash)
        .bind(&flow.state)
        .bind(&flow.nonce)
        .bind(&flow.pkce_verifier)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (and deletes, so it can be used once) the unexpired sign-in in
    /// progress of `flow_hash`.
    pub async fn take_sso_flow(
        &self,
        flow_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SsoFlow>> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "DELETE FROM sso_flows WHERE flow_hash = ? \
             RETURNING state, nonce, pkce_verifier, expires_at",
        )
        .bind(flow_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((state, nonce, pkce_verifier, expires_at)) = row else {
            return Ok(None);
        };
        if parse_ts("sso flow expires_at", &expires_at)? <= now {
            return Ok(None);
        }
        Ok(Some(SsoFlow {
            state,
            nonce,
            pkce_verifier,
        }))
    }

    /// The user linked to the provider's `subject` at `issuer`.
    pub async fn user_by_sso_identity(&self, issuer: &str, subject: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "SELECT {} FROM users JOIN sso_identities ON sso_identities.user_id = users.id \
             WHERE sso_identities.issuer = ? AND sso_identities.subject = ?",
            qualified_user_columns()
        )))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?
        .map(UserRow::parse)
        .transpose()
    }

    /// Creates a user without a passphrase, linked to (`issuer`, `subject`).
    /// Error [`Error::Conflict`] if the name is taken or the identity is linked already.
    pub async fn create_sso_user(
        &self,
        issuer: &str,
        subject: &str,
        username: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let user = insert_user(&mut tx, username, role, None, now).await?;
        let linked = sqlx::query(
            "INSERT INTO sso_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user.id)
        .bind(ts(now))
        .execute(&mut *tx)
        .await;
        match linked {
            Ok(_) => {}
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                return Err(Error::Conflict(
                    "this single sign-on identity is linked to another user".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Notes a sign-in through the identity provider.
    pub async fn record_sso_login(
        &self,
        issuer: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE sso_identities SET last_login_at = ? WHERE issuer = ? AND subject = ?")
            .bind(ts(now))
            .bind(issuer)
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the user signs in through an identity provider.
    pub async fn has_sso_identity(&self, user_id: i64) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sso_identities WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Marks (or unmarks) an account as break-glass: allowed a passphrase
    /// sign-in when the console only accepts single sign-on.
    pub async fn set_break_glass(&self, user_id: i64, on: bool, now: DateTime<Utc>) -> Result<()> {
        if on {
            sqlx::query(
                "INSERT INTO break_glass_accounts (user_id, created_at) VALUES (?, ?) \
                 ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        } else {
            sqlx::query("DELETE FROM break_glass_accounts WHERE user_id = ?")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn is_break_glass(&self, user_id: i64) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM break_glass_accounts WHERE user_id = ?")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}

/// [`USER_COLUMNS`] prefixed with `users.`, for joins.
fn qualified_user_columns() -> String {
    USER_COLUMNS
        .split(',')
        .map(|c| format!("users.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
