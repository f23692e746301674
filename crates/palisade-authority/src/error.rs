//! Entra ID's error JSON.
//!
//! ```json
//! {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: 2024-01-09 02:02:12Z",
//!  "error_codes":[7000215],"timestamp":"2024-01-09 02:02:12Z","trace_id":"…","correlation_id":"…",
//!  "error_uri":"https://login.microsoftonline.com/error?code=7000215"}
//! ```
//! HTTP 401 for `invalid_client`, 400 for the other protocol errors (identity.md §6.4).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The AADSTS codes the authority emits, with their OAuth `error` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 900144: a required body parameter is missing.
    MissingParameter,
    /// 9002313: the request is malformed.
    MalformedRequest,
    /// 900561: the endpoint only accepts POST.
    PostOnly,
    /// 70003: unsupported grant type.
    UnsupportedGrantType,
    /// 90002: tenant not found.
    TenantNotFound,
    /// 9001023: grant not supported on /common or /consumers.
    GrantNotOnCommon,
    /// 700016: application not found in the directory.
    ApplicationNotFound,
    /// 7000215: invalid client secret.
    InvalidClientSecret,
    /// 7000222: client secret expired.
    ClientSecretExpired,
    /// 7000218: neither `client_secret` nor `client_assertion`.
    MissingClientCredential,
    /// 700025: a public client presented credentials.
    PublicClientWithCredential,
    /// 700027: client assertion failed validation.
    ClientAssertionInvalid,
    /// 700024: client assertion outside its validity window.
    ClientAssertionExpired,
    /// 50027: the client assertion is malformed, misaddressed or replayed.
    InvalidAssertion,
    /// 50048: the assertion's `sub` differs from its `iss`.
    AssertionSubjectMismatch,
    /// 700021: the assertion's `iss` is not the `client_id`.
    AssertionClientMismatch,
    /// 500011: resource principal not found in the tenant.
    ResourceNotFound,
    /// 70011: invalid scope.
    InvalidScope,
    /// 1002012: client credentials scope is not `/.default`.
    ScopeNotDefault,
    /// 700022: scopes of more than one resource.
    MultipleResources,
    /// 901002: `resource` on the v2 endpoint.
    ResourceNotSupported,
    /// 50049: unknown instance (instance discovery).
    UnknownInstance,
    /// 50050: malformed instance discovery request.
    MalformedDiscovery,
    /// 500: internal failure (never with details).
    ServerError,
    /// 50034: the user does not exist in the directory.
    UserNotFound,
    /// 50126: invalid username or password.
    InvalidCredentials,
    /// 50053: the account is locked (smart lockout).
    AccountLocked,
    /// 50057: the account is disabled.
    UserDisabled,
    /// 50055: the password is expired.
    PasswordExpired,
    /// 65001: the user or an administrator has not consented.
    ConsentRequired,
    /// 65004: the user declined consent.
    ConsentDeclined,
    /// 90094: an administrator must consent.
    AdminConsentRequired,
    /// 650057: the resource is not among the app's required permissions.
    ResourceNotRequired,
    /// 50011: the redirect URI does not match a registered one.
    RedirectUriMismatch,
    /// 54005: the authorization code was already redeemed.
    CodeRedeemed,
    /// 70008: the code or refresh token expired.
    GrantExpired,
    /// 700082: the refresh token expired through inactivity.
    RefreshTokenInactive,
    /// 50173: the grant was revoked (password change, disabled account, revokeSignInSessions).
    GrantRevoked,
    /// 70000: the grant is invalid or malformed (wrong client, unknown token).
    InvalidGrant,
    /// 501481: the PKCE code verifier does not match the challenge.
    PkceMismatch,
    /// 50148: the PKCE code verifier is malformed.
    PkceVerifierInvalid,
    /// 50147 / 501491: the PKCE code challenge is malformed.
    PkceChallengeInvalid,
    /// 700005: the code was issued for another tenant.
    CodeOtherTenant,
    /// 70016: device flow: the user has not finished yet.
    AuthorizationPending,
    /// device flow: the client polls faster than the interval.
    SlowDown,
    /// device flow: the user declined.
    AuthorizationDeclined,
    /// 70019: the device code expired.
    DeviceCodeExpired,
    /// 70018: unknown device code.
    BadVerificationCode,
    /// 90120: the device code was already redeemed.
    DeviceCodeUsed,
    /// 50058: `prompt=none` without a usable session.
    LoginRequired,
    /// 700054: unsupported `response_type`.
    UnsupportedResponseType,
}

