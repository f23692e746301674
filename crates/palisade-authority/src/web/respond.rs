//! How a flow answers the app: a redirect to its registered redirect URI with the code
//! or the error in the query, the fragment or an auto-submitted form (`response_mode`),
//! and the error page for failures that must not be redirected (an unknown client, an
//! unregistered redirect URI: AADSTS50011 is never sent to the URI presented).

use crate::error::AadError;
use crate::request::EndpointVersion;
use crate::response::opaque;
use crate::web::pages::{csp, html, page, Branding, ErrorPage, FormPostPage};
use crate::Authority;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// How the result goes back to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    /// `?code=…`.
    Query,
    /// `#code=…`.
    Fragment,
    /// An auto-submitted form.
    FormPost,
}

/// Where and how to send the result.
#[derive(Debug, Clone)]
pub struct AppRedirect {
    /// The validated redirect URI.
    pub redirect_uri: String,
    /// Query, fragment or form_post.
    pub mode: ResponseMode,
    /// `state` to echo.
    pub state: Option<String>,
    /// v1 adds `session_state`.
    pub version: EndpointVersion,
}

fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl AppRedirect {
    /// Sends `fields` (plus `state`) to the app.
    pub fn send(&self, mut fields: Vec<(String, String)>) -> Response {
        if let Some(s) = &self.state {
            fields.push(("state".into(), s.clone()));
        }
        match self.mode {
            ResponseMode::Query | ResponseMode::Fragment => {
                let sep = if self.mode == ResponseMode::Fragment {
                    "#"
                } else if self.redirect_uri.contains('?') {
                    "&"
                } else {
                    "?"
                };
                let location = format!("{}{sep}{}", self.redirect_uri, encode(&fields));
                let mut r = StatusCode::FOUND.into_response();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store, no-cache"),
                );
                r.headers_mut()
                    .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
                r
            }
            ResponseMode::FormPost => {
                let nonce = opaque(16);
                let body = FormPostPage {
                    action: &self.redirect_uri,
                    fields: &fields,
                    nonce: &nonce,
                }
                .render()
                .unwrap_or_default();
                let origin = crate::web::pages::origin_of(&self.redirect_uri)
                    .unwrap_or_else(|| "'none'".into());
                html(StatusCode::OK, body, &csp(Some(&origin), Some(&nonce)))
            }
        }
    }

    /// The code.
    pub fn success(&self, code: &str, session: Option<&str>) -> Response {
        let mut fields = vec![("code".to_string(), code.to_string())];
        if self.version == EndpointVersion::V1 {
            if let Some(s) = session {
                fields.push(("session_state".into(), s.to_string()));
            }
        }
        self.send(fields)
    }
}

/// Sends an error to the app: `error`, `error_description` (`AADSTSnnn: …`), `error_uri`.
pub fn redirect_to_app(r: &AppRedirect, e: &AadError) -> Response {
    let body = e.body();
    r.send(vec![
        ("error".into(), body.error.to_string()),
        ("error_description".into(), body.error_description),
        ("error_uri".into(), body.error_uri),
    ])
}

/// Entra's error page.
pub fn error_page(authority: &Authority, brand: &Branding, e: &AadError) -> Response {
    let e = e
        .clone()
        .with_context(e.correlation_id, authority.clock().now());
    let body = e.body();
    let message = body
        .error_description
        .split("\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    page(
        StatusCode::BAD_REQUEST,
        &ErrorPage {
            brand,
            message: &message,
            request_id: &body.trace_id,
            correlation_id: &body.correlation_id,
            timestamp: &body.timestamp,
        },
    )
}
