//! The web console's part of the store: accounts, sessions, throttling, the
//! hash-chained audit log, and the findings list's keyset pagination.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{
    AuditFilter, Error, FindingQuery, FindingSort, NewAuditEvent, NewRun, NewSession, Role,
    SlaPolicy, StatusFilter, Store, AUDIT_GENESIS_HASH,
};
use tempfile::TempDir;

mod support;
use support::{at, temp_store};

fn event(actor: &str, action: &str, target: &str) -> NewAuditEvent {
    NewAuditEvent {
        actor: actor.into(),
        source_ip: Some("192.0.2.1".into()),
        action: action.into(),
        target: Some(target.into()),
        detail: None,
    }
}

/// Runs SQL on the database file through a connection of its own, as someone
/// with write access to the file would.
async fn raw_sql(dir: &TempDir, sql: &'static str) -> Result<(), sqlx::Error> {
    let path = dir.path().join("palisade.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let pool = sqlx::SqlitePool::connect_with(options).await?;
    let result = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ());
    pool.close().await;
    result
}

#[tokio::test]
async fn audit_log_chains_every_record_and_verifies() {
    let (_dir, store) = temp_store().await;
    let empty = store.verify_audit_log().await.unwrap();
    assert_eq!(
        (empty.records, empty.head.as_str()),
        (0, AUDIT_GENESIS_HASH)
    );

    let first = store
        .append_audit(&event("alice", "login.success", "alice"), at(1, 1))
        .await
        .unwrap();
    let second = store
        .append_audit(&event("alice", "user.role", "bob"), at(1, 2))
        .await
        .unwrap();
    assert_eq!(first.prev_hash, AUDIT_GENESIS_HASH);
    assert_eq!(second.prev_hash, first.hash);
    assert_ne!(first.hash, second.hash);

    let verified = store.verify_audit_log().await.unwrap();
    assert_eq!(verified.records, 2);
    assert_eq!(verified.head, second.hash);

    let listed = store
        .list_audit(&AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 1]);
    let logins = store
        .list_audit(&AuditFilter {
            action_prefix: Some("login.".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].action, "login.success");
}

#[tokio::test]
async fn the_database_refuses_updates_and_deletes_of_audit_records() {
    let (dir, store) = temp_store().await;
    store
        .append_audit(&event("alice", "login.success", "alice"), at(1, 1))
        .await
        .unwrap();
    let update = raw_sql(&dir, "UPDATE audit_log SET actor = 'mallory'")
        .await
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = raw_sql(&dir, "DELETE FROM audit_log").await.unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
}

#[tokio::test]
async fn verification_names_the_first_edited_or_missing_record() {
    for (tamper, broken_at, reason) in [
        (
            "UPDATE audit_log SET detail = 'nothing to see' WHERE id = 2",
            2,
            "content does not match",
        ),
        ("DELETE FROM audit_log WHERE id = 2", 3, "missing"),
        (
            // Recomputing nothing but swapping two records' content.
            "UPDATE audit_log SET actor = CASE id WHEN 1 THEN 'bob' ELSE 'alice' END WHERE id IN (1, 3)",
            1,
            "content does not match",
        ),
    ] {
        let (dir, store) = temp_store().await;
        for (i, actor) in ["alice", "carol", "bob"].into_iter().enumerate() {
            store
                .append_audit(&event(actor, "login.success", actor), at(1, i as u32))
                .await
                .unwrap();
        }
        store.verify_audit_log().await.unwrap();
        store.close().await;
        raw_sql(&dir, "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .await
            .unwrap();
        raw_sql(&dir, tamper).await.unwrap();
        let store = Store::open(dir.path().join("palisade.db").to_str().unwrap())
            .await
            .unwrap();
        match store.verify_audit_log().await {
            Err(Error::AuditChainBroken { id, reason: text }) => {
                assert_eq!(id, broken_at, "{tamper}: {text}");
                assert!(text.contains(reason), "{tamper}: {text}");
            }
            other => panic!("{tamper}: expected a broken chain, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case_and_validated() {
    let (_dir, store) = temp_store().await;
    store
        .create_user("Alice", Role::Admin, Some("$hash"), at(1, 0))
        .await
        .unwrap();
    let duplicate = store
        .create_user("alice", Role::Viewer, None, at(1, 0))
        .await
        .unwrap_err();
    assert!(matches!(duplicate, Error::Conflict(_)), "{duplicate}");
    let found = store.user_by_name("ALICE").await.unwrap().unwrap();
    assert_eq!(found.username, "Alice");
    assert!(
        !format!("{found:?}").contains("$hash"),
        "Debug must not show the hash"
    );
    for bad in ["", "has space", "a<b>", &"x".repeat(65)] {
        let error = store
            .create_user(bad, Role::Viewer, None, at(1, 0))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput { .. }),
            "{bad}: {error}"
        );
    }
}

async fn session(store: &Store, user_id: i64, id: &str) {
    store
        .create_session(
            &NewSession {
                id_hash: id.into(),
                user_id,
                csrf_token: format!("csrf-{id}"),
                expires_at: at(2, 0),
            },
            at(1, 0),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn disabling_changing_the_passphrase_or_role_ends_every_session_of_the_user() {
    let (_dir, store) = temp_store().await;
    let alice = store
        .create_user("alice", Role::Analyst, Some("h1"), at(1, 0))
        .await
        .unwrap();
    let bob = store
        .create_user("bob", Role::Viewer, Some("h1"), at(1, 0))
        .await
        .unwrap();
    let live = |id: &'static str| {
        let store = store.clone();
        async move { store.session_with_user(id).await.unwrap().is_some() }
    };

    session(&store, alice.id, "a1").await;
    session(&store, alice.id, "a2").await;
    session(&store, bob.id, "b1").await;
    store
        .set_user_disabled(alice.id, true, at(1, 1))
        .await
        .unwrap();
    assert!(!live("a1").await && !live("a2").await);
    assert!(live("b1").await, "another user's session is untouched");

    session(&store, bob.id, "b2").await;
    store
        .set_password_hash(bob.id, "h2", at(1, 2))
        .await
        .unwrap();
    assert!(!live("b1").await && !live("b2").await);
    let bob = store.user_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(bob.password_hash.as_deref(), Some("h2"));

    session(&store, bob.id, "b3").await;
    store
        .set_user_role(bob.id, Role::Admin, at(1, 3))
        .await
        .unwrap();
    assert!(!live("b3").await);
    let missing = store
        .set_user_role(999, Role::Admin, at(1, 3))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)));
}

