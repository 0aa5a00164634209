//! Time filters prune partitions and row groups (proved with DataFusion's
//! scan metrics), and a lake on object storage behaves as a local one:
//! ingest, query, compaction and retention through an `ObjectStore`.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{collect, ExecutionPlan};
use palisade_lake::{InputObject, Lake, QueryFormat, Source};
use tempfile::TempDir;

const DAYS: [&str; 3] = ["2026-11-01", "2026-11-02", "2026-11-03"];
/// Events per day, 20 s apart from midnight.
const PER_DAY: usize = 3000;
const ROW_GROUP_ROWS: usize = 1000;

/// One CloudTrail object per day: `PER_DAY` events 20 s apart.
fn objects() -> Vec<InputObject> {
    DAYS.iter()
        .enumerate()
        .map(|(d, day)| {
            let start = Utc
                .with_ymd_and_hms(2026, 11, 1 + d as u32, 0, 0, 0)
                .single()
                .expect("valid day");
            let records: Vec<String> = (0..PER_DAY)
                .map(|i| {
                    let time = start + Duration::seconds(20 * i as i64);
                    format!(
                        r#"{{"eventVersion":"1.08","eventTime":"{}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.{}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{}","accountId":"111122223333"}},"recipientAccountId":"111122223333","eventID":"{day}-{i}"}}"#,
                        time.format("%Y-%m-%dT%H:%M:%SZ"),
                        i % 200,
                        i % 7
                    )
                })
                .collect();
            let body = format!("{{\"Records\":[{}]}}", records.join(","));
            InputObject::from_key(
                &format!("AWSLogs/111122223333/CloudTrail/eu-west-1/{day}.json"),
                body.into_bytes(),
                None,
            )
        })
        .collect()
}

fn ingest(lake: &Lake) -> palisade_lake::IngestSummary {
    let mut batch = lake
        .begin(Source::CloudTrail)
        .with_row_group_rows(ROW_GROUP_ROWS);
    for object in objects() {
        batch.add(&object).expect("lake writable");
    }
    batch.commit().expect("committed")
}

async fn csv(lake: &Lake, sql: &str) -> String {
    let result = lake
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    result.write(QueryFormat::Csv, &mut out).expect("rendered");
    String::from_utf8(out).expect("utf-8")
}

/// What a query's Parquet scans read: the files opened and the row groups
/// kept and skipped by their statistics.
#[derive(Debug, Default, PartialEq, Eq)]
struct Scanned {
    files: BTreeSet<String>,
    row_groups_matched: usize,
    row_groups_pruned: usize,
}

fn scanned(plan: &Arc<dyn ExecutionPlan>, into: &mut Scanned) {
    if let Some(metrics) = plan.metrics() {
        for metric in metrics.iter() {
            if let Some(file) = metric.labels().iter().find(|l| l.name() == "filename") {
                let name = file.value();
                let day = name
                    .split('/')
                    .find(|part| part.starts_with("dt="))
                    .unwrap_or(name);
                into.files.insert(day.to_string());
            }
            if let MetricValue::PruningMetrics {
                name,
                pruning_metrics,
            } = metric.value()
            {
                if name == "row_groups_pruned_statistics" {
                    into.row_groups_matched += pruning_metrics.matched();
                    into.row_groups_pruned += pruning_metrics.pruned();
                }
            }
        }
    }
    for child in plan.children() {
        scanned(child, into);
    }
}

async fn run_and_measure(lake: &Lake, sql: &str) -> (String, Scanned) {
    let ctx = lake.session().await.expect("session");
    let frame = ctx.sql(sql).await.expect("planned");
    let plan = frame.create_physical_plan().await.expect("physical plan");
    let batches = collect(plan.clone(), ctx.task_ctx()).await.expect("ran");
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .expect("rendered")
        .to_string();
    let mut measured = Scanned::default();
    scanned(&plan, &mut measured);
    (text, measured)
}

