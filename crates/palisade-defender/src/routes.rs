//! The HTTP handlers: authorization pipeline and the three incident methods.

use crate::auth::{bearer_token, Caller, CallerKind, TokenError, TokenValidator};
use crate::error::ApiError;
use crate::model::{Incident, IncidentCollection, IncidentEntity, ODATA_METADATA};
use crate::odata::{parse_list_query, split_query};
use crate::patch::{parse_patch, plan_update};
use crate::permissions::{check_token_permission, Operation};
use crate::quota::QuotaTracker;
use crate::DefenderState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use palisade_store::{IncidentRow, IncidentUpdateOutcome};
use std::sync::Arc;

pub(crate) struct App {
    pub(crate) state: DefenderState,
    validator: TokenValidator,
    quotas: QuotaTracker,
}

pub(crate) fn build(state: DefenderState) -> Router {
    let app = Arc::new(App {
        validator: TokenValidator::new(Arc::clone(&state.keys)),
        quotas: QuotaTracker::new(state.quotas.clone()),
        state,
    });
    Router::new()
        .route("/api/incidents", get(list_incidents))
        .route(
            "/api/incidents/{id}",
            get(get_incident).patch(update_incident),
        )
        .route(
            "/api/advancedhunting/run",
            axum::routing::post(run_hunting_query),
        )
        .route(
            "/api/v1.0/advancedhunting/run",
            axum::routing::post(run_hunting_query),
        )
        .route("/api/v1.0/incidents", get(list_incidents))
        .route(
            "/api/v1.0/incidents/{id}",
            get(get_incident).patch(update_incident),
        )
        .with_state(app)
}

impl App {
    fn unauthorized(&self, e: &TokenError) -> ApiError {
        let authorization_uri = format!(
            "{}/common/oauth2/authorize",
            self.state.authority_host.trim_end_matches('/')
        );
        let description = e.to_string();
        if *e == TokenError::DuplicateAuthorization {
            return ApiError::InvalidAuthorizationRequest {
                description,
                authorization_uri,
            };
        }
        ApiError::Unauthorized {
            description,
            authorization_uri,
        }
    }

    /// Token → tenant → permission → user role → quota.
    pub(crate) async fn authorize(
        &self,
        headers: &HeaderMap,
        op: Operation,
    ) -> Result<Caller, ApiError> {
        let token = bearer_token(headers).map_err(|e| self.unauthorized(&e))?;
        let now = self.state.clock.now();
        let caller = self
            .validator
            .validate(token, now)
            .map_err(|e| self.unauthorized(&e))?;
        if self
            .state
            .store
            .get_tenant(&caller.tenant_id)
            .await?
            .is_none()
        {
            return Err(self.unauthorized(&TokenError::UnknownTenant));
        }
        check_token_permission(&caller, op).map_err(ApiError::Forbidden)?;
        if caller.kind == CallerKind::Delegated && !self.state.user_roles.allows(&caller, op).await
        {
            return Err(ApiError::Forbidden(
                "The signed-in user does not have a role that allows this operation.".to_string(),
            ));
        }
        // Hunting quotas are per tenant; incident quotas per (tenant, app).
        let quota_app = if op == Operation::RunHuntingQuery {
            ""
        } else {
            caller.app_id.as_str()
        };
        self.quotas
            .check(&caller.tenant_id, quota_app, op, now)
            .map_err(|q| ApiError::TooManyRequests {
                limit: q.max_calls,
                window: q.window,
                retry_after_secs: q.retry_after_secs,
            })?;
        Ok(caller)
    }
}

fn render(row: &IncidentRow) -> Result<Incident, ApiError> {
    Incident::from_row(row).map_err(ApiError::internal)
}

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(id) = raw
        .map_err(|_| ApiError::BadRequest("The incident id in the path is invalid.".to_string()))?;
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidInput(format!(
            "incident id '{}'; a numeric incident id is required",
            id.chars().take(64).collect::<String>()
        )));
    }
    id.parse::<i64>()
        .map_err(|_| ApiError::InvalidInput("incident id; the value is out of range".to_string()))
}

