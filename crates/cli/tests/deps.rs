//! End-to-end tests of `vulndb`, `scan deps` and `sbom`: the OSV and
//! lockfile fixtures of palisade-deps, a real SQLite database in a temporary
//! PALISADE_HOME, real processes, no network.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn deps_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deps/tests/fixtures")
}

fn palisade(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LOG")
        .current_dir(home);
    cmd
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn home_with_advisories() -> TempDir {
    let home = tempfile::tempdir().expect("home");
    let output = palisade(home.path())
        .args(["vulndb", "import"])
        .arg(deps_fixtures().join("osv"))
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("11 records read, 11 new, 0 updated, 0 unchanged, 0 unreadable"),
        "{stdout}"
    );
    home
}

#[test]
fn import_is_incremental_and_status_counts_per_ecosystem() {
    let home = home_with_advisories();
    let again = palisade(home.path())
        .args(["vulndb", "import"])
        .arg(deps_fixtures().join("osv"))
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 new, 0 updated, 11 unchanged"));

    // A record with a newer `modified` replaces the stored one.
    let dir = tempfile::tempdir().expect("dir");
    let record = std::fs::read_to_string(deps_fixtures().join("osv/RUSTSEC-2021-0003.json"))
        .expect("fixture")
        .replace("2023-06-13T13:10:24Z", "2026-12-01T00:00:00Z");
    std::fs::write(dir.path().join("RUSTSEC-2021-0003.json"), record).expect("write");
    let updated = palisade(home.path())
        .args(["vulndb", "import"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&updated.stdout).contains("1 records read, 0 new, 1 updated"),
        "{}",
        String::from_utf8_lossy(&updated.stdout)
    );

    let status = palisade(home.path())
        .args(["vulndb", "status", "--format", "json"])
        .output()
        .expect("run");
    let status = json_of(&status.stdout);
    assert_eq!(status["records"], 11);
    assert_eq!(status["withdrawn"], 1);
    assert_eq!(status["per_ecosystem"]["PyPI"], 4);
    assert_eq!(status["per_ecosystem"]["crates.io"], 2);
    assert_eq!(status["newest_record"], "2026-12-01T00:00:00Z");
}

