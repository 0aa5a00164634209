//! AWS CloudTrail log files: `{"Records":[...]}`, as CloudTrail delivers
//! them to S3 under `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`.
//!
//! The reader is tolerant: it walks the `Records` array one element at a
//! time, so a record that is not valid JSON, or a file cut short, loses only
//! the damaged records. After a syntax error it resumes at the next record
//! start (`{"eventVersion"`: CloudTrail writes that key first, and the bytes
//! `{"` cannot occur inside a JSON string).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::quarantine::Problem;
use crate::schema::{Event, ExtraColumn, ExtraKind, ExtraValue, Outcome};

/// CloudTrail's own columns, after the normalised ones.
pub(crate) const EXTRA_COLUMNS: &[ExtraColumn] = &[
    ExtraColumn {
        name: "event_source",
        kind: ExtraKind::Text,
        doc: "`eventSource`, the service called (`iam.amazonaws.com`)",
    },
    ExtraColumn {
        name: "event_type",
        kind: ExtraKind::Text,
        doc: "`eventType` (`AwsApiCall`, `AwsConsoleSignIn`, ...)",
    },
    ExtraColumn {
        name: "event_id",
        kind: ExtraKind::Text,
        doc: "`eventID`, unique per event",
    },
    ExtraColumn {
        name: "identity_type",
        kind: ExtraKind::Text,
        doc: "`userIdentity.type` (`Root`, `IAMUser`, `AssumedRole`, `AWSService`, ...)",
    },
    ExtraColumn {
        name: "access_key_id",
        kind: ExtraKind::Text,
        doc: "`userIdentity.accessKeyId`",
    },
    ExtraColumn {
        name: "user_name",
        kind: ExtraKind::Text,
        doc: "`userIdentity.userName`, else `userIdentity.sessionContext.sessionIssuer.userName`",
    },
    ExtraColumn {
        name: "source_ip_address",
        kind: ExtraKind::Text,
        doc: "`sourceIPAddress` as logged (a service name such as `ec2.amazonaws.com` \
              when AWS called on your behalf; `src_ip` holds only addresses)",
    },
    ExtraColumn {
        name: "error_message",
        kind: ExtraKind::Text,
        doc: "`errorMessage`",
    },
    ExtraColumn {
        name: "read_only",
        kind: ExtraKind::Bool,
        doc: "`readOnly`",
    },
    ExtraColumn {
        name: "mfa",
        kind: ExtraKind::Bool,
        doc: "whether MFA was used: `additionalEventData.MFAUsed` (`Yes`/`No`, console \
              sign-in), else `userIdentity.sessionContext.attributes.mfaAuthenticated`",
    },
];

/// The `requestParameters` keys that name the resource acted on, in the
/// order they are tried when the record has no `resources` list.
pub const RESOURCE_PARAMETERS: &[&str] = &[
    "bucketName",
    "roleArn",
    "userName",
    "roleName",
    "policyArn",
    "groupName",
    "keyId",
    "secretId",
    "functionName",
    "trailName",
    "groupId",
    "name",
];

/// What one CloudTrail object gave.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub problems: Vec<Problem>,
}

