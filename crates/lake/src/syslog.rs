//! Syslog files: RFC 5424 and RFC 3164 (BSD) lines, as rsyslog, syslog-ng
//! and journald's forwarders write them, one message per line.
//!
//! Each line is read on its own; the format is told by the line itself:
//!
//! - RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`,
//!   with structured data kept as JSON (`{"id":{"param":"value"}}`).
//! - RFC 3164: `[<PRI>]Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`; the `<PRI>`
//!   is optional because files written by a local daemon drop it, and an
//!   RFC 3339 time in place of `Mmm dd hh:mm:ss` (rsyslog's high-precision
//!   file format) is read too.
//!
//! RFC 3164 times have no year and no zone. They are read as UTC, and the
//! year is inferred from a reference time: the file's modification time
//! (a log line is not newer than its file), or the time of the ingest when
//! that is unknown. The year is the reference's, unless that puts the line
//! more than a day after the reference: then it is the year before (a file
//! of late December read in January).
//!
//! A line without a readable time, or with a priority above 191, goes to the
//! quarantine. `raw` holds the line as read (text, not JSON).

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Map, Value};

use crate::cloudtrail::Parsed;
use crate::quarantine::Problem;
use crate::schema::{Event, ExtraColumn, ExtraKind, ExtraValue, Outcome};

/// The syslog columns, after the normalised ones.
pub(crate) const EXTRA_COLUMNS: &[ExtraColumn] = &[
    ExtraColumn {
        name: "facility",
        kind: ExtraKind::Text,
        doc: "facility from `<PRI>` (`kern`, `user`, `auth`, `daemon`, `authpriv`, `local0`, ...)",
    },
    ExtraColumn {
        name: "severity",
        kind: ExtraKind::Text,
        doc: "severity from `<PRI>` (`emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug`)",
    },
    ExtraColumn {
        name: "hostname",
        kind: ExtraKind::Text,
        doc: "`HOSTNAME`",
    },
    ExtraColumn {
        name: "app_name",
        kind: ExtraKind::Text,
        doc: "`APP-NAME` (RFC 5424) or the tag before `[pid]:` (RFC 3164)",
    },
    ExtraColumn {
        name: "procid",
        kind: ExtraKind::Text,
        doc: "`PROCID`, or the `[pid]` of an RFC 3164 tag",
    },
    ExtraColumn {
        name: "msgid",
        kind: ExtraKind::Text,
        doc: "`MSGID` (RFC 5424 only)",
    },
    ExtraColumn {
        name: "structured_data",
        kind: ExtraKind::Text,
        doc: "RFC 5424 `STRUCTURED-DATA` as JSON: `{\"id\":{\"param\":\"value\"}}`",
    },
    ExtraColumn {
        name: "message",
        kind: ExtraKind::Text,
        doc: "`MSG`, the free text",
    },
    ExtraColumn {
        name: "format",
        kind: ExtraKind::Text,
        doc: "`rfc5424` or `rfc3164`",
    },
];

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Parses the (decompressed) content of one syslog file; `reference` is
/// the time RFC 3164 years are inferred from (see the module doc).
pub fn parse(content: &[u8], reference: DateTime<Utc>) -> Parsed<'_> {
    let mut parsed = Parsed::default();
    let mut offset = 0usize;
    for (index, line) in content.split(|b| *b == b'\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        // Lines of valid UTF-8 (nearly all) are read in place.
        let event = match crate::lenient::raw_text(line) {
            Cow::Borrowed(text) => parse_line(text, reference),
            Cow::Owned(text) => parse_line(&text, reference).map(Event::into_owned),
        };
        match event {
            Ok(event) => parsed.events.push(event),
            Err(reason) => {
                parsed
                    .problems
                    .push(Problem::record(index as u64, start as u64, reason, line))
            }
        }
    }
    parsed
}

/// The fields of one line, before normalisation.
#[derive(Debug, Default, PartialEq)]
struct Line<'a> {
    priority: Option<u8>,
    time: Option<DateTime<Utc>>,
    hostname: Option<&'a str>,
    app_name: Option<&'a str>,
    procid: Option<&'a str>,
    msgid: Option<&'a str>,
    structured_data: Option<String>,
    message: Option<&'a str>,
    rfc5424: bool,
}

