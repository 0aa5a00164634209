//! The manifest of objects ingested into the log lake.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Error, Result};
use crate::Store;

/// An object to record in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLakeObject {
    /// Its key (the S3 key, or the path it was read from).
    pub key: String,
    pub size: u64,
    /// SHA-256 of its bytes, hex: its identity within a source.
    pub sha256: String,
    /// Records written to the lake.
    pub records: u64,
    /// Problems sent to the quarantine.
    pub quarantined: u64,
}

/// An object recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeObject {
    pub source: String,
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub records: u64,
    pub quarantined: u64,
    /// The lake batch its records were written in.
    pub batch: String,
    pub ingested_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LakeObjectRow {
    source: String,
    object_key: String,
    size: i64,
    sha256: String,
    records: i64,
    quarantined: i64,
    batch: String,
    ingested_at: String,
}

impl LakeObjectRow {
    fn parse(self) -> Result<LakeObject> {
        let ingested_at = DateTime::parse_from_rfc3339(&self.ingested_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::corrupt(format!("ingested_at `{}`", self.ingested_at), e))?;
        Ok(LakeObject {
            source: self.source,
            key: self.object_key,
            size: u64::try_from(self.size).unwrap_or(0),
            sha256: self.sha256,
            records: u64::try_from(self.records).unwrap_or(0),
            quarantined: u64::try_from(self.quarantined).unwrap_or(0),
            batch: self.batch,
            ingested_at,
        })
    }
}

