//! The finding lifecycle, SLAs, lookups and concurrent writers, against real SQLite files.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use palisade_core::{
    Category, Finding, Fingerprint, InlineSuppression, Location, Resource, Rule, ScanError,
    ScanOutput, Severity,
};
use palisade_store::{
    Error, FindingFilter, NewRun, RunSummary, SlaPolicy, Status, Store, StoredFinding,
};
use tempfile::TempDir;

const ENGINE: &str = "iac";
const SCOPE: &str = "/repo/infra";

mod support;
use support::at;

fn rule(id: &str, severity: Severity) -> Rule {
    Rule {
        id: id.into(),
        title: format!("title of {id}").into(),
        severity,
        category: Category::Misconfiguration,
        description: String::new(),
        remediation: "Fix it.".into(),
        references: vec![].into(),
        compliance: vec![].into(),
        peers: vec![],
    }
}

fn finding(resource: &str, severity: Severity) -> Finding {
    Finding::new(
        &rule("iac.test.rule", severity),
        Resource::in_file("aws_s3_bucket", resource, "main.tf"),
        format!("{resource} is wrong"),
    )
    .with_location(Location::lines("main.tf", 1, 5))
}

fn output(findings: Vec<Finding>) -> ScanOutput {
    ScanOutput {
        findings,
        errors: vec![],
        inputs_scanned: 1,
    }
}

fn run(scope: &str, started_at: DateTime<Utc>) -> NewRun {
    NewRun {
        engine: ENGINE.into(),
        scope: scope.into(),
        started_at,
    }
}

async fn temp_store() -> (TempDir, Store) {
    // A nested path: opening creates the directories.
    support::temp_store_at("nested/dir/palisade.db").await
}

async fn scan(
    store: &Store,
    findings: Vec<Finding>,
    complete: bool,
    now: DateTime<Utc>,
) -> RunSummary {
    store
        .record_scan(
            run(SCOPE, now - Duration::minutes(1)),
            &output(findings),
            complete,
            &SlaPolicy::default(),
            now,
        )
        .await
        .expect("record scan")
}

async fn get(store: &Store, f: &Finding, now: DateTime<Utc>) -> StoredFinding {
    store
        .get_finding(f.fingerprint.as_str(), now)
        .await
        .expect("finding is stored")
}

fn all() -> FindingFilter {
    FindingFilter {
        include_resolved: true,
        ..FindingFilter::default()
    }
}

#[tokio::test]
async fn open_accepts_paths_and_sqlite_urls_and_refuses_postgres() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("a/b/plain.db");
    let store = Store::open(plain.to_str().expect("utf-8"))
        .await
        .expect("plain path");
    scan(&store, vec![finding("x", Severity::Low)], true, at(1, 0)).await;
    assert!(
        plain.exists(),
        "database file created with its parent directories"
    );
    assert!(
        dir.path().join("a/b/plain.db-wal").exists(),
        "the database runs in WAL mode"
    );
    store.close().await;
    // Reopening an existing database re-runs migrations harmlessly and keeps the data.
    let reopened = Store::open(&format!("sqlite://{}", plain.display()))
        .await
        .expect("sqlite:// url");
    assert_eq!(
        reopened
            .list_findings(&all(), at(1, 1))
            .await
            .expect("list")
            .len(),
        1
    );

    let short = dir.path().join("c/short.db");
    Store::open(&format!("sqlite:{}", short.display()))
        .await
        .expect("sqlite: url");
    assert!(short.exists());

    let memory = Store::open("sqlite::memory:").await.expect("in memory");
    scan(&memory, vec![finding("m", Severity::Low)], true, at(1, 0)).await;
    assert_eq!(memory.list_runs(10).await.expect("runs").len(), 1);

    let err = Store::open("postgres://user:secret@db/palisade")
        .await
        .expect_err("postgres is not built in");
    assert!(matches!(err, Error::PostgresNotSupported));
    assert!(err
        .to_string()
        .contains("PostgreSQL support is not built in yet"));
    assert!(
        !err.to_string().contains("secret"),
        "no credentials in errors"
    );
    assert!(matches!(
        Store::open("mysql://db/x").await,
        Err(Error::UnsupportedScheme { .. })
    ));
    assert!(matches!(
        Store::open("  ").await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn first_sighting_is_open_and_new() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    let summary = scan(&store, vec![a.clone(), a.clone()], true, at(1, 10)).await;
    assert_eq!(
        summary.counts.total, 1,
        "duplicates in one output count once"
    );
    assert_eq!(summary.counts.new, 1);
    assert_eq!(summary.counts.reopened + summary.counts.resolved, 0);

    let stored = get(&store, &a, at(1, 11)).await;
    assert_eq!(stored.status, Status::Open);
    assert_eq!(stored.first_seen, at(1, 10));
    assert_eq!(stored.last_seen, at(1, 10));
    assert_eq!(stored.resolved_at, None);
    assert_eq!(stored.engine, ENGINE);
    assert_eq!(stored.scope, SCOPE);
    assert_eq!(stored.last_run_id, summary.id);
    assert_eq!(stored.finding, a);
    assert_eq!(stored.suppression, None);
}

#[tokio::test]
async fn an_incomplete_run_adds_locations_and_a_complete_run_replaces_them() {
    let (_dir, store) = temp_store().await;
    let first = Location::lines("main.tf", 1, 5);
    let second = Location::lines("other.tf", 7, 7);
    let third = Location::lines("third.tf", 9, 9);
    let a = finding("a", Severity::High);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;

    // An incremental run (new commits only) finds the same secret elsewhere.
    let mut elsewhere = a.clone();
    elsewhere.location = Some(second.clone());
    elsewhere.other_locations = vec![first.clone()];
    scan(&store, vec![elsewhere], false, at(2, 10)).await;
    let stored = get(&store, &a, at(2, 11)).await;
    assert_eq!(stored.finding.location.as_ref(), Some(&first));
    assert_eq!(stored.finding.other_locations, vec![second.clone()]);

    // A complete run knows every place.
    let mut moved = a.clone();
    moved.location = Some(third.clone());
    scan(&store, vec![moved], true, at(3, 10)).await;
    let stored = get(&store, &a, at(3, 11)).await;
    assert_eq!(stored.finding.location.as_ref(), Some(&third));
    assert!(stored.finding.other_locations.is_empty());
}

#[tokio::test]
async fn seen_again_updates_last_seen_and_the_stored_finding() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::Medium);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;

    let mut moved = a.clone();
    moved.message = "a is still wrong".into();
    moved.location = Some(Location::lines("main.tf", 40, 44));
    let summary = scan(&store, vec![moved.clone()], true, at(2, 10)).await;
    assert_eq!(summary.counts.total, 1);
    assert_eq!(summary.counts.new, 0);
    assert_eq!(summary.counts.reopened, 0);

    let stored = get(&store, &a, at(2, 11)).await;
    assert_eq!(stored.status, Status::Open);
    assert_eq!(stored.first_seen, at(1, 10));
    assert_eq!(stored.last_seen, at(2, 10));
    assert_eq!(stored.finding.message, "a is still wrong");
    assert_eq!(stored.finding.location, moved.location);
    assert_eq!(stored.last_run_id, summary.id);
}

