//! SQL over the lake with DataFusion, and the rendering of results.

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::ParquetReadOptions;

use crate::error::{Error, Result};
use crate::schema::{Source, DAY_PARTITION, NORMALISED_COLUMNS, RAW_COLUMN};
use crate::Lake;

/// The view over the normalised columns of every source.
pub const EVENTS_VIEW: &str = "events";

/// The rows a query returned, with their schema (kept for empty results).
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// How [`QueryResult::write`] renders rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryFormat {
    /// An ASCII table for people.
    Table,
    /// One JSON array of objects, nulls written out.
    Json,
    /// CSV with a header line.
    Csv,
}

impl QueryResult {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Renders the rows to `out`.
    pub fn write(&self, format: QueryFormat, out: &mut dyn Write) -> Result<()> {
        let io = |source| Error::Write {
            path: "<output>".into(),
            source,
        };
        match format {
            QueryFormat::Table => {
                let table = datafusion::arrow::util::pretty::pretty_format_batches_with_schema(
                    self.schema.clone(),
                    &self.batches,
                )?;
                writeln!(out, "{table}").map_err(io)?;
            }
            QueryFormat::Json => {
                let mut writer = datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, datafusion::arrow::json::writer::JsonArray>(&mut *out);
                for batch in &self.batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
                writeln!(out).map_err(io)?;
            }
            QueryFormat::Csv => {
                if self.rows() == 0 {
                    let names: Vec<&str> = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    writeln!(out, "{}", names.join(",")).map_err(io)?;
                    return Ok(());
                }
                let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut *out);
                for batch in &self.batches {
                    writer.write(batch)?;
                }
            }
        }
        Ok(())
    }
}

impl Lake {
    /// A DataFusion session with one table per source (`cloudtrail`, ...)
    /// over its `source=<name>/` directory, `dt` as a partition column (a
    /// `dt` filter skips whole directories), and the [`EVENTS_VIEW`] view.
    /// A source with no data yet is an empty table.
    pub async fn session(&self) -> Result<SessionContext> {
        let ctx = SessionContext::new_with_config(session_config()?);
        self.register_store(&ctx)?;
        for source in Source::ALL {
            let schema = source.view_schema();
            let location = match &self.remote {
                Some(remote) => crate::maintenance::remote_days(remote, source)
                    .await?
                    .first()
                    .map(|_| format!("{}/", remote.url_of(&format!("source={}", source.name())))),
                None => {
                    let dir = self.source_dir(source);
                    dir.is_dir().then(|| format!("{}/", dir.display()))
                }
            };
            if let Some(location) = location {
                let options = ParquetReadOptions {
                    schema: Some(&schema),
                    table_partition_cols: vec![(DAY_PARTITION.to_string(), DataType::Utf8)],
                    ..ParquetReadOptions::default()
                };
                ctx.register_parquet(source.name(), location, options)
                    .await?;
                // The same table, with `dt` filters derived from `time` filters.
                if let Some(inner) = ctx.deregister_table(source.name())? {
                    let table = crate::prune::LakeTable { inner };
                    ctx.register_table(source.name(), Arc::new(table))?;
                }
            } else {
                let mut fields: Vec<Field> =
                    schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new(DAY_PARTITION, DataType::Utf8, false));
                let table = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])?;
                ctx.register_table(source.name(), Arc::new(table))?;
            }
        }
        ctx.sql(&events_view_sql()).await?;
        Ok(ctx)
    }

    /// Lets `ctx` read the lake's object store (for a lake on object storage).
    pub(crate) fn register_store(&self, ctx: &SessionContext) -> Result<()> {
        if let Some(remote) = &self.remote {
            let url = ObjectStoreUrl::parse(&remote.store_url)?;
            ctx.register_object_store(url.as_ref(), remote.store.clone());
        }
        Ok(())
    }

    /// Runs one read-only SQL statement over the lake. Statements that would
    /// create, change or write anything are refused.
    pub async fn query(&self, sql: &str) -> Result<QueryResult> {
        let ctx = self.session().await?;
        Lake::query_in(&ctx, sql).await
    }

    /// [`Lake::query`] in a session made by [`Lake::session`], so several
    /// queries share one (its listing and Parquet metadata caches).
    pub async fn query_in(ctx: &SessionContext, sql: &str) -> Result<QueryResult> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = ctx.sql_with_options(sql, options).await?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        Ok(QueryResult { schema, batches })
    }
}

/// DataFusion's settings for the lake: `DATAFUSION_*` environment variables
/// (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`) first, then the lake's
/// defaults for what is not set there: filters evaluated while decoding
/// Parquet (`pushdown_filters`, `reorder_filters`: a selective filter on one
/// column skips decoding the others for rows it rejects).
fn session_config() -> Result<SessionConfig> {
    let mut config = SessionConfig::from_env()?.with_information_schema(true);
    let parquet = &mut config.options_mut().execution.parquet;
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS").is_none() {
        parquet.pushdown_filters = true;
    }
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_REORDER_FILTERS").is_none() {
        parquet.reorder_filters = true;
    }
    Ok(config)
}

