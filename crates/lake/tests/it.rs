//! The lake end to end: the CloudTrail fixtures ingested into a temporary
//! lake, queried with SQL, compared with the expected results next to them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use palisade_lake::quarantine::QuarantineEntry;
use palisade_lake::{
    discover, Added, IngestSummary, InputObject, Lake, ObjectOutcome, ParseOptions, QueryFormat,
    Source, TailFilter,
};
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected(name: &str) -> String {
    let path = fixtures().join("expected").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ingest(lake: &Lake, path: &Path) -> IngestSummary {
    let mut batch = lake.begin(Source::CloudTrail);
    for file in discover(Source::CloudTrail, path).expect("fixtures listed") {
        let object = InputObject::read(&file).expect("fixture readable");
        batch.add(&object).expect("lake writable");
    }
    batch.commit().expect("batch committed")
}

fn ingested_fixtures() -> (TempDir, Lake, IngestSummary) {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let summary = ingest(&lake, &fixtures().join("cloudtrail"));
    (dir, lake, summary)
}

async fn csv(lake: &Lake, sql: &str) -> String {
    render(lake, sql, QueryFormat::Csv).await
}

async fn render(lake: &Lake, sql: &str, format: QueryFormat) -> String {
    let result = lake
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    result.write(format, &mut out).expect("rendered");
    String::from_utf8(out).expect("utf-8 output")
}

const ROWS_SQL: &str = "SELECT time, actor, action, outcome, src_ip, region, account, resource, \
                        error_code, dt FROM cloudtrail ORDER BY time";

#[tokio::test]
async fn cloudtrail_fixtures_give_the_expected_rows() {
    let (_dir, lake, summary) = ingested_fixtures();
    assert_eq!(summary.objects.len(), 5, "the digest file is skipped");
    assert_eq!(summary.records, 11);
    assert_eq!(summary.quarantined, 5);
    let batch = summary.batch.clone().expect("a batch id");
    let files: Vec<String> = summary
        .files
        .iter()
        .map(|f| {
            f.strip_prefix(lake.root())
                .expect("inside the lake")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        files,
        [
            format!("source=cloudtrail/dt=2026-11-23/part-{batch}.parquet"),
            format!("source=cloudtrail/dt=2026-11-24/part-{batch}.parquet"),
        ]
    );
    let per_object: Vec<(String, u64, u64)> = summary
        .objects
        .iter()
        .map(|o| {
            let name = o.key.rsplit('/').next().unwrap_or_default().to_string();
            (name, o.records, o.quarantined)
        })
        .collect();
    assert_eq!(
        per_object,
        [
            (
                "111122223333_CloudTrail_eu-west-1_20261124T1020Z_Qr78St90Uv12Wx34.json.gz"
                    .to_string(),
                2,
                1
            ),
            (
                "111122223333_CloudTrail_us-east-1_20261123T0805Z_Ab12Cd34Ef56Gh78.json.gz"
                    .to_string(),
                4,
                0
            ),
            (
                "111122223333_CloudTrail_us-east-1_20261124T0005Z_Ij90Kl12Mn34Op56.json.gz"
                    .to_string(),
                2,
                0
            ),
            (
                "111122223333_CloudTrail_us-west-2_20261124T1205Z_truncated.json.gz".to_string(),
                1,
                2
            ),
            (
                "111122223333_CloudTrail_us-west-2_20261124T1210Z_invalid.json".to_string(),
                2,
                2
            ),
        ]
    );
    assert!(summary.objects[0]
        .key
        .starts_with("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/24/"));

    assert_eq!(csv(&lake, ROWS_SQL).await, expected("cloudtrail_rows.csv"));
}

#[tokio::test]
async fn bad_input_is_quarantined_with_object_offset_and_reason() {
    let (_dir, lake, summary) = ingested_fixtures();
    let path = summary.quarantine_file.expect("a quarantine file");
    assert_eq!(
        path.strip_prefix(lake.root()).ok(),
        Some(Path::new(&format!(
            "_quarantine/source=cloudtrail/{}.jsonl",
            summary.batch.unwrap_or_default()
        )))
    );
    let text = std::fs::read_to_string(&path).expect("quarantine readable");
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let entry: QuarantineEntry = serde_json::from_str(line).expect("a quarantine entry");
            assert_eq!(entry.source, "cloudtrail");
            assert_eq!(entry.sha256.len(), 64);
            let name = entry
                .object
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let index = entry
                .record_index
                .map_or("-".to_string(), |i| i.to_string());
            let offset = entry.byte_offset.map_or("-".to_string(), |o| o.to_string());
            let record = if entry.record.is_some() {
                "record kept"
            } else {
                "no record"
            };
            format!("{name}\t{index}\t{offset}\t{record}\t{}\n", entry.reason)
        })
        .collect();
    assert_eq!(lines.concat(), expected("cloudtrail_quarantine.tsv"));
}