#[tokio::test]
async fn complete_run_resolves_missing_findings_and_incomplete_run_does_not() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    let b = finding("b", Severity::High);
    scan(&store, vec![a.clone(), b.clone()], true, at(1, 10)).await;

    // Another scope and another engine are not touched by runs of SCOPE.
    let other_scope = finding("other-scope", Severity::High);
    store
        .record_scan(
            run("/repo/other", at(1, 10)),
            &output(vec![other_scope.clone()]),
            true,
            &SlaPolicy::default(),
            at(1, 10),
        )
        .await
        .expect("record");
    let other_engine = finding("other-engine", Severity::High);
    store
        .record_scan(
            NewRun {
                engine: "secrets".into(),
                scope: SCOPE.into(),
                started_at: at(1, 10),
            },
            &output(vec![other_engine.clone()]),
            true,
            &SlaPolicy::default(),
            at(1, 10),
        )
        .await
        .expect("record");

    let partial = scan(&store, vec![a.clone()], false, at(2, 10)).await;
    assert_eq!(partial.counts.resolved, 0);
    assert!(!partial.complete);
    assert_eq!(get(&store, &b, at(2, 11)).await.status, Status::Open);

    let full = scan(&store, vec![a.clone()], true, at(3, 10)).await;
    assert_eq!(full.counts.resolved, 1);
    let resolved = get(&store, &b, at(3, 11)).await;
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.resolved_at, Some(at(3, 10)));
    assert_eq!(resolved.last_seen, at(1, 10));
    assert_eq!(get(&store, &a, at(3, 11)).await.status, Status::Open);
    assert_eq!(
        get(&store, &other_scope, at(3, 11)).await.status,
        Status::Open
    );
    assert_eq!(
        get(&store, &other_engine, at(3, 11)).await.status,
        Status::Open
    );

    // Resolving twice is not counted twice.
    let again = scan(&store, vec![a.clone()], true, at(4, 10)).await;
    assert_eq!(again.counts.resolved, 0);

    // Resolved findings are hidden unless asked for.
    let listed = store
        .list_findings(&FindingFilter::default(), at(4, 11))
        .await
        .expect("list");
    assert!(listed.iter().all(|f| f.status != Status::Resolved));
    assert_eq!(listed.len(), 3);
    let with_resolved = store.list_findings(&all(), at(4, 11)).await.expect("list");
    assert_eq!(with_resolved.len(), 4);
}

#[tokio::test]
async fn a_run_with_unchecked_rules_resolves_only_the_other_rules() {
    let (_dir, store) = temp_store().await;
    let checked = finding("checked", Severity::High);
    let unchecked = Finding::new(
        &rule("iac.test.unchecked", Severity::High),
        Resource::in_file("aws_s3_bucket", "unchecked", "main.tf"),
        "unchecked is wrong",
    );
    scan(
        &store,
        vec![checked.clone(), unchecked.clone()],
        true,
        at(1, 10),
    )
    .await;

    // Neither is seen; only the rule that could run resolves its finding.
    let summary = store
        .record_scan_except(
            run(SCOPE, at(2, 9)),
            &output(vec![]),
            &["iac.test.unchecked".to_string()],
            &SlaPolicy::default(),
            at(2, 10),
        )
        .await
        .expect("record");
    assert!(!summary.complete);
    assert_eq!(summary.counts.resolved, 1);
    assert_eq!(
        get(&store, &checked, at(2, 11)).await.status,
        Status::Resolved
    );
    assert_eq!(
        get(&store, &unchecked, at(2, 11)).await.status,
        Status::Open
    );

    // With nothing unchecked it is a complete run.
    let summary = store
        .record_scan_except(
            run(SCOPE, at(3, 9)),
            &output(vec![]),
            &[],
            &SlaPolicy::default(),
            at(3, 10),
        )
        .await
        .expect("record");
    assert!(summary.complete);
    assert_eq!(summary.counts.resolved, 1);
    assert_eq!(
        get(&store, &unchecked, at(3, 11)).await.status,
        Status::Resolved
    );
}

#[tokio::test]
async fn resolved_finding_seen_again_is_reopened_with_a_new_sla_clock() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    scan(&store, vec![], true, at(2, 10)).await;
    assert_eq!(get(&store, &a, at(2, 11)).await.status, Status::Resolved);

    let summary = scan(&store, vec![a.clone()], true, at(5, 10)).await;
    assert_eq!(summary.counts.reopened, 1);
    assert_eq!(summary.counts.new, 0);
    let stored = get(&store, &a, at(5, 11)).await;
    assert_eq!(stored.status, Status::Reopened);
    assert_eq!(stored.first_seen, at(1, 10));
    assert_eq!(stored.reopened_at, Some(at(5, 10)));
    assert_eq!(stored.resolved_at, None);
    assert_eq!(stored.sla_due_at, Some(at(5, 10) + Duration::days(30)));

    // Seen once more it stays reopened, and is not counted again.
    let summary = scan(&store, vec![a.clone()], true, at(6, 10)).await;
    assert_eq!(summary.counts.reopened, 0);
    assert_eq!(get(&store, &a, at(6, 11)).await.status, Status::Reopened);

    let history = store
        .finding_history(a.fingerprint.as_str())
        .await
        .expect("history");
    let transitions: Vec<_> = history.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        transitions,
        vec![
            (None, Status::Open),
            (Some(Status::Open), Status::Resolved),
            (Some(Status::Resolved), Status::Reopened),
        ]
    );
    assert_eq!(history[1].at, at(2, 10));
}

