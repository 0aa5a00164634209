//! The second factor: RFC 6238 TOTP codes (SHA-1, 6 digits, 30-second
//! steps, one step of clock skew either way, as every authenticator app
//! expects), the enrolment QR code as inline SVG, and one-time recovery codes.
//!
//! Seeds are 160 random bits (RFC 4226's recommendation), stored only
//! sealed by the vault for the record `totp:<user id>`. A code is accepted
//! once: the store keeps the last accepted time step and refuses that step
//! or any earlier one. Recovery codes are 80 random bits shown once and
//! stored as their SHA-256 (a slow hash adds nothing to 80 random bits).

use chrono::{DateTime, Utc};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use crate::WebError;

/// Issuer name shown by authenticator apps.
pub const ISSUER: &str = "Palisade";
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// Seed length in bytes (160 bits).
const SEED_BYTES: usize = 20;
const STEP_SECONDS: u64 = 30;

/// The vault context a user's seed is sealed for.
pub fn seed_context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

/// A new random seed.
pub fn new_seed() -> Result<Zeroizing<Vec<u8>>, WebError> {
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    getrandom::fill(&mut seed).map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
    Ok(seed)
}

fn totp(seed: &[u8]) -> Result<Totp, WebError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(seed)
        .build()
        .map_err(|e| WebError::internal(format!("TOTP parameters: {e}")))
}

/// The time step of `code` if it is valid at `now` (within one step either
/// way); the caller refuses steps already used. Spaces in the code are ignored.
pub fn check_code(seed: &[u8], code: &str, now: DateTime<Utc>) -> Result<Option<i64>, WebError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Ok(time) = u64::try_from(now.timestamp()) else {
        return Ok(None);
    };
    Ok(totp(seed)?
        .check(&code, time)
        .and_then(|step| i64::try_from(step).ok()))
}

/// The code of `seed` at `at` (for tests and the CLI's own checks).
pub fn code_at(seed: &[u8], at: DateTime<Utc>) -> Result<String, WebError> {
    let time = u64::try_from(at.timestamp()).unwrap_or(0);
    Ok(totp(seed)?.generate(time).to_string())
}

/// The seed in base32 (RFC 4648, no padding), for typing into an app.
pub fn seed_base32(seed: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(totp_rs::Secret::from(seed).to_base32())
}

/// The `otpauth://` URI authenticator apps read from the QR code.
pub fn otpauth_uri(username: &str, seed: &[u8]) -> Zeroizing<String> {
    let label = format!("{ISSUER}:{username}");
    Zeroizing::new(format!(
        "otpauth://totp/{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        percent_encode(&label),
        seed_base32(seed).as_str()
    ))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR code of `uri` as an SVG element (no script, no external reference),
/// for embedding in the page.
pub fn qr_svg(uri: &str) -> Result<String, WebError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| WebError::internal(format!("QR code: {e}")))?;
    let document = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML, the XML declaration before the element has no place.
    let start = document.find("<svg").unwrap_or(0);
    Ok(document[start..].to_string())
}

const CODE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// New recovery codes (`xxxx-xxxx-xxxx-xxxx`, 80 bits each) and their hashes.
pub fn new_recovery_codes() -> Result<(Vec<String>, Vec<String>), WebError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| WebError::internal(format!("no randomness: {e}")))?;
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| CODE_ALPHABET[usize::from(b & 31)] as char)
            .collect();
        let code = chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        codes.push(code);
    }
    let hashes = codes.iter().filter_map(|c| recovery_code_hash(c)).collect();
    Ok((codes, hashes))
}

/// The stored form of a recovery code as typed (case, spaces and dashes
/// ignored); `None` if it cannot be one.
pub fn recovery_code_hash(typed: &str) -> Option<String> {
    let normal: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if normal.len() != 16 || !normal.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    Some(hex::encode(Sha256::digest(format!("recovery:{normal}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rfc_6238_test_vector_sha1() {
        // RFC 6238 appendix B: seed "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let seed = b"12345678901234567890";
        let at = Utc.timestamp_opt(59, 0).unwrap();
        assert_eq!(code_at(seed, at).unwrap(), "287082");
        let at = Utc.timestamp_opt(1_111_111_109, 0).unwrap();
        assert_eq!(code_at(seed, at).unwrap(), "081804");
        assert_eq!(check_code(seed, "081 804", at).unwrap(), Some(37_037_036));
        // One step of skew either way, not two.
        let later = at + chrono::Duration::seconds(30);
        assert!(check_code(seed, "081804", later).unwrap().is_some());
        let much_later = at + chrono::Duration::seconds(90);
        assert_eq!(check_code(seed, "081804", much_later).unwrap(), None);
        for bad in ["", "12345", "1234567", "abcdef", "０８１８０４"] {
            assert_eq!(check_code(seed, bad, at).unwrap(), None, "{bad}");
        }
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_seed_and_no_script() {
        let seed = b"12345678901234567890";
        let uri = otpauth_uri("alice@example.com", seed);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Palisade%3Aalice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Palisade&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(!svg.contains("<script") && !svg.contains("href"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_their_hash_however_typed() {
        let (codes, hashes) = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&typed).as_ref(), Some(&hashes[0]));
        assert_eq!(recovery_code_hash("not a code"), None);
        assert_eq!(recovery_code_hash("123456"), None);
    }
}
