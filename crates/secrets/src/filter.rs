//! What makes a regex match not a secret: placeholders, documentation
//! examples, hashes and identifiers, low entropy.
//!
//! These run after a rule matched, so they only see candidates; each is a
//! cheap test on a short string.

/// Shannon entropy of `bytes` in bits per symbol.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a stand-in rather than a credential.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "dummy",
    "fake",
    "sample",
    "redacted",
    "insert",
    "replace_me",
    "replaceme",
    "xxxx",
    "****",
    "....",
    "${",
    "{{",
    "%(",
    "<%",
];

/// Whether a candidate secret is a placeholder, a template reference or a
/// made-up value, whatever rule matched it.
pub fn is_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|word| lower.contains(word)) {
        return true;
    }
    let trimmed = secret.trim_matches(|c| c == '"' || c == '\'');
    if trimmed.starts_with('<') && trimmed.ends_with('>') {
        return true;
    }
    if trimmed.starts_with('$') || trimmed.starts_with('%') && trimmed.ends_with('%') {
        return true;
    }
    is_single_repeated(trimmed) || is_sequence(trimmed)
}

fn is_single_repeated(value: &str) -> bool {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => value.len() > 3 && chars.all(|c| c == first),
        None => true,
    }
}

/// `1234567890`, `abcdefgh`, `0123456789abcdef` ...: keyboard filler.
fn is_sequence(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 6
        && bytes.windows(2).all(|w| {
            w[1] == w[0].wrapping_add(1) || (w[0] == b'9' && matches!(w[1], b'0' | b'a' | b'A'))
        })
}

/// Extra tests for rules that match any high-entropy value by its name
/// (`password = ...`): hashes, ids and code are not secrets.
pub fn is_generic_false_positive(secret: &str) -> bool {
    let value = secret.trim_matches(|c| c == '"' || c == '\'');
    is_hex_digest(value)
        || is_uuid(value)
        || is_integrity_hash(value)
        || looks_like_code(value)
        || is_single_case_word(value)
        || is_mostly_symbols(value)
        || is_signature_scope(value)
        // The right side of a comparison (`eOnePass==ONEPASS_OFF`).
        || value.starts_with('=')
}

/// Half or more punctuation (`%20!"$%&'()*+`: escaping tests, separators):
/// secrets people and generators make are mostly letters and digits.
fn is_mostly_symbols(value: &str) -> bool {
    let alphanumeric = value.bytes().filter(u8::is_ascii_alphanumeric).count();
    alphanumeric * 2 <= value.len()
}

/// The credential scope of a SigV4-signed URL (`X-Amz-Credential=AKID/date/
/// region/service/aws4_request`): a key id and a date, nothing secret.
fn is_signature_scope(value: &str) -> bool {
    value.contains("aws4_request")
}

