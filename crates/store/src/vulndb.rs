//! The local advisory database: OSV records as JSON, indexed by the
//! packages they name, plus CISA KEV and EPSS data by CVE id.
//!
//! The store does not interpret records: the deps engine parses them and
//! hands over rows, each package with the engine's compact form of what the
//! record says about it; a scan reads those compact forms for its packages
//! ([`Store::advisory_candidates`]) and the JSON of the records that matched
//! ([`Store::advisory_records`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::QueryBuilder;

use crate::error::Result;
use crate::Store;

/// One advisory record as the importer hands it over.
#[derive(Debug, Clone)]
pub struct AdvisoryRow {
    pub id: String,
    pub modified: String,
    pub withdrawn: bool,
    /// The record's JSON.
    pub json: String,
    /// `(OSV ecosystem, normalised package name, compact form)` of each
    /// package it names.
    pub packages: Vec<(String, String, String)>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub read: u64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// The state of the advisory database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VulnDbStatus {
    pub records: u64,
    pub withdrawn: u64,
    /// Records per OSV ecosystem (a record naming two ecosystems counts in both).
    pub per_ecosystem: BTreeMap<String, u64>,
    pub last_import: Option<DateTime<Utc>>,
    /// The newest `modified` time of any record.
    pub newest_record: Option<String>,
    pub known_exploited: u64,
    pub epss_scores: u64,
}

/// What a record says about one package, as a scan reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryCandidate {
    pub ecosystem: String,
    /// The normalised package name.
    pub name: String,
    pub record_id: String,
    /// The compact form; `None` for a row imported before compact forms
    /// were kept (judge it from the record's JSON).
    pub compact: Option<String>,
}

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters).
const BATCH: usize = 500;

