//! The Microsoft Graph security API end to end against the live server: Graph tokens
//! (v1/v2, `.default`, `aud`), audiences refused both ways, incidents and alerts_v2 with
//! their OData options, PATCH and comments seen through the Defender API and the reverse,
//! the permission matrix, delegated users' rights and device groups, tenant isolation,
//! throttling and Graph's error envelope.

use crate::common::*;
use palisade_clock::SharedClock;
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) const GRAPH: &str = "https://graph.microsoft.com";

pub(crate) async fn seed(t: &TestServer, tenant: &str, count: usize) {
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, tenant, &clock, count)
        .await
        .expect("seed");
}

/// Grants application permissions of `resource` to the app.
pub(crate) async fn grant(t: &TestServer, app: &App, resource: &str, roles: &[&str]) {
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", app.tenant_id),
            Some(json!({"appId": app.client_id, "resource": resource, "permissions": roles})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
}

/// An app in a new tenant with these Microsoft Graph roles.
pub(crate) async fn graph_app(t: &TestServer, roles: &[&str]) -> App {
    let app = t.app(&[]).await;
    if !roles.is_empty() {
        grant(t, &app, "Microsoft Graph", roles).await;
    }
    app
}

pub(crate) async fn graph_token(t: &TestServer, app: &App) -> String {
    let (s, v) = t.v2_token(app, &format!("{GRAPH}/.default")).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

pub(crate) async fn call(
    t: &TestServer,
    method: reqwest::Method,
    url: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = if url.starts_with("https://") {
        url.to_string()
    } else {
        t.url(url)
    };
    let mut req = t.http.request(method, url).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let s = resp.status().as_u16();
    let h = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        s,
        h,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) async fn get(t: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    let (s, _, v) = call(t, reqwest::Method::GET, path, bearer, None).await;
    (s, v)
}

pub(crate) fn assert_graph_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    expected: u16,
    code: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let inner = &body["error"]["innerError"];
    let rid = inner["request-id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(rid).is_ok(), "{body}");
    assert_eq!(headers["request-id"].to_str().unwrap(), rid);
    assert_eq!(
        headers["client-request-id"],
        inner["client-request-id"].as_str().unwrap()
    );
    let date = inner["date"].as_str().unwrap();
    assert_eq!(date.len(), 19, "no fraction, no zone: {date}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{headers:?}"
    );
}

/// Every page of a collection, following `@odata.nextLink`.
pub(crate) async fn all_pages(t: &TestServer, first: &str, bearer: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let (s, v) = get(t, &url, bearer).await;
        assert_eq!(s, 200, "{v}");
        pages += 1;
        out.extend(v["value"].as_array().unwrap().iter().cloned());
        next = v["@odata.nextLink"].as_str().map(str::to_string);
        assert!(pages < 100, "paging does not end");
    }
    (out, pages)
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'\''
            | b'('
            | b')'
            | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn assert_graph_error_directory(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
) {
    assert_graph_error(status, headers, body, 403, "Authorization_RequestDenied");
}

mod access;
mod client;
mod directory;
mod hunting;
mod owners;
mod security;
