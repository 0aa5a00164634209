//! Single sign-on options of `palisade serve` and break-glass accounts of
//! `palisade users`, as a user runs them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use tempfile::TempDir;
mod console;
use console::{palisade, Server};

const SECRET: &str = "client-secret-that-must-not-leak";

fn last_audit_action(home: &TempDir) -> String {
    let listed = palisade(home)
        .args(["audit", "list", "-f", "json"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a record")).expect("json");
    first["action"].as_str().unwrap_or_default().to_string()
}

#[test]
fn break_glass_accounts_are_created_marked_and_unmarked_with_an_audit_record() {
    let home = tempfile::tempdir().expect("home");
    palisade(&home)
        .args([
            "users",
            "create",
            "rescue",
            "--role",
            "admin",
            "--break-glass",
        ])
        .arg("--password-stdin")
        .write_stdin("a long emergency passphrase here\n")
        .assert()
        .success();
    assert_eq!(last_audit_action(&home), "user.break-glass");
    palisade(&home)
        .args(["users", "break-glass", "rescue", "--off"])
        .assert()
        .success();
    assert_eq!(last_audit_action(&home), "user.break-glass.off");
    palisade(&home)
        .args(["users", "break-glass", "nobody"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no user named `nobody`"));
}

#[test]
fn bad_sso_options_are_refused_with_the_option_named() {
    let home = tempfile::tempdir().expect("home");
    let serve = |extra: &[&str]| {
        let mut command = palisade(&home);
        command.args(["serve", "--bind", "127.0.0.1:0"]).args(extra);
        command
    };
    serve(&[
        "--oidc-issuer",
        "http://idp.example.com",
        "--oidc-client-id",
        "c",
    ])
    .args(["--oidc-role-map", "eng=analyst"])
    .assert()
    .code(2)
    .stderr(predicates::str::contains("must be https://"));
    serve(&[
        "--oidc-issuer",
        "https://idp.example.com",
        "--oidc-client-id",
        "c",
    ])
    .args(["--oidc-role-map", "eng=analyst"])
    .args(["--oidc-client-secret-env", "PALISADE_TEST_UNSET_SECRET"])
    .env_remove("PALISADE_TEST_UNSET_SECRET")
    .assert()
    .code(2)
    .stderr(predicates::str::contains(
        "PALISADE_TEST_UNSET_SECRET is not set",
    ));
    serve(&[
        "--oidc-issuer",
        "https://idp.example.com",
        "--oidc-client-id",
        "c",
    ])
    .assert()
    .code(2)
    .stderr(predicates::str::contains("needs --oidc-role-map"));
    serve(&[
        "--oidc-issuer",
        "https://idp.example.com",
        "--oidc-client-id",
        "c",
    ])
    .args(["--oidc-role-map", "eng=superuser"])
    .assert()
    .code(2)
    .stderr(predicates::str::contains("unknown role"));
    serve(&["--sso-only"]).assert().code(2);
    // Reverse proxies: a bad CIDR or header is named; a header needs a proxy.
    serve(&["--trusted-proxy", "10.0.0.0/33"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--trusted-proxy `10.0.0.0/33`"));
    serve(&[
        "--trusted-proxy",
        "10.0.0.1",
        "--forwarded-header",
        "x-real-ip",
    ])
    .assert()
    .code(2)
    .stderr(predicates::str::contains("--forwarded-header"));
    serve(&["--forwarded-header", "forwarded"]).assert().code(2);
}

#[test]
fn serve_with_sso_offers_it_on_the_sign_in_page_and_never_prints_the_secret() {
    let home = tempfile::tempdir().expect("home");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // The provider is not contacted before the first sign-in.
    let child = Process::new(assert_cmd::cargo::cargo_bin("palisade"))
        .env("PALISADE_HOME", home.path())
        .env_remove("PALISADE_DATABASE_URL")
        .env("PALISADE_TEST_OIDC_SECRET", SECRET)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--oidc-issuer", "https://idp.invalid/realms/acme"])
        .args(["--oidc-client-id", "palisade"])
        .args(["--oidc-client-secret-env", "PALISADE_TEST_OIDC_SECRET"])
        .args(["--oidc-role-map", "sec-team=admin", "--sso-only"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Palisade console on") {
            break;
        }
    }
    assert!(
        printed.contains(&format!(
            "redirect URL http://127.0.0.1:{port}/sso/callback"
        )),
        "{printed}"
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut page = String::new();
    stream.read_to_string(&mut page).expect("read");
    assert!(
        page.contains("Sign in with SSO") && page.contains("Break-glass"),
        "{page}"
    );
    let _ = server.0.kill();
    let mut stderr = String::new();
    if let Some(mut err) = server.0.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(!printed.contains(SECRET) && !stderr.contains(SECRET));
}
