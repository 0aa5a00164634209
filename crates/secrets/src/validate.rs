//! Structural validation of candidate secrets where the format allows it:
//! checksums of modern token formats, key sizes, decodable encodings. A
//! value that fails is not a real credential of that kind, whatever it looks like.

use base64::Engine as _;

use crate::config::ValidatorName;

pub fn is_valid(validator: ValidatorName, secret: &str) -> bool {
    match validator {
        ValidatorName::GithubChecksum => github_checksum(secret),
        ValidatorName::AwsAccessKeyId => aws_access_key_id(secret),
        ValidatorName::Jwt => jwt(secret),
        ValidatorName::PrivateKey => private_key(secret),
        ValidatorName::Base64 => decode_base64(secret.trim()).is_some(),
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens:
/// a 4-character prefix, 30 random base62 characters, then the CRC32 of
/// those 30 characters in base62, left-padded to 6.
fn github_checksum(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.len() != 40 || !bytes[4..].iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (payload, checksum) = (&bytes[4..34], &bytes[34..]);
    base62_fixed(crc32fast::hash(payload), 6).as_bytes() == checksum
}

fn base62_fixed(mut value: u32, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// Access key ids are a 4-character type prefix and 16 base32 (A-Z, 2-7) characters.
fn aws_access_key_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 20
        && bytes[..4]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && bytes[4..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(b))
}

fn jwt(token: &str) -> bool {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(header) = decode_base64(header) else {
        return false;
    };
    let header_names_algorithm = serde_json::from_slice::<serde_json::Value>(&header)
        .ok()
        .and_then(|value| value.get("alg").map(|alg| alg.is_string()))
        .unwrap_or(false);
    header_names_algorithm && decode_base64(payload).is_some()
}

/// The smallest real private keys (Ed25519 in OpenSSH form, EC P-256) encode
/// to well over 64 bytes; shorter bodies are truncated examples.
const MIN_PRIVATE_KEY_BYTES: usize = 64;

fn private_key(block: &str) -> bool {
    let body: String = block
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.contains(':'))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    decode_base64(&body).is_some_and(|decoded| decoded.len() >= MIN_PRIVATE_KEY_BYTES)
}

/// Standard or URL-safe base64, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a token with a correct checksum, as GitHub issues them.
    fn token(prefix: &str, payload: &str) -> String {
        format!(
            "{prefix}{payload}{}",
            base62_fixed(crc32fast::hash(payload.as_bytes()), 6)
        )
    }

    #[test]
    fn github_checksum_accepts_issued_and_rejects_altered_tokens() {
        let good = token("ghp_", "Z7k2mQ9vX4pL8nR3tW6yB1cF5hJ0dG");
        assert!(github_checksum(&good));
        let mut altered = good.clone().into_bytes();
        altered[10] = if altered[10] == b'a' { b'b' } else { b'a' };
        assert!(!github_checksum(&String::from_utf8(altered).unwrap()));
        assert!(!github_checksum("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
        assert!(github_checksum(&token(
            "npm_",
            "a8Bc9De0Fg1Hi2Jk3Lm4No5Pq6Rs7T"
        )));
    }

    #[test]
    fn base62_pads_to_width() {
        assert_eq!(base62_fixed(0, 6), "000000");
        assert_eq!(base62_fixed(61, 6), "00000z");
        assert_eq!(base62_fixed(62, 6), "000010");
    }

    #[test]
    fn aws_access_key_ids() {
        assert!(aws_access_key_id("AKIAZ3MSJV4WWNKWW5FG"));
        assert!(!aws_access_key_id("AKIAZ3MSJV4WWNKWW5F0")); // 0 is not base32
        assert!(!aws_access_key_id("AKIAZ3MSJV4WWNKWW5F"));
    }

    #[test]
    fn jwts_need_a_json_header_with_an_algorithm() {
        let valid = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(jwt(valid));
        assert!(!jwt("eyJub3RhbGciOjF9.eyJzdWIiOiIxIn0.abc"));
        assert!(!jwt("eyJhbGci.garbage!!.x"));
    }

    #[test]
    fn private_keys_need_a_real_body() {
        let body = base64::engine::general_purpose::STANDARD.encode([7u8; 120]);
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----");
        assert!(private_key(&key));
        assert!(!private_key(
            "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----"
        ));
    }
}
