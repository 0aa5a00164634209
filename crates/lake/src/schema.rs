//! The normalised event schema every source is written with.
//!
//! A Parquet file of the lake holds the [normalised columns](NORMALISED_COLUMNS),
//! then the source's own columns ([`Source::extra_columns`]), then `raw`, the
//! record exactly as it was read. The Hive partition keys `source` and `dt`
//! are in the path only, as Hive, Athena, Trino and Spark expect; DataFusion
//! adds `dt` back as a column of each source's table. `docs/lake.md` has the
//! reference.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The time zone of the `time` column.
pub const TIME_ZONE: &str = "UTC";
/// The partition column that holds the event's UTC day (`YYYY-MM-DD`).
pub const DAY_PARTITION: &str = "dt";
/// The event time column (UTC), whose day is the `dt` partition.
pub const TIME_COLUMN: &str = "time";
/// The column holding the record as read, as JSON text.
pub const RAW_COLUMN: &str = "raw";

/// The normalised columns, in file order (after them come the source's own
/// columns and `raw`). `time`, `action` and `outcome` are never null.
pub const NORMALISED_COLUMNS: [&str; 11] = [
    "time",
    "actor",
    "action",
    "outcome",
    "src_ip",
    "user_agent",
    "region",
    "account",
    "resource",
    "request_id",
    "error_code",
];

/// A log source: one table of the lake, one `source=<name>` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// AWS CloudTrail log files as delivered to S3.
    CloudTrail,
    /// Kubernetes API server audit logs (JSON lines of `audit.k8s.io/v1` Events).
    K8sAudit,
    /// Application logs as JSON lines, read through a field mapping.
    Json,
    /// Syslog files, RFC 5424 and RFC 3164.
    Syslog,
}

impl Source {
    /// Every source, in the order tables are registered.
    pub const ALL: [Source; 4] = [
        Source::CloudTrail,
        Source::K8sAudit,
        Source::Json,
        Source::Syslog,
    ];

    /// The source's name: its table name and its `source=` partition value.
    pub fn name(self) -> &'static str {
        match self {
            Source::CloudTrail => "cloudtrail",
            Source::K8sAudit => "k8s_audit",
            Source::Json => "json",
            Source::Syslog => "syslog",
        }
    }

    /// The source's own columns, after the normalised ones.
    pub fn extra_columns(self) -> &'static [ExtraColumn] {
        match self {
            Source::CloudTrail => crate::cloudtrail::EXTRA_COLUMNS,
            Source::K8sAudit => crate::k8s_audit::EXTRA_COLUMNS,
            Source::Json => crate::json_lines::EXTRA_COLUMNS,
            Source::Syslog => crate::syslog::EXTRA_COLUMNS,
        }
    }

    /// The schema of the source's Parquet files (without the `dt` partition column).
    pub fn file_schema(self) -> SchemaRef {
        let mut fields = vec![
            Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIME_ZONE.into())),
                false,
            ),
            Field::new("actor", DataType::Utf8, true),
            Field::new("action", DataType::Utf8, false),
            Field::new("outcome", DataType::Utf8, false),
        ];
        fields.extend(
            NORMALISED_COLUMNS[4..]
                .iter()
                .map(|name| Field::new(*name, DataType::Utf8, true)),
        );
        fields.extend(self.extra_columns().iter().map(|column| {
            let data_type = match column.kind {
                ExtraKind::Text => DataType::Utf8,
                ExtraKind::Bool => DataType::Boolean,
                ExtraKind::Int => DataType::Int64,
            };
            Field::new(column.name, data_type, true)
        }));
        fields.push(Field::new(RAW_COLUMN, DataType::Utf8, false));
        Arc::new(Schema::new(fields))
    }

    /// [`Source::file_schema`] with text as views (`Utf8View`): the schema
    /// of the batches ingest builds, whose text points into the objects it
    /// was read from instead of being copied, and of the lake's tables,
    /// whose text then points into Parquet's decoded pages (a dictionary
    /// page is shared instead of expanded per row). The files hold the same
    /// values either way.
    pub fn view_schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .file_schema()
            .fields()
            .iter()
            .map(|field| match field.data_type() {
                DataType::Utf8 => field.as_ref().clone().with_data_type(DataType::Utf8View),
                _ => field.as_ref().clone(),
            })
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A source name that is not one of [`Source::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log source `{0}`; known sources: cloudtrail, k8s_audit, json, syslog")]
pub struct ParseSourceError(pub String);

impl FromStr for Source {
    type Err = ParseSourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| {
                source
                    .name()
                    .eq_ignore_ascii_case(&s.trim().replace('-', "_"))
            })
            .ok_or_else(|| ParseSourceError(s.to_string()))
    }
}

/// A column of one source only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraColumn {
    pub name: &'static str,
    pub kind: ExtraKind,
    /// Where the value comes from, for the schema reference.
    pub doc: &'static str,
}

/// The Arrow type of an [`ExtraColumn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraKind {
    Text,
    Bool,
    Int,
}

/// The value of an [`ExtraColumn`] in one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraValue<'a> {
    Text(Option<Cow<'a, str>>),
    Bool(Option<bool>),
    Int(Option<i64>),
}

/// An RFC 3339 time (`2026-11-23T08:00:00Z`, any offset) in UTC.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc))
}

