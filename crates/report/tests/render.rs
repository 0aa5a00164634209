//! Renders one fixture report in every format: snapshots plus focused checks.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use palisade_core::{
    Category, ComplianceRef, Finding, InlineSuppression, Location, Resource, Rule, ScanError,
    Severity,
};
use palisade_report::{render, render_to_string, Format, Report, ReportItem};
use serde_json::Value;

const HOSTILE: &str = "=HYPERLINK(\"http://evil\"), <script>alert('x')</script>, \"quoted\"";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn rule(id: &str, title: &str, severity: Severity, category: Category) -> Rule {
    Rule {
        id: id.into(),
        title: title.into(),
        severity,
        category,
        description: format!("{title}: why it matters."),
        remediation: format!("Fix: {title}.").into(),
        references: vec![].into(),
        compliance: vec![].into(),
        peers: vec![],
    }
}

fn rules() -> Vec<Rule> {
    let mut ssh = rule(
        "iac.aws.sg-open-ssh",
        "Security group allows SSH from the internet",
        Severity::Critical,
        Category::Misconfiguration,
    );
    ssh.references = vec![
        "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html".into(),
        "javascript:alert(1)".into(),
    ]
    .into();
    ssh.compliance = vec![
        ComplianceRef::new("CIS AWS Foundations v3.0", "5.2"),
        ComplianceRef::new("SOC 2", "CC6.6"),
    ]
    .into();
    let s3 = rule(
        "iac.aws.s3-encryption",
        "S3 bucket is not encrypted",
        Severity::High,
        Category::Misconfiguration,
    );
    let mut privileged = rule(
        "iac.k8s.privileged",
        "Container runs privileged <b>",
        Severity::Medium,
        Category::Misconfiguration,
    );
    privileged.references =
        vec!["https://kubernetes.io/docs/concepts/security/pod-security-standards/".into()].into();
    let pin = rule(
        "iac.tf.provider-pin",
        "Provider version is not pinned",
        Severity::Info,
        Category::Misconfiguration,
    );
    // `aws.cloudtrail.log-validation` is deliberately missing: renderers must
    // fall back to the finding's own metadata.
    vec![ssh, s3, privileged, pin]
}

fn find(rules: &[Rule], id: &str) -> Rule {
    rules
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .unwrap_or_else(|| Rule {
            id: id.into(),
            title: "CloudTrail log file validation is off".into(),
            severity: Severity::Low,
            category: Category::Posture,
            description: String::new(),
            remediation: "Enable log file validation on the trail.".into(),
            references: vec![].into(),
            compliance: vec![ComplianceRef::new("CIS AWS Foundations v3.0", "3.2")].into(),
            peers: vec![],
        })
}