/// `CREATE VIEW events AS SELECT '<source>' AS source, <normalised>, raw, dt FROM <source> UNION ALL ...`
fn events_view_sql() -> String {
    let columns = NORMALISED_COLUMNS.join(", ");
    let selects: Vec<String> = Source::ALL
        .iter()
        .map(|source| {
            format!(
                "SELECT '{name}' AS source, {columns}, {RAW_COLUMN}, {DAY_PARTITION} FROM {name}",
                name = source.name()
            )
        })
        .collect();
    format!(
        "CREATE VIEW {EVENTS_VIEW} AS {}",
        selects.join(" UNION ALL ")
    )
}

/// The common case of `logs query`: the latest events of one source, with
/// simple filters, as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailFilter {
    pub source: Source,
    /// Events whose actor contains this text (case-sensitive).
    pub actor: Option<String>,
    /// Events with exactly this action (`ConsoleLogin`).
    pub action: Option<String>,
    /// Events at or after this time; also prunes the `dt` partitions.
    pub since: Option<DateTime<Utc>>,
    /// At most this many events, newest first.
    pub limit: u64,
}

impl TailFilter {
    /// The SQL this filter stands for; user values are quoted as literals.
    pub fn to_sql(&self) -> String {
        let mut conditions = Vec::new();
        if let Some(since) = self.since {
            conditions.push(format!("{DAY_PARTITION} >= '{}'", since.format("%Y-%m-%d")));
            conditions.push(format!(
                "time >= TIMESTAMP '{}'",
                since.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            ));
        }
        if let Some(actor) = &self.actor {
            conditions.push(format!("strpos(actor, {}) > 0", quote(actor)));
        }
        if let Some(action) = &self.action {
            conditions.push(format!("action = {}", quote(action)));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        format!(
            "SELECT time, actor, action, outcome, src_ip, region, account, resource, error_code \
             FROM {}{filter} ORDER BY time DESC LIMIT {}",
            self.source.name(),
            self.limit
        )
    }
}

/// A SQL string literal.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `--since`: a duration back from `now` (`90m`, `24h`, `7d`, `2w`), a
/// date (`2026-11-23`, midnight UTC) or an RFC 3339 time.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let text = text.trim();
    let invalid = || Error::InvalidInput {
        what: "--since",
        reason: format!(
            "`{text}`: give a duration (30m, 24h, 7d, 2w), a date (2026-11-23) or an RFC 3339 time"
        ),
    };
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let unit_at = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let duration = match unit {
        "m" => Duration::try_minutes(number),
        "h" => Duration::try_hours(number),
        "d" => Duration::try_days(number),
        "w" => Duration::try_weeks(number),
        _ => None,
    }
    .filter(|_| number >= 0)
    .ok_or_else(invalid)?;
    now.checked_sub_signed(duration).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    #[test]
    fn since_accepts_durations_dates_and_times() {
        let at = |s: &str| parse_since(s, now()).map(|t| t.to_rfc3339());
        assert_eq!(at("24h").ok().as_deref(), Some("2026-11-23T12:30:00+00:00"));
        assert_eq!(at("90m").ok().as_deref(), Some("2026-11-24T11:00:00+00:00"));
        assert_eq!(at("7d").ok().as_deref(), Some("2026-11-17T12:30:00+00:00"));
        assert_eq!(at("1w").ok().as_deref(), Some("2026-11-17T12:30:00+00:00"));
        assert_eq!(
            at("2026-11-23").ok().as_deref(),
            Some("2026-11-23T00:00:00+00:00")
        );
        assert_eq!(
            at("2026-11-23T05:00:00+02:00").ok().as_deref(),
            Some("2026-11-23T03:00:00+00:00")
        );
        for bad in ["", "h", "24", "24x", "-1d", "yesterday"] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tail_filter_sql_quotes_values_and_prunes_days() {
        let filter = TailFilter {
            source: Source::CloudTrail,
            actor: Some("o'brien".into()),
            action: Some("ConsoleLogin".into()),
            since: Some(now()),
            limit: 20,
        };
        assert_eq!(
            filter.to_sql(),
            "SELECT time, actor, action, outcome, src_ip, region, account, resource, error_code \
             FROM cloudtrail WHERE dt >= '2026-11-24' AND time >= TIMESTAMP '2026-11-24T12:30:00.000000Z' \
             AND strpos(actor, 'o''brien') > 0 AND action = 'ConsoleLogin' ORDER BY time DESC LIMIT 20"
        );
    }

    #[test]
    fn events_view_lists_every_source() {
        let sql = events_view_sql();
        assert!(sql.starts_with(
            "CREATE VIEW events AS SELECT 'cloudtrail' AS source, time, actor, action, outcome, \
             src_ip, user_agent, region, account, resource, request_id, error_code, raw, dt \
             FROM cloudtrail UNION ALL SELECT 'k8s_audit' AS source, "
        ));
        for source in Source::ALL {
            assert!(sql.contains(&format!(" FROM {}", source.name())), "{sql}");
        }
    }
}
