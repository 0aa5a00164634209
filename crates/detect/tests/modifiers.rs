//! Every modifier and condition form, table-driven: a detection, an event
//! and whether it must match.

use palisade_detect::event::{FieldTable, JsonEvent};
use palisade_detect::mapping::FieldMapping;
use palisade_detect::sigma::compile_detection;
use palisade_lake::Source;
use serde_norway::Mapping;

/// The event every case of the table runs against.
const EVENT: &str = r#"{
  "eventName": "CreateAccessKey",
  "userAgent": "Mozilla/5.0 (X11; Kali Linux) aws-cli/2.1",
  "sourceIPAddress": "203.0.113.50",
  "path": "C:\\Windows\\System32\\cmd.exe",
  "literal": "50% off *today* only?",
  "command": "net user /add backup",
  "encoded": "dGhpcyBpcyBhIHNlY3JldCBwYXlsb2Fk",
  "blob": "prefixL2Jpbi9iYXNosuffix",
  "count": 42,
  "ratio": "7.5",
  "enabled": false,
  "empty": null,
  "requestParameters": {"userName": "alice", "policyDocument": "{\"Action\": \"*\"}\nline2"},
  "userIdentity": {"userName": "mallory", "type": "IAMUser"},
  "tags": ["blue", "Green"],
  "items": [{"port": 22, "cidr": "0.0.0.0/0"}, {"port": 443, "cidr": "10.0.0.0/8"}],
  "annotations": {"authorization.k8s.io/decision": "allow"},
  "unicode": "Größe ÄRGER"
}"#;

