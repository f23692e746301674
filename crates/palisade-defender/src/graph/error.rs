//! Graph's error envelope (graph.md §6): `{"error":{"code","message","innerError":{"date",
//! "request-id","client-request-id"}}}` with `request-id`/`client-request-id` headers on
//! every response. Handlers return a [`GraphError`]; the [`envelope`] middleware, which
//! owns the request's ids and the clock, writes the body.

use crate::auth::TokenError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use palisade_clock::SharedClock;
use serde_json::json;

/// An error as Graph puts it on the wire. Internal causes are logged, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
    /// A `WWW-Authenticate` challenge (401).
    pub challenge: Option<String>,
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            challenge: None,
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 403 `Forbidden` (security API).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 404 `NotFound` (security API; the real code is not documented, graph.md §11).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 429 `TooManyRequests` with `Retry-After`.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests from this application in this tenant. Please try again later.",
            )
        }
    }

    /// 503 `ServiceNotAvailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceNotAvailable",
            message,
        )
    }

    /// 500 `UnknownError`; the cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "graph internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "UnknownError", "")
    }

    /// 401 `InvalidAuthenticationToken` (or 400 for two `Authorization` headers), with
    /// Graph's challenge naming the authority.
    pub fn token(e: &TokenError, authority_host: &str) -> Self {
        let message = match e {
            TokenError::Missing => "Access token is empty.".to_string(),
            TokenError::Audience => {
                "Access token validation failure. Invalid audience.".to_string()
            }
            TokenError::Expired => "Lifetime validation failed, the token is expired.".to_string(),
            other => format!("Access token validation failure. {other}"),
        };
        if *e == TokenError::DuplicateAuthorization {
            return Self::bad_request(e.to_string());
        }
        Self::unauthorized(message, authority_host)
    }

    /// 401 `InvalidAuthenticationToken` with `message`.
    pub fn unauthorized(message: impl Into<String>, authority_host: &str) -> Self {
        Self {
            challenge: Some(format!(
                "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                authority_host.trim_end_matches('/')
            )),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                message,
            )
        }
    }
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for GraphError {}

impl From<palisade_store::StoreError> for GraphError {
    fn from(e: palisade_store::StoreError) -> Self {
        GraphError::internal(e)
    }
}

impl From<crate::error::ApiError> for GraphError {
    fn from(e: crate::error::ApiError) -> Self {
        GraphError::internal(e)
    }
}

/// The error's parts, carried to [`envelope`] in the response's extensions.
#[derive(Clone)]
struct Pending(GraphError);

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status;
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(c) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        resp.extensions_mut().insert(Pending(self));
        resp
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The `Content-Type` of Graph's JSON answers.
pub const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Middleware: gives each request a `request-id` (and echoes a well-formed
/// `client-request-id`, else repeats the request id), and writes a pending
/// [`GraphError`]'s envelope with those ids and the date.
pub async fn envelope(State(clock): State<SharedClock>, request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.{}".contains(&b))
        })
        .map_or_else(|| request_id.clone(), str::to_string);
    let mut resp = next.run(request).await;
    // Graph's innerError date: no fraction, no zone.
    let graph_date = || {
        let date = clock.now();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            date.hour(),
            date.minute(),
            date.second()
        )
    };
    if let Some(Pending(e)) = resp.extensions_mut().remove::<Pending>() {
        let date = graph_date();
        let body = json!({"error": {
            "code": e.code,
            "message": e.message,
            "innerError": {"date": date, "request-id": request_id, "client-request-id": client_request_id},
        }});
        *resp.body_mut() = Body::from(body.to_string());
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    } else if (resp.status().is_client_error() || resp.status().is_server_error())
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        // An error answered by a handler behind this front (the directory paths forward to
        // the admin API's handlers): its envelope gets this request's ids, like ours.
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(mut v) if v["error"].is_object() => {
                v["error"]["innerError"]["date"] = json!(graph_date());
                v["error"]["innerError"]["request-id"] = json!(request_id);
                v["error"]["innerError"]["client-request-id"] = json!(client_request_id);
                Body::from(v.to_string())
            }
            _ => Body::from(bytes),
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp = Response::from_parts(parts, body);
    } else if resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
        resp.headers_mut().insert(
            HeaderName::from_static("odata-version"),
            HeaderValue::from_static("4.0"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        resp.headers_mut().insert(CLIENT_REQUEST_ID, v);
    }
    resp
}
