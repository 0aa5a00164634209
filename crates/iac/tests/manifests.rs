//! CloudFormation and Kubernetes parsers against fixtures with expected
//! results, hostile inputs, and arbitrary text.
//!
//! Each `tests/fixtures/{cloudformation,kubernetes}/<name>.<ext>` has a
//! `<name>.expected.json` beside it: the resources in order (kind, address,
//! name, line range, attribute values by JSON pointer, pointers that must be
//! absent) and the errors (line window and a message fragment).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palisade_iac::cloudformation::{self, looks_like_cloudformation};
use palisade_iac::kubernetes::{self, looks_like_kubernetes};
use palisade_iac::{Framework, ParsedSet};
use proptest::prelude::*;
use serde_json::Value;

fn fixture_dir(framework: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(framework)
}

/// Every fixture of a directory with its expected file.
fn fixtures(framework: &str) -> Vec<(String, String, Value)> {
    let dir = fixture_dir(framework);
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if file.ends_with(".expected.json") {
            continue;
        }
        let stem = file
            .rsplit_once('.')
            .map_or(file.as_str(), |(stem, _)| stem);
        let expected_path = dir.join(format!("{stem}.expected.json"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected: Value = serde_json::from_str(&expected)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let content = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        out.push((file, content, expected));
    }
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

fn check(file: &str, parsed: &ParsedSet, expected: &Value, framework: Framework) {
    let want = expected["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let got: Vec<_> = parsed
        .resources
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.address.as_str(),
                r.start_line,
                r.end_line,
            )
        })
        .collect();
    assert_eq!(
        parsed.resources.len(),
        want.len(),
        "{file}: resources {got:#?}, errors {:#?}",
        parsed.errors
    );
    for (resource, want) in parsed.resources.iter().zip(&want) {
        let what = format!("{file}: {}", resource.address);
        assert_eq!(resource.framework, framework, "{what}");
        assert_eq!(resource.file, file, "{what}");
        assert_eq!(
            Some(resource.kind.as_str()),
            want["kind"].as_str(),
            "{what}: kind"
        );
        assert_eq!(
            Some(resource.address.as_str()),
            want["address"].as_str(),
            "{what}: address"
        );
        if let Some(name) = want["name"].as_str() {
            assert_eq!(resource.name, name, "{what}: name");
        }
        assert_eq!(
            (
                Some(u64::from(resource.start_line)),
                Some(u64::from(resource.end_line))
            ),
            (want["start_line"].as_u64(), want["end_line"].as_u64()),
            "{what}: line range"
        );
        for (pointer, value) in want["attributes"].as_object().into_iter().flatten() {
            assert_eq!(
                resource.attributes.pointer(pointer),
                Some(value),
                "{what}: attribute {pointer} in {:#}",
                resource.attributes
            );
        }
        for pointer in want["absent"].as_array().into_iter().flatten() {
            let pointer = pointer.as_str().unwrap_or_default();
            assert_eq!(
                resource.attributes.pointer(pointer),
                None,
                "{what}: {pointer} should be absent"
            );
        }
    }
    let want_errors = expected["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        parsed.errors.len(),
        want_errors.len(),
        "{file}: errors {:#?}",
        parsed.errors
    );
    for (error, want) in parsed.errors.iter().zip(&want_errors) {
        assert_eq!(error.path, file);
        let line = u64::from(error.line.unwrap_or(0));
        let (min, max) = (
            want["line_min"].as_u64().unwrap_or(0),
            want["line_max"].as_u64().unwrap_or(u64::MAX),
        );
        assert!(
            (min..=max).contains(&line),
            "{file}: error line {line} not in {min}..={max}: {error:?}"
        );
        let fragment = want["contains"].as_str().unwrap_or_default();
        assert!(
            error.message.contains(fragment),
            "{file}: {:?} lacks {fragment:?}",
            error.message
        );
    }
}

#[test]
fn cloudformation_fixtures() {
    for (file, content, expected) in fixtures("cloudformation") {
        assert!(
            looks_like_cloudformation(&content),
            "{file} should sniff as CloudFormation"
        );
        assert!(
            !looks_like_kubernetes(&content),
            "{file} should not sniff as Kubernetes"
        );
        check(
            &file,
            &cloudformation::parse(&file, &content),
            &expected,
            Framework::CloudFormation,
        );
    }
}

