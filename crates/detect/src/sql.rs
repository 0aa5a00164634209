//! Scheduled SQL detections: a query over the lake, a window, a threshold
//! and the columns that name the entity.
//!
//! ```yaml
//! title: Burst of AccessDenied errors from one principal
//! name: aws_access_denied_burst
//! level: medium
//! window: 1h
//! query: |
//!   SELECT actor, date_bin({window}, time, TIMESTAMP '1970-01-01T00:00:00Z') AS bucket,
//!          count(*) AS count, min(time) AS first_time, max(time) AS last_time,
//!          array_agg(event_id) AS event_ids
//!   FROM cloudtrail WHERE {range} AND error_code = 'AccessDenied'
//!   GROUP BY actor, bucket
//! threshold: { field: count, gte: 20 }
//! group-by: [actor]
//! ```
//!
//! The query runs read-only through the lake's DataFusion session.
//! Placeholders: `{range}` (a `dt` and `time` filter for the run's range,
//! so only those partitions are read), `{start}` and `{end}` (timestamp
//! literals) and `{window}` (an interval literal). A row matches when the
//! threshold holds for its `field`; the optional columns `first_time`,
//! `last_time`, `count` and `event_ids` fill in the alert.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::util::display::array_value_to_string;
use palisade_lake::Lake;
use serde::Serialize;
use serde_norway::{Mapping, Value};

use crate::correlation::{parse_timespan, MAX_EVENT_IDS};
use crate::engine::RuleSet;
use crate::error::{Error, Result};

/// A compiled SQL detection.
#[derive(Debug, Clone)]
pub(crate) struct SqlDetection {
    pub info: usize,
    query: String,
    /// Microseconds.
    pub window: i64,
    threshold_field: String,
    threshold: Vec<(String, f64)>,
    group_by: Vec<String>,
}

/// A row of a SQL detection over its threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    pub group: BTreeMap<String, String>,
    pub first_time: i64,
    pub last_time: i64,
    pub count: u64,
    pub event_ids: Vec<String>,
}

pub(crate) fn parse(spec: &Mapping) -> Result<SqlDetection, String> {
    let query = spec
        .get("query")
        .and_then(Value::as_str)
        .ok_or("`query` must be a string")?
        .to_string();
    let window = parse_timespan(
        spec.get("window")
            .and_then(Value::as_str)
            .ok_or("missing `window`")?,
    )?;
    let Some(Value::Mapping(threshold)) = spec.get("threshold") else {
        return Err("missing `threshold` (for example `{ field: count, gte: 20 }`)".into());
    };
    let mut threshold_field = "count".to_string();
    let mut comparisons = Vec::new();
    for (key, value) in threshold {
        let key = key.as_str().unwrap_or_default();
        if key == "field" {
            threshold_field = value
                .as_str()
                .ok_or("`threshold.field` must be a column name")?
                .to_string();
            continue;
        }
        if !["gt", "gte", "lt", "lte", "eq", "neq"].contains(&key) {
            return Err(format!("unknown threshold operator `{key}`"));
        }
        let number = value
            .as_f64()
            .ok_or_else(|| format!("threshold `{key}` needs a number"))?;
        comparisons.push((key.to_string(), number));
    }
    if comparisons.is_empty() {
        return Err("`threshold` has no comparison".into());
    }
    let group_by = match spec.get("group-by") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    if !query.contains("{range}") && !query.contains("{start}") {
        return Err(
            "the query must filter on the run's range with `{range}` (or `{start}`/`{end}`)".into(),
        );
    }
    Ok(SqlDetection {
        info: 0,
        query,
        window,
        threshold_field,
        threshold: comparisons,
        group_by,
    })
}