#[tokio::test]
async fn the_same_objects_again_rewrite_the_same_files() {
    let (_dir, lake, first) = ingested_fixtures();
    // As after a crash between writing the files and recording the manifest.
    let second = ingest(&lake, &fixtures().join("cloudtrail"));
    assert_eq!(first.batch, second.batch);
    assert_eq!(first.files, second.files);
    assert_eq!(
        csv(&lake, "SELECT count(*) AS n FROM cloudtrail").await,
        "n\n11\n"
    );
}

#[tokio::test]
async fn a_day_filter_reads_only_that_partition() {
    let (_dir, lake, _) = ingested_fixtures();
    assert_eq!(
        csv(
            &lake,
            "SELECT action FROM cloudtrail WHERE dt = '2026-11-23' ORDER BY time"
        )
        .await,
        "action\nConsoleLogin\nConsoleLogin\nAssumeRole\nConsoleLogin\nCreateUser\n"
    );
    let plan = csv(
        &lake,
        "EXPLAIN SELECT action FROM cloudtrail WHERE dt = '2026-11-23'",
    )
    .await;
    assert!(plan.contains("dt=2026-11-23/part-"), "{plan}");
    assert!(!plan.contains("dt=2026-11-24"), "{plan}");
}

#[tokio::test]
async fn typical_questions_have_exact_answers() {
    let (_dir, lake, _) = ingested_fixtures();
    assert_eq!(
        csv(
            &lake,
            "SELECT src_ip, count(*) AS failures FROM cloudtrail \
             WHERE action = 'ConsoleLogin' AND outcome = 'failure' GROUP BY src_ip"
        )
        .await,
        "src_ip,failures\n203.0.113.50,1\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT actor, mfa FROM cloudtrail WHERE identity_type = 'Root' AND action = 'ConsoleLogin'"
        )
        .await,
        "actor,mfa\narn:aws:iam::111122223333:root,false\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT actor, error_code, event_source FROM cloudtrail WHERE error_code = 'AccessDenied'"
        )
        .await,
        "actor,error_code,event_source\narn:aws:iam::111122223333:user/bob,AccessDenied,secretsmanager.amazonaws.com\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT action FROM cloudtrail WHERE access_key_id = 'AKIABOBEXAMPLE000002' ORDER BY time"
        )
        .await,
        "action\nGetSecretValue\nListBuckets\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT action FROM cloudtrail WHERE raw LIKE '%\"Principal\":\"*\"%'"
        )
        .await,
        "action\nPutBucketPolicy\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT source, count(*) AS n FROM events WHERE time >= TIMESTAMP '2026-11-24T00:00:00Z' GROUP BY source"
        )
        .await,
        "source,n\ncloudtrail,6\n"
    );
}

#[tokio::test]
async fn tail_filters_find_the_latest_matching_events() {
    let (_dir, lake, _) = ingested_fixtures();
    let filter = TailFilter {
        source: Source::CloudTrail,
        actor: Some("assumed-role/deploy".into()),
        action: None,
        since: Some(palisade_lake::parse_since("2026-11-24", chrono::Utc::now()).expect("a date")),
        limit: 3,
    };
    assert_eq!(
        csv(&lake, &filter.to_sql()).await,
        "time,actor,action,outcome,src_ip,region,account,resource,error_code\n\
         2026-11-24T12:06:00Z,arn:aws:sts::111122223333:assumed-role/deploy/alice,GetCallerIdentity,success,203.0.113.77,us-west-2,111122223333,,\n\
         2026-11-24T12:05:00Z,arn:aws:sts::111122223333:assumed-role/deploy/alice,DeleteTrail,success,203.0.113.77,us-west-2,111122223333,main,\n\
         2026-11-24T12:00:00Z,arn:aws:sts::111122223333:assumed-role/deploy/alice,StopLogging,success,203.0.113.77,us-west-2,111122223333,arn:aws:cloudtrail:us-west-2:111122223333:trail/main,\n"
    );
}

