//! Application logs as JSON lines: one JSON object per line, with the
//! fields named however the application names them.
//!
//! A [`JsonMapping`] says which keys hold the time, level, message, request
//! id, user id and the other normalised fields; each target has a list of
//! candidate keys tried in order (a dotted key such as `http.client_ip`
//! looks into nested objects, and is also tried as a literal key). The
//! defaults cover the common loggers (logrus, zap, zerolog, pino, bunyan,
//! structlog, ECS, serilog's compact format), and `--field target=key[,key]`
//! replaces a target's keys.
//!
//! A line must be a JSON object with a readable time; anything else goes to
//! the quarantine.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cloudtrail::Parsed;
use crate::quarantine::Problem;
use crate::schema::{Event, ExtraColumn, ExtraKind, ExtraValue, Outcome};

/// The application log columns, after the normalised ones.
pub(crate) const EXTRA_COLUMNS: &[ExtraColumn] = &[
    ExtraColumn {
        name: "level",
        kind: ExtraKind::Text,
        doc: "the mapped `level` key, lower-cased (`info`, `warn`, `error`; numeric pino/bunyan levels are named)",
    },
    ExtraColumn {
        name: "message",
        kind: ExtraKind::Text,
        doc: "the mapped `message` key",
    },
    ExtraColumn {
        name: "user_id",
        kind: ExtraKind::Text,
        doc: "the mapped `user_id` key (numbers written as text)",
    },
    ExtraColumn {
        name: "service",
        kind: ExtraKind::Text,
        doc: "the mapped `service` key (the application or logger name)",
    },
];

/// The targets a [`JsonMapping`] fills, in documentation order.
pub const TARGETS: [&str; 14] = [
    "time",
    "level",
    "message",
    "request_id",
    "user_id",
    "actor",
    "action",
    "outcome",
    "src_ip",
    "user_agent",
    "resource",
    "error_code",
    "service",
    "region",
];

