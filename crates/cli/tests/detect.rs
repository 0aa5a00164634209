//! End-to-end tests of `palisade logs ingest --detect`, `detect run|rules`
//! and `alerts list|ack|dead-letters`: the planted-attack log set of the
//! detect crate, ingested by the real binary into a temporary PALISADE_HOME,
//! with a local webhook receiver.

#[path = "../../detect/tests/support/planted.rs"]
mod planted;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn palisade(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LAKE")
        .env_remove("PALISADE_LOG")
        .env_remove("PALISADE_WEBHOOK")
        .env_remove("PALISADE_SLACK_WEBHOOK")
        .current_dir(home);
    cmd
}

fn json(cmd: &mut Command) -> Value {
    let output = cmd.output().expect("palisade runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// A webhook receiver that answers 500 to everything and counts requests.
fn failing_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (format!("http://{address}/hook/token"), count)
}

/// The CloudTrail alerts of the planted set (the fixture's lines not about Kubernetes).
fn expected_cloudtrail_alerts() -> usize {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../detect/tests/support/planted_alerts.txt");
    std::fs::read_to_string(fixture)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("k8s_"))
        .count()
}

#[test]
fn ingest_detect_records_alerts_findings_and_dead_letters() {
    let home = TempDir::new().expect("temp dir");
    let logs = planted::write_cloudtrail(&home.path().join("logs"), 2000);
    let (url, requests) = failing_receiver();
    let expected = expected_cloudtrail_alerts();

    let summary = json(
        palisade(home.path())
            .args([
                "logs",
                "ingest",
                "--source",
                "cloudtrail",
                "-f",
                "json",
                "--detect",
            ])
            .args([
                "--webhook",
                &url,
                "--webhook-attempts",
                "2",
                "--webhook-backoff-ms",
                "5",
            ])
            .arg(&logs),
    );
    let detection = &summary["detection"];
    assert_eq!(
        detection["alerts_new"].as_u64(),
        Some(expected as u64),
        "{detection:#}"
    );
    assert_eq!(detection["webhooks_failed"].as_u64(), Some(expected as u64));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2 * expected,
        "two attempts per alert"
    );
    assert!(detection["sigma_rules"].as_u64().unwrap_or(0) >= 40);

    let alerts = json(palisade(home.path()).args(["alerts", "list", "-f", "json"]));
    let alerts = alerts.as_array().expect("a list");
    assert_eq!(alerts.len(), expected);
    let stop = alerts
        .iter()
        .find(|a| a["rule"] == "aws_cloudtrail_stop_logging")
        .expect("StopLogging alert");
    assert_eq!(stop["entity"], "arn:aws:iam::111122223333:user/mallory");
    assert_eq!(stop["status"], "open");

    let dead = json(palisade(home.path()).args(["alerts", "dead-letters", "-f", "json"]));
    let dead = dead.as_array().expect("a list");
    assert_eq!(dead.len(), expected);
    assert!(dead
        .iter()
        .all(|d| d["attempts"] == 2 && d["last_error"] == "HTTP status 500"));
    assert!(
        dead.iter()
            .all(|d| !d["target"].as_str().unwrap_or("").contains("token")),
        "webhook URLs are stored without their path"
    );

    // The same events again, in batch mode: nothing new.
    let again = json(palisade(home.path()).args([
        "detect",
        "run",
        "--since",
        "2026-11-19",
        "--until",
        "2026-11-22",
        "-f",
        "json",
    ]));
    assert_eq!(again["alerts_new"].as_u64(), Some(0), "{again:#}");
    assert_eq!(again["alerts_unchanged"].as_u64(), Some(expected as u64));

    // Alerts are findings of category detection; acknowledging suppresses them.
    let findings =
        json(palisade(home.path()).args(["findings", "list", "--engine", "detect", "-f", "json"]));
    let text = findings.to_string();
    assert!(
        text.contains("detect.aws_cloudtrail_stop_logging"),
        "{text}"
    );
    assert!(text.contains("\"category\":\"detection\""), "{text}");
    let id = stop["id"].as_i64().expect("id").to_string();
    palisade(home.path())
        .args([
            "alerts",
            "ack",
            &id,
            "--note",
            "known change",
            "--author",
            "tester",
        ])
        .assert()
        .success();
    let open = json(palisade(home.path()).args(["alerts", "list", "-f", "json"]));
    assert_eq!(open.as_array().map(Vec::len), Some(expected - 1));
    let all = json(palisade(home.path()).args(["alerts", "list", "--all", "-f", "json"]));
    assert_eq!(all.as_array().map(Vec::len), Some(expected));
    let suppressed = json(palisade(home.path()).args([
        "findings",
        "list",
        "--engine",
        "detect",
        "--status",
        "suppressed",
        "-f",
        "json",
    ]));
    assert!(suppressed
        .to_string()
        .contains("detect.aws_cloudtrail_stop_logging"));
}

#[test]
fn detect_rules_lists_the_packs_and_reports_bad_rules() {
    let home = TempDir::new().expect("temp dir");
    let rules = home.path().join("rules");
    std::fs::create_dir(&rules).expect("dir");
    std::fs::write(
        rules.join("bad.yml"),
        "title: Bad\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {eventName|wide: x}\n  condition: s\n",
    )
    .expect("write");
    std::fs::write(
        rules.join("windows.yml"),
        "title: Windows\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 4624}\n  condition: s\n",
    )
    .expect("write");
    let listed = json(
        palisade(home.path())
            .args(["detect", "rules", "-f", "json", "--rules"])
            .arg(&rules),
    );
    let keys: Vec<&str> = listed["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert!(keys.contains(&"aws_root_login_without_mfa"));
    assert!(keys.contains(&"k8s_exec_into_pod"));
    let problems = listed["not_loaded"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0]["origin"]
        .as_str()
        .unwrap_or("")
        .ends_with("bad.yml"));
    assert!(problems[0]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("UTF-16"));
    assert!(problems[1]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("no palisade source"));

    let text = palisade(home.path())
        .args(["detect", "rules"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("aws_cloudtrail_stop_logging"), "{text}");

    // A rule path that does not exist stops the run with a one-line error.
    let output = palisade(home.path())
        .args(["detect", "run", "--rules", "/nonexistent/rules"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/rules"));
}