#[tokio::test]
async fn manual_suppress_and_unsuppress() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::Critical);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    let prefix = &a.fingerprint.as_str()[..10];

    let suppressed = store
        .suppress(prefix, "accepted risk", "alice", None, at(2, 10))
        .await
        .expect("suppress");
    assert_eq!(suppressed.status, Status::Suppressed);
    let s = suppressed.suppression.as_ref().expect("suppression");
    assert_eq!(s.reason, "accepted risk");
    assert_eq!(s.author, "alice");
    assert_eq!(s.created_at, at(2, 10));
    assert_eq!(s.expires_at, None);
    assert!(!s.is_inline());

    // Stays suppressed through later runs, and is counted as such.
    let summary = scan(&store, vec![a.clone()], true, at(3, 10)).await;
    assert_eq!(summary.counts.suppressed, 1);
    assert_eq!(get(&store, &a, at(3, 11)).await.status, Status::Suppressed);
    // Suppressed findings are never overdue.
    let overdue = FindingFilter {
        overdue_only: true,
        ..FindingFilter::default()
    };
    assert!(store
        .list_findings(&overdue, at(30, 0))
        .await
        .expect("list")
        .is_empty());

    let open = store
        .unsuppress(prefix, "bob", at(4, 10))
        .await
        .expect("unsuppress");
    assert_eq!(open.status, Status::Open);
    assert_eq!(open.suppression, None);
    assert_eq!(get(&store, &a, at(4, 11)).await.status, Status::Open);
    assert!(matches!(
        store.unsuppress(prefix, "bob", at(4, 12)).await,
        Err(Error::NotSuppressed(_))
    ));

    let history = store.finding_history(prefix).await.expect("history");
    let last = history.last().expect("events");
    assert_eq!(last.actor.as_deref(), Some("bob"));
    assert_eq!(
        (last.from, last.to),
        (Some(Status::Suppressed), Status::Open)
    );

    // Bad input is refused with typed errors.
    for (reason, author, expires) in [
        ("", "alice", None),
        ("ok", " ", None),
        ("ok", "inline:checkov:skip", None),
        ("ok", "alice", Some(at(4, 0))),
    ] {
        assert!(matches!(
            store
                .suppress(prefix, reason, author, expires, at(5, 0))
                .await,
            Err(Error::InvalidInput { .. })
        ));
    }
    assert!(matches!(
        store.suppress("ffff", "r", "alice", None, at(5, 0)).await,
        Err(Error::NotFound(_)) | Err(Error::Ambiguous { .. })
    ));
}

#[tokio::test]
async fn unsuppressing_a_reopened_finding_makes_it_reopened_again() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::Low);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    scan(&store, vec![], true, at(2, 10)).await;
    scan(&store, vec![a.clone()], true, at(3, 10)).await;
    let fp = a.fingerprint.as_str();
    store
        .suppress(fp, "later", "alice", None, at(3, 11))
        .await
        .expect("suppress");
    let back = store
        .unsuppress(fp, "alice", at(3, 12))
        .await
        .expect("unsuppress");
    assert_eq!(back.status, Status::Reopened);
}

#[tokio::test]
async fn expired_manual_suppression_reopens_lazily() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    let b = finding("b", Severity::High);
    scan(&store, vec![a.clone(), b.clone()], true, at(1, 10)).await;
    store
        .suppress(
            a.fingerprint.as_str(),
            "fix next sprint",
            "alice",
            Some(at(5, 0)),
            at(2, 0),
        )
        .await
        .expect("suppress");
    store
        .suppress(
            b.fingerprint.as_str(),
            "until run",
            "alice",
            Some(at(5, 0)),
            at(2, 0),
        )
        .await
        .expect("suppress");

    // Before the expiry it is suppressed.
    let stored = get(&store, &a, at(4, 23)).await;
    assert_eq!(stored.status, Status::Suppressed);

    // After it, a listing alone reopens it, with a new SLA clock from the expiry.
    let listed = store
        .list_findings(
            &FindingFilter {
                status: Some(Status::Reopened),
                ..FindingFilter::default()
            },
            at(6, 0),
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let stored = listed
        .iter()
        .find(|f| f.finding.fingerprint == a.fingerprint)
        .expect("a is reopened");
    assert_eq!(stored.suppression, None);
    assert_eq!(stored.reopened_at, Some(at(5, 0)));
    assert_eq!(stored.sla_due_at, Some(at(5, 0) + Duration::days(30)));

    let history = store
        .finding_history(a.fingerprint.as_str())
        .await
        .expect("history");
    let last = history.last().expect("events");
    assert_eq!(
        (last.from, last.to),
        (Some(Status::Suppressed), Status::Reopened)
    );
    assert_eq!(last.at, at(5, 0));
}

#[tokio::test]
async fn expired_manual_suppression_reopens_at_the_start_of_a_run() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    store
        .suppress(
            a.fingerprint.as_str(),
            "short",
            "alice",
            Some(at(3, 0)),
            at(2, 0),
        )
        .await
        .expect("suppress");
    let summary = scan(&store, vec![a.clone()], true, at(4, 0)).await;
    assert_eq!(summary.counts.suppressed, 0);
    let stored = get(&store, &a, at(4, 1)).await;
    assert_eq!(stored.status, Status::Reopened);
    assert_eq!(stored.suppression, None);
}

fn inline(f: Finding, expires: Option<NaiveDate>) -> Finding {
    Finding {
        suppression: Some(InlineSuppression {
            reason: "test fixture bucket".into(),
            expires,
            source: "checkov:skip".into(),
        }),
        ..f
    }
}

