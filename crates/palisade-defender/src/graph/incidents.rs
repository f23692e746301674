//! `/security/incidents`: list, get (and `$count`), PATCH, the incident's alerts, and
//! comments (graph.md §2).

use super::error::GraphError;
use super::query::{self, next_link, select, Order};
use super::{base_url, visibility, wire, GraphApp, GraphOperation, Version};
use crate::model::{Classification, Determination, IncidentStatus, Severity};
use crate::odata::FilterDialect;
use crate::patch::{
    plan_update, IncidentPatch, MAX_ASSIGNED_TO_LEN, MAX_COMMENT_LEN, MAX_TAGS, MAX_TAG_LEN,
};
use crate::routes::is_json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use palisade_store::{IncidentCommentRow, IncidentOrder, IncidentRow, IncidentUpdateOutcome};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Longest `displayName`.
const MAX_DISPLAY_NAME_LEN: usize = 512;

fn store_order(o: Order) -> IncidentOrder {
    match o {
        Order::CreatedDesc => IncidentOrder::CreatedDesc,
        Order::CreatedAsc => IncidentOrder::CreatedAsc,
        Order::LastUpdateAsc => IncidentOrder::LastUpdateAsc,
        Order::LastUpdateDesc => IncidentOrder::LastUpdateDesc,
    }
}

fn not_found(id: &str) -> GraphError {
    GraphError::not_found(format!(
        "Incident '{}' was not found.",
        id.chars().take(64).collect::<String>()
    ))
}

/// A numeric incident id, else 404 (as for any unknown id).
pub(crate) fn parse_id(id: &str) -> Result<i64, GraphError> {
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found(id));
    }
    id.parse().map_err(|_| not_found(id))
}

fn render(row: &IncidentRow, v: Version, alerts: bool) -> Result<Value, GraphError> {
    wire::incident(row, v, alerts).map_err(GraphError::internal)
}

fn with_context(context: String, entity: Value) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    if let Value::Object(m) = entity {
        out.extend(m);
    }
    Value::Object(out)
}

pub(crate) async fn list(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GraphError> {
    let auth = app
        .authorize(&headers, GraphOperation::ReadIncidents)
        .await?;
    let v = Version::of(&uri);
    let q = query::parse(uri.query(), FilterDialect::GraphIncidents, true, true)?;
    let tenant = &auth.caller.tenant_id;
    let vis = visibility(&auth.visibility);
    let mut rows = app
        .state
        .store
        .list_visible_incidents_ordered(
            tenant,
            vis,
            q.filter.as_ref(),
            store_order(q.order),
            q.skip,
            q.top + 1,
        )
        .await?;
    let more = q.top > 0 && rows.len() as i64 > q.top;
    rows.truncate(usize::try_from(q.top).unwrap_or(0));
    let fragment = if q.expand_alerts {
        "security/incidents(alerts())"
    } else {
        "security/incidents"
    };
    let count = if q.count {
        Some(
            app.state
                .store
                .count_visible_incidents(tenant, vis, q.filter.as_ref())
                .await?,
        )
    } else {
        None
    };
    let next = if more {
        Some(next_link(
            &base_url(&headers, &uri),
            uri.query(),
            q.skip + q.top,
        )?)
    } else {
        None
    };
    let value = rows
        .iter()
        .map(|r| render(r, v, q.expand_alerts).map(|e| select(e, q.select.as_deref())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(query::collection_page(
        v.context(fragment),
        count,
        next,
        value,
    ))
    .into_response())
}

/// The incident if it exists and the caller may see it; else 404.
async fn visible(
    app: &GraphApp,
    auth: &crate::access::Authorized,
    id: i64,
    raw: &str,
) -> Result<IncidentRow, GraphError> {
    let tenant = &auth.caller.tenant_id;
    if !app
        .state
        .store
        .incident_visible(tenant, id, visibility(&auth.visibility))
        .await?
    {
        return Err(not_found(raw));
    }
    app.state
        .store
        .get_incident(tenant, id)
        .await?
        .ok_or_else(|| not_found(raw))
}

pub(crate) async fn get(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
) -> Result<Response, GraphError> {
    let auth = app
        .authorize(&headers, GraphOperation::ReadIncidents)
        .await?;
    let v = Version::of(&uri);
    if raw == "$count" {
        let q = query::parse(uri.query(), FilterDialect::GraphIncidents, true, false)?;
        let n = app
            .state
            .store
            .count_visible_incidents(
                &auth.caller.tenant_id,
                visibility(&auth.visibility),
                q.filter.as_ref(),
            )
            .await?;
        return Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            n.to_string(),
        )
            .into_response());
    }
    let q = query::parse(uri.query(), FilterDialect::GraphIncidents, false, true)?;
    let id = parse_id(&raw)?;
    let row = visible(&app, &auth, id, &raw).await?;
    let fragment = if q.expand_alerts {
        "security/incidents(alerts())/$entity"
    } else {
        "security/incidents/$entity"
    };
    let entity = select(render(&row, v, q.expand_alerts)?, q.select.as_deref());
    Ok(Json(with_context(v.context(fragment), entity)).into_response())
}

