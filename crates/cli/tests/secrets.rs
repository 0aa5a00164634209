//! End-to-end tests of `palisade scan secrets` and `palisade hook install`:
//! real files, real git repositories, a real database, every report format.

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

mod support;
use support::start_moto;

fn palisade(home: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LOG")
        .env_remove("GITLEAKS_CONFIG")
        .current_dir(cwd);
    cmd
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = Process::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev One")
        .env("GIT_AUTHOR_EMAIL", "dev@example.org")
        .env("GIT_COMMITTER_NAME", "Dev One")
        .env("GIT_COMMITTER_EMAIL", "dev@example.org")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    output
}

fn git_ok(dir: &Path, args: &[&str]) {
    let output = git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A GitHub-format token with a valid checksum.
fn github_token(payload: &str) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let payload: String = payload.chars().cycle().take(30).collect();
    let mut value = crc32fast::hash(payload.as_bytes());
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    format!("ghp_{payload}{}", String::from_utf8_lossy(&digits))
}

const AWS_KEY_ID: &str = "AKIAZ3MSJV4WWNKWW5FG";
const PASSWORD: &str = "Zq8#vL2!pW9xK4mT";
const PRIVATE_KEY_BODY: &str = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Kq5vT3a0m2nN5yP8rWc4Jk1L\n\
yV7bQ3xZ9eR2tU6iO8pA4sD5fG7hJ9kL1zX3cV5bN7mQ9wE2rT4yU6iO8pA0sD2f\n\
G4hJ6kL8zX0cV2bN4mQ6wE8rT0yU2iO4pA6sD8fG0hJ2kL4zX6cV8bN0mQ2wE4rA";

fn secrets(token: &str) -> Vec<String> {
    vec![
        token.to_string(),
        AWS_KEY_ID.to_string(),
        PASSWORD.to_string(),
        PRIVATE_KEY_BODY
            .lines()
            .nth(1)
            .unwrap_or_default()
            .to_string(),
    ]
}

fn write_project(dir: &Path, token: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(
        dir.join("src/settings.py"),
        format!("GITHUB_TOKEN = \"{token}\"\nAWS_ACCESS_KEY_ID = \"{AWS_KEY_ID}\"\ndb_password = \"{PASSWORD}\"\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("deploy.pem"),
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join("README.md"),
        "Set AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE in your shell.\n",
    )
    .expect("write");
}

fn assert_no_secret(text: &[u8], secrets: &[String], what: &str) {
    let text = String::from_utf8_lossy(text);
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains a raw secret"
        );
        // Not even the part after a short prefix.
        assert!(
            !text.contains(&secret[4..]),
            "{what} contains most of a secret"
        );
    }
}

#[test]
fn secrets_are_redacted_in_every_format_log_and_the_database() {
    let home = TempDir::new().expect("home");
    let project = TempDir::new().expect("project");
    let token = github_token("Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    write_project(project.path(), &token);
    let secrets = secrets(&token);

    let json = palisade(home.path(), project.path())
        .args(["-vvv", "scan", "secrets", ".", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        json.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    assert_no_secret(&json.stdout, &secrets, "JSON report");
    assert_no_secret(&json.stderr, &secrets, "trace logs");
    let report: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let rules: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(findings.len(), 4, "{rules:?}");
    assert!(rules.iter().all(|r| r.starts_with("secret.")), "{rules:?}");
    assert!(
        findings.iter().all(|f| f["details"]["redacted"]
            .as_str()
            .is_some_and(|r| r.contains("****"))),
        "every finding carries its redacted form"
    );

    for format in ["table", "sarif", "csv", "html"] {
        let out = project.path().join(format!("report.{format}"));
        palisade(home.path(), project.path())
            .args([
                "scan",
                "secrets",
                "src",
                "deploy.pem",
                "--format",
                format,
                "-o",
            ])
            .arg(&out)
            .assert()
            .code(0);
        let text = std::fs::read(&out).expect("report written");
        assert!(!text.is_empty());
        assert_no_secret(&text, &secrets, format);
        std::fs::remove_file(&out).expect("rm");
    }

    for listing in [
        &["findings", "list", "--format", "json"][..],
        &["findings", "export", "--format", "sarif"],
    ] {
        let out = palisade(home.path(), project.path())
            .args(listing)
            .output()
            .expect("runs");
        assert_no_secret(&out.stdout, &secrets, "findings listing");
    }
    for entry in std::fs::read_dir(home.path()).expect("home") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("palisade.db"))
        {
            assert_no_secret(&std::fs::read(&path).expect("db"), &secrets, "the database");
        }
    }
}

#[test]
fn fail_on_gates_ci_and_a_clean_tree_passes() {
    let home = TempDir::new().expect("home");
    let project = TempDir::new().expect("project");
    write_project(
        project.path(),
        &github_token("Q1w2E3r4T5y6U7i8O9p0AsDfGhJkLz"),
    );
    palisade(home.path(), project.path())
        .args([
            "scan",
            "secrets",
            ".",
            "--no-store",
            "--fail-on",
            "high",
            "-q",
        ])
        .assert()
        .code(1);
    let clean = TempDir::new().expect("clean");
    std::fs::write(
        clean.path().join("main.rs"),
        "fn main() { println!(\"hi\"); }\n",
    )
    .expect("write");
    palisade(home.path(), clean.path())
        .args(["scan", "secrets", ".", "--no-store", "--fail-on", "low"])
        .assert()
        .code(0);
}

#[test]
fn standard_input_is_scanned() {
    let home = TempDir::new().expect("home");
    let cwd = TempDir::new().expect("cwd");
    let out = palisade(home.path(), cwd.path())
        .args(["scan", "secrets", "-", "--format", "json"])
        .write_stdin(format!("export AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"))
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["findings"][0]["location"]["path"], "<stdin>");
}