#[test]
fn scan_deps_reports_records_and_fails_on_severity() {
    let home = home_with_advisories();
    let output = palisade(home.path())
        .args(["scan", "deps", "--format", "json", "--fail-on", "critical"])
        .arg(deps_fixtures().join("lockfiles"))
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_of(&output.stdout);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 12);
    let log4j = findings
        .iter()
        .find(|f| f["location"]["path"] == "maven/pom.xml")
        .expect("log4j in pom.xml");
    assert_eq!(log4j["severity"], "critical");
    assert_eq!(log4j["details"]["kind"], "vulnerability");
    assert_eq!(log4j["details"]["installed_version"], "2.14.1");
    assert_eq!(
        log4j["details"]["fixed_versions"],
        serde_json::json!(["2.15.0"])
    );
    assert_eq!(log4j["details"]["advisory_ids"][0], "CVE-2021-44228");
    assert_eq!(log4j["status"], "open");
    // Critical findings get the foundation's critical SLA; `findings list
    // --overdue` is empty until it passes.
    assert!(log4j["sla_due_at"].is_string(), "{log4j}");
    let listed = palisade(home.path())
        .args([
            "findings",
            "list",
            "--engine",
            "deps",
            "--severity",
            "critical",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(
        json_of(&listed.stdout)["findings"].as_array().map(Vec::len),
        Some(4)
    );
    let overdue = palisade(home.path())
        .args([
            "findings",
            "list",
            "--engine",
            "deps",
            "--overdue",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(
        json_of(&overdue.stdout)["findings"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // Nothing is critical in the cargo fixture alone but smallvec: --fail-on
    // high fails, and with the finding suppressed nothing fails at critical.
    let clean = palisade(home.path())
        .args([
            "scan",
            "deps",
            "--no-store",
            "--format",
            "json",
            "--fail-on",
            "critical",
        ])
        .arg(deps_fixtures().join("lockfiles/npm-v3"))
        .output()
        .expect("run");
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(
        json_of(&clean.stdout)["findings"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn kev_and_epss_imports_feed_fail_on_kev_and_epss() {
    let home = home_with_advisories();
    let kev = home.path().join("kev.json");
    std::fs::write(
        &kev,
        r#"{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.11.30","count":1,
            "vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","dateAdded":"2021-12-10"}]}"#,
    )
    .expect("write");
    let epss = home.path().join("epss.csv");
    std::fs::write(
        &epss,
        "#model_version:v2025.03.14,score_date:2026-11-30T12:55:00Z\ncve,epss,percentile\nCVE-2021-23337,0.0123,0.78\n",
    )
    .expect("write");
    for (command, file) in [("import-kev", &kev), ("import-epss", &epss)] {
        let output = palisade(home.path())
            .args(["vulndb", command])
            .arg(file)
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let gradle = deps_fixtures().join("lockfiles/gradle");
    let output = palisade(home.path())
        .args([
            "scan",
            "deps",
            "--no-store",
            "--format",
            "json",
            "--fail-on-kev",
        ])
        .arg(&gradle)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output.stdout);
    assert_eq!(report["findings"][0]["details"]["known_exploited"], true);

    let npm = deps_fixtures().join("lockfiles/npm-v3");
    let run = |threshold: &str| {
        let output = palisade(home.path())
            .args([
                "scan",
                "deps",
                "--no-store",
                "--format",
                "json",
                "--fail-on-epss",
                threshold,
            ])
            .arg(&npm)
            .output()
            .expect("run");
        (output.status.code(), json_of(&output.stdout))
    };
    let (code, report) = run("0.01");
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["details"]["epss"], 0.0123);
    assert_eq!(run("0.5").0, Some(0));
}

#[test]
fn sbom_round_trips_through_scan_deps() {
    let home = home_with_advisories();
    let bom = home.path().join("bom.cdx.json");
    let output = palisade(home.path())
        .args(["sbom", "--spec-version", "1.5", "-o"])
        .arg(&bom)
        .arg(deps_fixtures().join("lockfiles"))
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document = json_of(&std::fs::read(&bom).expect("sbom written"));
    assert_eq!(document["specVersion"], "1.5");
    assert_eq!(document["bomFormat"], "CycloneDX");
    let purls: Vec<&str> = document["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(purls.contains(&"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"));
    assert!(purls.contains(&"pkg:npm/%40babel/traverse@7.22.5"));
    assert!(purls.contains(&"pkg:golang/golang.org/x/net@v0.0.0-20220722155237-a158d28d115b"));

    let scanned = palisade(home.path())
        .args(["scan", "deps", "--no-store", "--format", "json", "--sbom"])
        .arg(&bom)
        .output()
        .expect("run");
    let report = json_of(&scanned.stdout);
    let mut packages: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{}@{}",
                f["details"]["package"].as_str().unwrap_or(""),
                f["details"]["installed_version"].as_str().unwrap_or("")
            )
        })
        .collect();
    packages.sort();
    packages.dedup();
    // The same vulnerable packages as the lockfiles, once per purl.
    assert_eq!(
        packages,
        vec![
            "golang.org/x/net@v0.0.0-20220722155237-a158d28d115b",
            "guzzlehttp/psr7@1.8.1",
            "lodash@4.17.15",
            "lodash@4.17.19",
            "lodash@4.17.20",
            "org.apache.logging.log4j:log4j-core@2.14.1",
            // purls carry PyPI names normalised (PEP 503).
            "pyyaml@5.3.1",
            "rack@2.2.3",
            "requests@2.25.1",
            "smallvec@1.6.0",
            "time@0.1.45",
        ]
    );
}

#[test]
fn an_empty_database_is_an_error() {
    let home = tempfile::tempdir().expect("home");
    let output = palisade(home.path())
        .args(["scan", "deps"])
        .arg(deps_fixtures().join("lockfiles/cargo"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("advisory database is empty"));
}

/// A tiny HTTP/1.1 server on a free local port, serving `routes` (path to
/// status, extra headers and body; anything else is a 404) until the test
/// process ends. Returns its base URL.
/// A path the test server answers: status, extra headers, body.
type Route = (&'static str, u16, Vec<(&'static str, String)>, Vec<u8>);

fn serve(routes: Vec<Route>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
            }
            let target = request_line.split_whitespace().nth(1).unwrap_or("/");
            let path = target.split('?').next().unwrap_or(target);
            let (status, headers, body) = routes
                .iter()
                .find(|(p, ..)| *p == path)
                .map(|(_, s, h, b)| (*s, h.clone(), b.clone()))
                .unwrap_or((404, vec![], b"not found".to_vec()));
            let mut response = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            let _ = stream.write_all(response.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    base
}

/// The OSV fixture records as an `all.zip` export.
fn fixtures_zip() -> Vec<u8> {
    use std::io::Write;
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut entries: Vec<_> = std::fs::read_dir(deps_fixtures().join("osv"))
            .expect("fixtures")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            writer.start_file(name, options).expect("entry");
            writer
                .write_all(&std::fs::read(&path).expect("read"))
                .expect("write");
        }
        writer.finish().expect("finish");
    }
    buffer.into_inner()
}

