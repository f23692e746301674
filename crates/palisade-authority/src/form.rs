//! Request bodies of the token endpoints: strict `application/x-www-form-urlencoded`
//! parsing (duplicates refused) and client credentials in `Authorization: Basic`.

use crate::error::AadError;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;

/// The request form, with duplicates refused.
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body (any other content type reads
    /// as empty); malformed bodies and duplicate parameters are AADSTS9002313.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, AadError> {
        let is_form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !is_form {
            return Ok(Self(HashMap::new()));
        }
        if !is_well_formed_form(body) {
            return Err(AadError::malformed(
                "The request body is not valid application/x-www-form-urlencoded.",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            AadError::malformed("The request body is not valid application/x-www-form-urlencoded.")
        })?;
        Self::from_pairs(pairs)
    }

    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter (AADSTS900144 when absent).
    pub fn require(&self, name: &str) -> Result<&str, AadError> {
        self.get(name).ok_or_else(|| AadError::missing(name))
    }
}

/// Whether a form body is strictly well formed: every `%` starts a two-digit hex escape and
/// every decoded value is UTF-8 (the lenient parser would silently replace both).
pub fn is_well_formed_form(body: &[u8]) -> bool {
    body.split(|b| *b == b'&').all(|pair| {
        let mut decoded = Vec::with_capacity(pair.len());
        let mut i = 0;
        while i < pair.len() {
            match pair[i] {
                b'%' => {
                    let hex = pair
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => decoded.push(b),
                        None => return false,
                    }
                    i += 3;
                }
                b'+' => {
                    decoded.push(b' ');
                    i += 1;
                }
                b => {
                    decoded.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&decoded).is_ok()
    })
}

/// Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: both form-encoded).
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, AadError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        // RFC 6750 §3.1 / RFC 6749 §5.2: a repeated parameter is invalid_request.
        return Err(AadError::malformed(
            "The request carries more than one Authorization header.",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AadError::malformed("The Authorization header is not valid."))?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            AadError::malformed("The Basic authorization header is not valid base64.")
        })?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| AadError::malformed("The Basic authorization header has no ':'."))?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
            .unwrap_or_else(|| s.to_string())
    };
    Ok(Some((unescape(id), unescape(secret))))
}

impl Form {
    /// A form without parameters.
    pub fn empty() -> Self {
        Self(HashMap::new())
    }

    /// A form from pairs (query strings, tests), duplicates refused.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, AadError> {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(AadError::malformed(&format!(
                    "The parameter '{k}' is given more than once."
                )));
            }
        }
        Ok(Self(map))
    }

    /// The raw value, even if empty.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn malformed_forms_are_detected() {
        assert!(is_well_formed_form(b"a=b&c=d%20e+f"));
        assert!(is_well_formed_form(b""));
        assert!(!is_well_formed_form(b"a=%zz"));
        assert!(!is_well_formed_form(b"a=%4"));
        assert!(!is_well_formed_form(b"a=%ff%fe"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = STANDARD.encode("abc:s%2Bcret~x");
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("abc".into(), "s+cret~x".into()))
        );
        h.insert("authorization", HeaderValue::from_static("Basic !!!"));
        assert!(basic_credentials(&h).is_err());
    }
}
