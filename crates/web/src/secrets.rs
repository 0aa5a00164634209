//! Random tokens, their stored hashes, and constant-time comparison.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::WebError;

/// 256 random bits as 64 hex characters: session ids, CSRF and link tokens.
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// What the store keeps instead of a token: its hex SHA-256. A 256-bit random
/// token needs no salt or slow hash.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The hash of a labelled key (`user:alice`), for throttle counters.
pub fn key_hash(label: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    hex::encode(hasher.finalize())
}

/// Equality that takes the same time wherever the strings differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashes_differ_from_them() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert_ne!(key_hash("user", "a"), key_hash("ip", "a"));
    }
}