#[tokio::test]
async fn a_time_range_reads_only_its_partition_and_row_groups() {
    let dir = TempDir::new().expect("temp dir");
    let lake = Lake::new(dir.path().join("lake"));
    ingest(&lake);
    // Five hours of the second day: 900 events, all in its first row group
    // (rows are sorted by time, 1000 per group = 20,000 s each).
    let sql = "SELECT count(*) AS n FROM cloudtrail \
               WHERE time >= TIMESTAMP '2026-11-02 00:00:00' AND time < TIMESTAMP '2026-11-02 05:00:00'";
    let (rows, measured) = run_and_measure(&lake, sql).await;
    assert!(rows.contains("| 900 |"), "{rows}");
    assert_eq!(
        measured,
        Scanned {
            files: BTreeSet::from(["dt=2026-11-02".to_string()]),
            row_groups_matched: 1,
            row_groups_pruned: 2,
        },
        "only the day of the range is listed; its other row groups are skipped"
    );
    // The plan lists no file of the other days: `dt` was derived from `time`.
    let plan = csv(&lake, &format!("EXPLAIN {sql}")).await;
    assert!(plan.contains("dt=2026-11-02/part-"), "{plan}");
    assert!(
        !plan.contains("dt=2026-11-01") && !plan.contains("dt=2026-11-03"),
        "{plan}"
    );

    // A range across midnight reads two partitions, the matching row groups of each.
    let sql = "SELECT count(*) AS n FROM cloudtrail \
               WHERE time BETWEEN TIMESTAMP '2026-11-02 16:00:00' AND TIMESTAMP '2026-11-03 01:00:00'";
    let (rows, measured) = run_and_measure(&lake, sql).await;
    // Day 2: 57,600 s to 59,980 s (120 events); day 3: 0 to 3,600 s (181 events).
    assert!(rows.contains("| 301 |"), "{rows}");
    assert_eq!(
        measured.files,
        BTreeSet::from(["dt=2026-11-02".to_string(), "dt=2026-11-03".to_string()])
    );
    assert_eq!(
        (measured.row_groups_matched, measured.row_groups_pruned),
        (2, 4)
    );

    // No time filter: everything is read.
    let (rows, measured) = run_and_measure(
        &lake,
        "SELECT count(*) AS n FROM cloudtrail WHERE actor <> ''",
    )
    .await;
    assert!(rows.contains("| 9000 |"), "{rows}");
    assert_eq!(measured.files.len(), 3);
}

