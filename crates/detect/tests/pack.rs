//! The built-in packs against a generated log set with planted attacks
//! (`support/planted.rs`): the alerts must be exactly those listed in
//! `support/planted_alerts.txt`.
//!
//! Set `PALISADE_UPDATE_FIXTURES=1` to rewrite the fixture after a
//! deliberate change (and review the diff).

#[path = "support/planted.rs"]
mod planted;

use std::path::{Path, PathBuf};

use palisade_detect::{build_alerts, parse_timespan, FieldMapping, Loader, RuleSet};
use palisade_lake::{discover, InputObject, Lake, Source};

fn ingest(lake: &Lake, source: Source, path: &Path) -> Vec<(Source, PathBuf)> {
    let mut batch = lake.begin(source);
    for file in discover(source, path).expect("discover") {
        batch
            .add(&InputObject::read(&file).expect("read"))
            .expect("add");
    }
    let summary = batch.commit().expect("commit");
    assert_eq!(summary.quarantined, 0);
    summary.files.into_iter().map(|f| (source, f)).collect()
}

fn builtin() -> RuleSet {
    let mut loader = Loader::new(FieldMapping::default());
    loader.add_builtin();
    let rules = loader.build();
    assert!(
        rules.problems().is_empty(),
        "built-in rules must all load: {:?}",
        rules.problems()
    );
    rules
}

#[test]
fn builtin_packs_cover_the_issue() {
    let rules = builtin();
    let cloudtrail = rules.sigma_rules(Source::CloudTrail);
    let correlations = rules
        .rules()
        .iter()
        .filter(|r| r.kind == palisade_detect::RuleKind::Correlation && r.key.starts_with("aws_"))
        .count();
    assert!(
        cloudtrail + correlations >= 40,
        "{cloudtrail} CloudTrail rules and {correlations} correlations"
    );
    for key in [
        "aws_root_activity",
        "aws_root_login_without_mfa",
        "aws_console_brute_force_success",
        "aws_cloudtrail_stop_logging",
        "aws_cloudtrail_delete_trail",
        "aws_cloudtrail_update_trail",
        "aws_guardduty_disabled",
        "aws_config_disabled",
        "aws_securityhub_disabled",
        "aws_access_key_for_other_user",
        "aws_admin_policy_attached",
        "aws_security_group_open_to_world",
        "aws_s3_bucket_acl_public",
        "aws_kms_key_disabled",
        "aws_kms_key_deletion_scheduled",
        "aws_secrets_read_burst",
        "aws_iam_user_console_access",
        "aws_recon_access_denied",
        "k8s_exec_into_pod",
        "k8s_privileged_pod",
        "k8s_secret_read_unusual_principal",
        "k8s_cluster_admin_binding",
        "sql_aws_access_denied_burst",
    ] {
        assert!(rules.rules().iter().any(|r| r.key == key), "missing {key}");
    }
}

#[test]
fn planted_attacks_raise_exactly_the_expected_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let lake = Lake::new(dir.path().join("lake"));
    let cloudtrail = planted::write_cloudtrail(&logs.join("cloudtrail"), 3000);
    let k8s = planted::write_k8s_audit(&logs.join("k8s"), 500);
    let mut files = ingest(&lake, Source::CloudTrail, &cloudtrail);
    files.extend(ingest(&lake, Source::K8sAudit, &k8s));

    let rules = builtin();
    let scan = rules.scan_files(&files).expect("scan");
    assert_eq!(
        scan.events,
        3000 + planted::attacks().len() as u64 + 500 + 7
    );
    let correlations = rules.correlate(&scan.hits);
    let start = scan.min_time.expect("events") - rules.longest_sql_window();
    let end = scan.max_time.expect("events") + 1;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sql = runtime
        .block_on(rules.run_sql(&lake, start, end))
        .expect("SQL detections");
    let alerts = build_alerts(
        &rules,
        &scan.hits,
        &correlations,
        &sql,
        parse_timespan("1h").expect("1h"),
    );

    let actual: Vec<String> = alerts
        .iter()
        .map(|a| {
            format!(
                "{} | {} | {} | {} | {} .. {} | {}",
                a.rule,
                a.severity.as_str(),
                a.entity,
                a.count,
                a.first_time.format("%H:%M:%S"),
                a.last_time.format("%H:%M:%S"),
                a.event_ids.join(",")
            )
        })
        .collect();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/planted_alerts.txt");
    if std::env::var_os("PALISADE_UPDATE_FIXTURES").is_some() {
        std::fs::write(&fixture, actual.join("\n") + "\n").expect("write the fixture");
    }
    let expected = std::fs::read_to_string(&fixture).expect("the fixture exists");
    let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(actual, expected, "alerts differ from {}", fixture.display());
}