#[tokio::test]
async fn inline_suppression_is_stored_and_lifted_when_removed_or_expired() {
    let (_dir, store) = temp_store().await;
    let jan31 = NaiveDate::from_ymd_opt(2026, 1, 31);
    let a = inline(finding("a", Severity::High), jan31);

    let summary = scan(&store, vec![a.clone()], true, at(10, 10)).await;
    assert_eq!(summary.counts.new, 1);
    assert_eq!(summary.counts.suppressed, 1);
    let stored = get(&store, &a, at(10, 11)).await;
    assert_eq!(stored.status, Status::Suppressed);
    let s = stored.suppression.expect("inline suppression");
    assert!(s.is_inline());
    assert_eq!(s.author, "inline:checkov:skip");
    assert_eq!(s.reason, "test fixture bucket");
    assert_eq!(
        s.expires_at,
        Some(
            Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0)
                .single()
                .expect("time")
        ),
        "the last day applies in full"
    );

    // The comment is removed: back to open.
    let plain = finding("a", Severity::High);
    let summary = scan(&store, vec![plain.clone()], true, at(11, 10)).await;
    assert_eq!(summary.counts.suppressed, 0);
    let stored = get(&store, &a, at(11, 11)).await;
    assert_eq!(stored.status, Status::Open);
    assert_eq!(stored.suppression, None);

    // The comment comes back: suppressed again.
    scan(&store, vec![a.clone()], true, at(12, 10)).await;
    assert_eq!(get(&store, &a, at(12, 11)).await.status, Status::Suppressed);

    // Its expiry passes with no run: a listing puts it back to open.
    let feb2 = Utc
        .with_ymd_and_hms(2026, 2, 2, 0, 0, 0)
        .single()
        .expect("time");
    let stored = store
        .get_finding(a.fingerprint.as_str(), feb2)
        .await
        .expect("get");
    assert_eq!(stored.status, Status::Open);
    assert_eq!(stored.suppression, None);

    // A run that still reports the expired comment leaves it open.
    let summary = store
        .record_scan(
            run(SCOPE, feb2),
            &output(vec![a.clone()]),
            true,
            &SlaPolicy::default(),
            feb2,
        )
        .await
        .expect("record");
    assert_eq!(summary.counts.suppressed, 0);
    assert_eq!(get(&store, &a, feb2).await.status, Status::Open);
}

#[tokio::test]
async fn expired_inline_suppression_on_first_sighting_is_open() {
    let (_dir, store) = temp_store().await;
    let a = inline(
        finding("a", Severity::High),
        NaiveDate::from_ymd_opt(2026, 1, 1),
    );
    let summary = scan(&store, vec![a.clone()], true, at(2, 0)).await;
    assert_eq!(summary.counts.suppressed, 0);
    assert_eq!(get(&store, &a, at(2, 1)).await.status, Status::Open);
}

#[tokio::test]
async fn manual_suppression_outranks_inline_one() {
    let (_dir, store) = temp_store().await;
    let a = inline(finding("a", Severity::High), None);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    store
        .suppress(a.fingerprint.as_str(), "reviewed", "alice", None, at(2, 0))
        .await
        .expect("suppress");
    scan(&store, vec![a.clone()], true, at(3, 0)).await;
    let stored = get(&store, &a, at(3, 1)).await;
    assert_eq!(stored.status, Status::Suppressed);
    assert_eq!(stored.suppression.expect("manual").author, "alice");
}

#[tokio::test]
async fn suppressed_finding_that_vanishes_is_resolved_and_keeps_its_suppression() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    scan(&store, vec![a.clone()], true, at(1, 10)).await;
    store
        .suppress(
            a.fingerprint.as_str(),
            "accepted",
            "alice",
            Some(at(20, 0)),
            at(2, 0),
        )
        .await
        .expect("suppress");

    let summary = scan(&store, vec![], true, at(3, 0)).await;
    assert_eq!(summary.counts.resolved, 1);
    let stored = get(&store, &a, at(3, 1)).await;
    assert_eq!(stored.status, Status::Resolved);
    assert_eq!(
        stored.suppression.as_ref().map(|s| s.author.as_str()),
        Some("alice")
    );

    // Back while the suppression is valid: suppressed again, counted as reopened.
    let summary = scan(&store, vec![a.clone()], true, at(4, 0)).await;
    assert_eq!(summary.counts.reopened, 1);
    assert_eq!(summary.counts.suppressed, 1);
    assert_eq!(get(&store, &a, at(4, 1)).await.status, Status::Suppressed);

    // Resolved again, and back after the suppression expired: reopened.
    scan(&store, vec![], true, at(5, 0)).await;
    scan(&store, vec![a.clone()], true, at(21, 0)).await;
    let stored = get(&store, &a, at(21, 1)).await;
    assert_eq!(stored.status, Status::Reopened);
    assert_eq!(stored.suppression, None);
}

#[tokio::test]
async fn sla_due_dates_follow_severity_with_default_policy() {
    let (_dir, store) = temp_store().await;
    let now = at(1, 0);
    let findings: Vec<Finding> = Severity::ALL_DESCENDING
        .iter()
        .map(|&s| finding(s.as_str(), s))
        .collect();
    scan(&store, findings.clone(), true, now).await;
    let expected = [Some(7), Some(30), Some(90), Some(180), None];
    for (f, days) in findings.iter().zip(expected) {
        assert_eq!(
            get(&store, f, now).await.sla_due_at,
            days.map(|d| now + Duration::days(d)),
            "{}",
            f.severity
        );
    }
}

