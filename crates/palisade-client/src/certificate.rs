//! Certificate credentials, the credential Microsoft recommends over secrets: the client
//! proves possession of a registered certificate's private key by signing a short-lived
//! client assertion (`private_key_jwt`) for every token request.
//!
//! - [`ClientCertificate`]: the private key and certificate, from PEM (key and certificate
//!   in one file or two; PKCS#8 or PKCS#1 RSA keys) or PKCS#12 (`.pfx`/`.p12`).
//! - [`ClientCertificateCredential`]: client credentials signed with a [`ClientCertificate`]:
//!   RS256, `x5t` and `x5t#S256` headers, `aud` = the token endpoint, `iss` = `sub` = the
//!   client id, a random `jti`, `nbf`/`iat` now and `exp` 10 minutes later.
//! - [`ClientAssertionCredential`]: client credentials with an assertion from a callback
//!   (a workload identity token, a key kept in an HSM, …).

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::future::BoxFuture;
use ring::signature::RsaKeyPair;
use serde_json::json;
use time::OffsetDateTime;

use crate::credential::{
    AccessToken, AssertionSource, ClientAuth, ClientSecretCredential,
    ClientSecretCredentialBuilder, TokenCredential, TokenEndpointVersion,
};
use crate::error::{ConfigError, CredentialError};
use crate::retry::RetryPolicy;

/// Lifetime of the assertions a [`ClientCertificate`] signs, seconds.
pub const ASSERTION_LIFETIME_SECS: i64 = 600;

/// A certificate's private key and DER certificate.
pub struct ClientCertificate {
    key: RsaKeyPair,
    der: Vec<u8>,
    client_id: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint_hex())
            .field("key", &"<redacted>")
            .finish()
    }
}

fn invalid(reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidCertificate(reason.into())
}

fn rsa_key(der: &[u8], pkcs1: bool) -> Result<RsaKeyPair, ConfigError> {
    let key = if pkcs1 {
        RsaKeyPair::from_der(der)
    } else {
        RsaKeyPair::from_pkcs8(der)
    };
    key.map_err(|e| invalid(format!("the private key is not a usable RSA key ({e})")))
}

impl ClientCertificate {
    /// Reads a PEM holding the private key (`PRIVATE KEY` or `RSA PRIVATE KEY`) and the
    /// certificate (the first `CERTIFICATE` block is the one registered), in any order.
    pub fn from_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let mut key = None;
        let mut der = None;
        let mut reader = std::io::BufReader::new(pem);
        for item in rustls_pemfile::read_all(&mut reader) {
            match item.map_err(|e| invalid(format!("PEM: {e}")))? {
                rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => {
                    key = Some(rsa_key(k.secret_pkcs8_der(), false)?)
                }
                rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => {
                    key = Some(rsa_key(k.secret_pkcs1_der(), true)?)
                }
                rustls_pemfile::Item::X509Certificate(c) if der.is_none() => der = Some(c.to_vec()),
                _ => {}
            }
        }
        match (key, der) {
            (Some(key), Some(der)) => Ok(Self {
                key,
                der,
                client_id: String::new(),
            }),
            (None, _) => Err(invalid("the PEM holds no RSA private key")),
            (_, None) => Err(invalid("the PEM holds no CERTIFICATE")),
        }
    }

    /// Reads a PKCS#12 archive (`.pfx`, `.p12`) with its password.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, ConfigError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| invalid(format!("PKCS#12: {e}")))?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| invalid("the PKCS#12 archive holds no private key"))?;
        let cert = chain
            .certs()
            .first()
            .ok_or_else(|| invalid("the PKCS#12 archive holds no certificate for its key"))?;
        Ok(Self {
            key: rsa_key(chain.key().as_der(), false)?,
            der: cert.as_der().to_vec(),
            client_id: String::new(),
        })
    }

    /// Reads a file: PKCS#12 when it ends in `.pfx`/`.p12` (with `password`, default
    /// empty), PEM otherwise.
    pub fn from_file(path: &Path, password: Option<&str>) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::ReadCertificate {
            path: path.display().to_string(),
            source,
        })?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "pfx" || ext == "p12" {
            Self::from_pkcs12(&bytes, password.unwrap_or(""))
        } else {
            Self::from_pem(&bytes)
        }
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-1 thumbprint (what the portal shows and `customKeyIdentifier` holds).
    pub fn thumbprint_sha1(&self) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der)
            .as_ref()
            .to_vec()
    }

    /// The SHA-1 thumbprint in upper-case hex.
    pub fn thumbprint_hex(&self) -> String {
        self.thumbprint_sha1()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// Signs a client assertion for `client_id` addressed to `audience` (the token
    /// endpoint), valid from `now` for [`ASSERTION_LIFETIME_SECS`].
    pub fn sign_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<String, CredentialError> {
        let header = json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": URL_SAFE_NO_PAD.encode(self.thumbprint_sha1()),
            "x5t#S256": URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &self.der)),
        });
        let mut jti = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti)
            .map_err(|_| CredentialError::InvalidResponse("no randomness for the jti".into()))?;
        let now = now.unix_timestamp();
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| CredentialError::InvalidResponse("signing the assertion failed".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

impl AssertionSource for ClientCertificate {
    fn assertion<'a>(
        &'a self,
        audience: &'a str,
    ) -> BoxFuture<'a, Result<String, CredentialError>> {
        Box::pin(async move {
            self.sign_assertion(&self.client_id, audience, OffsetDateTime::now_utc())
        })
    }
}