fn text(value: Option<&str>) -> ExtraValue<'_> {
    ExtraValue::Text(value.map(Cow::Borrowed))
}

fn parse_line(line: &str, reference: DateTime<Utc>) -> Result<Event<'_>, String> {
    let (priority, rest) = priority(line)?;
    let fields = match rest.strip_prefix("1 ") {
        Some(rest) if priority.is_some() => rfc5424(rest)?,
        _ => rfc3164(rest, reference)?,
    };
    let fields = Line { priority, ..fields };
    let time = fields
        .time
        .ok_or_else(|| "no timestamp (`-`): the line cannot be placed in time".to_string())?;
    let severity = priority.map(|p| p % 8);
    let outcome = if severity.is_some_and(|s| s <= 3) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    Ok(Event {
        time,
        actor: None,
        action: Cow::Borrowed(fields.app_name.or(fields.msgid).unwrap_or("syslog")),
        outcome,
        src_ip: fields
            .hostname
            .filter(|host| host.parse::<IpAddr>().is_ok())
            .map(Cow::Borrowed),
        user_agent: None,
        region: None,
        account: None,
        resource: None,
        request_id: None,
        error_code: None,
        extra: vec![
            text(priority.map(|p| FACILITIES[usize::from(p / 8)])),
            text(severity.map(|s| SEVERITIES[usize::from(s)])),
            text(fields.hostname),
            text(fields.app_name),
            text(fields.procid),
            text(fields.msgid),
            ExtraValue::Text(fields.structured_data.map(Cow::Owned)),
            text(fields.message),
            text(Some(if fields.rfc5424 { "rfc5424" } else { "rfc3164" })),
        ],
        raw: Cow::Borrowed(line),
    })
}

/// `<PRI>` at the start of the line, if any, and the rest.
fn priority(line: &str) -> Result<(Option<u8>, &str), String> {
    let Some(after) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let end = after
        .find('>')
        .filter(|end| (1..=3).contains(end))
        .ok_or_else(|| "`<` at the start is not a priority `<0>`..`<191>`".to_string())?;
    let value: u16 = after[..end]
        .parse()
        .map_err(|_| format!("priority `<{}>` is not a number", &after[..end]))?;
    let value = u8::try_from(value)
        .ok()
        .filter(|v| *v <= 191)
        .ok_or_else(|| format!("priority <{value}> is above 191"))?;
    Ok((Some(value), &after[end + 1..]))
}

/// The next space-separated token (`-` is nil) and the rest.
fn token(text: &str) -> (Option<&str>, &str) {
    let (token, rest) = text.split_once(' ').unwrap_or((text, ""));
    ((token != "-" && !token.is_empty()).then_some(token), rest)
}

fn rfc5424(rest: &str) -> Result<Line<'_>, String> {
    let (timestamp, rest) = token(rest);
    let time = timestamp
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|error| {
                    format!("RFC 5424 timestamp `{t}` is not an RFC 3339 time: {error}")
                })
        })
        .transpose()?;
    let (hostname, rest) = token(rest);
    let (app_name, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (msgid, rest) = token(rest);
    let (structured_data, rest) = structured_data(rest)?;
    let message = rest.strip_prefix('\u{feff}').unwrap_or(rest);
    Ok(Line {
        time,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        message: Some(message).filter(|m| !m.is_empty()),
        rfc5424: true,
        ..Line::default()
    })
}