fn fixture() -> Report {
    let rules = rules();

    let ssh = Finding::new(
        &find(&rules, "iac.aws.sg-open-ssh"),
        Resource::in_file(
            "aws_security_group",
            "aws_security_group.bastion",
            "infra/network.tf",
        ),
        "Ingress rule allows 0.0.0.0/0 on port 22.",
    )
    .with_location(Location::lines("infra/network.tf", 12, 20))
    .with_evidence("cidr_blocks = [\"0.0.0.0/0\"]")
    .with_discriminator("22");

    let s3_logs = Finding::new(
        &find(&rules, "iac.aws.s3-encryption"),
        Resource::in_file("aws_s3_bucket", "aws_s3_bucket.logs", "infra/storage.tf"),
        "Bucket aws_s3_bucket.logs has no server-side encryption configuration.",
    )
    .with_location(Location::lines("infra/storage.tf", 3, 9));

    let mut s3_archive = Finding::new(
        &find(&rules, "iac.aws.s3-encryption"),
        Resource::in_file("aws_s3_bucket", "aws_s3_bucket.archive", "infra/storage.tf"),
        "Bucket aws_s3_bucket.archive has no server-side encryption configuration.",
    )
    .with_location(Location::lines("infra/storage.tf", 30, 35));
    s3_archive.suppression = Some(InlineSuppression {
        reason: "encrypted by the organisation's default SSE policy".into(),
        expires: NaiveDate::from_ymd_opt(2026, 12, 31),
        source: "palisade:ignore".into(),
    });

    let hostile = Finding::new(
        &find(&rules, "iac.k8s.privileged"),
        Resource::in_file(
            "Deployment",
            "prod/Deployment/<img src=x>",
            "k8s/deploy, \"prod\".yaml",
        ),
        HOSTILE,
    )
    .with_location(Location::lines("./k8s/deploy, \"prod\".yaml", 14, 14));

    let mut cloud = Finding::new(
        &find(&rules, "aws.cloudtrail.log-validation"),
        Resource {
            kind: "AWS::CloudTrail::Trail".into(),
            id: "arn:aws:cloudtrail:eu-west-1:123456789012:trail/main".into(),
            file: None,
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
        },
        "Trail main does not validate log files.",
    );
    cloud.category = Category::Posture;

    let mut pin = Finding::new(
        &find(&rules, "iac.tf.provider-pin"),
        Resource::in_file("provider", "provider.aws", "infra/main.tf"),
        "Provider aws has no version constraint.",
    );
    // Expired before the report date: the finding counts again.
    pin.suppression = Some(InlineSuppression {
        reason: "temporary".into(),
        expires: NaiveDate::from_ymd_opt(2026, 1, 31),
        source: "checkov:skip".into(),
    });

    let stored = ReportItem {
        finding: s3_logs,
        status: Some("open".into()),
        first_seen: Some(at(1, 9)),
        last_seen: Some(at(14, 9)),
        sla_due_at: Some(at(31, 9)),
    };
    let externally_suppressed = ReportItem {
        finding: cloud,
        status: Some("suppressed".into()),
        first_seen: Some(at(2, 9)),
        last_seen: Some(at(14, 9)),
        sla_due_at: None,
    };

    Report {
        tool_name: "palisade".into(),
        tool_version: "0.1.0-test".into(),
        generated_at: at(15, 12),
        // Deliberately not in report order.
        items: vec![
            pin.into(),
            hostile.into(),
            externally_suppressed,
            s3_archive.into(),
            ssh.into(),
            stored,
        ],
        errors: vec![ScanError {
            path: "infra/broken.tf".into(),
            line: Some(7),
            message: "expected `}` to close the block opened on line 3".into(),
        }],
        rules,
    }
}

fn rendered(format: Format) -> String {
    render_to_string(&fixture(), format).expect("render")
}

#[test]
fn snapshot_table() {
    insta::assert_snapshot!("table", rendered(Format::Table));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", rendered(Format::Json));
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif", rendered(Format::Sarif));
}

#[test]
fn snapshot_csv() {
    insta::assert_snapshot!("csv", rendered(Format::Csv));
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("html", rendered(Format::Html));
}

#[test]
fn output_does_not_depend_on_item_order() {
    let report = fixture();
    let mut reversed = report.clone();
    reversed.items.reverse();
    reversed.errors.reverse();
    for format in Format::ALL {
        assert_eq!(
            render_to_string(&report, format).unwrap(),
            render_to_string(&reversed, format).unwrap(),
            "{format} output depends on item order"
        );
    }
}

#[test]
fn empty_report_renders_in_every_format() {
    let mut report = fixture();
    report.items.clear();
    report.errors.clear();
    report.rules.clear();
    for format in Format::ALL {
        let mut out = Vec::new();
        render(&report, format, &mut out).unwrap();
        assert!(!out.is_empty(), "{format} wrote nothing");
    }
    let sarif: Value =
        serde_json::from_str(&render_to_string(&report, Format::Sarif).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"], Value::Array(vec![]));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"],
        Value::Array(vec![])
    );
    assert!(render_to_string(&report, Format::Table)
        .unwrap()
        .contains("No findings."));
}

