//! The web console's accounts: users and roles, server-side sessions,
//! one-time enrolment links and sign-in throttling counters.
//!
//! The store keeps only what it is given: callers hash session ids, link
//! tokens and throttle keys, and hash passphrases, before they reach it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

// Queries are assembled from constant fragments only; values are always bound.
use sqlx::AssertSqlSafe;

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};

/// What a user may do in the console; see the web crate's permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users and settings.
    Admin,
    /// Reads everything but the audit log and users; suppresses findings.
    Analyst,
    /// Reads findings, runs and assets.
    Viewer,
    /// Reads everything, including the audit log and users; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Viewer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of admin, analyst, viewer, auditor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected one of admin, analyst, viewer, auditor")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "viewer" => Ok(Role::Viewer),
            "auditor" => Ok(Role::Auditor),
            _ => Err(ParseRoleError(s.to_string())),
        }
    }
}

/// A console account. Its `Debug` output leaves the passphrase hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Argon2id PHC string; `None` until the user has followed their enrolment link.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("has_password", &self.password_hash.is_some())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A server-side session, found by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session about to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A valid (unused, unexpired) one-time enrolment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentToken {
    /// `None` for the first administrator's link (it creates the account).
    pub user_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// Failed sign-ins counted against one key (an account name or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleState {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottleState {
    pub fn is_locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// The columns of [`UserRow`].
pub(crate) const USER_COLUMNS: &str =
    "id, username, role, password_hash, disabled, created_at, updated_at, \
     password_changed_at, last_login_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    role: String,
    password_hash: Option<String>,
    disabled: bool,
    created_at: String,
    updated_at: String,
    password_changed_at: Option<String>,
    last_login_at: Option<String>,
}