#[tokio::test]
async fn results_render_as_json_and_table() {
    let (_dir, lake, _) = ingested_fixtures();
    let sql =
        "SELECT time, action, error_code FROM cloudtrail WHERE region = 'eu-west-1' ORDER BY time";
    assert_eq!(
        render(&lake, sql, QueryFormat::Json).await,
        "[{\"time\":\"2026-11-24T10:15:00Z\",\"action\":\"GetSecretValue\",\"error_code\":\"AccessDenied\"},\
         {\"time\":\"2026-11-24T10:16:00Z\",\"action\":\"ListBuckets\",\"error_code\":null}]\n"
    );
    assert_eq!(
        render(&lake, sql, QueryFormat::Table).await,
        "+----------------------+----------------+--------------+\n\
         | time                 | action         | error_code   |\n\
         +----------------------+----------------+--------------+\n\
         | 2026-11-24T10:15:00Z | GetSecretValue | AccessDenied |\n\
         | 2026-11-24T10:16:00Z | ListBuckets    |              |\n\
         +----------------------+----------------+--------------+\n"
    );
}

#[tokio::test]
async fn an_empty_lake_has_empty_tables() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("nothing-here"));
    assert_eq!(
        csv(&lake, "SELECT action, dt FROM cloudtrail").await,
        "action,dt\n"
    );
    assert_eq!(
        render(&lake, "SELECT count(*) AS n FROM events", QueryFormat::Json).await,
        "[{\"n\":0}]\n"
    );
    assert!(!lake.root().exists(), "a query writes nothing");
    let empty = lake
        .begin(Source::CloudTrail)
        .commit()
        .expect("empty commit");
    assert_eq!(empty, IngestSummary::default());
}

#[tokio::test]
async fn queries_cannot_write() {
    let (dir, lake, _) = ingested_fixtures();
    let target = dir.path().join("copy.parquet");
    for sql in [
        format!("COPY (SELECT * FROM cloudtrail) TO '{}'", target.display()),
        "CREATE TABLE t AS SELECT 1".to_string(),
        "CREATE VIEW v AS SELECT 1".to_string(),
        "INSERT INTO cloudtrail SELECT * FROM cloudtrail".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        let error = lake.query(&sql).await.expect_err(&sql);
        assert!(
            error.to_string().starts_with("query failed"),
            "{sql}: {error}"
        );
    }
    assert!(!target.exists());
    let error = lake
        .query("SELECT nope FROM cloudtrail")
        .await
        .expect_err("unknown column");
    assert!(error.to_string().contains("nope"), "{error}");
}

#[test]
fn parquet_files_are_zstd_compressed_and_self_describing() {
    use datafusion::parquet::basic::Compression;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    let (_dir, _lake, summary) = ingested_fixtures();
    for path in &summary.files {
        let file = std::fs::File::open(path).expect("part file");
        let reader = SerializedFileReader::new(file).expect("a Parquet file");
        let metadata = reader.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
        assert_eq!(names.first(), Some(&"time"));
        assert_eq!(names.last(), Some(&"raw"));
        assert!(!names.contains(&"dt") && !names.contains(&"source"));
        for group in metadata.row_groups() {
            for column in group.columns() {
                assert!(
                    matches!(column.compression(), Compression::ZSTD(_)),
                    "{}: {:?}",
                    column.column_path(),
                    column.compression()
                );
            }
        }
    }
}

#[test]
fn the_same_content_twice_in_one_batch_is_added_once() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path());
    let file = discover(Source::CloudTrail, &fixtures().join("cloudtrail"))
        .expect("fixtures listed")
        .remove(0);
    let bytes = std::fs::read(&file).expect("fixture readable");
    let mut batch = lake.begin(Source::CloudTrail);
    let first = batch
        .add(&InputObject::from_bytes(
            Path::new("a/x.json.gz"),
            bytes.clone(),
        ))
        .expect("added");
    assert!(matches!(first, Added::Ingested(ref o) if o.records == 2));
    let again = batch
        .add(&InputObject::from_bytes(Path::new("b/x.json.gz"), bytes))
        .expect("added");
    assert_eq!(again, Added::DuplicateInBatch);
    let summary = batch.commit().expect("committed");
    assert_eq!((summary.objects.len(), summary.records), (1, 2));
}

