//! Token credentials: the [`TokenCredential`] trait, the client-secret credential for the
//! Entra v1 and v2 token endpoints, and the environment credential.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::{snippet, ConfigError, CredentialError, EntraError};
use crate::http::{default_client, normalize_base};
use crate::retry::{is_transient_transport, parse_retry_after, RetryPolicy, Sleeper};

/// The public Microsoft cloud's authority host.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// An OAuth access token and its expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token (a JWT). Never printed by `Debug`.
    pub token: String,
    /// When the token stops being valid.
    pub expires_on: OffsetDateTime,
}

impl AccessToken {
    /// A token with the given text and expiry.
    pub fn new(token: impl Into<String>, expires_on: OffsetDateTime) -> Self {
        Self {
            token: token.into(),
            expires_on,
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Something that can produce access tokens.
///
/// `scope` names what the token is for: a resource (`https://api.security.microsoft.com`)
/// or a v2 scope (`https://api.security.microsoft.com/.default`); credentials convert
/// between the two as their endpoint needs.
pub trait TokenCredential: Send + Sync {
    /// Returns a token for `scope`.
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>>;

    /// Tells the credential that `token` was rejected by a resource (HTTP 401), so a cache
    /// must not hand it out again. The default does nothing (nothing is cached).
    fn invalidate(&self, _scope: &str, _token: &AccessToken) {}
}

impl<T: TokenCredential + ?Sized> TokenCredential for Arc<T> {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        (**self).get_token(scope)
    }
    fn invalidate(&self, scope: &str, token: &AccessToken) {
        (**self).invalidate(scope, token)
    }
}

impl<T: TokenCredential + ?Sized> TokenCredential for Box<T> {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        (**self).get_token(scope)
    }
    fn invalidate(&self, scope: &str, token: &AccessToken) {
        (**self).invalidate(scope, token)
    }
}

/// Which Entra token endpoint to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenEndpointVersion {
    /// `{authority}/{tenant}/oauth2/token` with `resource=…` (ADAL style).
    V1,
    /// `{authority}/{tenant}/oauth2/v2.0/token` with `scope={resource}/.default` (MSAL style).
    #[default]
    V2,
}

/// Strips a trailing `/.default` (and slash) from a scope to get the v1 resource.
fn resource_of(scope: &str) -> &str {
    scope
        .strip_suffix("/.default")
        .unwrap_or(scope)
        .trim_end_matches('/')
}

/// Turns a resource into its v2 `.default` scope (scopes already ending in `/.default`
/// and other explicit scopes with a path segment after the resource are kept).
fn default_scope_of(scope: &str) -> String {
    if scope.ends_with("/.default") {
        scope.to_string()
    } else {
        format!("{}/.default", scope.trim_end_matches('/'))
    }
}

/// Checks a tenant id: a GUID, a domain name or an alias such as `organizations`.
fn validate_tenant(tenant: &str) -> Result<(), ConfigError> {
    if tenant.is_empty() {
        return Err(ConfigError::InvalidSetting {
            name: "tenant id",
            reason: "empty",
        });
    }
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(ConfigError::InvalidSetting {
            name: "tenant id",
            reason: "must be a GUID or a domain name",
        });
    }
    Ok(())
}

/// Client-credentials grant with a client secret (app-only tokens, the Defender daemon path).
pub struct ClientSecretCredential {
    token_url: String,
    version: TokenEndpointVersion,
    client_id: String,
    auth: ClientAuth,
    http: reqwest::Client,
    retry: RetryPolicy,
    sleeper: Sleeper,
}

impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretCredential")
            .field("token_url", &self.token_url)
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// `client_assertion_type` for assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Produces a client assertion for a token endpoint (the assertion's audience).
pub trait AssertionSource: Send + Sync {
    /// A fresh assertion for `audience` (the token endpoint URL).
    fn assertion<'a>(&'a self, audience: &'a str)
        -> BoxFuture<'a, Result<String, CredentialError>>;
}

/// How a confidential client authenticates at the token endpoint.
#[derive(Clone)]
pub(crate) enum ClientAuth {
    /// `client_secret`.
    Secret(String),
    /// `client_assertion` (a fresh one per request: assertions are single-use).
    Assertion(Arc<dyn AssertionSource>),
}

/// Builder for [`ClientSecretCredential`].
pub struct ClientSecretCredentialBuilder {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    authority_host: String,
    version: TokenEndpointVersion,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    sleeper: Sleeper,
}

impl fmt::Debug for ClientSecretCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretCredentialBuilder")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("authority_host", &self.authority_host)
            .field("version", &self.version)
            .finish()
    }
}

