//! Kubernetes API server audit logs: JSON lines, one `audit.k8s.io/v1`
//! `Event` per line, as the API server's log backend writes them.
//!
//! Each line stands alone, so a bad line loses only itself. The API server
//! logs a request once per stage it reaches (`RequestReceived`,
//! `ResponseStarted`, `ResponseComplete`, `Panic`, as configured by the audit
//! policy); every line is kept, and the `stage` column tells them apart.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::cloudtrail::Parsed;
use crate::quarantine::Problem;
use crate::schema::{Event, ExtraColumn, ExtraKind, ExtraValue, Outcome};

/// The Kubernetes audit columns, after the normalised ones.
pub(crate) const EXTRA_COLUMNS: &[ExtraColumn] = &[
    ExtraColumn {
        name: "stage",
        kind: ExtraKind::Text,
        doc: "`stage` (`RequestReceived`, `ResponseStarted`, `ResponseComplete`, `Panic`)",
    },
    ExtraColumn {
        name: "level",
        kind: ExtraKind::Text,
        doc: "`level` (`Metadata`, `Request`, `RequestResponse`)",
    },
    ExtraColumn {
        name: "object_resource",
        kind: ExtraKind::Text,
        doc: "`objectRef.resource` (`pods`, `secrets`, `clusterrolebindings`)",
    },
    ExtraColumn {
        name: "object_subresource",
        kind: ExtraKind::Text,
        doc: "`objectRef.subresource` (`exec`, `log`, `status`)",
    },
    ExtraColumn {
        name: "object_namespace",
        kind: ExtraKind::Text,
        doc: "`objectRef.namespace`",
    },
    ExtraColumn {
        name: "object_name",
        kind: ExtraKind::Text,
        doc: "`objectRef.name`",
    },
    ExtraColumn {
        name: "user_groups",
        kind: ExtraKind::Text,
        doc: "`user.groups`, comma-separated",
    },
    ExtraColumn {
        name: "impersonated_user",
        kind: ExtraKind::Text,
        doc: "`impersonatedUser.username`",
    },
    ExtraColumn {
        name: "response_code",
        kind: ExtraKind::Int,
        doc: "`responseStatus.code` (HTTP status)",
    },
    ExtraColumn {
        name: "decision",
        kind: ExtraKind::Text,
        doc: "the `authorization.k8s.io/decision` annotation (`allow`, `forbid`)",
    },
];

/// Parses the (decompressed) content of one audit log file.
pub fn parse(content: &[u8]) -> Parsed<'_> {
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
        let value: Value = match serde_json::from_slice(trimmed) {
            Ok(value) => value,
            Err(error) => {
                let reason = if error.is_eof() {
                    format!("line is incomplete (truncated?): {error}")
                } else {
                    format!("line is not valid JSON: {error}")
                };
                parsed
                    .problems
                    .push(Problem::record(index, start as u64, reason, trimmed));
                continue;
            }
        };
        match normalise(&value, trimmed) {
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

fn text<'a>(object: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    object?
        .get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn object<'a>(parent: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Map<String, Value>> {
    parent?.get(key)?.as_object()
}

fn owned(value: Option<&str>) -> Option<Cow<'static, str>> {
    value.map(|value| Cow::Owned(value.to_string()))
}

