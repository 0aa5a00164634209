use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, SecondsFormat, SubsecRound, Utc};
use palisade_core::{Finding, ScanError, ScanOutput, Severity};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::error::{Error, Result};
use crate::model::{
    FindingEvent, FindingFilter, NewRun, RunCounts, RunSummary, SlaPolicy, Status, StoredFinding,
    Suppression, INLINE_AUTHOR_PREFIX,
};

/// The columns of [`FindingRow`], in a macro so that queries stay `&'static str`.
macro_rules! finding_columns {
    () => {
        "id, fingerprint, engine, scope, status, first_seen, last_seen, resolved_at, reopened_at, \
         sla_days, sla_due_at, last_run_id, suppression_reason, suppression_author, \
         suppression_created_at, suppression_expires_at, finding"
    };
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at migrating, for when several processes open a new database at once.
const MIGRATION_ATTEMPTS: u32 = 5;
/// How many candidates an [`Error::Ambiguous`] lists.
const AMBIGUOUS_CANDIDATES: usize = 5;
/// A character that sorts after every other in SQLite's BINARY collation,
/// so `prefix <= s < prefix + MAX_CHAR` selects the strings starting with `prefix`.
const MAX_CHAR: char = char::MAX;

/// The palisade database.
///
/// Cheap to clone (it wraps a connection pool). Several `Store`s, in one or
/// several processes, may share one SQLite file.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url_or_path` and brings its
    /// schema up to date.
    ///
    /// Accepts `sqlite://path`, `sqlite:path` (with SQLite URI parameters such
    /// as `?mode=ro`), `sqlite::memory:` or a plain file path. The parent
    /// directory of the file is created. `postgres://` URLs give
    /// [`Error::PostgresNotSupported`].
    pub async fn open(url_or_path: &str) -> Result<Store> {
        let target = url_or_path.trim();
        if target.is_empty() {
            return Err(Error::invalid(
                "database location",
                "empty; give a file path or a sqlite:// URL",
            ));
        }
        let lower = target.to_ascii_lowercase();
        let in_memory;
        let options = if lower.starts_with("sqlite:") {
            in_memory = lower.contains(":memory:") || lower.contains("mode=memory");
            SqliteConnectOptions::from_str(target)?
        } else if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            return Err(Error::PostgresNotSupported);
        } else if let Some(scheme) = url_scheme(target) {
            return Err(Error::UnsupportedScheme {
                scheme: scheme.to_string(),
            });
        } else {
            in_memory = false;
            SqliteConnectOptions::new().filename(target)
        };

        if !in_memory {
            create_parent_dir(options.get_filename())?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Reads through a shared mapping of the file instead of copying
            // pages into each of the pool's 16 connection caches.
            .pragma("mmap_size", "268435456");

        let pool_options = if in_memory {
            // An in-memory database lives as long as its connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            // WAL lets readers run beside the one writer: enough connections for
            // a busy console (writers still queue on the database lock).
            SqlitePoolOptions::new().max_connections(16)
        };
        let pool_options = pool_options.acquire_timeout(BUSY_TIMEOUT * 2);
        // Switching a brand-new file to WAL takes a lock that SQLite's busy
        // handler does not wait for, so two processes opening a new database
        // at the same moment can see "database is locked": retry the connect.
        let mut attempt = 1;
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(error) if attempt < MIGRATION_ATTEMPTS && is_busy(&error) => {
                    tracing::debug!(%error, attempt, "database busy while opening, retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        };

        migrate(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes every connection; further calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records one scan run and applies the lifecycle to every finding of its
    /// engine and scope, in a single transaction.
    ///
    /// `complete` says whether the run covered its whole scope; only a
    /// complete run resolves findings it did not see. Findings are
    /// deduplicated by fingerprint (the first occurrence wins). `now` is the
    /// end of the run.
    ///
    /// Every finding the run reports gets its SLA due date recomputed from
    /// `sla` and its current severity, counted from `first_seen` (or from the
    /// last reopening). Findings are identified by fingerprint within the
    /// run's engine and scope, so two scopes never share a finding.
    pub async fn record_scan(
        &self,
        run: NewRun,
        output: &ScanOutput,
        complete: bool,
        sla: &SlaPolicy,
        now: DateTime<Utc>,
    ) -> Result<RunSummary> {
        let resolution = if complete {
            Resolution::All
        } else {
            Resolution::Nothing
        };
        self.record(run, output, resolution, sla, now).await
    }

    /// [`Store::record_scan`] for a run that covered its whole scope except
    /// the checks of `unchecked_rules` (rule ids), which could not run (a
    /// denied API call, a service an emulator lacks). Unseen findings of the
    /// other rules are resolved; those of the unchecked rules stay as they
    /// are, with their earlier locations. The run is recorded incomplete
    /// unless `unchecked_rules` is empty.
    pub async fn record_scan_except(
        &self,
        run: NewRun,
        output: &ScanOutput,
        unchecked_rules: &[String],
        sla: &SlaPolicy,
        now: DateTime<Utc>,
    ) -> Result<RunSummary> {
        let resolution = if unchecked_rules.is_empty() {
            Resolution::All
        } else {
            Resolution::AllBut(unchecked_rules)
        };
        self.record(run, output, resolution, sla, now).await
    }

    async fn record(
        &self,
        run: NewRun,
        output: &ScanOutput,
        resolution: Resolution<'_>,
        sla: &SlaPolicy,
        now: DateTime<Utc>,
    ) -> Result<RunSummary> {
        let complete = matches!(resolution, Resolution::All);
        let unchecked_json =
            match resolution {
                Resolution::AllBut(rules) => Some(serde_json::to_string(rules).map_err(
                    |source| Error::Encode {
                        what: "unchecked rules",
                        source,
                    },
                )?),
                _ => None,
            };
        let now = stored_precision(now);
        let run = NewRun {
            started_at: stored_precision(run.started_at),
            ..run
        };
        if run.engine.trim().is_empty() {
            return Err(Error::invalid("run engine", "empty"));
        }
        if run.scope.trim().is_empty() {
            return Err(Error::invalid("run scope", "empty"));
        }
        let errors_json =
            serde_json::to_string(&output.errors).map_err(|source| Error::Encode {
                what: "scan errors",
                source,
            })?;

        // Validate everything before taking the write lock.
        let mut seen = HashSet::new();
        let mut findings = Vec::with_capacity(output.findings.len());
        for finding in &output.findings {
            let fingerprint = finding.fingerprint.as_str();
            if fingerprint.trim().is_empty() {
                return Err(Error::invalid(
                    "finding",
                    format!("rule {} has an empty fingerprint", finding.rule_id),
                ));
            }
            if !seen.insert(fingerprint) {
                tracing::debug!(fingerprint, "duplicate finding in one scan output ignored");
                continue;
            }
            findings.push(finding);
        }

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        expire_suppressions(&mut tx, now).await?;

        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO scan_runs \
             (engine, scope, started_at, finished_at, complete, inputs_scanned, error_count, errors) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&run.engine)
        .bind(&run.scope)
        .bind(ts(run.started_at))
        .bind(ts(now))
        .bind(complete)
        .bind(to_i64(output.inputs_scanned))
        .bind(to_i64(output.errors.len()))
        .bind(&errors_json)
        .fetch_one(&mut *tx)
        .await?;

        let mut counts = RunCounts {
            total: findings.len() as u64,
            ..RunCounts::default()
        };
        for finding in findings {
            let previous = fetch_row(
                &mut tx,
                &run.engine,
                &run.scope,
                finding.fingerprint.as_str(),
            )
            .await?
            .map(FindingRow::parse)
            .transpose()?;
            let merged;
            let finding = match &previous {
                // An incomplete run saw part of the scope: the places it did
                // not look at are still where the finding is.
                Some(previous)
                    if !resolution.resolves(&finding.rule_id)
                        && previous.status != Status::Resolved =>
                {
                    let mut finding = finding.clone();
                    finding.keep_earlier_locations(&previous.finding);
                    merged = finding;
                    &merged
                }
                _ => finding,
            };
            let json = serde_json::to_string(finding).map_err(|source| Error::Encode {
                what: "finding",
                source,
            })?;
            let next = next_state(previous.as_ref(), finding, sla, now);
            counts.new += u64::from(next.is_new);
            counts.reopened += u64::from(next.is_reopened);
            counts.suppressed += u64::from(next.status == Status::Suppressed);
            let finding_id =
                write_finding(&mut tx, finding, &json, &run, run_id, &next, now).await?;
            let from = previous.as_ref().map(|p| p.status);
            if from != Some(next.status) {
                let event = FindingEvent {
                    at: now,
                    from,
                    to: next.status,
                    run_id: Some(run_id),
                    actor: next.actor.clone(),
                    note: next.note.clone(),
                };
                insert_event(&mut tx, finding_id, &event).await?;
            }
        }

        if !matches!(resolution, Resolution::Nothing) {
            // ?6: a JSON array of rule ids whose findings stay open, or NULL.
            sqlx::query(
                "INSERT INTO finding_events (finding_id, at, from_status, to_status, run_id) \
                 SELECT id, ?1, status, 'resolved', ?2 FROM findings \
                 WHERE engine = ?3 AND scope = ?4 AND status <> 'resolved' AND last_run_id <> ?5 \
                   AND (?6 IS NULL OR rule_id NOT IN (SELECT value FROM json_each(?6)))",
            )
            .bind(ts(now))
            .bind(run_id)
            .bind(&run.engine)
            .bind(&run.scope)
            .bind(run_id)
            .bind(&unchecked_json)
            .execute(&mut *tx)
            .await?;
            let resolved = sqlx::query(
                "UPDATE findings SET status = 'resolved', resolved_at = ?1 \
                 WHERE engine = ?2 AND scope = ?3 AND status <> 'resolved' AND last_run_id <> ?4 \
                   AND (?5 IS NULL OR rule_id NOT IN (SELECT value FROM json_each(?5)))",
            )
            .bind(ts(now))
            .bind(&run.engine)
            .bind(&run.scope)
            .bind(run_id)
            .bind(&unchecked_json)
            .execute(&mut *tx)
            .await?;
            counts.resolved = resolved.rows_affected();
        }

        sqlx::query(
            "UPDATE scan_runs SET findings_total = ?, findings_new = ?, findings_reopened = ?, \
             findings_resolved = ?, findings_suppressed = ? WHERE id = ?",
        )
        .bind(to_i64(counts.total))
        .bind(to_i64(counts.new))
        .bind(to_i64(counts.reopened))
        .bind(to_i64(counts.resolved))
        .bind(to_i64(counts.suppressed))
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        tracing::info!(
            run_id,
            engine = %run.engine,
            scope = %run.scope,
            complete,
            total = counts.total,
            new = counts.new,
            reopened = counts.reopened,
            resolved = counts.resolved,
            suppressed = counts.suppressed,
            "scan run recorded"
        );
        Ok(RunSummary {
            id: run_id,
            engine: run.engine,
            scope: run.scope,
            started_at: run.started_at,
            finished_at: now,
            complete,
            inputs_scanned: output.inputs_scanned as u64,
            counts,
            errors: output.errors.clone(),
        })
    }

    /// The findings matching `filter`, most severe first, then oldest first.
    /// Expired suppressions are applied first (see [`crate`] docs).
    pub async fn list_findings(
        &self,
        filter: &FindingFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredFinding>> {
        self.expire_suppressions_if_due(now).await?;
        let rows: Vec<FindingRow> = sqlx::query_as(concat!(
            "SELECT ",
            finding_columns!(),
            " FROM findings \
             WHERE (?1 IS NULL OR status = ?1) \
               AND (?1 IS NOT NULL OR ?2 OR status <> 'resolved') \
               AND severity_rank >= ?3 \
               AND (?4 IS NULL OR rule_id = ?4) \
               AND (?5 IS NULL OR engine = ?5) \
               AND (?6 IS NULL OR scope = ?6) \
               AND (NOT ?7 OR (status IN ('open', 'reopened') \
                               AND sla_due_at IS NOT NULL AND sla_due_at < ?8)) \
             ORDER BY severity_rank DESC, first_seen ASC, fingerprint ASC \
             LIMIT ?9"
        ))
        .bind(filter.status.map(Status::as_str))
        .bind(filter.include_resolved)
        .bind(filter.min_severity.map_or(0, severity_rank))
        .bind(filter.rule_id.as_deref())
        .bind(filter.engine.as_deref())
        .bind(filter.scope.as_deref())
        .bind(filter.overdue_only)
        .bind(ts(now))
        .bind(filter.limit.map_or(i64::MAX, i64::from))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| row.parse().map(Row::into_stored))
            .collect()
    }

    /// The finding whose fingerprint is `fingerprint_or_prefix`, or the only
    /// one starting with it. Errors: [`Error::NotFound`], [`Error::Ambiguous`]
    /// (also when the fingerprint is stored in several scopes; see
    /// [Lookups](crate#lookups)).
    pub async fn get_finding(
        &self,
        fingerprint_or_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        self.expire_suppressions_if_due(now).await?;
        let mut conn = self.pool.acquire().await?;
        let row = find_by_prefix(&mut conn, fingerprint_or_prefix).await?;
        Ok(row.into_stored())
    }

    /// The finding with this row id (see [`Store::suppress_id`]); error
    /// [`Error::NotFound`] if there is none.
    pub async fn get_finding_id(&self, id: i64, now: DateTime<Utc>) -> Result<StoredFinding> {
        self.expire_suppressions_if_due(now).await?;
        let mut conn = self.pool.acquire().await?;
        Ok(find_row(&mut conn, Lookup::Id(id)).await?.into_stored())
    }

    /// The status changes of the finding with this row id, oldest first.
    pub async fn finding_history_id(&self, id: i64) -> Result<Vec<FindingEvent>> {
        self.history_by(Lookup::Id(id)).await
    }

    /// The status changes of a finding (fingerprint or unique prefix), oldest first.
    pub async fn finding_history(&self, fingerprint_or_prefix: &str) -> Result<Vec<FindingEvent>> {
        self.history_by(Lookup::Prefix(fingerprint_or_prefix)).await
    }

    async fn history_by(&self, lookup: Lookup<'_>) -> Result<Vec<FindingEvent>> {
        let mut conn = self.pool.acquire().await?;
        let row = find_row(&mut conn, lookup).await?;
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT at, from_status, to_status, run_id, actor, note FROM finding_events \
             WHERE finding_id = ? ORDER BY id",
        )
        .bind(row.id)
        .fetch_all(&mut *conn)
        .await?;
        events.into_iter().map(EventRow::parse).collect()
    }

    /// Suppresses a finding (fingerprint or unique prefix): it stops counting
    /// as open until `expires_at` (if any), then reopens.
    ///
    /// Replaces any earlier suppression, including an inline one. A resolved
    /// finding stays resolved but keeps the suppression for when it comes back.
    pub async fn suppress(
        &self,
        fingerprint_or_prefix: &str,
        reason: &str,
        author: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        let lookup = Lookup::Prefix(fingerprint_or_prefix);
        self.suppress_by(lookup, reason, author, expires_at, now)
            .await
    }

    /// [`Store::suppress`] for the finding with this row id (as the web console
    /// links to it), which is never ambiguous.
    pub async fn suppress_id(
        &self,
        id: i64,
        reason: &str,
        author: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        self.suppress_by(Lookup::Id(id), reason, author, expires_at, now)
            .await
    }

    async fn suppress_by(
        &self,
        lookup: Lookup<'_>,
        reason: &str,
        author: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        let now = stored_precision(now);
        let expires_at = expires_at.map(stored_precision);
        let reason = reason.trim();
        let author = author.trim();
        if reason.is_empty() {
            return Err(Error::invalid("suppression reason", "empty; say why"));
        }
        validate_author(author)?;
        if let Some(expires_at) = expires_at {
            if expires_at <= now {
                return Err(Error::invalid(
                    "suppression expiry",
                    format!("{} is not in the future", ts(expires_at)),
                ));
            }
        }

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        expire_suppressions(&mut tx, now).await?;
        let mut row = find_row(&mut tx, lookup).await?;
        let from = row.status;
        if row.status != Status::Resolved {
            row.status = Status::Suppressed;
        }
        row.suppression = Some(Suppression {
            reason: reason.to_string(),
            author: author.to_string(),
            created_at: now,
            expires_at,
        });
        update_status(&mut tx, &row).await?;
        let event = FindingEvent {
            at: now,
            from: Some(from),
            to: row.status,
            run_id: None,
            actor: Some(author.to_string()),
            note: Some(format!("suppressed: {reason}")),
        };
        insert_event(&mut tx, row.id, &event).await?;
        tx.commit().await?;
        tracing::info!(
            fingerprint = %row.finding.fingerprint,
            engine = %row.engine,
            scope = %row.scope,
            author,
            "finding suppressed"
        );
        Ok(row.into_stored())
    }

    /// Removes the suppression of a finding (fingerprint or unique prefix): it
    /// goes back to open, or reopened if it had been reopened before; a
    /// resolved finding stays resolved. Error [`Error::NotSuppressed`] if
    /// there is no suppression. An inline suppression removed this way comes
    /// back at the next run as long as the comment stays in the code.
    pub async fn unsuppress(
        &self,
        fingerprint_or_prefix: &str,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        self.unsuppress_by(Lookup::Prefix(fingerprint_or_prefix), author, now)
            .await
    }

    /// [`Store::unsuppress`] for the finding with this row id.
    pub async fn unsuppress_id(
        &self,
        id: i64,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        self.unsuppress_by(Lookup::Id(id), author, now).await
    }

    async fn unsuppress_by(
        &self,
        lookup: Lookup<'_>,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredFinding> {
        let now = stored_precision(now);
        let author = author.trim();
        validate_author(author)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        expire_suppressions(&mut tx, now).await?;
        let mut row = find_row(&mut tx, lookup).await?;
        let Some(previous) = row.suppression.take() else {
            return Err(Error::NotSuppressed(row.finding.fingerprint.0));
        };
        let from = row.status;
        if row.status == Status::Suppressed {
            row.status = unsuppressed_status(row.reopened_at);
        }
        update_status(&mut tx, &row).await?;
        let event = FindingEvent {
            at: now,
            from: Some(from),
            to: row.status,
            run_id: None,
            actor: Some(author.to_string()),
            note: Some(format!(
                "suppression by {} removed (was: {})",
                previous.author, previous.reason
            )),
        };
        insert_event(&mut tx, row.id, &event).await?;
        tx.commit().await?;
        tracing::info!(
            fingerprint = %row.finding.fingerprint,
            engine = %row.engine,
            scope = %row.scope,
            author,
            "finding unsuppressed"
        );
        Ok(row.into_stored())
    }

    /// The latest `limit` runs, newest first.
    pub async fn list_runs(&self, limit: u32) -> Result<Vec<RunSummary>> {
        let rows: Vec<RunRow> = sqlx::query_as(
            "SELECT id, engine, scope, started_at, finished_at, complete, inputs_scanned, \
             findings_total, findings_new, findings_reopened, findings_resolved, \
             findings_suppressed, errors FROM scan_runs ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(RunRow::parse).collect()
    }

    /// The commits (hex ids) earlier history scans of `scope` have read.
    pub async fn scanned_commits(&self, scope: &str) -> Result<Vec<String>> {
        let batches: Vec<String> =
            sqlx::query_scalar("SELECT commits FROM git_scanned_commit_batches WHERE scope = ?")
                .bind(scope)
                .fetch_all(&self.pool)
                .await?;
        let mut commits: Vec<String> = batches
            .iter()
            .flat_map(|batch| batch.lines())
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        commits.sort_unstable();
        commits.dedup();
        Ok(commits)
    }

    /// Adds `commits` to the set of commits read for `scope` (`replace`:
    /// start the set afresh, after a full rescan). Only the new commits are
    /// written, as one batch, so an incremental run costs what it read.
    pub async fn add_scanned_commits(
        &self,
        scope: &str,
        commits: &[String],
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if replace {
            sqlx::query("DELETE FROM git_scanned_commit_batches WHERE scope = ?")
                .bind(scope)
                .execute(&mut *tx)
                .await?;
        }
        let batch: Vec<&str> = commits
            .iter()
            .map(String::as_str)
            .filter(|c| !c.is_empty())
            .collect();
        if !batch.is_empty() {
            sqlx::query(
                "INSERT INTO git_scanned_commit_batches (scope, commits, added_at) VALUES (?, ?, ?)",
            )
            .bind(scope)
            .bind(batch.join("\n"))
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies expired suppressions, taking the write lock only when there is one.
    pub(crate) async fn expire_suppressions_if_due(&self, now: DateTime<Utc>) -> Result<()> {
        let due: bool = sqlx::query_scalar(
            // By expiry: with the status index this read every suppressed
            // finding, on every page of the console.
            "SELECT EXISTS (SELECT 1 FROM findings INDEXED BY findings_suppression_expiry \
             WHERE status = 'suppressed' \
             AND suppression_expires_at IS NOT NULL AND suppression_expires_at <= ?)",
        )
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        if due {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            expire_suppressions(&mut tx, now).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Runs the embedded migrations. When several processes open a new database
/// at once, one applies a migration and the others fail on it; they retry and
/// then find it applied.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut attempt = 1;
    loop {
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < MIGRATION_ATTEMPTS => {
                tracing::debug!(%error, attempt, "migration failed, retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Whether an error is SQLite's SQLITE_BUSY (5) or SQLITE_LOCKED (6).
fn is_busy(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "5" || code == "6")
}

/// The scheme of something that looks like a URL (`scheme://...`).
fn url_scheme(target: &str) -> Option<&str> {
    let (scheme, _) = target.split_once("://")?;
    let valid = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn create_parent_dir(file: &Path) -> Result<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|source| Error::CreateDir {
                path: dir.to_path_buf(),
                source,
            }),
        _ => Ok(()),
    }
}

fn validate_author(author: &str) -> Result<()> {
    if author.is_empty() {
        return Err(Error::invalid("author", "empty; say who you are"));
    }
    if author.starts_with(INLINE_AUTHOR_PREFIX) {
        return Err(Error::invalid(
            "author",
            format!("`{INLINE_AUTHOR_PREFIX}` is reserved for suppressions in code comments"),
        ));
    }
    Ok(())
}

/// Times are stored to the microsecond; values returned are truncated the same way.
/// Which unseen findings of its scope a recorded run resolves.
#[derive(Debug, Clone, Copy)]
enum Resolution<'a> {
    /// The run covered its whole scope.
    All,
    /// The run covered part of its scope: nothing it did not see is resolved.
    Nothing,
    /// Everything but the findings of these rules, whose checks could not run.
    AllBut(&'a [String]),
}

impl Resolution<'_> {
    fn resolves(&self, rule_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::AllBut(rules) => !rules.iter().any(|r| r == rule_id),
        }
    }
}

fn stored_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}

/// Fixed-width RFC 3339 in UTC, so that text order is time order.
pub(crate) fn ts(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(what: &str, value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::corrupt(format!("{what} `{value}`"), e))
}

fn parse_opt_ts(what: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    value.map(|v| parse_ts(what, v)).transpose()
}

fn parse_status(value: &str) -> Result<Status> {
    value
        .parse()
        .map_err(|e| Error::corrupt(format!("status `{value}`"), e))
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

fn unsuppressed_status(reopened_at: Option<DateTime<Utc>>) -> Status {
    if reopened_at.is_some() {
        Status::Reopened
    } else {
        Status::Open
    }
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    fingerprint: String,
    engine: String,
    scope: String,
    status: String,
    first_seen: String,
    last_seen: String,
    resolved_at: Option<String>,
    reopened_at: Option<String>,
    sla_days: Option<i64>,
    sla_due_at: Option<String>,
    last_run_id: i64,
    suppression_reason: Option<String>,
    suppression_author: Option<String>,
    suppression_created_at: Option<String>,
    suppression_expires_at: Option<String>,
    finding: String,
}

/// A parsed row of `findings`.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    finding: Finding,
    engine: String,
    scope: String,
    status: Status,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    reopened_at: Option<DateTime<Utc>>,
    sla_days: Option<i64>,
    sla_due_at: Option<DateTime<Utc>>,
    last_run_id: i64,
    suppression: Option<Suppression>,
}

impl FindingRow {
    fn parse(self) -> Result<Row> {
        let what = |column: &str| {
            format!(
                "findings.{column} of {} in {} ({})",
                self.fingerprint, self.scope, self.engine
            )
        };
        let finding: Finding =
            serde_json::from_str(&self.finding).map_err(|e| Error::corrupt(what("finding"), e))?;
        let suppression = match (self.suppression_reason, self.suppression_author) {
            (Some(reason), Some(author)) => Some(Suppression {
                reason,
                author,
                created_at: parse_ts(
                    &what("suppression_created_at"),
                    self.suppression_created_at.as_deref().unwrap_or(""),
                )?,
                expires_at: parse_opt_ts(
                    &what("suppression_expires_at"),
                    self.suppression_expires_at.as_deref(),
                )?,
            }),
            _ => None,
        };
        Ok(Row {
            id: self.id,
            status: parse_status(&self.status)?,
            first_seen: parse_ts(&what("first_seen"), &self.first_seen)?,
            last_seen: parse_ts(&what("last_seen"), &self.last_seen)?,
            resolved_at: parse_opt_ts(&what("resolved_at"), self.resolved_at.as_deref())?,
            reopened_at: parse_opt_ts(&what("reopened_at"), self.reopened_at.as_deref())?,
            sla_due_at: parse_opt_ts(&what("sla_due_at"), self.sla_due_at.as_deref())?,
            sla_days: self.sla_days,
            last_run_id: self.last_run_id,
            engine: self.engine,
            scope: self.scope,
            suppression,
            finding,
        })
    }
}

impl Row {
    fn into_stored(self) -> StoredFinding {
        StoredFinding {
            finding: self.finding,
            status: self.status,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            resolved_at: self.resolved_at,
            reopened_at: self.reopened_at,
            sla_due_at: self.sla_due_at,
            suppression: self.suppression,
            engine: self.engine,
            scope: self.scope,
            last_run_id: self.last_run_id,
        }
    }
}

async fn fetch_row(
    conn: &mut SqliteConnection,
    engine: &str,
    scope: &str,
    fingerprint: &str,
) -> Result<Option<FindingRow>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM findings WHERE engine = ? AND scope = ? AND fingerprint = ?"
    ))
    .bind(engine)
    .bind(scope)
    .bind(fingerprint)
    .fetch_optional(conn)
    .await?)
}

/// How a caller names one finding.
#[derive(Debug, Clone, Copy)]
enum Lookup<'a> {
    /// A fingerprint or a unique prefix of one (see [`find_by_prefix`]).
    Prefix(&'a str),
    /// The row id.
    Id(i64),
}

async fn find_row(conn: &mut SqliteConnection, lookup: Lookup<'_>) -> Result<Row> {
    match lookup {
        Lookup::Prefix(prefix) => find_by_prefix(conn, prefix).await,
        Lookup::Id(id) => {
            let row: Option<FindingRow> = sqlx::query_as(concat!(
                "SELECT ",
                finding_columns!(),
                " FROM findings WHERE id = ?"
            ))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            row.ok_or_else(|| Error::NotFound(format!("finding {id}")))?
                .parse()
        }
    }
}

/// The finding with this fingerprint, or the only one starting with it.
/// An exact fingerprint wins over longer ones it is a prefix of. The same
/// fingerprint in several scopes (or engines) is ambiguous too: the
/// candidates name their scopes.
async fn find_by_prefix(conn: &mut SqliteConnection, fingerprint_or_prefix: &str) -> Result<Row> {
    let mut prefix = fingerprint_or_prefix.trim().to_string();
    if prefix.is_empty() {
        return Err(Error::invalid("fingerprint", "empty"));
    }
    if prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        // Fingerprints are lowercase hex; accept an upper-case paste.
        prefix.make_ascii_lowercase();
    }
    let exact: Vec<FindingRow> = sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM findings WHERE fingerprint = ? ORDER BY scope, engine LIMIT ?"
    ))
    .bind(&prefix)
    .bind(to_i64(AMBIGUOUS_CANDIDATES))
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = if exact.is_empty() {
        let upper = format!("{prefix}{MAX_CHAR}");
        sqlx::query_as(concat!(
            "SELECT ",
            finding_columns!(),
            " FROM findings WHERE fingerprint >= ? AND fingerprint < ? \
              ORDER BY fingerprint, scope, engine LIMIT ?"
        ))
        .bind(&prefix)
        .bind(&upper)
        .bind(to_i64(AMBIGUOUS_CANDIDATES))
        .fetch_all(&mut *conn)
        .await?
    } else {
        exact
    };
    match rows.len() {
        0 => Err(Error::NotFound(prefix)),
        1 => rows.swap_remove(0).parse(),
        _ => Err(Error::Ambiguous {
            candidates: candidates(&rows),
            prefix,
        }),
    }
}