impl ClientSecretCredentialBuilder {
    /// Authority host, default `https://login.microsoftonline.com`; set it to Palisade's
    /// base URL (e.g. `https://palisade.example:8443`). A value without scheme gets `https://`.
    pub fn authority_host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        self.authority_host = if host.contains("://") {
            host
        } else {
            format!("https://{host}")
        };
        self
    }

    /// Token endpoint version, default [`TokenEndpointVersion::V2`].
    pub fn endpoint_version(mut self, version: TokenEndpointVersion) -> Self {
        self.version = version;
        self
    }

    /// The HTTP client to use (see [`crate::HttpConfig`]); a default one otherwise.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Retry policy for transient token endpoint failures (429, 5xx, connection refused;
    /// default: [`RetryPolicy::default`]). Errors such as a bad secret are never retried.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the function used to wait between retries (for tests).
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Validates the settings and builds the credential.
    pub fn build(self) -> Result<ClientSecretCredential, ConfigError> {
        let secret = self.client_secret.clone();
        self.build_with(ClientAuth::Secret(secret))
    }

    /// Builds with the given client authentication (a secret, or client assertions).
    pub(crate) fn build_with(
        self,
        auth: ClientAuth,
    ) -> Result<ClientSecretCredential, ConfigError> {
        validate_tenant(&self.tenant_id)?;
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::InvalidSetting {
                name: "client id",
                reason: "empty",
            });
        }
        if matches!(&auth, ClientAuth::Secret(s) if s.is_empty()) {
            return Err(ConfigError::InvalidSetting {
                name: "client secret",
                reason: "empty",
            });
        }
        let host = normalize_base(&self.authority_host)?;
        let path = match self.version {
            TokenEndpointVersion::V1 => "oauth2/token",
            TokenEndpointVersion::V2 => "oauth2/v2.0/token",
        };
        let http = match self.http {
            Some(h) => h,
            None => default_client()?,
        };
        Ok(ClientSecretCredential {
            token_url: format!("{host}/{}/{path}", self.tenant_id),
            version: self.version,
            client_id: self.client_id,
            auth,
            http,
            retry: self.retry,
            sleeper: self.sleeper,
        })
    }
}

impl ClientSecretCredential {
    /// Starts a builder (v2 endpoint on the public cloud by default).
    pub fn builder(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ClientSecretCredentialBuilder {
        ClientSecretCredentialBuilder {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            authority_host: DEFAULT_AUTHORITY_HOST.to_string(),
            version: TokenEndpointVersion::default(),
            http: None,
            retry: RetryPolicy::default(),
            sleeper: Sleeper::default(),
        }
    }

    /// A credential for the public cloud's v2 endpoint.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Self::builder(tenant_id, client_id, client_secret).build()
    }

    /// The token endpoint URL this credential posts to.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The endpoint version in use.
    pub fn endpoint_version(&self) -> TokenEndpointVersion {
        self.version
    }

    async fn request_token(&self, scope: &str) -> Result<AccessToken, CredentialError> {
        let (key, value) = match self.version {
            TokenEndpointVersion::V1 => ("resource", resource_of(scope).to_string()),
            TokenEndpointVersion::V2 => ("scope", default_scope_of(scope)),
        };
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            // Built per attempt: a client assertion may be presented only once.
            let credential = match &self.auth {
                ClientAuth::Secret(secret) => vec![("client_secret", secret.clone())],
                ClientAuth::Assertion(source) => vec![
                    ("client_assertion_type", JWT_BEARER.to_string()),
                    ("client_assertion", source.assertion(&self.token_url).await?),
                ],
            };
            let mut form: Vec<(&str, String)> = vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", self.client_id.clone()),
            ];
            form.extend(credential);
            form.push((key, value.clone()));
            let body = serde_urlencoded::to_string(&form).map_err(|e| {
                CredentialError::InvalidResponse(format!("cannot encode form: {e}"))
            })?;
            let started = OffsetDateTime::now_utc();
            tracing::debug!(url = %self.token_url, client_id = %self.client_id, "requesting token");
            let sent = self
                .http
                .post(&self.token_url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body)
                .send()
                .await;
            let (result, server_wait) = match sent {
                Err(e) if is_transient_transport(&e) => (Err(CredentialError::Http(e)), None),
                Err(e) => return Err(CredentialError::Http(e)),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
                    let bytes = resp.bytes().await.map_err(CredentialError::Http)?;
                    (parse_token_response(status, &bytes, started), retry_after)
                }
            };
            let err = match result {
                Ok(token) => return Ok(token),
                Err(e) if !e.is_transient() => return Err(e),
                Err(e) => e,
            };
            let wait = server_wait.unwrap_or_else(|| self.retry.backoff(retries));
            if retries >= self.retry.max_retries || waited + wait > self.retry.max_total_wait {
                return Err(err);
            }
            tracing::debug!(error = %err, ?wait, "transient token endpoint failure; retrying");
            self.sleeper.sleep(wait).await;
            waited += wait;
            retries += 1;
        }
    }
}