/// Which keys of an application's JSON lines hold which field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonMapping {
    /// Target (one of [`TARGETS`]) to candidate keys, tried in order.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Default for JsonMapping {
    fn default() -> Self {
        let defaults: [(&str, &[&str]); 14] = [
            (
                "time",
                &[
                    "time",
                    "timestamp",
                    "@timestamp",
                    "ts",
                    "datetime",
                    "date",
                    "@t",
                    "t",
                ],
            ),
            (
                "level",
                &["level", "severity", "lvl", "log.level", "@l", "levelname"],
            ),
            ("message", &["message", "msg", "@m", "@mt", "event", "text"]),
            (
                "request_id",
                &[
                    "request_id",
                    "requestId",
                    "req_id",
                    "reqId",
                    "http.request_id",
                    "trace_id",
                    "traceId",
                    "trace.id",
                ],
            ),
            (
                "user_id",
                &["user_id", "userId", "user.id", "uid", "usr.id", "user"],
            ),
            (
                "actor",
                &[
                    "actor",
                    "user.name",
                    "username",
                    "user_name",
                    "principal",
                    "email",
                ],
            ),
            (
                "action",
                &[
                    "action",
                    "event.action",
                    "event_name",
                    "eventName",
                    "operation",
                ],
            ),
            (
                "outcome",
                &[
                    "outcome",
                    "event.outcome",
                    "result",
                    "status",
                    "status_code",
                    "http.status_code",
                    "statusCode",
                ],
            ),
            (
                "src_ip",
                &[
                    "src_ip",
                    "client_ip",
                    "clientIp",
                    "remote_addr",
                    "remote_ip",
                    "source.ip",
                    "client.ip",
                    "ip",
                    "http.client_ip",
                ],
            ),
            (
                "user_agent",
                &[
                    "user_agent",
                    "userAgent",
                    "http.user_agent",
                    "user_agent.original",
                    "ua",
                ],
            ),
            (
                "resource",
                &[
                    "resource",
                    "path",
                    "url",
                    "uri",
                    "url.path",
                    "http.path",
                    "http.url",
                    "route",
                ],
            ),
            (
                "error_code",
                &[
                    "error_code",
                    "errorCode",
                    "error.code",
                    "error.type",
                    "err_code",
                ],
            ),
            (
                "service",
                &[
                    "service",
                    "service.name",
                    "app",
                    "application",
                    "logger",
                    "name",
                ],
            ),
            ("region", &["region", "cloud.region"]),
        ];
        JsonMapping {
            fields: defaults
                .into_iter()
                .map(|(target, keys)| {
                    (
                        target.to_string(),
                        keys.iter().map(|k| k.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }
}

impl JsonMapping {
    /// Replaces a target's keys from `target=key[,key...]` (the CLI's `--field`).
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (target, keys) = assignment
            .split_once('=')
            .ok_or_else(|| format!("`{assignment}`: expected TARGET=KEY[,KEY...]"))?;
        let target = target.trim();
        if !TARGETS.contains(&target) {
            return Err(format!(
                "`{target}` is not a field that can be mapped; known: {}",
                TARGETS.join(", ")
            ));
        }
        let keys: Vec<String> = keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            return Err(format!("`{assignment}`: no key given for {target}"));
        }
        self.fields.insert(target.to_string(), keys);
        Ok(())
    }

    fn keys(&self, target: &str) -> &[String] {
        self.fields.get(target).map_or(&[], Vec::as_slice)
    }
}

/// Parses the (decompressed) content of one JSON lines file.
pub fn parse<'a>(content: &'a [u8], mapping: &JsonMapping) -> Parsed<'a> {
    let mut parsed = Parsed::default();
    let mut offset = 0usize;
    for (index, line) in content.split(|b| *b == b'\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let index = index as u64;
        let result = match serde_json::from_slice::<Value>(trimmed) {
            Ok(Value::Object(object)) => normalise(&object, trimmed, mapping),
            Ok(_) => Err("line is not a JSON object".to_string()),
            Err(error) if error.is_eof() => {
                Err(format!("line is incomplete (truncated?): {error}"))
            }
            Err(error) => Err(format!("line is not valid JSON: {error}")),
        };
        match result {
            Ok(event) => parsed.events.push(event),
            Err(reason) => {
                parsed
                    .problems
                    .push(Problem::record(index, start as u64, reason, trimmed))
            }
        }
    }
    parsed
}

/// The value at `key`: a literal key first, then a dotted path.
fn lookup<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(value) = object.get(key) {
        return Some(value);
    }
    let mut parts = key.split('.');
    let mut current = object.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// The first mapped key with a usable value, as text (numbers and booleans
/// as written; objects and arrays are not text).
fn text(object: &Map<String, Value>, mapping: &JsonMapping, target: &str) -> Option<String> {
    mapping
        .keys(target)
        .iter()
        .find_map(|key| match lookup(object, key)? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
}

fn normalise<'a>(
    object: &Map<String, Value>,
    raw: &'a [u8],
    mapping: &JsonMapping,
) -> Result<Event<'a>, String> {
    let (time_key, time_value) = mapping
        .keys("time")
        .iter()
        .find_map(|key| lookup(object, key).map(|value| (key, value)))
        .ok_or_else(|| {
            format!(
                "missing time (looked for {})",
                mapping.keys("time").join(", ")
            )
        })?;
    let time = parse_time_value(time_value).ok_or_else(|| {
        format!(
            "{time_key} `{}` is not a time",
            cut(&time_value.to_string())
        )
    })?;

    let level = mapping
        .keys("level")
        .iter()
        .find_map(|key| lookup(object, key))
        .and_then(level_name);
    let message = text(object, mapping, "message");
    let user_id = text(object, mapping, "user_id");
    let failed = mapping
        .keys("outcome")
        .iter()
        .find_map(|key| lookup(object, key))
        .and_then(is_failure);
    let error_code = text(object, mapping, "error_code");
    let outcome = match (failed, &error_code) {
        (Some(true), _) | (None, Some(_)) => Outcome::Failure,
        _ => Outcome::Success,
    };
    let action = text(object, mapping, "action")
        .or_else(|| message.clone())
        .unwrap_or_else(|| "log".to_string());
    let src_ip = text(object, mapping, "src_ip").filter(|ip| ip.parse::<IpAddr>().is_ok());
    let mapped = |target| text(object, mapping, target).map(Cow::Owned);
    Ok(Event {
        time,
        actor: mapped("actor").or_else(|| user_id.clone().map(Cow::Owned)),
        action: Cow::Owned(action),
        outcome,
        src_ip: src_ip.map(Cow::Owned),
        user_agent: mapped("user_agent"),
        region: mapped("region"),
        account: None,
        resource: mapped("resource"),
        request_id: mapped("request_id"),
        error_code: error_code.map(Cow::Owned),
        extra: vec![
            ExtraValue::Text(level.map(Cow::Owned)),
            ExtraValue::Text(message.map(Cow::Owned)),
            ExtraValue::Text(user_id.map(Cow::Owned)),
            ExtraValue::Text(mapped("service")),
        ],
        raw: crate::lenient::raw_text(raw),
    })
}