/// `-` or `[id param="value" ...]...` as JSON text, and the message after it.
fn structured_data(text: &str) -> Result<(Option<String>, &str), String> {
    if let Some(rest) = text.strip_prefix('-') {
        return Ok((None, rest.strip_prefix(' ').unwrap_or(rest)));
    }
    if !text.starts_with('[') {
        return Err("RFC 5424 structured data is neither `-` nor `[...]`".to_string());
    }
    let mut elements = Map::new();
    let bytes = text.as_bytes();
    let mut pos = 0;
    let unterminated = || "RFC 5424 structured data is not terminated by `]`".to_string();
    while bytes.get(pos) == Some(&b'[') {
        pos += 1;
        let id_end = text[pos..]
            .find([' ', ']'])
            .map(|at| pos + at)
            .ok_or_else(unterminated)?;
        let id = text[pos..id_end].to_string();
        pos = id_end;
        let mut params = Map::new();
        loop {
            match bytes.get(pos) {
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(b' ') => pos += 1,
                Some(_) => {
                    let eq = text[pos..]
                        .find("=\"")
                        .map(|at| pos + at)
                        .ok_or_else(|| format!("RFC 5424 parameter in [{id}] has no =\"value\""))?;
                    let name = text[pos..eq].to_string();
                    pos = eq + 2;
                    let mut value = String::new();
                    loop {
                        match bytes.get(pos) {
                            None => return Err(unterminated()),
                            Some(b'\\')
                                if matches!(bytes.get(pos + 1), Some(b'"' | b'\\' | b']')) =>
                            {
                                value.push(char::from(bytes[pos + 1]));
                                pos += 2;
                            }
                            Some(b'"') => {
                                pos += 1;
                                break;
                            }
                            Some(_) => {
                                let ch = text[pos..].chars().next().ok_or_else(unterminated)?;
                                value.push(ch);
                                pos += ch.len_utf8();
                            }
                        }
                    }
                    params.insert(name, Value::String(value));
                }
                None => return Err(unterminated()),
            }
        }
        elements.insert(id, Value::Object(params));
    }
    let rest = &text[pos..];
    Ok((
        Some(Value::Object(elements).to_string()),
        rest.strip_prefix(' ').unwrap_or(rest),
    ))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn rfc3164(rest: &str, reference: DateTime<Utc>) -> Result<Line<'_>, String> {
    let (time, rest) = bsd_time(rest, reference)
        .or_else(|| {
            let (first, rest) = rest.split_once(' ')?;
            let time = DateTime::parse_from_rfc3339(first).ok()?;
            Some((time.with_timezone(&Utc), rest))
        })
        .ok_or_else(|| {
            let start: String = rest.chars().take(24).collect();
            format!("not a syslog line: no `Mmm dd hh:mm:ss` or RFC 3339 time at `{start}`")
        })?;
    let (hostname, rest) = token(rest.trim_start_matches(' '));
    // TAG[PID]: MSG; a line without the colon is all message.
    let (app_name, procid, message) = match rest.split_once(": ") {
        Some((tag, message)) if !tag.contains(' ') && !tag.is_empty() => {
            match tag.split_once('[') {
                Some((name, pid)) => (Some(name), pid.strip_suffix(']'), message),
                None => (Some(tag), None, message),
            }
        }
        _ => (None, None, rest),
    };
    Ok(Line {
        time: Some(time),
        hostname,
        app_name: app_name.filter(|n| !n.is_empty()),
        procid,
        message: Some(message).filter(|m| !m.is_empty()),
        rfc5424: false,
        ..Line::default()
    })
}

