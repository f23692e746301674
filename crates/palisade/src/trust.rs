//! Which certificate authorities the CLI trusts, in one place for every command.
//!
//! The first of these that is set is the CA file (or directory) tried, in this order:
//! `--ca-file`, `PALISADE_CA_FILE`, `SSL_CERT_FILE` / `SSL_CERT_DIR`, the context's
//! `ca_file`, and — when the server URL is on this machine (`localhost`, `127.0.0.1`,
//! `::1`) — the local data directory's `ca.pem`. The system's roots (and the built-in public
//! roots) are always trusted besides it, so the real Microsoft cloud keeps working; as with
//! OpenSSL, `SSL_CERT_FILE` / `SSL_CERT_DIR` also stand for the system's roots when set.
//!
//! A TLS failure then names the CA that was tried and the flag that fixes it
//! ([`explain_tls_failure`]).

use anyhow::Result;
use palisade_client::HttpConfig;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the trusted CA came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    /// `--ca-file`.
    Flag,
    /// `PALISADE_CA_FILE`.
    PalisadeCaFile,
    /// `SSL_CERT_FILE`.
    SslCertFile,
    /// `SSL_CERT_DIR`.
    SslCertDir,
    /// The named context's `ca_file` (`None`: a flat config file).
    Context(Option<String>),
    /// The local data directory's `ca.pem` (the server is on this machine).
    LocalDataDir,
    /// Nothing but the system's roots.
    System,
}

/// The CA the CLI trusts besides the system's roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// Where it came from.
    pub source: CaSource,
    /// The file (or, for `SSL_CERT_DIR`, directory); `None` for [`CaSource::System`].
    pub path: Option<PathBuf>,
}

/// What the trust decision is made from.
#[derive(Debug, Default)]
pub struct TrustInputs<'a> {
    /// `--ca-file`.
    pub flag: Option<&'a Path>,
    /// The context's name and CA file.
    pub context: Option<(Option<&'a str>, &'a Path)>,
    /// The local data directory to look in for `ca.pem`.
    pub data_dir: Option<&'a Path>,
    /// The server URL(s) the command talks to.
    pub urls: Vec<&'a str>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Whether `url`'s host is this machine.
pub fn is_local_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

/// Decides the CA to trust (see the module docs for the order).
pub fn resolve(inputs: &TrustInputs<'_>) -> Trust {
    let found = |source, path: PathBuf| Trust {
        source,
        path: Some(path),
    };
    if let Some(p) = inputs.flag {
        return found(CaSource::Flag, p.to_path_buf());
    }
    if let Some(p) = env_path("PALISADE_CA_FILE") {
        return found(CaSource::PalisadeCaFile, p);
    }
    if let Some(p) = env_path("SSL_CERT_FILE") {
        return found(CaSource::SslCertFile, p);
    }
    if let Some(p) = env_path("SSL_CERT_DIR") {
        return found(CaSource::SslCertDir, p);
    }
    if let Some((name, p)) = inputs.context {
        return found(CaSource::Context(name.map(str::to_string)), p.to_path_buf());
    }
    if let Some(dir) = inputs.data_dir {
        let ca = crate::tls::ca_path(dir);
        if inputs.urls.iter().any(|u| is_local_url(u)) && ca.is_file() {
            let ca = std::fs::canonicalize(&ca).unwrap_or(ca);
            return found(CaSource::LocalDataDir, ca);
        }
    }
    Trust {
        source: CaSource::System,
        path: None,
    }
}

/// The last trust decision of this process, for [`explain_tls_failure`].
static LAST: Mutex<Option<Trust>> = Mutex::new(None);

impl Trust {
    /// The HTTP client configuration: the system's roots plus this CA.
    pub fn http_config(&self) -> Result<HttpConfig> {
        if let Ok(mut last) = LAST.lock() {
            *last = Some(self.clone());
        }
        let config = HttpConfig::new().with_system_roots();
        Ok(match (&self.source, &self.path) {
            (CaSource::SslCertDir, Some(dir)) => config.add_root_certificate_dir(dir)?,
            (_, Some(file)) => config.add_root_certificate_file(file)?,
            (_, None) => config,
        })
    }

    /// A reqwest client trusting the system's roots plus this CA.
    pub fn client(&self) -> Result<reqwest::Client> {
        Ok(self.http_config()?.build()?)
    }

    /// E.g. "CA file /x/ca.pem (from SSL_CERT_FILE) and the system's roots".
    pub fn describe(&self) -> String {
        let from = match &self.source {
            CaSource::Flag => "--ca-file".to_string(),
            CaSource::PalisadeCaFile => "PALISADE_CA_FILE".to_string(),
            CaSource::SslCertFile => "SSL_CERT_FILE".to_string(),
            CaSource::SslCertDir => "SSL_CERT_DIR".to_string(),
            CaSource::Context(Some(n)) => format!("context '{n}'"),
            CaSource::Context(None) => "the config file".to_string(),
            CaSource::LocalDataDir => "the local data directory".to_string(),
            CaSource::System => return "only the system's roots (no CA file)".to_string(),
        };
        let what = if self.source == CaSource::SslCertDir {
            "CA directory"
        } else {
            "CA file"
        };
        let path = self
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("{what} {path} (from {from}) and the system's roots")
    }
}

/// Whether an error is a failed TLS certificate check.
fn is_certificate_failure(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("invalid peer certificate")
        || text.contains("UnknownIssuer")
        || text.contains("certificate verify failed")
        || text.contains("BadCertificate")
}

/// For an error that is a failed TLS certificate check: what was trusted and how to fix it.
pub fn explain_tls_failure(error: &anyhow::Error) -> Option<String> {
    if !is_certificate_failure(error) {
        return None;
    }
    let tried = LAST
        .lock()
        .ok()
        .and_then(|l| l.clone())
        .map(|t| t.describe())
        .unwrap_or_else(|| "the system's roots".into());
    Some(format!(
        "the server's TLS certificate is not trusted; trusted: {tried}.\n\
         fix: pass --ca-file PATH (or set PALISADE_CA_FILE) to the CA that signed it; for a \
         Palisade server, --ca-file \"$(palisade ca path)\", a context with its CA \
         (palisade context set --ca-file …), or palisade ca install"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls() {
        for u in [
            "https://localhost:8443",
            "https://LOCALHOST",
            "https://127.0.0.1:1/x",
            "https://[::1]:8443/",
        ] {
            assert!(is_local_url(u), "{u}");
        }
        for u in [
            "https://login.microsoftonline.com",
            "https://localhost.evil.com",
            "https://10.0.0.1:8443",
        ] {
            assert!(!is_local_url(u), "{u}");
        }
    }
}