/// Builder shared by the certificate and assertion credentials.
pub struct ConfidentialClientBuilder<T> {
    inner: ClientSecretCredentialBuilder,
    auth: ClientAuth,
    wrap: fn(ClientSecretCredential) -> T,
}

impl<T> fmt::Debug for ConfidentialClientBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> ConfidentialClientBuilder<T> {
    /// Authority host (see [`ClientSecretCredentialBuilder::authority_host`]).
    pub fn authority_host(mut self, host: impl Into<String>) -> Self {
        self.inner = self.inner.authority_host(host);
        self
    }

    /// Token endpoint version, default v2.
    pub fn endpoint_version(mut self, version: TokenEndpointVersion) -> Self {
        self.inner = self.inner.endpoint_version(version);
        self
    }

    /// The HTTP client to use.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.inner = self.inner.http_client(http);
        self
    }

    /// Retry policy for transient token endpoint failures.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.inner = self.inner.retry_policy(retry);
        self
    }

    /// Validates the settings and builds the credential.
    pub fn build(self) -> Result<T, ConfigError> {
        Ok((self.wrap)(self.inner.build_with(self.auth)?))
    }
}

/// Client credentials with a certificate (app-only tokens, e.g. one per customer tenant).
#[derive(Debug)]
pub struct ClientCertificateCredential(ClientSecretCredential);

impl ClientCertificateCredential {
    /// Starts a builder (v2 endpoint on the public cloud by default).
    pub fn builder(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        mut certificate: ClientCertificate,
    ) -> ConfidentialClientBuilder<Self> {
        let client_id = client_id.into();
        certificate.client_id = client_id.clone();
        ConfidentialClientBuilder {
            inner: ClientSecretCredential::builder(tenant_id, client_id, ""),
            auth: ClientAuth::Assertion(Arc::new(certificate)),
            wrap: ClientCertificateCredential,
        }
    }

    /// The token endpoint URL (the assertions' audience).
    pub fn token_url(&self) -> &str {
        self.0.token_url()
    }
}

impl TokenCredential for ClientCertificateCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        self.0.get_token(scope)
    }
}

struct CallbackAssertion<F>(F);

impl<F, Fut> AssertionSource for CallbackAssertion<F>
where
    F: Fn(String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, CredentialError>> + Send + 'static,
{
    fn assertion<'a>(
        &'a self,
        audience: &'a str,
    ) -> BoxFuture<'a, Result<String, CredentialError>> {
        Box::pin((self.0)(audience.to_string()))
    }
}

/// Client credentials with an assertion from a callback, called with the token endpoint
/// URL (the audience) for every token request.
#[derive(Debug)]
pub struct ClientAssertionCredential(ClientSecretCredential);

impl ClientAssertionCredential {
    /// Starts a builder (v2 endpoint on the public cloud by default).
    pub fn builder<F, Fut>(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        callback: F,
    ) -> ConfidentialClientBuilder<Self>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, CredentialError>> + Send + 'static,
    {
        ConfidentialClientBuilder {
            inner: ClientSecretCredential::builder(tenant_id, client_id, ""),
            auth: ClientAuth::Assertion(Arc::new(CallbackAssertion(callback))),
            wrap: ClientAssertionCredential,
        }
    }
}

impl TokenCredential for ClientAssertionCredential {
    fn get_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, CredentialError>> {
        self.0.get_token(scope)
    }
}
