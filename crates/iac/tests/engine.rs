//! The whole engine on real directories: hostile inputs, suppressions,
//! fingerprints that survive edits, configuration.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use palisade_core::ScanOutput;
use palisade_iac::engine::{scan_paths, ScanOptions};

const BUCKET: &str = r#"resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}
"#;

const PRIVILEGED_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: tools
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
";

/// Scans with a watchdog: a hang is a failure, not a stuck test run.
fn scan(paths: &[PathBuf], options: &ScanOptions) -> ScanOutput {
    let (tx, rx) = mpsc::channel();
    let paths = paths.to_vec();
    let options = options.clone();
    std::thread::spawn(move || {
        let _ = tx.send(scan_paths(&paths, &options));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("scan finished within 120 s")
        .expect("scan succeeded")
}

fn scan_dir(dir: &Path) -> ScanOutput {
    scan(&[dir.to_path_buf()], &ScanOptions::default())
}

fn has_rule_on(output: &ScanOutput, rule: &str, file_suffix: &str) -> bool {
    output.findings.iter().any(|f| {
        f.rule_id == rule
            && f.resource
                .file
                .as_deref()
                .is_some_and(|p| p.ends_with(file_suffix))
    })
}

#[test]
fn hostile_inputs_become_errors_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("good.tf"), BUCKET).unwrap();
    std::fs::write(root.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::create_dir(root.join("junk")).unwrap();
    std::fs::write(root.join("junk/binary.tf"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(
        root.join("junk/binary.yaml"),
        [0x7f, b'E', b'L', b'F', 0, 0],
    )
    .unwrap();
    std::fs::write(
        root.join("junk/latin1.yaml"),
        b"apiVersion: v1\nkind: Pod\nname: caf\xe9\n",
    )
    .unwrap();
    std::fs::write(
        root.join("junk/broken.tf"),
        "resource \"aws_s3_bucket\" \"x\" {\n  bucket = \n",
    )
    .unwrap();
    let huge = format!(
        "apiVersion: v1\nkind: ConfigMap\n# {}\n",
        "x".repeat(6 * 1024 * 1024)
    );
    std::fs::write(root.join("huge.yaml"), huge).unwrap();
    #[cfg(unix)]
    {
        std::fs::create_dir(root.join("loop")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop/again")).unwrap();
    }

    let output = scan_dir(root);
    assert!(
        has_rule_on(&output, "iac.aws.s3-encryption", "good.tf"),
        "{:#?}",
        output.findings
    );
    assert!(has_rule_on(
        &output,
        "iac.k8s.privileged-container",
        "pod.yaml"
    ));
    let error_for = |name: &str| {
        output
            .errors
            .iter()
            .find(|e| e.path.ends_with(name))
            .unwrap_or_else(|| panic!("no error for {name}: {:#?}", output.errors))
    };
    assert!(error_for("binary.yaml").message.contains("binary"));
    error_for("binary.tf");
    assert_eq!(error_for("latin1.yaml").line, Some(3));
    assert!(
        error_for("broken.tf").line.is_some(),
        "parse errors carry a line"
    );
    assert!(error_for("huge.yaml").message.contains("too large"));
    #[cfg(unix)]
    assert!(
        output.errors.iter().any(|e| e.message.contains("loop")),
        "{:#?}",
        output.errors
    );
}

#[test]
fn fingerprints_survive_line_moves_and_whitespace_edits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("main.tf");
    std::fs::write(&file, BUCKET).unwrap();
    let before = scan_dir(dir.path());
    let edited = "# moved down by a new comment block\n\n\nresource   \"aws_s3_bucket\"   \"logs\"   {\n\n    bucket    =    \"acme-logs\"\n}\n";
    std::fs::write(&file, edited).unwrap();
    let after = scan_dir(dir.path());
    let pick = |o: &ScanOutput| {
        o.findings
            .iter()
            .find(|f| f.rule_id == "iac.aws.s3-encryption")
            .map(|f| {
                (
                    f.fingerprint.clone(),
                    f.location.as_ref().map(|l| l.start_line),
                )
            })
            .expect("finding present")
    };
    let (fp_before, line_before) = pick(&before);
    let (fp_after, line_after) = pick(&after);
    assert_eq!(fp_before, fp_after);
    assert_ne!(line_before, line_after, "the location does follow the move");
}

#[test]
fn inline_suppressions_apply_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        r#"resource "aws_s3_bucket" "logs" {
  # palisade:ignore=iac.aws.s3-encryption encrypted by the replication target expires=2999-12-31
  #checkov:skip=CKV_AWS_21:versioning is handled by backups
  bucket = "acme-logs"
}

# palisade:ignore=iac.aws.s3-encryption too old expires=2001-01-01
resource "aws_s3_bucket" "old" {
  bucket = "acme-old"
}
"#,
    )
    .unwrap();
    let output = scan_dir(dir.path());
    let on = |address: &str, rule: &str| {
        output
            .findings
            .iter()
            .find(|f| f.resource.id == address && f.rule_id == rule)
            .unwrap_or_else(|| panic!("{rule} on {address}: {:#?}", output.findings))
    };
    let logs = on("aws_s3_bucket.logs", "iac.aws.s3-encryption");
    assert_eq!(
        logs.suppression.as_ref().map(|s| s.reason.as_str()),
        Some("encrypted by the replication target")
    );
    assert!(on("aws_s3_bucket.old", "iac.aws.s3-encryption")
        .suppression
        .is_none());
    // CKV_AWS_21 is Checkov's S3 versioning check: the palisade rule it maps to is skipped too.
    let versioning = output
        .findings
        .iter()
        .find(|f| f.resource.id == "aws_s3_bucket.logs" && f.rule_id.contains("versioning"))
        .expect("versioning finding, marked suppressed");
    assert_eq!(
        versioning.suppression.as_ref().map(|s| s.source.as_str()),
        Some("checkov:skip")
    );
}

