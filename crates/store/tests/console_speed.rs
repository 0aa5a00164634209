//! What keeps the console fast at 100,000 findings, pinned so a later change
//! that breaks it fails here: each filter combination of the findings list
//! walks the index led by its filter in sort order (EXPLAIN QUERY PLAN), and
//! returns what a plain filter over every finding returns; `q=` goes through
//! the FTS5 index when it is selective; and the tables kept by triggers
//! (`finding_due_times`, `findings_fts`, and the earlier rollups) stay equal to
//! a recount through insert, status change, suppress/unsuppress, resolve,
//! severity change, settings change and delete, and stop being so when any
//! one of those triggers is dropped.

use chrono::{DateTime, Utc};
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{
    FindingQuery, FindingSort, FindingSummary, NewRun, SlaPolicy, Status, StatusFilter, Store,
};
use tempfile::TempDir;

mod support;
use support::{at, temp_store};

async fn raw_pool(dir: &TempDir) -> sqlx::SqlitePool {
    let options =
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("palisade.db"));
    sqlx::SqlitePool::connect_with(options)
        .await
        .expect("second connection")
}

/// Runs SQL through a connection of its own, as someone with the file would.
async fn raw_sql(dir: &TempDir, sql: &str) {
    let pool = raw_pool(dir).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .expect("raw sql");
    pool.close().await;
}

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// `count` findings of `engine`; `severity_shift` moves every finding's
/// severity along (the fingerprint ignores severity), `title` names the rule.
fn findings(engine: &str, count: usize, severity_shift: usize, title: &str) -> Vec<Finding> {
    (0..count)
        .map(|i| {
            let rule = Rule {
                id: format!("{engine}.rule.{}", i % 4),
                title: format!("{title} {}", i % 4).into(),
                severity: SEVERITIES[(i + severity_shift) % SEVERITIES.len()],
                category: if i % 3 == 0 {
                    Category::Secret
                } else {
                    Category::Misconfiguration
                },
                description: String::new(),
                remediation: "Fix it.".into(),
                references: vec![].into(),
                compliance: vec![].into(),
                peers: vec![],
            };
            Finding::new(
                &rule,
                Resource::in_file(
                    "aws_s3_bucket",
                    format!("{engine}-bucket_{i}"),
                    format!("dir{}/main.tf", i % 5),
                ),
                "m",
            )
        })
        .collect()
}

async fn record(
    store: &Store,
    engine: &str,
    findings: Vec<Finding>,
    sla: &SlaPolicy,
    when: DateTime<Utc>,
) {
    let output = ScanOutput {
        findings,
        errors: vec![],
        inputs_scanned: 1,
    };
    let run = NewRun {
        engine: engine.into(),
        scope: "/repo".into(),
        started_at: when,
    };
    store
        .record_scan(run, &output, true, sla, when)
        .await
        .expect("record scan");
}

/// Two engines, two runs apart (so first and last seen differ), some
/// suppressed and some resolved: every status and filter value has rows.
async fn populated() -> (TempDir, Store) {
    let (dir, store) = temp_store().await;
    let sla = SlaPolicy::default();
    record(
        &store,
        "iac",
        findings("iac", 60, 0, "Bucket rule"),
        &sla,
        at(1, 0),
    )
    .await;
    record(
        &store,
        "deps",
        findings("deps", 45, 2, "Vulnerable package"),
        &sla,
        at(2, 0),
    )
    .await;
    // A third of iac fixed by the next complete run.
    record(
        &store,
        "iac",
        findings("iac", 40, 0, "Bucket rule"),
        &sla,
        at(3, 0),
    )
    .await;
    let all = all_findings(&store).await;
    for summary in all.iter().filter(|f| f.status == "open").step_by(7) {
        store
            .suppress_id(summary.id, "accepted", "alice", None, at(3, 1))
            .await
            .expect("suppress");
    }
    (dir, store)
}

async fn all_findings(store: &Store) -> Vec<FindingSummary> {
    store
        .findings_page(
            &FindingQuery {
                status: StatusFilter::All,
                limit: 500,
                ..FindingQuery::default()
            },
            at(3, 2),
        )
        .await
        .expect("all findings")
        .findings
}

fn rank(severity: &str) -> usize {
    ["info", "low", "medium", "high", "critical"]
        .iter()
        .position(|s| *s == severity)
        .expect("known severity")
}