fn normalise<'a>(value: &Value, raw: &'a [u8]) -> Result<Event<'a>, String> {
    let event = Some(
        value
            .as_object()
            .ok_or_else(|| "line is not a JSON object".to_string())?,
    );
    if text(event, "kind") != Some("Event") {
        return Err("not an audit Event (`kind` is not `Event`)".to_string());
    }
    let time_text = text(event, "requestReceivedTimestamp")
        .or_else(|| text(event, "stageTimestamp"))
        .ok_or_else(|| "missing requestReceivedTimestamp and stageTimestamp".to_string())?;
    let time = DateTime::parse_from_rfc3339(time_text)
        .map_err(|error| format!("timestamp `{time_text}` is not an RFC 3339 time: {error}"))?
        .with_timezone(&Utc);
    let verb = text(event, "verb").ok_or_else(|| "missing verb".to_string())?;

    let user = object(event, "user");
    let object_ref = object(event, "objectRef");
    let status = object(event, "responseStatus");
    let code = status.and_then(|s| s.get("code")).and_then(Value::as_i64);
    let decision = text(
        object(event, "annotations"),
        "authorization.k8s.io/decision",
    );
    let failed = code.is_some_and(|c| c >= 400) || decision == Some("forbid");
    let outcome = if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let error_code = if failed {
        text(status, "reason")
            .map(str::to_string)
            .or_else(|| code.map(|c| c.to_string()))
            .or_else(|| Some("Forbidden".to_string()))
    } else {
        None
    };
    let src_ip = event
        .and_then(|e| e.get("sourceIPs"))
        .and_then(Value::as_array)
        .and_then(|ips| ips.first())
        .and_then(Value::as_str)
        .filter(|ip| ip.parse::<IpAddr>().is_ok());
    let resource = text(event, "requestURI").map(|uri| uri.split('?').next().unwrap_or(uri));
    let groups = user
        .and_then(|u| u.get("groups"))
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|g| !g.is_empty());

    Ok(Event {
        time,
        actor: owned(text(user, "username")),
        action: Cow::Owned(verb.to_string()),
        outcome,
        src_ip: owned(src_ip),
        user_agent: owned(text(event, "userAgent")),
        region: None,
        account: None,
        resource: owned(resource),
        request_id: owned(text(event, "auditID")),
        error_code: error_code.map(Cow::Owned),
        extra: vec![
            ExtraValue::Text(owned(text(event, "stage"))),
            ExtraValue::Text(owned(text(event, "level"))),
            ExtraValue::Text(owned(text(object_ref, "resource"))),
            ExtraValue::Text(owned(text(object_ref, "subresource"))),
            ExtraValue::Text(owned(text(object_ref, "namespace"))),
            ExtraValue::Text(owned(text(object_ref, "name"))),
            ExtraValue::Text(groups.map(Cow::Owned)),
            ExtraValue::Text(owned(text(object(event, "impersonatedUser"), "username"))),
            ExtraValue::Int(code),
            ExtraValue::Text(owned(decision)),
        ],
        raw: crate::lenient::raw_text(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/shop/pods/api-0/exec?command=sh&container=api&stdin=true&tty=true","verb":"create","user":{"username":"alice@example.com","groups":["dev","system:authenticated"]},"sourceIPs":["198.51.100.7"],"userAgent":"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46","objectRef":{"resource":"pods","namespace":"shop","name":"api-0","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-24T09:00:00.123456Z","stageTimestamp":"2026-11-24T09:00:00.200000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"dev\""}}"#;

    #[test]
    fn an_exec_into_a_pod_is_normalised() {
        let parsed = parse(EXEC.as_bytes());
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let event = &parsed.events[0];
        assert_eq!(event.time.to_rfc3339(), "2026-11-24T09:00:00.123456+00:00");
        assert_eq!(event.actor.as_deref(), Some("alice@example.com"));
        assert_eq!(event.action, "create");
        assert_eq!(event.outcome, Outcome::Success);
        assert_eq!(event.src_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(
            event.resource.as_deref(),
            Some("/api/v1/namespaces/shop/pods/api-0/exec")
        );
        assert_eq!(event.request_id.as_deref(), Some("a1"));
        assert_eq!(event.error_code, None);
        assert_eq!(event.extra[3], ExtraValue::Text(Some("exec".into())));
        assert_eq!(
            event.extra[6],
            ExtraValue::Text(Some("dev,system:authenticated".into()))
        );
        assert_eq!(event.extra[8], ExtraValue::Int(Some(101)));
        assert_eq!(event.raw, EXEC);
    }

    #[test]
    fn bad_lines_are_problems_and_the_rest_is_kept() {
        let forbidden = EXEC
            .replace(
                r#""code":101"#,
                r#""status":"Failure","reason":"Forbidden","code":403"#,
            )
            .replace("\"allow\"", "\"forbid\"");
        let no_verb = EXEC.replace(r#""verb":"create","#, "");
        let list = r#"{"kind":"EventList","items":[]}"#;
        let content = format!(
            "{EXEC}\n\n{{\"kind\":\"Event\",\n{no_verb}\n{forbidden}\r\n{list}\n[1]\n{}",
            &EXEC[..50]
        );
        let parsed = parse(content.as_bytes());
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.events[1].outcome, Outcome::Failure);
        assert_eq!(parsed.events[1].error_code.as_deref(), Some("Forbidden"));
        let problems: Vec<(Option<u64>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.record_index, p.reason.as_str()))
            .collect();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert_eq!(problems[0].0, Some(2));
        assert!(
            problems[0].1.starts_with("line is incomplete"),
            "{problems:?}"
        );
        assert_eq!(problems[1], (Some(3), "missing verb"));
        assert_eq!(
            problems[2],
            (Some(5), "not an audit Event (`kind` is not `Event`)")
        );
        assert_eq!(problems[3], (Some(6), "line is not a JSON object"));
        assert_eq!(problems[4].0, Some(7));
        let third_line_start = EXEC.len() + 2;
        assert_eq!(
            parsed.problems[0].byte_offset,
            Some(third_line_start as u64)
        );
    }
}
