//! End-to-end tests of the `palisade` binary: real files, a real SQLite
//! database in a temporary PALISADE_HOME, real processes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A `palisade` command with its own data dir, run from `cwd`.
fn palisade(home: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("palisade").expect("binary is built");
    cmd.env("PALISADE_HOME", home)
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_LOG")
        .current_dir(cwd);
    cmd
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

fn findings_of(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings array")
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.2.3
          securityContext:
            privileged: true
";

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
";

fn fingerprints(report: &Value, rule: &str) -> BTreeSet<String> {
    findings_of(report)
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| f["fingerprint"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn scan_json(home: &Path, dir: &Path, extra: &[&str]) -> Value {
    let output = palisade(home, dir)
        .args(["scan", "iac", ".", "--format", "json"])
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_of(&output.stdout)
}

fn list_json(home: &Path, dir: &Path, extra: &[&str]) -> Vec<Value> {
    let output = palisade(home, dir)
        .args(["findings", "list", "--format", "json"])
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    findings_of(&json_of(&output.stdout)).clone()
}

#[test]
fn examples_report_exactly_the_expected_findings() {
    let home = TempDir::new().unwrap();
    let root = repo_root();
    let output = palisade(home.path(), &root)
        .args(["scan", "iac", "examples", "--no-store", "--format", "json"])
        .output()
        .unwrap();
    let report = json_of(&output.stdout);
    assert!(
        report["errors"].as_array().is_some_and(Vec::is_empty),
        "examples must parse cleanly: {}",
        report["errors"]
    );
    let got: BTreeSet<String> = findings_of(&report)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule_id"].as_str().unwrap_or_default(),
                f["resource"]["id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let expected_text =
        std::fs::read_to_string(root.join("examples/expected-findings.txt")).unwrap();
    let expected: BTreeSet<String> = expected_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
}

#[test]
fn committed_rules_reference_is_current() {
    let home = TempDir::new().unwrap();
    let output = palisade(home.path(), &repo_root())
        .args(["rules", "list", "--format", "markdown"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).unwrap();
    let committed = std::fs::read_to_string(repo_root().join("docs/rules.md")).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/rules.md is stale: run `cargo run -q -- rules list --format markdown > docs/rules.md`"
    );
    let rule_count = generated.matches("\n## iac.").count();
    assert!(rule_count >= 80, "only {rule_count} built-in rules");
}

#[test]
fn rules_show_prints_metadata_and_accepts_checkov_ids() {
    let home = TempDir::new().unwrap();
    let output = palisade(home.path(), &repo_root())
        .args(["rules", "show", "CKV_K8S_16", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let rule = json_of(&output.stdout);
    assert_eq!(rule["id"], "iac.k8s.privileged-container");
    assert!(rule["remediation"].as_str().is_some_and(|r| !r.is_empty()));
    palisade(home.path(), &repo_root())
        .args(["rules", "show", "no.such.rule"])
        .assert()
        .code(2);
}

#[test]
fn lifecycle_open_resolved_reopened_and_stable_fingerprints() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("api.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();

    let first = scan_json(home.path(), work.path(), &[]);
    let api = fingerprints(&first, "iac.k8s.privileged-container");
    assert_eq!(api.len(), 2, "one per workload");
    let listed = list_json(
        home.path(),
        work.path(),
        &["--rule", "iac.k8s.privileged-container"],
    );
    assert!(listed.iter().all(|f| f["status"] == "open"));
    assert!(
        listed.iter().all(|f| f["sla_due_at"].is_string()),
        "high findings have an SLA"
    );

    // Moving the resource down and reformatting keeps the same fingerprints.
    let shifted = format!(
        "# owned by the shop team\n\n\n{}",
        DEPLOYMENT.replace("  name: api", "  name:    api")
    );
    std::fs::write(work.path().join("api.yaml"), shifted).unwrap();
    let second = scan_json(home.path(), work.path(), &[]);
    assert_eq!(fingerprints(&second, "iac.k8s.privileged-container"), api);

    // The pod goes away: its finding is resolved by the complete run.
    std::fs::remove_file(work.path().join("pod.yaml")).unwrap();
    scan_json(home.path(), work.path(), &[]);
    let resolved = list_json(home.path(), work.path(), &["--status", "resolved"]);
    assert!(resolved
        .iter()
        .any(|f| f["resource"]["id"].as_str().unwrap_or("").contains("debug")));

    // It comes back: reopened.
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    scan_json(home.path(), work.path(), &[]);
    let reopened = list_json(home.path(), work.path(), &["--status", "reopened"]);
    assert!(reopened
        .iter()
        .any(|f| f["rule_id"] == "iac.k8s.privileged-container"
            && f["resource"]["id"].as_str().unwrap_or("").contains("debug")));
    assert!(list_json(home.path(), work.path(), &["--status", "resolved"]).is_empty());
}

#[test]
fn parse_errors_do_not_resolve_findings_of_the_broken_file() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    scan_json(home.path(), work.path(), &[]);
    std::fs::write(
        work.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n",
    )
    .unwrap();
    let report = scan_json(home.path(), work.path(), &[]);
    let errors = report["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["path"] == "pod.yaml"), "{errors:?}");
    assert!(list_json(home.path(), work.path(), &["--status", "resolved"]).is_empty());
}

#[test]
fn suppress_and_unsuppress_from_the_command_line() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    let report = scan_json(home.path(), work.path(), &[]);
    let fingerprint = fingerprints(&report, "iac.k8s.privileged-container")
        .into_iter()
        .next()
        .unwrap();
    let prefix = &fingerprint[..10];
    palisade(home.path(), work.path())
        .args([
            "findings",
            "suppress",
            prefix,
            "--reason",
            "debug pod, removed next sprint",
            "--expires",
            "30d",
            "--author",
            "alice",
        ])
        .assert()
        .success();
    let shown = palisade(home.path(), work.path())
        .args(["findings", "show", prefix, "--format", "json"])
        .output()
        .unwrap();
    let shown = json_of(&shown.stdout);
    assert_eq!(shown["finding"]["status"], "suppressed");
    assert_eq!(shown["finding"]["suppression"]["author"], "alice");

    // A suppressed finding does not fail the build.
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--fail-on", "high", "--format", "json"])
        .assert()
        .code(0);
    palisade(home.path(), work.path())
        .args(["findings", "unsuppress", prefix, "--author", "alice"])
        .assert()
        .success();
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--fail-on", "high", "--format", "json"])
        .assert()
        .code(1);
    let listed = list_json(home.path(), work.path(), &["--status", "suppressed"]);
    assert!(listed
        .iter()
        .all(|f| f["fingerprint"] != fingerprint.as_str()));
    palisade(home.path(), work.path())
        .args([
            "findings",
            "suppress",
            prefix,
            "--reason",
            "x",
            "--expires",
            "tomorrow",
        ])
        .assert()
        .code(2);
}

#[test]
fn inline_suppressions_are_honoured_and_expire() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let with_comment = POD.replace(
        "      securityContext:",
        "      # palisade:ignore=iac.k8s.privileged-container needed for node debugging\n      securityContext:",
    );
    std::fs::write(work.path().join("pod.yaml"), &with_comment).unwrap();
    let report = scan_json(home.path(), work.path(), &["--no-store"]);
    let finding = findings_of(&report)
        .iter()
        .find(|f| f["rule_id"] == "iac.k8s.privileged-container")
        .expect("still reported, marked suppressed");
    assert_eq!(
        finding["suppression"]["reason"],
        "needed for node debugging"
    );

    let expired = POD.replace(
        "      securityContext:",
        "      #checkov:skip=CKV_K8S_16:legacy\n      # palisade:ignore=iac.k8s.privileged-container old expires=2020-01-01\n      securityContext:",
    );
    std::fs::write(work.path().join("pod.yaml"), expired).unwrap();
    let report = scan_json(home.path(), work.path(), &["--no-store"]);
    let finding = findings_of(&report)
        .iter()
        .find(|f| f["rule_id"] == "iac.k8s.privileged-container")
        .unwrap();
    assert_eq!(
        finding["suppression"]["source"], "checkov:skip",
        "the checkov comment still applies"
    );
}

#[test]
fn fail_on_sets_the_exit_code_and_no_store_writes_nothing() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--no-store", "--fail-on", "high"])
        .assert()
        .code(1);
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--no-store", "--fail-on", "critical"])
        .assert()
        .code(0);
    assert!(
        !home.path().join("palisade.db").exists(),
        "--no-store must not create the database"
    );
    palisade(home.path(), work.path())
        .args(["scan", "iac", "does-not-exist"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does-not-exist"));
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--fail-on", "severe"])
        .assert()
        .code(2);
}

#[test]
fn every_report_format_renders_through_the_cli() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    for (format, marker) in [
        ("table", "privileged"),
        ("json", "\"findings\""),
        ("sarif", "\"2.1.0\""),
        ("csv", "rule_id"),
        ("html", "<!DOCTYPE html>"),
    ] {
        let out = work.path().join(format!("report.{format}"));
        palisade(home.path(), work.path())
            .args([
                "scan",
                "iac",
                "pod.yaml",
                "--no-store",
                "--format",
                format,
                "-o",
            ])
            .arg(&out)
            .assert()
            .code(predicates::ord::ne(2));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(marker), "{format}: {text}");
    }
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("report.sarif")).unwrap())
            .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "pod.yaml"
    );
    assert!(result["partialFingerprints"].is_object());
}

#[test]
fn two_parallel_scans_into_one_database_lose_nothing() {
    let home = TempDir::new().unwrap();
    let a = TempDir::new().unwrap();
    let b = TempDir::new().unwrap();
    for (dir, count) in [(&a, 30), (&b, 30)] {
        for i in 0..count {
            std::fs::write(
                dir.path().join(format!("pod{i}.yaml")),
                POD.replace("name: debug", &format!("name: debug{i}")),
            )
            .unwrap();
        }
    }
    let spawn = |dir: &Path| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("palisade"))
            .env("PALISADE_HOME", home.path())
            .args([
                "scan",
                "iac",
                ".",
                "--format",
                "json",
                "-o",
                "/dev/null",
                "-q",
            ])
            .current_dir(dir)
            .spawn()
            .unwrap()
    };
    let mut first = spawn(a.path());
    let mut second = spawn(b.path());
    assert_ne!(first.wait().unwrap().code(), Some(2));
    assert_ne!(second.wait().unwrap().code(), Some(2));
    let listed = list_json(
        home.path(),
        a.path(),
        &["--rule", "iac.k8s.privileged-container"],
    );
    assert_eq!(listed.len(), 60, "both scans' findings are stored");
}