#[test]
fn history_is_incremental_and_findings_persist() {
    let home = TempDir::new().expect("home");
    let repo = TempDir::new().expect("repo");
    let dir = repo.path();
    git_ok(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(
        dir.join("a.py"),
        format!("T = \"{}\"\n", github_token("F1rstSecretAb9Zq")),
    )
    .expect("write");
    git_ok(dir, &["add", "-A"]);
    git_ok(dir, &["commit", "-q", "-m", "one"]);
    std::fs::write(dir.join("a.py"), "T = os.environ['T']\n").expect("write");
    git_ok(dir, &["commit", "-q", "-am", "two"]);

    let run = |extra: &[&str]| -> Value {
        let out = palisade(home.path(), dir)
            .args(["scan", "secrets", "--history", ".", "--format", "json"])
            .args(extra)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let first = run(&[]);
    assert_eq!(first["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["findings"][0]["details"]["present_at_head"], false);

    let second = run(&[]);
    assert_eq!(
        second["findings"].as_array().map(Vec::len),
        Some(0),
        "no new commits"
    );
    let listed = palisade(home.path(), dir)
        .args([
            "findings", "list", "--engine", "secrets", "--format", "json",
        ])
        .output()
        .expect("runs");
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(
        listed["findings"].as_array().map(Vec::len),
        Some(1),
        "an incremental run resolves nothing"
    );
    let full = run(&["--full"]);
    assert_eq!(full["findings"].as_array().map(Vec::len), Some(1));

    let not_a_repo = TempDir::new().expect("plain dir");
    palisade(home.path(), not_a_repo.path())
        .args(["scan", "secrets", "--history", "."])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a readable git repository"));
}

#[test]
fn the_pre_commit_hook_blocks_a_commit_that_adds_a_secret() {
    let home = TempDir::new().expect("home");
    let repo = TempDir::new().expect("repo");
    let dir = repo.path();
    git_ok(dir, &["init", "-q", "-b", "main"]);
    palisade(home.path(), dir)
        .args(["hook", "install"])
        .assert()
        .code(0);
    let hook = std::fs::read_to_string(dir.join(".git/hooks/pre-commit")).expect("hook written");
    assert!(hook.contains("scan secrets --staged"), "{hook}");

    std::fs::write(dir.join("ok.txt"), "nothing to see\n").expect("write");
    git_ok(dir, &["add", "ok.txt"]);
    let clean = git(dir, &["commit", "-q", "-m", "clean"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    std::fs::write(
        dir.join("leak.sh"),
        format!("export GH={}\n", github_token("H00kBl0cksThisAb9")),
    )
    .expect("write");
    git_ok(dir, &["add", "leak.sh"]);
    let blocked = Process::new("git")
        .args(["commit", "-q", "-m", "leak"])
        .current_dir(dir)
        .env("PALISADE_HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env("GIT_AUTHOR_NAME", "Dev One")
        .env("GIT_AUTHOR_EMAIL", "dev@example.org")
        .env("GIT_COMMITTER_NAME", "Dev One")
        .env("GIT_COMMITTER_EMAIL", "dev@example.org")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(!blocked.status.success(), "the hook let a secret through");

    // A hook palisade did not write is left alone unless --force.
    std::fs::write(dir.join(".git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n").expect("write");
    palisade(home.path(), dir)
        .args(["hook", "install"])
        .assert()
        .code(2);
    palisade(home.path(), dir)
        .args(["hook", "install", "--force"])
        .assert()
        .code(0);
}

/// One unsigned AWS query-protocol call (moto serves these before auth is on).
fn aws_query(port: u16, service: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    response
}

fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').expect("closing tag");
    xml[start..end].to_string()
}

#[test]
fn verify_marks_live_and_dead_aws_keys_against_moto() {
    let Some(moto) = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "2")]) else {
        return;
    };
    aws_query(
        moto.port,
        "iam",
        "Action=CreateUser&UserName=leaky&Version=2010-05-08",
    );
    let created = aws_query(
        moto.port,
        "iam",
        "Action=CreateAccessKey&UserName=leaky&Version=2010-05-08",
    );
    let (key_id, secret) = (
        xml_value(&created, "AccessKeyId"),
        xml_value(&created, "SecretAccessKey"),
    );

    let home = TempDir::new().expect("home");
    let project = TempDir::new().expect("project");
    std::fs::write(
        project.path().join("live.ini"),
        format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"),
    )
    .expect("write");
    std::fs::write(
        project.path().join("revoked.ini"),
        "[old]\naws_access_key_id = AKIAZ3MSJV4WWNKWW5FG\naws_secret_access_key = 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\n",
    )
    .expect("write");
    let scan = |verify: bool| -> Value {
        let mut cmd = palisade(home.path(), project.path());
        cmd.args(["scan", "secrets", ".", "--no-store", "--format", "json"])
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", moto.port),
            )
            .env("AWS_REGION", "us-east-1");
        if verify {
            cmd.arg("--verify");
        }
        let out = cmd.output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_no_secret(
            &out.stdout,
            std::slice::from_ref(&secret),
            "verified report",
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let verification = |report: &Value, file: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["location"]["path"] == file)
            .map(|f| {
                f["details"]["verification"]["status"]
                    .as_str()
                    .unwrap_or("none")
                    .to_string()
            })
            .collect()
    };
    let verified = scan(true);
    assert_eq!(
        verification(&verified, "live.ini"),
        ["verified", "verified"]
    );
    assert_eq!(
        verification(&verified, "revoked.ini"),
        ["invalid", "invalid"]
    );
    let unverified = scan(false);
    assert_eq!(
        verification(&unverified, "live.ini"),
        ["none", "none"],
        "off by default"
    );
}
