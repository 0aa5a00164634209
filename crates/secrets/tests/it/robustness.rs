//! Bad input never hurts: arbitrary bytes, invalid UTF-8, huge lines.

use palisade_secrets::Source;
use proptest::prelude::*;

use crate::builtin_detector;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let detector = builtin_detector();
        let _ = detector.scan(&bytes, Source { path: "x", commit: None });
    }

    #[test]
    fn keyword_soup_never_panics(words in proptest::collection::vec(
        prop_oneof![
            Just("password".to_string()), Just("=".to_string()), Just("\"".to_string()),
            Just("\n".to_string()), Just("-----BEGIN RSA PRIVATE KEY-----".to_string()),
            Just("ghp_".to_string()), Just("AKIA".to_string()), Just("token:".to_string()),
            "[A-Za-z0-9+/]{1,40}", Just("\u{feff}é€".to_string()), Just("\r\n".to_string()),
        ], 0..200)) {
        let detector = builtin_detector();
        let text = words.join("");
        let _ = detector.scan(text.as_bytes(), Source { path: "x", commit: None });
    }
}

#[test]
fn invalid_utf8_around_a_secret_still_finds_it() {
    let detector = builtin_detector();
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    let mut bytes = vec![0xff, 0xfe, b'\n'];
    bytes.extend_from_slice(format!("t = \"{token}\" ").as_bytes());
    bytes.extend_from_slice(&[0xc3, 0x28, b'\n']);
    let found = detector.scan(
        &bytes,
        Source {
            path: "x",
            commit: None,
        },
    );
    assert_eq!(found.len(), 1);
}

#[test]
fn a_huge_minified_line_full_of_keywords_is_linear() {
    // 8 MB on one line, a keyword every 16 bytes: a scanner that re-reads the
    // line per keyword would do ~4e11 byte reads here and never finish.
    let detector = builtin_detector();
    let mut line = String::with_capacity(8 << 20);
    while line.len() < 8 << 20 {
        line.push_str("password=abc;x,");
    }
    let token = crate::github_token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
    line.push_str(&format!("t=\"{token}\""));
    let found = detector.scan(
        line.as_bytes(),
        Source {
            path: "bundle.min.js",
            commit: None,
        },
    );
    assert_eq!(found.len(), 1);
}

#[test]
fn binary_content_is_recognised() {
    assert!(palisade_secrets::is_binary(b"\x7fELF\x02\x01\x01\0\0\0"));
    assert!(!palisade_secrets::is_binary("plain text é".as_bytes()));
}