fn ts(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Store {
    /// `modified` of every stored record, by id (what an incremental import compares against).
    /// A record with index rows from before compact forms were kept is
    /// reported with an empty `modified`, so the next import rewrites it.
    pub async fn advisory_versions(&self) -> Result<HashMap<String, String>> {
        let legacy: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM vuln_packages WHERE ranges IS NULL)")
                .fetch_one(&self.pool)
                .await?;
        // Two strings rather than a row per record (see `advisory_candidates`);
        // ids never hold control characters (the importer refuses them).
        let query = if legacy {
            "SELECT group_concat(id, char(30)), group_concat(modified, char(30)) FROM \
             (SELECT r.id AS id, CASE WHEN EXISTS (SELECT 1 FROM vuln_packages p \
             WHERE p.record_id = r.id AND p.ranges IS NULL) THEN '' ELSE r.modified END \
             AS modified FROM vuln_records r)"
        } else {
            "SELECT group_concat(id, char(30)), group_concat(modified, char(30)) FROM vuln_records"
        };
        let (ids, modified): (Option<String>, Option<String>) =
            sqlx::query_as(query).fetch_one(&self.pool).await?;
        let (Some(ids), Some(modified)) = (ids, modified) else {
            return Ok(HashMap::new());
        };
        Ok(ids
            .split('\u{1e}')
            .zip(modified.split('\u{1e}'))
            .map(|(id, modified)| (id.to_string(), modified.to_string()))
            .collect())
    }

    /// Inserts or replaces `rows` (and their package index) in one transaction.
    pub async fn upsert_advisories(&self, rows: &[AdvisoryRow], now: DateTime<Utc>) -> Result<()> {
        let now = ts(now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(BATCH) {
            let mut delete =
                QueryBuilder::<sqlx::Sqlite>::new("DELETE FROM vuln_packages WHERE record_id IN (");
            let mut ids = delete.separated(", ");
            for row in chunk {
                ids.push_bind(&row.id);
            }
            ids.push_unseparated(")");
            delete.build().execute(&mut *tx).await?;

            let mut insert = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT OR REPLACE INTO vuln_records (id, modified, withdrawn, record, imported_at) ",
            );
            insert.push_values(chunk, |mut b, row| {
                b.push_bind(&row.id)
                    .push_bind(&row.modified)
                    .push_bind(row.withdrawn)
                    .push_bind(&row.json)
                    .push_bind(&now);
            });
            insert.build().execute(&mut *tx).await?;

            let packages: Vec<(&str, &str, &str, &str)> = chunk
                .iter()
                .flat_map(|row| {
                    row.packages
                        .iter()
                        .map(move |(e, n, c)| (e.as_str(), n.as_str(), row.id.as_str(), c.as_str()))
                })
                .collect();
            for part in packages.chunks(BATCH) {
                let mut insert = QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT OR IGNORE INTO vuln_packages (ecosystem, name, record_id, ranges) ",
                );
                insert.push_values(part, |mut b, (e, n, id, c)| {
                    b.push_bind(*e).push_bind(*n).push_bind(*id).push_bind(*c);
                });
                insert.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records one import run.
    pub async fn record_advisory_import(
        &self,
        source: &str,
        counts: ImportCounts,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO vuln_imports (source, imported_at, read, added, updated, unchanged) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(source)
        .bind(ts(now))
        .bind(i64::try_from(counts.read).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.added).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.updated).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.unchanged).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What the stored records say about each of `packages` (`(OSV
    /// ecosystem, normalised name)`), in compact form: one query per
    /// ecosystem and 500 names, reading the index rows only.
    pub async fn advisory_candidates(
        &self,
        packages: &[(String, String)],
    ) -> Result<Vec<AdvisoryCandidate>> {
        let mut by_ecosystem: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (ecosystem, name) in packages {
            by_ecosystem.entry(ecosystem).or_default().push(name);
        }
        let mut out = Vec::new();
        for (ecosystem, names) in by_ecosystem {
            for chunk in names.chunks(BATCH) {
                // One row per chunk, rows joined by U+001E and fields by
                // U+001F, which names, ids and compact forms never hold:
                // fetching tens of thousands of rows one by one costs far
                // more. A NULL compact form (a legacy row) reads as U+001D.
                let mut query = QueryBuilder::<sqlx::Sqlite>::new(
                    "SELECT group_concat(name || char(31) || record_id || char(31) || \
                     ifnull(ranges, char(29)), char(30)) FROM vuln_packages WHERE ecosystem = ",
                );
                query.push_bind(ecosystem).push(" AND name IN (");
                let mut list = query.separated(", ");
                for name in chunk {
                    list.push_bind(*name);
                }
                list.push_unseparated(")");
                let (rows,): (Option<String>,) =
                    query.build_query_as().fetch_one(&self.pool).await?;
                let Some(rows) = rows else { continue };
                for row in rows.split('\u{1e}') {
                    let mut fields = row.splitn(3, '\u{1f}');
                    let (Some(name), Some(id), Some(compact)) =
                        (fields.next(), fields.next(), fields.next())
                    else {
                        continue;
                    };
                    out.push(AdvisoryCandidate {
                        ecosystem: ecosystem.to_string(),
                        name: name.to_string(),
                        record_id: id.to_string(),
                        compact: (compact != "\u{1d}").then(|| compact.to_string()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The JSON of the non-withdrawn records among `ids`.
    pub async fn advisory_records(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(BATCH) {
            // One row per chunk, records joined by U+001E, which JSON text
            // never holds unescaped.
            let mut query = QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT group_concat(record, char(30)) FROM vuln_records \
                 WHERE withdrawn = 0 AND id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            list.push_unseparated(")");
            let (records,): (Option<String>,) =
                query.build_query_as().fetch_one(&self.pool).await?;
            if let Some(records) = records {
                out.extend(records.split('\u{1e}').map(str::to_string));
            }
        }
        Ok(out)
    }

    /// Whether any advisory is stored, and the newest record's `modified`
    /// time: the cheap subset of [`Store::advisory_status`] a scan needs.
    pub async fn advisory_freshness(&self) -> Result<(bool, Option<String>)> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM vuln_records)")
            .fetch_one(&self.pool)
            .await?;
        let newest: Option<String> = sqlx::query_scalar("SELECT MAX(modified) FROM vuln_records")
            .fetch_one(&self.pool)
            .await?;
        Ok((any, newest))
    }

    /// Counts, per-ecosystem counts and freshness of the advisory database.
    pub async fn advisory_status(&self) -> Result<VulnDbStatus> {
        let (records, withdrawn, newest_record): (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(withdrawn), 0), MAX(modified) FROM vuln_records",
        )
        .fetch_one(&self.pool)
        .await?;
        let per_ecosystem: Vec<(String, i64)> = sqlx::query_as(
            "SELECT ecosystem, COUNT(DISTINCT record_id) FROM vuln_packages GROUP BY ecosystem",
        )
        .fetch_all(&self.pool)
        .await?;
        let last_import: Option<String> =
            sqlx::query_scalar("SELECT MAX(imported_at) FROM vuln_imports")
                .fetch_one(&self.pool)
                .await?;
        let known_exploited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vuln_kev")
            .fetch_one(&self.pool)
            .await?;
        let epss_scores: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vuln_epss")
            .fetch_one(&self.pool)
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(VulnDbStatus {
            records: count(records),
            withdrawn: count(withdrawn),
            per_ecosystem: per_ecosystem
                .into_iter()
                .map(|(e, n)| (e, count(n)))
                .collect(),
            last_import: last_import
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            newest_record,
            known_exploited: count(known_exploited),
            epss_scores: count(epss_scores),
        })
    }

    /// Replaces the KEV catalogue with `entries` (`(CVE id, date added)`).
    pub async fn replace_known_exploited(&self, entries: &[(String, String)]) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM vuln_kev")
            .execute(&mut *tx)
            .await?;
        for chunk in entries.chunks(BATCH) {
            let mut insert = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT OR REPLACE INTO vuln_kev (cve, date_added) ",
            );
            insert.push_values(chunk, |mut b, (cve, date)| {
                b.push_bind(cve).push_bind(date);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the EPSS scores with `scores` (`(CVE id, probability, percentile)`).
    pub async fn replace_epss(&self, scores: &[(String, f64, f64)]) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM vuln_epss")
            .execute(&mut *tx)
            .await?;
        for chunk in scores.chunks(BATCH) {
            let mut insert = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT OR REPLACE INTO vuln_epss (cve, epss, percentile) ",
            );
            insert.push_values(chunk, |mut b, (cve, epss, percentile)| {
                b.push_bind(cve).push_bind(epss).push_bind(percentile);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// KEV membership and EPSS scores of the given CVE ids.
    pub async fn exploitation_of(
        &self,
        cves: &[String],
    ) -> Result<(HashSet<String>, HashMap<String, f64>)> {
        let mut kev = HashSet::new();
        let mut epss = HashMap::new();
        for chunk in cves.chunks(BATCH) {
            let mut query =
                QueryBuilder::<sqlx::Sqlite>::new("SELECT cve FROM vuln_kev WHERE cve IN (");
            let mut list = query.separated(", ");
            for cve in chunk {
                list.push_bind(cve);
            }
            list.push_unseparated(")");
            let rows: Vec<(String,)> = query.build_query_as().fetch_all(&self.pool).await?;
            kev.extend(rows.into_iter().map(|(c,)| c));

            let mut query =
                QueryBuilder::<sqlx::Sqlite>::new("SELECT cve, epss FROM vuln_epss WHERE cve IN (");
            let mut list = query.separated(", ");
            for cve in chunk {
                list.push_bind(cve);
            }
            list.push_unseparated(")");
            let rows: Vec<(String, f64)> = query.build_query_as().fetch_all(&self.pool).await?;
            epss.extend(rows);
        }
        Ok((kev, epss))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn row(id: &str, modified: &str, withdrawn: bool, packages: &[(&str, &str)]) -> AdvisoryRow {
        AdvisoryRow {
            id: id.into(),
            modified: modified.into(),
            withdrawn,
            json: format!("{{\"id\":\"{id}\"}}"),
            packages: packages
                .iter()
                .map(|(e, n)| (e.to_string(), n.to_string(), "v1".to_string()))
                .collect(),
        }
    }

    #[tokio::test]
    async fn rows_without_compact_forms_are_read_as_legacy_and_due_for_rewrite() {
        let store = Store::open("sqlite::memory:").await.expect("open");
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("time");
        store
            .upsert_advisories(
                &[
                    row("OLD-1", "2024-01-01T00:00:00Z", false, &[("npm", "a")]),
                    row("NEW-1", "2024-01-01T00:00:00Z", false, &[("npm", "a")]),
                ],
                now,
            )
            .await
            .expect("upsert");
        // As a database imported before the compact column existed leaves it.
        sqlx::query("UPDATE vuln_packages SET ranges = NULL WHERE record_id = 'OLD-1'")
            .execute(&store.pool)
            .await
            .expect("legacy");
        let mut found = store
            .advisory_candidates(&[("npm".into(), "a".into())])
            .await
            .expect("lookup");
        found.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        assert_eq!(found[0].record_id, "NEW-1");
        assert!(found[0].compact.is_some());
        assert_eq!(found[1].record_id, "OLD-1");
        assert_eq!(found[1].compact, None);
        let versions = store.advisory_versions().await.expect("versions");
        assert_eq!(versions["OLD-1"], "");
        assert_eq!(versions["NEW-1"], "2024-01-01T00:00:00Z");
        store.close().await;
    }
}
