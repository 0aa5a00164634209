//! AWS CloudTrail log files: `{"Records":[...]}`, as CloudTrail delivers
//! them to S3 under `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`.
//!
//! The reader is tolerant: it walks the `Records` array one element at a
//! time, so a record that is not valid JSON, or a file cut short, loses only
//! the damaged records. After a syntax error it resumes at the next record
//! start (`{"eventVersion"`: CloudTrail writes that key first, and the bytes
//! `{"` cannot occur inside a JSON string).

use std::borrow::Cow;
use std::net::IpAddr;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::lenient::{Lenient, Scalar, Text};
use crate::quarantine::Problem;
use crate::schema::parse_time;
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
pub struct Parsed<'a> {
    pub events: Vec<Event<'a>>,
    pub problems: Vec<Problem>,
}

/// Parses the (decompressed) content of one CloudTrail log file.
pub fn parse(content: &[u8]) -> Parsed<'_> {
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
        match read_record(content, start) {
            Ok((record, end)) => {
                let text = &content[start..end];
                match record.and_then(|record| normalise(&record, text)) {
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
            Err(error) if error.is_eof() => {
                parsed.problems.push(Problem::record(
                    index,
                    start as u64,
                    "record is incomplete: the file ends inside it (truncated?)".to_string(),
                    &content[start..],
                ));
                break;
            }
            Err(error) => match resync(content, start + 1) {
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
        }
    }
    parsed
}

/// Reads the JSON value at `start`: `Err` when it is not valid JSON; else
/// the record (or why it is not one) and the position just after it.
fn read_record(
    content: &[u8],
    start: usize,
) -> Result<(Result<Record<'_>, String>, usize), serde_json::Error> {
    let rest = &content[start..];
    if rest.first() == Some(&b'{') {
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Record>();
        match stream.next() {
            Some(Ok(record)) => return Ok((Ok(record), start + stream.byte_offset())),
            Some(Err(error)) if !error.is_data() => return Err(error),
            // Valid JSON that does not fit (a duplicate key): find its end below.
            _ => {}
        }
    }
    let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
    match stream.next() {
        Some(Ok(_)) => {
            let reason = if rest.first() == Some(&b'{') {
                "record cannot be read: it repeats a field".to_string()
            } else {
                "record is not a JSON object".to_string()
            };
            Ok((Err(reason), start + stream.byte_offset()))
        }
        Some(Err(error)) => Err(error),
        None => Err(serde::de::Error::custom("no record")),
    }
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

/// The fields of a CloudTrail record the lake reads; everything else stays
/// in `raw` only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    event_time: Text<'a>,
    #[serde(borrow, default)]
    event_name: Text<'a>,
    #[serde(borrow, default)]
    event_source: Text<'a>,
    #[serde(borrow, default)]
    event_type: Text<'a>,
    #[serde(borrow, default, rename = "eventID")]
    event_id: Text<'a>,
    #[serde(borrow, default)]
    aws_region: Text<'a>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip_address: Text<'a>,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default, rename = "requestID")]
    request_id: Text<'a>,
    #[serde(borrow, default)]
    error_code: Text<'a>,
    #[serde(borrow, default)]
    error_message: Text<'a>,
    #[serde(borrow, default)]
    recipient_account_id: Text<'a>,
    #[serde(default)]
    read_only: Scalar,
    #[serde(borrow, default)]
    user_identity: Lenient<Identity<'a>>,
    #[serde(borrow, default)]
    response_elements: Lenient<ResponseElements<'a>>,
    #[serde(borrow, default)]
    additional_event_data: Lenient<AdditionalEventData<'a>>,
    #[serde(borrow, default)]
    resources: Lenient<Vec<Lenient<Resource<'a>>>>,
    #[serde(borrow, default)]
    request_parameters: Lenient<RequestParameters<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default)]
    invoked_by: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
    #[serde(borrow, default)]
    principal_id: Text<'a>,
    #[serde(borrow, default)]
    account_id: Text<'a>,
    #[serde(borrow, default)]
    access_key_id: Text<'a>,
    #[serde(borrow, default)]
    session_context: Lenient<SessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow, default)]
    attributes: Lenient<SessionAttributes<'a>>,
    #[serde(borrow, default)]
    session_issuer: Lenient<SessionIssuer<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow, default)]
    mfa_authenticated: Text<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    user_name: Text<'a>,
}

#[derive(Deserialize)]
struct ResponseElements<'a> {
    #[serde(borrow, default, rename = "ConsoleLogin")]
    console_login: Text<'a>,
}

#[derive(Deserialize)]
struct AdditionalEventData<'a> {
    #[serde(borrow, default, rename = "MFAUsed")]
    mfa_used: Text<'a>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default, rename = "ARN")]
    arn: Text<'a>,
}

