//! Bearer-token validation, as any resource server does it against the authority's
//! published keys, and the caller identity it yields.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// Where the resource server gets the authority's current signing keys (the JWKS document
/// content). The lead wires the token service into this; tests publish their own keys.
pub trait SigningKeySource: Send + Sync + 'static {
    /// The currently published keys (current and recently rotated ones). Called on every
    /// request: return the same `Arc` while the set is unchanged, so the check is a pointer
    /// comparison.
    fn published_keys(&self) -> Arc<JwkSet>;
}

/// Any `Fn() -> Arc<JwkSet>` is a key source (e.g. a closure reading the authority's key ring).
impl<F> SigningKeySource for F
where
    F: Fn() -> Arc<JwkSet> + Send + Sync + 'static,
{
    fn published_keys(&self) -> Arc<JwkSet> {
        self()
    }
}

/// A fixed key set (tests, or a resource server configured with a static JWKS).
#[derive(Debug, Clone)]
pub struct StaticKeys(pub Arc<JwkSet>);

impl SigningKeySource for StaticKeys {
    fn published_keys(&self) -> Arc<JwkSet> {
        Arc::clone(&self.0)
    }
}

/// The audiences a Defender token may carry (compared case-insensitively, with or without
/// one trailing slash).
pub const ACCEPTED_AUDIENCES: [&str; 3] = [
    "https://api.security.microsoft.com",
    "https://security.microsoft.com/mtp",
    "8ee8fdad-f234-4243-8f3b-15c294843740",
];

/// The audiences a Microsoft Graph token may carry (`aud` as Entra sets it for Graph: the
/// identifier URI as requested, or the app id when requested by id).
pub const GRAPH_AUDIENCES: [&str; 3] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
    "https://canary.graph.microsoft.com",
];

/// Allowed clock skew for `exp` / `nbf`, seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;

/// Whether the caller is an application (app-only token) or a user through an application
/// (delegated token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// App-only token: no `scp`; permissions in `roles`.
    Application,
    /// Delegated token: `scp` present.
    Delegated,
}

/// The validated identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's tenant (`tid`, lower case); the scope of every query.
    pub tenant_id: String,
    /// The client application id (`appid` in v1, `azp` in v2); empty if absent.
    pub app_id: String,
    /// App-only or delegated.
    pub kind: CallerKind,
    /// `roles`.
    pub roles: Vec<String>,
    /// `scp`, split on spaces (empty for app tokens).
    pub scopes: Vec<String>,
    /// `oid`.
    pub object_id: Option<String>,
    /// The user's name (`upn`, else `preferred_username`, else `unique_name`).
    pub user_principal_name: Option<String>,
}

impl Caller {
    /// The author recorded on comments: the user's UPN for delegated tokens, else the
    /// application id.
    pub fn author(&self) -> String {
        match (&self.kind, &self.user_principal_name) {
            (CallerKind::Delegated, Some(upn)) => upn.clone(),
            _ if !self.app_id.is_empty() => self.app_id.clone(),
            _ => self
                .object_id
                .clone()
                .unwrap_or_else(|| "Unknown".to_string()),
        }
    }
}

/// Why a token was refused. The message is what the 401 says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("The access token is missing.")]
    Missing,
    /// More than one `Authorization` header (RFC 6750 §3.1 `invalid_request`: a 400, not a
    /// 401).
    #[error("The request carries more than one Authorization header.")]
    DuplicateAuthorization,
    /// Not a three-part compact JWS, or undecodable header.
    #[error("The access token is malformed.")]
    Malformed,
    /// The header names critical extensions (`crit`, RFC 7515 §4.1.11); this server
    /// understands none, so the token must be refused.
    #[error("The token's header names critical extensions this server does not understand.")]
    CriticalHeader,
    /// `alg` is not RS256.
    #[error("The token's signing algorithm '{0}' is not accepted; only RS256 is.")]
    Algorithm(String),
    /// No `kid`, or no published key with that `kid`.
    #[error("The token's signing key is not recognised.")]
    UnknownKey,
    /// The signature did not verify.
    #[error("The token's signature is invalid.")]
    Signature,
    /// The payload is not the expected claims object.
    #[error("The token's claims are invalid.")]
    Claims,
    /// Expired beyond the skew.
    #[error("The token is expired.")]
    Expired,
    /// Not yet valid beyond the skew.
    #[error("The token is not yet valid.")]
    NotYetValid,
    /// `tid` missing or not a GUID.
    #[error("The token's tenant id is invalid.")]
    Tenant,
    /// `iss` does not match the token's tenant.
    #[error("The token's issuer is invalid.")]
    Issuer,
    /// `aud` is not a Defender audience.
    #[error("The token's audience is invalid.")]
    Audience,
    /// The tenant does not exist here.
    #[error("The token's tenant does not exist.")]
    UnknownTenant,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Value>,
    tid: Option<String>,
    exp: Option<Value>,
    nbf: Option<Value>,
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    appid: Option<String>,
    azp: Option<String>,
    oid: Option<String>,
    upn: Option<String>,
    preferred_username: Option<String>,
    unique_name: Option<String>,
}