#[test]
fn sarif_has_the_structure_code_scanning_needs() {
    let report = fixture();
    let sarif: Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];

    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "palisade");
    assert_eq!(driver["version"], "0.1.0-test");
    assert_eq!(
        driver["informationUri"],
        "https://github.com/palisade-sec/palisade"
    );
    let rules = driver["rules"].as_array().unwrap();
    for rule in rules {
        for key in [
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "defaultConfiguration",
            "properties",
        ] {
            assert!(rule.get(key).is_some(), "rule {} lacks {key}", rule["id"]);
        }
        assert!(rule["shortDescription"]["text"].is_string());
        assert!(rule["fullDescription"]["text"].is_string());
        assert!(rule["help"]["text"].is_string());
        assert!(rule["help"]["markdown"].is_string());
        assert!(["error", "warning", "note"]
            .contains(&rule["defaultConfiguration"]["level"].as_str().unwrap()));
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&severity));
        assert_eq!(rule["properties"]["precision"], "high");
        assert!(rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"security".into()));
        let name = rule["name"].as_str().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
    }
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // The rule missing from `report.rules` is described from its finding.
    assert!(ids.contains(&"aws.cloudtrail.log-validation"));
    let ssh = rules
        .iter()
        .find(|r| r["id"] == "iac.aws.sg-open-ssh")
        .unwrap();
    assert_eq!(ssh["name"], "IacAwsSgOpenSsh");
    assert_eq!(ssh["properties"]["security-severity"], "9.5");
    assert_eq!(
        ssh["helpUri"],
        "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"
    );
    assert!(ssh["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("Fix: Security group"));

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.items.len());
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[index]["id"], result["ruleId"],
            "ruleIndex points at another rule"
        );
        assert!(result["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let fingerprint = result["partialFingerprints"]["palisade/v1"]
            .as_str()
            .unwrap();
        assert!(report
            .items
            .iter()
            .any(|item| item.finding.fingerprint.as_str() == fingerprint
                && item.finding.rule_id == result["ruleId"]));
        let locations = result["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1);
        if let Some(physical) = locations[0].get("physicalLocation") {
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            assert!(
                !uri.contains('\\') && !uri.starts_with("./") && !uri.contains(' '),
                "{uri}"
            );
            assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
        }
    }

    let by_rule = |id: &str| {
        results
            .iter()
            .filter(move |r| r["ruleId"] == id)
            .collect::<Vec<_>>()
    };
    let ssh_result = by_rule("iac.aws.sg-open-ssh")[0];
    assert_eq!(ssh_result["level"], "error");
    assert_eq!(
        ssh_result["locations"][0]["physicalLocation"],
        serde_json::json!({
            "artifactLocation": { "uri": "infra/network.tf", "uriBaseId": "%SRCROOT%" },
            "region": { "startLine": 12, "endLine": 20 },
        })
    );
    assert_eq!(by_rule("iac.k8s.privileged")[0]["level"], "warning");
    assert_eq!(
        by_rule("iac.k8s.privileged")[0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "k8s/deploy,%20%22prod%22.yaml"
    );

    // Live cloud finding: no file, so only a logical location.
    let cloud = by_rule("aws.cloudtrail.log-validation")[0];
    assert_eq!(cloud["level"], "note");
    assert!(cloud["locations"][0].get("physicalLocation").is_none());
    assert_eq!(
        cloud["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "arn:aws:cloudtrail:eu-west-1:123456789012:trail/main"
    );
    assert_eq!(
        cloud["suppressions"],
        serde_json::json!([{ "kind": "external", "status": "accepted" }])
    );

    // Inline suppression in force vs expired.
    let s3 = by_rule("iac.aws.s3-encryption");
    let archive = s3.iter().find(|r| r.get("suppressions").is_some()).unwrap();
    assert_eq!(archive["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        archive["suppressions"][0]["justification"],
        "encrypted by the organisation's default SSE policy"
    );
    assert_eq!(
        s3.iter()
            .filter(|r| r.get("suppressions").is_some())
            .count(),
        1
    );
    let pin = by_rule("iac.tf.provider-pin")[0];
    assert!(
        pin.get("suppressions").is_none(),
        "expired suppression still applied"
    );
    // Anchored at the resource's file when the finding has no location.
    assert_eq!(
        pin["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/main.tf"
    );

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notification = &invocation["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error");
    assert!(notification["message"]["text"]
        .as_str()
        .unwrap()
        .contains("expected `}`"));
    assert_eq!(
        notification["locations"][0]["physicalLocation"]["region"]["startLine"],
        7
    );
}

#[test]
fn csv_neutralises_formulas_and_quotes_properly() {
    let text = rendered(Format::Csv);
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "severity",
            "rule_id",
            "title",
            "resource_kind",
            "resource_id",
            "file",
            "start_line",
            "end_line",
            "message",
            "status",
            "first_seen",
            "last_seen",
            "sla_due_at",
            "fingerprint",
            "suppressed",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        assert_eq!(row.len(), header.len());
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "cell {cell:?} could run as a formula"
            );
        }
    }
    let hostile = rows.iter().find(|r| &r[1] == "iac.k8s.privileged").unwrap();
    assert_eq!(&hostile[8], format!("'{HOSTILE}"));
    assert_eq!(&hostile[5], "./k8s/deploy, \"prod\".yaml");

    // Order and lifecycle columns.
    assert_eq!(&rows[0][0], "critical");
    let stored = rows.iter().find(|r| &r[4] == "aws_s3_bucket.logs").unwrap();
    assert_eq!(&stored[9], "open");
    assert_eq!(&stored[10], "2026-03-01T09:00:00Z");
    assert_eq!(&stored[12], "2026-03-31T09:00:00Z");
    assert_eq!(&stored[14], "false");
    let archive = rows
        .iter()
        .find(|r| &r[4] == "aws_s3_bucket.archive")
        .unwrap();
    assert_eq!(&archive[14], "true");
}

#[test]
fn html_escapes_everything_and_loads_nothing() {
    let html = rendered(Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'"
    ));
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(!html.contains("<img"), "unescaped img tag");
    assert!(!html.contains("<b>"), "unescaped rule title markup");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("prod/Deployment/&lt;img src=x&gt;"));
    assert!(!html.contains("href=\"javascript:"));
    assert!(html.contains(
        "<a href=\"https://kubernetes.io/docs/concepts/security/pod-security-standards/\""
    ));
    for external in ["<link", "<iframe", "<object", " src=\"", "@import", "url("] {
        assert!(
            !html.contains(external),
            "page references an external asset: {external}"
        );
    }
    // Grouped by rule, most severe first; the rule without metadata still shows.
    let ssh = html.find("Security group allows SSH").unwrap();
    let s3 = html.find("S3 bucket is not encrypted").unwrap();
    assert!(ssh < s3);
    assert!(html.contains("CloudTrail log file validation is off"));
    assert!(html.contains("expected `}` to close the block opened on line 3"));
}