/// The rows as [`Error::Ambiguous`] lists them: `<fingerprint> (<scope>)`,
/// naming the engine too when two rows differ only by engine.
fn candidates(rows: &[FindingRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let engine_matters = rows.iter().any(|other| {
                other.fingerprint == r.fingerprint
                    && other.scope == r.scope
                    && other.engine != r.engine
            });
            if engine_matters {
                format!("{} ({}, engine {})", r.fingerprint, r.scope, r.engine)
            } else {
                format!("{} ({})", r.fingerprint, r.scope)
            }
        })
        .collect()
}

/// The lifecycle state of a finding after a run saw it.
#[derive(Debug, Clone)]
struct Next {
    status: Status,
    first_seen: DateTime<Utc>,
    reopened_at: Option<DateTime<Utc>>,
    sla_days: Option<u32>,
    sla_due_at: Option<DateTime<Utc>>,
    suppression: Option<Suppression>,
    is_new: bool,
    is_reopened: bool,
    /// Who or what caused a status change, for the history.
    actor: Option<String>,
    note: Option<String>,
}

/// Applies one sighting of `finding` at `now` to its previous state.
fn next_state(
    previous: Option<&Row>,
    finding: &Finding,
    sla: &SlaPolicy,
    now: DateTime<Utc>,
) -> Next {
    let inline = inline_suppression(finding, now);
    let (first_seen, reopened_at, suppression, is_new, is_reopened) = match previous {
        None => (now, None, inline, true, false),
        Some(previous) => {
            let was_resolved = previous.status == Status::Resolved;
            let reopened_at = if was_resolved {
                Some(now)
            } else {
                previous.reopened_at
            };
            // A manual suppression outranks a comment in the code; an inline
            // one is only as good as the comment the engine still reports.
            let manual = previous
                .suppression
                .clone()
                .filter(|s| !s.is_inline() && s.is_active_at(now));
            let suppression = manual.or_else(|| {
                inline.map(|mut s| {
                    if let Some(earlier) = &previous.suppression {
                        if earlier.author == s.author {
                            s.created_at = earlier.created_at;
                        }
                    }
                    s
                })
            });
            (
                previous.first_seen,
                reopened_at,
                suppression,
                false,
                was_resolved,
            )
        }
    };
    let status = if suppression.is_some() {
        Status::Suppressed
    } else {
        unsuppressed_status(reopened_at)
    };
    let (actor, note) = match (&suppression, previous) {
        (Some(s), _) if s.is_inline() => (Some(s.author.clone()), Some(s.reason.clone())),
        (None, Some(p)) if p.status == Status::Suppressed => (
            None,
            Some("inline suppression removed or expired".to_string()),
        ),
        _ => (None, None),
    };
    let clock_start = reopened_at.unwrap_or(first_seen);
    Next {
        status,
        first_seen,
        reopened_at,
        sla_days: sla.days_for(finding.severity),
        sla_due_at: sla.due_at(finding.severity, clock_start),
        suppression,
        is_new,
        is_reopened,
        actor,
        note,
    }
}