fn host_of(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let host = uri.authority().map(|a| a.as_str().to_string()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    match host {
        Some(h)
            if !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)) =>
        {
            h
        }
        _ => "api.security.microsoft.com".to_string(),
    }
}

async fn list_incidents(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let caller = app.authorize(&headers, Operation::ListIncidents).await?;
    let q = parse_list_query(uri.query()).map_err(|e| ApiError::OData(e.0))?;
    let mut rows = app
        .state
        .store
        .list_incidents(&caller.tenant_id, q.filter.as_ref(), q.skip, q.top + 1)
        .await?;
    let more = q.top > 0 && rows.len() as i64 > q.top;
    rows.truncate(usize::try_from(q.top).unwrap_or(0));
    let value = rows.iter().map(render).collect::<Result<Vec<_>, _>>()?;
    let next_link = if more {
        let mut parts: Vec<String> = split_query(uri.query().unwrap_or(""))
            .map_err(|e| ApiError::OData(e.0))?
            .into_iter()
            .filter(|(name, _, _)| name != "$skip")
            .map(|(_, _, raw)| raw.to_string())
            .collect();
        parts.push(format!("$skip={}", q.skip.saturating_add(q.top)));
        Some(format!(
            "https://{}{}?{}",
            host_of(&headers, &uri),
            uri.path(),
            parts.join("&")
        ))
    } else {
        None
    };
    Ok(Json(IncidentCollection {
        context: format!("{ODATA_METADATA}#Incidents"),
        value,
        next_link,
    })
    .into_response())
}

async fn get_incident(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let caller = app.authorize(&headers, Operation::GetIncident).await?;
    let id = parse_id(id)?;
    let row = app
        .state
        .store
        .get_incident(&caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Incident {id} was not found.")))?;
    let incident = render(&row)?;
    Ok(Json(IncidentEntity::new(&incident)).into_response())
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn update_incident(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = app.authorize(&headers, Operation::UpdateIncident).await?;
    let id = parse_id(id)?;
    if !is_json(&headers) {
        return Err(ApiError::BadRequest(
            "The Content-Type header must be application/json.".to_string(),
        ));
    }
    let body =
        body.map_err(|_| ApiError::InvalidRequestBody("The body could not be read.".to_string()))?;
    let patch = parse_patch(&body)?;
    let author = caller.author();
    let now = app.state.clock.now();
    let outcome = app
        .state
        .store
        .update_incident_with(&caller.tenant_id, id, |current| {
            plan_update(current, &patch, &author, now)
        })
        .await?;
    match outcome {
        IncidentUpdateOutcome::Updated(row) => {
            let incident = render(&row)?;
            Ok(Json(IncidentEntity::new(&incident)).into_response())
        }
        IncidentUpdateOutcome::NotFound => {
            Err(ApiError::NotFound(format!("Incident {id} was not found.")))
        }
        IncidentUpdateOutcome::Rejected(e) => Err(e),
    }
}

/// `POST /api/advancedhunting/run`: the caller's tenant, the query from the body, the engine
/// behind [`crate::HuntingService`], Defender's response shape.
async fn run_hunting_query(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.authorize(&headers, Operation::RunHuntingQuery).await?;
    if !is_json(&headers) {
        return Err(ApiError::BadRequest(
            "The Content-Type header must be application/json.".into(),
        ));
    }
    let query = crate::hunting::parse_body(&body)?;
    let Some(engine) = app.state.hunting.clone() else {
        return Err(ApiError::Internal(
            "advanced hunting is not configured".into(),
        ));
    };
    let now = app.state.clock.now();
    let scope = crate::hunting::HuntScope::tenant(caller.tenant_id.clone());
    let out = engine.run(&scope, &query, now).await?;
    Ok(Json(crate::hunting::defender_response(&out)).into_response())
}
