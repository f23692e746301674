//! Advanced hunting at Graph's paths (graph.md §5), a thin rendering over the Defender
//! API's [`HuntingService`](crate::HuntingService): `POST /security/runHuntingQuery`, the
//! namespaced bound-action path the SDKs call
//! (`/security/microsoft.graph.security.runHuntingQuery`), and the beta GET function
//! `getRunHuntingQuery(query='…',timespan='…',workspaceId=…)`. Body keys `query`/`timespan`
//! match case-insensitively; the result is `huntingQueryResults` with lowercase
//! `schema` (`name`/`type`) and `results`; KQL booleans travel as `SByte` 0/1 with a
//! `<column>@odata.type: "#SByte"` sidecar (graph.md §5.3).
//!
//! `timespan` (ISO 8601: `start/end`, `P30D/end`, `start/P30D`, `P30D`, `start`; default
//! 30 days, graph.md §5.1) is validated; its end (never later than now) is the query's
//! "now", and its start, when it is inside the 30 days before that end, goes to the engine
//! as [`HuntScope::since`], which narrows every table scan of the query.

use super::error::GraphError;
use super::{GraphApp, GraphOperation, Version};
use crate::access::{Authorized, Visibility};
use crate::hunting::{HuntScope, HuntingFailure};
use crate::odata::parse_datetime;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Longest query accepted.
const MAX_QUERY_LEN: usize = 100_000;

/// Parses an ISO 8601 duration of days, hours, minutes and seconds (`P30D`, `PT12H`,
/// `P1DT2H30M`).
fn duration(s: &str) -> Option<Duration> {
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = Duration::ZERO;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let secs = units.iter().find(|(u, _)| c.eq_ignore_ascii_case(u))?.1;
                let n: i64 = num.parse().ok()?;
                total += Duration::seconds(n.checked_mul(secs)?);
                num.clear();
                any = true;
            }
        }
        num.is_empty().then_some(())
    };
    take(date, &[('W', 604_800), ('D', 86_400)])?;
    if let Some(t) = time {
        take(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

/// The days a query reads when no `timespan` narrows them.
const DEFAULT_DAYS: i64 = 30;

/// What a `timespan` asks for: its end (never after `now`; the query's "now") and its
/// start when that is later than the default window's (`None`: the whole 30 days).
fn timespan_window(
    span: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Option<OffsetDateTime>, OffsetDateTime), GraphError> {
    let Some(span) = span.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok((None, now));
    };
    let bad = || {
        GraphError::bad_request(format!(
            "The timespan '{}' is not a valid ISO 8601 time range.",
            span.chars().take(64).collect::<String>()
        ))
    };
    let instant = |s: &str| parse_datetime(s).ok_or_else(bad);
    let (start, end) = match span.split_once('/') {
        Some((a, b)) if a.starts_with(['P', 'p']) => {
            let end = instant(b)?;
            (end - duration(a).ok_or_else(bad)?, end)
        }
        Some((a, b)) if b.starts_with(['P', 'p']) => {
            let start = instant(a)?;
            (start, start + duration(b).ok_or_else(bad)?)
        }
        Some((a, b)) => {
            let (start, end) = (instant(a)?, instant(b)?);
            if start > end {
                return Err(bad());
            }
            (start, end)
        }
        None if span.starts_with(['P', 'p']) => (now - duration(span).ok_or_else(bad)?, now),
        None => (instant(span)?, now),
    };
    let end = end.min(now);
    let since = (start > end - Duration::days(DEFAULT_DAYS)).then_some(start.min(end));
    Ok((since, end))
}

/// `query`/`timespan` from a JSON body, names matched case-insensitively.
fn parse_body(body: &[u8]) -> Result<(String, Option<String>), GraphError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
    let Value::Object(map) = value else {
        return Err(GraphError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let mut query = None;
    let mut timespan = None;
    for (k, v) in &map {
        match (k.to_ascii_lowercase().as_str(), v) {
            ("query", Value::String(s)) => query = Some(s.clone()),
            ("timespan", Value::String(s)) => timespan = Some(s.clone()),
            ("timespan", Value::Null) => {}
            ("query" | "timespan", _) => {
                return Err(GraphError::bad_request(format!("'{k}' must be a string.")))
            }
            _ => {
                return Err(GraphError::bad_request(format!(
                    "The parameter '{k}' in the request payload is not a valid parameter for the operation 'runHuntingQuery'."
                )))
            }
        }
    }
    let query = query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("The parameter 'query' is required."))?;
    Ok((query, timespan))
}

/// Parses `getRunHuntingQuery(query='…',timespan='…',workspaceId=…)` (already
/// percent-decoded): OData literals, `''` escaping a quote.
fn parse_function(segment: &str) -> Result<(String, Option<String>), GraphError> {
    let bad = |m: &str| GraphError::bad_request(m.to_string());
    let inner = segment
        .strip_prefix("getRunHuntingQuery(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad("Resource not found for the segment."))?;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let name = name.trim().to_string();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        value.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(bad("An OData string literal is not terminated.")),
                }
            }
            match chars.next() {
                None | Some(',') => {}
                Some(_) => return Err(bad("Expected ',' between function parameters.")),
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.push((name, value));
    }
    let mut query = None;
    let mut timespan = None;
    for (name, value) in params {
        match name.to_ascii_lowercase().as_str() {
            "query" => query = Some(value),
            "timespan" => timespan = Some(value),
            "workspaceid" => {}
            _ => return Err(bad(&format!("Unknown function parameter '{name}'."))),
        }
    }
    let query = query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| bad("The parameter 'query' is required."))?;
    Ok((query, timespan))
}

