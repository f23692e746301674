//! Error types of the SDK.
//!
//! Three layers, each a `thiserror` enum:
//! - [`ConfigError`]: building the HTTP client or a client/credential from bad settings;
//! - [`CredentialError`]: acquiring a token (Entra error JSON becomes [`EntraError`]);
//! - [`Error`]: calling the Defender API (Defender error JSON becomes [`ApiError`]).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Settings that cannot be turned into a working client.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A root certificate could not be read from disk.
    #[error("cannot read certificate file {path}: {source}")]
    ReadCertificate {
        /// The file that was read.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes given as a root certificate are not a usable PEM certificate (bundle).
    #[error("invalid PEM certificate: {0}")]
    InvalidCertificate(String),
    /// A base URL (authority host, API base) is not an absolute http(s) URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The value given.
        url: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A required setting is empty or malformed (tenant id, client id, ...).
    #[error("invalid {name}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// reqwest refused to build the client.
    #[error("cannot build HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// The error JSON Microsoft Entra ID returns from its token endpoint, with the HTTP status.
///
/// ```json
/// {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. ...",
///  "error_codes":[7000215],"timestamp":"2024-01-09 02:02:12Z","trace_id":"…","correlation_id":"…",
///  "error_uri":"https://login.microsoftonline.com/error?code=7000215"}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct EntraError {
    /// HTTP status of the response (400 for most errors, 401 for `invalid_client`).
    #[serde(skip)]
    pub status: u16,
    /// The OAuth `error` string, e.g. `invalid_client`.
    pub error: String,
    /// The full `error_description` (`AADSTS<code>: <message>\r\nTrace ID: …`).
    #[serde(default)]
    pub error_description: Option<String>,
    /// The AADSTS numbers from `error_codes` (empty when the server sent none).
    #[serde(default)]
    pub error_codes: Vec<u32>,
    /// `timestamp` as sent (`yyyy-MM-dd HH:mm:ssZ`).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `trace_id` GUID.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// `correlation_id` GUID.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// `error_uri`, when present.
    #[serde(default)]
    pub error_uri: Option<String>,
}

impl EntraError {
    /// The AADSTS codes of this error: `error_codes` when sent, otherwise every
    /// `AADSTS<digits>` found in the description.
    pub fn aadsts_codes(&self) -> Vec<u32> {
        if !self.error_codes.is_empty() {
            return self.error_codes.clone();
        }
        let Some(desc) = self.error_description.as_deref() else {
            return Vec::new();
        };
        let mut codes = Vec::new();
        let mut rest = desc;
        while let Some(pos) = rest.find("AADSTS") {
            rest = &rest[pos + "AADSTS".len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(code) = digits.parse() {
                codes.push(code);
            }
        }
        codes
    }

    /// The first AADSTS code, if any (e.g. `7000215` for a bad client secret).
    pub fn aadsts_code(&self) -> Option<u32> {
        self.aadsts_codes().first().copied()
    }

    /// The description's message without the trailing `Trace ID` / `Correlation ID` /
    /// `Timestamp` lines.
    pub fn message(&self) -> &str {
        let desc = self.error_description.as_deref().unwrap_or("");
        let end = desc.find("\r\n").or_else(|| desc.find('\n'));
        desc[..end.unwrap_or(desc.len())].trim_end()
    }
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.error)?;
        let msg = self.message();
        if !msg.is_empty() {
            write!(f, ": {msg}")?;
        }
        Ok(())
    }
}