pub(crate) async fn alerts(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
) -> Result<Response, GraphError> {
    let auth = app
        .authorize(&headers, GraphOperation::ReadIncidents)
        .await?;
    let v = Version::of(&uri);
    query::parse(uri.query(), FilterDialect::GraphAlerts, false, false)?;
    let id = parse_id(&raw)?;
    let row = visible(&app, &auth, id, &raw).await?;
    let entity = render(&row, v, true)?;
    Ok(Json(json!({
        "@odata.context": v.context(&format!("security/incidents('{id}')/alerts")),
        "value": entity.get("alerts").cloned().unwrap_or(json!([])),
    }))
    .into_response())
}

fn text(field: &str, v: &Value, max: usize) -> Result<Option<String>, GraphError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.chars().count() > max => Err(GraphError::bad_request(format!(
            "The value of '{field}' is longer than {max} characters."
        ))),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        _ => Err(GraphError::bad_request(format!(
            "Cannot convert the literal to the expected type 'Edm.String' of '{field}'."
        ))),
    }
}

fn enum_in<T>(
    field: &str,
    v: &Value,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, GraphError> {
    match v {
        Value::String(s) if !s.eq_ignore_ascii_case("unknownFutureValue") => {
            parse(s).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Invalid value '{s}' for '{field}'. Valid values: {allowed}."
                ))
            })
        }
        _ => Err(GraphError::bad_request(format!(
            "Invalid value for '{field}'. Valid values: {allowed}."
        ))),
    }
}

/// A parsed Graph incident PATCH: the Defender patch (shared rules) plus Graph-only fields.
#[derive(Debug, Default)]
pub(crate) struct GraphIncidentPatch {
    common: IncidentPatch,
    severity: Option<Severity>,
    display_name: Option<String>,
    description: Option<Option<String>>,
    resolving_comment: Option<Option<String>>,
}

fn parse_determination(v: &Value) -> Result<Determination, GraphError> {
    let d = enum_in(
        "determination",
        v,
        Determination::parse,
        &wire::DETERMINATIONS.join(", "),
    )?;
    if d.is_retired() {
        return Err(GraphError::bad_request(format!(
            "The determination '{}' can no longer be set.",
            wire::determination(d.as_str())
        )));
    }
    Ok(d)
}

pub(crate) fn parse_patch(body: &[u8]) -> Result<GraphIncidentPatch, GraphError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
    let Value::Object(map) = value else {
        return Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let mut p = GraphIncidentPatch::default();
    for (key, v) in &map {
        match key.as_str() {
            "@odata.type" => {}
            "status" => {
                p.common.status = Some(enum_in("status", v, IncidentStatus::parse, "active, resolved, inProgress, redirected")?)
            }
            "classification" => {
                p.common.classification = Some(enum_in(
                    "classification",
                    v,
                    Classification::parse,
                    "unknown, falsePositive, truePositive, informationalExpectedActivity",
                )?)
            }
            "determination" => p.common.determination = Some(parse_determination(v)?),
            "severity" => {
                p.severity = Some(enum_in("severity", v, Severity::parse, "unknown, informational, low, medium, high")?)
            }
            "assignedTo" => p.common.assigned_to = Some(text(key, v, MAX_ASSIGNED_TO_LEN)?),
            "displayName" => {
                p.display_name = Some(text(key, v, MAX_DISPLAY_NAME_LEN)?.ok_or_else(|| {
                    GraphError::bad_request("'displayName' cannot be empty.")
                })?)
            }
            "description" => p.description = Some(text(key, v, MAX_COMMENT_LEN)?),
            "resolvingComment" => p.resolving_comment = Some(text(key, v, MAX_COMMENT_LEN)?),
            "customTags" => {
                let Value::Array(items) = v else {
                    return Err(GraphError::bad_request("'customTags' must be an array of strings."));
                };
                if items.len() > MAX_TAGS {
                    return Err(GraphError::bad_request(format!("More than {MAX_TAGS} custom tags.")));
                }
                let mut tags: Vec<String> = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) if !s.trim().is_empty() && s.chars().count() <= MAX_TAG_LEN => {
                            if !tags.contains(s) {
                                tags.push(s.clone());
                            }
                        }
                        _ => {
                            return Err(GraphError::bad_request(format!(
                                "Each custom tag must be a string of 1 to {MAX_TAG_LEN} characters."
                            )))
                        }
                    }
                }
                p.common.tags = Some(tags);
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.security.incident' or cannot be updated."
                )))
            }
        }
    }
    Ok(p)
}