impl TokenCredential for ClientSecretCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        Box::pin(self.request_token(scope))
    }
}

/// A JSON number or a string holding one (v1 sends strings, v2 integers).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(i64),
    Float(f64),
    Str(String),
}

impl NumOrString {
    fn value(&self, field: &str) -> Result<i64, CredentialError> {
        match self {
            NumOrString::Num(n) => Ok(*n),
            NumOrString::Float(f) if f.is_finite() => Ok(*f as i64),
            NumOrString::Float(_) => Err(CredentialError::InvalidResponse(format!(
                "{field} is not a number"
            ))),
            NumOrString::Str(s) => s.trim().parse().map_err(|_| {
                CredentialError::InvalidResponse(format!("{field} is not a number: {s:?}"))
            }),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<NumOrString>,
    #[serde(default)]
    expires_on: Option<NumOrString>,
}

/// Parses a token endpoint response of either version. `started` is when the request was
/// sent: `expires_in` counts from then, which is independent of clock skew with the server.
pub(crate) fn parse_token_response(
    status: u16,
    body: &[u8],
    started: OffsetDateTime,
) -> Result<AccessToken, CredentialError> {
    if !(200..300).contains(&status) {
        return match serde_json::from_slice::<EntraError>(body) {
            Ok(mut e) => {
                e.status = status;
                Err(CredentialError::Entra(Box::new(e)))
            }
            Err(_) => Err(CredentialError::UnexpectedResponse {
                status,
                body: snippet(body),
            }),
        };
    }
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| CredentialError::UnexpectedResponse {
            status,
            body: format!("{e}: {}", snippet(body)),
        })?;
    let token = parsed
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CredentialError::InvalidResponse("no access_token".into()))?;
    let expires_on = if let Some(n) = &parsed.expires_in {
        let secs = n.value("expires_in")?;
        started + Duration::from_secs(secs.max(0) as u64)
    } else if let Some(n) = &parsed.expires_on {
        let secs = n.value("expires_on")?;
        OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|_| CredentialError::InvalidResponse("expires_on out of range".into()))?
    } else {
        return Err(CredentialError::InvalidResponse(
            "neither expires_in nor expires_on".into(),
        ));
    };
    if expires_on <= started {
        return Err(CredentialError::ExpiredToken);
    }
    Ok(AccessToken { token, expires_on })
}

/// `AZURE_TENANT_ID`.
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`.
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`.
pub const ENV_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_AUTHORITY_HOST` (optional).
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// A [`ClientSecretCredential`] configured from azure-identity's environment variables:
/// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` and optionally
/// `AZURE_AUTHORITY_HOST`.
#[derive(Debug)]
pub struct EnvironmentCredential {
    inner: ClientSecretCredential,
}

impl EnvironmentCredential {
    /// Reads the process environment and builds a v2 credential with a default HTTP client.
    pub fn new() -> Result<Self, CredentialError> {
        let inner = Self::builder()?.build()?;
        Ok(Self { inner })
    }

    /// Reads the process environment and returns a builder, to set the HTTP client or the
    /// endpoint version before building (wrap the result with [`EnvironmentCredential::from`]
    /// or use the [`ClientSecretCredential`] directly).
    pub fn builder() -> Result<ClientSecretCredentialBuilder, CredentialError> {
        Self::builder_from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`EnvironmentCredential::builder`] with a custom variable lookup (for tests and
    /// for configuration sources other than the process environment).
    pub fn builder_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ClientSecretCredentialBuilder, CredentialError> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(CredentialError::MissingEnvironmentVariable(name))
        };
        let tenant = get(ENV_TENANT_ID)?;
        let client = get(ENV_CLIENT_ID)?;
        let secret = get(ENV_CLIENT_SECRET)?;
        let mut builder = ClientSecretCredential::builder(tenant.trim(), client.trim(), secret);
        if let Some(host) = lookup(ENV_AUTHORITY_HOST).filter(|v| !v.trim().is_empty()) {
            builder = builder.authority_host(host.trim());
        }
        Ok(builder)
    }

    /// The wrapped credential.
    pub fn into_inner(self) -> ClientSecretCredential {
        self.inner
    }
}

impl From<ClientSecretCredential> for EnvironmentCredential {
    fn from(inner: ClientSecretCredential) -> Self {
        Self { inner }
    }
}

