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

fn run_json(home: &Path, args: &[&str]) -> Value {
    let output = palisade(home).args(args).output().expect("palisade runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn json_and_syslog_sources_with_a_field_mapping_and_a_year_reference() {
    let home = TempDir::new().expect("temp dir");
    let json = fixtures().join("../json");
    let summary = run_json(
        home.path(),
        &[
            "logs",
            "ingest",
            "--source",
            "json",
            "--field",
            "user_id=service",
            "-f",
            "json",
            json.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(counts(&summary), [1, 1, 0, 3, 3]);
    assert_eq!(
        query_csv(home.path(), "SELECT user_id FROM json ORDER BY time"),
        "user_id\napi\nbilling\n\"\"\n"
    );
    let syslog = fixtures().join("../syslog");
    let summary = run_json(
        home.path(),
        &[
            "logs",
            "ingest",
            "--source",
            "syslog",
            "--syslog-year-reference",
            "2026-11-24T12:00:00Z",
            "-f",
            "json",
            syslog.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(counts(&summary), [1, 1, 0, 4, 3]);
    assert_eq!(
        query_csv(
            home.path(),
            "SELECT source, count(*) AS n FROM events GROUP BY source ORDER BY source"
        ),
        "source,n\njson,3\nsyslog,4\n"
    );
    let bad = palisade(home.path())
        .args(["logs", "ingest", "--source", "json", "--field", "colour=x"])
        .arg(&json)
        .output()
        .expect("palisade runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("`colour` is not a field that can be mapped"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn compact_merges_parts_and_retention_deletes_and_records_old_days() {
    let home = TempDir::new().expect("temp dir");
    // One ingest per file: several parts per day.
    let files: Vec<PathBuf> = walk(&fixtures());
    for file in &files {
        ingest_json(home.path(), file);
    }
    let before = query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail");
    assert_eq!(before, "n\n11\n");
    let compacted = run_json(home.path(), &["logs", "compact", "-f", "json"]);
    let merged: Vec<(&str, usize)> = compacted
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            (
                p["day"].as_str().unwrap_or_default(),
                p["inputs"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(merged, vec![("2026-11-23", 2), ("2026-11-24", 4)]);
    assert_eq!(
        query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail"),
        before
    );
    assert_eq!(
        run_json(home.path(), &["logs", "compact", "-f", "json"]),
        Value::Array(vec![]),
        "idempotent"
    );

    // Both days are more than a day old: --dry-run lists, the real run deletes.
    let dry = run_json(
        home.path(),
        &[
            "logs",
            "retention",
            "--source",
            "cloudtrail",
            "--days",
            "1",
            "--dry-run",
            "-f",
            "json",
        ],
    );
    assert_eq!(dry.as_array().map(Vec::len), Some(2));
    assert_eq!(
        query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail"),
        before
    );
    let deleted = run_json(
        home.path(),
        &[
            "logs",
            "retention",
            "--source",
            "cloudtrail",
            "--days",
            "1",
            "-f",
            "json",
        ],
    );
    assert_eq!(deleted, dry);
    assert_eq!(
        query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail"),
        "n\n0\n"
    );
    // The deleted files stay in the manifest: ingesting them again adds nothing.
    let again = ingest_json(home.path(), &fixtures());
    assert_eq!(counts(&again), [5, 0, 5, 0, 0]);
    // Each deleted partition is in the hash-chained audit log, and the chain holds.
    let audit = palisade(home.path())
        .args(["audit", "list", "-f", "json"])
        .output()
        .expect("palisade runs");
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let retained: Vec<(String, String)> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON line"))
        .filter(|record| record["action"] == "lake.retention")
        .map(|record| {
            (
                record["target"].as_str().unwrap_or_default().to_string(),
                record["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut targets: Vec<&str> = retained.iter().map(|(target, _)| target.as_str()).collect();
    targets.sort_unstable();
    assert_eq!(
        targets,
        [
            "source=cloudtrail/dt=2026-11-23",
            "source=cloudtrail/dt=2026-11-24"
        ]
    );
    assert!(retained
        .iter()
        .all(|(_, detail)| detail.ends_with("retention 1 days")));
    let verify = palisade(home.path())
        .args(["audit", "verify"])
        .output()
        .expect("palisade runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("listed").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("CloudTrail-Digest") {
                    pending.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

mod support;

#[test]
fn cloudtrail_objects_are_ingested_from_s3_exactly_once() {
    let Some(moto) = support::start_moto(&[]) else {
        return;
    };
    // Upload the fixtures as CloudTrail delivers them, digest included.
    with_s3_client(
        &moto,
        &format!(
            "import os\n\
             s3.create_bucket(Bucket='trail-logs')\n\
             root = {:?}\n\
             for dirpath, _, names in os.walk(root):\n\
             \x20   for name in names:\n\
             \x20       path = os.path.join(dirpath, name)\n\
             \x20       s3.upload_file(path, 'trail-logs', 'org/' + os.path.relpath(path, root))\n",
            fixtures().display().to_string()
        ),
    );

    let home = TempDir::new().expect("temp dir");
    let ingest = |url: &str| {
        let output = palisade(home.path())
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args([
                "logs",
                "ingest",
                "--source",
                "cloudtrail",
                "-f",
                "json",
                url,
            ])
            .output()
            .expect("palisade runs");
        (
            output.status.code(),
            serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, first, stderr) = ingest("s3://trail-logs/org/AWSLogs/");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(counts(&first), [5, 5, 0, 11, 5], "the digest is skipped");
    assert_eq!(
        query_csv(home.path(), "SELECT count(*) AS n FROM cloudtrail"),
        "n\n11\n"
    );
    let (_, again, _) = ingest("s3://trail-logs/org/");
    assert_eq!(counts(&again), [5, 0, 5, 0, 0]);
    // A local copy of the same objects is the same objects.
    let local = ingest_json(home.path(), &fixtures());
    assert_eq!(counts(&local), [5, 0, 5, 0, 0]);
    let (code, _, stderr) = ingest("s3://no-such-bucket/");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot list s3://no-such-bucket/"),
        "{stderr}"
    );
}

/// Runs the Python `script` with `s3`, a boto3 client of the moto server,
/// defined; fails the test if the script fails. Its output.
fn with_s3_client(moto: &support::Moto, script: &str) -> std::process::Output {
    let program = format!(
        "import boto3\n\
         s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         {script}",
        moto.endpoint()
    );
    let output = std::process::Command::new(&moto.python)
        .args(["-c", &program])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The keys under `prefix` of a moto bucket, sorted.
fn bucket_keys(moto: &support::Moto, bucket: &str, prefix: &str) -> Vec<String> {
    let output = with_s3_client(
        moto,
        &format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket='{bucket}', Prefix='{prefix}'):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       print(o['Key'])\n"
        ),
    );
    let mut keys: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_lake_itself_on_s3_ingests_queries_compacts_detects_and_expires() {
    let Some(moto) = support::start_moto(&[]) else {
        return;
    };
    with_s3_client(&moto, "s3.create_bucket(Bucket='lake')\n");

    let home = TempDir::new().expect("temp dir");
    let run = |args: &[&str]| {
        let output = palisade(home.path())
            .env("PALISADE_LAKE", "s3://lake/security")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .output()
            .expect("palisade runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let json = |args: &[&str]| -> Value {
        serde_json::from_str(&run(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let count = || {
        run(&[
            "logs",
            "query",
            "-f",
            "csv",
            "SELECT count(*) AS n FROM cloudtrail",
        ])
    };

    // One ingest per file: several parts per day, as with a local lake.
    let files = walk(&fixtures());
    let mut records = 0;
    for file in &files {
        let path = file.to_string_lossy();
        let summary = json(&[
            "logs",
            "ingest",
            "--source",
            "cloudtrail",
            "-f",
            "json",
            &path,
        ]);
        records += summary["records"].as_u64().unwrap_or(0);
        assert_eq!(summary["lake"], "s3://lake/security");
    }
    assert_eq!(records, 11);
    assert_eq!(count(), "n\n11\n");
    let keys = bucket_keys(&moto, "lake", "security/");
    assert!(
        keys.iter()
            .filter(|k| k.ends_with(".parquet"))
            .all(|k| k.starts_with("security/source=cloudtrail/dt=2026-11-2")),
        "{keys:?}"
    );
    assert_eq!(
        keys.iter().filter(|k| k.ends_with(".parquet")).count(),
        6,
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("security/_quarantine/source=cloudtrail/")),
        "{keys:?}"
    );
    // Re-ingesting adds nothing.
    let fixtures_dir = fixtures();
    let again = json(&[
        "logs",
        "ingest",
        "--source",
        "cloudtrail",
        "-f",
        "json",
        &fixtures_dir.to_string_lossy(),
    ]);
    assert_eq!(counts(&again), [5, 0, 5, 0, 0]);
    assert_eq!(count(), "n\n11\n");
    // A time filter alone prunes the partitions listed.
    let plan = run(&[
        "logs",
        "query",
        "-f",
        "csv",
        "EXPLAIN SELECT action FROM cloudtrail WHERE time >= TIMESTAMP '2026-11-24 00:00:00'",
    ]);
    assert!(plan.contains("dt=2026-11-24/part-"), "{plan}");
    assert!(!plan.contains("dt=2026-11-23"), "{plan}");

    // Compaction merges the parts of each day in the bucket.
    let compacted = json(&["logs", "compact", "-f", "json"]);
    let merged: Vec<(&str, usize)> = compacted
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            (
                p["day"].as_str().unwrap_or_default(),
                p["inputs"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(merged, vec![("2026-11-23", 2), ("2026-11-24", 4)]);
    let parquet: Vec<String> = bucket_keys(&moto, "lake", "security/source=")
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert_eq!(parquet.len(), 2, "{parquet:?}");
    assert!(parquet.iter().all(|k| k.contains("/part-c")), "{parquet:?}");
    assert_eq!(count(), "n\n11\n");

    // Batch detection reads the bucket's parts.
    let detected = json(&[
        "detect",
        "run",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-26",
        "--no-store",
        "-f",
        "json",
    ]);
    assert_eq!(detected["events"], 11, "{detected}");
    assert_eq!(detected["files"], 2, "{detected}");

    // Retention deletes the partitions' objects.
    let deleted = json(&[
        "logs",
        "retention",
        "--source",
        "cloudtrail",
        "--days",
        "1",
        "-f",
        "json",
    ]);
    assert_eq!(deleted.as_array().map(Vec::len), Some(2));
    assert_eq!(
        bucket_keys(&moto, "lake", "security/source="),
        Vec::<String>::new()
    );
    assert_eq!(count(), "n\n0\n");
}