#[tokio::test]
async fn the_first_admin_link_works_once_and_only_on_an_empty_store() {
    let (_dir, store) = temp_store().await;
    store
        .create_enrolment_token("t1", None, at(1, 1), at(1, 0))
        .await
        .unwrap();
    store
        .create_enrolment_token("t2", None, at(1, 1), at(1, 0))
        .await
        .unwrap();
    assert!(
        store
            .enrolment_token("t1", at(1, 2))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    let admin = store
        .complete_enrolment("t1", "root", "h", at(1, 0))
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    let reused = store
        .complete_enrolment("t1", "root2", "h", at(1, 0))
        .await
        .unwrap_err();
    assert!(matches!(reused, Error::InvalidInput { .. }), "{reused}");
    let second = store
        .complete_enrolment("t2", "root2", "h", at(1, 0))
        .await
        .unwrap_err();
    assert!(second.to_string().contains("already exists"), "{second}");
    assert_eq!(store.count_users().await.unwrap(), 1);

    let invited = store
        .create_user("carol", Role::Viewer, None, at(1, 0))
        .await
        .unwrap();
    store
        .create_enrolment_token("t3", Some(invited.id), at(1, 1), at(1, 0))
        .await
        .unwrap();
    let carol = store
        .complete_enrolment("t3", "ignored", "hc", at(1, 0))
        .await
        .unwrap();
    assert_eq!(
        (carol.username.as_str(), carol.password_hash.as_deref()),
        ("carol", Some("hc"))
    );
}

#[tokio::test]
async fn throttle_counts_failures_locks_and_forgets() {
    let (_dir, store) = temp_store().await;
    let lock = |n: u32| (n >= 3).then(|| Duration::minutes(i64::from(n)));
    let forget = Duration::minutes(15);
    for n in 1..=2 {
        let state = store
            .record_login_failure("k", forget, lock, at(1, 0))
            .await
            .unwrap();
        assert_eq!(state.failures, n);
        assert!(!state.is_locked_at(at(1, 0)));
    }
    let state = store
        .record_login_failure("k", forget, lock, at(1, 0))
        .await
        .unwrap();
    assert!(state.is_locked_at(at(1, 0)));
    assert!(!state.is_locked_at(at(1, 0) + Duration::minutes(3)));
    assert_eq!(store.throttle_state("k").await.unwrap(), state);
    // A failure long after the last starts the count again.
    let later = store
        .record_login_failure("k", forget, lock, at(1, 5))
        .await
        .unwrap();
    assert_eq!(later.failures, 1);
    store.clear_login_failures("k").await.unwrap();
    assert_eq!(store.throttle_state("k").await.unwrap().failures, 0);
}

fn findings(count: usize) -> Vec<Finding> {
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    (0..count)
        .map(|i| {
            let severity = severities[i % severities.len()];
            let rule = Rule {
                id: format!("rule.{}", i % 7),
                title: format!("title {i}").into(),
                severity,
                category: if i % 2 == 0 {
                    Category::Misconfiguration
                } else {
                    Category::Secret
                },
                description: String::new(),
                remediation: "Fix it.".into(),
                references: vec![].into(),
                compliance: vec![].into(),
                peers: vec![],
            };
            Finding::new(
                &rule,
                Resource::in_file("kind", format!("res-{i}"), "main.tf"),
                "m",
            )
        })
        .collect()
}

async fn record(store: &Store, findings: Vec<Finding>, when: DateTime<Utc>) {
    let output = ScanOutput {
        findings,
        errors: vec![],
        inputs_scanned: 1,
    };
    let run = NewRun {
        engine: "iac".into(),
        scope: "/repo".into(),
        started_at: when,
    };
    store
        .record_scan(run, &output, true, &SlaPolicy::default(), when)
        .await
        .unwrap();
}

#[tokio::test]
async fn keyset_pages_cover_every_match_once_in_either_order() {
    let (_dir, store) = temp_store().await;
    // Two runs so first_seen and last_seen differ between findings.
    record(&store, findings(40), at(1, 0)).await;
    record(&store, findings(123), at(2, 0)).await;
    for sort in [FindingSort::Severity, FindingSort::LastSeen] {
        let mut query = FindingQuery {
            sort,
            limit: 10,
            ..FindingQuery::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store.findings_page(&query, at(3, 0)).await.unwrap();
            assert_eq!(page.total, 123);
            seen.extend(page.findings.iter().map(|f| {
                (
                    f.id,
                    f.severity.clone(),
                    f.first_seen.clone(),
                    f.last_seen.clone(),
                )
            }));
            match page.next_cursor {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(seen.len(), 123, "{sort:?}");
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<HashSet<_>>().len(),
            123,
            "{sort:?}: no repeats"
        );
        let rank = |s: &str| {
            ["info", "low", "medium", "high", "critical"]
                .iter()
                .position(|x| *x == s)
                .unwrap()
        };
        for pair in seen.windows(2) {
            match sort {
                FindingSort::Severity => assert!(
                    (std::cmp::Reverse(rank(&pair[0].1)), &pair[0].2, pair[0].0)
                        < (std::cmp::Reverse(rank(&pair[1].1)), &pair[1].2, pair[1].0)
                ),
                FindingSort::LastSeen => assert!((&pair[0].3, pair[0].0) > (&pair[1].3, pair[1].0)),
            }
        }
    }
}

#[tokio::test]
async fn console_filters_combine() {
    let (_dir, store) = temp_store().await;
    record(&store, findings(50), at(1, 0)).await;
    let page = |query: FindingQuery| {
        let store = store.clone();
        async move {
            store
                .findings_page(
                    &FindingQuery {
                        limit: 500,
                        ..query
                    },
                    at(2, 0),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(
        page(FindingQuery {
            min_severity: Some(Severity::High),
            ..Default::default()
        })
        .await
        .total,
        20
    );
    assert_eq!(
        page(FindingQuery {
            category: Some("secret".into()),
            ..Default::default()
        })
        .await
        .total,
        25
    );
    assert_eq!(
        page(FindingQuery {
            text: Some("res-4".into()),
            ..Default::default()
        })
        .await
        .total,
        11
    );
    assert_eq!(
        page(FindingQuery {
            rule_id: Some("rule.0".into()),
            ..Default::default()
        })
        .await
        .total,
        8
    );
    assert_eq!(
        page(FindingQuery {
            status: StatusFilter::All,
            ..Default::default()
        })
        .await
        .total,
        50
    );
    // The critical findings' SLA (7 days) has passed three weeks later.
    let overdue = store
        .findings_page(
            &FindingQuery {
                overdue_only: true,
                limit: 500,
                ..Default::default()
            },
            at(22, 0),
        )
        .await
        .unwrap();
    assert_eq!(overdue.total, 10);
    let bad = store
        .findings_page(
            &FindingQuery {
                after: Some("1~nonsense~2".into()),
                limit: 5,
                ..Default::default()
            },
            at(2, 0),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidInput { .. }), "{bad}");

    let dashboard = store.dashboard(at(22, 0), 30).await.unwrap();
    assert_eq!(dashboard.actionable, 50);
    assert_eq!(
        dashboard.actionable_by_severity[0],
        (Severity::Critical, 10)
    );
    assert_eq!(dashboard.overdue_by_severity[0], (Severity::Critical, 10));
    assert_eq!(dashboard.trend.len(), 30);
    assert_eq!(dashboard.trend.last().unwrap().1, 50);
    // Before the run on day 1 nothing was open.
    let before: Vec<u64> = dashboard
        .trend
        .iter()
        .filter(|(d, _)| d.to_string().as_str() < "2026-01-01")
        .map(|t| t.1)
        .collect();
    assert!(before.iter().all(|n| *n == 0), "{before:?}");
}

/// The dashboard as a scan of every finding and event would compute it.
async fn recount(dir: &TempDir, now: DateTime<Utc>) -> (Vec<(i64, i64, i64)>, Vec<(String, i64)>) {
    let path = dir.path().join("palisade.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let by_rank = sqlx::query_as(
        "SELECT severity_rank, COUNT(*), SUM(sla_due_at IS NOT NULL AND sla_due_at < ?) \
         FROM findings WHERE status IN ('open', 'reopened') GROUP BY severity_rank \
         ORDER BY severity_rank DESC",
    )
    .bind(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    .fetch_all(&pool)
    .await
    .unwrap();
    let by_status =
        sqlx::query_as("SELECT status, COUNT(*) FROM findings GROUP BY status ORDER BY status")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    (by_rank, by_status)
}

#[tokio::test]
async fn dashboard_rollups_stay_equal_to_a_recount_through_the_lifecycle() {
    let (dir, store) = temp_store().await;
    record(&store, findings(60), at(1, 0)).await;
    // Half of them fixed: resolved by the next complete run.
    record(&store, findings(30), at(2, 0)).await;
    let page = store
        .findings_page(
            &FindingQuery {
                limit: 3,
                ..Default::default()
            },
            at(2, 1),
        )
        .await
        .unwrap();
    let [a, b, c] = [
        page.findings[0].id,
        page.findings[1].id,
        page.findings[2].id,
    ];
    store
        .suppress_id(a, "accepted", "alice", Some(at(5, 0)), at(2, 2))
        .await
        .unwrap();
    store
        .suppress_id(b, "accepted", "alice", None, at(2, 2))
        .await
        .unwrap();
    store.unsuppress_id(b, "alice", at(3, 0)).await.unwrap();
    store
        .suppress_id(c, "accepted", "alice", None, at(3, 0))
        .await
        .unwrap();
    // The resolved ones come back; `a`'s suppression expires on day 5.
    record(&store, findings(60), at(6, 0)).await;

    for now in [at(6, 1), at(8, 12), at(30, 0)] {
        let dashboard = store.dashboard(now, 30).await.unwrap();
        let (by_rank, by_status) = recount(&dir, now).await;
        let expected_actionable: i64 = by_rank.iter().map(|r| r.1).sum();
        assert_eq!(dashboard.actionable as i64, expected_actionable, "{now}");
        let ranks = ["info", "low", "medium", "high", "critical"];
        for (rank, open, overdue) in &by_rank {
            let name = ranks[*rank as usize];
            let of = |list: &[(Severity, u64)]| {
                list.iter()
                    .find(|(s, _)| s.to_string() == name)
                    .map(|(_, n)| *n as i64)
                    .unwrap()
            };
            assert_eq!(
                of(&dashboard.actionable_by_severity),
                *open,
                "{name} at {now}"
            );
            assert_eq!(
                of(&dashboard.overdue_by_severity),
                *overdue,
                "{name} at {now}"
            );
        }
        let suppressed = by_status
            .iter()
            .find(|s| s.0 == "suppressed")
            .map_or(0, |s| s.1);
        assert_eq!(dashboard.suppressed as i64, suppressed, "{now}");
        assert_eq!(
            dashboard.trend.last().unwrap().1 as i64,
            expected_actionable
        );
    }
    // 60 on day 1; 30 left on day 2 less `a` and `b` suppressed; day 3
    // trades `b` for `c`; `a` comes back when its suppression ends on day 5;
    // day 6 brings back the resolved ones (all but `c`, still suppressed).
    let dashboard = store.dashboard(at(6, 1), 6).await.unwrap();
    let trend: Vec<u64> = dashboard.trend.iter().map(|t| t.1).collect();
    assert_eq!(trend, vec![60, 28, 28, 28, 29, 59]);
    let statuses = store
        .findings_page(
            &FindingQuery {
                status: StatusFilter::All,
                ..Default::default()
            },
            at(6, 1),
        )
        .await
        .unwrap();
    assert_eq!((statuses.total, statuses.total_is_exact), (60, true));
}

#[tokio::test]
async fn filtered_totals_are_capped_and_say_so() {
    let (_dir, store) = temp_store().await;
    record(&store, findings(1_200), at(1, 0)).await;
    let page = |text: &str| {
        let store = store.clone();
        let text = text.to_string();
        async move {
            store
                .findings_page(
                    &FindingQuery {
                        text: Some(text),
                        limit: 10,
                        ..Default::default()
                    },
                    at(2, 0),
                )
                .await
                .unwrap()
        }
    };
    let many = page("res-").await;
    assert_eq!((many.total, many.total_is_exact), (1_000, false));
    let few = page("res-11").await;
    // res-11, res-110..119, res-1100..1199
    assert_eq!((few.total, few.total_is_exact), (111, true));
}
