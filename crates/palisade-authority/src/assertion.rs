//! Client assertions: a confidential client authenticates with a JWT signed by the private
//! key of a certificate registered on its application (`private_key_jwt`, identity.md §7.2).
//!
//! Accepted, as Entra accepts them and as real clients send them:
//! - `alg` `RS256` or `PS256` (anything else, `none` and `HS256` included, is refused before
//!   any key is used); a `crit` header is refused;
//! - the key named by `x5t#S256` (SHA-256 thumbprint) or `x5t` (SHA-1), in base64url or
//!   standard base64, padded or not (MSAL Python pads `x5t` and sends `x5t#S256` in standard
//!   base64), or by a hex SHA-1 `kid` (ADAL style) [inferred];
//! - `iss` = `sub` = the client id; `aud` the token endpoint of this tenant, v1
//!   (`/oauth2/token`) or v2 (`/oauth2/v2.0/token`), with the tenant as id or any of its
//!   domains, on a host this server answers to;
//! - `exp` required, `nbf` and `iat` optional, as integers or floats, with 5 minutes of
//!   clock skew [inferred: Entra's documented skew for tokens]; no upper bound on the
//!   lifetime (the docs say Entra imposes none);
//! - `jti` required and used once per application while the assertion could still be valid.
//!
//! Errors, all `invalid_client` (401): AADSTS700027 (unsupported `alg`, unknown key, bad
//! signature, expired certificate), AADSTS700024 (outside `nbf`..`exp`), AADSTS50048
//! (`sub` ≠ `iss`), AADSTS700021 (`iss` ≠ `client_id`), AADSTS50027 (malformed, missing
//! claims, wrong `aud`, replayed `jti` [inferred: the reference table's "invalid JWT" code]).
//!
//! [`verify_signed_by_application`] is the signature half alone, for other proofs of
//! possession (Graph's `addKey` proof).

use crate::error::{internal, AadError, ErrorCode};
use crate::request::TokenRequest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_directory::certificates::thumbprint_hex;
use palisade_directory::{parse_certificate, Application, Directory};
use palisade_store::{KeyCredentialRow, Thumbprint};
use serde_json::{Map, Value};

/// `client_assertion_type` for certificate (and federated) credentials.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Allowed clock skew, seconds.
pub const SKEW_SECONDS: i64 = 300;

/// Why an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a compact JWS with JSON header and claims.
    #[error("The client assertion is malformed: {0}")]
    Malformed(String),
    /// `alg` other than RS256/PS256.
    #[error("Client assertion contains an invalid signature. [Reason - The algorithm '{0}' is not supported; use RS256 or PS256.]")]
    Algorithm(String),
    /// No `x5t#S256`, `x5t` or `kid`.
    #[error("Client assertion contains an invalid signature. [Reason - The assertion names no key: send x5t#S256 or x5t.]")]
    NoKeyIdentifier,
    /// The thumbprint names no certificate of the application.
    #[error("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}'. Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'.]")]
    UnknownKey {
        /// Hex thumbprint as presented.
        thumbprint: String,
        /// The application.
        app_id: String,
    },
    /// The signature does not verify with the named certificate.
    #[error("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{0}']")]
    BadSignature(String),
    /// The certificate credential is outside its start/end dates.
    #[error("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{0}']")]
    KeyExpired(String),
}

impl AssertionError {
    fn into_aad(self) -> AadError {
        let code = match self {
            AssertionError::Malformed(_) => ErrorCode::InvalidAssertion,
            _ => ErrorCode::ClientAssertionInvalid,
        };
        AadError::new(code, self.to_string())
    }
}

