//! `palisade serve`, `palisade users` and `palisade audit` as a user runs
//! them: a real process on a real port, a real database file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

mod console;
use console::{palisade, Server};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_prints_a_first_admin_link_that_opens_the_enrolment_form() {
    let home = tempfile::tempdir().expect("home");
    let port = free_port();
    let child = Process::new(assert_cmd::cargo::cargo_bin("palisade"))
        .env("PALISADE_HOME", home.path())
        .env_remove("PALISADE_DATABASE_URL")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut link = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(start) = line.find("http://") {
            if line.contains("/enrol?token=") {
                link = Some(line[start..].trim().to_string());
            }
        }
        if line.starts_with("Palisade console on") {
            break;
        }
    }
    let link = link.expect("a first-admin link");
    let path = &link[link.find("/enrol").expect("path")..];
    let token = path.trim_start_matches("/enrol?token=");
    assert_eq!(token.len(), 64);
    let page = http_get(port, path);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Create the first administrator"));
    let login = http_get(port, "/login");
    assert!(
        login.contains("set-cookie: palisade_pre="),
        "plain-HTTP cookie name: {login}"
    );
    assert!(!login
        .to_ascii_lowercase()
        .contains("strict-transport-security"));
}

#[test]
fn serve_refuses_plain_http_off_loopback() {
    let home = tempfile::tempdir().expect("home");
    palisade(&home)
        .args(["serve", "--bind", "0.0.0.0:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refusing to serve plain HTTP"));
}

#[test]
fn users_and_audit_from_the_command_line() {
    let home = tempfile::tempdir().expect("home");
    palisade(&home)
        .args([
            "users",
            "create",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .write_stdin("a perfectly fine passphrase\n")
        .assert()
        .success()
        .stdout(predicates::str::contains("created alice (admin)"));
    palisade(&home)
        .args([
            "users",
            "create",
            "bob",
            "--role",
            "viewer",
            "--public-url",
            "https://console.example",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "https://console.example/enrol?token=",
        ));
    palisade(&home)
        .args([
            "users",
            "create",
            "carol",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .write_stdin("password1234")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("most common"));
    palisade(&home)
        .args(["users", "create", "x", "--role", "boss"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown role"));
    palisade(&home)
        .args(["users", "disable", "alice"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("last enabled administrator"));
    palisade(&home)
        .args(["users", "role", "bob", "analyst"])
        .assert()
        .success();
    palisade(&home)
        .args(["users", "disable", "bob"])
        .assert()
        .success();
    let list = palisade(&home).args(["users", "list"]).assert().success();
    let list = String::from_utf8_lossy(&list.get_output().stdout).into_owned();
    assert!(list.contains("alice") && list.contains("active"), "{list}");
    assert!(
        list.contains("bob") && list.contains("analyst") && list.contains("disabled"),
        "{list}"
    );

    palisade(&home)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("audit log intact: 4 records"));
    let listed = palisade(&home)
        .args(["audit", "list", "-f", "json"])
        .assert()
        .success();
    let listed = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    let first: serde_json::Value =
        serde_json::from_str(listed.lines().next().expect("a record")).expect("json");
    assert_eq!(first["action"], "user.disable");
    assert_eq!(first["actor"], "cli:tester");
}