/// A hex string of a digest's length (MD5, SHA-1, SHA-256, SHA-512, git ids).
fn is_hex_digest(value: &str) -> bool {
    matches!(value.len(), 32 | 40 | 56 | 64 | 96 | 128)
        && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Subresource-integrity and lockfile hashes: `sha512-...`, go.sum `h1:...`.
fn is_integrity_hash(value: &str) -> bool {
    ["sha1-", "sha256-", "sha384-", "sha512-", "h1:", "sha256:"]
        .iter()
        .any(|prefix| value.starts_with(prefix))
}

/// A value that is an expression rather than a literal: a call, an attribute
/// chain, an environment lookup, a type, a chained assignment.
fn looks_like_code(value: &str) -> bool {
    is_call(value)
        || value.contains("process.env")
        || value.contains("os.environ")
        || value.contains("getenv")
        || value.contains("::")
        || value.contains("->")
        || is_dotted_identifier(value)
        // A Sphinx cross-reference in a docstring: `:vartype x: ~pkg.module.Type`.
        || value.strip_prefix('~').is_some_and(is_dotted_identifier)
        || is_generic_type(value)
        || is_chained_assignment(value)
        // A path or URL prefix, joined to something at run time.
        || value.ends_with('/')
}

/// `list[SomeModel]`, `Optional[str]`, `dict(str, int)`: a type named in
/// generated code or documentation.
fn is_generic_type(value: &str) -> bool {
    let Some(open) = value.find('[') else {
        return false;
    };
    open > 0
        && value.ends_with(']')
        && value[..open]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && value[open + 1..value.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_., []".contains(&b))
}

/// `this.a=this.b=null` in minified code: names joined by `=`. Base64
/// padding (`...==` at the end) is not this: every part must be a name.
fn is_chained_assignment(value: &str) -> bool {
    value.contains('=')
        && value.split('=').all(|part| {
            part.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && (is_dotted_identifier(part)
                    || part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        })
}

/// A value that spells its own name (`'bgp_md5_auth_key': 'bgpMd5AuthKey'`,
/// `password: "Password"`): an attribute map or a label, not a secret.
pub fn value_names_itself(whole_match: &[u8], secret: &str) -> bool {
    let letters = |text: &[u8]| -> Vec<u8> {
        text.iter()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect()
    };
    let value = letters(secret.as_bytes());
    let Some(at) = memchr::memmem::find(whole_match, secret.as_bytes()) else {
        return false;
    };
    !value.is_empty() && letters(&whole_match[..at]).ends_with(&value)
}

/// `get_password()`, `os.getenv("X")`: a name, then an argument list. A `(`
/// elsewhere is just a character (Django secret keys are full of them).
fn is_call(value: &str) -> bool {
    value.find('(').is_some_and(|open| {
        open > 0
            && value[..open]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b':')
            && value.ends_with(')')
    })
}

fn is_dotted_identifier(value: &str) -> bool {
    value.contains('.')
        && value.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        && value
            .split('.')
            .all(|part| part.bytes().next().is_some_and(|b| !b.is_ascii_digit()))
}

/// `thisismypassword`, `SOME_CONSTANT_NAME`: words, not random characters.
fn is_single_case_word(value: &str) -> bool {
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let all_lower_or_sep = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
    let all_upper_or_sep = value
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-');
    !has_digit && (all_lower_or_sep || all_upper_or_sep)
}

/// A line that says its values are not real (test fixtures, docs).
pub fn line_marks_fake(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["fake", "dummy", "not a real", "not-a-real", "not_a_real"]
        .iter()
        .any(|marker| lower.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_random_strings() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY") > 4.0);
    }

    #[test]
    fn placeholders_are_recognised() {
        for value in [
            "AKIAIOSFODNN7EXAMPLE",
            "changeme",
            "${GITHUB_TOKEN}",
            "<your-api-key>",
            "xxxxxxxxxxxxxxxx",
            "1234567890",
            "abcdefghijkl",
            "{{ .Values.password }}",
            "%DB_PASSWORD%",
            "$DB_PASSWORD",
        ] {
            assert!(is_placeholder(value), "{value}");
        }
        for value in [
            "wJalrXUtnFEMIK7MDENGbPxRfiCYzk3",
            "ghp_4Fq9ZbVn0rT2kLm8XwYp1QsA7eHcJd3uGi5o",
        ] {
            assert!(!is_placeholder(value), "{value}");
        }
    }

    #[test]
    fn generic_false_positives() {
        for value in [
            "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "123e4567-e89b-12d3-a456-426614174000",
            "sha512-abc+/def==",
            "config.database.password",
            "os.environ['DB_PASSWORD']",
            "get_password()",
            "thisisnotapassword",
            "DATABASE_PASSWORD",
            "%20!\"$%&'()*+,-.;<=>",
            "akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request",
            "=ONEPASS_MULTI_2",
            "~azure.mgmt.cognitiveservices.models.ApiKeys",
            "list[UpdateSourceVolumeToDestinationEncryptionKeyMappingDetails]",
            "this.lastTokStartLoc=null",
            "resource/v2.1/",
        ] {
            assert!(is_generic_false_positive(value), "{value}");
        }
        for value in [
            "s3cr3t-P4ssw0rd-9f8e7d",
            "Zk8#pQ2!vL9x",
            "django-insecure-l6arl!2dsi1%(kacpzbmw*4^^zi5c=7jvgdtc+f_g",
            "dGhpcyBpcyBub3QgYSBrZXk=",
            "Zk8xQ2pL9vTa==",
        ] {
            assert!(!is_generic_false_positive(value), "{value}");
        }
    }

    #[test]
    fn values_that_spell_their_name() {
        assert!(value_names_itself(
            b"'bgp_md5_auth_key': 'bgpMd5AuthKey'",
            "bgpMd5AuthKey"
        ));
        assert!(!value_names_itself(
            b"'bgp_md5_auth_key': 'Zk8#pQ2!vL9x'",
            "Zk8#pQ2!vL9x"
        ));
    }
}
