//! What the token endpoints answer with: the no-store JSON response, the lifetime of
//! the tokens they issue, and the opaque random values used for codes and tokens.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;

/// Token lifetime bounds in seconds (60 and 90 minutes).
pub const LIFETIME_SECONDS: (i64, i64) = (3600, 5400);

/// `len` random bytes, base64url (opaque claim values, codes, tokens).
pub fn opaque(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill(bytes.as_mut_slice());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON token response with Entra's no-store headers.
pub fn token_json(body: impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    let h = response.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
