//! The console's load benchmark, used by `bench/web.sh`:
//!
//! - `web_bench seed DB COUNT`: stores COUNT findings of four engines through
//!   `Store::record_scan` (one transaction per engine and run, not COUNT
//!   scans) and a `bench` viewer account with the production Argon2id
//!   parameters.
//! - `web_bench serve DB PORT`: the console on 127.0.0.1:PORT exactly as
//!   `palisade serve` runs it (the same router and `server::serve`, plain
//!   HTTP on loopback), for when the CLI binary is not built in release.
//! - `web_bench load URL PASSPHRASE CLIENTS SECONDS`: signs in to a running
//!   `palisade serve` over HTTP, then for each page runs CLIENTS concurrent
//!   clients for SECONDS and prints p50/p99 latency as a Markdown table
//!   (dashboard, findings page 1 and 500, two filtered lists, a selective and
//!   a match-everything text search);
//!   finally times sign-ins against a bare Argon2id hash.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use palisade_core::{Category, Finding, Resource, Rule, ScanOutput, Severity};
use palisade_store::{NewRun, Role, SlaPolicy, Store};
use palisade_web::accounts::create_user;
use palisade_web::password::{hash_passphrase, HashingParams};
use palisade_web::WebConfig;

type HttpClient = Client<HttpConnector, Full<Bytes>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ENGINES: [(&str, Category); 4] = [
    ("iac", Category::Misconfiguration),
    ("secrets", Category::Secret),
    ("deps", Category::Vulnerability),
    ("aws", Category::Posture),
];

fn findings(engine: usize, count: usize) -> Vec<Finding> {
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    let (name, category) = ENGINES[engine];
    (0..count)
        .map(|i| {
            let rule = Rule {
                id: format!("{name}.rule.{}", i % 97),
                title: format!("Benchmark rule {}", i % 97).into(),
                severity: severities[(i + engine) % severities.len()],
                category,
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
                    format!("{name}-resource-{i}"),
                    format!("dir{}/main.tf", i % 300),
                ),
                "is wrong",
            )
        })
        .collect()
}