/// The suppression a code comment gives `finding` at `now`, if it is active.
/// An inline expiry date is the last day it applies, so it ends at the next midnight UTC.
fn inline_suppression(finding: &Finding, now: DateTime<Utc>) -> Option<Suppression> {
    let inline = finding.suppression.as_ref()?;
    if !inline.is_active_on(now.date_naive()) {
        return None;
    }
    Some(Suppression {
        reason: inline.reason.clone(),
        author: format!("{INLINE_AUTHOR_PREFIX}{}", inline.source),
        created_at: now,
        expires_at: inline
            .expires
            .and_then(|day| day.succ_opt())
            .map(|day| day.and_time(NaiveTime::MIN).and_utc()),
    })
}

async fn write_finding(
    conn: &mut SqliteConnection,
    finding: &Finding,
    json: &str,
    run: &NewRun,
    run_id: i64,
    next: &Next,
    now: DateTime<Utc>,
) -> Result<i64> {
    let file_path = finding
        .resource
        .file
        .as_deref()
        .or(finding.location.as_ref().map(|l| l.path.as_str()));
    let suppression = next.suppression.as_ref();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO findings (fingerprint, rule_id, severity, severity_rank, category, engine, \
         scope, resource_kind, resource_id, file_path, status, first_seen, last_seen, \
         resolved_at, reopened_at, sla_days, sla_due_at, last_run_id, suppression_reason, \
         suppression_author, suppression_created_at, suppression_expires_at, finding) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (engine, scope, fingerprint) DO UPDATE SET \
         rule_id = excluded.rule_id, severity = excluded.severity, \
         severity_rank = excluded.severity_rank, category = excluded.category, \
         resource_kind = excluded.resource_kind, resource_id = excluded.resource_id, \
         file_path = excluded.file_path, status = excluded.status, \
         last_seen = excluded.last_seen, resolved_at = NULL, \
         reopened_at = excluded.reopened_at, sla_days = excluded.sla_days, \
         sla_due_at = excluded.sla_due_at, last_run_id = excluded.last_run_id, \
         suppression_reason = excluded.suppression_reason, \
         suppression_author = excluded.suppression_author, \
         suppression_created_at = excluded.suppression_created_at, \
         suppression_expires_at = excluded.suppression_expires_at, \
         finding = excluded.finding \
         RETURNING id",
    )
    .bind(finding.fingerprint.as_str())
    .bind(&finding.rule_id)
    .bind(finding.severity.as_str())
    .bind(severity_rank(finding.severity))
    .bind(finding.category.as_str())
    .bind(&run.engine)
    .bind(&run.scope)
    .bind(&finding.resource.kind)
    .bind(&finding.resource.id)
    .bind(file_path)
    .bind(next.status.as_str())
    .bind(ts(next.first_seen))
    .bind(ts(now))
    .bind(next.reopened_at.map(ts))
    .bind(next.sla_days.map(i64::from))
    .bind(next.sla_due_at.map(ts))
    .bind(run_id)
    .bind(suppression.map(|s| s.reason.as_str()))
    .bind(suppression.map(|s| s.author.as_str()))
    .bind(suppression.map(|s| ts(s.created_at)))
    .bind(suppression.and_then(|s| s.expires_at).map(ts))
    .bind(json)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Writes the lifecycle columns of `row` that suppress, unsuppress and expiry change.