fn b64(part: &str) -> Option<Vec<u8>> {
    let t = part.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .ok()
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub struct ParsedJws<'a> {
    /// The header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Splits and decodes a compact JWS; refuses a `crit` header.
pub fn parse_jws(jwt: &str) -> Result<ParsedJws<'_>, AssertionError> {
    let malformed = |m: &str| AssertionError::Malformed(m.into());
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let object = |part: &str, what: &str| -> Result<Map<String, Value>, AssertionError> {
        let bytes = b64(part).ok_or_else(|| malformed(&format!("the {what} is not base64url")))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(malformed(&format!("the {what} is not a JSON object"))),
        }
    };
    let header = object(h, "header")?;
    let claims = object(c, "payload")?;
    if header.contains_key("crit") {
        return Err(malformed("the 'crit' header is not supported"));
    }
    let signature = b64(s).ok_or_else(|| malformed("the signature is not base64url"))?;
    let signing_input = &jwt.trim()[..h.len() + 1 + c.len()];
    Ok(ParsedJws {
        header,
        claims,
        signing_input,
        signature,
    })
}

/// The thumbprint an assertion header names its key by.
fn header_thumbprint(header: &Map<String, Value>) -> Result<(Vec<u8>, bool), AssertionError> {
    let text = |k: &str| header.get(k).and_then(Value::as_str);
    if let Some(v) = text("x5t#S256") {
        return match b64(v) {
            Some(b) if b.len() == 32 => Ok((b, true)),
            _ => Err(AssertionError::Malformed(
                "x5t#S256 is not a SHA-256 thumbprint".into(),
            )),
        };
    }
    if let Some(v) = text("x5t") {
        return match b64(v) {
            Some(b) if b.len() == 20 => Ok((b, false)),
            _ => Err(AssertionError::Malformed(
                "x5t is not a SHA-1 thumbprint".into(),
            )),
        };
    }
    if let Some(kid) = text("kid") {
        let hex: Vec<u8> = (0..kid.len())
            .step_by(2)
            .filter_map(|i| {
                kid.get(i..i + 2)
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
            })
            .collect();
        if kid.len() == 40 && hex.len() == 20 {
            return Ok((hex, false));
        }
    }
    Err(AssertionError::NoKeyIdentifier)
}

/// Verifies that `jws` is signed (RS256 or PS256) by a currently valid certificate of
/// `app`; returns that credential. Claims are not checked.
pub async fn verify_signed_by_application(
    directory: &Directory,
    app: &Application,
    jws: &ParsedJws<'_>,
    now: i64,
) -> Result<KeyCredentialRow, AadError> {
    let alg = jws.header.get("alg").and_then(Value::as_str).unwrap_or("");
    let algorithm: &'static signature::RsaParameters = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => return Err(AssertionError::Algorithm(other.to_string()).into_aad()),
    };
    let (thumbprint, sha256) = header_thumbprint(&jws.header).map_err(AssertionError::into_aad)?;
    let hex = thumbprint_hex(&thumbprint);
    let tp = if sha256 {
        Thumbprint::Sha256(&thumbprint)
    } else {
        Thumbprint::Sha1(&thumbprint)
    };
    let key = directory
        .find_assertion_key(&app.id, tp)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            AssertionError::UnknownKey {
                thumbprint: hex.clone(),
                app_id: app.app_id.clone(),
            }
            .into_aad()
        })?;
    let cert = parse_certificate(&key.certificate_der).map_err(internal)?;
    UnparsedPublicKey::new(algorithm, &cert.rsa_public_key)
        .verify(jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| AssertionError::BadSignature(hex.clone()).into_aad())?;
    if now < key.start_at || now > key.end_at {
        return Err(AssertionError::KeyExpired(hex).into_aad());
    }
    Ok(key)
}

fn invalid(message: impl Into<String>) -> AadError {
    AadError::new(ErrorCode::InvalidAssertion, message)
}

/// A numeric claim given as an integer or a float (MSAL Python sends floats).
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AadError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| Some(f.floor() as i64))
            .ok_or_else(|| {
                invalid(format!(
                    "The client assertion's '{name}' claim is not a number."
                ))
            }),
    }
}