/// `Mmm dd hh:mm:ss ` (day space-padded or not) with the inferred year.
fn bsd_time(text: &str, reference: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    let month = MONTHS.iter().position(|m| text.starts_with(m))? as u32 + 1;
    let rest = text.get(3..)?.trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let (clock, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let clock = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f").ok()?;
    let at = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day).map(|date| date.and_time(clock).and_utc())
    };
    let year = reference.year();
    let time = match at(year) {
        Some(time) if time <= reference + Duration::days(1) => time,
        // Later than the reference: written the year before (29 February:
        // the last leap year).
        _ => (1..=8).find_map(|back| at(year - back))?,
    };
    Some((time, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    fn one(line: &str) -> Result<Event<'_>, String> {
        parse_line(line, reference())
    }

    fn extra<'a>(event: &'a Event<'_>) -> Vec<Option<&'a str>> {
        event
            .extra
            .iter()
            .map(|value| match value {
                ExtraValue::Text(text) => text.as_deref(),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let event = one(r#"<165>1 2026-11-23T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high \"x\" \]"] An application event log entry..."#)
            .expect("RFC 5424 example");
        assert_eq!(event.time.to_rfc3339(), "2026-11-23T22:14:15.003+00:00");
        assert_eq!(event.action, "evntslog");
        assert_eq!(event.outcome, Outcome::Success);
        assert_eq!(
            extra(&event),
            vec![
                Some("local4"),
                Some("notice"),
                Some("mymachine.example.com"),
                Some("evntslog"),
                None,
                Some("ID47"),
                Some(
                    r#"{"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"},"examplePriority@32473":{"class":"high \"x\" ]"}}"#
                ),
                Some("An application event log entry..."),
                Some("rfc5424"),
            ]
        );
        let event = one("<34>1 2026-11-23T08:00:00+02:00 192.0.2.1 su 77 - - 'su root' failed for lonvick on /dev/pts/8")
            .expect("RFC 5424 without SD");
        assert_eq!(event.time.to_rfc3339(), "2026-11-23T06:00:00+00:00");
        assert_eq!(event.outcome, Outcome::Failure, "severity crit");
        assert_eq!(event.src_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(extra(&event)[4], Some("77"));
        assert_eq!(
            extra(&event)[7],
            Some("'su root' failed for lonvick on /dev/pts/8")
        );
    }

    #[test]
    fn rfc3164_with_and_without_priority() {
        let event = one("<38>Nov  3 22:14:15 web1 sshd[4123]: Failed password for root from 203.0.113.9 port 22 ssh2")
            .expect("BSD line");
        assert_eq!(event.time.to_rfc3339(), "2026-11-03T22:14:15+00:00");
        assert_eq!(event.action, "sshd");
        assert_eq!(
            extra(&event),
            vec![
                Some("auth"),
                Some("info"),
                Some("web1"),
                Some("sshd"),
                Some("4123"),
                None,
                None,
                Some("Failed password for root from 203.0.113.9 port 22 ssh2"),
                Some("rfc3164"),
            ]
        );
        let event = one("Nov 24 08:00:01 web1 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)")
            .expect("a local file line");
        assert_eq!(event.time.to_rfc3339(), "2026-11-24T08:00:01+00:00");
        assert_eq!(extra(&event)[0], None);
        let event = one("2026-11-24T08:00:01.123456+01:00 web1 kernel: [ 1.0] booting")
            .expect("rsyslog high-precision format");
        assert_eq!(event.time.to_rfc3339(), "2026-11-24T07:00:01.123456+00:00");
        assert_eq!(event.action, "kernel");
        let event = one("<13>Nov 24 08:00:01 web1 a message without a tag").expect("no tag");
        assert_eq!(event.action, "syslog");
        assert_eq!(extra(&event)[7], Some("a message without a tag"));
    }

    #[test]
    fn rfc3164_years_are_inferred_from_the_reference() {
        // December lines read in November 2026 are from December 2025.
        let event = one("Dec 31 23:59:59 h app: last year").expect("valid");
        assert_eq!(event.time.to_rfc3339(), "2025-12-31T23:59:59+00:00");
        // Up to a day after the reference is still this year (clock skew).
        let event = one("Nov 25 06:00:00 h app: tomorrow").expect("valid");
        assert_eq!(event.time.to_rfc3339(), "2026-11-25T06:00:00+00:00");
        let event = one("Feb 29 10:00:00 h app: leap day").expect("valid");
        assert_eq!(event.time.to_rfc3339(), "2024-02-29T10:00:00+00:00");
    }

    #[test]
    fn bad_lines_are_problems_and_good_ones_are_kept() {
        let content = "<34>1 2026-11-23T08:00:00Z h app - - - ok\n\
                       <999>Nov 24 08:00:01 h app: x\n\
                       garbage without a time\n\
                       <34>1 - h app - - - no time\n\
                       <34>1 2026-11-23T08:00:00Z h app - - [unterminated x=\"1\"\n\
                       <34>1 yesterday h app - - - x\n\
                       \r\n\
                       Nov 24 08:00:01 h app: ok too\r\n";
        let parsed = parse(content.as_bytes(), reference());
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.events[1].raw, "Nov 24 08:00:01 h app: ok too");
        let reasons: Vec<(Option<u64>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.record_index, p.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (Some(1), "priority <999> is above 191"),
                (Some(2), "not a syslog line: no `Mmm dd hh:mm:ss` or RFC 3339 time at `garbage without a time`"),
                (Some(3), "no timestamp (`-`): the line cannot be placed in time"),
                (Some(4), "RFC 5424 structured data is not terminated by `]`"),
                (Some(5), "RFC 5424 timestamp `yesterday` is not an RFC 3339 time: premature end of input"),
            ]
        );
        assert_eq!(parsed.problems[0].byte_offset, Some(42));
    }
}