#[test]
fn table_lists_findings_summary_and_errors_without_escape_codes() {
    let mut report = fixture();
    report.items[1]
        .finding
        .message
        .push_str("\x1b[2J\x1b]0;pwned\x07");
    let table = render_to_string(&report, Format::Table).unwrap();
    assert!(!table.contains('\x1b') && !table.contains('\x07'));
    assert!(
        table.contains("6 findings: 1 critical, 2 high, 1 medium, 1 low, 1 info (2 suppressed)")
    );
    assert!(table
        .contains("error: infra/broken.tf:7: expected `}` to close the block opened on line 3"));
    assert!(table.contains("suppressed (inline)"));
    let critical = table.find("critical").unwrap();
    let info = table.find("info ").unwrap();
    assert!(critical < info);
}

#[test]
fn json_document_is_stable_and_complete() {
    let json: Value = serde_json::from_str(&rendered(Format::Json)).unwrap();
    assert_eq!(json["tool"]["name"], "palisade");
    assert_eq!(json["tool"]["version"], "0.1.0-test");
    assert_eq!(json["generated_at"], "2026-03-15T12:00:00Z");
    assert_eq!(json["summary"]["total"], 6);
    assert_eq!(json["summary"]["suppressed"], 2);
    assert_eq!(json["summary"]["by_severity"]["high"], 2);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 6);
    for finding in findings {
        for key in [
            "rule_id",
            "severity",
            "fingerprint",
            "suppressed",
            "status",
            "first_seen",
            "last_seen",
            "sla_due_at",
        ] {
            assert!(finding.get(key).is_some(), "finding lacks {key}");
        }
    }
    assert_eq!(findings[0]["severity"], "critical");
    assert_eq!(json["errors"][0]["line"], 7);
}