#[test]
fn an_uncommitted_batch_leaves_nothing_behind() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    {
        let mut batch = lake.begin(Source::CloudTrail);
        for file in discover(Source::CloudTrail, &fixtures().join("cloudtrail")).expect("listed") {
            batch
                .add(&InputObject::read(&file).expect("readable"))
                .expect("added");
        }
    }
    let leftovers: Vec<PathBuf> = walk(lake.root());
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn docs_describe_every_column() {
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lake.md");
    let docs = std::fs::read_to_string(&docs_path).expect("docs/lake.md");
    for source in Source::ALL {
        for field in source.file_schema().fields() {
            assert!(
                docs.contains(&format!("| `{}` |", field.name())),
                "docs/lake.md does not describe the {source} column `{}`",
                field.name()
            );
        }
    }
}

/// A Python with the `duckdb` package: `$PALISADE_DUCKDB_PYTHON`, else the
/// venv `.ci/run` sets up. Absent: the test is skipped with a message, unless
/// `.ci/run` said services are required.
fn duckdb_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("PALISADE_DUCKDB_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| Path::new(&home).join(".cache/palisade-venv/bin/python"))
        })
        .filter(|python| {
            std::process::Command::new(python)
                .args(["-c", "import duckdb"])
                .output()
                .is_ok_and(|output| output.status.success())
        });
    if candidate.is_none() {
        assert!(
            std::env::var_os("PALISADE_REQUIRE_SERVICES").is_none(),
            "no Python with duckdb (set PALISADE_DUCKDB_PYTHON or run .ci/run)"
        );
        eprintln!("skipped: no Python with duckdb; `bash .ci/run` installs it");
    }
    candidate
}

#[test]
fn duckdb_reads_the_same_files_with_hive_partitioning() {
    let Some(python) = duckdb_python() else {
        return;
    };
    let (_dir, lake, _) = ingested_fixtures();
    let output = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_with_duckdb.py"))
        .arg(lake.root())
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "source,dt,events,first,time_type\n\
         cloudtrail,2026-11-23,5,2026-11-23T08:01:12Z,TIMESTAMP WITH TIME ZONE\n\
         cloudtrail,2026-11-24,6,2026-11-24T00:01:10Z,TIMESTAMP WITH TIME ZONE\n\
         action,actor,mfa\n\
         ConsoleLogin,arn:aws:iam::111122223333:root,false\n\
         CreateUser,arn:aws:sts::111122223333:assumed-role/deploy/alice,true\n"
    );
}