#[test]
fn options_skip_paths_disable_rules_and_override_severity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("vendor")).unwrap();
    std::fs::write(dir.path().join("vendor/pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(dir.path().join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let mut options = ScanOptions {
        skip_paths: vec!["vendor".into()],
        ..ScanOptions::default()
    };
    options.severity_overrides.insert(
        "iac.k8s.privileged-container".into(),
        palisade_core::Severity::Critical,
    );
    let output = scan(&[dir.path().to_path_buf()], &options);
    assert!(output.findings.iter().all(|f| !f
        .resource
        .file
        .as_deref()
        .unwrap_or("")
        .contains("vendor")));
    let privileged = output
        .findings
        .iter()
        .find(|f| f.rule_id == "iac.k8s.privileged-container")
        .unwrap();
    assert_eq!(privileged.severity, palisade_core::Severity::Critical);

    options
        .disabled_rules
        .insert("iac.k8s.privileged-container".into());
    let output = scan(&[dir.path().to_path_buf()], &options);
    assert!(output
        .findings
        .iter()
        .all(|f| f.rule_id != "iac.k8s.privileged-container"));
}

#[test]
fn a_missing_path_is_an_error() {
    let err = scan_paths(
        &[PathBuf::from("/definitely/not/here")],
        &ScanOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("/definitely/not/here"));
}

#[test]
fn companion_resources_count_only_within_their_root_module() {
    let dir = tempfile::tempdir().unwrap();
    for (module, versioned) in [("a", true), ("b", false)] {
        let path = dir.path().join(module);
        std::fs::create_dir(&path).unwrap();
        let mut text = BUCKET.to_string();
        if versioned {
            text.push_str(
                "resource \"aws_s3_bucket_versioning\" \"logs\" {\n  bucket = aws_s3_bucket.logs.id\n  versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n",
            );
        }
        std::fs::write(path.join("main.tf"), text).unwrap();
    }
    let output = scan_dir(dir.path());
    let unversioned: Vec<&str> = output
        .findings
        .iter()
        .filter(|f| f.rule_id == "iac.aws.s3-versioning")
        .filter_map(|f| f.resource.file.as_deref())
        .collect();
    assert_eq!(unversioned.len(), 1, "{unversioned:?}");
    assert!(unversioned[0].ends_with("b/main.tf"), "{unversioned:?}");
}