/// `(name, detection YAML, expected)`.
const CASES: &[(&str, &str, bool)] = &[
    // Plain values: whole value, case-insensitive.
    ("exact", "s: {eventName: CreateAccessKey}", true),
    (
        "exact ignores case",
        "s: {eventName: createaccesskey}",
        true,
    ),
    (
        "exact is whole value",
        "s: {eventName: CreateAccess}",
        false,
    ),
    (
        "list is or",
        "s: {eventName: [DeleteUser, CreateAccessKey]}",
        true,
    ),
    (
        "map is and",
        "s: {eventName: CreateAccessKey, userIdentity.type: Root}",
        false,
    ),
    (
        "list of maps is or",
        "s: [{eventName: X}, {userIdentity.type: IAMUser}]",
        true,
    ),
    ("number as text", "s: {count: 42}", true),
    ("number as string", "s: {count: '42'}", true),
    ("boolean", "s: {enabled: false}", true),
    (
        "nested path",
        "s: {requestParameters.userName: alice}",
        true,
    ),
    (
        "dotted key",
        "s: {annotations.authorization.k8s.io/decision: allow}",
        true,
    ),
    ("array element", "s: {tags: green}", true),
    ("array of objects", "s: {items.port: 443}", true),
    ("missing field", "s: {nothere: x}", false),
    (
        "unicode case-insensitive",
        "s: {unicode: 'größe ärger'}",
        true,
    ),
    // Wildcards and escapes.
    ("star", "s: {eventName: 'Create*Key'}", true),
    ("question", "s: {eventName: 'CreateAccessKe?'}", true),
    (
        "question needs one char",
        "s: {eventName: 'CreateAccessKey?'}",
        false,
    ),
    (
        "escaped star is literal",
        "s: {literal: '50% off \\*today\\* only\\?'}",
        true,
    ),
    (
        "escaped star does not glob",
        "s: {literal: '50% off \\*t*'}",
        true,
    ),
    ("escaped star mismatch", "s: {literal: '50% \\*'}", false),
    (
        "backslash path",
        "s: {path: 'C:\\Windows\\System32\\cmd.exe'}",
        true,
    ),
    ("backslash then star", "s: {path: 'C:\\Windows\\\\*'}", true),
    (
        "backslash star is literal star",
        "s: {path: 'C:\\Windows\\*'}",
        false,
    ),
    // contains / startswith / endswith.
    ("contains", "s: {userAgent|contains: kali}", true),
    (
        "contains list",
        "s: {userAgent|contains: [parrot, KALI]}",
        true,
    ),
    ("contains miss", "s: {userAgent|contains: parrot}", false),
    (
        "contains all",
        "s: {userAgent|contains|all: [kali, aws-cli]}",
        true,
    ),
    (
        "contains all miss",
        "s: {userAgent|contains|all: [kali, parrot]}",
        false,
    ),
    (
        "contains with wildcard",
        "s: {userAgent|contains: 'kali*cli'}",
        true,
    ),
    ("startswith", "s: {userAgent|startswith: mozilla/}", true),
    ("startswith miss", "s: {userAgent|startswith: aws}", false),
    ("endswith", "s: {path|endswith: '\\cmd.exe'}", true),
    (
        "endswith miss",
        "s: {path|endswith: '\\powershell.exe'}",
        false,
    ),
    ("cased", "s: {eventName|cased: CreateAccessKey}", true),
    ("cased miss", "s: {eventName|cased: createaccesskey}", false),
    (
        "contains cased",
        "s: {userAgent|contains|cased: Kali}",
        true,
    ),
    (
        "contains cased miss",
        "s: {userAgent|contains|cased: kali}",
        false,
    ),
    // Regular expressions.
    ("re", "s: {eventName|re: '^Create[A-Z]\\w+Key$'}", true),
    (
        "re is case-sensitive",
        "s: {eventName|re: '^createaccesskey$'}",
        false,
    ),
    ("re i", "s: {eventName|re|i: '^createaccesskey$'}", true),
    (
        "re m",
        "s: {requestParameters.policyDocument|re|m: '^line2$'}",
        true,
    ),
    (
        "re without m",
        "s: {requestParameters.policyDocument|re: '^line2$'}",
        false,
    ),
    (
        "re s",
        "s: {requestParameters.policyDocument|re|s: 'Action.*line2'}",
        true,
    ),
    (
        "re without s",
        "s: {requestParameters.policyDocument|re: 'Action.*line2'}",
        false,
    ),
    // Numbers.
    ("gt", "s: {count|gt: 41}", true),
    ("gt miss", "s: {count|gt: 42}", false),
    ("gte", "s: {count|gte: 42}", true),
    ("lt", "s: {count|lt: 43}", true),
    ("lte miss", "s: {count|lte: 41}", false),
    ("number in a string", "s: {ratio|gt: 7.25}", true),
    ("number any element", "s: {items.port|lt: 100}", true),
    // CIDR.
    ("cidr", "s: {sourceIPAddress|cidr: 203.0.113.0/24}", true),
    (
        "cidr list",
        "s: {sourceIPAddress|cidr: [10.0.0.0/8, 203.0.0.0/8]}",
        true,
    ),
    (
        "cidr miss",
        "s: {sourceIPAddress|cidr: 198.51.100.0/24}",
        false,
    ),
    ("cidr not an ip", "s: {eventName|cidr: 0.0.0.0/0}", false),
    // Encodings.
    (
        "base64",
        "s: {encoded: 'dGhpcyBpcyBhIHNlY3JldCBwYXlsb2Fk'}",
        true,
    ),
    (
        "base64 modifier",
        "s: {encoded|base64: 'this is a secret payload'}",
        true,
    ),
    (
        "base64offset contains",
        "s: {blob|base64offset|contains: '/bin/bash'}",
        true,
    ),
    (
        "base64offset miss",
        "s: {blob|base64offset|contains: '/bin/sh'}",
        false,
    ),
    ("windash", "s: {command|windash|contains: ' -add '}", true),
    ("windash miss", "s: {command|contains: ' -add '}", false),
    // Existence and null.
    (
        "exists",
        "s: {requestParameters.userName|exists: true}",
        true,
    ),
    ("exists false", "s: {nothere|exists: false}", true),
    ("exists miss", "s: {nothere|exists: true}", false),
    ("null value matches null", "s: {empty: null}", true),
    ("null value matches missing", "s: {nothere: null}", true),
    ("null value miss", "s: {eventName: null}", false),
    ("empty string", "s: {eventName: ''}", false),
    // Field references and neq.
    (
        "fieldref",
        "s: {userIdentity.userName|fieldref: requestParameters.userName}",
        false,
    ),
    (
        "fieldref same",
        "s: {userIdentity.userName|fieldref: userIdentity.userName}",
        true,
    ),
    ("neq", "s: {eventName|neq: DeleteUser}", true),
    (
        "neq miss",
        "s: {eventName|neq: [DeleteUser, CreateAccessKey]}",
        false,
    ),
    // Keywords: anywhere in the raw record.
    ("keyword", "k: [Kali]", true),
    ("keyword list", "k: [nothing-here, 'System32']", true),
    ("keyword miss", "k: [nothing-here]", false),
    ("keyword wildcard", "k: ['Kali*aws-cli']", true),
    ("keyword all", "k: {'|all': [Kali, mallory]}", true),
    (
        "keyword all miss",
        "k: {'|all': [Kali, nothing-here]}",
        false,
    ),
];