impl TokenCredential for EnvironmentCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        self.inner.get_token(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2021-05-27 04:00:00 UTC);

    #[test]
    fn v1_string_numbers() {
        let body = br#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1622089429","not_before":"1622085529","resource":"https://api.security.microsoft.com","access_token":"abc"}"#;
        let t = parse_token_response(200, body, T0).expect("token");
        assert_eq!(t.token, "abc");
        assert_eq!(t.expires_on, T0 + Duration::from_secs(3599));
    }

    #[test]
    fn v1_expires_on_only() {
        let body = br#"{"token_type":"Bearer","expires_on":"1622089429","access_token":"abc"}"#;
        let t = parse_token_response(200, body, T0).expect("token");
        assert_eq!(t.expires_on.unix_timestamp(), 1622089429);
    }

    #[test]
    fn v2_integer_numbers() {
        let body =
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":0,"access_token":"xyz"}"#;
        let t = parse_token_response(200, body, T0).expect("token");
        assert_eq!(t.expires_on, T0 + Duration::from_secs(3599));
    }

    #[test]
    fn bad_numbers_and_missing_token_fail() {
        let body = br#"{"expires_in":"soon","access_token":"x"}"#;
        assert!(matches!(
            parse_token_response(200, body, T0),
            Err(CredentialError::InvalidResponse(_))
        ));
        let body = br#"{"expires_in":3599}"#;
        assert!(matches!(
            parse_token_response(200, body, T0),
            Err(CredentialError::InvalidResponse(_))
        ));
        let body = br#"{"expires_in":0,"access_token":"x"}"#;
        assert!(matches!(
            parse_token_response(200, body, T0),
            Err(CredentialError::ExpiredToken)
        ));
    }

    #[test]
    fn entra_error_and_non_json_error() {
        let body = br#"{"error":"invalid_scope","error_description":"AADSTS1002012: Client credential flows must have a scope value with /.default suffixed to the resource identifier.\r\nTrace ID: t","error_codes":[1002012]}"#;
        match parse_token_response(400, body, T0) {
            Err(CredentialError::Entra(e)) => {
                assert_eq!(e.status, 400);
                assert_eq!(e.error, "invalid_scope");
                assert_eq!(e.aadsts_code(), Some(1002012));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_token_response(502, b"<html>bad gateway</html>", T0),
            Err(CredentialError::UnexpectedResponse { status: 502, .. })
        ));
    }

    #[test]
    fn access_token_debug_redacts() {
        let t = AccessToken::new("secret-jwt", T0);
        let s = format!("{t:?}");
        assert!(!s.contains("secret-jwt"));
        assert!(s.contains("redacted"));
    }

    #[test]
    fn credential_debug_redacts_secret() {
        let c = ClientSecretCredential::new("contoso.onmicrosoft.com", "id", "s3cr3t").expect("ok");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }

    #[test]
    fn urls_per_version_and_authority() {
        let c = ClientSecretCredential::builder("t1", "id", "s")
            .authority_host("palisade.local:8443/")
            .endpoint_version(TokenEndpointVersion::V1)
            .build()
            .expect("ok");
        assert_eq!(c.token_url(), "https://palisade.local:8443/t1/oauth2/token");
        assert!(ClientSecretCredential::new("a/b", "id", "s").is_err());
        assert!(ClientSecretCredential::new("t", "", "s").is_err());
    }

    #[test]
    fn scope_conversions() {
        assert_eq!(
            resource_of("https://api.security.microsoft.com/.default"),
            "https://api.security.microsoft.com"
        );
        assert_eq!(
            resource_of("https://api.security.microsoft.com/"),
            "https://api.security.microsoft.com"
        );
        assert_eq!(
            default_scope_of("https://api.security.microsoft.com"),
            "https://api.security.microsoft.com/.default"
        );
        assert_eq!(
            default_scope_of("https://security.microsoft.com/mtp/"),
            "https://security.microsoft.com/mtp/.default"
        );
    }

    #[test]
    fn environment_names_missing_variable() {
        let vars: HashMap<&str, &str> =
            [("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_SECRET", "s")].into();
        let err =
            EnvironmentCredential::builder_from_lookup(|n| vars.get(n).map(|v| v.to_string()))
                .expect_err("missing client id");
        assert!(matches!(
            err,
            CredentialError::MissingEnvironmentVariable("AZURE_CLIENT_ID")
        ));
        assert!(err.to_string().contains("AZURE_CLIENT_ID"));
    }

    #[test]
    fn environment_reads_authority_host() {
        let vars: HashMap<&str, &str> = [
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_AUTHORITY_HOST", "https://localhost:8443"),
        ]
        .into();
        let cred =
            EnvironmentCredential::builder_from_lookup(|n| vars.get(n).map(|v| v.to_string()))
                .expect("builder")
                .build()
                .expect("credential");
        assert_eq!(
            cred.token_url(),
            "https://localhost:8443/t/oauth2/v2.0/token"
        );
    }
}
