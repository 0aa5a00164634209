//! Every built-in rule against its own examples and negative examples, and
//! the catalogue's shape.

use std::collections::{BTreeMap, HashSet};

use palisade_secrets::{ConfigFile, RuleSet};

use crate::{builtin_detector, rule_ids, scan_text};

#[test]
fn every_rule_reports_its_examples_and_not_its_negative_examples() {
    let detector = builtin_detector();
    let catalogue = ConfigFile::builtin().expect("built-in rules parse");
    let mut failures = Vec::new();
    for spec in &catalogue.rules {
        for example in &spec.examples {
            let found = rule_ids(detector, &scan_text(detector, "src/app.py", example));
            if !found.contains(&spec.id) {
                failures.push(format!(
                    "{}: example not reported (got {found:?}): {example}",
                    spec.id
                ));
            }
        }
        for example in &spec.negative_examples {
            let found = rule_ids(detector, &scan_text(detector, "src/app.py", example));
            if found.contains(&spec.id) {
                failures.push(format!("{}: negative example reported: {example}", spec.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_catalogue_covers_every_family_with_documented_rules() {
    let catalogue = ConfigFile::builtin().expect("built-in rules parse");
    assert!(
        catalogue.rules.len() >= 80,
        "only {} built-in rules",
        catalogue.rules.len()
    );
    let mut ids = HashSet::new();
    let mut families: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in &catalogue.rules {
        assert!(
            ids.insert(spec.id.as_str()),
            "duplicate rule id {}",
            spec.id
        );
        assert!(
            !spec.description.is_empty(),
            "{} has no description",
            spec.id
        );
        assert!(
            !spec.keywords.is_empty(),
            "{} has no keywords: it would run on every file",
            spec.id
        );
        assert!(spec.severity.is_some(), "{} has no severity", spec.id);
        assert!(!spec.examples.is_empty(), "{} has no example", spec.id);
        assert!(
            !spec.negative_examples.is_empty(),
            "{} has no negative example",
            spec.id
        );
        *families
            .entry(spec.tags.first().map(String::as_str).unwrap_or("none"))
            .or_default() += 1;
    }
    for family in [
        "cloud",
        "code-host",
        "chat",
        "payment",
        "mail",
        "monitoring",
        "database",
        "private-key",
        "jwt",
        "url-credentials",
        "generic",
    ] {
        assert!(
            families.contains_key(family),
            "no rule of family {family}: {families:?}"
        );
    }
}

#[test]
fn peer_ids_name_real_gitleaks_rules() {
    let Some(gitleaks) = crate::gitleaks::shared_gitleaks_config() else {
        return;
    };
    let known: HashSet<String> = gitleaks.rules.into_iter().map(|r| r.id).collect();
    let rules = RuleSet::builtin().expect("built-in rules compile");
    for rule in &rules.rules {
        for peer in rule.meta.peer_ids("gitleaks") {
            assert!(
                known.contains(peer),
                "{}: unknown gitleaks rule {peer}",
                rule.meta.id
            );
        }
    }
}

#[test]
fn a_provider_match_is_not_also_reported_as_generic() {
    let detector = builtin_detector();
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    let found = rule_ids(
        detector,
        &scan_text(detector, "app.py", &format!("api_token = \"{token}\"\n")),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].starts_with("generic"), "{found:?}");
}

#[test]
fn documentation_examples_and_placeholders_are_not_reported() {
    let detector = builtin_detector();
    for text in [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "password = \"changeme\"",
        "api_key = \"${API_KEY}\"",
        "token: <your-token-here>",
        "secret = \"xxxxxxxxxxxxxxxxxxxxxxxx\"",
        "password = os.environ[\"DB_PASSWORD\"]",
        "\"integrity\": \"sha512-Kq5sNDGK1Ey4+4Bj7hL9YOXkvAfU2wZYpnzmdI4UdPh6hSMDTTUnGNhJBxlbZOM0sWUxcHXXeGGy0YbR1Ag3xg==\"",
        "request_id = \"123e4567-e89b-12d3-a456-426614174000\"",
        "FAKE_TOKEN = \"fake-token-a8Bc9De0Fg1Hi2Jk3Lm4No5Pq6Rs7T\"",
    ] {
        let found = scan_text(detector, "app.py", text);
        assert!(found.is_empty(), "{text}: {:?}", rule_ids(detector, &found));
    }
}

#[test]
fn inline_allow_comments_drop_or_suppress() {
    let detector = builtin_detector();
    let token = crate::github_token("ghp_", "Q1w2E3r4T5y6U7i8O9p0AsDfGhJkLz");
    assert!(scan_text(
        detector,
        "a.py",
        &format!("t = \"{token}\"  # gitleaks:allow\n")
    )
    .is_empty());
    assert!(scan_text(
        detector,
        "a.py",
        &format!("t = \"{token}\"  # pragma: allowlist secret\n")
    )
    .is_empty());
    let suppressed = scan_text(
        detector,
        "a.py",
        &format!("# palisade:ignore=secret.github-* revoked in INC-12\nt = \"{token}\"\n"),
    );
    assert_eq!(suppressed.len(), 1);
    let suppression = suppressed[0].suppression.as_ref().expect("suppressed");
    assert_eq!(suppression.reason, "revoked in INC-12");
}

#[test]
fn matches_carry_line_column_and_redacted_evidence() {
    let detector = builtin_detector();
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    let text = format!("# config\n\nclient = Client(token=\"{token}\")\n");
    let found = scan_text(detector, "app.py", &text);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (3, 24));
    assert!(!found[0].evidence.contains(&token), "{}", found[0].evidence);
    assert!(
        !format!("{:?}", found[0]).contains(&token[4..]),
        "Debug shows the secret"
    );
}
