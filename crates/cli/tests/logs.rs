//! End-to-end tests of `palisade logs`: the CloudTrail fixtures of the lake
//! crate ingested by the real binary into a temporary PALISADE_HOME.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lake/tests/fixtures/cloudtrail")
}

fn palisade(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LAKE")
        .env_remove("PALISADE_LOG")
        .current_dir(home);
    cmd
}

fn ingest_json(home: &Path, path: &Path) -> Value {
    let output = palisade(home)
        .args([
            "logs",
            "ingest",
            "--source",
            "cloudtrail",
            "--format",
            "json",
        ])
        .arg(path)
        .output()
        .expect("palisade runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON summary")
}

fn query_csv(home: &Path, sql: &str) -> String {
    let output = palisade(home)
        .args(["logs", "query", "--format", "csv", sql])
        .output()
        .expect("palisade runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn counts(summary: &Value) -> [u64; 5] {
    [
        "files_found",
        "files_ingested",
        "files_already_ingested",
        "records",
        "quarantined",
    ]
    .map(|key| summary[key].as_u64().unwrap_or(u64::MAX))
}

#[test]
fn ingesting_the_same_files_again_adds_nothing() {
    let home = TempDir::new().expect("temp dir");
    let first = ingest_json(home.path(), &fixtures());
    assert_eq!(counts(&first), [5, 5, 0, 11, 5]);
    assert_eq!(first["parquet_files"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        first["lake"].as_str().map(PathBuf::from),
        Some(home.path().join("lake")),
        "the lake defaults to $PALISADE_HOME/lake"
    );

    let again = ingest_json(home.path(), &fixtures());
    assert_eq!(counts(&again), [5, 0, 5, 0, 0]);
    assert_eq!(again["batch"], Value::Null);

    // The same content under another path is the same object.
    let copy = home.path().join("copy");
    std::fs::create_dir(&copy).expect("copy dir");
    let one = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/23/\
               111122223333_CloudTrail_us-east-1_20261123T0805Z_Ab12Cd34Ef56Gh78.json.gz";
    std::fs::copy(fixtures().join(one), copy.join("renamed.json.gz")).expect("copied");
    let copied = ingest_json(home.path(), &copy);
    assert_eq!(counts(&copied), [1, 0, 1, 0, 0]);

    assert_eq!(
        query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail"),
        "n\n11\n"
    );

    let text = palisade(home.path())
        .args(["logs", "ingest", "--source", "cloudtrail"])
        .arg(fixtures())
        .output()
        .expect("palisade runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with("nothing new: all 5 cloudtrail file(s) were ingested before\n"),
        "{text}"
    );
    assert!(text.contains("already ingested   5 (skipped)\n"), "{text}");
}

#[test]
fn the_text_summary_names_the_quarantine() {
    let home = TempDir::new().expect("temp dir");
    let lake = home.path().join("elsewhere");
    let output = palisade(home.path())
        .args(["logs", "ingest", "--source", "cloudtrail", "--lake"])
        .arg(&lake)
        .arg(fixtures())
        .output()
        .expect("palisade runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("files ingested     5\n"), "{text}");
    assert!(text.contains("records written    11\n"), "{text}");
    assert!(
        text.contains(&format!(
            "quarantined        5 (see {}/_quarantine/source=cloudtrail/",
            lake.display()
        )),
        "{text}"
    );
    assert!(lake.join("source=cloudtrail/dt=2026-11-23").is_dir());
    assert!(!home.path().join("lake").exists());
}

#[test]
fn tail_filters_by_action_and_time() {
    let home = TempDir::new().expect("temp dir");
    ingest_json(home.path(), &fixtures());
    let output = palisade(home.path())
        .args([
            "logs",
            "tail",
            "--action",
            "ConsoleLogin",
            "--since",
            "2026-11-23T08:02:00Z",
            "--format",
            "csv",
        ])
        .output()
        .expect("palisade runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "time,actor,action,outcome,src_ip,region,account,resource,error_code\n\
         2026-11-23T08:30:00Z,arn:aws:iam::111122223333:root,ConsoleLogin,success,198.51.100.23,us-east-1,111122223333,,\n\
         2026-11-23T08:02:40Z,arn:aws:iam::111122223333:user/alice,ConsoleLogin,success,203.0.113.50,us-east-1,111122223333,,\n"
    );
}

#[test]
fn bad_queries_and_arguments_exit_2() {
    let home = TempDir::new().expect("temp dir");
    let output = palisade(home.path())
        .args(["logs", "query", "SELECT nope FROM cloudtrail"])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("query failed"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = palisade(home.path())
        .args(["logs", "tail", "--since", "yesterday"])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--since"));

    let output = palisade(home.path())
        .args(["logs", "ingest", "--source", "cloudtrail", "does-not-exist"])
        .output()
        .expect("palisade runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist"));
}

#[test]
fn kubernetes_audit_logs_are_a_second_table() {
    let home = TempDir::new().expect("temp dir");
    let output = palisade(home.path())
        .args([
            "logs",
            "ingest",
            "--source",
            "k8s-audit",
            "--format",
            "json",
        ])
        .arg(fixtures().join("../k8s-audit"))
        .output()
        .expect("palisade runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    assert_eq!(counts(&summary), [1, 1, 0, 4, 2]);
    assert_eq!(summary["source"], "k8s_audit");
    assert_eq!(
        query_csv(
            home.path(),
            "SELECT actor, object_subresource FROM k8s_audit WHERE object_subresource = 'exec'"
        ),
        "actor,object_subresource\nalice@example.com,exec\n"
    );
    let again = ingest_json(home.path(), &fixtures());
    assert_eq!(
        counts(&again),
        [5, 5, 0, 11, 5],
        "cloudtrail has its own manifest"
    );
}
