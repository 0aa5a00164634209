//! Teams moving from gitleaks keep their configuration: gitleaks' own default
//! rules load, and a `.gitleaks.toml` extending the defaults works as gitleaks documents.

use std::path::PathBuf;

use palisade_secrets::{ConfigFile, Detector, ResolvedConfig, RuleSet, Source};

use crate::{rule_ids, scan_text, TEST_KEY};

fn shared_gitleaks_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/gitleaks/gitleaks.toml")
}

/// gitleaks' default configuration from `../shared/gitleaks`, when present.
pub fn shared_gitleaks_config() -> Option<ConfigFile> {
    let path = shared_gitleaks_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipped: gitleaks' default config not found at {}",
            path.display()
        );
        return None;
    };
    Some(ConfigFile::parse(&text, &path.display().to_string()).expect("gitleaks.toml parses"))
}

#[test]
fn gitleaks_default_config_loads_and_every_rule_compiles() {
    let Some(file) = shared_gitleaks_config() else {
        return;
    };
    let total = file.rules.len();
    let resolved = ResolvedConfig::load(&shared_gitleaks_path()).expect("resolves");
    let rules = RuleSet::compile(&resolved).expect("every gitleaks rule compiles");
    assert_eq!(rules.rules.len(), total);
    assert!(total >= 200, "{total}");
    assert!(
        !rules.allowlists.is_empty(),
        "the global allowlist is loaded"
    );
}

#[test]
fn gitleaks_default_rules_find_what_gitleaks_finds() {
    if shared_gitleaks_config().is_none() {
        return;
    }
    let resolved = ResolvedConfig::load(&shared_gitleaks_path()).expect("resolves");
    let detector =
        Detector::new(RuleSet::compile(&resolved).expect("compiles"), TEST_KEY).expect("builds");
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    let found = rule_ids(
        &detector,
        &scan_text(
            &detector,
            "deploy.sh",
            &format!("export GH_TOKEN={token}\n"),
        ),
    );
    assert!(found.contains(&"github-pat".to_string()), "{found:?}");
    // Its global allowlist skips lockfiles and vendored paths by path.
    assert!(
        detector.skips_path("node_modules/left-pad/index.js")
            || detector.skips_path("package-lock.json")
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn a_user_config_extends_the_builtin_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        ".gitleaks.toml",
        r#"
title = "acme"

[extend]
useDefault = true
disabledRules = ["aws-access-key-id"]

[[rules]]
id = "acme-internal-token"
description = "Acme internal API token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
keywords = ["acme_"]
entropy = 3.0

[[rules.allowlists]]
stopwords = ["acme_test"]

[allowlist]
description = "generated files"
paths = ['''(^|/)generated/''']
regexes = ['''^acme_0{24}$''']
"#,
    );
    let resolved = ResolvedConfig::load(&config).expect("loads");
    let detector =
        Detector::new(RuleSet::compile(&resolved).expect("compiles"), TEST_KEY).expect("builds");
    let ids: Vec<&str> = detector
        .rules()
        .iter()
        .map(|r| r.config_id.as_str())
        .collect();
    assert!(ids.contains(&"acme-internal-token"));
    assert!(!ids.contains(&"aws-access-key-id"), "disabledRules applies");
    assert!(
        ids.len() > 50,
        "built-in rules are extended, not replaced: {}",
        ids.len()
    );

    let found = |path: &str, text: &str| rule_ids(&detector, &scan_text(&detector, path, text));
    assert_eq!(
        found("src/a.py", "t = acme_k3j9x2m5q8w1z7v4b6n0c2d8\n"),
        ["acme-internal-token"]
    );
    assert!(
        found("src/a.py", "t = acme_test9x2m5q8w1z7v4b6n0c2d\n").is_empty(),
        "rule stopword"
    );
    assert!(
        found("src/a.py", "t = acme_000000000000000000000000\n").is_empty(),
        "global regex"
    );
    assert!(
        detector.skips_path("src/generated/client.py"),
        "global path allowlist"
    );
    assert!(
        found("src/a.py", "AWS_KEY=AKIAZ3MSJV4WWNKWW5FG\n").is_empty(),
        "disabled rule"
    );
}

#[test]
fn a_config_without_extend_replaces_the_builtin_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        "only.toml",
        "[[rules]]\nid = \"only\"\nregex = '''only_[0-9]{8}'''\nkeywords = [\"only_\"]\n",
    );
    let rules = RuleSet::compile(&ResolvedConfig::load(&config).expect("loads")).expect("compiles");
    assert_eq!(rules.rules.len(), 1);
}

#[test]
fn an_overriding_rule_keeps_the_extended_rule_and_adds_its_allowlist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"github-classic-pat\"\n[[rules.allowlists]]\npaths = ['''^testdata/''']\n",
    );
    let detector = Detector::new(
        RuleSet::compile(&ResolvedConfig::load(&config).expect("loads")).expect("compiles"),
        TEST_KEY,
    )
    .expect("builds");
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    let line = format!("t = \"{token}\"\n");
    assert_eq!(
        rule_ids(&detector, &scan_text(&detector, "src/a.py", &line)),
        ["github-classic-pat"]
    );
    assert!(scan_text(&detector, "testdata/a.py", &line).is_empty());
}

#[test]
fn commit_allowlists_apply_to_matches_in_that_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n[[allowlists]]\ncommits = [\"abc123\"]\n",
    );
    let detector = Detector::new(
        RuleSet::compile(&ResolvedConfig::load(&config).expect("loads")).expect("compiles"),
        TEST_KEY,
    )
    .expect("builds");
    let text = "AWS_KEY=AKIAZ3MSJV4WWNKWW5FG\n";
    let in_commit = |commit| {
        detector
            .scan(
                text.as_bytes(),
                Source {
                    path: "a.sh",
                    commit,
                },
            )
            .len()
    };
    assert_eq!(in_commit(Some("abc123def")), 0);
    assert_eq!(in_commit(Some("fff000")), 1);
}

#[test]
fn malformed_configs_fail_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_toml = write(dir.path(), "bad.toml", "[[rules]]\nid = \"x\"\nregex = \n");
    let error = ResolvedConfig::load(&bad_toml)
        .expect_err("bad TOML")
        .to_string();
    assert!(error.contains("bad.toml:3"), "{error}");

    let bad_regex = write(
        dir.path(),
        "re.toml",
        "[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\n",
    );
    let error = RuleSet::compile(&ResolvedConfig::load(&bad_regex).expect("parses"))
        .expect_err("bad regex")
        .to_string();
    assert!(
        error.contains("broken") && error.contains("invalid regex"),
        "{error}"
    );
}
