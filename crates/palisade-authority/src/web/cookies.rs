//! The browser's cookies and the forms' CSRF tokens.
//!
//! - `palisade_browser`: a random id per browser, set on the first page. Flows are bound to
//!   its hash, so a flow id stolen from one browser is useless in another.
//! - `palisade_session`: the sign-in session (SSO) secret; the store has only its hash.
//! - CSRF: every form carries `SHA-256("csrf" ‖ browser id ‖ flow id)`, which only the
//!   browser holding the (HttpOnly) cookie can have received (double submit, stateless).
//!
//! Cookies are `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` unless the server runs
//! on plain HTTP.

use crate::response::opaque;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The browser id cookie.
pub const BROWSER_COOKIE: &str = "palisade_browser";
/// The session cookie.
pub const SESSION_COOKIE: &str = "palisade_session";

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 256 && v.bytes().all(|b| b.is_ascii_graphic()))
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        s.push_str("; Secure");
    }
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The browser id: the cookie's, or a new one (`true`: it must be set).
pub fn browser_id(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, BROWSER_COOKIE) {
        Some(id) if id.len() >= 32 => (id, false),
        _ => (opaque(32), true),
    }
}

/// SHA-256 of a browser id, as flows store it.
pub fn browser_hash(browser: &str) -> Vec<u8> {
    Sha256::digest(format!("browser:{browser}")).to_vec()
}

/// The CSRF token of a form of `flow` in `browser`.
pub fn csrf_token(browser: &str, flow: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("csrf:{browser}:{flow}")))
}

/// Checks a submitted CSRF token in constant time.
pub fn csrf_ok(browser: &str, flow: &str, presented: &str) -> bool {
    csrf_token(browser, flow)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_csrf() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "a=1; palisade_browser=abcdefghijklmnopqrstuvwxyz0123456789; b=2",
            ),
        );
        assert_eq!(
            cookie(&h, BROWSER_COOKIE).as_deref(),
            Some("abcdefghijklmnopqrstuvwxyz0123456789")
        );
        assert_eq!(cookie(&h, "missing"), None);
        let (id, new) = browser_id(&h);
        assert!(!new);
        let t = csrf_token(&id, "flow1");
        assert!(csrf_ok(&id, "flow1", &t));
        assert!(!csrf_ok(&id, "flow2", &t));
        assert!(!csrf_ok(
            "other-browser-id-0000000000000000000",
            "flow1",
            &t
        ));
        let c = set_cookie(SESSION_COOKIE, "x", true, None);
        assert_eq!(
            c.to_str().unwrap(),
            "palisade_session=x; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
