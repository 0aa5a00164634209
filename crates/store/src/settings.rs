//! Console settings that administrators change at run time: whether every
//! account must use a second factor, and the SLA days per severity.
//!
//! Values are stored as JSON under a key, with who changed them and when;
//! the web crate audits each change.

use chrono::{DateTime, Utc};
use palisade_core::Severity;

use crate::error::{Error, Result};
use crate::model::SlaPolicy;
use crate::store::{parse_ts, ts, Store};

const MFA_REQUIRED: &str = "mfa_required";
const SLA_POLICY: &str = "sla_policy";

impl Store {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM console_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO console_settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether every account must have a second factor (default: no).
    pub async fn mfa_required(&self) -> Result<bool> {
        match self.setting(MFA_REQUIRED).await? {
            None => Ok(false),
            Some(value) => serde_json::from_str(&value)
                .map_err(|e| Error::corrupt(format!("setting {MFA_REQUIRED} `{value}`"), e)),
        }
    }

    pub async fn set_mfa_required(
        &self,
        required: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_setting(
            MFA_REQUIRED,
            if required { "true" } else { "false" },
            by,
            now,
        )
        .await
    }

    /// The SLA days set in the console, if an administrator set them; they
    /// take precedence over the `[sla]` table of `.palisade.toml`.
    pub async fn sla_policy_setting(&self) -> Result<Option<SlaPolicy>> {
        self.setting(SLA_POLICY)
            .await?
            .map(|value| {
                serde_json::from_str(&value)
                    .map_err(|e| Error::corrupt(format!("setting {SLA_POLICY} `{value}`"), e))
            })
            .transpose()
    }

    /// Stores the SLA days and recomputes the due date of every open or
    /// reopened finding from them, in one transaction; returns how many
    /// findings were updated.
    pub async fn set_sla_policy(
        &self,
        sla: &SlaPolicy,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let value = serde_json::to_string(sla).map_err(|source| Error::Encode {
            what: "SLA policy",
            source,
        })?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO console_settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(SLA_POLICY)
        .bind(&value)
        .bind(ts(now))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, severity, first_seen, reopened_at FROM findings \
             WHERE status IN ('open', 'reopened')",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut updated = 0;
        for (id, severity, first_seen, reopened_at) in rows {
            let severity: Severity = severity.parse().map_err(|_| Error::Corrupt {
                what: "findings.severity".into(),
                reason: format!("unknown severity `{severity}`"),
            })?;
            let start = match reopened_at {
                Some(at) => parse_ts("findings.reopened_at", &at)?,
                None => parse_ts("findings.first_seen", &first_seen)?,
            };
            sqlx::query("UPDATE findings SET sla_days = ?, sla_due_at = ? WHERE id = ?")
                .bind(sla.days_for(severity).map(i64::from))
                .bind(sla.due_at(severity, start).map(ts))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            updated += 1;
        }
        tx.commit().await?;
        Ok(updated)
    }
}