#[tokio::test]
async fn sla_due_dates_with_custom_policy_and_severity_change() {
    let policy: SlaPolicy =
        serde_json::from_str(r#"{"critical": 1, "high": 2, "info": 365}"#).expect("policy");
    assert_eq!(policy.medium, Some(90), "missing keys keep their defaults");
    assert_eq!(policy.days_for(Severity::Info), Some(365));
    assert!(serde_json::from_str::<SlaPolicy>(r#"{"hihg": 2}"#).is_err());

    let (_dir, store) = temp_store().await;
    let mut a = finding("a", Severity::High);
    store
        .record_scan(
            run(SCOPE, at(1, 0)),
            &output(vec![a.clone()]),
            true,
            &policy,
            at(1, 0),
        )
        .await
        .expect("record");
    assert_eq!(
        get(&store, &a, at(1, 0)).await.sla_due_at,
        Some(at(1, 0) + Duration::days(2))
    );

    // The rule was raised to critical: the due date is recomputed from first_seen.
    a.severity = Severity::Critical;
    store
        .record_scan(
            run(SCOPE, at(1, 12)),
            &output(vec![a.clone()]),
            true,
            &policy,
            at(1, 12),
        )
        .await
        .expect("record");
    let stored = get(&store, &a, at(1, 13)).await;
    assert_eq!(stored.finding.severity, Severity::Critical);
    assert_eq!(stored.sla_due_at, Some(at(1, 0) + Duration::days(1)));
}

#[tokio::test]
async fn overdue_filter_lists_open_findings_past_their_due_date() {
    let (_dir, store) = temp_store().await;
    let critical = finding("crit", Severity::Critical);
    let high = finding("high", Severity::High);
    let info = finding("info", Severity::Info);
    scan(
        &store,
        vec![critical.clone(), high.clone(), info.clone()],
        true,
        at(1, 0),
    )
    .await;
    let overdue = FindingFilter {
        overdue_only: true,
        ..FindingFilter::default()
    };
    assert!(store
        .list_findings(&overdue, at(7, 0))
        .await
        .expect("list")
        .is_empty());
    let listed = store.list_findings(&overdue, at(8, 1)).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].finding.fingerprint, critical.fingerprint);
    assert!(listed[0].is_overdue(at(8, 1)));
    assert!(!listed[0].is_overdue(at(7, 0)));
}

fn with_fingerprint(resource: &str, fingerprint: &str) -> Finding {
    Finding {
        fingerprint: Fingerprint(fingerprint.into()),
        ..finding(resource, Severity::Medium)
    }
}

#[tokio::test]
async fn lookup_by_fingerprint_or_unique_prefix() {
    let (_dir, store) = temp_store().await;
    let a = with_fingerprint("a", "aaaa1111");
    let b = with_fingerprint("b", "aaaa2222");
    let c = with_fingerprint("c", "bbbb3333");
    scan(
        &store,
        vec![a.clone(), b.clone(), c.clone()],
        true,
        at(1, 0),
    )
    .await;
    let now = at(1, 1);

    let by_prefix = store
        .get_finding("aaaa1", now)
        .await
        .expect("unique prefix");
    assert_eq!(by_prefix.finding.fingerprint, a.fingerprint);
    let upper = store
        .get_finding("AAAA2", now)
        .await
        .expect("case-insensitive");
    assert_eq!(upper.finding.fingerprint, b.fingerprint);
    let full = store.get_finding("bbbb3333", now).await.expect("full");
    assert_eq!(full.finding.fingerprint, c.fingerprint);
    match store.get_finding("aaaa", now).await {
        Err(Error::Ambiguous { prefix, candidates }) => {
            assert_eq!(prefix, "aaaa");
            assert_eq!(
                candidates,
                vec![format!("aaaa1111 ({SCOPE})"), format!("aaaa2222 ({SCOPE})")]
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    assert!(matches!(
        store.get_finding("cccc", now).await,
        Err(Error::NotFound(p)) if p == "cccc"
    ));
    assert!(matches!(
        store.get_finding("aaaa11112", now).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.get_finding("", now).await,
        Err(Error::InvalidInput { .. })
    ));

    // Real fingerprints: a 12-digit short form finds the finding.
    let real = finding("real", Severity::Low);
    scan(&store, vec![real.clone()], false, at(2, 0)).await;
    let found = store
        .get_finding(real.fingerprint.short(), at(2, 1))
        .await
        .expect("short fingerprint");
    assert_eq!(found.finding, real);
}

#[tokio::test]
async fn list_filters_combine() {
    let (_dir, store) = temp_store().await;
    let high = finding("high", Severity::High);
    let low = finding("low", Severity::Low);
    let mut other_rule = finding("rule", Severity::Critical);
    other_rule.rule_id = "iac.test.other".into();
    scan(
        &store,
        vec![low.clone(), high.clone(), other_rule.clone()],
        true,
        at(1, 0),
    )
    .await;
    let elsewhere = finding("elsewhere", Severity::Medium);
    store
        .record_scan(
            run("/elsewhere", at(1, 0)),
            &output(vec![elsewhere.clone()]),
            true,
            &SlaPolicy::default(),
            at(1, 0),
        )
        .await
        .expect("record");
    let now = at(1, 1);
    let fps = |list: Vec<StoredFinding>| -> Vec<Fingerprint> {
        list.into_iter().map(|f| f.finding.fingerprint).collect()
    };

    let everything = store
        .list_findings(&FindingFilter::default(), now)
        .await
        .expect("list");
    assert_eq!(
        fps(everything),
        vec![
            other_rule.fingerprint.clone(),
            high.fingerprint.clone(),
            elsewhere.fingerprint.clone(),
            low.fingerprint.clone()
        ],
        "most severe first"
    );

    let at_least_high = FindingFilter {
        min_severity: Some(Severity::High),
        ..FindingFilter::default()
    };
    assert_eq!(
        fps(store
            .list_findings(&at_least_high, now)
            .await
            .expect("list")),
        vec![other_rule.fingerprint.clone(), high.fingerprint.clone()]
    );

    let by_rule = FindingFilter {
        rule_id: Some("iac.test.other".into()),
        ..FindingFilter::default()
    };
    assert_eq!(
        fps(store.list_findings(&by_rule, now).await.expect("list")),
        vec![other_rule.fingerprint.clone()]
    );

    let by_scope = FindingFilter {
        scope: Some("/elsewhere".into()),
        engine: Some(ENGINE.into()),
        ..FindingFilter::default()
    };
    assert_eq!(
        fps(store.list_findings(&by_scope, now).await.expect("list")),
        vec![elsewhere.fingerprint.clone()]
    );

    let wrong_engine = FindingFilter {
        engine: Some("aws".into()),
        ..FindingFilter::default()
    };
    assert!(store
        .list_findings(&wrong_engine, now)
        .await
        .expect("list")
        .is_empty());

    let limited = FindingFilter {
        limit: Some(2),
        ..FindingFilter::default()
    };
    assert_eq!(
        store
            .list_findings(&limited, now)
            .await
            .expect("list")
            .len(),
        2
    );

    // Resolve one and ask for resolved ones only.
    scan(
        &store,
        vec![high.clone(), other_rule.clone()],
        true,
        at(2, 0),
    )
    .await;
    let resolved = FindingFilter {
        status: Some(Status::Resolved),
        ..FindingFilter::default()
    };
    assert_eq!(
        fps(store
            .list_findings(&resolved, at(2, 1))
            .await
            .expect("list")),
        vec![low.fingerprint.clone()]
    );
}

#[tokio::test]
async fn runs_are_recorded_with_counts_and_errors() {
    let (_dir, store) = temp_store().await;
    let a = finding("a", Severity::High);
    let mut out = output(vec![a.clone()]);
    out.errors = vec![ScanError {
        path: "broken.tf".into(),
        line: Some(3),
        message: "unexpected token".into(),
    }];
    out.inputs_scanned = 7;
    let first = store
        .record_scan(
            run(SCOPE, at(1, 9)),
            &out,
            true,
            &SlaPolicy::default(),
            at(1, 10),
        )
        .await
        .expect("record");
    let second = scan(&store, vec![], true, at(2, 10)).await;

    let runs = store.list_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0], second, "newest first, as returned by record_scan");
    assert_eq!(runs[1], first);
    assert_eq!(runs[1].errors, out.errors);
    assert_eq!(runs[1].inputs_scanned, 7);
    assert_eq!(runs[1].started_at, at(1, 9));
    assert_eq!(runs[1].finished_at, at(1, 10));
    assert_eq!(runs[0].counts.resolved, 1);
    assert_eq!(store.list_runs(1).await.expect("runs").len(), 1);

    // Sub-microsecond precision is dropped consistently.
    let precise = at(3, 0) + Duration::nanoseconds(123_456_789);
    let third = scan(&store, vec![a.clone()], true, precise).await;
    assert_eq!(
        third.finished_at,
        at(3, 0) + Duration::microseconds(123_456)
    );
    assert_eq!(store.list_runs(1).await.expect("runs")[0], third);
    assert_eq!(get(&store, &a, precise).await.last_seen, third.finished_at);

    assert!(matches!(
        store
            .record_scan(
                run(" ", at(1, 0)),
                &out,
                true,
                &SlaPolicy::default(),
                at(1, 0)
            )
            .await,
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn status_round_trips_as_text_and_serde() {
    for status in Status::ALL {
        assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        assert_eq!(status.to_string(), status.as_str());
        assert_eq!(
            serde_json::to_string(&status).expect("json"),
            format!("\"{}\"", status.as_str())
        );
    }
    assert_eq!("Suppressed".parse::<Status>(), Ok(Status::Suppressed));
    assert!("closed".parse::<Status>().is_err());
}

fn batch(prefix: &str, n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| finding(&format!("{prefix}-{i}"), Severity::Medium))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scans_from_two_stores_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let path = path.to_str().expect("utf-8").to_string();
    // Both open (and migrate) a brand-new file at the same time.
    let (one, two) = tokio::join!(Store::open(&path), Store::open(&path));
    let (one, two) = (one.expect("open one"), two.expect("open two"));

    const N: usize = 150;
    const ROUNDS: usize = 3;
    let a = batch("a", N);
    let b = batch("b", N);
    let shared = batch("shared", N);
    let sla = SlaPolicy::default();

    let mut tasks = Vec::new();
    for round in 0..ROUNDS {
        let now = at(1 + round as u32, 0);
        for (store, scope, findings) in [
            (one.clone(), "/a", a.clone()),
            (two.clone(), "/b", b.clone()),
            (one.clone(), "/shared", shared.clone()),
            (two.clone(), "/shared", shared.clone()),
        ] {
            tasks.push(tokio::spawn(async move {
                store
                    .record_scan(run(scope, now), &output(findings), true, &sla, now)
                    .await
            }));
        }
    }
    let mut summaries = Vec::new();
    for task in tasks {
        summaries.push(task.await.expect("task").expect("record_scan"));
    }

    for store in [&one, &two] {
        let listed = store.list_findings(&all(), at(10, 0)).await.expect("list");
        assert_eq!(listed.len(), 3 * N, "every finding is present");
        assert!(listed.iter().all(|f| f.status == Status::Open));
        for f in a.iter().chain(&b).chain(&shared) {
            assert!(listed
                .iter()
                .any(|s| s.finding.fingerprint == f.fingerprint));
        }
    }
    let runs = one.list_runs(100).await.expect("runs");
    assert_eq!(runs.len(), 4 * ROUNDS, "every run is recorded");
    for scope in ["/a", "/b", "/shared"] {
        let of_scope: Vec<_> = summaries.iter().filter(|s| s.scope == scope).collect();
        assert!(of_scope.iter().all(|s| s.counts.total == N as u64));
        assert!(of_scope.iter().all(|s| s.counts.resolved == 0));
        assert_eq!(
            of_scope.iter().map(|s| s.counts.new).sum::<u64>(),
            N as u64,
            "each finding of {scope} is new exactly once"
        );
    }
}

const CHILD_ENV: &str = "PALISADE_STORE_TEST_CHILD_DB";
const CHILD_SCOPE_ENV: &str = "PALISADE_STORE_TEST_CHILD_SCOPE";
const PROCESS_FINDINGS: usize = 100;

/// Runs only as a child of `concurrent_scans_from_two_processes_lose_nothing`.
#[tokio::test]
async fn child_process_writer() {
    let (Ok(path), Ok(scope)) = (std::env::var(CHILD_ENV), std::env::var(CHILD_SCOPE_ENV)) else {
        return;
    };
    let store = Store::open(&path).await.expect("child open");
    let findings = batch(&scope, PROCESS_FINDINGS);
    let shared = batch("shared", PROCESS_FINDINGS);
    for round in 0..3u32 {
        let now = at(1 + round, 0);
        for (scope, findings) in [(scope.as_str(), &findings), ("/shared", &shared)] {
            store
                .record_scan(
                    run(scope, now),
                    &output(findings.clone()),
                    true,
                    &SlaPolicy::default(),
                    now,
                )
                .await
                .expect("child record");
        }
    }
}

#[tokio::test]
async fn concurrent_scans_from_two_processes_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("processes.db");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = ["/p1", "/p2"]
        .into_iter()
        .map(|scope| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_process_writer", "--test-threads=1"])
                .env(CHILD_ENV, &path)
                .env(CHILD_SCOPE_ENV, scope)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("child ran").success());
    }

    let store = Store::open(path.to_str().expect("utf-8"))
        .await
        .expect("open");
    let listed = store.list_findings(&all(), at(10, 0)).await.expect("list");
    assert_eq!(listed.len(), 3 * PROCESS_FINDINGS);
    assert!(listed.iter().all(|f| f.status == Status::Open));
    let runs = store.list_runs(100).await.expect("runs");
    assert_eq!(runs.len(), 12);
    let new_in_shared: u64 = runs
        .iter()
        .filter(|r| r.scope == "/shared")
        .map(|r| r.counts.new)
        .sum();
    assert_eq!(new_in_shared, PROCESS_FINDINGS as u64);
    for scope in ["/p1", "/p2"] {
        let new: u64 = runs
            .iter()
            .filter(|r| r.scope == scope)
            .map(|r| r.counts.new)
            .sum();
        assert_eq!(new, PROCESS_FINDINGS as u64, "{scope}");
    }
}

fn in_scope<'a>(listed: &'a [StoredFinding], scope: &str) -> &'a StoredFinding {
    listed
        .iter()
        .find(|f| f.scope == scope)
        .unwrap_or_else(|| panic!("a finding in {scope}"))
}