#[test]
fn vulndb_imports_osv_kev_and_epss_from_http_urls() {
    use std::io::Write;
    let mut epss_gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    epss_gz
        .write_all(b"#model_version:v2025.03.14\ncve,epss,percentile\nCVE-2021-23337,0.0123,0.78\n")
        .expect("gzip");
    let base = serve(vec![
        // osv.dev's bucket answers directly; a redirect is followed all the same.
        (
            "/npm/all.zip",
            302,
            vec![("Location", "/files/all.zip".to_string())],
            vec![],
        ),
        ("/files/all.zip", 200, vec![], fixtures_zip()),
        (
            "/kev.json",
            200,
            vec![],
            br#"{"vulnerabilities":[{"cveID":"CVE-2021-44228","dateAdded":"2021-12-10"}]}"#
                .to_vec(),
        ),
        ("/epss.csv.gz", 200, vec![], epss_gz.finish().expect("gzip")),
    ]);
    let home = tempfile::tempdir().expect("home");
    let (ok, stdout, stderr) = run(
        home.path(),
        &[
            "vulndb",
            "import",
            &format!("{base}/npm/all.zip?token=do-not-log-me"),
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "imported {base}/npm/all.zip: 11 records read, 11 new, 0 updated"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("do-not-log-me") && !stderr.contains("do-not-log-me"));

    let (_, stdout, stderr) = run(
        home.path(),
        &["vulndb", "import-kev", &format!("{base}/kev.json")],
    );
    assert!(stdout.contains("1 known exploited"), "{stderr}");
    let (_, stdout, stderr) = run(
        home.path(),
        &["vulndb", "import-epss", &format!("{base}/epss.csv.gz")],
    );
    assert!(stdout.contains("1 EPSS scores"), "{stderr}");

    // A missing export is a one-line error naming the URL and the status.
    let output = palisade(home.path())
        .args(["vulndb", "import", &format!("{base}/PyPI/all.zip")])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{base}/PyPI/all.zip: HTTP 404")),
        "{stderr}"
    );
}

