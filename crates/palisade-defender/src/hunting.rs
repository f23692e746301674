//! `POST /api/advancedhunting/run` (spec §9): authorization, quota and the wire shapes.
//! The query engine itself is behind [`HuntingService`], so this crate does not link
//! DataFusion; the binary plugs `palisade-hunting` in.

use crate::error::ApiError;
use crate::permissions::Operation;
use crate::routes::{is_json, App};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use time::OffsetDateTime;

/// One output column: name and .NET type name (`String`, `DateTime`, `Int64`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntingColumn {
    /// Column name.
    pub name: String,
    /// .NET type name.
    pub type_name: String,
}

/// A query's result as the API returns it.
#[derive(Debug, Clone, Default)]
pub struct HuntingOutput {
    /// The `Stats` object.
    pub stats: Value,
    /// Output columns in order.
    pub schema: Vec<HuntingColumn>,
    /// One JSON object per row, keyed by column name.
    pub results: Vec<Map<String, Value>>,
}

/// Why a query did not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HuntingFailure {
    /// Syntax, semantic or unsupported-construct errors: 400 `BadRequest` with the message
    /// (positions included).
    #[error("{0}")]
    BadRequest(String),
    /// The query ran past its time limit: 400 `BadRequest` (as the service reports it).
    #[error("{0}")]
    Timeout(String),
    /// The query needs more memory or output than allowed: 400 `BadRequest`.
    #[error("{0}")]
    TooLarge(String),
    /// Anything else: 500, logged, never detailed to the caller.
    #[error("{0}")]
    Internal(String),
}

/// Whose rows a hunting query may read: one tenant, and inside it every device or only the
/// devices of the caller's device groups (Defender RBAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntScope {
    /// The tenant whose data is read; never another.
    pub tenant_id: String,
    /// `None`: every device. `Some`: only rows of these devices; rows naming another device
    /// are never read (rows and tables that name no device stay visible).
    pub devices: Option<DeviceSet>,
}

/// The devices a scoped caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSet {
    /// `DeviceId` values.
    pub ids: std::collections::BTreeSet<String>,
    /// `DeviceName` values, lower-cased.
    pub names: std::collections::BTreeSet<String>,
}

impl HuntScope {
    /// The whole tenant (application tokens, users scoped to all device groups).
    pub fn tenant(tenant_id: impl Into<String>) -> Self {
        HuntScope {
            tenant_id: tenant_id.into(),
            devices: None,
        }
    }
}

/// The future returned by [`HuntingService::run`].
pub type HuntingFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HuntingOutput, HuntingFailure>> + Send + 'a>>;

/// The engine behind the endpoint. Implementations must restrict every scan to `scope`
/// (tenant and devices) and to the 30 days before `now`.
pub trait HuntingService: Send + Sync + 'static {
    /// Runs `query` within `scope`.
    fn run<'a>(
        &'a self,
        scope: &'a HuntScope,
        query: &'a str,
        now: OffsetDateTime,
    ) -> HuntingFuture<'a>;
}

/// The request body: `{"Query": "…"}`; names are case-sensitive.
fn parse_body(body: &[u8]) -> Result<String, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::InvalidRequestBody("Request body is incorrect: it is not a JSON object.".into())
    })?;
    let object = value.as_object().ok_or_else(|| {
        ApiError::InvalidRequestBody("Request body is incorrect: it is not a JSON object.".into())
    })?;
    for key in object.keys() {
        if key != "Query" {
            return Err(ApiError::InvalidRequestBody(format!(
                "Request body is incorrect: unknown property '{}' (property names are case-sensitive; expected 'Query').",
                key.chars().take(64).collect::<String>()
            )));
        }
    }
    match object.get("Query") {
        Some(Value::String(q)) if !q.trim().is_empty() => Ok(q.clone()),
        Some(Value::String(_)) | None => {
            Err(ApiError::BadRequest("Parameter Query is missing.".into()))
        }
        Some(_) => Err(ApiError::InvalidRequestBody(
            "Request body is incorrect: 'Query' must be a string.".into(),
        )),
    }
}

pub(crate) async fn run(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = app.authorize(&headers, Operation::RunHuntingQuery).await?;
    let caller = &auth.caller;
    if !is_json(&headers) {
        return Err(ApiError::BadRequest(
            "The Content-Type header must be application/json.".into(),
        ));
    }
    let query = parse_body(&body)?;
    let Some(engine) = app.state.hunting.clone() else {
        return Err(ApiError::Internal(
            "advanced hunting is not configured".into(),
        ));
    };
    let now = app.state.clock.now();
    // Users scoped to device groups read only their devices' rows, enforced in every scan.
    let scope = match &auth.visibility {
        crate::access::Visibility::All => HuntScope::tenant(caller.tenant_id.clone()),
        crate::access::Visibility::Groups(groups) => HuntScope {
            tenant_id: caller.tenant_id.clone(),
            devices: Some(
                app.state
                    .user_access
                    .devices_in_groups(&caller.tenant_id, groups)
                    .await
                    .map_err(ApiError::internal)?,
            ),
        },
    };
    match engine.run(&scope, &query, now).await {
        Ok(out) => Ok(Json(json!({
            "Stats": out.stats,
            "Schema": out.schema.iter().map(|c| json!({"Name": c.name, "Type": c.type_name})).collect::<Vec<_>>(),
            "Results": out.results,
        }))
        .into_response()),
        Err(HuntingFailure::BadRequest(m)) | Err(HuntingFailure::Timeout(m)) | Err(HuntingFailure::TooLarge(m)) => {
            Err(ApiError::BadRequest(m))
        }
        Err(HuntingFailure::Internal(m)) => Err(ApiError::Internal(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_names_are_case_sensitive() {
        assert_eq!(
            parse_body(br#"{"Query":"DeviceInfo | take 1"}"#).unwrap(),
            "DeviceInfo | take 1"
        );
        assert!(matches!(
            parse_body(br#"{"query":"x"}"#),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(br#"{"Query":""}"#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(br#"{"Query":1}"#),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(b"[1]"),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(b"not json"),
            Err(ApiError::InvalidRequestBody(_))
        ));
    }
}
