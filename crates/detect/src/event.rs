//! Events as the matchers see them: a field lookup and the raw record.
//!
//! Rules name fields the way their log source writes them (`eventName`,
//! `objectRef.resource`); [`crate::FieldMapping`] turns each name into a
//! [`FieldSpec`]: a column of the lake's Parquet files, or a path into the
//! raw JSON record. Every distinct field of a rule set gets a [`FieldId`]
//! once, at compile time, so matching never hashes a field name.

use std::borrow::Cow;
use std::cell::OnceCell;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};

/// Index of a field in a [`FieldTable`].
pub type FieldId = u32;

/// Where the value of a rule's field comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// A column of the source's files, used when the file has it.
    pub column: Option<String>,
    /// A path into the raw JSON record (`userIdentity.arn` is
    /// `["userIdentity", "arn"]`), used when there is no column.
    pub json_path: Vec<String>,
}

/// The distinct fields of one source's rules.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    fields: Vec<FieldSpec>,
}

impl FieldTable {
    /// The id of `spec`, added if new.
    pub fn intern(&mut self, spec: FieldSpec) -> FieldId {
        if let Some(at) = self.fields.iter().position(|f| *f == spec) {
            return at as FieldId;
        }
        self.fields.push(spec);
        (self.fields.len() - 1) as FieldId
    }

    pub fn get(&self, id: FieldId) -> Option<&FieldSpec> {
        self.fields.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The columns the fields read.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| f.column.as_deref())
    }
}

/// One value of a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A JSON object: present, but matches no value.
    Object,
}

impl<'a> Scalar<'a> {
    /// The value as text, as a rule's string values compare against it.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Scalar::Str(s) => Some(Cow::Borrowed(s)),
            Scalar::Int(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Float(f) => Some(Cow::Owned(f.to_string())),
            Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Scalar::Object => None,
        }
    }

    /// The value as a number, for `gt`/`lt` comparisons.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::Int(n) => Some(n as f64),
            Scalar::Float(f) => Some(f),
            Scalar::Bool(_) | Scalar::Object => None,
        }
    }
}

/// What a field lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// No such field in the event (or a null column).
    Missing,
    /// The field is there with a JSON `null`.
    Null,
    One(Scalar<'a>),
    /// An array: a value matches when any element does.
    Many(Vec<Scalar<'a>>),
}

impl<'a> Lookup<'a> {
    /// The values, none for missing or null.
    pub fn values(&self) -> &[Scalar<'a>] {
        match self {
            Lookup::Missing | Lookup::Null => &[],
            Lookup::One(value) => std::slice::from_ref(value),
            Lookup::Many(values) => values,
        }
    }
}

/// One event, as a rule evaluates it.
pub trait Event {
    fn lookup(&self, field: FieldId) -> Lookup<'_>;
    /// The raw record, for keyword searches.
    fn raw(&self) -> Option<&str>;
}

/// Values found at `path` in `value`; arrays along the way fan out, and a
/// key may itself contain dots (`authorization.k8s.io/decision`).
pub fn json_lookup<'v>(value: &'v serde_json::Value, path: &[String]) -> Lookup<'v> {
    let mut found = Vec::new();
    let mut null = false;
    walk(value, path, &mut found, &mut null);
    match found.len() {
        0 if null => Lookup::Null,
        0 => Lookup::Missing,
        1 => Lookup::One(found[0]),
        _ => Lookup::Many(found),
    }
}

fn walk<'v>(
    value: &'v serde_json::Value,
    path: &[String],
    found: &mut Vec<Scalar<'v>>,
    null: &mut bool,
) {
    use serde_json::Value;
    if path.is_empty() {
        match value {
            Value::Null => *null = true,
            Value::Bool(b) => found.push(Scalar::Bool(*b)),
            Value::Number(n) => found.push(match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            }),
            Value::String(s) => found.push(Scalar::Str(s)),
            Value::Array(items) => {
                for item in items {
                    walk(item, path, found, null);
                }
            }
            Value::Object(_) => found.push(Scalar::Object),
        }
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(next) = map.get(&path[0]) {
                walk(next, &path[1..], found, null);
            }
            for take in 2..=path.len() {
                if let Some(next) = map.get(&path[..take].join(".")) {
                    walk(next, &path[take..], found, null);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, path, found, null);
            }
        }
        _ => {}
    }
}

/// An event held as parsed JSON (tests, webhooks of single events).
pub struct JsonEvent<'t> {
    pub value: serde_json::Value,
    pub raw: String,
    pub fields: &'t FieldTable,
}

impl<'t> JsonEvent<'t> {
    pub fn parse(raw: &str, fields: &'t FieldTable) -> Option<JsonEvent<'t>> {
        Some(JsonEvent {
            value: serde_json::from_str(raw).ok()?,
            raw: raw.to_string(),
            fields,
        })
    }
}

impl Event for JsonEvent<'_> {
    fn lookup(&self, field: FieldId) -> Lookup<'_> {
        match self.fields.get(field) {
            Some(spec) => json_lookup(&self.value, &spec.json_path),
            None => Lookup::Missing,
        }
    }

    fn raw(&self) -> Option<&str> {
        Some(&self.raw)
    }
}

