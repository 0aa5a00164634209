//! Streaming detection throughput: the Sigma rules run over lake Parquet
//! files the way `palisade logs ingest --detect` runs them over the files
//! an ingest just wrote.
//!
//! ```text
//! cargo run --release -p palisade-detect --example detect_bench -- [EVENTS] [RULES]
//! ```
//!
//! Generates EVENTS (default 1,000,000) CloudTrail events of the kind
//! `tests/support/planted.rs` writes, ingests them into a temporary lake,
//! loads the built-in packs plus generated Sigma rules up to RULES (default
//! 200) Sigma rules, and times the scan of the written files.

#[path = "../tests/support/planted.rs"]
mod planted;

use std::time::Instant;

use palisade_detect::{FieldMapping, Loader};
use palisade_lake::{discover, InputObject, Lake, Source};

/// API names for generated rules (real CloudTrail event names).
const NAMES: &[&str] = &[
    "CreateBucket",
    "DeleteBucket",
    "PutBucketLogging",
    "PutBucketVersioning",
    "PutLifecycleConfiguration",
    "RunInstances",
    "TerminateInstances",
    "StopInstances",
    "CreateSnapshot",
    "DeleteSnapshot",
    "CreateRole",
    "DeleteRole",
    "PutRolePermissionsBoundary",
    "TagRole",
    "CreateGroup",
    "DeleteGroup",
    "CreatePolicy",
    "DeletePolicy",
    "CreateInstanceProfile",
    "AddRoleToInstanceProfile",
    "CreateFunction20150331",
    "UpdateFunctionCode20150331v2",
    "AddPermission20150331v2",
    "CreateEventSourceMapping20150331",
    "CreateDBInstance",
    "DeleteDBInstance",
    "ModifyDBInstance",
    "CreateVpc",
    "DeleteVpc",
    "CreateSubnet",
    "CreateKey",
    "PutKeyPolicy",
    "CreateGrant",
    "RetireGrant",
    "CreateSecret",
    "DeleteSecret",
    "PutSecretValue",
    "RotateSecret",
    "CreateCluster",
    "DeleteCluster",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "CreateTrail",
    "StartLogging",
    "CreateDetector",
];

fn generated_rules(count: usize) -> String {
    let mut text = String::new();
    for n in 0..count {
        let name = NAMES[n % NAMES.len()];
        let detection = match n % 5 {
            // Most rules name the API call, as real CloudTrail rules do.
            0 => format!("    selection:\n        eventName: {name}\n        errorCode|exists: false\n    condition: selection\n"),
            1 => format!(
                "    selection:\n        eventName:\n            - {name}\n            - {}\n        userIdentity.type: AssumedRole\n    filter:\n        userAgent|contains: terraform\n    condition: selection and not filter\n",
                NAMES[(n + 7) % NAMES.len()]
            ),
            2 => format!(
                "    selection:\n        eventName: {name}\n        requestParameters.bucketName|startswith: 'prod-{n}'\n    condition: selection\n"
            ),
            3 => format!(
                "    selection_a:\n        eventName: {name}\n    selection_b:\n        sourceIPAddress|cidr: 198.18.{}.0/24\n    condition: all of selection_*\n",
                n % 250
            ),
            // Some look at every event: user agents, error codes.
            _ => format!(
                "    selection:\n        userAgent|contains:\n            - 'tool-{n}/'\n            - 'scanner-{n} '\n        errorCode: ThrottlingException{n}\n    condition: selection\n"
            ),
        };
        text.push_str(&format!(
            "title: Generated rule {n}\nname: bench_rule_{n}\nlevel: low\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}---\n"
        ));
    }
    text
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let wanted_rules: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let logs = planted::write_cloudtrail(&dir.path().join("logs"), events);
    let lake = Lake::new(dir.path().join("lake"));
    let started = Instant::now();
    let mut batch = lake.begin(Source::CloudTrail);
    for file in discover(Source::CloudTrail, &logs).expect("discover") {
        batch
            .add(&InputObject::read(&file).expect("read"))
            .expect("add");
    }
    let summary = batch.commit().expect("commit");
    eprintln!(
        "ingested {} events into {} file(s) in {:.2} s",
        summary.records,
        summary.files.len(),
        started.elapsed().as_secs_f64()
    );

    let mut loader = Loader::new(FieldMapping::default());
    loader.add_builtin();
    let builtin = loader.build();
    let builtin_sigma = builtin.sigma_rules(Source::CloudTrail);
    let mut loader = Loader::new(FieldMapping::default());
    loader.add_builtin();
    loader.add_text(
        "generated",
        &generated_rules(wanted_rules.saturating_sub(builtin_sigma)),
    );
    let compile_started = Instant::now();
    let rules = loader.build();
    let compile_time = compile_started.elapsed();
    assert!(rules.problems().is_empty(), "{:?}", rules.problems());
    let files: Vec<(Source, std::path::PathBuf)> = summary
        .files
        .iter()
        .map(|f| (Source::CloudTrail, f.clone()))
        .collect();

    // One warm-up run (page cache), then the timed runs.
    let _ = rules.scan_files(&files).expect("scan");
    let mut best = f64::MAX;
    let mut hits = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let scan = rules.scan_files(&files).expect("scan");
        best = best.min(started.elapsed().as_secs_f64());
        hits = scan.hits.len();
        assert_eq!(scan.events, summary.records);
    }
    let threads = rayon::current_num_threads();
    println!(
        "detect: {} events, {} Sigma rules ({} correlations, {} SQL), {} matches, compile {:.1} ms, \
         scan {:.3} s = {:.0} events/s on {threads} thread(s)",
        summary.records,
        rules.sigma_rules(Source::CloudTrail),
        rules.rules().iter().filter(|r| r.kind == palisade_detect::RuleKind::Correlation).count(),
        rules.rules().iter().filter(|r| r.kind == palisade_detect::RuleKind::Sql).count(),
        hits,
        compile_time.as_secs_f64() * 1000.0,
        best,
        summary.records as f64 / best
    );
}