async fn seed(db: &str, count: usize) -> Result<(), BoxError> {
    let store = Store::open(db).await?;
    let started = Instant::now();
    let now = chrono::Utc::now();
    for (engine, (name, _)) in ENGINES.iter().enumerate() {
        let share = count / ENGINES.len() + usize::from(engine < count % ENGINES.len());
        // Found a while ago (so some are past their SLA), seen again now.
        let first = now - chrono::Duration::days(20 + 5 * engine as i64);
        for when in [first, now] {
            let output = ScanOutput {
                findings: findings(engine, share),
                errors: vec![],
                inputs_scanned: 1,
            };
            let run = NewRun {
                engine: (*name).into(),
                scope: "/bench".into(),
                started_at: when,
            };
            store
                .record_scan(run, &output, true, &SlaPolicy::default(), when)
                .await?;
        }
    }
    let config = WebConfig::default();
    create_user(
        &store,
        &config,
        "load-client",
        Role::Viewer,
        Some("benchmark passphrase"),
        now,
    )
    .await?;
    eprintln!(
        "seeded {count} findings in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}

struct Reply {
    status: StatusCode,
    cookies: Vec<String>,
    body: String,
}

async fn send(client: &HttpClient, request: Request<Full<Bytes>>) -> Result<Reply, String> {
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok()?.split(';').next().map(String::from))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        cookies,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn get(url: &str, cookie: &str) -> Result<Request<Full<Bytes>>, String> {
    Request::get(url)
        .header(header::COOKIE, cookie)
        .body(Full::default())
        .map_err(|e| e.to_string())
}

/// Signs in as `bench` through the sign-in form; returns the session cookie.
async fn sign_in(client: &HttpClient, base: &str, passphrase: &str) -> Result<String, String> {
    let page = send(client, get(&format!("{base}/login"), "")?).await?;
    let pre = page
        .cookies
        .first()
        .cloned()
        .ok_or("no pre-session cookie")?;
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .ok_or("no csrf field on the sign-in page")?;
    let form = serde_urlencoded::to_string([
        ("username", "load-client"),
        ("password", passphrase),
        ("csrf", csrf),
    ])
    .map_err(|e| e.to_string())?;
    let request = Request::post(format!("{base}/login"))
        .header(header::COOKIE, &pre)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::from(form))
        .map_err(|e| e.to_string())?;
    let reply = send(client, request).await?;
    if reply.status != StatusCode::SEE_OTHER {
        return Err(format!("sign-in answered {}", reply.status));
    }
    reply
        .cookies
        .into_iter()
        .find(|c| c.contains("palisade_session="))
        .ok_or_else(|| "no session cookie".into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len().saturating_sub(1))]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn load(base: &str, passphrase: &str, clients: usize, seconds: u64) -> Result<(), BoxError> {
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build_http();
    let cookie = sign_in(&client, base, passphrase).await?;

    // The cursor of page 500 (rows 24,951-25,000), found by walking the pages.
    let mut page_500 = format!("{base}/findings");
    for page in 1..500 {
        let reply = send(&client, get(&page_500, &cookie)?).await?;
        let next = reply
            .body
            .split("href=\"")
            .filter_map(|s| s.split('"').next())
            .find(|h| h.starts_with("/findings?") && h.contains("after="))
            .ok_or_else(|| format!("page {page} has no next link"))?;
        page_500 = format!("{base}{}", next.replace("&amp;", "&").replace("&#38;", "&"));
    }

    let pages = [
        ("dashboard", format!("{base}/")),
        ("findings page 1", format!("{base}/findings")),
        ("findings page 500 (keyset cursor)", page_500),
        (
            "findings filtered (high+, secret)",
            format!("{base}/findings?severity=high&category=secret"),
        ),
        (
            "findings filtered (engine deps, by last seen)",
            format!("{base}/findings?engine=deps&sort=last_seen"),
        ),
        // A few hundred matches: read by id through the FTS5 trigram index.
        (
            "findings text search (q=dir42/, 333 of 100,000 match)",
            format!("{base}/findings?q=dir42%2F"),
        ),
        // Every finding matches: the LIKE filter on the sort index's walk.
        (
            "findings text search (q=main.tf, every finding)",
            format!("{base}/findings?q=main.tf"),
        ),
    ];
    println!("| page | requests | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, url) in pages {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let url = Arc::new(url);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let client = client.clone();
            let cookie = cookie.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let reply = send(&client, get(&url, &cookie)?).await?;
                    if reply.status != StatusCode::OK {
                        return Err(format!("{url} answered {}", reply.status));
                    }
                    times.push(start.elapsed());
                }
                Ok::<_, String>(times)
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.extend(task.await??);
        }
        times.sort();
        println!(
            "| {name} | {} | {:.1} | {:.1} |",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }

    // Sign-in cost next to the Argon2id hash it contains, one at a time.
    let mut sign_ins = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        sign_in(&client, base, passphrase).await?;
        sign_ins.push(start.elapsed());
    }
    let mut hashes = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        hash_passphrase("benchmark passphrase", &HashingParams::default())?;
        hashes.push(start.elapsed());
    }
    sign_ins.sort();
    hashes.sort();
    println!(
        "\nsign-in (GET /login + POST /login, median of 5): {:.1} ms; one Argon2id hash \
         (m=19456 KiB, t=2, p=1, median of 5): {:.1} ms",
        ms(sign_ins[2]),
        ms(hashes[2])
    );
    Ok(())
}

async fn serve(db: &str, port: u16) -> Result<(), BoxError> {
    let store = Store::open(db).await?;
    let config = WebConfig {
        secure_cookies: false,
        hsts: false,
        public_url: format!("http://127.0.0.1:{port}"),
        ..WebConfig::default()
    };
    let state = palisade_web::AppState::new(store, config, palisade_web::Clock::default())?;
    let router = palisade_web::router(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Palisade console on http://127.0.0.1:{port}");
    palisade_web::server::serve(listener, router, None, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match arg(0) {
        "seed" => seed(arg(1), arg(2).parse().unwrap_or(100_000)).await,
        "serve" => serve(arg(1), arg(2).parse().unwrap_or(8080)).await,
        "load" => {
            load(
                arg(1).trim_end_matches('/'),
                arg(2),
                arg(3).parse().unwrap_or(16),
                arg(4).parse().unwrap_or(30),
            )
            .await
        }
        _ => Err(
            "usage: web_bench seed DB COUNT | serve DB PORT | load URL PASSPHRASE CLIENTS SECONDS"
                .into(),
        ),
    }
}