impl ErrorCode {
    /// The AADSTS number.
    pub fn number(self) -> u32 {
        match self {
            Self::MissingParameter => 900144,
            Self::MalformedRequest => 9002313,
            Self::PostOnly => 900561,
            Self::UnsupportedGrantType => 70003,
            Self::TenantNotFound => 90002,
            Self::GrantNotOnCommon => 9001023,
            Self::ApplicationNotFound => 700016,
            Self::InvalidClientSecret => 7000215,
            Self::ClientSecretExpired => 7000222,
            Self::MissingClientCredential => 7000218,
            Self::PublicClientWithCredential => 700025,
            Self::ClientAssertionInvalid => 700027,
            Self::ClientAssertionExpired => 700024,
            Self::InvalidAssertion => 50027,
            Self::AssertionSubjectMismatch => 50048,
            Self::AssertionClientMismatch => 700021,
            Self::ResourceNotFound => 500011,
            Self::InvalidScope => 70011,
            Self::ScopeNotDefault => 1002012,
            Self::MultipleResources => 700022,
            Self::ResourceNotSupported => 901002,
            Self::UnknownInstance => 50049,
            Self::MalformedDiscovery => 50050,
            Self::ServerError => 50000,
            Self::UserNotFound => 50034,
            Self::InvalidCredentials => 50126,
            Self::AccountLocked => 50053,
            Self::UserDisabled => 50057,
            Self::PasswordExpired => 50055,
            Self::ConsentRequired => 65001,
            Self::ConsentDeclined => 65004,
            Self::AdminConsentRequired => 90094,
            Self::ResourceNotRequired => 650057,
            Self::RedirectUriMismatch => 50011,
            Self::CodeRedeemed => 54005,
            Self::GrantExpired => 70008,
            Self::RefreshTokenInactive => 700082,
            Self::GrantRevoked => 50173,
            Self::InvalidGrant => 70000,
            Self::PkceMismatch => 501481,
            Self::PkceVerifierInvalid => 50148,
            Self::PkceChallengeInvalid => 501491,
            Self::CodeOtherTenant => 700005,
            Self::AuthorizationPending => 70016,
            Self::SlowDown => 70016,
            Self::AuthorizationDeclined => 70000,
            Self::DeviceCodeExpired => 70019,
            Self::BadVerificationCode => 70018,
            Self::DeviceCodeUsed => 90120,
            Self::LoginRequired => 50058,
            Self::UnsupportedResponseType => 700054,
        }
    }

