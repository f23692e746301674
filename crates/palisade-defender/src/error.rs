//! Defender error responses: `{"error":{"code":…,"message":…,"target":"<guid>"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error as the Defender API puts it on the wire. Internal details never reach the body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 `Unauthorized`, with a `WWW-Authenticate: Bearer …` challenge.
    #[error("unauthorized: {description}")]
    Unauthorized {
        /// Why the token was refused (goes to the message and `error_description`).
        description: String,
        /// The `authorization_uri` to advertise.
        authorization_uri: String,
    },
    /// 400 `BadRequest` for a malformed authorization (RFC 6750 §3.1 `invalid_request`,
    /// e.g. two `Authorization` headers), with a `WWW-Authenticate: Bearer …,
    /// error="invalid_request"` challenge.
    #[error("invalid authorization request: {description}")]
    InvalidAuthorizationRequest {
        /// What is wrong (goes to the message and `error_description`).
        description: String,
        /// The `authorization_uri` to advertise.
        authorization_uri: String,
    },
    /// 403 `Forbidden`: valid token, missing permission.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 400 `ODataError`: the detail goes into `Invalid OData URI query <detail>.`.
    #[error("odata error: {0}")]
    OData(String),
    /// 400 `InvalidInput`: the detail goes into `Invalid input <detail>.`.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// 400 `InvalidRequestBody`.
    #[error("invalid request body: {0}")]
    InvalidRequestBody(String),
    /// 400 `BadRequest`.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404 `ResourceNotFound`.
    #[error("not found: {0}")]
    NotFound(String),
    /// 429 with the literal code `"429"` and a `Retry-After` header.
    #[error("quota exceeded: {limit} per {window}")]
    TooManyRequests {
        /// The limit that was hit.
        limit: u32,
        /// The window as a .NET TimeSpan (`00:01:00`, `01:00:00`).
        window: String,
        /// Seconds until a call may succeed.
        retry_after_secs: u64,
    },
    /// 500 `InternalServerError`; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::OData(_)
            | ApiError::InvalidAuthorizationRequest { .. }
            | ApiError::InvalidInput(_)
            | ApiError::InvalidRequestBody(_)
            | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::OData(_) => "ODataError",
            ApiError::InvalidInput(_) => "InvalidInput",
            ApiError::InvalidRequestBody(_) => "InvalidRequestBody",
            ApiError::BadRequest(_) | ApiError::InvalidAuthorizationRequest { .. } => "BadRequest",
            ApiError::NotFound(_) => "ResourceNotFound",
            ApiError::TooManyRequests { .. } => "429",
            ApiError::Internal(_) => "InternalServerError",
        }
    }

    /// The human-readable `message`.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized { description, .. }
            | ApiError::InvalidAuthorizationRequest { description, .. } => description.clone(),
            ApiError::Forbidden(m) => m.clone(),
            ApiError::OData(d) => format!("Invalid OData URI query {}.", d.trim_end_matches('.')),
            ApiError::InvalidInput(d) => format!("Invalid input {}.", d.trim_end_matches('.')),
            ApiError::InvalidRequestBody(d) => {
                if d.is_empty() {
                    "Invalid request body.".to_string()
                } else {
                    format!("Invalid request body. {d}")
                }
            }
            ApiError::BadRequest(m) => m.clone(),
            ApiError::NotFound(m) => m.clone(),
            ApiError::TooManyRequests { limit, window, .. } => {
                format!("API calls quota exceeded! maximum allowed {limit} per {window}")
            }
            ApiError::Internal(_) => "An internal error occurred.".to_string(),
        }
    }

    /// Logs the cause of an internal error and returns the opaque 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "defender internal error");
        ApiError::Internal(cause.to_string())
    }
}

impl From<palisade_store::StoreError> for ApiError {
    fn from(e: palisade_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// Makes a string safe inside an HTTP quoted-string.
fn quote_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() || !c.is_ascii() {
                '\''
            } else {
                c
            }
        })
        .collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let target = uuid::Uuid::new_v4().to_string();
        let body =
            json!({"error": {"code": self.code(), "message": self.message(), "target": target}});
        let mut resp = (self.status(), axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        match &self {
            ApiError::Unauthorized {
                description,
                authorization_uri,
            }
            | ApiError::InvalidAuthorizationRequest {
                description,
                authorization_uri,
            } => {
                let error = if matches!(self, ApiError::Unauthorized { .. }) {
                    "invalid_token"
                } else {
                    "invalid_request"
                };
                let challenge = format!(
                    "Bearer authorization_uri=\"{}\", error=\"{error}\", error_description=\"{}\"",
                    quote_safe(authorization_uri),
                    quote_safe(description)
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        resp
    }
}