/// Whether the logged action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// `success` or `failure`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One normalised event, ready to be written. Its text borrows from the
/// object it was read from where it can (a value without JSON escapes, the
/// raw record), so ingest can write it without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub time: DateTime<Utc>,
    pub actor: Option<Cow<'a, str>>,
    pub action: Cow<'a, str>,
    pub outcome: Outcome,
    pub src_ip: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    pub account: Option<Cow<'a, str>>,
    pub resource: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    pub error_code: Option<Cow<'a, str>>,
    /// One value per [`Source::extra_columns`], in that order.
    pub extra: Vec<ExtraValue<'a>>,
    /// The record as read, as JSON text.
    pub raw: Cow<'a, str>,
}

impl Event<'_> {
    /// The event with its text copied, borrowing nothing.
    pub fn into_owned(self) -> Event<'static> {
        fn own(text: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            text.map(|text| Cow::Owned(text.into_owned()))
        }
        Event {
            time: self.time,
            actor: own(self.actor),
            action: Cow::Owned(self.action.into_owned()),
            outcome: self.outcome,
            src_ip: own(self.src_ip),
            user_agent: own(self.user_agent),
            region: own(self.region),
            account: own(self.account),
            resource: own(self.resource),
            request_id: own(self.request_id),
            error_code: own(self.error_code),
            extra: self
                .extra
                .into_iter()
                .map(|value| match value {
                    ExtraValue::Text(text) => ExtraValue::Text(own(text)),
                    ExtraValue::Bool(value) => ExtraValue::Bool(value),
                    ExtraValue::Int(value) => ExtraValue::Int(value),
                })
                .collect(),
            raw: Cow::Owned(self.raw.into_owned()),
        }
    }

    /// The event's `dt` partition value: its UTC day.
    pub fn day(&self) -> String {
        self.time.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_round_trip() {
        for source in Source::ALL {
            assert_eq!(source.name().parse::<Source>(), Ok(source));
        }
        assert_eq!("CloudTrail".parse::<Source>(), Ok(Source::CloudTrail));
        assert_eq!("k8s-audit".parse::<Source>(), Ok(Source::K8sAudit));
        assert_eq!(
            "netflow".parse::<Source>().map_err(|e| e.to_string()),
            Err(
                "unknown log source `netflow`; known sources: cloudtrail, k8s_audit, json, syslog"
                    .to_string()
            )
        );
    }

    #[test]
    fn file_schema_is_normalised_columns_then_extras_then_raw() {
        for source in Source::ALL {
            let schema = source.file_schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(&names[..NORMALISED_COLUMNS.len()], &NORMALISED_COLUMNS[..]);
            assert_eq!(names.last(), Some(&RAW_COLUMN));
            assert_eq!(
                names.len(),
                NORMALISED_COLUMNS.len() + source.extra_columns().len() + 1
            );
            assert!(!names.contains(&DAY_PARTITION), "dt lives in the path only");
        }
    }
}
