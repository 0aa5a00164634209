//! API tokens, `scan --upload` and `palisade demo` as a user runs them: a
//! real `palisade serve` (or `demo`) on a real port, a real database file,
//! and the scan uploaded by a second palisade with its own store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;
mod console;
use console::Server;

fn palisade(home: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("palisade").expect("binary");
    command
        .env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env("USER", "tester");
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts palisade with `args` and waits for the console to listen; returns
/// the server and the lines it printed before.
fn start(home: &std::path::Path, args: &[&str]) -> (Server, Vec<String>) {
    let child = Process::new(assert_cmd::cargo::cargo_bin("palisade"))
        .env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("palisade starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let ready = line.starts_with("Palisade console on");
        lines.push(line);
        if ready {
            return (server, lines);
        }
    }
    panic!("the console never started: {lines:?}");
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Bodies may be chunked; the tests only search them.
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

fn api_json(port: u16, path: &str, token: &str) -> serde_json::Value {
    let answer = http(
        port,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let start = answer.body.find('{').expect("json");
    let end = answer.body.rfind('}').expect("json");
    serde_json::from_str(&answer.body[start..=end]).expect("valid json")
}

fn examples(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(dir)
}

fn create_token(home: &std::path::Path, user: &str, scope: &str) -> String {
    let output = palisade(home)
        .args([
            "tokens",
            "create",
            "--user",
            user,
            "--name",
            "ci",
            "--scope",
            scope,
            "--expires",
            "30",
        ])
        .output()
        .expect("tokens create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    assert!(token.starts_with("pal_") && token.len() == 68, "{token}");
    token
}

#[test]
fn a_scan_uploaded_with_a_token_shows_up_through_the_api() {
    let server_home = tempfile::tempdir().expect("home");
    let client_home = tempfile::tempdir().expect("home");
    palisade(server_home.path())
        .args([
            "users",
            "create",
            "ci",
            "--role",
            "analyst",
            "--password-stdin",
        ])
        .write_stdin("a perfectly fine passphrase\n")
        .assert()
        .success();
    let token = create_token(server_home.path(), "ci", "read,write-findings");
    let listed = palisade(server_home.path())
        .args(["tokens", "list"])
        .output()
        .expect("list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&token[..12]) && !listed.contains(&token),
        "{listed}"
    );

    let port = free_port();
    let (_server, _) = start(
        server_home.path(),
        &["serve", "--bind", &format!("127.0.0.1:{port}")],
    );
    let url = format!("http://127.0.0.1:{port}");
    let terraform = examples("terraform");

    let upload = palisade(client_home.path())
        .env("CI_TOKEN", &token)
        .arg("scan")
        .arg("iac")
        .arg(&terraform)
        .args([
            "--upload",
            &url,
            "--token-env",
            "CI_TOKEN",
            "--format",
            "json",
        ])
        .output()
        .expect("scan");
    let stderr = String::from_utf8_lossy(&upload.stderr);
    let stdout = String::from_utf8_lossy(&upload.stdout);
    assert!(upload.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("uploaded to {url}: run")),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&token) && !stdout.contains(&token),
        "the token is never printed"
    );
    let local: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    let local_count = local["findings"].as_array().map_or(0, Vec::len);
    assert!(local_count > 0, "{stdout}");

    let page = api_json(port, "/api/v1/findings?status=all&limit=500", &token);
    let findings = page["findings"].as_array().expect("findings");
    assert_eq!(
        findings.len(),
        local_count,
        "the server holds what the scan found"
    );
    assert!(findings.iter().all(|f| f["engine"] == "iac"));
    let first = findings[0]["id"].as_i64().expect("id");
    let one = api_json(port, &format!("/api/v1/findings/{first}"), &token);
    assert_eq!(one["id"], first, "{one}");
    assert!(
        !one["history"].as_array().expect("history").is_empty(),
        "{one}"
    );

    // Failures: one line naming the server, non-zero exit, no token shown.
    let scan = |env_token: Option<&str>, url: &str| {
        let mut command = palisade(client_home.path());
        if let Some(t) = env_token {
            command.env("CI_TOKEN", t);
        } else {
            command.env_remove("CI_TOKEN");
        }
        command
            .arg("scan")
            .arg("iac")
            .arg(&terraform)
            .args(["--upload", url, "--token-env", "CI_TOKEN", "--no-store"])
            .output()
            .expect("scan")
    };
    let wrong = format!("pal_{}", "0".repeat(64));
    let refused = scan(Some(&wrong), &url);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains(&format!("upload to {url} refused: HTTP 401")),
        "{stderr}"
    );
    assert!(!stderr.contains(&wrong));
    let missing = scan(None, &url);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--token-env CI_TOKEN"));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable = scan(Some(&token), &closed);
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(!unreachable.status.success());
    assert!(
        stderr.contains(&format!("upload to {closed} failed")),
        "{stderr}"
    );

    // A revoked token stops working at once.
    palisade(server_home.path())
        .args(["tokens", "revoke", "1"])
        .assert()
        .success();
    let revoked = scan(Some(&token), &url);
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("HTTP 401"));
    let audit = palisade(server_home.path())
        .args(["audit", "list"])
        .output()
        .expect("audit");
    let audit = String::from_utf8_lossy(&audit.stdout);
    for action in ["token.create", "scan.upload", "token.revoke"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
}

/// Signs in through the form; returns the session cookie.
fn sign_in(port: u16, username: &str, passphrase: &str) -> String {
    let page = http(port, "GET", "/login", &[], "");
    let pre = page
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("pre-session cookie")
        .to_string();
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf")
        .to_string();
    let form = format!("username={username}&password={passphrase}&csrf={csrf}");
    let answer = http(
        port,
        "POST",
        "/login",
        &[
            ("Cookie", &pre),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form,
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer
        .head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with("palisade_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string()
}

#[test]
fn demo_serves_a_console_with_findings_of_several_engines() {
    let dir: TempDir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("demo");
    let port = free_port();
    let (_server, lines) = start(
        dir.path(),
        &[
            "demo",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--home",
            &home.to_string_lossy(),
        ],
    );
    let passphrase = lines
        .iter()
        .find_map(|l| l.strip_prefix("Passphrase (shown only now): "))
        .expect("the demo passphrase")
        .to_string();

    let cookie = sign_in(port, "demo", &passphrase);
    let dashboard = http(port, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(dashboard.status, 200);
    for category in ["misconfiguration", "secret", "vulnerability"] {
        assert!(
            dashboard.body.contains(category),
            "{category} on the dashboard"
        );
    }

    let database = home.join("palisade.db");
    let token = {
        let output = palisade(dir.path())
            .arg("--database-url")
            .arg(&database)
            .args([
                "tokens", "create", "--user", "demo", "--name", "check", "--scope", "read",
            ])
            .output()
            .expect("token");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let page = api_json(port, "/api/v1/findings?status=all&limit=500", &token);
    let engines: std::collections::BTreeSet<&str> = page["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["engine"].as_str())
        .collect();
    assert_eq!(
        engines.into_iter().collect::<Vec<_>>(),
        vec!["deps", "iac", "secrets"]
    );

    // A used --home is refused rather than mixed with the demo.
    palisade(dir.path())
        .args([
            "demo",
            "--home",
            &home.to_string_lossy(),
            "--bind",
            "127.0.0.1:0",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("not empty"));
}