pub(crate) async fn update(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let auth = app
        .authorize(&headers, GraphOperation::WriteIncidents)
        .await?;
    let v = Version::of(&uri);
    let id = parse_id(&raw)?;
    visible(&app, &auth, id, &raw).await?;
    if !is_json(&headers) {
        return Err(GraphError::bad_request(
            "The Content-Type header must be application/json.",
        ));
    }
    let patch = parse_patch(&body)?;
    let author = auth.caller.author();
    let now = app.state.clock.now();
    let outcome = app
        .state
        .store
        .update_incident_with(&auth.caller.tenant_id, id, |current| {
            let mut u = plan_update(current, &patch.common, &author, now).map_err(|e| match e {
                crate::error::ApiError::InvalidInput(m) => {
                    GraphError::bad_request(format!("Invalid value: {m}."))
                }
                other => GraphError::internal(other),
            })?;
            u.severity = patch.severity.map(|s| s.as_str().to_string());
            u.incident_name = patch.display_name.clone();
            u.description = patch.description.clone();
            u.resolving_comment = patch.resolving_comment.clone();
            Ok(u)
        })
        .await?;
    match outcome {
        IncidentUpdateOutcome::Updated(row) => Ok(Json(with_context(
            v.context("security/incidents/$entity"),
            render(&row, v, false)?,
        ))
        .into_response()),
        IncidentUpdateOutcome::NotFound => Err(not_found(&raw)),
        IncidentUpdateOutcome::Rejected(e) => Err(e),
    }
}

/// The comment texts of a comments POST: one `alertComment` object or (as the Kiota SDKs
/// send it) an array of them.
pub(crate) fn parse_comments(body: &[u8]) -> Result<Vec<String>, GraphError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(GraphError::bad_request(
                "The request body must be an alertComment.",
            ))
        }
    };
    if items.is_empty() || items.len() > 10 {
        return Err(GraphError::bad_request("Send between 1 and 10 comments."));
    }
    items
        .iter()
        .map(|item| {
            let Some(map) = item.as_object() else {
                return Err(GraphError::bad_request("Each comment must be an alertComment object."));
            };
            for k in map.keys() {
                if !matches!(k.as_str(), "@odata.type" | "comment" | "createdByDisplayName" | "createdDateTime") {
                    return Err(GraphError::bad_request(format!(
                        "Property '{k}' does not exist on type 'microsoft.graph.security.alertComment'."
                    )));
                }
            }
            match map.get("comment") {
                Some(Value::String(s)) if s.trim().is_empty() => {
                    Err(GraphError::bad_request("'comment' cannot be empty."))
                }
                Some(Value::String(s)) if s.chars().count() > MAX_COMMENT_LEN => Err(GraphError::bad_request(
                    format!("'comment' is longer than {MAX_COMMENT_LEN} characters."),
                )),
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(GraphError::bad_request("'comment' (a string) is required.")),
            }
        })
        .collect()
}

pub(crate) async fn comment(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let auth = app
        .authorize(&headers, GraphOperation::WriteIncidents)
        .await?;
    let v = Version::of(&uri);
    let id = parse_id(&raw)?;
    visible(&app, &auth, id, &raw).await?;
    let texts = parse_comments(&body)?;
    let author = auth.caller.author();
    let now = app.state.clock.now();
    let mut last = None;
    for text in texts {
        let outcome = app
            .state
            .store
            .update_incident_with(&auth.caller.tenant_id, id, |_| {
                Ok::<_, GraphError>(palisade_store::IncidentUpdate {
                    comment: Some(IncidentCommentRow {
                        comment: text.clone(),
                        created_by: author.clone(),
                        created_time: now,
                    }),
                    last_update_time: Some(now),
                    last_modified_by: Some(author.clone()),
                    ..Default::default()
                })
            })
            .await?;
        match outcome {
            IncidentUpdateOutcome::Updated(row) => last = Some(row),
            IncidentUpdateOutcome::NotFound => return Err(not_found(&raw)),
            IncidentUpdateOutcome::Rejected(e) => return Err(e),
        }
    }
    let row = last.ok_or_else(|| not_found(&raw))?;
    let entity = render(&row, v, false)?;
    Ok(Json(json!({
        "@odata.context": v.context(&format!("security/incidents('{id}')/comments")),
        "value": entity.get("comments").cloned().unwrap_or(json!([])),
    }))
    .into_response())
}