#[tokio::test]
async fn kubernetes_audit_lines_become_rows_and_bad_lines_are_quarantined() {
    let (_dir, lake, _) = ingested_fixtures();
    let mut batch = lake.begin(Source::K8sAudit);
    for file in discover(Source::K8sAudit, &fixtures().join("k8s-audit")).expect("listed") {
        batch
            .add(&InputObject::read(&file).expect("readable"))
            .expect("added");
    }
    let summary = batch.commit().expect("committed");
    assert_eq!(
        (summary.objects.len(), summary.records, summary.quarantined),
        (1, 4, 2)
    );
    let quarantine =
        std::fs::read_to_string(summary.quarantine_file.expect("a quarantine file")).expect("read");
    let reasons: Vec<(Option<u64>, String)> = quarantine
        .lines()
        .map(|line| {
            let entry: QuarantineEntry = serde_json::from_str(line).expect("an entry");
            (entry.record_index, entry.reason)
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert_eq!(reasons[0].0, Some(3));
    assert!(
        reasons[0].1.starts_with("line is incomplete (truncated?)"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], (Some(4), "missing verb".to_string()));

    assert_eq!(
        csv(
            &lake,
            "SELECT time, actor, action, outcome, src_ip, resource, error_code, object_resource, \
             object_subresource, response_code, dt FROM k8s_audit ORDER BY time"
        )
        .await,
        "time,actor,action,outcome,src_ip,resource,error_code,object_resource,object_subresource,response_code,dt\n\
         2026-11-24T09:00:00.123456Z,alice@example.com,create,success,10.0.4.21,/api/v1/namespaces/shop/pods/api-0/exec,,pods,exec,101,2026-11-24\n\
         2026-11-24T09:05:00Z,system:serviceaccount:ci:deployer,create,success,10.0.7.3,/api/v1/namespaces/shop/pods,,pods,,201,2026-11-24\n\
         2026-11-24T09:06:30.500Z,system:serviceaccount:shop:api,get,failure,10.0.4.99,/api/v1/namespaces/kube-system/secrets/cloud-credentials,Forbidden,secrets,,403,2026-11-24\n\
         2026-11-24T23:59:59.999999Z,mallory@example.com,create,success,203.0.113.9,/apis/rbac.authorization.k8s.io/v1/clusterrolebindings,,clusterrolebindings,,201,2026-11-24\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT actor FROM k8s_audit WHERE raw LIKE '%\"privileged\":true%'"
        )
        .await,
        "actor\nsystem:serviceaccount:ci:deployer\n"
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT source, count(*) AS n, sum(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failed \
             FROM events WHERE dt = '2026-11-24' GROUP BY source ORDER BY source"
        )
        .await,
        "source,n,failed\ncloudtrail,6,1\nk8s_audit,4,1\n"
    );
}

fn ingest_source(lake: &Lake, source: Source, path: &Path, options: ParseOptions) -> IngestSummary {
    let mut batch = lake.begin_with(source, options);
    for file in discover(source, path).expect("fixtures listed") {
        let object = InputObject::read(&file).expect("fixture readable");
        batch.add(&object).expect("lake writable");
    }
    batch.commit().expect("batch committed")
}

fn quarantine_reasons(summary: &IngestSummary) -> Vec<String> {
    let path = summary.quarantine_file.as_ref().expect("a quarantine file");
    std::fs::read_to_string(path)
        .expect("quarantine readable")
        .lines()
        .map(|line| {
            let entry: QuarantineEntry = serde_json::from_str(line).expect("a quarantine entry");
            format!(
                "{}\t{}\t{}",
                entry
                    .record_index
                    .map_or("-".to_string(), |i| i.to_string()),
                entry.byte_offset.map_or("-".to_string(), |o| o.to_string()),
                entry.reason
            )
        })
        .collect()
}

#[tokio::test]
async fn application_json_lines_are_mapped_and_bad_lines_quarantined() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let summary = ingest_source(
        &lake,
        Source::Json,
        &fixtures().join("json"),
        ParseOptions::default(),
    );
    assert_eq!((summary.records, summary.quarantined), (3, 3));
    assert_eq!(
        quarantine_reasons(&summary),
        vec![
            "2\t362\tline is incomplete (truncated?): EOF while parsing a string at line 1 column 71",
            "3\t434\tline is not valid JSON: expected ident at line 1 column 2",
            "4\t450\tmissing time (looked for time, timestamp, @timestamp, ts, datetime, date, @t, t)",
        ]
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT time, actor, action, outcome, src_ip, user_agent, resource, request_id, \
             error_code, level, message, user_id, service, dt FROM json ORDER BY time"
        )
        .await,
        expected("json_rows.csv")
    );
    // A custom mapping: the user id from another key.
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let mut options = ParseOptions::default();
    options.json.set("user_id=service").expect("valid mapping");
    ingest_source(&lake, Source::Json, &fixtures().join("json"), options);
    assert_eq!(
        csv(&lake, "SELECT user_id FROM json ORDER BY time").await,
        "user_id\napi\nbilling\n\"\"\n"
    );
}