/// How one field reads from one batch.
enum Accessor<'b> {
    Str(StringArray),
    Bool(&'b BooleanArray),
    Int(&'b Int64Array),
    Time(&'b TimestampMicrosecondArray),
    Json(&'b [String]),
    Missing,
}

/// A record batch of the lake with every field of a [`FieldTable`]
/// resolved to a column or to the raw JSON.
pub struct BatchView<'b> {
    accessors: Vec<Accessor<'b>>,
    raw: Option<StringArray>,
    time: Option<&'b TimestampMicrosecondArray>,
    event_id: Option<StringArray>,
    rows: usize,
}

fn string_column(array: &ArrayRef) -> Option<StringArray> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View => {
            datafusion::arrow::compute::cast(array, &DataType::Utf8)
                .ok()
                .map(|a| a.as_string::<i32>().clone())
        }
        _ => None,
    }
}

impl<'b> BatchView<'b> {
    pub fn new(batch: &'b RecordBatch, fields: &'b FieldTable) -> BatchView<'b> {
        let schema = batch.schema();
        let column = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i));
        let accessors = fields
            .fields
            .iter()
            .map(|spec| {
                let array = spec.column.as_deref().and_then(column);
                match array {
                    Some(array) => match array.data_type() {
                        DataType::Boolean => Accessor::Bool(array.as_boolean()),
                        DataType::Int64 => Accessor::Int(array.as_primitive::<Int64Type>()),
                        DataType::Timestamp(TimeUnit::Microsecond, _) => {
                            Accessor::Time(array.as_primitive::<TimestampMicrosecondType>())
                        }
                        _ => string_column(array).map_or(Accessor::Missing, Accessor::Str),
                    },
                    None if !spec.json_path.is_empty() => Accessor::Json(&spec.json_path),
                    None => Accessor::Missing,
                }
            })
            .collect();
        let time = column("time").and_then(|a| match a.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Some(a.as_primitive::<TimestampMicrosecondType>())
            }
            _ => None,
        });
        BatchView {
            accessors,
            raw: column(palisade_lake::schema::RAW_COLUMN).and_then(string_column),
            time,
            event_id: column("event_id")
                .or_else(|| column("request_id"))
                .and_then(string_column),
            rows: batch.num_rows(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row `row` as an [`Event`].
    pub fn row(&self, row: usize) -> RowEvent<'_, 'b> {
        RowEvent {
            view: self,
            row,
            json: OnceCell::new(),
        }
    }

    /// The event's time in microseconds since the epoch (0 when unknown).
    pub fn time(&self, row: usize) -> i64 {
        self.time
            .filter(|t| t.is_valid(row))
            .map_or(0, |t| t.value(row))
    }

    /// The event's id (`event_id`, else `request_id`).
    pub fn event_id(&self, row: usize) -> Option<&str> {
        self.event_id
            .as_ref()
            .filter(|a| a.is_valid(row))
            .map(|a| a.value(row))
    }

    /// A string field of the row, if it is a string column.
    pub fn text(&self, field: FieldId, row: usize) -> Option<&str> {
        match self.accessors.get(field as usize)? {
            Accessor::Str(array) if array.is_valid(row) => Some(array.value(row)),
            _ => None,
        }
    }
}

/// One row of a [`BatchView`]; the raw JSON is parsed at most once, and only
/// when a rule asks for a field that has no column.
pub struct RowEvent<'v, 'b> {
    view: &'v BatchView<'b>,
    row: usize,
    json: OnceCell<Option<serde_json::Value>>,
}

impl RowEvent<'_, '_> {
    fn json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| {
                let raw = self.view.raw.as_ref()?;
                if raw.is_null(self.row) {
                    return None;
                }
                serde_json::from_str(raw.value(self.row)).ok()
            })
            .as_ref()
    }
}

impl Event for RowEvent<'_, '_> {
    fn lookup(&self, field: FieldId) -> Lookup<'_> {
        let row = self.row;
        let Some(accessor) = self.view.accessors.get(field as usize) else {
            return Lookup::Missing;
        };
        match accessor {
            Accessor::Str(a) if a.is_valid(row) => Lookup::One(Scalar::Str(a.value(row))),
            Accessor::Bool(a) if a.is_valid(row) => Lookup::One(Scalar::Bool(a.value(row))),
            Accessor::Int(a) if a.is_valid(row) => Lookup::One(Scalar::Int(a.value(row))),
            Accessor::Time(a) if a.is_valid(row) => Lookup::One(Scalar::Int(a.value(row))),
            Accessor::Json(path) => match self.json() {
                Some(value) => json_lookup(value, path),
                None => Lookup::Missing,
            },
            _ => Lookup::Missing,
        }
    }

    fn raw(&self) -> Option<&str> {
        let raw = self.view.raw.as_ref()?;
        raw.is_valid(self.row).then(|| raw.value(self.row))
    }
}
