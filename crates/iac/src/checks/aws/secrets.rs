//! Recognising hard-coded secrets in plain configuration values (Lambda
//! environment variables and the like). Values are only inspected, never
//! copied into findings: callers show `NAME = "****"`.

use std::sync::LazyLock;

use regex::Regex;

/// Name fragments that mark a variable as holding a secret.
const SECRET_NAME_PARTS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "AUTH_KEY",
    "CLIENT_SECRET",
    "CREDENTIAL",
];

/// Name endings that say the value points to a secret rather than being one
/// (`DB_PASSWORD_SECRET_ARN`, `TOKEN_PARAMETER_NAME`).
const POINTER_SUFFIXES: &[&str] = &[
    "_ARN",
    "_NAME",
    "_ID",
    "_PATH",
    "_PARAM",
    "_PARAMETER",
    "_KEY_ID",
    "_URL",
    "_URI",
    "_FILE",
    "_TTL",
    "_LENGTH",
    "_EXPIRY",
    "_EXPIRATION",
    "_TIMEOUT",
    "_HEADER",
    "_ENABLED",
    "_TYPE",
    "_REGION",
    "_VERSION",
];

static AWS_ACCESS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b").expect("valid regex"));
static PRIVATE_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----").expect("valid regex"));
static KNOWN_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20})")
        .expect("valid regex")
});

/// Whether a variable name suggests a secret (`DB_PASSWORD`, `stripeApiKey`).
pub(crate) fn secret_like_name(name: &str) -> bool {
    let upper = camel_to_snake(name);
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
        && !POINTER_SUFFIXES
            .iter()
            .any(|suffix| upper.ends_with(suffix))
}

fn camel_to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c == '-' || c == '.' {
            '_'
        } else {
            c.to_ascii_uppercase()
        });
    }
    out
}

/// Whether a value is a placeholder, a reference or a non-secret setting
/// rather than a literal secret.
pub(crate) fn placeholder(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    v.len() < 6
        || v.contains("${")
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || lower.starts_with("arn:")
        || lower.starts_with("ssm:")
        || lower.starts_with("secretsmanager:")
        || lower.starts_with("/")
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || v.parse::<f64>().is_ok()
        || matches!(
            lower.as_str(),
            "true" | "false" | "none" | "null" | "undefined"
        )
        || [
            "changeme",
            "change_me",
            "replace",
            "placeholder",
            "example",
            "dummy",
            "xxxx",
            "todo",
            "your_",
            "your-",
            "insert",
        ]
        .iter()
        .any(|p| lower.contains(p))
        || v.chars().all(|c| c == v.chars().next().unwrap_or('x'))
}

/// Whether a value is itself recognisably a credential (an AWS access key
/// id, a private key, a well-known token format), whatever its name.
pub(crate) fn credential_pattern(value: &str) -> bool {
    AWS_ACCESS_KEY.is_match(value) || PRIVATE_KEY.is_match(value) || KNOWN_TOKEN.is_match(value)
}

/// Whether `name = value` is a hard-coded secret.
pub(crate) fn hardcoded_secret(name: &str, value: &str) -> bool {
    credential_pattern(value) || (secret_like_name(name) && !placeholder(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert!(hardcoded_secret("DB_PASSWORD", "hunter2hunter2"));
        assert!(hardcoded_secret("stripeApiKey", "abc123def456"));
        assert!(!hardcoded_secret(
            "DB_PASSWORD_SECRET_ARN",
            "arn:aws:secretsmanager:..."
        ));
        assert!(!hardcoded_secret("DB_PASSWORD", "${var.db_password}"));
        assert!(!hardcoded_secret("TOKEN_TTL", "3600"));
        assert!(!hardcoded_secret("LOG_LEVEL", "debug-verbose"));
        assert!(hardcoded_secret("SOME_VALUE", "AKIAIOSFODNN7EXAMPLE"));
    }
}