/// Parses the (decompressed) content of one CloudTrail log file.
pub fn parse(content: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(mut pos) = records_array_start(content) else {
        parsed.problems.push(Problem {
            record_index: None,
            byte_offset: Some(0),
            reason: "not a CloudTrail log file: no \"Records\" array".to_string(),
            record: Some(String::from_utf8_lossy(&content[..content.len().min(1024)]).into_owned()),
        });
        return parsed;
    };
    let mut index: u64 = 0;
    loop {
        pos = skip_whitespace(content, pos);
        match content.get(pos) {
            None => {
                parsed.problems.push(file_problem(
                    pos,
                    "the file ends inside the Records array (truncated?)".to_string(),
                ));
                break;
            }
            Some(b']') => break,
            Some(_) => {}
        }
        let start = pos;
        let mut stream =
            serde_json::Deserializer::from_slice(&content[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let end = start + stream.byte_offset();
                let text = &content[start..end];
                match normalise(&value, text) {
                    Ok(event) => parsed.events.push(event),
                    Err(reason) => {
                        parsed
                            .problems
                            .push(Problem::record(index, start as u64, reason, text))
                    }
                }
                index += 1;
                pos = skip_whitespace(content, end);
                match content.get(pos) {
                    Some(b',') => pos += 1,
                    Some(b']') => break,
                    None => {
                        parsed.problems.push(file_problem(
                            pos,
                            "the file ends inside the Records array (truncated?)".to_string(),
                        ));
                        break;
                    }
                    Some(other) => {
                        let reason = format!(
                            "expected `,` or `]` after record {}, found `{}`",
                            index - 1,
                            char::from(*other)
                        );
                        match resync(content, pos) {
                            Some(next) => {
                                parsed.problems.push(file_problem(pos, reason));
                                pos = next;
                            }
                            None => {
                                parsed.problems.push(file_problem(
                                    pos,
                                    format!("{reason}; nothing after it could be read"),
                                ));
                                break;
                            }
                        }
                    }
                }
            }
            Some(Err(error)) if error.is_eof() => {
                parsed.problems.push(Problem::record(
                    index,
                    start as u64,
                    "record is incomplete: the file ends inside it (truncated?)".to_string(),
                    &content[start..],
                ));
                break;
            }
            Some(Err(error)) => match resync(content, start + 1) {
                Some(next) => {
                    parsed.problems.push(Problem::record(
                        index,
                        start as u64,
                        format!("record is not valid JSON: {error} (position within the record)"),
                        &content[start..next],
                    ));
                    index += 1;
                    pos = next;
                }
                None => {
                    parsed.problems.push(Problem::record(
                        index,
                        start as u64,
                        format!(
                            "record is not valid JSON: {error} (position within the record); \
                             no record start after it, the rest of the file is unreadable"
                        ),
                        &content[start..],
                    ));
                    break;
                }
            },
            None => break,
        }
    }
    parsed
}

fn file_problem(offset: usize, reason: String) -> Problem {
    Problem {
        record_index: None,
        byte_offset: Some(offset as u64),
        reason,
        record: None,
    }
}

