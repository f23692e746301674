//! The HTTP handlers: authorization pipeline and the three incident methods.

use crate::access::{missing_right_message, required_right, Authorized, Visibility};
use crate::auth::{CallerKind, TokenError, TokenValidator};
use crate::error::ApiError;
use crate::gate::Refusal;
use crate::model::{Incident, IncidentEntity, ODATA_METADATA};
use crate::odata::{parse_list_query, split_query};
use crate::patch::{parse_patch, plan_update};
use crate::permissions::{check_token_permission, Operation};
use crate::quota::QuotaTracker;
use crate::rendered::{page_body, PageKey, RenderedIncidents, RenderedPages};
use crate::DefenderState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use palisade_store::{IncidentRow, IncidentUpdateOutcome, IncidentVisibility};
use std::sync::Arc;

pub(crate) struct App {
    pub(crate) state: DefenderState,
    validator: TokenValidator,
    quotas: QuotaTracker,
    rendered: RenderedIncidents,
    pages: RenderedPages,
}

pub(crate) fn build(state: DefenderState) -> Router {
    let app = Arc::new(App {
        validator: TokenValidator::new(Arc::clone(&state.keys)),
        quotas: QuotaTracker::new(state.quotas.clone()),
        rendered: RenderedIncidents::default(),
        pages: RenderedPages::default(),
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
        .route("/api/palisade/whoami", get(whoami))
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

    /// Token → tenant → (delegated) the user exists and is enabled, with their rights and
    /// device groups. No permission is checked yet.
    pub(crate) async fn identify(&self, headers: &HeaderMap) -> Result<Authorized, ApiError> {
        match crate::gate::identify(&self.state, &self.validator, headers).await {
            Ok(auth) => Ok(auth),
            Err(Refusal::Token(e)) => Err(self.unauthorized(&e)),
            Err(Refusal::User(m)) => Err(self.unauthorized_user(m)),
            Err(Refusal::Failed(e)) => Err(e),
        }
    }

    /// [`App::identify`] → the token's permission and (delegated) the user's right → quota.
    /// A 403 names what is missing: the scope, the right, or both.
    pub(crate) async fn authorize(
        &self,
        headers: &HeaderMap,
        op: Operation,
    ) -> Result<Authorized, ApiError> {
        let auth = self.identify(headers).await?;
        let caller = &auth.caller;
        if caller.kind == CallerKind::Delegated {
            let mut missing = Vec::new();
            if let Err(m) = check_token_permission(caller, op) {
                missing.push(m);
            }
            if !auth.rights.contains(&required_right(op)) {
                missing.push(missing_right_message(op));
            }
            if !missing.is_empty() {
                return Err(ApiError::Forbidden(missing.join(" ")));
            }
        } else {
            check_token_permission(caller, op).map_err(ApiError::Forbidden)?;
        }
        // Hunting quotas are per tenant; incident quotas per (tenant, app).
        let quota_app = if op == Operation::RunHuntingQuery {
            ""
        } else {
            caller.app_id.as_str()
        };
        self.quotas
            .check(&caller.tenant_id, quota_app, op, self.state.clock.now())
            .map_err(|q| ApiError::TooManyRequests {
                limit: q.max_calls,
                window: q.window,
                retry_after_secs: q.retry_after_secs,
            })?;
        Ok(auth)
    }

    fn unauthorized_user(&self, description: &str) -> ApiError {
        ApiError::Unauthorized {
            description: description.to_string(),
            authorization_uri: format!(
                "{}/common/oauth2/authorize",
                self.state.authority_host.trim_end_matches('/')
            ),
        }
    }
}

fn visibility(v: &Visibility) -> IncidentVisibility<'_> {
    match v {
        Visibility::All => IncidentVisibility::All,
        Visibility::Groups(g) => IncidentVisibility::DeviceGroups(g),
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

pub(crate) fn host_of(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
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
    let auth = app.authorize(&headers, Operation::ListIncidents).await?;
    let caller = &auth.caller;
    let q = parse_list_query(uri.query()).map_err(|e| ApiError::OData(e.0))?;
    // A caller who sees the whole tenant gets the page kept at the tenant's incident version
    // when there is one; the version is read before the rows, so a page kept now is never
    // older than the version it is kept at.
    let kept = match auth.visibility {
        Visibility::All => app
            .state
            .store
            .incident_version(&caller.tenant_id)
            .await?
            .map(|version| {
                let key = PageKey {
                    tenant_id: caller.tenant_id.clone(),
                    host: host_of(&headers, &uri),
                    path: uri.path().to_string(),
                    query: uri.query().unwrap_or("").to_string(),
                };
                (key, version)
            }),
        Visibility::Groups(_) => None,
    };
    if let Some((key, version)) = &kept {
        if let Some(page) = app.pages.get(key, *version) {
            return Ok(json_page(page));
        }
    }
    let mut rows = app
        .state
        .store
        .list_visible_incidents(
            &caller.tenant_id,
            visibility(&auth.visibility),
            q.filter.as_ref(),
            q.skip,
            q.top + 1,
        )
        .await?;
    let more = q.top > 0 && rows.len() as i64 > q.top;
    rows.truncate(usize::try_from(q.top).unwrap_or(0));
    let value = rows
        .iter()
        .map(|r| app.rendered.json(r))
        .collect::<Result<Vec<_>, _>>()?;
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
    let page = page_body(
        &format!("{ODATA_METADATA}#Incidents"),
        value,
        next_link.as_deref(),
    )?;
    if let Some((key, version)) = kept {
        app.pages.put(key, version, page.clone());
    }
    Ok(json_page(page))
}

/// A list page as the response: one body with its length (no chunked framing, one pass
/// through TLS, as a static file is served).
fn json_page(page: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        page,
    )
        .into_response()
}

async fn get_incident(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let auth = app.authorize(&headers, Operation::GetIncident).await?;
    let caller = &auth.caller;
    let id = parse_id(id)?;
    ensure_visible(&app, &auth, id).await?;
    let row = app
        .state
        .store
        .get_incident(&caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Incident {id} was not found.")))?;
    let incident = render(&row)?;
    Ok(Json(IncidentEntity::new(&incident)).into_response())
}

/// An incident outside the caller's device groups is not found (404), as in the portal.
async fn ensure_visible(app: &App, auth: &Authorized, id: i64) -> Result<(), ApiError> {
    if auth.visibility == Visibility::All {
        return Ok(());
    }
    if app
        .state
        .store
        .incident_visible(&auth.caller.tenant_id, id, visibility(&auth.visibility))
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("Incident {id} was not found.")))
    }
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
    let auth = app.authorize(&headers, Operation::UpdateIncident).await?;
    let caller = &auth.caller;
    let id = parse_id(id)?;
    ensure_visible(&app, &auth, id).await?;
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
    let auth = app.authorize(&headers, Operation::RunHuntingQuery).await?;
    let caller = &auth.caller;
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
    // Users scoped to device groups read only their devices' rows, enforced in every scan.
    let scope = match &auth.visibility {
        Visibility::All => crate::hunting::HuntScope::tenant(caller.tenant_id.clone()),
        Visibility::Groups(groups) => crate::hunting::HuntScope {
            tenant_id: caller.tenant_id.clone(),
            devices: Some(
                app.state
                    .user_access
                    .devices_in_groups(&caller.tenant_id, groups)
                    .await
                    .map_err(ApiError::internal)?,
            ),
            since: None,
        },
    };
    let out = engine.run(&scope, &query, now).await?;
    Ok(Json(crate::hunting::defender_response(&out)).into_response())
}

/// `GET /api/palisade/whoami` — a Palisade extension (the real service has no such
/// endpoint): who the token is and what the caller may do and see here, for
/// `palisade whoami`. Any valid token may ask.
async fn whoami(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let auth = app.identify(&headers).await?;
    let c = &auth.caller;
    let delegated = c.kind == CallerKind::Delegated;
    let groups = match &auth.visibility {
        Visibility::All => serde_json::json!("all"),
        Visibility::Groups(ids) => serde_json::json!(app
            .state
            .user_access
            .group_names(&c.tenant_id, ids)
            .await
            .map_err(ApiError::internal)?),
    };
    Ok(Json(serde_json::json!({
        "tenantId": c.tenant_id,
        "context": if delegated { "delegated" } else { "application" },
        "appId": c.app_id,
        "objectId": c.object_id,
        "userPrincipalName": if delegated { c.user_principal_name.clone() } else { None },
        "scopes": c.scopes,
        "roles": c.roles,
        "rights": auth.rights.iter().map(|r| r.display_name()).collect::<Vec<_>>(),
        "deviceGroups": groups,
    }))
    .into_response())
}
