//! `/security/alerts_v2`: list, get, PATCH and comments (graph.md §3). Alerts live inside
//! their incident's `alerts` document; a change rewrites that document in the incident's
//! update transaction, so the Defender API sees it at once.

use super::error::GraphError;
use super::incidents::parse_comments;
use super::query::{self, next_link, select, Order};
use super::{base_url, visibility, wire, GraphApp, GraphOperation, Version};
use crate::access::Authorized;
use crate::model::{Classification, Determination};
use crate::odata::FilterDialect;
use crate::patch::MAX_ASSIGNED_TO_LEN;
use crate::routes::is_json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use palisade_store::{
    format_incident_time, AlertOrder, AlertRow, IncidentUpdate, IncidentUpdateOutcome,
};
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn not_found(id: &str) -> GraphError {
    GraphError::not_found(format!(
        "Alert '{}' was not found.",
        id.chars().take(80).collect::<String>()
    ))
}

fn store_order(o: Order) -> AlertOrder {
    match o {
        Order::CreatedDesc => AlertOrder::CreatedDesc,
        Order::CreatedAsc => AlertOrder::CreatedAsc,
        Order::LastUpdateAsc => AlertOrder::LastUpdateAsc,
        Order::LastUpdateDesc => AlertOrder::LastUpdateDesc,
    }
}

fn render(row: &AlertRow, tenant_id: &str) -> Result<Value, GraphError> {
    let doc: Value = serde_json::from_str(&row.alert_json).map_err(GraphError::internal)?;
    wire::alert(&doc, tenant_id, row.incident_id).map_err(GraphError::internal)
}

pub(crate) async fn list(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, GraphError> {
    let auth = app.authorize(&headers, GraphOperation::ReadAlerts).await?;
    let v = Version::of(&uri);
    let q = query::parse(uri.query(), FilterDialect::GraphAlerts, true, false)?;
    let tenant = &auth.caller.tenant_id;
    let vis = visibility(&auth.visibility);
    let mut rows = app
        .state
        .store
        .list_visible_alerts(
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
    let count = if q.count {
        Some(
            app.state
                .store
                .count_visible_alerts(tenant, vis, q.filter.as_ref())
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
        .map(|r| render(r, tenant).map(|e| select(e, q.select.as_deref())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(query::collection_page(
        v.context("security/alerts_v2"),
        count,
        next,
        value,
    ))
    .into_response())
}

async fn find(app: &GraphApp, auth: &Authorized, id: &str) -> Result<AlertRow, GraphError> {
    if id.is_empty() || id.len() > 128 {
        return Err(not_found(id));
    }
    app.state
        .store
        .find_visible_alert(&auth.caller.tenant_id, visibility(&auth.visibility), id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn entity(v: Version, alert: Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(v.context("security/alerts_v2/$entity")),
    );
    if let Value::Object(m) = alert {
        out.extend(m);
    }
    Value::Object(out)
}

pub(crate) async fn get(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    let auth = app.authorize(&headers, GraphOperation::ReadAlerts).await?;
    let v = Version::of(&uri);
    let q = query::parse(uri.query(), FilterDialect::GraphAlerts, false, false)?;
    let row = find(&app, &auth, &id).await?;
    let alert = select(render(&row, &auth.caller.tenant_id)?, q.select.as_deref());
    Ok(Json(entity(v, alert)).into_response())
}

/// A validated alert PATCH, applied to the stored document.
#[derive(Debug, Default)]
struct AlertPatch {
    status: Option<&'static str>,
    classification: Option<Classification>,
    determination: Option<Determination>,
    assigned_to: Option<Option<String>>,
}

fn parse_patch(body: &[u8]) -> Result<AlertPatch, GraphError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
    let Value::Object(map) = value else {
        return Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let mut p = AlertPatch::default();
    let text = |k: &str, v: &Value| -> Result<String, GraphError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| GraphError::bad_request(format!("'{k}' must be a string.")))
    };
    for (k, v) in &map {
        match k.as_str() {
            "@odata.type" => {}
            "status" => {
                let s = text(k, v)?;
                p.status = Some(
                    wire::alert_status_from_graph(&s)
                        .filter(|st| *st != "Unknown")
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Invalid value '{s}' for 'status'. Valid values: new, inProgress, resolved."
                            ))
                        })?,
                );
            }
            "classification" => {
                let s = text(k, v)?;
                p.classification = Some(Classification::parse(&s).ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid value '{s}' for 'classification'. Valid values: unknown, falsePositive, truePositive, informationalExpectedActivity."
                    ))
                })?);
            }
            "determination" => {
                let s = text(k, v)?;
                let d = Determination::parse(&s).filter(|d| !d.is_retired()).ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid value '{s}' for 'determination'. Valid values: {}.",
                        wire::DETERMINATIONS.join(", ")
                    ))
                })?;
                p.determination = Some(d);
            }
            "assignedTo" => {
                p.assigned_to = Some(match v {
                    Value::Null => None,
                    Value::String(s) if s.trim().is_empty() => None,
                    Value::String(s) if s.chars().count() <= MAX_ASSIGNED_TO_LEN => Some(s.trim().to_string()),
                    _ => {
                        return Err(GraphError::bad_request(format!(
                            "'assignedTo' must be a string of at most {MAX_ASSIGNED_TO_LEN} characters."
                        )))
                    }
                });
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.security.alert' or cannot be updated."
                )))
            }
        }
    }
    Ok(p)
}

