//! History scans of real git repositories made with the git command line.

use std::path::Path;
use std::process::Command;

use palisade_core::{Finding, FindingDetails};
use palisade_secrets::history::{scan_history, HistoryOptions, Since};
use palisade_secrets::staged::scan_staged;
use palisade_secrets::{Error, ScanOptions};

use crate::builtin_detector;

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
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
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn commit_file(dir: &Path, path: &str, text: &str, message: &str) -> String {
    let file = dir.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&file, text).expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

fn token(seed: &str) -> String {
    let payload: String = seed.chars().cycle().take(30).collect();
    crate::github_token("ghp_", &payload)
}

fn finding_for<'a>(findings: &'a [Finding], path: &str) -> Option<&'a Finding> {
    findings
        .iter()
        .find(|f| f.location.as_ref().is_some_and(|l| l.path == path))
}

fn present_at_head(finding: &Finding) -> Option<bool> {
    match &finding.details {
        Some(FindingDetails::Secret(details)) => details.present_at_head,
        _ => None,
    }
}

fn scan(dir: &Path, options: &HistoryOptions) -> palisade_secrets::history::HistoryScan {
    scan_history(dir, builtin_detector(), &ScanOptions::default(), options).expect("history scans")
}

#[test]
fn secrets_deleted_later_on_unmerged_branches_and_renamed_are_found() {
    let repo = new_repo();
    let dir = repo.path();
    let deleted = token("Del3ted0nMainAb9");
    let branch_only = token("Br4nch0nlyXy7Q2");
    let renamed = token("R3namedF1leZq8W");
    let added_in = commit_file(
        dir,
        "config/app.py",
        &format!("TOKEN = \"{deleted}\"\n"),
        "add config",
    );
    commit_file(
        dir,
        "config/app.py",
        "TOKEN = os.environ['TOKEN']\n",
        "remove secret",
    );
    commit_file(
        dir,
        "old/name.py",
        &format!("GH = \"{renamed}\"\n"),
        "add file",
    );
    std::fs::create_dir_all(dir.join("new")).expect("mkdir");
    git(dir, &["mv", "old/name.py", "new/name.py"]);
    git(dir, &["commit", "-q", "-m", "rename"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    commit_file(
        dir,
        "feature.py",
        &format!("T = \"{branch_only}\"\n"),
        "branch work",
    );
    git(dir, &["checkout", "-q", "main"]);

    let result = scan(dir, &HistoryOptions::default());
    let findings = &result.output.findings;
    assert!(
        result.output.errors.is_empty(),
        "{:?}",
        result.output.errors
    );
    assert_eq!(result.commits_scanned.len(), 5);
    assert_eq!(
        findings.len(),
        3,
        "one finding per distinct secret: {findings:#?}"
    );

    let gone = finding_for(findings, "config/app.py").expect("deleted secret found");
    let location = gone.location.as_ref().expect("location");
    assert_eq!(location.commit.as_deref(), Some(added_in.as_str()));
    assert_eq!(
        location.author.as_deref(),
        Some("Dev One <dev@example.org>")
    );
    assert!(location.committed_at.is_some());
    assert_eq!(present_at_head(gone), Some(false));

    let branch = finding_for(findings, "feature.py").expect("unmerged branch secret found");
    assert_eq!(present_at_head(branch), Some(false));

    let moved = finding_for(findings, "old/name.py").expect("renamed secret found once");
    assert_eq!(present_at_head(moved), Some(true));
    assert!(
        moved
            .other_locations
            .iter()
            .any(|l| l.path == "new/name.py"),
        "the new path is listed: {:?}",
        moved.other_locations
    );
    for finding in findings {
        let json = serde_json::to_string(finding).expect("serialises");
        for secret in [&deleted, &branch_only, &renamed] {
            assert!(!json.contains(secret.as_str()), "raw secret in a finding");
        }
    }
}

#[test]
fn a_rescan_reads_only_new_commits() {
    let repo = new_repo();
    let dir = repo.path();
    commit_file(
        dir,
        "a.py",
        &format!("A = \"{}\"\n", token("F1rstSecretAb9Zq")),
        "one",
    );
    let first = scan(dir, &HistoryOptions::default());
    assert_eq!(first.output.findings.len(), 1);

    let again = scan(
        dir,
        &HistoryOptions {
            already_scanned: first.commits_scanned.clone(),
            ..Default::default()
        },
    );
    assert_eq!(again.commits_scanned.len(), 0);
    assert!(again.output.findings.is_empty());

    commit_file(
        dir,
        "b.py",
        &format!("B = \"{}\"\n", token("S3condSecretXy7Q")),
        "two",
    );
    let incremental = scan(
        dir,
        &HistoryOptions {
            already_scanned: first.commits_scanned,
            ..Default::default()
        },
    );
    assert_eq!(incremental.commits_scanned.len(), 1);
    assert_eq!(incremental.output.findings.len(), 1);
    assert!(finding_for(&incremental.output.findings, "b.py").is_some());
}

#[test]
fn since_a_revision_or_a_date_limits_the_walk() {
    let repo = new_repo();
    let dir = repo.path();
    let first = commit_file(
        dir,
        "a.py",
        &format!("A = \"{}\"\n", token("F1rstSecretAb9Zq")),
        "one",
    );
    commit_file(
        dir,
        "b.py",
        &format!("B = \"{}\"\n", token("S3condSecretXy7Q")),
        "two",
    );
    let after_first = scan(
        dir,
        &HistoryOptions {
            since: Some(Since::Revision(first)),
            ..Default::default()
        },
    );
    assert_eq!(after_first.commits_scanned.len(), 1);
    assert!(finding_for(&after_first.output.findings, "b.py").is_some());
    assert!(finding_for(&after_first.output.findings, "a.py").is_none());

    let future = scan(
        dir,
        &HistoryOptions {
            since: Some(Since::parse("2999-01-01")),
            ..Default::default()
        },
    );
    assert_eq!(future.commits_scanned.len(), 0);
}

#[test]
fn staged_changes_are_scanned_and_unstaged_ones_are_not() {
    let repo = new_repo();
    let dir = repo.path();
    commit_file(dir, "readme.md", "hello\n", "init");
    std::fs::write(
        dir.join("staged.py"),
        format!("T = \"{}\"\n", token("St4gedSecretAb9Z")),
    )
    .expect("write");
    git(dir, &["add", "staged.py"]);
    std::fs::write(
        dir.join("unstaged.py"),
        format!("T = \"{}\"\n", token("Unst4gedSecretXy")),
    )
    .expect("write");
    let output = scan_staged(dir, builtin_detector(), &ScanOptions::default()).expect("scans");
    assert_eq!(output.findings.len(), 1, "{:#?}", output.findings);
    assert!(finding_for(&output.findings, "staged.py").is_some());
}

#[test]
fn a_directory_that_is_not_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = scan_history(
        dir.path(),
        builtin_detector(),
        &ScanOptions::default(),
        &HistoryOptions::default(),
    )
    .expect_err("not a repository");
    assert!(matches!(error, Error::Repository { .. }), "{error}");
    assert!(
        error.to_string().contains("not a readable git repository"),
        "{error}"
    );
}

#[test]
fn a_shallow_clone_is_reported_and_what_is_there_is_scanned() {
    let origin = new_repo();
    commit_file(
        origin.path(),
        "a.py",
        &format!("A = \"{}\"\n", token("F1rstSecretAb9Zq")),
        "one",
    );
    commit_file(
        origin.path(),
        "b.py",
        &format!("B = \"{}\"\n", token("S3condSecretXy7Q")),
        "two",
    );
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", origin.path().display());
    git(
        clone.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let result = scan(&clone.path().join("shallow"), &HistoryOptions::default());
    assert!(
        result
            .output
            .errors
            .iter()
            .any(|e| e.message.contains("shallow clone")),
        "{:?}",
        result.output.errors
    );
    // The boundary commit's tree is read whole: both files are there.
    assert_eq!(result.output.findings.len(), 2);
}

#[test]
fn a_corrupt_object_is_reported_and_the_scan_goes_on() {
    let repo = new_repo();
    let dir = repo.path();
    commit_file(
        dir,
        "a.py",
        &format!("A = \"{}\"\n", token("F1rstSecretAb9Zq")),
        "one",
    );
    commit_file(dir, "b.py", "print('ok')\n", "two");
    let blob = git(dir, &["rev-parse", "HEAD:b.py"]);
    let object = dir.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut permissions = std::fs::metadata(&object)
        .expect("object exists")
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).expect("chmod");
    std::fs::write(&object, b"not zlib at all").expect("corrupt");
    let result = scan(dir, &HistoryOptions::default());
    assert!(
        !result.output.errors.is_empty(),
        "the broken blob is reported"
    );
    assert!(
        finding_for(&result.output.findings, "a.py").is_some(),
        "the rest is scanned"
    );
}