/// The [`RESOURCE_PARAMETERS`], in that order.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestParameters<'a> {
    #[serde(borrow, default)]
    bucket_name: Text<'a>,
    #[serde(borrow, default)]
    role_arn: Text<'a>,
    #[serde(borrow, default)]
    user_name: Text<'a>,
    #[serde(borrow, default)]
    role_name: Text<'a>,
    #[serde(borrow, default)]
    policy_arn: Text<'a>,
    #[serde(borrow, default)]
    group_name: Text<'a>,
    #[serde(borrow, default)]
    key_id: Text<'a>,
    #[serde(borrow, default)]
    secret_id: Text<'a>,
    #[serde(borrow, default)]
    function_name: Text<'a>,
    #[serde(borrow, default)]
    trail_name: Text<'a>,
    #[serde(borrow, default)]
    group_id: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
}

impl<'a> RequestParameters<'a> {
    fn resource(&self) -> Option<&Text<'a>> {
        [
            &self.bucket_name,
            &self.role_arn,
            &self.user_name,
            &self.role_name,
            &self.policy_arn,
            &self.group_name,
            &self.key_id,
            &self.secret_id,
            &self.function_name,
            &self.trail_name,
            &self.group_id,
            &self.name,
        ]
        .into_iter()
        .find_map(Text::present)
    }
}

/// One record to an [`Event`], or why it cannot be one. The event's text
/// borrows from the file's content, as the record does.
fn normalise<'a>(record: &Record<'a>, raw: &'a [u8]) -> Result<Event<'a>, String> {
    let time_text = record
        .event_time
        .get()
        .ok_or_else(|| "missing eventTime".to_string())?;
    let time = parse_time(time_text)
        .map_err(|error| format!("eventTime `{time_text}` is not an RFC 3339 time: {error}"))?;
    let action = record
        .event_name
        .value()
        .ok_or_else(|| "missing eventName".to_string())?;

    let identity = record.user_identity.get();
    let field = |get: for<'i> fn(&'i Identity<'a>) -> &'i Text<'a>| {
        identity.map(get).and_then(Text::present)
    };
    let session = identity.and_then(|i| i.session_context.get());
    let identity_type = field(|i| &i.kind);
    let actor = field(|i| &i.arn)
        .or_else(|| {
            (identity_type.and_then(Text::get) == Some("AWSService"))
                .then(|| field(|i| &i.invoked_by))
                .flatten()
        })
        .or_else(|| field(|i| &i.user_name))
        .or_else(|| field(|i| &i.principal_id))
        .or_else(|| field(|i| &i.invoked_by));

    let error_code = record.error_code.present();
    let console_failure = record
        .response_elements
        .get()
        .and_then(|r| r.console_login.get())
        == Some("Failure");
    let outcome = if error_code.is_some() || console_failure {
        Outcome::Failure
    } else {
        Outcome::Success
    };

    let source_ip_address = record.source_ip_address.present();
    let src_ip =
        source_ip_address.filter(|ip| ip.get().is_some_and(|ip| ip.parse::<IpAddr>().is_ok()));
    let account = record
        .recipient_account_id
        .present()
        .or_else(|| field(|i| &i.account_id));
    let resource = record
        .resources
        .get()
        .and_then(|resources| {
            resources
                .iter()
                .find_map(|resource| resource.get().and_then(|r| r.arn.present()))
        })
        .or_else(|| record.request_parameters.get().and_then(|p| p.resource()));

    let mfa = match record
        .additional_event_data
        .get()
        .and_then(|d| d.mfa_used.get())
    {
        Some("Yes") => Some(true),
        Some("No") => Some(false),
        _ => match session
            .and_then(|s| s.attributes.get())
            .and_then(|a| a.mfa_authenticated.get())
        {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
    };
    let user_name = field(|i| &i.user_name).or_else(|| {
        session
            .and_then(|s| s.session_issuer.get())
            .and_then(|s| s.user_name.present())
    });

    Ok(Event {
        time,
        actor: value(actor),
        action,
        outcome,
        src_ip: value(src_ip),
        user_agent: record.user_agent.value(),
        region: record.aws_region.value(),
        account: value(account),
        resource: value(resource),
        request_id: record.request_id.value(),
        error_code: value(error_code),
        extra: vec![
            ExtraValue::Text(record.event_source.value()),
            ExtraValue::Text(record.event_type.value()),
            ExtraValue::Text(record.event_id.value()),
            ExtraValue::Text(value(identity_type)),
            ExtraValue::Text(value(field(|i| &i.access_key_id))),
            ExtraValue::Text(value(user_name)),
            ExtraValue::Text(value(source_ip_address)),
            ExtraValue::Text(record.error_message.value()),
            ExtraValue::Bool(record.read_only.as_bool()),
            ExtraValue::Bool(mfa),
        ],
        raw: crate::lenient::raw_text(raw),
    })
}

fn value<'a>(text: Option<&Text<'a>>) -> Option<Cow<'a, str>> {
    text.and_then(Text::value)
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
        let content = wrap(&[LOGIN]);
        let parsed = parse(content.as_bytes());
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
        let content = wrap(&[&no_time, LOGIN, &no_name, &bad_time, "42"]);
        let parsed = parse(content.as_bytes());
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
        let content = wrap(&[record]);
        let parsed = parse(content.as_bytes());
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