/// Runs palisade and returns (success, stdout, stderr).
fn run(home: &Path, args: &[&str]) -> (bool, String, String) {
    let output = palisade(home).args(args).output().expect("palisade runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn alpine_image(dir: &Path) -> PathBuf {
    image_tar(
        dir,
        "alpine-app:3.18",
        &[
            (
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME=\"Alpine Linux v3.18\"\n",
            ),
            (
                "lib/apk/db/installed",
                b"C:Q1abc=\nP:libcrypto3\nV:3.1.3-r0\nA:x86_64\no:openssl\nm:Natanael Copa\n\nC:Q1def=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n",
            ),
            (
                "app/Cargo.lock",
                b"version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            ),
        ],
    )
}

/// A one-layer `docker save` tarball of `files`, tagged `tag`.
fn image_tar(dir: &Path, tag: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let mut layer = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        layer
            .append_data(&mut header, path, *content)
            .expect("file");
    }
    let layer = layer.into_inner().expect("layer");
    let mut outer = tar::Builder::new(Vec::new());
    let layer_name = format!("{}/layer.tar", "c".repeat(64));
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": [tag],
        "Layers": [layer_name],
    }])
    .to_string();
    for (name, data) in [
        (layer_name.as_str(), layer.as_slice()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        outer.append_data(&mut header, name, data).expect("entry");
    }
    let path = dir.join("image.tar");
    std::fs::write(&path, outer.into_inner().expect("image")).expect("write");
    path
}

/// The rule for images with parts palisade does not support (here: the
/// apk packages of a distribution OSV names no advisories for): they are
/// listed as `not supported:` warnings, the run is complete, and findings of
/// what was scanned resolve when fixed.
#[test]
fn unsupported_image_parts_are_warnings_and_scanned_parts_resolve() {
    let home = home_with_advisories();
    let image = |cargo_version: &str| {
        let lock = format!(
            "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"{cargo_version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        );
        image_tar(
            home.path(),
            "other-os-app:1",
            &[
                (
                    "etc/os-release",
                    b"ID=exotic\nVERSION_ID=1\nPRETTY_NAME=\"Exotic Linux 1\"\n",
                ),
                ("lib/apk/db/installed", b"P:musl\nV:1.2.4-r2\no:musl\n"),
                ("app/Cargo.lock", lock.as_bytes()),
            ],
        )
    };
    let scan = |path: &Path| {
        let output = palisade(home.path())
            .args(["scan", "image", "--format", "json"])
            .arg(path)
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        json_of(&output.stdout)
    };
    let report = scan(&image("1.6.0"));
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "/lib/apk/db/installed");
    assert_eq!(
        errors[0]["message"],
        "not supported: OS packages of Exotic Linux 1 are not matched: apk advisories are read for Debian, Ubuntu and Alpine"
    );
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{findings:?}");

    // Fixed in the rebuilt image: the complete run resolves the finding.
    scan(&image("1.6.1"));
    let output = palisade(home.path())
        .args([
            "findings", "list", "--format", "json", "--status", "resolved",
        ])
        .output()
        .expect("run");
    let listed = json_of(&output.stdout);
    let resolved = listed["findings"].as_array().expect("findings");
    assert_eq!(resolved.len(), 1, "{listed}");
    assert!(resolved[0]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("smallvec 1.6.0")));
}

#[test]
fn scan_image_matches_os_packages_by_origin_and_lockfiles_inside() {
    let home = home_with_advisories();
    let output = palisade(home.path())
        .args(["vulndb", "import"])
        .arg(deps_fixtures().join("osv-distro"))
        .output()
        .expect("run");
    assert!(output.status.success());
    let image = alpine_image(home.path());
    let output = palisade(home.path())
        .args(["scan", "image", "--format", "json"])
        .arg(&image)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_of(&output.stdout);
    let mut found: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["location"]["path"].as_str().unwrap_or(""),
                f["details"]["package"].as_str().unwrap_or(""),
                f["details"]["ecosystem"].as_str().unwrap_or(""),
                f["details"]["advisory_ids"][0].as_str().unwrap_or(""),
                f["details"]["fixed_versions"][0].as_str().unwrap_or("")
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            "/app/Cargo.lock smallvec crates.io CVE-2021-25900 1.6.1",
            "/lib/apk/db/installed libcrypto3 Alpine:v3.18 CVE-2023-5363 3.1.4-r0",
        ]
    );

    let sbom = palisade(home.path())
        .args(["sbom"])
        .arg(&image)
        .output()
        .expect("run");
    let document = json_of(&sbom.stdout);
    assert_eq!(document["metadata"]["component"]["name"], "alpine-app:3.18");
    let purls: Vec<&str> = document["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert_eq!(
        purls,
        vec![
            "pkg:apk/alpine/libcrypto3@3.1.3-r0?distro=alpine-3.18",
            "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18",
            "pkg:cargo/smallvec@1.6.0",
        ]
    );
}

