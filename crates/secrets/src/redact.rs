//! The only form in which a secret leaves the scanner.
//!
//! A short prefix is kept when the secret is long enough that the prefix
//! says which credential it is (`ghp_`, `AKIA`, `sk_live`) without helping
//! anyone guess the rest; the length is hidden behind a fixed mask.

const MASK: &str = "********";

/// Below this length nothing of the secret is shown.
const MIN_LEN_FOR_PREFIX: usize = 16;
const PREFIX_CHARS: usize = 4;

pub fn redact(secret: &str) -> String {
    if let Some(header) = pem_header(secret) {
        return format!("{header} {MASK}");
    }
    let count = secret.chars().count();
    if count < MIN_LEN_FOR_PREFIX {
        return MASK.to_string();
    }
    let prefix: String = secret.chars().take(PREFIX_CHARS).collect();
    format!("{prefix}{MASK}")
}

/// `-----BEGIN RSA PRIVATE KEY-----` says what the block is and nothing of the key.
fn pem_header(secret: &str) -> Option<&str> {
    let first = secret.lines().next()?.trim();
    (first.starts_with("-----BEGIN") && first.ends_with("-----") && first.len() < 80)
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secrets_keep_a_prefix_short_ones_nothing() {
        assert_eq!(
            redact("ghp_4Fq9ZbVn0rT2kLm8XwYp1QsA7eHcJd3uGi5o"),
            "ghp_********"
        );
        assert_eq!(redact("hunter2hunter2"), "********");
        assert_eq!(
            redact(
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
            ),
            "-----BEGIN RSA PRIVATE KEY----- ********"
        );
    }

    #[test]
    fn redaction_never_contains_more_than_the_prefix() {
        let secret = "sk_live_51HqLyjWDarjtT1zdp7dcXyz";
        let shown = redact(secret);
        assert!(!shown.contains(&secret[4..]));
        assert!(shown.len() < secret.len());
    }
}