fn skip_whitespace(content: &[u8], mut pos: usize) -> usize {
    while content.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// The position just after the `[` of `"Records": [`.
fn records_array_start(content: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find(content, b"\"Records\"", from) {
        let colon = skip_whitespace(content, at + b"\"Records\"".len());
        if content.get(colon) == Some(&b':') {
            let bracket = skip_whitespace(content, colon + 1);
            if content.get(bracket) == Some(&b'[') {
                return Some(bracket + 1);
            }
        }
        from = at + 1;
    }
    None
}

/// The start of the next record at or after `from`: a `{` followed by the
/// `"eventVersion"` key.
fn resync(content: &[u8], from: usize) -> Option<usize> {
    let mut search = from;
    while let Some(at) = find(content, b"\"eventVersion\"", search) {
        let mut brace = at;
        while brace > from && content[brace - 1].is_ascii_whitespace() {
            brace -= 1;
        }
        if brace > from && content[brace - 1] == b'{' {
            return Some(brace - 1);
        }
        search = at + 1;
    }
    None
}

/// A non-empty string at `key` (CloudTrail writes `""` for unknown values).
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

fn owned(value: Option<&str>) -> Option<String> {
    value.map(str::to_string)
}

/// One record to an [`Event`], or why it cannot be one.
fn normalise(value: &Value, raw: &[u8]) -> Result<Event, String> {
    let record = value
        .as_object()
        .ok_or_else(|| "record is not a JSON object".to_string())?;
    let record = Some(record);
    let time_text = text(record, "eventTime").ok_or_else(|| "missing eventTime".to_string())?;
    let time = DateTime::parse_from_rfc3339(time_text)
        .map_err(|error| format!("eventTime `{time_text}` is not an RFC 3339 time: {error}"))?
        .with_timezone(&Utc);
    let action = text(record, "eventName").ok_or_else(|| "missing eventName".to_string())?;

    let identity = object(record, "userIdentity");
    let session = object(identity, "sessionContext");
    let identity_type = text(identity, "type");
    let actor = text(identity, "arn")
        .or_else(|| {
            (identity_type == Some("AWSService"))
                .then(|| text(identity, "invokedBy"))
                .flatten()
        })
        .or_else(|| text(identity, "userName"))
        .or_else(|| text(identity, "principalId"))
        .or_else(|| text(identity, "invokedBy"));

    let error_code = text(record, "errorCode");
    let console_failure =
        text(object(record, "responseElements"), "ConsoleLogin") == Some("Failure");
    let outcome = if error_code.is_some() || console_failure {
        Outcome::Failure
    } else {
        Outcome::Success
    };

    let source_ip_address = text(record, "sourceIPAddress");
    let src_ip = source_ip_address.filter(|ip| ip.parse::<IpAddr>().is_ok());
    let account = text(record, "recipientAccountId").or_else(|| text(identity, "accountId"));
    let resource = record
        .and_then(|r| r.get("resources"))
        .and_then(Value::as_array)
        .and_then(|resources| {
            resources
                .iter()
                .find_map(|resource| text(resource.as_object(), "ARN"))
        })
        .or_else(|| {
            let parameters = object(record, "requestParameters");
            RESOURCE_PARAMETERS
                .iter()
                .find_map(|key| text(parameters, key))
        });

    let mfa = match text(object(record, "additionalEventData"), "MFAUsed") {
        Some("Yes") => Some(true),
        Some("No") => Some(false),
        _ => match text(object(session, "attributes"), "mfaAuthenticated") {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
    };
    let user_name =
        text(identity, "userName").or_else(|| text(object(session, "sessionIssuer"), "userName"));
    let read_only = record
        .and_then(|r| r.get("readOnly"))
        .and_then(Value::as_bool);

    Ok(Event {
        time,
        actor: owned(actor),
        action: action.to_string(),
        outcome,
        src_ip: owned(src_ip),
        user_agent: owned(text(record, "userAgent")),
        region: owned(text(record, "awsRegion")),
        account: owned(account),
        resource: owned(resource),
        request_id: owned(text(record, "requestID")),
        error_code: owned(error_code),
        extra: vec![
            ExtraValue::Text(owned(text(record, "eventSource"))),
            ExtraValue::Text(owned(text(record, "eventType"))),
            ExtraValue::Text(owned(text(record, "eventID"))),
            ExtraValue::Text(owned(identity_type)),
            ExtraValue::Text(owned(text(identity, "accessKeyId"))),
            ExtraValue::Text(owned(user_name)),
            ExtraValue::Text(owned(source_ip_address)),
            ExtraValue::Text(owned(text(record, "errorMessage"))),
            ExtraValue::Bool(read_only),
            ExtraValue::Bool(mfa),
        ],
        raw: String::from_utf8_lossy(raw).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":"2026-11-23T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e1","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;

    fn wrap(records: &[&str]) -> String {
        format!("{{\"Records\":[{}]}}", records.join(","))
    }

    #[test]
    fn a_failed_console_login_is_normalised() {
        let parsed = parse(wrap(&[LOGIN]).as_bytes());
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let event = &parsed.events[0];
        assert_eq!(event.time.to_rfc3339(), "2026-11-23T08:00:00+00:00");
        assert_eq!(
            event.actor.as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
        assert_eq!(event.action, "ConsoleLogin");
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(event.src_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(event.account.as_deref(), Some("111122223333"));
        assert_eq!(event.resource, None);
        assert_eq!(event.extra[8], ExtraValue::Bool(Some(false)));
        assert_eq!(event.extra[9], ExtraValue::Bool(Some(false)));
        assert_eq!(event.raw, LOGIN);
        assert_eq!(event.day(), "2026-11-23");
    }

    #[test]
    fn records_missing_required_fields_are_problems_and_the_rest_is_kept() {
        let no_time = LOGIN.replace(r#""eventTime":"2026-11-23T08:00:00Z","#, "");
        let no_name = LOGIN.replace(r#""eventName":"ConsoleLogin","#, "");
        let bad_time = LOGIN.replace("2026-11-23T08:00:00Z", "yesterday");
        let parsed = parse(wrap(&[&no_time, LOGIN, &no_name, &bad_time, "42"]).as_bytes());
        assert_eq!(parsed.events.len(), 1);
        let reasons: Vec<(Option<u64>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.record_index, p.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], (Some(0), "missing eventTime"));
        assert_eq!(reasons[1], (Some(2), "missing eventName"));
        assert_eq!(reasons[2].0, Some(3));
        assert!(
            reasons[2].1.starts_with("eventTime `yesterday` is not"),
            "{reasons:?}"
        );
        assert_eq!(reasons[3], (Some(4), "record is not a JSON object"));
        assert_eq!(parsed.problems[0].record.as_deref(), Some(no_time.as_str()));
    }

    #[test]
    fn a_syntax_error_loses_only_the_damaged_record() {
        let broken =
            r#"{"eventVersion":"1.08","eventTime":"2026-11-23T08:00:00Z",,"eventName":"X"}"#;
        let content = wrap(&[LOGIN, broken, LOGIN]);
        let parsed = parse(content.as_bytes());
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.problems.len(), 1);
        let problem = &parsed.problems[0];
        assert_eq!(problem.record_index, Some(1));
        assert_eq!(problem.byte_offset, content.find(broken).map(|o| o as u64));
        assert!(
            problem.reason.starts_with("record is not valid JSON"),
            "{problem:?}"
        );
        assert_eq!(
            problem.record.as_deref().map(|r| r.trim_end_matches(',')),
            Some(broken)
        );
    }

    #[test]
    fn a_file_cut_short_keeps_its_complete_records() {
        let content = wrap(&[LOGIN, LOGIN]);
        let cut = &content[..content.len() - 40];
        let parsed = parse(cut.as_bytes());
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].record_index, Some(1));
        assert!(parsed.problems[0].reason.contains("truncated"));

        let parsed = parse(&content.as_bytes()[..content.len() - 2]);
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].record_index, None);
    }

    #[test]
    fn not_a_cloudtrail_file() {
        let parsed = parse(b"hello world");
        assert!(parsed.events.is_empty());
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].record_index, None);
        assert!(parsed.problems[0].reason.contains("no \"Records\" array"));

        let parsed = parse(br#"{"Records": [ ] }"#);
        assert!(parsed.events.is_empty() && parsed.problems.is_empty());
    }

    #[test]
    fn service_calls_have_no_src_ip_but_keep_the_logged_value() {
        let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventTime":"2026-11-23T09:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","sourceIPAddress":"ec2.amazonaws.com","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/app"},"resources":[{"ARN":"arn:aws:iam::111122223333:role/app2"}]}"#;
        let parsed = parse(wrap(&[record]).as_bytes());
        let event = &parsed.events[0];
        assert_eq!(event.actor.as_deref(), Some("ec2.amazonaws.com"));
        assert_eq!(event.src_ip, None);
        assert_eq!(
            event.extra[6],
            ExtraValue::Text(Some("ec2.amazonaws.com".into()))
        );
        assert_eq!(
            event.resource.as_deref(),
            Some("arn:aws:iam::111122223333:role/app2")
        );
        assert_eq!(event.outcome, Outcome::Success);
    }
}
