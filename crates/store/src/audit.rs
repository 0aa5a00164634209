//! The audit log: an append-only, hash-chained record of security-relevant
//! actions (sign-ins, account and role changes, suppressions, tokens,
//! settings), for the web console and any engine that needs one.
//!
//! Each row stores the hash of the row before it and its own hash, the
//! SHA-256 of that previous hash and of its own content. Editing, deleting
//! or reordering rows breaks the chain, which [`Store::verify_audit_log`]
//! detects; triggers in the schema refuse `UPDATE` and `DELETE` outright.
//! Cutting rows off the *end* leaves a valid shorter chain: compare the head
//! hash that verification returns with one recorded elsewhere to catch that.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

// Queries are assembled from constant fragments only; values are always bound.
use sqlx::AssertSqlSafe;

use crate::error::{Error, Result};
use crate::store::{parse_ts, ts, Store};

/// The `prev_hash` of the first row.
pub const AUDIT_GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// An action to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAuditEvent {
    /// Who acted: a username, `cli:<os user>`, or `anonymous` for failed sign-ins.
    pub actor: String,
    /// The client address, for actions that came over the network.
    pub source_ip: Option<String>,
    /// What happened, dotted: `login.success`, `user.role`, `finding.suppress` ...
    pub action: String,
    /// What it happened to: a username, a finding id ...
    pub target: Option<String>,
    /// Free text: the new role, the suppression reason ...
    pub detail: Option<String>,
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub source_ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Which audit records [`Store::list_audit`] returns, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Only records older than this id (the keyset cursor of the next page).
    pub before_id: Option<i64>,
    pub actor: Option<String>,
    /// Only actions starting with this text (`login.` for all sign-in events).
    pub action_prefix: Option<String>,
    pub limit: u32,
}

/// The result of a successful [`Store::verify_audit_log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    pub records: u64,
    /// The hash of the last row ([`AUDIT_GENESIS_HASH`] when empty).
    pub head: String,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor: String,
    source_ip: Option<String>,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    fn parse(self) -> Result<AuditRecord> {
        Ok(AuditRecord {
            at: parse_ts("audit_log at", &self.at)?,
            id: self.id,
            actor: self.actor,
            source_ip: self.source_ip,
            action: self.action,
            target: self.target,
            detail: self.detail,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }

    fn expected_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            self.id,
            &self.at,
            &self.actor,
            self.source_ip.as_deref(),
            &self.action,
            self.target.as_deref(),
            self.detail.as_deref(),
        )
    }
}

const AUDIT_COLUMNS: &str = "id, at, actor, source_ip, action, target, detail, prev_hash, hash";

/// SHA-256 over the previous hash and every field, each length-prefixed (and
/// optional ones tagged), so no two different rows encode to the same bytes.
#[allow(clippy::too_many_arguments)]
fn chain_hash(
    prev_hash: &str,
    id: i64,
    at: &str,
    actor: &str,
    source_ip: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |value: Option<&str>| match value {
        None => hasher.update([0u8]),
        Some(value) => {
            hasher.update([1u8]);
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
        }
    };
    field(Some(prev_hash));
    field(Some(&id.to_string()));
    field(Some(at));
    field(Some(actor));
    field(source_ip);
    field(Some(action));
    field(target);
    field(detail);
    hex::encode(hasher.finalize())
}

impl Store {
    /// Appends one record at the end of the chain.
    pub async fn append_audit(
        &self,
        event: &NewAuditEvent,
        now: DateTime<Utc>,
    ) -> Result<AuditRecord> {
        if event.actor.trim().is_empty() {
            return Err(Error::invalid("audit actor", "empty"));
        }
        if event.action.trim().is_empty() {
            return Err(Error::invalid("audit action", "empty"));
        }
        // The write lock serialises appends, so each one sees the true head.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (id, prev_hash) = match head {
            Some((id, hash)) => (id + 1, hash),
            None => (1, AUDIT_GENESIS_HASH.to_string()),
        };
        let at = ts(now);
        let hash = chain_hash(
            &prev_hash,
            id,
            &at,
            &event.actor,
            event.source_ip.as_deref(),
            &event.action,
            event.target.as_deref(),
            event.detail.as_deref(),
        );
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(id)
        .bind(&at)
        .bind(&event.actor)
        .bind(&event.source_ip)
        .bind(&event.action)
        .bind(&event.target)
        .bind(&event.detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AuditRecord {
            id,
            at: parse_ts("audit_log at", &at)?,
            actor: event.actor.clone(),
            source_ip: event.source_ip.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            detail: event.detail.clone(),
            prev_hash,
            hash,
        })
    }

    /// Audit records matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let prefix = filter
            .action_prefix
            .as_deref()
            .map(|p| format!("{}%", p.replace(['%', '_', '\\'], "")));
        sqlx::query_as::<_, AuditRow>(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR actor = ?2) \
               AND (?3 IS NULL OR action LIKE ?3) \
             ORDER BY id DESC LIMIT ?4"
        )))
        .bind(filter.before_id)
        .bind(filter.actor.as_deref())
        .bind(prefix)
        .bind(i64::from(filter.limit.max(1)))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(AuditRow::parse)
        .collect()
    }

    /// Walks the whole chain. Error [`Error::AuditChainBroken`] naming the
    /// first row that was edited, inserted, deleted or moved.
    pub async fn verify_audit_log(&self) -> Result<AuditVerification> {
        /// Rows read per query, so memory stays flat however long the log is.
        const BATCH: i64 = 5_000;
        let mut expected_prev = AUDIT_GENESIS_HASH.to_string();
        let mut expected_id = 1;
        let mut records = 0u64;
        let mut after_id = 0;
        loop {
            let rows = sqlx::query_as::<_, AuditRow>(AssertSqlSafe(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?"
            )))
            .bind(after_id)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after_id = last.id;
            for row in rows {
                let broken = |reason: String| Error::AuditChainBroken { id: row.id, reason };
                if row.id != expected_id {
                    return Err(broken(format!(
                        "expected record {expected_id} next: records are missing"
                    )));
                }
                if row.prev_hash != expected_prev {
                    return Err(broken(
                        "does not follow the record before it (previous hash differs)".into(),
                    ));
                }
                if row.expected_hash() != row.hash {
                    return Err(broken("its content does not match its hash".into()));
                }
                expected_prev = row.hash;
                expected_id += 1;
                records += 1;
            }
        }
        Ok(AuditVerification {
            records,
            head: expected_prev,
        })
    }
}