async fn record_in(store: &Store, scope: &str, findings: Vec<Finding>, now: DateTime<Utc>) {
    store
        .record_scan(
            run(scope, now),
            &output(findings),
            true,
            &SlaPolicy::default(),
            now,
        )
        .await
        .expect("record");
}

#[tokio::test]
async fn the_same_fingerprint_in_two_scopes_is_two_findings() {
    let (_dir, store) = temp_store().await;
    let shared = finding("shared", Severity::High);
    record_in(&store, "/repo/a", vec![shared.clone()], at(1, 0)).await;
    record_in(&store, "/repo/b", vec![shared.clone()], at(1, 6)).await;
    let listed = store.list_findings(&all(), at(1, 7)).await.expect("list");
    assert_eq!(listed.len(), 2, "one per scope");
    assert!(listed
        .iter()
        .all(|f| f.finding.fingerprint == shared.fingerprint && f.status == Status::Open));
    // Each has its own first sighting and SLA clock; A did not move to B.
    assert_eq!(in_scope(&listed, "/repo/a").first_seen, at(1, 0));
    assert_eq!(in_scope(&listed, "/repo/b").first_seen, at(1, 6));
    assert_ne!(
        in_scope(&listed, "/repo/a").last_run_id,
        in_scope(&listed, "/repo/b").last_run_id
    );

    // Resolving in scope A leaves scope B open.
    record_in(&store, "/repo/a", vec![], at(2, 0)).await;
    let listed = store.list_findings(&all(), at(2, 1)).await.expect("list");
    assert_eq!(in_scope(&listed, "/repo/a").status, Status::Resolved);
    assert_eq!(in_scope(&listed, "/repo/a").resolved_at, Some(at(2, 0)));
    assert_eq!(in_scope(&listed, "/repo/b").status, Status::Open);
    assert_eq!(in_scope(&listed, "/repo/b").resolved_at, None);

    // Seeing it again in B does not reopen A; seeing it in A reopens only A.
    record_in(&store, "/repo/b", vec![shared.clone()], at(3, 0)).await;
    let listed = store.list_findings(&all(), at(3, 1)).await.expect("list");
    assert_eq!(in_scope(&listed, "/repo/a").status, Status::Resolved);
    assert_eq!(in_scope(&listed, "/repo/b").status, Status::Open);
    record_in(&store, "/repo/a", vec![shared.clone()], at(4, 0)).await;
    let listed = store.list_findings(&all(), at(4, 1)).await.expect("list");
    assert_eq!(in_scope(&listed, "/repo/a").status, Status::Reopened);
    assert_eq!(in_scope(&listed, "/repo/a").reopened_at, Some(at(4, 0)));
    assert_eq!(in_scope(&listed, "/repo/b").status, Status::Open);
    assert_eq!(in_scope(&listed, "/repo/b").reopened_at, None);

    // The scope filter sees one finding per scope.
    for scope in ["/repo/a", "/repo/b"] {
        let filter = FindingFilter {
            scope: Some(scope.into()),
            ..all()
        };
        let of_scope = store.list_findings(&filter, at(4, 1)).await.expect("list");
        assert_eq!(of_scope.len(), 1, "{scope}");
    }

    // The full fingerprint names both, so every lookup by it is ambiguous and
    // changes nothing.
    let fp = shared.fingerprint.as_str();
    let expected = vec![format!("{fp} (/repo/a)"), format!("{fp} (/repo/b)")];
    let check = |result: Result<(), Error>| match result {
        Err(Error::Ambiguous { prefix, candidates }) => {
            assert_eq!(prefix, fp);
            assert_eq!(candidates, expected);
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    };
    check(store.get_finding(fp, at(4, 1)).await.map(drop));
    check(store.finding_history(fp).await.map(drop));
    check(
        store
            .suppress(fp, "accepted", "alice", None, at(4, 1))
            .await
            .map(drop),
    );
    check(store.unsuppress(fp, "alice", at(4, 1)).await.map(drop));
    let after = store.list_findings(&all(), at(4, 2)).await.expect("list");
    assert_eq!(after, listed, "failed lookups change nothing");
}

#[tokio::test]
async fn prefix_lookups_across_scopes() {
    let (_dir, store) = temp_store().await;
    let one = with_fingerprint("one", "cafe0001");
    let two = with_fingerprint("two", "cafe0002");
    record_in(&store, "/repo/b", vec![one.clone()], at(1, 0)).await;
    record_in(&store, "/repo/a", vec![one.clone(), two.clone()], at(1, 0)).await;
    let now = at(1, 1);

    // A prefix of a fingerprint stored in one scope only is unique.
    let found = store.get_finding("CAFE0002", now).await.expect("unique");
    assert_eq!(
        (found.finding.fingerprint.as_str(), found.scope.as_str()),
        ("cafe0002", "/repo/a")
    );
    let suppressed = store
        .suppress("cafe0002", "accepted", "alice", None, now)
        .await
        .expect("suppress by unique prefix");
    assert_eq!(suppressed.status, Status::Suppressed);
    assert!(matches!(
        store.finding_history("cafe00002").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        store
            .finding_history("cafe0002")
            .await
            .expect("history")
            .len(),
        2,
        "first sighting, suppression"
    );

    // A prefix matching several fingerprints lists them by fingerprint, then scope.
    match store.get_finding("cafe", now).await {
        Err(error @ Error::Ambiguous { .. }) => {
            let text = error.to_string();
            let Error::Ambiguous { prefix, candidates } = error else {
                unreachable!()
            };
            assert_eq!(prefix, "cafe");
            assert_eq!(
                candidates,
                vec![
                    "cafe0001 (/repo/a)".to_string(),
                    "cafe0001 (/repo/b)".to_string(),
                    "cafe0002 (/repo/a)".to_string(),
                ]
            );
            assert!(text.contains("give more characters"), "{text}");
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }

    // A whole fingerprint stored in two scopes is ambiguous, and the message
    // does not pretend that more characters would help.
    match store.get_finding("cafe0001", now).await {
        Err(error @ Error::Ambiguous { .. }) => {
            let text = error.to_string();
            assert!(text.contains("several scopes"), "{text}");
            assert!(!text.contains("give more characters"), "{text}");
            let Error::Ambiguous { prefix, candidates } = error else {
                unreachable!()
            };
            assert_eq!(prefix, "cafe0001");
            assert_eq!(
                candidates,
                vec![
                    "cafe0001 (/repo/a)".to_string(),
                    "cafe0001 (/repo/b)".to_string()
                ]
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }

    // A resolved copy still counts: resolving B's copy keeps the lookup ambiguous.
    record_in(&store, "/repo/b", vec![], at(2, 0)).await;
    assert!(matches!(
        store.get_finding("cafe0001", at(2, 1)).await,
        Err(Error::Ambiguous { .. })
    ));
}

#[tokio::test]
async fn same_fingerprint_under_two_engines_in_one_scope_names_the_engines() {
    let (_dir, store) = temp_store().await;
    let f = with_fingerprint("f", "beef0001");
    for engine in ["iac", "k8s"] {
        store
            .record_scan(
                NewRun {
                    engine: engine.into(),
                    scope: SCOPE.into(),
                    started_at: at(1, 0),
                },
                &output(vec![f.clone()]),
                true,
                &SlaPolicy::default(),
                at(1, 0),
            )
            .await
            .expect("record");
    }
    match store.get_finding("beef", at(1, 1)).await {
        Err(Error::Ambiguous { candidates, .. }) => assert_eq!(
            candidates,
            vec![
                format!("beef0001 ({SCOPE}, engine iac)"),
                format!("beef0001 ({SCOPE}, engine k8s)"),
            ]
        ),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

/// Two repositories with identically named files, scanned in parallel into
/// one database: every finding of both is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_scans_of_two_scopes_with_the_same_fingerprints_keep_both() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("two-repos.db");
    let path = path.to_str().expect("utf-8").to_string();
    let (one, two) = tokio::join!(Store::open(&path), Store::open(&path));
    let (one, two) = (one.expect("open one"), two.expect("open two"));

    const N: usize = 30;
    let same = batch("main", N);
    let sla = SlaPolicy::default();
    let mut tasks = Vec::new();
    for round in 0..3u32 {
        let now = at(1 + round, 0);
        for (store, scope) in [(one.clone(), "/checkouts/a"), (two.clone(), "/checkouts/b")] {
            let findings = same.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .record_scan(run(scope, now), &output(findings), true, &sla, now)
                    .await
            }));
        }
    }
    let mut summaries = Vec::new();
    for task in tasks {
        summaries.push(task.await.expect("task").expect("record_scan"));
    }

    let listed = one.list_findings(&all(), at(9, 0)).await.expect("list");
    assert_eq!(
        listed.len(),
        2 * N,
        "both repositories' findings are stored"
    );
    assert!(listed.iter().all(|f| f.status == Status::Open));
    for scope in ["/checkouts/a", "/checkouts/b"] {
        let mut fps: Vec<_> = listed
            .iter()
            .filter(|f| f.scope == scope)
            .map(|f| f.finding.fingerprint.clone())
            .collect();
        fps.sort();
        let mut expected: Vec<_> = same.iter().map(|f| f.fingerprint.clone()).collect();
        expected.sort();
        assert_eq!(fps, expected, "{scope}");
        let of_scope: Vec<_> = summaries.iter().filter(|s| s.scope == scope).collect();
        assert_eq!(of_scope.len(), 3);
        assert!(of_scope.iter().all(|s| s.counts.resolved == 0), "{scope}");
        assert_eq!(
            of_scope.iter().map(|s| s.counts.new).sum::<u64>(),
            N as u64,
            "each finding of {scope} is new exactly once"
        );
    }
}

#[tokio::test]
async fn scanned_commits_accumulate_per_scope_and_a_full_rescan_starts_afresh() {
    let (_dir, store) = temp_store().await;
    let ids = |list: &[&str]| list.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    store
        .add_scanned_commits("repo-a", &ids(&["c2", "c1"]), false, at(1, 10))
        .await
        .expect("first batch");
    store
        .add_scanned_commits("repo-a", &ids(&["c3", "c1"]), false, at(2, 10))
        .await
        .expect("incremental batch");
    store
        .add_scanned_commits("repo-b", &ids(&["x1"]), false, at(2, 10))
        .await
        .expect("other scope");
    let read = |scope: &'static str| {
        let store = &store;
        async move { store.scanned_commits(scope).await.expect("read commits") }
    };
    assert_eq!(read("repo-a").await, ids(&["c1", "c2", "c3"]));
    assert_eq!(read("repo-b").await, ids(&["x1"]));

    store
        .add_scanned_commits("repo-a", &ids(&["c9"]), true, at(3, 10))
        .await
        .expect("full rescan");
    assert_eq!(read("repo-a").await, ids(&["c9"]));
    assert_eq!(read("repo-b").await, ids(&["x1"]));
    assert!(read("repo-c").await.is_empty());
}