#[test]
fn kubernetes_fixtures() {
    for (file, content, expected) in fixtures("kubernetes") {
        let has_objects = !expected["resources"].as_array().is_none_or(Vec::is_empty);
        if has_objects {
            assert!(
                looks_like_kubernetes(&content),
                "{file} should sniff as Kubernetes"
            );
        }
        assert!(
            !looks_like_cloudformation(&content),
            "{file} should not sniff as CloudFormation"
        );
        check(
            &file,
            &kubernetes::parse(&file, &content),
            &expected,
            Framework::Kubernetes,
        );
    }
}

#[test]
fn cloudformation_errors_carry_lines() {
    let broken = "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties: [oops\n";
    let parsed = cloudformation::parse("t.yaml", broken);
    assert!(parsed.resources.is_empty());
    assert_eq!(parsed.errors.len(), 1);
    assert!(parsed.errors[0].line.is_some(), "{:?}", parsed.errors);

    let parsed = cloudformation::parse("t.json", "{\n  \"Resources\": {\n    \"B\": \n}");
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(parsed.errors[0].line, Some(4), "{:?}", parsed.errors);

    let parsed = cloudformation::parse(
        "t.yaml",
        "Resources:\n  NoType:\n    Properties: {}\n  Ok:\n    Type: AWS::SQS::Queue\n",
    );
    assert_eq!(parsed.resources.len(), 1);
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(parsed.errors[0].line, Some(2));
}

#[test]
fn empty_and_junk_inputs_are_harmless() {
    for content in ["", "\n\n", "# nothing\n", "---\n...\n"] {
        let parsed = kubernetes::parse("e.yaml", content);
        assert!(
            parsed.resources.is_empty() && parsed.errors.is_empty(),
            "{content:?}"
        );
        let parsed = cloudformation::parse("e.yaml", content);
        assert!(
            parsed.resources.is_empty() && parsed.errors.is_empty(),
            "{content:?}"
        );
    }
    // Binary junk as the engine would see it after a lossy UTF-8 read.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let junk = format!(
        "apiVersion: v1\nkind: Pod\n{}\0\u{7}",
        String::from_utf8_lossy(&bytes)
    );
    let parsed = kubernetes::parse("junk.yaml", &junk);
    assert!(parsed.resources.is_empty());
    assert!(!parsed.errors.is_empty());
    let parsed = cloudformation::parse("junk.yaml", &junk);
    assert!(parsed.resources.is_empty());
    assert!(!parsed.errors.is_empty());
}

/// A billion-laughs document expands to 10^9 strings if aliases are
/// followed naively; the parser must refuse quickly instead.
#[test]
fn alias_bomb_is_refused_quickly() {
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let list = [prev.as_str(); 10].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{list}]\n"));
    }
    let started = Instant::now();
    let parsed = kubernetes::parse("bomb.yaml", &bomb);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(parsed.resources.is_empty());
    assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);

    let cfn_bomb = bomb.replace(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:",
        "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n     Tags:",
    );
    let started = Instant::now();
    let parsed = cloudformation::parse("bomb.yaml", &cfn_bomb);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);

    // Small, legitimate alias use still works.
    let anchors = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: x}}\ndata:\n  copy: *l\n  <<: {merged: yes}\n";
    let parsed = kubernetes::parse("anchors.yaml", anchors);
    assert_eq!(parsed.errors.len(), 0, "{:?}", parsed.errors);
    assert_eq!(
        parsed.resources[0].attributes.pointer("/data/copy/app"),
        Some(&Value::from("x"))
    );
    assert_eq!(
        parsed.resources[0].attributes.pointer("/data/merged"),
        Some(&Value::from("yes"))
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [200usize, 100_000] {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let parsed = kubernetes::parse("deep.yaml", &yaml);
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        let json = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let parsed = kubernetes::parse("deep.json", &json);
        assert!(parsed.resources.is_empty());
        assert!(!parsed.errors.is_empty());
        let cfn = format!(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties: {{Tags: {}{}}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let parsed = cloudformation::parse("deep.yaml", &cfn);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        let cfn = format!("{{\"Resources\": {{\"B\": {{\"Type\": \"AWS::S3::Bucket\", \"Properties\": {{\"Tags\": {}{}}}}}}}}}", "[".repeat(depth), "]".repeat(depth));
        let parsed = cloudformation::parse("deep.json", &cfn);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    }
    // Nesting a real template might have still parses.
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ok}}\ndata: {}{}\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    assert_eq!(kubernetes::parse("ok.yaml", &yaml).resources.len(), 1);
}

