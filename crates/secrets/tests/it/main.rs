//! Integration tests of the secrets engine, one binary for all of them.

mod corpus;
mod gitleaks;
mod history;
mod robustness;
mod rules;

use std::sync::OnceLock;

use palisade_secrets::{Detector, RuleSet, SecretMatch, Source};

/// The fixed key of the tests' secret hashes.
pub const TEST_KEY: [u8; 32] = [7; 32];

/// The built-in rules, compiled once for the whole test binary.
pub fn builtin_detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        Detector::new(
            RuleSet::builtin().expect("built-in rules compile"),
            TEST_KEY,
        )
        .expect("detector builds")
    })
}

/// The ids (without `secret.`) of the rules that fire on `text` at `path`.
pub fn rule_ids(detector: &Detector, matches: &[SecretMatch]) -> Vec<String> {
    matches
        .iter()
        .map(|m| detector.rules()[m.rule].config_id.clone())
        .collect()
}

pub fn scan_text(detector: &Detector, path: &str, text: &str) -> Vec<SecretMatch> {
    detector.scan(text.as_bytes(), Source { path, commit: None })
}

/// A GitHub-format token with a correct checksum, built from a 30-character payload.
pub fn github_token(prefix: &str, payload: &str) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut value = crc32fast::hash(payload.as_bytes());
    let mut digits = [b'0'; 6];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    format!("{prefix}{payload}{}", String::from_utf8_lossy(&digits))
}