/// The columns of [`LakeObjectRow`], in a macro so that queries stay `&'static str`.
macro_rules! lake_object_columns {
    () => {
        "source, object_key, size, sha256, records, quarantined, batch, ingested_at"
    };
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// The manifest entry of the object of `source` with this content hash, if
    /// it was ingested.
    pub async fn lake_object(&self, source: &str, sha256: &str) -> Result<Option<LakeObject>> {
        let row: Option<LakeObjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            lake_object_columns!(),
            " FROM lake_objects WHERE source = ? AND sha256 = ?"
        ))
        .bind(source)
        .bind(sha256.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(LakeObjectRow::parse).transpose()
    }

    /// Every object of `source` in the manifest, oldest first.
    pub async fn lake_objects(&self, source: &str) -> Result<Vec<LakeObject>> {
        let rows: Vec<LakeObjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            lake_object_columns!(),
            " FROM lake_objects WHERE source = ? ORDER BY id"
        ))
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(LakeObjectRow::parse).collect()
    }

    /// Records the objects of one committed lake batch, in one transaction.
    /// An object already recorded (same source and hash) is left as it was;
    /// returns how many were new.
    pub async fn record_lake_objects(
        &self,
        source: &str,
        batch: &str,
        objects: &[NewLakeObject],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if source.trim().is_empty() {
            return Err(Error::invalid("lake source", "empty"));
        }
        if let Some(bad) = objects
            .iter()
            .find(|o| o.sha256.len() != 64 || !o.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::invalid(
                "lake object hash",
                format!("`{}` of {} is not a hex SHA-256", bad.sha256, bad.key),
            ));
        }
        let now = now.to_rfc3339_opts(SecondsFormat::Micros, true);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut inserted = 0;
        for object in objects {
            let result = sqlx::query(
                "INSERT OR IGNORE INTO lake_objects \
                 (source, object_key, size, sha256, records, quarantined, batch, ingested_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(source)
            .bind(&object.key)
            .bind(to_i64(object.size))
            .bind(object.sha256.to_ascii_lowercase())
            .bind(to_i64(object.records))
            .bind(to_i64(object.quarantined))
            .bind(batch)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            inserted += result.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

/// A lake partition deleted by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredLakePartition {
    pub source: String,
    /// Its `dt` value, `YYYY-MM-DD`.
    pub day: String,
    pub files: u64,
    pub bytes: u64,
    pub retention_days: u32,
    pub deleted_at: DateTime<Utc>,
}

impl Store {
    /// Records partitions deleted by retention, in one transaction.
    pub async fn record_expired_lake_partitions(
        &self,
        partitions: &[ExpiredLakePartition],
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for partition in partitions {
            sqlx::query(
                "INSERT INTO lake_expired_partitions \
                 (source, day, files, bytes, retention_days, deleted_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&partition.source)
            .bind(&partition.day)
            .bind(to_i64(partition.files))
            .bind(to_i64(partition.bytes))
            .bind(i64::from(partition.retention_days))
            .bind(
                partition
                    .deleted_at
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The partitions of `source` deleted by retention, oldest deletion first.
    pub async fn expired_lake_partitions(&self, source: &str) -> Result<Vec<ExpiredLakePartition>> {
        let rows: Vec<(String, String, i64, i64, i64, String)> = sqlx::query_as(
            "SELECT source, day, files, bytes, retention_days, deleted_at \
             FROM lake_expired_partitions WHERE source = ? ORDER BY id",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(source, day, files, bytes, retention_days, deleted_at)| {
                let deleted_at = DateTime::parse_from_rfc3339(&deleted_at)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| Error::corrupt(format!("deleted_at `{deleted_at}`"), e))?;
                Ok(ExpiredLakePartition {
                    source,
                    day,
                    files: u64::try_from(files).unwrap_or(0),
                    bytes: u64::try_from(bytes).unwrap_or(0),
                    retention_days: u32::try_from(retention_days).unwrap_or(0),
                    deleted_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, hash_digit: char) -> NewLakeObject {
        NewLakeObject {
            key: key.into(),
            size: 10,
            sha256: hash_digit.to_string().repeat(64),
            records: 3,
            quarantined: 1,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    #[tokio::test]
    async fn objects_are_recorded_once_per_source_and_hash() {
        let store = Store::open("sqlite::memory:")
            .await
            .expect("in-memory store");
        let inserted = store
            .record_lake_objects(
                "cloudtrail",
                "b1",
                &[object("a.json", 'a'), object("b.json", 'b')],
                now(),
            )
            .await
            .expect("recorded");
        assert_eq!(inserted, 2);
        // The same content under another key, and a known object again: nothing new.
        let inserted = store
            .record_lake_objects("cloudtrail", "b2", &[object("copy-of-a.json", 'a')], now())
            .await
            .expect("recorded");
        assert_eq!(inserted, 0);
        // Another source has its own manifest.
        let inserted = store
            .record_lake_objects("k8s-audit", "b3", &[object("a.json", 'a')], now())
            .await
            .expect("recorded");
        assert_eq!(inserted, 1);

        let found = store
            .lake_object("cloudtrail", &"A".repeat(64))
            .await
            .expect("lookup")
            .expect("known object");
        assert_eq!(
            found,
            LakeObject {
                source: "cloudtrail".into(),
                key: "a.json".into(),
                size: 10,
                sha256: "a".repeat(64),
                records: 3,
                quarantined: 1,
                batch: "b1".into(),
                ingested_at: now(),
            }
        );
        assert_eq!(
            store
                .lake_object("cloudtrail", &"c".repeat(64))
                .await
                .expect("lookup"),
            None
        );
        let keys: Vec<String> = store
            .lake_objects("cloudtrail")
            .await
            .expect("list")
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a.json", "b.json"]);
    }

    #[tokio::test]
    async fn a_malformed_hash_is_refused() {
        let store = Store::open("sqlite::memory:")
            .await
            .expect("in-memory store");
        let mut bad = object("a.json", 'a');
        bad.sha256 = "not-a-hash".into();
        let error = store
            .record_lake_objects("cloudtrail", "b1", &[bad], now())
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("not a hex SHA-256"), "{error}");
    }

    #[tokio::test]
    async fn expired_partitions_are_recorded() {
        let store = Store::open("sqlite::memory:")
            .await
            .expect("in-memory store");
        let partition = ExpiredLakePartition {
            source: "cloudtrail".into(),
            day: "2026-10-01".into(),
            files: 3,
            bytes: 1234,
            retention_days: 30,
            deleted_at: now(),
        };
        store
            .record_expired_lake_partitions(std::slice::from_ref(&partition))
            .await
            .expect("recorded");
        assert_eq!(
            store
                .expired_lake_partitions("cloudtrail")
                .await
                .expect("read"),
            vec![partition]
        );
        assert!(store
            .expired_lake_partitions("syslog")
            .await
            .expect("read")
            .is_empty());
    }
}
