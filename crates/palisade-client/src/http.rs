//! The HTTP client shared by credentials and API clients.
//!
//! By default it trusts the public web PKI (enough for `login.microsoftonline.com` and
//! `api.security.microsoft.com`). To talk to Palisade, add its CA certificate:
//!
//! ```no_run
//! # fn main() -> Result<(), palisade_client::ConfigError> {
//! use std::time::Duration;
//! let http = palisade_client::HttpConfig::new()
//!     .add_root_certificate_file("palisade-data/ca.pem")?
//!     .timeout(Duration::from_secs(60))
//!     .build()?;
//! # let _ = http; Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use crate::error::ConfigError;

/// Default whole-request timeout: above the hunting API's 3-minute query limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(240);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builder for the [`reqwest::Client`] used by credentials and API clients.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    roots: Vec<reqwest::Certificate>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpConfig {
    /// Defaults: public roots only, 240 s request timeout, 30 s connect timeout.
    pub fn new() -> Self {
        Self {
            roots: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: format!("palisade-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Trusts every certificate in a PEM bundle (e.g. Palisade's exported CA) in addition to
    /// the public roots. Fails if the bytes contain no certificate.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ConfigError::InvalidCertificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(ConfigError::InvalidCertificate(
                "no CERTIFICATE block found".into(),
            ));
        }
        self.roots.extend(certs);
        Ok(self)
    }

    /// Reads a PEM file and trusts every certificate in it.
    pub fn add_root_certificate_file(self, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|source| ConfigError::ReadCertificate {
            path: path.display().to_string(),
            source,
        })?;
        self.add_root_certificate_pem(&pem)
    }

    /// Trusts every PEM certificate in a directory (as OpenSSL's `SSL_CERT_DIR`): each
    /// regular file that holds at least one certificate; files that hold none are skipped.
    /// Fails if the directory cannot be read or holds no certificate at all.
    pub fn add_root_certificate_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let dir = dir.as_ref();
        let read_error = |source| ConfigError::ReadCertificate {
            path: dir.display().to_string(),
            source,
        };
        let mut found = 0;
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if !path.is_file() {
                continue;
            }
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
                found += certs.len();
                self.roots.extend(certs);
            }
        }
        if found == 0 {
            return Err(ConfigError::InvalidCertificate(format!(
                "no PEM certificate in directory {}",
                dir.display()
            )));
        }
        Ok(self)
    }

    /// Also trusts the operating system's certificate store (on Linux the distribution's
    /// bundle, e.g. `/etc/ssl/certs/ca-certificates.crt`, where `palisade ca install` puts
    /// Palisade's CA), besides the built-in public roots. Unreadable entries are skipped.
    pub fn with_system_roots(mut self) -> Self {
        let loaded = rustls_native_certs::load_native_certs();
        for cert in loaded.certs {
            if let Ok(c) = reqwest::Certificate::from_der(cert.as_ref()) {
                self.roots.push(c);
            }
        }
        self
    }

    /// Whole-request timeout (connect + send + read body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Overrides the `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client. A certificate that parsed as PEM but is not a valid X.509
    /// certificate is reported here.
    pub fn build(self) -> Result<reqwest::Client, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .https_only(false);
        for cert in self.roots {
            builder = builder.add_root_certificate(cert);
        }
        builder.build().map_err(ConfigError::Build)
    }
}

/// A default client; used when the caller supplies none.
pub(crate) fn default_client() -> Result<reqwest::Client, ConfigError> {
    HttpConfig::new().build()
}

/// Checks that `url` is an absolute http(s) URL and returns it without trailing slashes.
pub(crate) fn normalize_base(url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim().trim_end_matches('/');
    let invalid = |reason| ConfigError::InvalidUrl {
        url: url.to_string(),
        reason,
    };
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| invalid("not an absolute URL"))?;
    if parsed.scheme() != "https" && parsed.scheme() != "http" {
        return Err(invalid("scheme must be https (or http for local testing)"));
    }
    if parsed.host_str().is_none() {
        return Err(invalid("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("must not carry a query or fragment"));
    }
    Ok(trimmed.to_string())
}

/// Percent-encodes a query component (everything but RFC 3986 unreserved characters).
pub(crate) fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_pem_without_certificates() {
        let err = HttpConfig::new()
            .add_root_certificate_pem(b"not a pem")
            .expect_err("must fail");
        assert!(matches!(err, ConfigError::InvalidCertificate(_)));
    }

    #[test]
    fn missing_file_is_reported_with_path() {
        let err = HttpConfig::new()
            .add_root_certificate_file("/nonexistent/ca.pem")
            .expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn base_urls_are_validated() {
        assert_eq!(
            normalize_base("https://login.microsoftonline.com/")
                .ok()
                .as_deref(),
            Some("https://login.microsoftonline.com")
        );
        assert!(normalize_base("login.microsoftonline.com").is_err());
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("https://x/?a=b").is_err());
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode_query_value("status eq 'Active'"),
            "status%20eq%20%27Active%27"
        );
        assert_eq!(
            encode_query_value("lastUpdateTime ge 2021-01-26T01:00:37.8404534Z"),
            "lastUpdateTime%20ge%202021-01-26T01:00:37.8404534Z"
        );
    }
}