#[test]
fn rego_policies_from_the_examples_produce_findings() {
    let home = TempDir::new().unwrap();
    let root = repo_root();
    let output = palisade(home.path(), &root)
        .args([
            "scan",
            "iac",
            "examples/kubernetes",
            "--no-store",
            "--format",
            "json",
            "--policy",
            "examples/policies",
        ])
        .output()
        .unwrap();
    let report = json_of(&output.stdout);
    let custom: Vec<&Value> = findings_of(&report)
        .iter()
        .filter(|f| f["rule_id"] == "acme.k8s.trusted-registry")
        .collect();
    assert_eq!(
        custom.len(),
        1,
        "only the nginx:latest deployment: {custom:?}"
    );
    assert_eq!(custom[0]["severity"], "high");
    assert!(custom[0]["message"]
        .as_str()
        .unwrap()
        .contains("nginx:latest"));

    let work = TempDir::new().unwrap();
    std::fs::write(
        work.path().join("broken.rego"),
        "package x\ndeny contains msg if {",
    )
    .unwrap();
    palisade(home.path(), &root)
        .args([
            "scan",
            "iac",
            "examples/kubernetes",
            "--no-store",
            "--policy",
        ])
        .arg(work.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("broken.rego"));
}

#[test]
fn config_file_skips_paths_disables_rules_and_overrides_severity() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::create_dir_all(work.path().join("vendor")).unwrap();
    std::fs::write(work.path().join("vendor/pod.yaml"), POD).unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    std::fs::write(
        work.path().join(".palisade.toml"),
        "skip_paths = [\"vendor\"]\ndisabled_rules = [\"iac.k8s.image-tag-mutable\"]\n[severity_overrides]\n\"iac.k8s.privileged-container\" = \"critical\"\n",
    )
    .unwrap();
    let report = scan_json(home.path(), work.path(), &["--no-store"]);
    let findings = findings_of(&report);
    assert!(findings.iter().all(|f| !f["resource"]["file"]
        .as_str()
        .unwrap_or("")
        .starts_with("vendor")));
    assert!(findings
        .iter()
        .all(|f| f["rule_id"] != "iac.k8s.image-tag-mutable"));
    let privileged = findings
        .iter()
        .find(|f| f["rule_id"] == "iac.k8s.privileged-container")
        .unwrap();
    assert_eq!(privileged["severity"], "critical");

    std::fs::write(work.path().join(".palisade.toml"), "no_such_key = 1\n").unwrap();
    palisade(home.path(), work.path())
        .args(["scan", "iac", ".", "--no-store"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(".palisade.toml"));
}

#[test]
fn json_logs_go_to_stderr_and_keep_stdout_clean() {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    std::fs::write(work.path().join("pod.yaml"), POD).unwrap();
    let output = palisade(home.path(), work.path())
        .args([
            "scan",
            "iac",
            ".",
            "--no-store",
            "--format",
            "json",
            "--log-format",
            "json",
            "-v",
        ])
        .output()
        .unwrap();
    json_of(&output.stdout);
    let stderr = String::from_utf8(output.stderr).unwrap();
    let first_log = stderr.lines().next().expect("info logs with -v");
    assert!(
        serde_json::from_str::<Value>(first_log).is_ok(),
        "{first_log}"
    );
}