/// Decoding keys by `kid`, rebuilt only when the published set changes.
struct CachedKeys {
    set: Arc<JwkSet>,
    by_kid: HashMap<String, DecodingKey>,
}

impl CachedKeys {
    fn build(set: Arc<JwkSet>) -> Self {
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
                continue;
            }
            if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
                continue;
            }
            if matches!(jwk.common.key_algorithm, Some(a) if a != KeyAlgorithm::RS256) {
                continue;
            }
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    by_kid.insert(kid, key);
                }
                Err(e) => tracing::warn!(%kid, error = %e, "unusable published signing key"),
            }
        }
        Self { set, by_kid }
    }
}

/// Validates bearer tokens against a [`SigningKeySource`], caching parsed keys by `kid`.
pub(crate) struct TokenValidator {
    source: Arc<dyn SigningKeySource>,
    cache: RwLock<Arc<CachedKeys>>,
    validation: Validation,
    audiences: &'static [&'static str],
}

impl TokenValidator {
    pub(crate) fn new(source: Arc<dyn SigningKeySource>) -> Self {
        Self::for_audiences(source, &ACCEPTED_AUDIENCES)
    }

    /// A validator accepting only `audiences` (e.g. [`GRAPH_AUDIENCES`]).
    pub(crate) fn for_audiences(
        source: Arc<dyn SigningKeySource>,
        audiences: &'static [&'static str],
    ) -> Self {
        let initial = CachedKeys::build(source.published_keys());
        let mut validation = Validation::new(Algorithm::RS256);
        // Time, audience and issuer are checked below against the injected clock and the
        // token's own tenant; the library only verifies the signature here.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        Self {
            source,
            cache: RwLock::new(Arc::new(initial)),
            validation,
            audiences,
        }
    }

    fn keys(&self) -> Arc<CachedKeys> {
        let published = self.source.published_keys();
        {
            let cached = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if Arc::ptr_eq(&cached.set, &published) || *cached.set == *published {
                return Arc::clone(&cached);
            }
        }
        let rebuilt = Arc::new(CachedKeys::build(published));
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&rebuilt);
        rebuilt
    }

    /// Checks everything that needs no database: algorithm, key, signature, lifetime,
    /// issuer, tenant-id shape and audience. The caller still has to check that the tenant
    /// exists.
    pub(crate) fn validate(&self, token: &str, now: OffsetDateTime) -> Result<Caller, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header_bytes = URL_SAFE_NO_PAD
            .decode(h.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Map<String, Value> =
            serde_json::from_slice(&header_bytes).map_err(|_| TokenError::Malformed)?;
        let text = |name: &str| match header.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(TokenError::Malformed),
        };
        // The algorithm is fixed before any key is touched.
        match text("alg")? {
            Some("RS256") => {}
            Some(other) => return Err(TokenError::Algorithm(sanitize(other))),
            None => return Err(TokenError::Algorithm("(none)".to_string())),
        }
        // RFC 7515 §4.1.11: no extension is understood here, so a `crit` member of any
        // value (even an empty list or null, which are malformed anyway) refuses the token.
        if header.contains_key("crit") {
            return Err(TokenError::CriticalHeader);
        }
        let kid = text("kid")?.ok_or(TokenError::UnknownKey)?.to_string();
        let keys = self.keys();
        let key = keys.by_kid.get(&kid).ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::Json(_) | ErrorKind::Utf8(_) => TokenError::Claims,
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm("RS256?".to_string()),
                _ => TokenError::Malformed,
            }
        })?;
        let c = data.claims;

        let now_s = now.unix_timestamp();
        let exp = c
            .exp
            .as_ref()
            .and_then(numeric_date)
            .ok_or(TokenError::Claims)?;
        if now_s > exp.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = &c.nbf {
            let nbf = numeric_date(nbf).ok_or(TokenError::Claims)?;
            if nbf > now_s.saturating_add(CLOCK_SKEW_SECS) {
                return Err(TokenError::NotYetValid);
            }
        }

        let tid = c.tid.ok_or(TokenError::Tenant)?;
        let parsed = uuid::Uuid::parse_str(&tid).map_err(|_| TokenError::Tenant)?;
        if parsed.hyphenated().to_string() != tid.to_ascii_lowercase() {
            return Err(TokenError::Tenant);
        }
        let iss = c.iss.ok_or(TokenError::Issuer)?;
        if iss != format!("https://sts.windows.net/{tid}/")
            && iss != format!("https://login.microsoftonline.com/{tid}/v2.0")
        {
            return Err(TokenError::Issuer);
        }
        if !audience_ok(self.audiences, c.aud.as_ref()) {
            return Err(TokenError::Audience);
        }

        let (kind, scopes) = match c.scp {
            Some(scp) => (
                CallerKind::Delegated,
                scp.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            None => (CallerKind::Application, Vec::new()),
        };
        Ok(Caller {
            tenant_id: tid.to_ascii_lowercase(),
            app_id: c.appid.or(c.azp).unwrap_or_default(),
            kind,
            roles: c.roles.unwrap_or_default(),
            scopes,
            object_id: c.oid,
            user_principal_name: c.upn.or(c.preferred_username).or(c.unique_name),
        })
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect()
}

