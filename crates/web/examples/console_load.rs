//! Latency of the console's heaviest pages over a store of many findings,
//! through the whole router (guard, session lookup, query, template) without
//! a socket. Run in release:
//!
//! ```sh
//! cargo run --release -p palisade-web --example console_load -- 100000 16 30
//! ```
//!
//! Arguments: findings (default 100,000), concurrent clients (16), seconds
//! per page (10). Prints p50 and p99 per page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{NewRun, Role, SlaPolicy, Store};
use palisade_web::accounts::{create_user, fast_hashing_for_tests};
use palisade_web::{AppState, Clock, WebConfig};
use tower::ServiceExt;

fn findings(count: usize) -> Vec<Finding> {
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    let categories = [
        Category::Misconfiguration,
        Category::Secret,
        Category::Vulnerability,
        Category::Posture,
    ];
    (0..count)
        .map(|i| {
            let rule = Rule {
                id: format!("bench.rule.{}", i % 97),
                title: format!("Benchmark rule {}", i % 97).into(),
                severity: severities[i % severities.len()],
                category: categories[i % categories.len()],
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
                    format!("bucket-{i}"),
                    format!("dir{}/main.tf", i % 300),
                ),
                "is wrong",
            )
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("palisade.db").to_str().expect("utf-8"))
        .await
        .expect("store");
    let started = Instant::now();
    let now = chrono::Utc::now();
    for (i, chunk) in findings(count).chunks(25_000).enumerate() {
        let output = ScanOutput {
            findings: chunk.to_vec(),
            errors: vec![],
            inputs_scanned: 1,
        };
        let run = NewRun {
            engine: "iac".into(),
            scope: format!("/bench/{i}"),
            started_at: now,
        };
        store
            .record_scan(run, &output, true, &SlaPolicy::default(), now)
            .await
            .expect("record");
    }
    eprintln!(
        "seeded {count} findings in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = WebConfig {
        hashing: fast_hashing_for_tests(),
        ..WebConfig::default()
    };
    create_user(
        &store,
        &config,
        "loadtest",
        Role::Viewer,
        Some("benchmark passphrase"),
        now,
    )
    .await
    .expect("user");
    let state = AppState::new(store, config, Clock::default()).expect("state");
    let router = palisade_web::router(state);

    // Sign in once through the form.
    let login = router
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let pre = login
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .next()
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = axum::body::to_bytes(login.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let form = format!("username=loadtest&password=benchmark+passphrase&csrf={csrf}");
    let reply = router
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::COOKIE, &pre)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let cookie = reply
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|c| {
            let c = c.to_str().ok()?;
            c.starts_with("__Host-palisade_session=")
                .then(|| c.split(';').next().unwrap().to_string())
        })
        .unwrap();

    // The cursor of page 500 (rows 24,951-25,000), found by walking the pages.
    let mut page_500 = "/findings".to_string();
    for _ in 1..500 {
        let reply = router
            .clone()
            .oneshot(
                Request::get(&page_500)
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let body = axum::body::to_bytes(reply.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        let Some(next) = body
            .split("<a href=\"")
            .filter(|s| s.contains("rel=\"next\"") || s.starts_with("/findings?after"))
            .find_map(|s| {
                s.split('"')
                    .next()
                    .filter(|h| h.contains("after="))
                    .map(String::from)
            })
        else {
            break;
        };
        page_500 = next.replace("&amp;", "&").replace("&#38;", "&");
    }

    let pages = [
        ("dashboard", "/".to_string()),
        ("findings page 1", "/findings".to_string()),
        ("findings page 500", page_500),
        (
            "findings filtered (high+, secret)",
            "/findings?severity=high&category=secret".to_string(),
        ),
        (
            "findings text search",
            "/findings?q=bucket-4242".to_string(),
        ),
    ];
    println!("| page | requests | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, path) in pages {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let path = Arc::new(path);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let router = router.clone();
            let cookie = cookie.clone();
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let reply = router
                        .clone()
                        .oneshot(
                            Request::get(path.as_str())
                                .header(header::COOKIE, &cookie)
                                .body(Body::empty())
                                .unwrap(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), StatusCode::OK);
                    axum::body::to_bytes(reply.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    times.push(start.elapsed());
                }
                times
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.extend(task.await.unwrap());
        }
        times.sort();
        println!(
            "| {name} | {} | {:.1} | {:.1} |",
            times.len(),
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
}