async fn run(
    app: &GraphApp,
    auth: &Authorized,
    version: Version,
    query: String,
    timespan: Option<String>,
) -> Result<Response, GraphError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(GraphError::bad_request("The query is too long."));
    }
    let (since, now) = timespan_window(timespan.as_deref(), app.state.clock.now())?;
    let Some(engine) = app.state.hunting.clone() else {
        return Err(GraphError::unavailable(
            "Advanced hunting is not configured.",
        ));
    };
    let tenant = auth.caller.tenant_id.clone();
    let scope = match &auth.visibility {
        Visibility::All => HuntScope {
            since,
            ..HuntScope::tenant(tenant)
        },
        Visibility::Groups(groups) => HuntScope {
            devices: Some(
                app.state
                    .user_access
                    .devices_in_groups(&tenant, groups)
                    .await
                    .map_err(GraphError::internal)?,
            ),
            tenant_id: tenant,
            since,
        },
    };
    let out = match engine.run(&scope, &query, now).await {
        Ok(out) => out,
        Err(HuntingFailure::Internal(m)) => return Err(GraphError::internal(m)),
        // Every other failure is the caller's to fix: the Defender API's wording (positions
        // included) in Graph's 400.
        Err(failure) => {
            return Err(match crate::error::ApiError::from(failure) {
                crate::error::ApiError::BadRequest(m) => GraphError::bad_request(m),
                other => GraphError::internal(other),
            })
        }
    };
    let booleans: Vec<&str> = out
        .schema
        .iter()
        .filter(|c| c.ty == palisade_kql::KqlType::Bool)
        .map(|c| c.name.as_str())
        .collect();
    let schema: Vec<Value> = out
        .schema
        .iter()
        .map(|c| {
            let ty = if booleans.contains(&c.name.as_str()) {
                "SByte"
            } else {
                c.ty.dotnet_name()
            };
            json!({"name": c.name, "type": ty})
        })
        .collect();
    let results: Vec<Value> = out
        .results
        .into_iter()
        .map(|row| {
            let mut out = Map::new();
            for (k, v) in row {
                if booleans.contains(&k.as_str()) {
                    out.insert(format!("{k}@odata.type"), json!("#SByte"));
                    let v = match v {
                        Value::Bool(b) => json!(i8::from(b)),
                        other => other,
                    };
                    out.insert(k, v);
                } else {
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok(Json(json!({
        "@odata.context": version.context("microsoft.graph.security.huntingQueryResults"),
        "schema": schema,
        "results": results,
    }))
    .into_response())
}

/// `POST /security/runHuntingQuery` and its namespaced alias.
pub(crate) async fn run_post(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<Response, GraphError> {
    // Authorize before reading the body, so an unauthorized caller learns nothing.
    let auth = app
        .authorize(&headers, GraphOperation::RunHuntingQuery)
        .await?;
    if !crate::routes::is_json(&headers) {
        return Err(GraphError::bad_request(
            "The Content-Type header must be application/json.",
        ));
    }
    let (query, timespan) = parse_body(&body)?;
    run(&app, &auth, Version::of(&uri), query, timespan).await
}

/// `GET /security/{function}`: only `getRunHuntingQuery(…)`.
pub(crate) async fn run_get(
    State(app): State<Arc<GraphApp>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Path(segment): Path<String>,
) -> Result<Response, GraphError> {
    if !segment.starts_with("getRunHuntingQuery(") {
        return Err(GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            segment.chars().take(64).collect::<String>()
        )));
    }
    let auth = app
        .authorize(&headers, GraphOperation::RunHuntingQuery)
        .await?;
    let (query, timespan) = parse_function(&segment)?;
    run(&app, &auth, Version::of(&uri), query, timespan).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timespans() {
        let now = datetime!(2026-05-31 12:00 UTC);
        let window = |span: Option<&str>| timespan_window(span, now).unwrap();
        assert_eq!(window(None), (None, now));
        assert_eq!(window(Some("P1D")), (Some(now - Duration::DAY), now));
        // The default window (or a longer one) narrows nothing.
        assert_eq!(window(Some("P30D")), (None, now));
        assert_eq!(window(Some("P90D")), (None, now));
        assert_eq!(
            window(Some("2026-05-01T00:00:00Z/2026-05-02T00:00:00Z")),
            (
                Some(datetime!(2026-05-01 0:00 UTC)),
                datetime!(2026-05-02 0:00 UTC)
            )
        );
        assert_eq!(
            window(Some("2026-05-01T00:00:00Z/P1DT12H")),
            (
                Some(datetime!(2026-05-01 0:00 UTC)),
                datetime!(2026-05-02 12:00 UTC)
            )
        );
        assert_eq!(
            window(Some("P7D/2026-05-20T00:00:00Z")),
            (
                Some(datetime!(2026-05-13 0:00 UTC)),
                datetime!(2026-05-20 0:00 UTC)
            )
        );
        assert_eq!(
            window(Some("2026-05-30T00:00:00Z")),
            (Some(datetime!(2026-05-30 0:00 UTC)), now)
        );
        // A span in the future ends now and starts no later than now.
        assert_eq!(window(Some("2027-01-01T00:00:00Z/P1D")), (Some(now), now));
        for bad in [
            "P",
            "PXD",
            "yesterday",
            "2026-05-02T00:00:00Z/2026-05-01T00:00:00Z",
            "P1D/P2D",
        ] {
            assert!(timespan_window(Some(bad), now).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies_and_functions() {
        assert_eq!(
            parse_body(br#"{"Query":"AlertInfo | take 2","Timespan":"P1D"}"#).unwrap(),
            ("AlertInfo | take 2".into(), Some("P1D".into()))
        );
        assert_eq!(parse_body(br#"{"query":"x"}"#).unwrap(), ("x".into(), None));
        assert!(parse_body(br#"{"query":""}"#).is_err());
        assert!(parse_body(br#"{"Query":"x","WorkspaceId":"y"}"#).is_err());
        assert_eq!(
            parse_function("getRunHuntingQuery(query='AlertInfo | where Title == ''a,b'' | take 2',timespan='P1D')").unwrap(),
            ("AlertInfo | where Title == 'a,b' | take 2".into(), Some("P1D".into()))
        );
        assert_eq!(
            parse_function(
                "getRunHuntingQuery(query='x',workspaceId=6f9c1d2e-0000-4000-8000-000000000001)"
            )
            .unwrap(),
            ("x".into(), None)
        );
        assert!(parse_function("getRunHuntingQuery(query='x)").is_err());
        assert!(parse_function("getRunHuntingQuery(timespan='P1D')").is_err());
    }
}