fn cut(text: &str) -> String {
    text.chars().take(64).collect()
}

/// A time as applications log it: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]`
/// (UTC), or a Unix epoch number or numeric string in seconds,
/// milliseconds, microseconds or nanoseconds (told apart by magnitude).
pub(crate) fn parse_time_value(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(text) => parse_time_text(text.trim()),
        Value::Number(number) => number.as_f64().and_then(from_epoch),
        _ => None,
    }
}

fn parse_time_text(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(time) = DateTime::parse_from_str(text, format) {
            return Some(time.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S,%f",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return text.parse::<f64>().ok().and_then(from_epoch);
    }
    None
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds by magnitude
/// (a seconds value above 10^11 would be after the year 5000).
fn from_epoch(number: f64) -> Option<DateTime<Utc>> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let micros = if number < 1e11 {
        number * 1e6
    } else if number < 1e14 {
        number * 1e3
    } else if number < 1e17 {
        number
    } else {
        number / 1e3
    };
    Utc.timestamp_micros(micros as i64).single()
}

/// A level as text, lower-cased; pino/bunyan's numbers (10 trace ... 60 fatal) named.
fn level_name(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(match n.as_i64() {
            Some(10) => "trace".to_string(),
            Some(20) => "debug".to_string(),
            Some(30) => "info".to_string(),
            Some(40) => "warn".to_string(),
            Some(50) => "error".to_string(),
            Some(60) => "fatal".to_string(),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

/// Whether an outcome value says the action failed: `failure`, `failed`,
/// `error`, `denied`, `false`, or an HTTP status of 400 or more.
fn is_failure(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(ok) => Some(!ok),
        Value::Number(n) => n.as_i64().map(|code| code >= 400),
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            if let Ok(code) = s.parse::<i64>() {
                return Some(code >= 400);
            }
            match s.as_str() {
                "failure" | "failed" | "fail" | "error" | "denied" | "deny" | "false"
                | "rejected" => Some(true),
                "" | "unknown" => None,
                _ => Some(false),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Event<'_>, String> {
        let parsed = parse(line.as_bytes(), &JsonMapping::default());
        match (
            parsed.events.into_iter().next(),
            parsed.problems.into_iter().next(),
        ) {
            (Some(event), None) => Ok(event),
            (_, Some(problem)) => Err(problem.reason),
            (None, None) => Err("nothing".into()),
        }
    }

    #[test]
    fn common_logger_shapes_are_mapped() {
        let event = one(r#"{"time":"2026-11-23T08:00:00.5Z","level":"WARN","msg":"login failed","request_id":"r-1","user_id":42,"client_ip":"198.51.100.7","status":401,"path":"/login","service":"api"}"#)
            .expect("a zap/logrus line");
        assert_eq!(event.time.to_rfc3339(), "2026-11-23T08:00:00.500+00:00");
        assert_eq!(event.actor.as_deref(), Some("42"));
        assert_eq!(event.action, "login failed");
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(event.src_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(event.resource.as_deref(), Some("/login"));
        assert_eq!(event.request_id.as_deref(), Some("r-1"));
        assert_eq!(
            event.extra,
            vec![
                ExtraValue::Text(Some("warn".into())),
                ExtraValue::Text(Some("login failed".into())),
                ExtraValue::Text(Some("42".into())),
                ExtraValue::Text(Some("api".into())),
            ]
        );

        // pino: epoch milliseconds, numeric level, nested request id.
        let event = one(r#"{"level":30,"time":1795420800123,"msg":"ok","http":{"request_id":"abc"},"action":"checkout"}"#)
            .expect("a pino line");
        assert_eq!(event.time.to_rfc3339(), "2026-11-23T08:00:00.123+00:00");
        assert_eq!(event.extra[0], ExtraValue::Text(Some("info".into())));
        assert_eq!(event.request_id.as_deref(), Some("abc"));
        assert_eq!(event.action, "checkout");
        assert_eq!(event.outcome, Outcome::Success);

        // ECS: dotted keys as nested objects and as literal keys.
        let event = one(r#"{"@timestamp":"2026-11-23 08:00:00","log.level":"error","message":"x","event":{"action":"user-delete","outcome":"failure"},"user":{"id":"u1","name":"alice"}}"#)
            .expect("an ECS line");
        assert_eq!(event.action, "user-delete");
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(event.actor.as_deref(), Some("alice"));
        assert_eq!(event.extra[0], ExtraValue::Text(Some("error".into())));
        assert_eq!(event.extra[2], ExtraValue::Text(Some("u1".into())));
    }

    #[test]
    fn a_custom_mapping_replaces_the_defaults() {
        let mut mapping = JsonMapping::default();
        mapping.set("time=when").expect("valid");
        mapping.set("user_id = who , uid").expect("valid");
        let parsed = parse(
            br#"{"when":"2026-11-23T08:00:00Z","time":"not used","uid":"7"}"#,
            &mapping,
        );
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(parsed.events[0].actor.as_deref(), Some("7"));
        assert!(mapping.set("colour=x").is_err());
        assert!(mapping.set("time").is_err());
        assert!(mapping.set("time=").is_err());
    }

    #[test]
    fn bad_lines_are_problems_and_good_ones_are_kept() {
        let content = "{\"time\":\"2026-11-23T08:00:00Z\",\"msg\":\"a\"}\n\
                       not json\n\
                       [1,2]\n\
                       {\"msg\":\"no time\"}\n\
                       {\"time\":\"yesterday\"}\n\
                       \n\
                       {\"time\":1795420800,\"msg\":\"b\"}\n\
                       {\"time\":\"2026-11-23T08:00:00Z\",\"msg\":\"cut";
        let parsed = parse(content.as_bytes(), &JsonMapping::default());
        assert_eq!(parsed.events.len(), 2);
        let reasons: Vec<(Option<u64>, String)> = parsed
            .problems
            .iter()
            .map(|p| (p.record_index, p.reason.clone()))
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert_eq!(reasons[0].0, Some(1));
        assert!(reasons[0].1.starts_with("line is not valid JSON"));
        assert_eq!(
            reasons[1],
            (Some(2), "line is not a JSON object".to_string())
        );
        assert_eq!(reasons[2].0, Some(3));
        assert!(reasons[2]
            .1
            .starts_with("missing time (looked for time, timestamp"));
        assert_eq!(
            reasons[3],
            (Some(4), "time `\"yesterday\"` is not a time".to_string())
        );
        assert_eq!(reasons[4].0, Some(7));
        assert!(reasons[4].1.contains("truncated"));
        assert_eq!(parsed.problems[1].byte_offset, Some(51));
    }
}
