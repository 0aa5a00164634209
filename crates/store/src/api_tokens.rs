//! API tokens: bearer credentials for CI and the CLI, stored as the SHA-256
//! of a 256-bit random token, with scopes, an expiry and a last-use time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};
use crate::User;

/// What a token may do (on top of what its owner's role allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiScope {
    /// Read findings.
    Read,
    /// Upload scan results (and so change findings).
    WriteFindings,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [ApiScope::Read, ApiScope::WriteFindings];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::WriteFindings => "write-findings",
        }
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "read" => Ok(ApiScope::Read),
            "write-findings" => Ok(ApiScope::WriteFindings),
            other => Err(Error::invalid(
                "token scope",
                format!("`{other}`: expected read or write-findings"),
            )),
        }
    }
}

/// The longest a token may live.
pub const MAX_TOKEN_LIFETIME_DAYS: i64 = 366;

/// A token to store; `token_hash` is the hex SHA-256 of the token.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub scopes: Vec<ApiScope>,
    pub expires_at: DateTime<Utc>,
}

/// A stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    /// The owner's username.
    pub username: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<ApiScope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Not revoked and not expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    pub fn allows(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    user_id: i64,
    username: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TokenRow {
    fn parse(self) -> Result<ApiToken> {
        let opt = |what: &str, v: Option<String>| v.map(|v| parse_ts(what, &v)).transpose();
        let scopes = self
            .scopes
            .split_whitespace()
            .map(ApiScope::from_str)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::corrupt(format!("scopes of API token {}", self.id), e))?;
        Ok(ApiToken {
            id: self.id,
            user_id: self.user_id,
            username: self.username,
            name: self.name,
            prefix: self.prefix,
            scopes,
            created_at: parse_ts("token created_at", &self.created_at)?,
            expires_at: parse_ts("token expires_at", &self.expires_at)?,
            last_used_at: opt("token last_used_at", self.last_used_at)?,
            revoked_at: opt("token revoked_at", self.revoked_at)?,
        })
    }
}

const TOKEN_COLUMNS: &str = "t.id, t.user_id, u.username, t.name, t.prefix, t.scopes, \
     t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

/// Checks a new token's name, scopes and expiry.
pub fn validate_new_token(token: &NewApiToken, now: DateTime<Utc>) -> Result<()> {
    let name = token.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "token name",
            "1 to 100 characters, no control characters",
        ));
    }
    if token.scopes.is_empty() {
        return Err(Error::invalid(
            "token scopes",
            "at least one of read, write-findings",
        ));
    }
    if token.expires_at <= now {
        return Err(Error::invalid("token expiry", "must be in the future"));
    }
    if token.expires_at > now + Duration::days(MAX_TOKEN_LIFETIME_DAYS) {
        return Err(Error::invalid(
            "token expiry",
            format!("at most {MAX_TOKEN_LIFETIME_DAYS} days ahead"),
        ));
    }
    Ok(())
}

impl Store {
    /// Stores a new token for a user who exists and is not disabled.
    pub async fn create_api_token(
        &self,
        token: &NewApiToken,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        validate_new_token(token, now)?;
        let mut scopes = token.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, scopes, created_at, expires_at) \
             SELECT id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND NOT disabled RETURNING id",
        )
        .bind(token.name.trim())
        .bind(&token.token_hash)
        .bind(&token.prefix)
        .bind(scopes.join(" "))
        .bind(ts(now))
        .bind(ts(token.expires_at))
        .bind(token.user_id)
        .fetch_optional(&self.pool)
        .await?;
        let id = id.ok_or_else(|| {
            Error::invalid(
                "token owner",
                format!("no enabled user with id {}", token.user_id),
            )
        })?;
        self.api_token(id).await?.ok_or(Error::TokenNotFound(id))
    }

    /// One token by id.
    pub async fn api_token(&self, id: i64) -> Result<Option<ApiToken>> {
        sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(TokenRow::parse)
        .transpose()
    }

    /// The tokens of one user, or of everyone (`None`), newest first.
    pub async fn list_api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
        sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id DESC"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(TokenRow::parse)
        .collect()
    }

    /// Revokes a token; with `owner`, only if that user owns it (else
    /// [`Error::TokenNotFound`], as if it did not exist). Revoking twice keeps
    /// the first time.
    pub async fn revoke_api_token(
        &self,
        id: i64,
        owner: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ApiToken> {
        let updated = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) \
             WHERE id = ? AND (? IS NULL OR user_id = ?)",
        )
        .bind(ts(now))
        .bind(id)
        .bind(owner)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::TokenNotFound(id));
        }
        self.api_token(id).await?.ok_or(Error::TokenNotFound(id))
    }

    /// The token with this hash and its owner, whatever their state (the
    /// caller checks [`ApiToken::is_live`] and the user).
    pub async fn api_token_with_user(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>> {
        let Some(row) = sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ?"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let token = row.parse()?;
        let user = self.user_by_id(token.user_id).await?;
        Ok(user.map(|user| (token, user)))
    }

    /// Records a use of a token.
    pub async fn touch_api_token(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
