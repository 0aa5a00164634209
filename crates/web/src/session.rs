//! Session and pre-session cookies.
//!
//! The session id is 256 random bits held by the browser only; the store
//! keeps its SHA-256. Under HTTPS the cookie is
//! `__Host-palisade_session; Secure; HttpOnly; SameSite=Lax; Path=/`: the
//! `__Host-` prefix makes browsers refuse it unless it is Secure, host-only and
//! for `/`, so a sibling subdomain cannot plant or shadow it. Browsers drop
//! `Secure` cookies sent over plain HTTP, so for plain-HTTP development on
//! loopback (`palisade serve` without TLS) the cookie is `palisade_session`
//! without `Secure`, still HttpOnly and SameSite=Lax.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

use crate::state::WebConfig;

/// Names of the session cookie.
const SESSION_SECURE: &str = "__Host-palisade_session";
const SESSION_PLAIN: &str = "palisade_session";
/// Names of the pre-session CSRF cookie (sign-in and enrolment forms).
const PRE_SECURE: &str = "__Host-palisade_pre";
const PRE_PLAIN: &str = "palisade_pre";

pub fn session_cookie_name(config: &WebConfig) -> &'static str {
    if config.secure_cookies {
        SESSION_SECURE
    } else {
        SESSION_PLAIN
    }
}

pub fn pre_cookie_name(config: &WebConfig) -> &'static str {
    if config.secure_cookies {
        PRE_SECURE
    } else {
        PRE_PLAIN
    }
}

/// The value of cookie `name` in the request, if it looks like one of our tokens.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A `Set-Cookie` value; `max_age` `None` makes a browser-session cookie,
/// `Some(0)` deletes it.
pub(crate) fn cookie(
    config: &WebConfig,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if config.secure_cookies {
        text.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    // Names and values are our own ASCII tokens.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn set_session_cookie(headers: &mut HeaderMap, config: &WebConfig, id: &str) {
    let name = session_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, id, None));
}

pub fn clear_session_cookie(headers: &mut HeaderMap, config: &WebConfig) {
    let name = session_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, "", Some(0)));
}

pub fn set_pre_cookie(headers: &mut HeaderMap, config: &WebConfig, token: &str) {
    let name = pre_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, token, Some(3600)));
}

pub fn clear_pre_cookie(headers: &mut HeaderMap, config: &WebConfig) {
    let name = pre_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, "", Some(0)));
}

/// Names of the half-authenticated pre-session cookie (passphrase done,
/// second factor due).
const MFA_SECURE: &str = "__Host-palisade_mfa";
const MFA_PLAIN: &str = "palisade_mfa";

pub fn mfa_cookie_name(config: &WebConfig) -> &'static str {
    if config.secure_cookies {
        MFA_SECURE
    } else {
        MFA_PLAIN
    }
}

pub fn set_mfa_cookie(headers: &mut HeaderMap, config: &WebConfig, id: &str, max_age: i64) {
    let name = mfa_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, id, Some(max_age)));
}

pub fn clear_mfa_cookie(headers: &mut HeaderMap, config: &WebConfig) {
    let name = mfa_cookie_name(config);
    headers.append(SET_COOKIE, cookie(config, name, "", Some(0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_use_the_host_prefix_and_all_attributes() {
        let mut headers = HeaderMap::new();
        set_session_cookie(&mut headers, &WebConfig::default(), &"a".repeat(64));
        let value = headers.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(value.starts_with("__Host-palisade_session=aaaa"), "{value}");
        for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(value.contains(attribute), "{value}");
        }
        assert!(!value.contains("Domain"), "{value}");
    }

    #[test]
    fn only_well_formed_tokens_are_read() {
        let mut headers = HeaderMap::new();
        let token = "b".repeat(64);
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; palisade_session={token}")).unwrap(),
        );
        assert_eq!(
            read_cookie(&headers, "palisade_session"),
            Some(token.as_str())
        );
        headers.insert(COOKIE, HeaderValue::from_static("palisade_session=../etc"));
        assert_eq!(read_cookie(&headers, "palisade_session"), None);
    }
}