/// `(name, detection YAML with a condition, expected)`.
const CONDITIONS: &[(&str, &str, bool)] = &[
    ("and", "a: {eventName: CreateAccessKey}\nb: {count: 42}\ncondition: a and b", true),
    ("or", "a: {eventName: X}\nb: {count: 42}\ncondition: a or b", true),
    ("not", "a: {eventName: X}\ncondition: not a", true),
    ("and not", "a: {eventName: CreateAccessKey}\nf: {userIdentity.userName: mallory}\ncondition: a and not f", false),
    ("precedence: not binds tighter than and, and than or",
     "a: {eventName: X}\nb: {count: 42}\nc: {enabled: true}\ncondition: a or b and not c", true),
    ("parentheses", "a: {eventName: X}\nb: {count: 42}\nc: {enabled: true}\ncondition: (a or b) and c", false),
    ("nested parentheses", "a: {eventName: X}\nb: {count: 42}\nc: {enabled: true}\ncondition: not ((a or c) and b)", true),
    ("1 of pattern", "sel_a: {eventName: X}\nsel_b: {count: 42}\ncondition: 1 of sel_*", true),
    ("all of pattern", "sel_a: {eventName: X}\nsel_b: {count: 42}\ncondition: all of sel_*", false),
    ("all of pattern true", "sel_a: {eventName: CreateAccessKey}\nsel_b: {count: 42}\ncondition: all of sel_*", true),
    ("1 of them", "a: {eventName: X}\nb: {count: 42}\ncondition: 1 of them", true),
    ("all of them", "a: {eventName: X}\nb: {count: 42}\ncondition: all of them", false),
    ("them skips underscore", "a: {count: 42}\n_b: {eventName: X}\ncondition: all of them", true),
    ("not 1 of", "a: {count: 42}\nf_1: {eventName: X}\nf_2: {enabled: true}\ncondition: a and not 1 of f_*", true),
    ("list of conditions is or", "a: {eventName: X}\nb: {count: 42}\ncondition: [a, b]", true),
    ("keywords and selection", "k: [Kali]\na: {count: 42}\ncondition: k and a", true),
];

fn compile(yaml: &str, with_condition: bool) -> Result<palisade_detect::sigma::Detection, String> {
    let text = if with_condition {
        yaml.to_string()
    } else {
        let name = yaml.split(':').next().unwrap_or("s");
        format!("{yaml}\ncondition: {name}")
    };
    let detection: Mapping = serde_norway::from_str(&text).map_err(|e| format!("YAML: {e}"))?;
    let mut fields = FieldTable::default();
    compile_detection(
        &detection,
        Source::CloudTrail,
        &FieldMapping::default(),
        &mut fields,
    )
}

