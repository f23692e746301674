//! `/admin/{tenant}/sentinel`: a tenant's Microsoft Sentinel workspace connection (the
//! unified portal's advanced hunting: Sentinel tables and the Log Analytics columns of the
//! XDR tables). `GET` the status, `PUT` to connect (body optional: `{"workspaceId": GUID}`;
//! a new GUID otherwise; connecting again keeps the first workspace), `DELETE` to disconnect.
//! The connection changes what the tenant's next hunting query sees, nothing else.

use crate::graph::GraphError;
use crate::state::{parse_json, AdminState, ApiResult, PathTenant};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use palisade_directory::DirectoryError;
use palisade_store::SentinelWorkspaceRow;
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes, relative to `/admin/{tenant}`.
pub(crate) fn routes() -> Router<AdminState> {
    Router::new().route("/sentinel", get(status).put(connect).delete(disconnect))
}

fn status_json(tenant_id: &str, w: Option<&SentinelWorkspaceRow>) -> Value {
    let connected = w.map(|w| {
        time::OffsetDateTime::from_unix_timestamp(w.connected_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    });
    json!({
        "tenantId": tenant_id,
        "connected": w.is_some(),
        "workspaceId": w.map(|w| w.workspace_id.clone()),
        "connectedDateTime": connected.flatten(),
    })
}

fn store_error(e: palisade_store::StoreError) -> GraphError {
    GraphError::from(DirectoryError::Store(e))
}

async fn status(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    let w = s
        .directory
        .store()
        .sentinel_workspace(&t.id)
        .await
        .map_err(store_error)?;
    Ok(Json(status_json(&t.id, w.as_ref())).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Connect {
    workspace_id: Option<String>,
}

async fn connect(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req: Connect = if body.is_empty() {
        Connect::default()
    } else {
        parse_json(&headers, &body)?
    };
    let workspace = match req.workspace_id {
        Some(w) => uuid::Uuid::parse_str(&w)
            .map_err(|_| GraphError::bad_request("workspaceId must be a GUID."))?,
        None => uuid::Uuid::new_v4(),
    };
    let now = s.directory.clock().now().unix_timestamp();
    let w = s
        .directory
        .store()
        .connect_sentinel(&t.id, &workspace.to_string(), now)
        .await
        .map_err(store_error)?;
    Ok(Json(status_json(&t.id, Some(&w))).into_response())
}

async fn disconnect(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    s.directory
        .store()
        .disconnect_sentinel(&t.id)
        .await
        .map_err(store_error)?;
    Ok(Json(status_json(&t.id, None)).into_response())
}