/// Whether `aud` names this request's token endpoint.
async fn audience_matches(request: &TokenRequest<'_>, aud: &str) -> Result<bool, AadError> {
    let Some(rest) = aud
        .strip_prefix("https://")
        .or_else(|| aud.strip_prefix("http://"))
    else {
        return Ok(false);
    };
    let rest = rest.trim_end_matches('/');
    let Some((host, path)) = rest.split_once('/') else {
        return Ok(false);
    };
    let host = host.to_ascii_lowercase();
    let request_host = crate::discovery::request_host(request.headers);
    let settings = request.authority.settings();
    let known = host == request_host
        || settings
            .known_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
    if !known {
        return Ok(false);
    }
    let Some((tenant, endpoint)) = path.split_once('/') else {
        return Ok(false);
    };
    if !(endpoint.eq_ignore_ascii_case("oauth2/token")
        || endpoint.eq_ignore_ascii_case("oauth2/v2.0/token"))
    {
        return Ok(false);
    }
    match &request.tenant {
        None => Ok(tenant.eq_ignore_ascii_case(request.tenant_segment)),
        Some(t) => Ok(request
            .authority
            .directory()
            .resolve_tenant(tenant)
            .await
            .map_err(internal)?
            .is_some_and(|named| named.id == t.id)),
    }
}

/// Authenticates `app` by the request's `client_assertion`.
pub async fn verify_client_assertion(
    request: &TokenRequest<'_>,
    app: &Application,
    assertion: &str,
) -> Result<(), AadError> {
    let authority = request.authority;
    let now = authority.clock().now().unix_timestamp();
    let jws = parse_jws(assertion).map_err(AssertionError::into_aad)?;
    let claim = |n: &str| jws.claims.get(n).and_then(Value::as_str);
    let (Some(iss), Some(sub)) = (claim("iss"), claim("sub")) else {
        return Err(invalid(
            "The client assertion must carry 'iss' and 'sub' claims naming the client id.",
        ));
    };
    if iss != sub {
        return Err(AadError::new(
            ErrorCode::AssertionSubjectMismatch,
            "The issuer and subject of the client assertion differ: 'sub' must equal 'iss' (the client id).",
        ));
    }
    if !iss.eq_ignore_ascii_case(&app.app_id) {
        return Err(AadError::new(
            ErrorCode::AssertionClientMismatch,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at \
                 https://learn.microsoft.com/entra/identity-platform/certificate-credentials. (iss '{iss}', client_id '{}')",
                app.app_id
            ),
        ));
    }
    verify_signed_by_application(authority.directory(), app, &jws, now).await?;

    let exp = time_claim(&jws.claims, "exp")?
        .ok_or_else(|| invalid("The client assertion must carry an 'exp' claim."))?;
    let nbf = time_claim(&jws.claims, "nbf")?;
    let iat = time_claim(&jws.claims, "iat")?;
    if now > exp.saturating_add(SKEW_SECONDS) {
        return Err(AadError::new(
            ErrorCode::ClientAssertionExpired,
            format!("Client assertion is not within its valid time range. Current time: {now}, assertion valid until {exp}."),
        ));
    }
    if let Some(start) = nbf.into_iter().chain(iat).max() {
        if start > now.saturating_add(SKEW_SECONDS) {
            return Err(AadError::new(
                ErrorCode::ClientAssertionExpired,
                format!("Client assertion is not within its valid time range. Current time: {now}, assertion valid from {start}."),
            ));
        }
    }

    let audiences: Vec<&str> = match jws.claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut audience_ok = false;
    for aud in &audiences {
        if audience_matches(request, aud).await? {
            audience_ok = true;
            break;
        }
    }
    if !audience_ok {
        return Err(invalid(format!(
            "The audience of the client assertion ({}) is not this tenant's token endpoint.",
            audiences.join(", ")
        )));
    }

    let jti = claim("jti")
        .filter(|j| !j.is_empty() && j.len() <= 512)
        .ok_or_else(|| invalid("The client assertion must carry a 'jti' claim."))?;
    let first_use = authority
        .directory()
        .record_assertion_jti(&app.app_id, jti, exp.saturating_add(SKEW_SECONDS))
        .await
        .map_err(internal)?;
    if !first_use {
        return Err(invalid(format!(
            "The client assertion with jti '{jti}' was already used. Each assertion may be presented once."
        )));
    }
    Ok(())
}