fn timestamp(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

impl SqlDetection {
    /// The query with its placeholders filled for `[start, end)`.
    pub(crate) fn sql(&self, start: i64, end: i64) -> String {
        let day = |micros: i64| {
            DateTime::<Utc>::from_timestamp_micros(micros)
                .unwrap_or_default()
                .format("%Y-%m-%d")
                .to_string()
        };
        let range = format!(
            "dt >= '{}' AND dt <= '{}' AND time >= TIMESTAMP '{}' AND time < TIMESTAMP '{}'",
            day(start),
            day(end),
            timestamp(start),
            timestamp(end)
        );
        self.query
            .replace("{range}", &range)
            .replace("{start}", &format!("TIMESTAMP '{}'", timestamp(start)))
            .replace("{end}", &format!("TIMESTAMP '{}'", timestamp(end)))
            .replace(
                "{window}",
                &format!("INTERVAL '{} seconds'", self.window / 1_000_000),
            )
    }

    fn holds(&self, value: f64) -> bool {
        self.threshold.iter().all(|(op, want)| match op.as_str() {
            "gt" => value > *want,
            "gte" => value >= *want,
            "lt" => value < *want,
            "lte" => value <= *want,
            "eq" => value == *want,
            _ => value != *want,
        })
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.schema().index_of(name).ok().map(|i| batch.column(i))
}

fn number(array: &ArrayRef, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return None;
    }
    let cast = datafusion::arrow::compute::cast(&array.slice(row, 1), &DataType::Float64).ok()?;
    Some(cast.as_primitive::<Float64Type>().value(0))
}

fn micros(array: &ArrayRef, row: usize) -> Option<i64> {
    if array.is_null(row) {
        return None;
    }
    let cast = datafusion::arrow::compute::cast(
        &array.slice(row, 1),
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )
    .ok()?;
    Some(cast.as_primitive::<TimestampMicrosecondType>().value(0))
}

fn strings(array: &ArrayRef, row: usize) -> Vec<String> {
    if array.is_null(row) {
        return Vec::new();
    }
    match array.data_type() {
        DataType::List(_) => {
            let values = array.as_list::<i32>().value(row);
            (0..values.len())
                .filter(|i| values.is_valid(*i))
                .filter_map(|i| array_value_to_string(&values, i).ok())
                .collect()
        }
        DataType::LargeList(_) => {
            let values = array.as_list::<i64>().value(row);
            (0..values.len())
                .filter(|i| values.is_valid(*i))
                .filter_map(|i| array_value_to_string(&values, i).ok())
                .collect()
        }
        _ => array_value_to_string(array, row)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl RuleSet {
    /// Runs every SQL detection over `[start, end)` (microseconds).
    pub async fn run_sql(&self, lake: &Lake, start: i64, end: i64) -> Result<Vec<SqlMatch>> {
        let mut out = Vec::new();
        for detection in &self.sql {
            let rule = &self.rules[detection.info];
            let sql = detection.sql(start, end);
            tracing::debug!(rule = %rule.key, %sql, "SQL detection");
            let result = lake.query(&sql).await.map_err(|e| Error::SqlDetection {
                rule: rule.key.clone(),
                reason: e.to_string(),
            })?;
            for batch in &result.batches {
                let Some(value_column) = column(batch, &detection.threshold_field) else {
                    return Err(Error::SqlDetection {
                        rule: rule.key.clone(),
                        reason: format!(
                            "the query returns no column `{}`",
                            detection.threshold_field
                        ),
                    });
                };
                for row in 0..batch.num_rows() {
                    let Some(value) = number(value_column, row) else {
                        continue;
                    };
                    if !detection.holds(value) {
                        continue;
                    }
                    let group = detection
                        .group_by
                        .iter()
                        .map(|name| {
                            let text = column(batch, name)
                                .filter(|c| c.is_valid(row))
                                .and_then(|c| array_value_to_string(c, row).ok())
                                .unwrap_or_default();
                            (name.clone(), text)
                        })
                        .collect();
                    let first_time = column(batch, "first_time")
                        .and_then(|c| micros(c, row))
                        .unwrap_or(start);
                    let last_time = column(batch, "last_time")
                        .and_then(|c| micros(c, row))
                        .unwrap_or(end);
                    let count = column(batch, "count")
                        .and_then(|c| number(c, row))
                        .unwrap_or(value)
                        .max(0.0) as u64;
                    let mut event_ids = column(batch, "event_ids")
                        .map(|c| strings(c, row))
                        .unwrap_or_default();
                    event_ids.sort();
                    event_ids.dedup();
                    event_ids.truncate(MAX_EVENT_IDS);
                    out.push(SqlMatch {
                        rule: detection.info,
                        group,
                        first_time,
                        last_time,
                        count,
                        event_ids,
                    });
                }
            }
        }
        Ok(out)
    }
}