/// Rewrites one alert document of the incident with `change`, in the incident's update
/// transaction; returns the updated document.
async fn change_alert(
    app: &GraphApp,
    auth: &Authorized,
    row: &AlertRow,
    alert_id: &str,
    change: impl FnOnce(&mut Map<String, Value>, &str) -> Result<(), GraphError>,
) -> Result<Value, GraphError> {
    let author = auth.caller.author();
    let now = app.state.clock.now();
    let stamp = format_incident_time(now);
    let mut updated: Option<Value> = None;
    let outcome = app
        .state
        .store
        .update_incident_with(&auth.caller.tenant_id, row.incident_id, |current| {
            let mut docs = wire::alert_documents(current).map_err(GraphError::internal)?;
            let doc = docs
                .iter_mut()
                .find(|d| d.get("alertId").and_then(Value::as_str) == Some(alert_id))
                .and_then(Value::as_object_mut)
                .ok_or_else(|| not_found(alert_id))?;
            change(doc, &stamp)?;
            doc.insert("lastUpdatedTime".into(), json!(stamp));
            updated = Some(Value::Object(doc.clone()));
            Ok(IncidentUpdate {
                alerts_json: Some(serde_json::to_string(&docs).map_err(GraphError::internal)?),
                last_update_time: Some(now),
                last_modified_by: Some(author.clone()),
                ..Default::default()
            })
        })
        .await?;
    match outcome {
        IncidentUpdateOutcome::Updated(_) => updated.ok_or_else(|| not_found(alert_id)),
        IncidentUpdateOutcome::NotFound => Err(not_found(alert_id)),
        IncidentUpdateOutcome::Rejected(e) => Err(e),
    }
}

pub(crate) async fn update(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let auth = app.authorize(&headers, GraphOperation::WriteAlerts).await?;
    let v = Version::of(&uri);
    let row = find(&app, &auth, &id).await?;
    if !is_json(&headers) {
        return Err(GraphError::bad_request(
            "The Content-Type header must be application/json.",
        ));
    }
    let patch = parse_patch(&body)?;
    let doc = change_alert(&app, &auth, &row, &id, |doc, stamp| {
        let stored_class = doc
            .get("classification")
            .and_then(Value::as_str)
            .and_then(Classification::parse)
            .unwrap_or(Classification::Unknown);
        let class = patch.classification.unwrap_or(stored_class);
        if let Some(d) = patch.determination {
            if !d.allowed_with(class) {
                return Err(GraphError::bad_request(format!(
                    "Invalid value: determination '{}' with classification '{}'.",
                    wire::determination(d.as_str()),
                    wire::classification(class.as_str())
                )));
            }
            doc.insert("determination".into(), json!(d.as_str()));
        } else if patch.classification.is_some() {
            let stored_det = doc
                .get("determination")
                .and_then(Value::as_str)
                .and_then(Determination::parse)
                .unwrap_or(Determination::NotAvailable);
            if !stored_det.allowed_with(class) {
                doc.insert(
                    "determination".into(),
                    json!(Determination::NotAvailable.as_str()),
                );
            }
        }
        if let Some(c) = patch.classification {
            doc.insert("classification".into(), json!(c.as_str()));
        }
        if let Some(s) = patch.status {
            doc.insert("status".into(), json!(s));
            if s == "Resolved" {
                if doc.get("resolvedTime").is_none_or(Value::is_null) {
                    doc.insert("resolvedTime".into(), json!(stamp));
                }
            } else {
                doc.insert("resolvedTime".into(), Value::Null);
            }
        }
        if let Some(a) = &patch.assigned_to {
            doc.insert("assignedTo".into(), json!(a));
        }
        Ok(())
    })
    .await?;
    let alert =
        wire::alert(&doc, &auth.caller.tenant_id, row.incident_id).map_err(GraphError::internal)?;
    Ok(Json(entity(v, alert)).into_response())
}

pub(crate) async fn comment(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let auth = app.authorize(&headers, GraphOperation::WriteAlerts).await?;
    let v = Version::of(&uri);
    let row = find(&app, &auth, &id).await?;
    let texts = parse_comments(&body)?;
    let author = auth.caller.author();
    let doc = change_alert(&app, &auth, &row, &id, |doc, stamp| {
        let list = doc.entry("comments").or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        if let Value::Array(items) = list {
            for t in &texts {
                items.push(
                    json!({"comment": t, "createdByDisplayName": author, "createdDateTime": stamp}),
                );
            }
        }
        Ok(())
    })
    .await?;
    Ok(Json(json!({
        "@odata.context": v.context(&format!("security/alerts_v2('{id}')/comments")),
        "value": doc.get("comments").cloned().unwrap_or(json!([])),
    }))
    .into_response())
}