#[test]
fn an_old_database_is_reported_as_stale_at_scan_time() {
    let home = tempfile::tempdir().expect("home");
    // One record, last modified in 2024.
    let output = palisade(home.path())
        .args(["vulndb", "import"])
        .arg(deps_fixtures().join("osv/GHSA-jf85-cpcp-j695.json"))
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = palisade(home.path())
        .args(["vulndb", "status"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&status.stdout).contains("stale, import a fresh export"));
    let scan = palisade(home.path())
        .args(["scan", "deps", "--no-store", "--format", "json"])
        .arg(deps_fixtures().join("lockfiles/npm-v1"))
        .output()
        .expect("run");
    assert!(scan.status.success());
    let stderr = String::from_utf8_lossy(&scan.stderr);
    assert!(
        stderr.contains("the advisory database is more than 7 days old"),
        "{stderr}"
    );
}

/// A parent POM and an imported BOM only in the local Maven repository
/// (`MAVEN_REPO_LOCAL`) give the versions a project's POM leaves out.
#[test]
fn sbom_resolves_maven_versions_from_the_local_repository() {
    let home = tempfile::tempdir().expect("home");
    let repository = home.path().join("m2");
    let write = |path: &str, text: &str| {
        let path = repository.join(path);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "org/example/platform-parent/1.0/platform-parent-1.0.pom",
        "<project><groupId>org.example</groupId><artifactId>platform-parent</artifactId>\
         <version>1.0</version><properties><log4j2.version>2.14.1</log4j2.version></properties>\
         <dependencyManagement><dependencies>\
         <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>\
         <version>${log4j2.version}</version></dependency>\
         <dependency><groupId>org.example</groupId><artifactId>platform-bom</artifactId>\
         <version>2.0</version><type>pom</type><scope>import</scope></dependency>\
         </dependencies></dependencyManagement></project>",
    );
    write(
        "org/example/platform-bom/2.0/platform-bom-2.0.pom",
        "<project><groupId>org.example</groupId><artifactId>platform-bom</artifactId>\
         <version>2.0</version><dependencyManagement><dependencies>\
         <dependency><groupId>org.yaml</groupId><artifactId>snakeyaml</artifactId>\
         <version>1.33</version></dependency></dependencies></dependencyManagement></project>",
    );
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::write(
        project.join("pom.xml"),
        "<project><parent><groupId>org.example</groupId><artifactId>platform-parent</artifactId>\
         <version>1.0</version></parent><artifactId>app</artifactId><dependencies>\
         <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId></dependency>\
         <dependency><groupId>org.yaml</groupId><artifactId>snakeyaml</artifactId></dependency>\
         </dependencies></project>",
    )
    .expect("write");
    let output = palisade(home.path())
        .env("MAVEN_REPO_LOCAL", &repository)
        .arg("sbom")
        .arg(&project)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bom = json_of(&output.stdout);
    let mut purls: Vec<&str> = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    purls.sort();
    assert_eq!(
        purls,
        vec![
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "pkg:maven/org.yaml/snakeyaml@1.33",
        ]
    );
}