#[tokio::test]
async fn syslog_lines_of_both_rfcs_become_rows() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let options = ParseOptions {
        syslog_reference: Some(
            chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
                .expect("valid")
                .with_timezone(&chrono::Utc),
        ),
        ..ParseOptions::default()
    };
    let summary = ingest_source(&lake, Source::Syslog, &fixtures().join("syslog"), options);
    assert_eq!((summary.records, summary.quarantined), (4, 3));
    assert_eq!(
        quarantine_reasons(&summary),
        vec![
            "3\t298\tpriority <999> is above 191",
            "4\t350\tnot a syslog line: no `Mmm dd hh:mm:ss` or RFC 3339 time at `this line has no time`",
            "5\t372\tno timestamp (`-`): the line cannot be placed in time",
        ]
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT time, action, outcome, src_ip, facility, severity, hostname, app_name, procid, \
             msgid, structured_data, message, format, dt FROM syslog ORDER BY time"
        )
        .await,
        expected("syslog_rows.csv")
    );
}

#[test]
fn parallel_ingest_skips_known_objects_and_reports_in_order() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let paths = discover(Source::CloudTrail, &fixtures().join("cloudtrail")).expect("listed");
    let first = InputObject::read(&paths[0]).expect("readable");
    let known: HashSet<String> = [first.sha256.clone()].into();
    let mut items: Vec<(String, PathBuf)> = paths
        .iter()
        .map(|p| (p.display().to_string(), p.clone()))
        .collect();
    items.push(("missing".to_string(), dir.path().join("missing.json")));
    items.push(("copy".to_string(), paths[1].clone()));
    let mut batch = lake.begin(Source::CloudTrail);
    let reports = batch
        .add_parallel(items.clone(), |p: PathBuf| InputObject::read(&p), &known)
        .expect("lake writable");
    let labels: Vec<&str> = reports.iter().map(|r| r.label.as_str()).collect();
    let expected_labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, expected_labels, "reports come back in item order");
    assert_eq!(
        reports[0].outcome,
        ObjectOutcome::AlreadyIngested {
            sha256: first.sha256.clone()
        }
    );
    assert!(matches!(reports[1].outcome, ObjectOutcome::Ingested(_)));
    assert!(
        matches!(&reports[paths.len()].outcome, ObjectOutcome::Unreadable(e) if e.contains("missing.json"))
    );
    assert_eq!(
        reports[paths.len() + 1].outcome,
        ObjectOutcome::DuplicateInBatch
    );
    let summary = batch.commit().expect("committed");
    assert_eq!(summary.objects.len(), paths.len() - 1);

    // The same objects through `add` one by one give the same files.
    let serial_dir = TempDir::new().expect("temp dir");
    let serial = Lake::new(serial_dir.path().join("lake"));
    let mut batch = serial.begin(Source::CloudTrail);
    for path in &paths[1..] {
        batch
            .add(&InputObject::read(path).expect("readable"))
            .expect("lake writable");
    }
    let serial_summary = batch.commit().expect("committed");
    assert_eq!(summary.batch, serial_summary.batch);
    for (parallel, serial) in summary.files.iter().zip(&serial_summary.files) {
        assert_eq!(
            std::fs::read(parallel).expect("readable"),
            std::fs::read(serial).expect("readable"),
            "{}",
            parallel.display()
        );
    }
}

fn batches(summaries: &[&IngestSummary]) -> HashSet<String> {
    summaries.iter().filter_map(|s| s.batch.clone()).collect()
}

#[tokio::test]
async fn compaction_merges_recorded_parts_keeps_every_row_and_is_idempotent() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let paths = discover(Source::CloudTrail, &fixtures().join("cloudtrail")).expect("listed");
    // One batch per file: several small parts in the same partitions.
    let mut summaries = Vec::new();
    for path in &paths {
        let mut batch = lake.begin(Source::CloudTrail);
        batch
            .add(&InputObject::read(path).expect("readable"))
            .expect("lake writable");
        summaries.push(batch.commit().expect("committed"));
    }
    let before = csv(&lake, ROWS_SQL).await;
    let parts_before = lake
        .parts(Source::CloudTrail, "2026-11-24")
        .expect("listed");
    assert!(parts_before.len() >= 3, "{parts_before:?}");

    // The last batch is not in the manifest (as after a crash before it was recorded).
    let recorded = batches(
        &summaries
            .iter()
            .take(summaries.len() - 1)
            .collect::<Vec<_>>(),
    );
    let unrecorded = summaries.last().and_then(|s| s.files.first()).cloned();
    let compacted = lake
        .compact(Source::CloudTrail, &recorded)
        .await
        .expect("compacted");
    assert!(!compacted.is_empty());
    assert_eq!(
        csv(&lake, ROWS_SQL).await,
        before,
        "the same rows, no more, no less"
    );
    if let Some(unrecorded) = unrecorded {
        assert!(
            unrecorded.exists(),
            "an unrecorded batch's part is left alone"
        );
    }
    for partition in &compacted {
        assert!(partition.inputs.iter().all(|input| !input.exists()));
        assert!(partition.output.exists());
    }
    // Idempotent: everything recorded now, one more pass at most, then nothing.
    let all = batches(&summaries.iter().collect::<Vec<_>>());
    lake.compact(Source::CloudTrail, &all)
        .await
        .expect("compacted");
    assert_eq!(
        lake.compact(Source::CloudTrail, &all)
            .await
            .expect("compacted"),
        vec![]
    );
    for day in lake.days(Source::CloudTrail).expect("days") {
        assert_eq!(
            lake.parts(Source::CloudTrail, &day).expect("parts").len(),
            1,
            "{day}"
        );
    }
    assert_eq!(csv(&lake, ROWS_SQL).await, before);
    // Sorted by time within the merged file.
    assert_eq!(
        csv(&lake, "SELECT count(*) AS n FROM cloudtrail").await,
        "n\n11\n"
    );
}