#[tokio::test]
async fn a_lake_on_object_storage_ingests_queries_compacts_and_expires() {
    let store = Arc::new(object_store::memory::InMemory::new());
    let lake = Lake::on_object_store("s3://logs/lake/prod", store.clone()).expect("valid URL");
    assert!(lake.is_remote());
    assert_eq!(lake.root().to_string_lossy(), "s3://logs/lake/prod");

    let first = ingest(&lake);
    let files: Vec<String> = first
        .files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let batch = first.batch.clone().expect("a batch");
    assert_eq!(
        files,
        DAYS.map(|day| format!(
            "s3://logs/lake/prod/source=cloudtrail/dt={day}/part-{batch}.parquet"
        ))
    );
    assert_eq!(
        lake.days(Source::CloudTrail).expect("listed"),
        DAYS.to_vec()
    );
    assert_eq!(
        csv(
            &lake,
            "SELECT dt, count(*) AS n FROM cloudtrail GROUP BY dt ORDER BY dt"
        )
        .await,
        "dt,n\n2026-11-01,3000\n2026-11-02,3000\n2026-11-03,3000\n"
    );
    // Time filters prune on object storage too.
    let (rows, measured) = run_and_measure(
        &lake,
        "SELECT count(*) AS n FROM cloudtrail WHERE time >= TIMESTAMP '2026-11-03 12:00:00'",
    )
    .await;
    assert!(rows.contains("| 840 |"), "{rows}");
    assert_eq!(
        measured.files,
        BTreeSet::from(["dt=2026-11-03".to_string()])
    );

    // The local copies detections read are the same bytes.
    let local = lake.local_files(&first.files).expect("downloaded");
    assert_eq!(local.files.len(), 3);
    let copied = std::fs::metadata(&local.files[0])
        .map(|m| m.len())
        .expect("a file");
    assert!(copied > 0);
    let spool = local.files[0].clone();
    drop(local);
    assert!(!spool.exists(), "downloaded copies are removed");

    // A second batch of other events of the same days, then compaction.
    let mut batch = lake.begin(Source::CloudTrail);
    let more: Vec<InputObject> = objects()
        .into_iter()
        .map(|o| {
            let text = String::from_utf8(o.content().0.to_vec())
                .expect("utf-8")
                .replace("GetObject", "PutObject");
            InputObject::from_key(&format!("{}-more", o.key), text.into_bytes(), None)
        })
        .collect();
    for object in &more {
        batch.add(object).expect("lake writable");
    }
    let second = batch.commit().expect("committed");
    assert_eq!(
        lake.parts(Source::CloudTrail, DAYS[0])
            .expect("listed")
            .len(),
        2
    );
    let recorded: HashSet<String> = [first.batch, second.batch].into_iter().flatten().collect();
    let compacted = lake
        .compact(Source::CloudTrail, &recorded)
        .await
        .expect("compacted");
    assert_eq!(compacted.len(), 3);
    assert!(compacted.iter().all(|c| c.rows == 2 * PER_DAY as u64));
    for day in DAYS {
        let parts = lake.parts(Source::CloudTrail, day).expect("listed");
        assert_eq!(parts.len(), 1, "{parts:?}");
        assert!(parts[0].to_string_lossy().contains("/part-c"), "{parts:?}");
    }
    assert_eq!(
        csv(
            &lake,
            "SELECT action, count(*) AS n FROM cloudtrail GROUP BY action ORDER BY action"
        )
        .await,
        "action,n\nGetObject,9000\nPutObject,9000\n"
    );
    assert_eq!(
        lake.compact(Source::CloudTrail, &recorded)
            .await
            .expect("compacted"),
        vec![],
        "idempotent"
    );

    // Retention deletes every object of the old partitions.
    let now = Utc
        .with_ymd_and_hms(2026, 11, 4, 8, 0, 0)
        .single()
        .expect("valid");
    let expired = lake.expire(Source::CloudTrail, 2, now).expect("expired");
    assert_eq!(
        expired
            .iter()
            .map(|e| (e.day.as_str(), e.files))
            .collect::<Vec<_>>(),
        vec![("2026-11-01", 1)]
    );
    assert!(expired[0].bytes > 0);
    assert_eq!(
        lake.days(Source::CloudTrail).expect("listed"),
        DAYS[1..].to_vec()
    );
    use futures::TryStreamExt as _;
    use object_store::ObjectStore as _;
    let keys: Vec<String> = store
        .list(None)
        .map_ok(|o| o.location.to_string())
        .try_collect()
        .await
        .expect("listed");
    assert!(
        keys.iter().all(|k| !k.contains("dt=2026-11-01")),
        "{keys:?}"
    );
    assert_eq!(
        csv(&lake, "SELECT count(*) AS n FROM cloudtrail").await,
        "n\n12000\n"
    );
}

/// Every day's file is encoded on a thread of its own, and objects are
/// parsed on every core: the files must still not depend on thread timing.
#[test]
fn parallel_ingest_writes_the_same_bytes_every_time() {
    let files = |dir: &TempDir| -> Vec<(String, Vec<u8>)> {
        let lake = Lake::new(dir.path());
        let mut batch = lake
            .begin(Source::CloudTrail)
            .with_row_group_rows(ROW_GROUP_ROWS);
        let items: Vec<(String, InputObject)> = objects()
            .into_iter()
            .map(|object| (object.key.clone(), object))
            .collect();
        batch
            .add_parallel(items, Ok, &HashSet::new())
            .expect("lake writable");
        let summary = batch.commit().expect("committed");
        let mut files: Vec<(String, Vec<u8>)> = summary
            .files
            .iter()
            .map(|path| {
                let relative = path.strip_prefix(dir.path()).expect("inside the lake");
                (
                    relative.display().to_string(),
                    std::fs::read(path).expect("part file readable"),
                )
            })
            .collect();
        files.sort();
        files
    };
    let (first, second) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let first = files(&first);
    assert_eq!(first.len(), DAYS.len());
    assert_eq!(first, files(&second));
}