fn run(cases: &[(&str, &str, bool)], with_condition: bool) {
    let mut failures = Vec::new();
    for (name, yaml, expected) in cases {
        let text = if with_condition {
            yaml.to_string()
        } else {
            let selection = yaml.split(':').next().unwrap_or("s");
            format!("{yaml}\ncondition: {selection}")
        };
        let detection: Mapping = match serde_norway::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: YAML: {e}"));
                continue;
            }
        };
        let mut fields = FieldTable::default();
        let compiled = match compile_detection(
            &detection,
            Source::CloudTrail,
            &FieldMapping::default(),
            &mut fields,
        ) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: does not compile: {e}"));
                continue;
            }
        };
        let event = JsonEvent::parse(EVENT, &fields).expect("the event is JSON");
        let matched = compiled.matches(&event);
        if matched != *expected {
            failures.push(format!("{name}: matched {matched}, expected {expected}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_modifier_matches_as_the_specification_says() {
    run(CASES, false);
}

#[test]
fn every_condition_form_evaluates_as_the_specification_says() {
    run(CONDITIONS, true);
}

#[test]
fn unsupported_features_are_errors_naming_the_feature() {
    let cases: &[(&str, &str)] = &[
        ("s: {a|wide: x}\ncondition: s", "UTF-16"),
        ("s: {a|hour: 3}\ncondition: s", "time modifier"),
        (
            "s: {a|frobnicate: x}\ncondition: s",
            "unknown modifier `frobnicate`",
        ),
        (
            "s: {a|re: '(unclosed'}\ncondition: s",
            "invalid regular expression",
        ),
        ("s: {a|cidr: 10.0.0.0/99}\ncondition: s", "not a CIDR range"),
        ("s: {a|gt: many}\ncondition: s", "not a number"),
        (
            "s: {a|expand: '%Admins%'}\ncondition: s",
            "placeholder %Admins% has no values",
        ),
        (
            "s: {a: x}\ncondition: s | count() by b > 3",
            "correlation rule",
        ),
        ("s: {a: x}\ncondition: 2 of s*", "only `1 of` and `all of`"),
        ("s: {a: x}\ncondition: t", "`t`, which is not a selection"),
        ("s: {a: x}\ntimeframe: 5m\ncondition: s", "timeframe"),
        ("s: {a: x}", "missing `condition`"),
        (
            "s: {a|exists: maybe}\ncondition: s",
            "takes `true` or `false`",
        ),
        (
            "s: [{a: x}, plain]\ncondition: s",
            "mixes maps and plain values",
        ),
        (
            "s: {a|contains|startswith: x}\ncondition: s",
            "cannot follow another comparison",
        ),
    ];
    for (yaml, want) in cases {
        let result = compile(yaml, true);
        match result {
            Ok(_) => panic!("`{yaml}` compiled, expected an error containing `{want}`"),
            Err(error) => assert!(
                error.contains(want),
                "`{yaml}`: error `{error}` lacks `{want}`"
            ),
        }
    }
}

#[test]
fn expand_uses_the_mapping_placeholders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mapping.yml");
    std::fs::write(&path, "placeholders:\n  Admins: [root, mallory]\n").expect("write");
    let mapping = FieldMapping::default()
        .with_file(&path)
        .expect("valid mapping");
    let detection: Mapping =
        serde_norway::from_str("s: {userIdentity.userName|expand: '%Admins%'}\ncondition: s")
            .expect("yaml");
    let mut fields = FieldTable::default();
    let compiled =
        compile_detection(&detection, Source::CloudTrail, &mapping, &mut fields).expect("compiles");
    let event = JsonEvent::parse(EVENT, &fields).expect("json");
    assert!(compiled.matches(&event));
}