    /// The OAuth `error` string.
    pub fn error(self) -> &'static str {
        match self {
            Self::MissingParameter
            | Self::MalformedRequest
            | Self::PostOnly
            | Self::TenantNotFound
            | Self::GrantNotOnCommon
            | Self::ResourceNotSupported
            | Self::MalformedDiscovery => "invalid_request",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ApplicationNotFound => "unauthorized_client",
            Self::InvalidClientSecret
            | Self::ClientSecretExpired
            | Self::MissingClientCredential
            | Self::PublicClientWithCredential
            | Self::ClientAssertionInvalid
            | Self::ClientAssertionExpired
            | Self::InvalidAssertion
            | Self::AssertionSubjectMismatch
            | Self::AssertionClientMismatch => "invalid_client",
            Self::ResourceNotFound => "invalid_resource",
            Self::InvalidScope | Self::ScopeNotDefault | Self::MultipleResources => "invalid_scope",
            Self::UnknownInstance => "invalid_instance",
            Self::ServerError => "server_error",
            Self::UserNotFound
            | Self::InvalidCredentials
            | Self::AccountLocked
            | Self::UserDisabled
            | Self::PasswordExpired
            | Self::ConsentRequired
            | Self::CodeRedeemed
            | Self::GrantExpired
            | Self::RefreshTokenInactive
            | Self::GrantRevoked
            | Self::InvalidGrant
            | Self::PkceMismatch
            | Self::CodeOtherTenant
            | Self::DeviceCodeUsed => "invalid_grant",
            Self::ConsentDeclined => "access_denied",
            Self::AdminConsentRequired => "access_denied",
            Self::ResourceNotRequired => "invalid_resource",
            Self::RedirectUriMismatch | Self::PkceVerifierInvalid | Self::PkceChallengeInvalid => {
                "invalid_request"
            }
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AuthorizationDeclined => "authorization_declined",
            Self::DeviceCodeExpired => "expired_token",
            Self::BadVerificationCode => "bad_verification_code",
            Self::LoginRequired => "login_required",
            Self::UnsupportedResponseType => "unsupported_response_type",
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 500 for server errors, 405 for a wrong
    /// method, 400 otherwise.
    pub fn status(self) -> StatusCode {
        match self.error() {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ if self == Self::PostOnly => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error in Entra's shape.
#[derive(Debug, Clone)]
pub struct AadError {
    /// The code.
    pub code: ErrorCode,
    /// The message after `AADSTSnnn: `.
    pub message: String,
    /// Correlation id to echo (the client's `client-request-id` when it sent a GUID).
    pub correlation_id: Option<Uuid>,
    /// Time of the failure.
    pub timestamp: OffsetDateTime,
}

impl AadError {
    /// An error with its message; timestamp now, fresh correlation id.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            correlation_id: None,
            timestamp: OffsetDateTime::now_utc(),
        }
    }

    /// Sets the correlation id and time.
    pub fn with_context(mut self, correlation_id: Option<Uuid>, now: OffsetDateTime) -> Self {
        self.correlation_id = correlation_id.or(self.correlation_id);
        self.timestamp = now;
        self
    }

    /// 900144 for a missing parameter.
    pub fn missing(parameter: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// 9002313 with a detail.
    pub fn malformed(detail: &str) -> Self {
        Self::new(
            ErrorCode::MalformedRequest,
            format!("Invalid request. Request is malformed or invalid. {detail}"),
        )
    }

    /// 90002 for a tenant name that resolves to nothing.
    pub fn tenant_not_found(tenant: &str) -> Self {
        Self::new(
            ErrorCode::TenantNotFound,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. \
                 Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let trace_id = Uuid::new_v4();
        let correlation_id = self.correlation_id.unwrap_or_else(Uuid::new_v4);
        let timestamp = format_timestamp(self.timestamp);
        let number = self.code.number();
        ErrorBody {
            error: self.code.error(),
            error_description: format!(
                "AADSTS{number}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.message
            ),
            error_codes: vec![number],
            timestamp,
            trace_id: trace_id.to_string(),
            correlation_id: correlation_id.to_string(),
            error_uri: format!("https://login.microsoftonline.com/error?code={number}"),
        }
    }
}

/// The wire form of an [`AadError`].
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// OAuth error string.
    pub error: &'static str,
    /// `AADSTSnnn: message` plus trace, correlation and time lines.
    pub error_description: String,
    /// The AADSTS numbers.
    pub error_codes: Vec<u32>,
    /// `yyyy-MM-dd HH:mm:ssZ`.
    pub timestamp: String,
    /// Trace id.
    pub trace_id: String,
    /// Correlation id.
    pub correlation_id: String,
    /// Error lookup page.
    pub error_uri: String,
}

/// Entra's error timestamp format: `2016-01-09 02:02:12Z`.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "cache-control",
            HeaderValue::from_static("no-store, no-cache"),
        );
        headers.insert("pragma", HeaderValue::from_static("no-cache"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.code == ErrorCode::PostOnly {
            headers.insert("allow", HeaderValue::from_static("POST, OPTIONS"));
        }
        if self.code.status() == StatusCode::UNAUTHORIZED {
            // RFC 6749 §5.2 / RFC 7235 §3.1: a 401 names the scheme the client can
            // authenticate with at the token endpoint (client_secret_basic).
            headers.insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"palisade\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Logs an internal failure and returns the opaque AADSTS50000 error.
pub fn internal<E: std::fmt::Display>(e: E) -> AadError {
    tracing::error!(error = %e, "token service failure");
    AadError::new(
        ErrorCode::ServerError,
        "An internal error occurred. Retry the request.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_entra_shape() {
        let t = time::macros::datetime!(2016-01-09 02:02:12 UTC);
        let cid = Uuid::new_v4();
        let e = AadError::new(
            ErrorCode::InvalidClientSecret,
            "Invalid client secret provided.",
        )
        .with_context(Some(cid), t);
        let b = e.body();
        assert_eq!(b.error, "invalid_client");
        assert_eq!(b.error_codes, vec![7000215]);
        assert_eq!(b.timestamp, "2016-01-09 02:02:12Z");
        assert_eq!(b.correlation_id, cid.to_string());
        assert!(b
            .error_description
            .starts_with("AADSTS7000215: Invalid client secret provided.\r\nTrace ID: "));
        assert!(b
            .error_description
            .ends_with("\r\nTimestamp: 2016-01-09 02:02:12Z"));
        assert_eq!(
            ErrorCode::InvalidClientSecret.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(ErrorCode::TenantNotFound.status(), StatusCode::BAD_REQUEST);
    }
}
