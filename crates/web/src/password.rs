//! Passphrases: the policy (12+ characters, not a common password, no
//! composition rules, as NIST SP 800-63B and OWASP ASVS V2.1 advise) and
//! Argon2id hashing with OWASP's parameters.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::error::WebError;

/// Shortest passphrase accepted, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Longest passphrase accepted, in characters (bounds the hashing work).
pub const MAX_PASSPHRASE_CHARS: usize = 256;

/// Common passwords of 12+ characters (shorter ones fail the length rule),
/// lower-case, one a line.
const BLOCKLIST: &str = include_str!("../data/common-passwords.txt");

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashingParams {
    /// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        HashingParams {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashingParams {
    fn argon2(&self) -> Result<Argon2<'static>, WebError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| WebError::internal(format!("bad Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Why a passphrase is refused, said to the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    #[error("the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long")]
    TooShort,
    #[error("the passphrase must be at most {MAX_PASSPHRASE_CHARS} characters long")]
    TooLong,
    #[error("this passphrase is one of the most common ones; choose another")]
    Common,
    #[error("the passphrase must not contain the username")]
    ContainsUsername,
}

/// Checks a new passphrase for `username`.
pub fn check_passphrase(passphrase: &str, username: &str) -> Result<(), PassphraseError> {
    let chars = passphrase.chars().count();
    if chars < MIN_PASSPHRASE_CHARS {
        return Err(PassphraseError::TooShort);
    }
    if chars > MAX_PASSPHRASE_CHARS {
        return Err(PassphraseError::TooLong);
    }
    let lower = passphrase.to_lowercase();
    if BLOCKLIST.lines().any(|common| common == lower) || is_one_repeated_unit(&lower) {
        return Err(PassphraseError::Common);
    }
    let username = username.trim().to_lowercase();
    if username.chars().count() >= 3 && lower.contains(&username) {
        return Err(PassphraseError::ContainsUsername);
    }
    Ok(())
}

/// `aaaaaaaaaaaa`, `abcabcabcabc`: one short unit repeated.
fn is_one_repeated_unit(passphrase: &str) -> bool {
    let chars: Vec<char> = passphrase.chars().collect();
    (1..=4).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    })
}

/// Hashes a passphrase to an Argon2id PHC string with a fresh 128-bit salt.
pub fn hash_passphrase(passphrase: &str, params: &HashingParams) -> Result<String, WebError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
    let hash = params
        .argon2()?
        .hash_password_with_salt(passphrase.as_bytes(), &salt)
        .map_err(|e| WebError::internal(format!("cannot hash a passphrase: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `passphrase` matches `phc` (the parameters come from the hash;
/// the comparison of the outputs is constant-time inside argon2). A
/// malformed stored hash never matches.
pub fn verify_passphrase(passphrase: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        tracing::error!("a stored passphrase hash is malformed");
        return false;
    };
    Argon2::default()
        .verify_password(passphrase.as_bytes(), &hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: HashingParams = HashingParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn default_parameters_are_owasps() {
        let hash = hash_passphrase("correct horse battery", &HashingParams::default()).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_passphrase("correct horse battery", &hash));
    }

    #[test]
    fn hashes_verify_only_the_right_passphrase_and_are_salted() {
        let a = hash_passphrase("a long enough passphrase", &FAST).unwrap();
        let b = hash_passphrase("a long enough passphrase", &FAST).unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_passphrase("a long enough passphrase", &a));
        assert!(!verify_passphrase("a long enough passphrasE", &a));
        assert!(!verify_passphrase("anything", "not a phc string"));
    }

    #[test]
    fn policy_is_length_and_blocklist_without_composition_rules() {
        assert_eq!(
            check_passphrase("short", "bob"),
            Err(PassphraseError::TooShort)
        );
        assert_eq!(
            check_passphrase(&"x".repeat(300), "bob"),
            Err(PassphraseError::TooLong)
        );
        assert_eq!(
            check_passphrase("Password1234", "bob"),
            Err(PassphraseError::Common)
        );
        assert_eq!(
            check_passphrase("qwertyuiopasdfgh", "bob"),
            Err(PassphraseError::Common)
        );
        assert_eq!(
            check_passphrase("abcabcabcabc", "bob"),
            Err(PassphraseError::Common)
        );
        assert_eq!(
            check_passphrase("alice-is-the-best", "Alice"),
            Err(PassphraseError::ContainsUsername)
        );
        // All lower-case words, no digits or symbols: fine.
        assert_eq!(check_passphrase("purple turtle under moon", "bob"), Ok(()));
        // Twelve characters counted as characters, not bytes.
        assert_eq!(
            check_passphrase("ééééééééééé", "bob"),
            Err(PassphraseError::TooShort)
        );
    }
}