#[tokio::test]
async fn an_interrupted_compaction_is_finished_by_the_next_run() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    let paths = discover(Source::CloudTrail, &fixtures().join("cloudtrail")).expect("listed");
    let mut summaries = Vec::new();
    for path in &paths {
        let mut batch = lake.begin(Source::CloudTrail);
        batch
            .add(&InputObject::read(path).expect("readable"))
            .expect("lake writable");
        summaries.push(batch.commit().expect("committed"));
    }
    let before = csv(&lake, ROWS_SQL).await;
    let day_dir = lake.partition_dir(Source::CloudTrail, "2026-11-24");
    let parts = lake.parts(Source::CloudTrail, "2026-11-24").expect("parts");
    // As after a crash between the rename of the merged file and the
    // deletion of its inputs: a copy of one input stands in for the output.
    let output = day_dir.join("part-cfeedfacefeedface.parquet");
    std::fs::copy(&parts[0], &output).expect("copied");
    let journal = serde_json::json!({
        "output": "part-cfeedfacefeedface.parquet",
        "inputs": [parts[0].file_name().and_then(|n| n.to_str())],
    });
    std::fs::write(
        day_dir.join(".compaction-feedfacefeedface.json"),
        journal.to_string(),
    )
    .expect("journal written");
    // A journal whose output never made it: rolled back.
    std::fs::write(
        day_dir.join(".compaction-0000000000000000.json"),
        r#"{"output":"part-c0000000000000000.parquet","inputs":["part-x.parquet"]}"#,
    )
    .expect("journal written");
    let all = batches(&summaries.iter().collect::<Vec<_>>());
    lake.compact(Source::CloudTrail, &all)
        .await
        .expect("compacted");
    assert!(!parts[0].exists());
    let leftovers: Vec<_> = std::fs::read_dir(&day_dir)
        .expect("listed")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    assert_eq!(csv(&lake, ROWS_SQL).await, before);
}

#[tokio::test]
async fn retention_deletes_whole_partitions_past_their_age() {
    let (_dir, lake, _) = ingested_fixtures();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    assert_eq!(
        lake.expiring(Source::CloudTrail, 2, now).expect("listed"),
        vec![]
    );
    let expiring = lake.expiring(Source::CloudTrail, 1, now).expect("listed");
    assert_eq!(
        expiring
            .iter()
            .map(|e| (e.day.as_str(), e.files))
            .collect::<Vec<_>>(),
        vec![("2026-11-23", 1)]
    );
    let expired = lake.expire(Source::CloudTrail, 1, now).expect("expired");
    assert_eq!(expired, expiring);
    assert!(expired[0].bytes > 0);
    assert_eq!(
        lake.days(Source::CloudTrail).expect("days"),
        vec!["2026-11-24"]
    );
    assert_eq!(
        csv(&lake, "SELECT DISTINCT dt FROM cloudtrail").await,
        "dt\n2026-11-24\n"
    );
    assert_eq!(
        lake.expire(Source::CloudTrail, 1, now).expect("expired"),
        vec![]
    );
}