/// Failure to obtain an access token.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A required environment variable is not set (or is empty).
    #[error("environment variable {0} is not set")]
    MissingEnvironmentVariable(&'static str),
    /// The token endpoint answered with Entra error JSON.
    #[error("token request rejected: {0}")]
    Entra(Box<EntraError>),
    /// The token endpoint answered with something that is neither a token nor Entra error JSON.
    #[error("unexpected token endpoint response (HTTP {status}): {body}")]
    UnexpectedResponse {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A success response lacked a field or carried a malformed one.
    #[error("invalid token response: {0}")]
    InvalidResponse(String),
    /// The endpoint handed out a token that is already expired.
    #[error("the token endpoint returned an already expired token")]
    ExpiredToken,
    /// Transport failure (DNS, TLS, connect, timeout).
    #[error("token request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// Bad credential settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No user is signed in (or the sign-in can no longer be refreshed).
    #[error("not signed in: {0}")]
    NotSignedIn(String),
    /// The interactive sign-in did not complete (browser, device code, user cancelled).
    #[error("sign-in did not complete: {0}")]
    Interaction(String),
    /// The sign-in cache could not be read or written.
    #[error("token cache: {0}")]
    Cache(String),
}

impl CredentialError {
    /// True for failures worth retrying: HTTP 429 or 5xx from the token endpoint, Entra's
    /// `temporarily_unavailable` / `server_error`, and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            CredentialError::Entra(e) => {
                e.status == 429
                    || e.status >= 500
                    || e.error == "temporarily_unavailable"
                    || e.error == "server_error"
            }
            CredentialError::UnexpectedResponse { status, .. } => *status == 429 || *status >= 500,
            CredentialError::Http(e) => crate::retry::is_transient_transport(e),
            _ => false,
        }
    }

    /// The Entra error, when the server sent one.
    pub fn entra(&self) -> Option<&EntraError> {
        match self {
            CredentialError::Entra(e) => Some(e),
            _ => None,
        }
    }
}

/// The Defender error JSON `{"error":{"code","message","target"}}` with the HTTP status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `error.code` (e.g. `ResourceNotFound`, `ODataError`, `TooManyRequests` or `"429"`).
    pub code: Option<String>,
    /// `error.message`, or the start of the raw body when it was not error JSON.
    pub message: Option<String>,
    /// `error.target` (tracking GUID).
    pub target: Option<String>,
    /// The `Retry-After` delay sent with the response (429 / 503).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(msg) = &self.message {
            write!(f, ": {msg}")?;
        }
        if let Some(ra) = self.retry_after {
            write!(f, " (retry after {}s)", ra.as_secs())?;
        }
        Ok(())
    }
}

/// Error of a Defender API call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token could be obtained.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The API answered with an error status (after any retries).
    #[error("Defender API error: {0}")]
    Api(Box<ApiError>),
    /// Transport failure (DNS, TLS, connect, timeout).
    #[error("HTTP request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// A success response could not be decoded into the expected model.
    #[error("cannot decode response of {url}: {source}")]
    Decode {
        /// The request URL.
        url: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The server's `@odata.nextLink` points to another origin than the API base; the SDK
    /// does not send the bearer token there.
    #[error("refusing to follow @odata.nextLink to another origin: {0}")]
    ForeignNextLink(String),
    /// Bad client settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An argument the SDK refuses before sending anything (e.g. an id with `/`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            _ => None,
        }
    }

    /// The API error, when the server sent one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for 429.
    pub fn is_throttled(&self) -> bool {
        self.status() == Some(429)
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }
}

/// Shortens a body for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 512;
    let text = String::from_utf8_lossy(body);
    if text.len() <= MAX {
        return text.into_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_error_parses_and_extracts_codes() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2016-01-09 02:02:12Z","error_codes":[7000215],"timestamp":"2016-01-09 02:02:12Z","trace_id":"0000aaaa-11bb-cccc-dd33-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;
        let mut e: EntraError = serde_json::from_str(body).expect("parse");
        e.status = 401;
        assert_eq!(e.error, "invalid_client");
        assert_eq!(e.aadsts_codes(), vec![7000215]);
        assert_eq!(e.aadsts_code(), Some(7000215));
        assert!(e
            .message()
            .starts_with("AADSTS7000215: Invalid client secret"));
        assert!(!e.message().contains("Trace ID"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("0000aaaa-11bb-cccc-dd33-eeeeee333333")
        );
        assert!(e
            .to_string()
            .contains("HTTP 401 invalid_client: AADSTS7000215"));
    }

    #[test]
    fn entra_codes_fall_back_to_description() {
        let e = EntraError {
            error: "invalid_request".into(),
            error_description: Some("AADSTS70002: first. AADSTS70008: second.".into()),
            ..Default::default()
        };
        assert_eq!(e.aadsts_codes(), vec![70002, 70008]);
    }

    #[test]
    fn snippet_truncates_on_char_boundary() {
        let s = "é".repeat(400);
        let out = snippet(s.as_bytes());
        assert!(out.ends_with('…'));
        assert!(out.len() <= 520);
    }
}
