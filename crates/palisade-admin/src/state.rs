//! What every admin handler shares: the state it works on, how it reads a JSON body
//! ([`GraphJson`]), and how it resolves the tenant of its path ([`PathTenant`]) — the
//! preamble every handler used to repeat. Its own module so that `routes.rs`,
//! `users.rs` and `certificates.rs` import it and not each other.

use crate::graph::GraphError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;
use palisade_authority::KeyManager;
use palisade_directory::Directory;
use palisade_store::TenantRow;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

/// What the admin API works on.
#[derive(Clone, Debug)]
pub struct AdminState {
    /// The directory.
    pub directory: Directory,
    /// The token service's signing keys.
    pub keys: Arc<KeyManager>,
}

/// What a handler answers: a response, or an error in Graph's shape.
pub(crate) type ApiResult = Result<Response, GraphError>;

/// Reads a JSON request body (`Content-Type: application/json` required) into `T`.
pub(crate) fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, GraphError> {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !is_json {
        return Err(GraphError::bad_request(
            "Content-Type must be application/json.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}")))
}

/// The tenant a path names (id or domain), or Graph's 404.
pub(crate) async fn tenant(state: &AdminState, segment: &str) -> Result<TenantRow, GraphError> {
    state
        .directory
        .resolve_tenant(segment)
        .await?
        .ok_or_else(|| GraphError::not_found(format!("Tenant '{segment}' does not exist.")))
}

/// The tenant named by the request path's `{tenant}` segment, resolved (Graph's 404 when
/// unknown).
pub(crate) struct PathTenant(pub TenantRow);

impl FromRequestParts<AdminState> for PathTenant {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| GraphError::bad_request(format!("Invalid request path: {e}")))?;
        let segment = params
            .get("tenant")
            .ok_or_else(|| GraphError::bad_request("The request path names no tenant."))?;
        Ok(PathTenant(tenant(state, segment).await?))
    }
}

/// A JSON request body read with [`parse_json`] (Graph's 400 otherwise).
pub(crate) struct GraphJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for GraphJson<T> {
    type Rejection = GraphError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}")))?;
        parse_json(&headers, &body).map(GraphJson)
    }
}