impl UserRow {
    pub(crate) fn parse(self) -> Result<User> {
        let opt = |what: &str, v: Option<String>| v.map(|v| parse_ts(what, &v)).transpose();
        Ok(User {
            id: self.id,
            role: self
                .role
                .parse()
                .map_err(|e| Error::corrupt(format!("role of user {}", self.id), e))?,
            username: self.username,
            password_hash: self.password_hash,
            disabled: self.disabled,
            created_at: parse_ts("user created_at", &self.created_at)?,
            updated_at: parse_ts("user updated_at", &self.updated_at)?,
            password_changed_at: opt("user password_changed_at", self.password_changed_at)?,
            last_login_at: opt("user last_login_at", self.last_login_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    user_id: i64,
    csrf_token: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
}

impl SessionRow {
    fn parse(self) -> Result<Session> {
        Ok(Session {
            created_at: parse_ts("session created_at", &self.created_at)?,
            last_seen_at: parse_ts("session last_seen_at", &self.last_seen_at)?,
            expires_at: parse_ts("session expires_at", &self.expires_at)?,
            id_hash: self.id_hash,
            user_id: self.user_id,
            csrf_token: self.csrf_token,
        })
    }
}

/// Usernames: 1 to 64 characters, letters, digits and `.`, `_`, `-`, `@`.
pub fn validate_username(username: &str) -> Result<()> {
    let valid_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if username.is_empty() || username.chars().count() > 64 {
        return Err(Error::invalid("username", "must be 1 to 64 characters"));
    }
    if !username.chars().all(valid_char) {
        return Err(Error::invalid(
            "username",
            "use letters, digits and . _ - @ only",
        ));
    }
    Ok(())
}

pub(crate) async fn insert_user(
    conn: &mut SqliteConnection,
    username: &str,
    role: Role,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<User> {
    validate_username(username)?;
    let result = sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
        "INSERT INTO users (username, role, password_hash, created_at, updated_at, \
         password_changed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
    )))
    .bind(username)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(ts(now))
    .bind(ts(now))
    .bind(password_hash.map(|_| ts(now)))
    .fetch_one(&mut *conn)
    .await;
    match result {
        Ok(row) => row.parse(),
        Err(error) if is_unique_violation(&error) => Err(Error::Conflict(format!(
            "a user named `{username}` already exists"
        ))),
        Err(error) => Err(error.into()),
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

impl Store {
    /// How many accounts exist (disabled ones included).
    pub async fn count_users(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Creates an account; `password_hash` `None` leaves it unusable until
    /// an enrolment link sets one. Error [`Error::Conflict`] if the name is taken
    /// (case-insensitively).
    pub async fn create_user(
        &self,
        username: &str,
        role: Role,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, username, role, password_hash, now).await
    }

    /// The account named `username` (case-insensitive).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .map(UserRow::parse)
        .transpose()
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(UserRow::parse)
        .transpose()
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(UserRow::parse)
        .collect()
    }

    /// Changes a user's role. Their sessions end, so the new role applies at once
    /// and a demoted user cannot keep acting with the old one.
    pub async fn set_user_role(&self, id: i64, role: Role, now: DateTime<Utc>) -> Result<User> {
        self.update_user(
            id,
            "UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
            role.as_str(),
            now,
        )
        .await
    }

    /// Disables or enables an account. Disabling ends all of its sessions in
    /// the same transaction.
    pub async fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ? RETURNING {USER_COLUMNS}"
        )))
        .bind(disabled)
        .bind(ts(now))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))?;
        if disabled {
            delete_sessions_of(&mut tx, id).await?;
        }
        tx.commit().await?;
        row.parse()
    }

    /// Sets a user's passphrase hash and ends all of their sessions.
    pub async fn set_password_hash(
        &self,
        id: i64,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        self.update_user(
            id,
            "UPDATE users SET password_hash = ?, password_changed_at = ?2, updated_at = ?2 \
             WHERE id = ?3",
            password_hash,
            now,
        )
        .await
    }

    /// Runs `sql` (binding `value`, `now`, `id`), ends the user's sessions, in one transaction.
    async fn update_user(
        &self,
        id: i64,
        sql: &'static str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query(sql)
            .bind(value)
            .bind(ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(Error::NotFound(format!("user {id}")));
        }
        delete_sessions_of(&mut tx, id).await?;
        let row = sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = ?"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row.parse()
    }

    /// Notes a successful sign-in.
    pub async fn record_login(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_session(&self, session: &NewSession, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, \
             expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.id_hash)
        .bind(session.user_id)
        .bind(&session.csrf_token)
        .bind(ts(now))
        .bind(ts(now))
        .bind(ts(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash` and its user, whatever their state:
    /// the caller applies timeouts and checks that the user is enabled.
    pub async fn session_with_user(&self, id_hash: &str) -> Result<Option<(Session, User)>> {
        let Some(session) = sqlx::query_as::<_, SessionRow>(
            "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at \
             FROM sessions WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let session = session.parse()?;
        let user = self.user_by_id(session.user_id).await?;
        Ok(user.map(|user| (session, user)))
    }

    /// Records activity on a session (for its idle timeout).
    pub async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(ts(now))
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a user; returns how many there were.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        delete_sessions_of(&mut conn, user_id).await
    }

    /// Removes sessions past their absolute end or idle since before `idle_since`.
    pub async fn delete_stale_sessions(
        &self,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?")
                .bind(ts(now))
                .bind(ts(idle_since))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Stores a one-time enrolment link (by the hash of its token).
    pub async fn create_enrolment_token(
        &self,
        token_hash: &str,
        user_id: Option<i64>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO enrolment_tokens (token_hash, user_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The enrolment link whose token hashes to `token_hash`, if it is unused and unexpired.
    pub async fn enrolment_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EnrolmentToken>> {
        let mut conn = self.pool.acquire().await?;
        valid_enrolment_token(&mut conn, token_hash, now).await
    }

    /// Uses an enrolment link: sets the passphrase of the user it was made
    /// for, or, for the first administrator's link, creates `username` as an
    /// admin (only while there are no users). The link cannot be used again,
    /// and the user's sessions end. Error [`Error::InvalidInput`] if the link
    /// is unknown, used or expired.
    pub async fn complete_enrolment(
        &self,
        token_hash: &str,
        username: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let token = valid_enrolment_token(&mut tx, token_hash, now)
            .await?
            .ok_or_else(|| Error::invalid("enrolment link", "unknown, used or expired"))?;
        let user = match token.user_id {
            Some(user_id) => {
                let changed = sqlx::query(
                    "UPDATE users SET password_hash = ?, password_changed_at = ?2, \
                     updated_at = ?2 WHERE id = ?3",
                )
                .bind(password_hash)
                .bind(ts(now))
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(Error::NotFound(format!("user {user_id}")));
                }
                delete_sessions_of(&mut tx, user_id).await?;
                sqlx::query_as::<_, UserRow>(AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id = ?"
                )))
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?
                .parse()?
            }
            None => {
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await?;
                if users > 0 {
                    return Err(Error::invalid(
                        "enrolment link",
                        "the first administrator already exists",
                    ));
                }
                insert_user(&mut tx, username, Role::Admin, Some(password_hash), now).await?
            }
        };
        sqlx::query("UPDATE enrolment_tokens SET used_at = ? WHERE token_hash = ?")
            .bind(ts(now))
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The failed sign-ins counted against `key_hash`.
    pub async fn throttle_state(&self, key_hash: &str) -> Result<ThrottleState> {
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT failures, locked_until FROM login_throttle WHERE key_hash = ?")
                .bind(key_hash)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Ok(ThrottleState::default()),
            Some((failures, locked_until)) => Ok(ThrottleState {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                locked_until: locked_until
                    .map(|t| parse_ts("login_throttle locked_until", &t))
                    .transpose()?,
            }),
        }
    }

    /// Counts one failed sign-in against `key_hash`. The count starts again
    /// when the previous failure is older than `forget_after`; `lock_for`
    /// maps the new count to how long sign-in is refused (`None`: not locked).
    pub async fn record_login_failure(
        &self,
        key_hash: &str,
        forget_after: Duration,
        lock_for: impl Fn(u32) -> Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let previous: Option<(i64, String)> =
            sqlx::query_as("SELECT failures, last_failure FROM login_throttle WHERE key_hash = ?")
                .bind(key_hash)
                .fetch_optional(&mut *tx)
                .await?;
        let failures = match previous {
            Some((failures, last)) if parse_ts("login_throttle", &last)? + forget_after > now => {
                u32::try_from(failures)
                    .unwrap_or(u32::MAX)
                    .saturating_add(1)
            }
            _ => 1,
        };
        let locked_until = lock_for(failures).and_then(|d| now.checked_add_signed(d));
        sqlx::query(
            "INSERT INTO login_throttle (key_hash, failures, last_failure, locked_until) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key_hash) DO UPDATE SET \
             failures = ?2, last_failure = ?3, locked_until = ?4",
        )
        .bind(key_hash)
        .bind(i64::from(failures))
        .bind(ts(now))
        .bind(locked_until.map(ts))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ThrottleState {
            failures,
            locked_until,
        })
    }

    /// Forgets the failed sign-ins of `key_hash` (after a successful one).
    pub async fn clear_login_failures(&self, key_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key_hash = ?")
            .bind(key_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn delete_sessions_of(conn: &mut SqliteConnection, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

async fn valid_enrolment_token(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<EnrolmentToken>> {
    let row: Option<(Option<i64>, String)> = sqlx::query_as(
        "SELECT user_id, expires_at FROM enrolment_tokens \
         WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(ts(now))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(user_id, expires_at)| {
        Ok(EnrolmentToken {
            user_id,
            expires_at: parse_ts("enrolment token expires_at", &expires_at)?,
        })
    })
    .transpose()
}