/// The index the list is meant to walk for `query`: the most selective
/// equality filter leads, then the sort key.
fn intended_index(query: &FindingQuery) -> &'static str {
    let severity_order = query.sort == FindingSort::Severity;
    match (
        query.rule_id.is_some(),
        query.engine.is_some(),
        query.category.is_some(),
        matches!(query.status, StatusFilter::Only(_)),
        severity_order,
    ) {
        (true, _, _, _, true) => "findings_console_rule",
        (true, _, _, _, false) => "findings_console_rule_last_seen",
        (_, true, _, _, true) => "findings_console_engine",
        (_, true, _, _, false) => "findings_console_engine_last_seen",
        (_, _, true, _, true) => "findings_console_category",
        (_, _, true, _, false) => "findings_console_category_last_seen",
        (_, _, _, true, true) => "findings_console_status_severity",
        (_, _, _, true, false) => "findings_console_status_last_seen",
        (_, _, _, _, true) => "findings_console_severity",
        (_, _, _, _, false) => "findings_console_last_seen",
    }
}

/// Every filter combination the findings page offers (text search apart).
fn combinations() -> Vec<FindingQuery> {
    let mut queries = Vec::new();
    for sort in [FindingSort::Severity, FindingSort::LastSeen] {
        for status in [
            StatusFilter::Actionable,
            StatusFilter::Only(Status::Open),
            StatusFilter::Only(Status::Suppressed),
            StatusFilter::Only(Status::Resolved),
            StatusFilter::All,
        ] {
            for min_severity in [None, Some(Severity::High)] {
                for engine in [None, Some("deps".to_string())] {
                    for category in [None, Some("secret".to_string())] {
                        for rule_id in [None, Some("iac.rule.1".to_string())] {
                            for overdue_only in [false, true] {
                                queries.push(FindingQuery {
                                    status,
                                    min_severity,
                                    engine: engine.clone(),
                                    category: category.clone(),
                                    rule_id: rule_id.clone(),
                                    overdue_only,
                                    sort,
                                    limit: 7,
                                    ..FindingQuery::default()
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    queries
}

#[tokio::test]
async fn every_filter_combination_walks_the_index_led_by_its_filter_in_sort_order() {
    let (_dir, store) = populated().await;
    let cursor_of_sort = |sort| match sort {
        FindingSort::Severity => "3~2026-01-01T00:00:00.000000Z~5".to_string(),
        FindingSort::LastSeen => "2026-01-03T00:00:00.000000Z~5".to_string(),
    };
    for query in combinations() {
        let index = intended_index(&query);
        for after in [None, Some(cursor_of_sort(query.sort))] {
            let query = FindingQuery {
                after,
                ..query.clone()
            };
            let plan = store.findings_page_plan(&query, at(20, 0)).await.unwrap();
            let text = plan.join("\n");
            let steps_on_findings: Vec<&String> = plan
                .iter()
                .filter(|step| step.contains(" findings "))
                .collect();
            assert!(!steps_on_findings.is_empty(), "{query:?}\n{text}");
            for step in steps_on_findings {
                assert!(
                    step.ends_with(&format!("INDEX {index}"))
                        || step.contains(&format!("INDEX {index} (")),
                    "{query:?} should walk {index}:\n{text}"
                );
            }
            // Rows of findings are never sorted: the only sorts allowed are
            // those of the two bounded arms (at most a page each) of a
            // severity cursor's UNION ALL, over their subqueries' output.
            for (i, step) in plan.iter().enumerate() {
                if step.contains("TEMP B-TREE") {
                    assert!(
                        i > 0 && plan[i - 1].starts_with("SCAN (subquery-"),
                        "{query:?} sorts instead of walking {index}:\n{text}"
                    );
                }
            }
            // An equality filter that leads the index is a search, not a scan.
            if query.rule_id.is_some() || query.engine.is_some() || query.category.is_some() {
                assert!(text.contains("SEARCH findings"), "{query:?}\n{text}");
            }
        }
    }
}

/// What `query` should list, by filtering and sorting every finding.
fn expected(all: &[FindingSummary], query: &FindingQuery, now: &str) -> Vec<i64> {
    let mut rows: Vec<&FindingSummary> = all
        .iter()
        .filter(|f| match query.status {
            StatusFilter::Actionable => f.status == "open" || f.status == "reopened",
            StatusFilter::Only(status) => f.status == status.as_str(),
            StatusFilter::All => true,
        })
        .filter(|f| {
            query
                .min_severity
                .is_none_or(|s| rank(&f.severity) >= rank(&s.to_string()))
        })
        .filter(|f| query.engine.as_ref().is_none_or(|e| &f.engine == e))
        .filter(|f| query.category.as_ref().is_none_or(|c| &f.category == c))
        .filter(|f| query.rule_id.as_ref().is_none_or(|r| &f.rule_id == r))
        .filter(|f| {
            !query.overdue_only
                || ((f.status == "open" || f.status == "reopened")
                    && f.sla_due_at.as_deref().is_some_and(|d| d < now))
        })
        .collect();
    match query.sort {
        FindingSort::Severity => rows.sort_by(|a, b| {
            (std::cmp::Reverse(rank(&a.severity)), &a.first_seen, a.id).cmp(&(
                std::cmp::Reverse(rank(&b.severity)),
                &b.first_seen,
                b.id,
            ))
        }),
        FindingSort::LastSeen => {
            rows.sort_by(|a, b| (&b.last_seen, b.id).cmp(&(&a.last_seen, a.id)))
        }
    }
    rows.into_iter().map(|f| f.id).collect()
}

async fn walk_pages(store: &Store, query: &FindingQuery, now: DateTime<Utc>) -> (Vec<i64>, u64) {
    let mut query = query.clone();
    let mut ids = Vec::new();
    let mut total = None;
    loop {
        let page = store.findings_page(&query, now).await.unwrap();
        total.get_or_insert(page.total);
        ids.extend(page.findings.iter().map(|f| f.id));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
        assert!(ids.len() < 10_000, "pages never end: {query:?}");
    }
    (ids, total.unwrap_or(0))
}

#[tokio::test]
async fn every_filter_combination_lists_what_a_filter_over_every_finding_lists() {
    let (_dir, store) = populated().await;
    let all = all_findings(&store).await;
    assert_eq!(all.len(), 105);
    let now = at(20, 0);
    let now_text = now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut nonempty = 0;
    for query in combinations() {
        let want = expected(&all, &query, &now_text);
        let (got, total) = walk_pages(&store, &query, now).await;
        assert_eq!(got, want, "{query:?}");
        assert_eq!(total, want.len() as u64, "{query:?}");
        nonempty += usize::from(!want.is_empty());
    }
    // The fixture is not so thin that most combinations list nothing.
    assert!(nonempty > 150, "{nonempty}");
}

#[tokio::test]
async fn text_search_finds_substrings_of_title_rule_location_and_asset_either_way() {
    let (dir, store) = populated().await;
    let all = all_findings(&store).await;
    let search = |text: &str, status: StatusFilter| FindingQuery {
        text: Some(text.into()),
        status,
        limit: 500,
        ..FindingQuery::default()
    };
    let contains = |f: &FindingSummary, text: &str| {
        let text = text.to_lowercase();
        [
            f.title.clone(),
            f.rule_id.clone(),
            f.file_path.clone().unwrap_or_default(),
            format!("{} {}", f.resource_kind, f.resource_id),
        ]
        .iter()
        .any(|t| t.to_lowercase().contains(&text))
    };
    // Title, rule, location, asset; `_` is a character, not a wildcard; short
    // text and text with quotes; a miss.
    for text in [
        "vulnerable PACKAGE 3",
        "deps.rule.2",
        "dir3/main",
        "bucket_1",
        "s3_bucket iac-bucket_4",
        "t_1",
        "_",
        "de",
        "\"quoted\"",
        "no such text",
    ] {
        for status in [StatusFilter::All, StatusFilter::Actionable] {
            let want: Vec<i64> = all
                .iter()
                .filter(|f| contains(f, text))
                .filter(|f| status == StatusFilter::All || f.status == "open")
                .map(|f| f.id)
                .collect();
            let (got, _) = walk_pages(&store, &search(text, status), at(3, 2)).await;
            let mut got_sorted = got.clone();
            got_sorted.sort_unstable();
            let mut want_sorted = want.clone();
            want_sorted.sort_unstable();
            assert_eq!(got_sorted, want_sorted, "`{text}` {status:?}");
        }
    }
    // A selective search reads the ids the full-text index matched.
    let plan = store
        .findings_page_plan(&search("deps-bucket_4", StatusFilter::All), at(3, 2))
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("json_each VIRTUAL TABLE"), "{plan}");
    assert!(
        plan.contains("SEARCH findings USING INTEGER PRIMARY KEY"),
        "{plan}"
    );

    // A title that changes is found under its new text only; a deleted
    // finding leaves the index.
    record(
        &store,
        "deps",
        findings("deps", 45, 2, "Renamed advisory"),
        &SlaPolicy::default(),
        at(4, 0),
    )
    .await;
    let (renamed, _) = walk_pages(
        &store,
        &search("renamed advisory", StatusFilter::All),
        at(4, 1),
    )
    .await;
    assert_eq!(renamed.len(), 45);
    let (old, _) = walk_pages(
        &store,
        &search("vulnerable package", StatusFilter::All),
        at(4, 1),
    )
    .await;
    assert!(old.is_empty(), "{old:?}");
    raw_sql(&dir, "DELETE FROM findings WHERE engine = 'deps'").await;
    let pool = raw_pool(&dir).await;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM findings_fts WHERE findings_fts MATCH '\"renamed advisory\"'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(left, 0);
}

/// Where the trigger-kept tables differ from a recount over findings.
async fn mismatches(dir: &TempDir, store: &Store, now: DateTime<Utc>) -> Vec<String> {
    let pool = raw_pool(dir).await;
    let mut found = Vec::new();
    let pairs: [(&str, &str, &str); 5] = [
        (
            "finding_due_times",
            "SELECT due_at || '|' || severity_rank || '|' || n FROM finding_due_times \
             WHERE n <> 0 ORDER BY 1",
            "SELECT sla_due_at || '|' || severity_rank || '|' || COUNT(*) FROM findings \
             WHERE status IN ('open', 'reopened') AND sla_due_at IS NOT NULL \
             GROUP BY sla_due_at, severity_rank ORDER BY 1",
        ),
        (
            "finding_due_counts",
            "SELECT due_day || '|' || severity_rank || '|' || n FROM finding_due_counts \
             WHERE n <> 0 ORDER BY 1",
            "SELECT substr(sla_due_at, 1, 10) || '|' || severity_rank || '|' || COUNT(*) \
             FROM findings WHERE status IN ('open', 'reopened') AND sla_due_at IS NOT NULL \
             GROUP BY substr(sla_due_at, 1, 10), severity_rank ORDER BY 1",
        ),
        (
            "finding_counts",
            "SELECT status || '|' || severity_rank || '|' || category || '|' || n \
             FROM finding_counts WHERE n <> 0 ORDER BY 1",
            "SELECT status || '|' || severity_rank || '|' || category || '|' || COUNT(*) \
             FROM findings GROUP BY status, severity_rank, category ORDER BY 1",
        ),
        (
            "finding_engine_counts",
            "SELECT engine || '|' || status || '|' || severity_rank || '|' || category || '|' || n \
             FROM finding_engine_counts WHERE n <> 0 ORDER BY 1",
            "SELECT engine || '|' || status || '|' || severity_rank || '|' || category || '|' || \
             COUNT(*) FROM findings GROUP BY engine, status, severity_rank, category ORDER BY 1",
        ),
        (
            "findings_fts",
            "SELECT rowid || '|' || title || '|' || rule_id || '|' || location || '|' || asset \
             FROM findings_fts ORDER BY rowid",
            "SELECT id || '|' || COALESCE(json_extract(finding, '$.title'), '') || '|' || \
             rule_id || '|' || COALESCE(file_path, '') || '|' || resource_kind || ' ' || \
             resource_id FROM findings ORDER BY id",
        ),
    ];
    for (table, kept, recount) in pairs {
        let kept: Vec<String> = sqlx::query_scalar(kept).fetch_all(&pool).await.unwrap();
        let recount: Vec<String> = sqlx::query_scalar(recount).fetch_all(&pool).await.unwrap();
        if kept != recount {
            found.push(format!("{table}: kept {kept:?}, recount {recount:?}"));
        }
    }
    // The dashboard's breaches (today's part from finding_due_times).
    let overdue: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT severity_rank, COUNT(*) FROM findings WHERE status IN ('open', 'reopened') \
         AND sla_due_at < ? GROUP BY severity_rank ORDER BY severity_rank DESC",
    )
    .bind(now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let dashboard = store.dashboard(now, 30).await.unwrap();
    let shown: Vec<(i64, i64)> = dashboard
        .overdue_by_severity
        .iter()
        .filter(|o| o.1 > 0)
        .map(|(s, n)| (rank(&s.to_string()) as i64, *n as i64))
        .collect();
    if shown != overdue {
        found.push(format!(
            "dashboard overdue at {now}: shown {shown:?}, recount {overdue:?}"
        ));
    }
    found
}

/// Every kind of write the tables follow, checking after each; returns the
/// mismatches seen (empty when every trigger did its part).
async fn lifecycle(dir: &TempDir, store: &Store) -> Vec<String> {
    let mut seen = Vec::new();
    let mut check = |step: &str, found: Vec<String>| {
        seen.extend(found.into_iter().map(|m| format!("after {step}: {m}")));
    };
    let sla = SlaPolicy::default();
    // Insert. Critical findings of day 1 fall due on day 8 at 00:00: at 8 12:00
    // they are today's breaches, read from finding_due_times.
    record(
        store,
        "iac",
        findings("iac", 30, 0, "Bucket rule"),
        &sla,
        at(1, 0),
    )
    .await;
    check("insert", mismatches(dir, store, at(8, 12)).await);
    // Severity change: the same findings, each one severity along.
    record(
        store,
        "iac",
        findings("iac", 30, 1, "Bucket rule"),
        &sla,
        at(2, 0),
    )
    .await;
    check("severity change", mismatches(dir, store, at(8, 12)).await);
    // Resolve: a complete run without the last ten.
    record(
        store,
        "iac",
        findings("iac", 20, 1, "Bucket rule"),
        &sla,
        at(3, 0),
    )
    .await;
    check("resolve", mismatches(dir, store, at(8, 12)).await);
    // Suppress and unsuppress (status changes by hand).
    let open: Vec<i64> = all_findings(store)
        .await
        .into_iter()
        .filter(|f| f.status == "open")
        .map(|f| f.id)
        .collect();
    for id in open.iter().take(4) {
        store
            .suppress_id(*id, "accepted", "alice", None, at(3, 1))
            .await
            .unwrap();
    }
    check("suppress", mismatches(dir, store, at(8, 12)).await);
    store
        .unsuppress_id(open[0], "alice", at(3, 2))
        .await
        .unwrap();
    check("unsuppress", mismatches(dir, store, at(8, 12)).await);
    // Reopen: the resolved ones come back.
    record(
        store,
        "iac",
        findings("iac", 30, 1, "Bucket rule"),
        &sla,
        at(4, 0),
    )
    .await;
    check("reopen", mismatches(dir, store, at(8, 12)).await);
    // Settings change: shorter SLAs move every due time, and today's breaches.
    let strict = SlaPolicy {
        critical: Some(2),
        high: Some(4),
        medium: Some(7),
        low: Some(30),
        info: Some(60),
    };
    store
        .set_sla_policy(&strict, "alice", at(5, 0))
        .await
        .unwrap();
    check("settings change", mismatches(dir, store, at(6, 12)).await);
    // A renamed rule: the title the search reads changes.
    record(
        store,
        "iac",
        findings("iac", 30, 1, "Renamed rule"),
        &strict,
        at(5, 0),
    )
    .await;
    check("rename", mismatches(dir, store, at(6, 12)).await);
    // Delete.
    raw_sql(
        dir,
        "DELETE FROM findings WHERE id IN (SELECT id FROM findings ORDER BY id LIMIT 12)",
    )
    .await;
    check("delete", mismatches(dir, store, at(6, 12)).await);
    seen
}

#[tokio::test]
async fn trigger_kept_tables_equal_a_recount_through_every_kind_of_write() {
    let (dir, store) = temp_store().await;
    let found = lifecycle(&dir, &store).await;
    assert!(found.is_empty(), "{found:#?}");
}

#[tokio::test]
async fn dropping_any_one_trigger_is_caught() {
    for trigger in [
        "finding_due_times_insert",
        "finding_due_times_delete",
        "finding_due_times_update",
        "findings_fts_insert",
        "findings_fts_delete",
        "findings_fts_update",
        "finding_counts_insert",
        "finding_counts_delete",
        "finding_counts_update",
        "finding_engine_counts_insert",
        "finding_engine_counts_delete",
        "finding_engine_counts_update",
    ] {
        let (dir, store) = temp_store().await;
        raw_sql(&dir, &format!("DROP TRIGGER {trigger}")).await;
        let found = lifecycle(&dir, &store).await;
        assert!(!found.is_empty(), "nothing noticed {trigger} missing");
    }
}