fn numeric_date(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

fn audience_matches(accepted: &[&str], aud: &str) -> bool {
    let aud = aud.strip_suffix('/').unwrap_or(aud);
    accepted.iter().any(|a| a.eq_ignore_ascii_case(aud))
}

fn audience_ok(accepted: &[&str], aud: Option<&Value>) -> bool {
    match aud {
        Some(Value::String(s)) => audience_matches(accepted, s),
        Some(Value::Array(items)) => items
            .iter()
            .any(|v| v.as_str().is_some_and(|a| audience_matches(accepted, a))),
        _ => false,
    }
}

/// Extracts the token from the request's one `Authorization: Bearer …` header.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, TokenError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let value = values.next();
    if values.next().is_some() {
        return Err(TokenError::DuplicateAuthorization);
    }
    let v = value
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = v.trim().split_once(' ').ok_or(TokenError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences() {
        let d = &ACCEPTED_AUDIENCES[..];
        assert!(audience_matches(d, "https://api.security.microsoft.com"));
        assert!(audience_matches(d, "https://api.security.microsoft.com/"));
        assert!(audience_matches(d, "https://security.microsoft.com/mtp/"));
        assert!(audience_matches(d, "8EE8FDAD-F234-4243-8F3B-15C294843740"));
        assert!(!audience_matches(d, "https://graph.microsoft.com"));
        assert!(!audience_matches(d, "https://api.security.microsoft.com//"));
        assert!(audience_ok(
            d,
            Some(&serde_json::json!([
                "x",
                "https://api.security.microsoft.com"
            ]))
        ));
        assert!(!audience_ok(d, None));
        let g = &GRAPH_AUDIENCES[..];
        assert!(audience_matches(g, "https://graph.microsoft.com/"));
        assert!(audience_matches(g, "00000003-0000-0000-c000-000000000000"));
        assert!(!audience_matches(g, "https://api.security.microsoft.com"));
        assert!(!audience_matches(d, "00000003-0000-0000-c000-000000000000"));
    }

    #[test]
    fn bearer_parsing() {
        use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
        let one = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            h
        };
        assert_eq!(bearer_token(&one("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(&one("bearer  abc")), Ok("abc"));
        assert_eq!(bearer_token(&one("Basic abc")), Err(TokenError::Missing));
        assert_eq!(bearer_token(&HeaderMap::new()), Err(TokenError::Missing));
        let mut two = one("Bearer abc");
        two.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&two), Err(TokenError::DuplicateAuthorization));
    }
}