#[test]
fn crlf_and_bom_keep_lines() {
    let content = "\u{feff}apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: q\r\n";
    let parsed = kubernetes::parse("crlf.yaml", content);
    let ranges: Vec<_> = parsed
        .resources
        .iter()
        .map(|r| (r.start_line, r.end_line))
        .collect();
    assert_eq!(ranges, vec![(1, 4), (6, 9)], "{:?}", parsed.errors);
}

#[test]
fn sniffers() {
    assert!(looks_like_kubernetes("apiVersion: v1\nkind: Pod\n"));
    assert!(looks_like_kubernetes(
        "{\"kind\": \"Pod\", \"apiVersion\": \"v1\"}"
    ));
    assert!(!looks_like_kubernetes(
        "apiVersion: v2\nname: my-chart\nversion: 1.0.0\n"
    ));
    assert!(!looks_like_kubernetes(
        "replicaCount: 1\nimage:\n  kind: x\n"
    ));
    assert!(looks_like_cloudformation(
        "AWSTemplateFormatVersion: \"2010-09-09\"\n"
    ));
    assert!(looks_like_cloudformation(
        "Resources:\n  Q:\n    Type: \"AWS::SQS::Queue\"\n"
    ));
    assert!(looks_like_cloudformation(
        "{\"Resources\":{\"Q\":{\"Type\":\"AWS::SQS::Queue\"}}}"
    ));
    assert!(!looks_like_cloudformation(
        "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu\n"
    ));
    assert!(!looks_like_cloudformation(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  Type: AWS::S3::Bucket\n"
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(content in "\\PC{0,400}") {
        let _ = kubernetes::parse("p.yaml", &content);
        let _ = cloudformation::parse("p.yaml", &content);
        let _ = looks_like_kubernetes(&content);
        let _ = looks_like_cloudformation(&content);
    }

    #[test]
    fn yamlish_text_never_panics(
        content in proptest::collection::vec(
            prop_oneof![
                Just("---\n"), Just("...\n"), Just("apiVersion: v1\n"), Just("kind: List\n"),
                Just("items:\n"), Just("- "), Just("  "), Just("a: "), Just("&x "), Just("*x "),
                Just("!Ref "), Just("!GetAtt "), Just("!Sub "), Just("!If "), Just("["), Just("]"),
                Just("{"), Just("}"), Just(", "), Just("\"${A}\""), Just("Resources:\n"),
                Just("Type: AWS::S3::Bucket\n"), Just("Properties:\n"), Just("\n"), Just("{{ x }}"),
                Just("<<: "), Just("\"Fn::If\": "), Just("Conditions:\n"), Just("Ref: "), Just("#c\n"),
            ],
            0..80,
        ).prop_map(|parts| parts.concat())
    ) {
        let _ = kubernetes::parse("p.yaml", &content);
        let _ = cloudformation::parse("p.yaml", &content);
    }

    #[test]
    fn jsonish_text_never_panics(
        content in proptest::collection::vec(
            prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\"Resources\""),
                Just("\"items\""), Just("\"kind\""), Just("\"List\""), Just("\"apiVersion\""), Just("\"v1\""),
                Just("\"Type\""), Just("\"AWS::X::Y\""), Just("\"Ref\""), Just("\"Fn::Sub\""), Just("1"),
                Just("\n"), Just(" "), Just("\"\\\"\""),
            ],
            0..80,
        ).prop_map(|parts| parts.concat())
    ) {
        let _ = kubernetes::parse("p.json", &content);
        let _ = cloudformation::parse("p.json", &content);
    }
}