async fn update_status(conn: &mut SqliteConnection, row: &Row) -> Result<()> {
    let suppression = row.suppression.as_ref();
    sqlx::query(
        "UPDATE findings SET status = ?, reopened_at = ?, sla_due_at = ?, \
         suppression_reason = ?, suppression_author = ?, suppression_created_at = ?, \
         suppression_expires_at = ? WHERE id = ?",
    )
    .bind(row.status.as_str())
    .bind(row.reopened_at.map(ts))
    .bind(row.sla_due_at.map(ts))
    .bind(suppression.map(|s| s.reason.as_str()))
    .bind(suppression.map(|s| s.author.as_str()))
    .bind(suppression.map(|s| ts(s.created_at)))
    .bind(suppression.and_then(|s| s.expires_at).map(ts))
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_event(
    conn: &mut SqliteConnection,
    finding_id: i64,
    event: &FindingEvent,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO finding_events (finding_id, at, from_status, to_status, run_id, actor, note) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(finding_id)
    .bind(ts(event.at))
    .bind(event.from.map(Status::as_str))
    .bind(event.to.as_str())
    .bind(event.run_id)
    .bind(event.actor.as_deref())
    .bind(event.note.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the suppressions whose expiry has passed: a manual one reopens its
/// finding (with a new SLA clock from the expiry), an inline one puts it back
/// to open (or reopened, if it had been reopened before). Returns how many.
async fn expire_suppressions(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<u64> {
    let rows: Vec<FindingRow> = sqlx::query_as(concat!(
        "SELECT ",
        finding_columns!(),
        " FROM findings WHERE status = 'suppressed' \
          AND suppression_expires_at IS NOT NULL AND suppression_expires_at <= ?"
    ))
    .bind(ts(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut expired = 0;
    for row in rows {
        let mut row = row.parse()?;
        let Some(suppression) = row.suppression.take() else {
            continue;
        };
        let Some(expired_at) = suppression.expires_at else {
            continue;
        };
        if suppression.is_inline() {
            row.status = unsuppressed_status(row.reopened_at);
        } else {
            row.status = Status::Reopened;
            row.reopened_at = Some(expired_at);
            row.sla_due_at = row
                .sla_days
                .and_then(|days| expired_at.checked_add_signed(chrono::Duration::days(days)));
        }
        update_status(conn, &row).await?;
        let event = FindingEvent {
            at: expired_at,
            from: Some(Status::Suppressed),
            to: row.status,
            run_id: None,
            actor: None,
            note: Some(format!(
                "suppression by {} expired (was: {})",
                suppression.author, suppression.reason
            )),
        };
        insert_event(conn, row.id, &event).await?;
        expired += 1;
    }
    if expired > 0 {
        tracing::info!(expired, "expired suppressions applied");
    }
    Ok(expired)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: String,
    from_status: Option<String>,
    to_status: String,
    run_id: Option<i64>,
    actor: Option<String>,
    note: Option<String>,
}

impl EventRow {
    fn parse(self) -> Result<FindingEvent> {
        Ok(FindingEvent {
            at: parse_ts("finding_events.at", &self.at)?,
            from: self.from_status.as_deref().map(parse_status).transpose()?,
            to: parse_status(&self.to_status)?,
            run_id: self.run_id,
            actor: self.actor,
            note: self.note,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    engine: String,
    scope: String,
    started_at: String,
    finished_at: String,
    complete: bool,
    inputs_scanned: i64,
    findings_total: i64,
    findings_new: i64,
    findings_reopened: i64,
    findings_resolved: i64,
    findings_suppressed: i64,
    errors: String,
}

impl RunRow {
    fn parse(self) -> Result<RunSummary> {
        let what = |column: &str| format!("scan_runs.{column} of run {}", self.id);
        let errors: Vec<ScanError> =
            serde_json::from_str(&self.errors).map_err(|e| Error::corrupt(what("errors"), e))?;
        Ok(RunSummary {
            started_at: parse_ts(&what("started_at"), &self.started_at)?,
            finished_at: parse_ts(&what("finished_at"), &self.finished_at)?,
            id: self.id,
            engine: self.engine,
            scope: self.scope,
            complete: self.complete,
            inputs_scanned: to_u64(self.inputs_scanned),
            counts: RunCounts {
                total: to_u64(self.findings_total),
                new: to_u64(self.findings_new),
                reopened: to_u64(self.findings_reopened),
                resolved: to_u64(self.findings_resolved),
                suppressed: to_u64(self.findings_suppressed),
            },
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_recognises_urls_but_not_paths() {
        assert_eq!(url_scheme("mysql://host/db"), Some("mysql"));
        assert_eq!(url_scheme("/var/lib/palisade.db"), None);
        assert_eq!(url_scheme("C://odd"), None);
        assert_eq!(url_scheme("relative/dir/palisade.db"), None);
    }

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let t = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid");
        let text = ts(t);
        assert_eq!(text, "2026-03-04T05:06:07.000000Z");
        assert_eq!(parse_ts("t", &text).expect("parses"), t);
        assert!(ts(t) < ts(t + chrono::Duration::microseconds(1)));
    }
}
