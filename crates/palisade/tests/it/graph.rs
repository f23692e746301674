//! The Microsoft Graph security API end to end against the live server: Graph tokens
//! (v1/v2, `.default`, `aud`), audiences refused both ways, incidents and alerts_v2 with
//! their OData options, PATCH and comments seen through the Defender API and the reverse,
//! the permission matrix, delegated users' rights and device groups, tenant isolation,
//! throttling and Graph's error envelope.

use crate::common::*;
use palisade_clock::{Clock, SharedClock};
use serde_json::{json, Value};
use std::sync::Arc;

const GRAPH: &str = "https://graph.microsoft.com";

async fn seed(t: &TestServer, tenant: &str, count: usize) {
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, tenant, &clock, count)
        .await
        .expect("seed");
}

/// Grants application permissions of `resource` to the app.
async fn grant(t: &TestServer, app: &App, resource: &str, roles: &[&str]) {
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
async fn graph_app(t: &TestServer, roles: &[&str]) -> App {
    let app = t.app(&[]).await;
    if !roles.is_empty() {
        grant(t, &app, "Microsoft Graph", roles).await;
    }
    app
}

async fn graph_token(t: &TestServer, app: &App) -> String {
    let (s, v) = t.v2_token(app, &format!("{GRAPH}/.default")).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

async fn call(
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

async fn get(t: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    let (s, _, v) = call(t, reqwest::Method::GET, path, bearer, None).await;
    (s, v)
}

fn assert_graph_error(
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
async fn all_pages(t: &TestServer, first: &str, bearer: &str) -> (Vec<Value>, usize) {
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

#[tokio::test]
async fn graph_tokens_carry_graph_audiences_and_each_api_refuses_the_others() {
    let t = start().await;
    let app = graph_app(&t, &["SecurityIncident.Read.All"]).await;
    grant(
        &t,
        &app,
        "https://api.security.microsoft.com",
        &["Incident.Read.All"],
    )
    .await;
    seed(&t, &app.tenant_id, 3).await;

    // v2 with .default: a v1-shaped token (Graph does not ask for v2), aud as requested.
    let (s, v) = t.v2_token(&app, &format!("{GRAPH}/.default")).await;
    assert_eq!(s, 200, "{v}");
    let graph = v["access_token"].as_str().unwrap().to_string();
    let (_, claims) = decode(&graph);
    assert_eq!(claims["aud"], GRAPH);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", app.tenant_id)
    );
    assert_eq!(claims["roles"], json!(["SecurityIncident.Read.All"]));
    // By app id: aud is the id.
    let (s, v) = t
        .v2_token(&app, "00000003-0000-0000-c000-000000000000/.default")
        .await;
    assert_eq!(s, 200, "{v}");
    let by_id = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        decode(&by_id).1["aud"],
        "00000003-0000-0000-c000-000000000000"
    );
    // v1 with resource=.
    let (s, v) = t.v1_token(&app, GRAPH).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["resource"], GRAPH);
    let v1 = v["access_token"].as_str().unwrap().to_string();
    for token in [&graph, &by_id, &v1] {
        let (s, v) = get(&t, "/v1.0/security/incidents", token).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["value"].as_array().unwrap().len(), 3);
    }

    // A Graph token on the Defender API, and a Defender token on Graph: 401 both ways.
    let (s, v) = get(&t, "/api/incidents", &graph).await;
    assert_eq!(s, 401, "{v}");
    let (s, v) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    assert_eq!(s, 200, "{v}");
    let defender = v["access_token"].as_str().unwrap().to_string();
    let (s, _) = get(&t, "/api/incidents", &defender).await;
    assert_eq!(s, 200);
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/incidents",
        &defender,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 401, "InvalidAuthenticationToken");
    assert_eq!(
        v["error"]["message"],
        "Access token validation failure. Invalid audience."
    );
    let challenge = h["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("client_id=\"00000003-0000-0000-c000-000000000000\""),
        "{challenge}"
    );

    // Forged: Graph audience, signature broken.
    let mut parts: Vec<&str> = graph.split('.').collect();
    let forged_sig = format!("{}A", &parts[2][..parts[2].len() - 1]);
    parts[2] = &forged_sig;
    let forged = parts.join(".");
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/beta/security/alerts_v2",
        &forged,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 401, "InvalidAuthenticationToken");
    // No token at all.
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/incidents",
        "",
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 401, "InvalidAuthenticationToken");
    // A client-request-id is echoed.
    let resp = t
        .http
        .get(t.url("/v1.0/security/incidents"))
        .bearer_auth(&graph)
        .header("client-request-id", "6f9c1d2e-0000-4000-8000-000000000001")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["client-request-id"],
        "6f9c1d2e-0000-4000-8000-000000000001"
    );
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("odata.metadata=minimal"));
}

#[tokio::test]
async fn incidents_list_with_filter_count_order_expand_and_paging() {
    let t = start().await;
    let app = graph_app(&t, &["SecurityIncident.Read.All"]).await;
    grant(
        &t,
        &app,
        "https://api.security.microsoft.com",
        &["Incident.Read.All"],
    )
    .await;
    seed(&t, &app.tenant_id, 40).await;
    let token = graph_token(&t, &app).await;

    // Default: 50 a page, newest first, the same incidents as the Defender API.
    let (s, v) = get(&t, "/v1.0/security/incidents", &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#security/incidents"
    );
    let graph_ids: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(graph_ids.len(), 40);
    assert!(v.get("@odata.nextLink").is_none());
    let (_, d) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    let defender = d["access_token"].as_str().unwrap().to_string();
    let (s, dv) = get(&t, "/api/incidents", &defender).await;
    assert_eq!(s, 200);
    let defender_ids: Vec<String> = dv["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incidentId"].to_string())
        .collect();
    assert_eq!(graph_ids, defender_ids);
    let first = &v["value"][0];
    assert!(first.get("@odata.type").is_none());
    assert!(first.get("alerts").is_none());
    assert_eq!(first["tenantId"], app.tenant_id);
    assert!(first["incidentWebUrl"]
        .as_str()
        .unwrap()
        .contains("/incident2/"));
    for key in ["customTags", "systemTags", "comments"] {
        assert!(first[key].is_array(), "{key}: {first}");
    }

    // Paging with $top: every incident once, nextLink absolute and carrying the options.
    let (items, pages) = all_pages(&t, "/v1.0/security/incidents?$top=7&$count=true", &token).await;
    assert_eq!(pages, 6);
    let mut ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, graph_ids);
    ids.dedup();
    assert_eq!(ids.len(), 40);
    let (_, v) = get(&t, "/v1.0/security/incidents?$top=7&$count=true", &token).await;
    assert_eq!(v["@odata.count"], 40);
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with("https://") && next.contains("$top=7") && next.contains("$skip=7"),
        "{next}"
    );

    // $filter: or/and/parentheses on Graph's names and camelCase values.
    let filter = "(severity eq 'high' or severity eq 'medium') and status ne 'resolved'";
    let (s, v) = get(
        &t,
        &format!(
            "/v1.0/security/incidents?$count=true&$top=1000&$filter={}",
            urlencode(filter)
        ),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let expected: Vec<&Value> = dv["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            (i["severity"] == "High" || i["severity"] == "Medium") && i["status"] != "Resolved"
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(v["@odata.count"], expected.len());
    assert_eq!(v["value"].as_array().unwrap().len(), expected.len());
    for i in v["value"].as_array().unwrap() {
        assert!(i["severity"] == "high" || i["severity"] == "medium", "{i}");
        assert_ne!(i["status"], "resolved");
    }
    let newest = dv["value"][5]["createdTime"].as_str().unwrap();
    let (s, v) = get(
        &t,
        &format!(
            "/v1.0/security/incidents?$filter={}",
            urlencode(&format!("createdDateTime ge {newest}"))
        ),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 6);
    // $count alone as a path.
    let resp = t
        .http
        .get(t.url("/v1.0/security/incidents/$count"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "40");

    // $orderby createdDateTime asc reverses the default order.
    let (_, v) = get(
        &t,
        "/v1.0/security/incidents?$orderby=createdDateTime%20asc",
        &token,
    )
    .await;
    let asc: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let mut reversed = graph_ids.clone();
    reversed.reverse();
    assert_eq!(asc, reversed);

    // $expand=alerts: alerts with typed evidence; context says so.
    let (s, v) = get(&t, "/beta/security/incidents?$expand=alerts&$top=5", &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/beta/$metadata#security/incidents(alerts())"
    );
    let inc = &v["value"][0];
    assert!(
        inc.get("recommendedHuntingQueries").is_some(),
        "beta-only property"
    );
    let alert = &inc["alerts"][0];
    assert_eq!(alert["incidentId"], inc["id"]);
    assert!(alert["id"]
        .as_str()
        .unwrap()
        .ends_with(alert["providerAlertId"].as_str().unwrap()));
    let evidence = alert["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    for e in evidence {
        let ty = e["@odata.type"].as_str().unwrap();
        assert!(
            ty.starts_with("#microsoft.graph.security.") && ty.ends_with("Evidence"),
            "{e}"
        );
        assert_eq!(e["verdict"], "suspicious");
    }
    // Get one with $expand and $select.
    let id = inc["id"].as_str().unwrap();
    let (s, v) = get(
        &t,
        &format!("/v1.0/security/incidents/{id}?$expand=alerts&$select=status,severity"),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#security/incidents(alerts())/$entity"
    );
    assert!(
        v.get("displayName").is_none() && v.get("status").is_some() && v["alerts"].is_array(),
        "{v}"
    );
    let (s, v) = get(&t, &format!("/v1.0/security/incidents/{id}/alerts"), &token).await;
    assert_eq!(s, 200, "{v}");
    assert!(!v["value"].as_array().unwrap().is_empty());

    // Bad options are 400 BadRequest in Graph's envelope.
    for bad in [
        "$orderby=severity%20desc",
        "$filter=investigationState%20eq%20'running'",
        "$top=-3",
        "$search=x",
        "$filter=status%20eq%20'awaitingAction'",
    ] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::GET,
            &format!("/v1.0/security/incidents?{bad}"),
            &token,
            None,
        )
        .await;
        assert_graph_error(s, &h, &v, 400, "BadRequest");
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/incidents/999999",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 404, "NotFound");
}

fn urlencode(s: &str) -> String {
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

#[tokio::test]
async fn incident_updates_and_comments_are_one_store_seen_through_both_apis() {
    let t = start().await;
    let app = graph_app(&t, &["SecurityIncident.ReadWrite.All"]).await;
    grant(
        &t,
        &app,
        "https://api.security.microsoft.com",
        &["Incident.ReadWrite.All"],
    )
    .await;
    seed(&t, &app.tenant_id, 5).await;
    let token = graph_token(&t, &app).await;
    let (_, d) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    let defender = d["access_token"].as_str().unwrap().to_string();
    let (_, list) = get(&t, "/v1.0/security/incidents", &token).await;
    let id = list["value"][0]["id"].as_str().unwrap().to_string();
    t.clock.advance(time::Duration::minutes(3));

    // Graph PATCH (the docs' example body, PascalCase accepted) → Defender view.
    let (s, h, v) = call(&t, reqwest::Method::PATCH, &format!("/v1.0/security/incidents/{id}"), &token,
        Some(json!({"classification": "TruePositive", "determination": "multiStagedAttack", "customTags": ["Demo"],
                    "status": "resolved", "assignedTo": "KaiC@contoso.onmicrosoft.com", "severity": "low",
                    "resolvingComment": "contained", "description": "two hosts"}))).await;
    assert_eq!(s, 200, "{v}");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json;odata.metadata=minimal"));
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity"
    );
    assert_eq!(v["classification"], "truePositive");
    assert_eq!(v["determination"], "multiStagedAttack");
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["severity"], "low");
    assert_eq!(v["customTags"], json!(["Demo"]));
    assert_eq!(v["resolvingComment"], "contained");
    assert_eq!(v["lastModifiedBy"], app.client_id);
    let (s, dv) = get(&t, &format!("/api/incidents/{id}"), &defender).await;
    assert_eq!(s, 200);
    assert_eq!(dv["status"], "Resolved");
    assert_eq!(dv["classification"], "TruePositive");
    assert_eq!(dv["determination"], "MultiStagedAttack");
    assert_eq!(dv["severity"], "Low");
    assert_eq!(dv["tags"], json!(["Demo"]));
    assert_eq!(dv["assignedTo"], "KaiC@contoso.onmicrosoft.com");
    assert_eq!(dv["lastUpdateTime"], v["lastUpdateDateTime"]);

    // Defender PATCH → Graph view, with the renamed determinations.
    let (s, _, dv) = call(&t, reqwest::Method::PATCH, &format!("/api/incidents/{id}"), &defender,
        Some(json!({"classification": "FalsePositive", "determination": "Clean", "status": "Active", "comment": "from defender"}))).await;
    assert_eq!(s, 200, "{dv}");
    let (_, v) = get(&t, &format!("/v1.0/security/incidents/{id}"), &token).await;
    assert_eq!(v["classification"], "falsePositive");
    assert_eq!(v["determination"], "notMalicious");
    assert_eq!(v["status"], "active");
    assert_eq!(v["comments"][0]["comment"], "from defender");
    assert_eq!(v["comments"][0]["createdByDisplayName"], app.client_id);
    // Old Graph names are accepted on input, emitted in CSDL names.
    let (s, _, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/security/incidents/{id}"),
        &token,
        Some(json!({"classification": "falsePositive", "determination": "insufficientData"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["determination"], "notEnoughDataToValidate");

    // Comments: the docs' object body and the SDKs' array body; the whole list comes back.
    let (s, _, v) = call(&t, reqwest::Method::POST, &format!("/v1.0/security/incidents/{id}/comments"), &token,
        Some(json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "Demo for docs"}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        format!("https://graph.microsoft.com/v1.0/$metadata#security/incidents('{id}')/comments")
    );
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    assert_eq!(v["value"][1]["comment"], "Demo for docs");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/security/incidents/{id}/comments"),
        &token,
        Some(json!([{"comment": "third"}])),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, dv) = get(&t, &format!("/api/incidents/{id}"), &defender).await;
    let comments: Vec<&str> = dv["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["comment"].as_str().unwrap())
        .collect();
    assert_eq!(comments, ["from defender", "Demo for docs", "third"]);

    // Refusals change nothing.
    let before = get(&t, &format!("/api/incidents/{id}"), &defender).await.1;
    for body in [
        json!({"classification": "falsePositive", "determination": "malware"}),
        json!({"status": "awaitingAction"}),
        json!({"status": "unknownFutureValue"}),
        json!({"determination": "apt"}),
        json!({"summary": "not writable"}),
        json!({"customTags": "Demo"}),
        json!({"displayName": ""}),
    ] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::PATCH,
            &format!("/v1.0/security/incidents/{id}"),
            &token,
            Some(body.clone()),
        )
        .await;
        assert_graph_error(s, &h, &v, 400, "BadRequest");
    }
    for body in [json!({"comment": ""}), json!({}), json!([])] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::POST,
            &format!("/v1.0/security/incidents/{id}/comments"),
            &token,
            Some(body),
        )
        .await;
        assert_graph_error(s, &h, &v, 400, "BadRequest");
    }
    assert_eq!(
        get(&t, &format!("/api/incidents/{id}"), &defender).await.1,
        before
    );
}

#[tokio::test]
async fn alerts_v2_list_get_patch_and_comments_share_the_incident_store() {
    let t = start().await;
    let app = graph_app(&t, &["SecurityAlert.ReadWrite.All"]).await;
    grant(
        &t,
        &app,
        "https://api.security.microsoft.com",
        &["Incident.Read.All"],
    )
    .await;
    seed(&t, &app.tenant_id, 12).await;
    let token = graph_token(&t, &app).await;
    let (_, d) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    let defender = d["access_token"].as_str().unwrap().to_string();
    let (_, dv) = get(&t, "/api/incidents", &defender).await;
    let total: usize = dv["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["alerts"].as_array().unwrap().len())
        .sum();

    let (s, v) = get(&t, "/v1.0/security/alerts_v2?$count=true&$top=5", &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2"
    );
    assert_eq!(v["@odata.count"], total);
    let (items, _) = all_pages(&t, "/v1.0/security/alerts_v2?$top=5", &token).await;
    assert_eq!(items.len(), total);
    let created: Vec<&str> = items
        .iter()
        .map(|a| a["createdDateTime"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "newest first");

    // Incident permissions are not needed; alert fields and evidence.
    let alert = items
        .iter()
        .find(|a| a["serviceSource"] == "microsoftDefenderForEndpoint")
        .expect("an MDE alert");
    let id = alert["id"].as_str().unwrap().to_string();
    let incident_id = alert["incidentId"].as_str().unwrap().to_string();
    assert_eq!(alert["productName"], "Microsoft Defender for Endpoint");
    assert!(alert["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["@odata.type"] == "#microsoft.graph.security.deviceEvidence"));
    let (s, v) = get(&t, &format!("/v1.0/security/alerts_v2/{id}"), &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2/$entity"
    );
    assert_eq!(v["id"], id.as_str());

    // $filter over alert properties.
    let (s, v) = get(&t, "/v1.0/security/alerts_v2?$top=1000&$filter=serviceSource%20eq%20'microsoftDefenderForEndpoint'%20and%20status%20ne%20'resolved'", &token).await;
    assert_eq!(s, 200, "{v}");
    for a in v["value"].as_array().unwrap() {
        assert_eq!(a["serviceSource"], "microsoftDefenderForEndpoint");
        assert_ne!(a["status"], "resolved");
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/alerts_v2?$filter=status%20eq%20'active'",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 400, "BadRequest");

    // PATCH → the Defender incident's alert; comments kept on the alert.
    let (s, _, v) = call(&t, reqwest::Method::PATCH, &format!("/v1.0/security/alerts_v2/{id}"), &token,
        Some(json!({"status": "resolved", "classification": "truePositive", "determination": "malware", "assignedTo": "soc@contoso.com"}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["determination"], "malware");
    assert!(v["resolvedDateTime"].is_string());
    let (_, inc) = get(&t, &format!("/api/incidents/{incident_id}"), &defender).await;
    let stored = inc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alertId"] == id.as_str())
        .unwrap();
    assert_eq!(stored["status"], "Resolved");
    assert_eq!(stored["classification"], "TruePositive");
    assert_eq!(stored["determination"], "Malware");
    assert_eq!(stored["assignedTo"], "soc@contoso.com");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/security/alerts_v2/{id}/comments"),
        &token,
        Some(json!([{"comment": "checked"}])),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["comment"], "checked");
    let (_, v) = get(&t, &format!("/v1.0/security/alerts_v2/{id}"), &token).await;
    assert_eq!(v["comments"][0]["createdByDisplayName"], app.client_id);
    let (s, v) = get(
        &t,
        "/v1.0/security/alerts_v2?$top=1000&$filter=status%20eq%20'resolved'",
        &token,
    )
    .await;
    assert_eq!(s, 200);
    assert!(v["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id.as_str()));
    for body in [
        json!({"status": "active"}),
        json!({"classification": "falsePositive", "determination": "malware"}),
        json!({"title": "x"}),
    ] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::PATCH,
            &format!("/v1.0/security/alerts_v2/{id}"),
            &token,
            Some(body),
        )
        .await;
        assert_graph_error(s, &h, &v, 400, "BadRequest");
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/alerts_v2/da0000000000",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 404, "NotFound");
}

#[tokio::test]
async fn permission_matrix_for_every_method() {
    let t = start().await;
    // (roles, [list inc, get inc, patch inc, comment inc, list alerts, get alert, patch alert, comment alert])
    let cases: [(&[&str], [u16; 8]); 6] = [
        (&[], [403; 8]),
        (
            &["SecurityIncident.Read.All"],
            [200, 200, 403, 403, 200, 200, 403, 403],
        ),
        (
            &["SecurityIncident.ReadWrite.All"],
            [200, 200, 200, 200, 200, 200, 403, 403],
        ),
        (
            &["SecurityAlert.Read.All"],
            [403, 403, 403, 403, 200, 200, 403, 403],
        ),
        (
            &["SecurityAlert.ReadWrite.All"],
            [403, 403, 403, 403, 200, 200, 200, 200],
        ),
        (&["ThreatHunting.Read.All", "User.Read.All"], [403; 8]),
    ];
    for (roles, expected) in cases {
        let app = graph_app(&t, roles).await;
        // The Defender API's own role gives nothing on Graph.
        grant(
            &t,
            &app,
            "https://api.security.microsoft.com",
            &["Incident.ReadWrite.All"],
        )
        .await;
        seed(&t, &app.tenant_id, 2).await;
        let inc = t
            .server
            .store
            .list_incidents(&app.tenant_id, None, 0, 1)
            .await
            .unwrap()
            .remove(0);
        let alert_id: Value =
            serde_json::from_str::<Value>(&inc.alerts_json).unwrap()[0]["alertId"].clone();
        let (iid, aid) = (inc.incident_id, alert_id.as_str().unwrap().to_string());
        let token = graph_token(&t, &app).await;
        let calls = [
            (
                reqwest::Method::GET,
                "/v1.0/security/incidents".to_string(),
                None,
            ),
            (
                reqwest::Method::GET,
                format!("/v1.0/security/incidents/{iid}"),
                None,
            ),
            (
                reqwest::Method::PATCH,
                format!("/v1.0/security/incidents/{iid}"),
                Some(json!({"assignedTo": "x@y.z"})),
            ),
            (
                reqwest::Method::POST,
                format!("/v1.0/security/incidents/{iid}/comments"),
                Some(json!({"comment": "c"})),
            ),
            (
                reqwest::Method::GET,
                "/v1.0/security/alerts_v2".to_string(),
                None,
            ),
            (
                reqwest::Method::GET,
                format!("/v1.0/security/alerts_v2/{aid}"),
                None,
            ),
            (
                reqwest::Method::PATCH,
                format!("/v1.0/security/alerts_v2/{aid}"),
                Some(json!({"status": "inProgress"})),
            ),
            (
                reqwest::Method::POST,
                format!("/v1.0/security/alerts_v2/{aid}/comments"),
                Some(json!({"comment": "c"})),
            ),
        ];
        for ((method, path, body), want) in calls.into_iter().zip(expected) {
            let (s, h, v) = call(&t, method.clone(), &path, &token, body).await;
            if want == 403 {
                assert_graph_error(s, &h, &v, 403, "Forbidden");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("Missing application roles."),
                    "{v}"
                );
            } else {
                assert_eq!(s, want, "{roles:?} {method} {path}: {v}");
            }
        }
    }
}

/// A user tenant with Graph delegated consent, two device groups with a device each, and
/// incidents (each with one alert) on each group, on both, and on none.
async fn user_estate(t: &TestServer) -> (UserTenant, Vec<(i64, String)>) {
    let ut = t.user_tenant(&[]).await;
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", ut.tenant_id),
            Some(json!({"appId": ut.client_id, "resource": "Microsoft Graph", "type": "Delegated",
                        "permissions": ["SecurityIncident.ReadWrite.All", "SecurityAlert.ReadWrite.All"]})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    for (name, id) in [("Finance", 11), ("Servers", 12)] {
        let (s, g) = t
            .admin(
                reqwest::Method::POST,
                &format!("/admin/{}/deviceGroups", ut.tenant_id),
                Some(json!({"name": name, "id": id})),
            )
            .await;
        assert_eq!(s, 201, "{g}");
    }
    for (id, name, group) in [
        ("dev-fin", "ws-fin.contoso.com", "Finance"),
        ("dev-srv", "srv-1.contoso.com", "Servers"),
    ] {
        let (s, d) = t
            .admin(
                reqwest::Method::PUT,
                &format!("/admin/{}/devices/{id}", ut.tenant_id),
                Some(json!({"computerDnsName": name, "deviceGroup": group})),
            )
            .await;
        assert_eq!(s, 200, "{d}");
    }
    let now = t.clock.now();
    let stamp = palisade_store::format_incident_time(now);
    let mut out = Vec::new();
    for (n, (name, devices)) in [
        ("fin", vec!["dev-fin"]),
        ("srv", vec!["dev-srv"]),
        ("both", vec!["dev-fin", "dev-srv"]),
        ("mail", vec![]),
    ]
    .into_iter()
    .enumerate()
    {
        let alert_id = format!("da{n}{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let alert = palisade_defender::Alert {
            alert_id: alert_id.clone(),
            service_source: "MicrosoftDefenderForEndpoint".into(),
            creation_time: stamp.clone(),
            last_updated_time: stamp.clone(),
            first_activity: stamp.clone(),
            last_activity: stamp.clone(),
            title: name.into(),
            status: "New".into(),
            severity: "High".into(),
            devices: devices
                .iter()
                .map(|d| palisade_defender::Device {
                    mdatp_device_id: d.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let id = t
            .server
            .store
            .insert_incident(
                &ut.tenant_id,
                &palisade_store::NewIncident {
                    incident_name: name.into(),
                    created_time: now + time::Duration::seconds(n as i64),
                    last_update_time: now,
                    status: "Active".into(),
                    severity: "High".into(),
                    assigned_to: None,
                    classification: "Unknown".into(),
                    determination: "NotAvailable".into(),
                    detection_source: None,
                    redirect_incident_id: None,
                    tags: vec![],
                    comments: vec![],
                    alerts_json: serde_json::to_string(&[alert]).unwrap(),
                    demo_key: None,
                    device_ids: devices.iter().map(|d| d.to_string()).collect(),
                },
            )
            .await
            .unwrap();
        out.push((id, alert_id));
    }
    (ut, out)
}

async fn graph_user_token(t: &TestServer, ut: &UserTenant, u: &TestUser) -> String {
    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &ut.client_id,
            &u.upn,
            &u.password,
            &format!("{GRAPH}/.default openid"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();
    let scp = decode(&token).1["scp"].as_str().unwrap().to_string();
    assert!(scp.contains("SecurityIncident.ReadWrite.All"), "{scp}");
    token
}

#[tokio::test]
async fn delegated_users_need_the_right_and_see_their_device_groups() {
    let t = start().await;
    let (ut, incidents) = user_estate(&t).await;
    let reader = t.user_in(&ut, "reader", &["Security Reader"], None).await;
    let operator = t
        .user_in(&ut, "operator", &["Security Operator"], None)
        .await;
    let nobody = t.user_in(&ut, "nobody", &[], None).await;
    let finance = t
        .user_in(&ut, "fin", &["Security Operator"], Some(&["Finance"]))
        .await;
    let (fin_id, fin_alert) = incidents[0].clone();
    let (srv_id, srv_alert) = incidents[1].clone();

    let reader_token = graph_user_token(&t, &ut, &reader).await;
    let (s, v) = get(&t, "/v1.0/security/incidents", &reader_token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 4);
    let (s, h, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/security/incidents/{fin_id}"),
        &reader_token,
        Some(json!({"status": "inProgress"})),
    )
    .await;
    assert_graph_error(s, &h, &v, 403, "Forbidden");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Manage incidents"),
        "{v}"
    );
    let (s, h, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/security/alerts_v2/{fin_alert}"),
        &reader_token,
        Some(json!({"status": "inProgress"})),
    )
    .await;
    assert_graph_error(s, &h, &v, 403, "Forbidden");

    let op_token = graph_user_token(&t, &ut, &operator).await;
    let (s, _, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/security/incidents/{fin_id}"),
        &op_token,
        Some(json!({"status": "inProgress"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/security/incidents/{fin_id}/comments"),
        &op_token,
        Some(json!({"comment": "mine"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["createdByDisplayName"], operator.upn.as_str());

    let nobody_token = graph_user_token(&t, &ut, &nobody).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/incidents",
        &nobody_token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 403, "Forbidden");

    // Device groups: the Finance user sees fin, both and the device-less incident, and
    // their alerts; srv is 404 on every method.
    let fin_token = graph_user_token(&t, &ut, &finance).await;
    let (_, v) = get(&t, "/v1.0/security/incidents?$count=true", &fin_token).await;
    let mut names: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["displayName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["both", "fin", "mail"]);
    assert_eq!(v["@odata.count"], 3);
    let (_, v) = get(&t, "/v1.0/security/alerts_v2?$count=true", &fin_token).await;
    assert_eq!(v["@odata.count"], 3);
    assert!(v["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["id"] != srv_alert.as_str()));
    for (method, path, body) in [
        (
            reqwest::Method::GET,
            format!("/v1.0/security/incidents/{srv_id}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1.0/security/incidents/{srv_id}"),
            Some(json!({"status": "resolved"})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1.0/security/incidents/{srv_id}/comments"),
            Some(json!({"comment": "x"})),
        ),
        (
            reqwest::Method::GET,
            format!("/v1.0/security/incidents/{srv_id}/alerts"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/v1.0/security/alerts_v2/{srv_alert}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1.0/security/alerts_v2/{srv_alert}"),
            Some(json!({"status": "resolved"})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1.0/security/alerts_v2/{srv_alert}/comments"),
            Some(json!({"comment": "x"})),
        ),
    ] {
        let (s, h, v) = call(&t, method, &path, &fin_token, body).await;
        assert_graph_error(s, &h, &v, 404, "NotFound");
    }
    let (_, v) = get(&t, &format!("/v1.0/security/incidents/{srv_id}"), &op_token).await;
    assert_eq!(v["status"], "active", "the refused PATCH changed nothing");
    let (s, _, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/security/alerts_v2/{fin_alert}"),
        &fin_token,
        Some(json!({"status": "inProgress"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // A disabled user's token stops working at once.
    let (s, _) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{}/v1.0/users/{}", ut.tenant_id, reader.id),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert!(s == 204 || s == 200, "{s}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/incidents",
        &reader_token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn tenants_are_isolated_on_every_method() {
    let t = start().await;
    let a = graph_app(
        &t,
        &[
            "SecurityIncident.ReadWrite.All",
            "SecurityAlert.ReadWrite.All",
        ],
    )
    .await;
    let b = graph_app(
        &t,
        &[
            "SecurityIncident.ReadWrite.All",
            "SecurityAlert.ReadWrite.All",
        ],
    )
    .await;
    seed(&t, &a.tenant_id, 3).await;
    seed(&t, &b.tenant_id, 2).await;
    let a_inc = t
        .server
        .store
        .list_incidents(&a.tenant_id, None, 0, 1)
        .await
        .unwrap()
        .remove(0);
    let a_alert = serde_json::from_str::<Value>(&a_inc.alerts_json).unwrap()[0]["alertId"]
        .as_str()
        .unwrap()
        .to_string();
    let b_token = graph_token(&t, &b).await;
    let (_, v) = get(&t, "/v1.0/security/incidents?$count=true", &b_token).await;
    assert_eq!(v["@odata.count"], 2);
    assert!(v["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["tenantId"] == b.tenant_id.as_str()));
    let (_, v) = get(&t, "/v1.0/security/alerts_v2?$top=1000", &b_token).await;
    assert!(v["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["tenantId"] == b.tenant_id.as_str() && i["id"] != a_alert.as_str()));
    // Incident ids restart per tenant, so B's "1" is B's own; A's alert id is unknown in B.
    let id = a_inc.incident_id;
    let (s, v) = get(&t, &format!("/v1.0/security/incidents/{id}"), &b_token).await;
    if s == 200 {
        assert_eq!(v["tenantId"], b.tenant_id.as_str());
        assert_ne!(v["displayName"], a_inc.incident_name.as_str());
    }
    for (method, path, body) in [
        (
            reqwest::Method::GET,
            format!("/v1.0/security/alerts_v2/{a_alert}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1.0/security/alerts_v2/{a_alert}"),
            Some(json!({"status": "resolved"})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1.0/security/alerts_v2/{a_alert}/comments"),
            Some(json!({"comment": "x"})),
        ),
        (
            reqwest::Method::PATCH,
            "/v1.0/security/incidents/99".to_string(),
            Some(json!({"status": "resolved"})),
        ),
    ] {
        let (s, h, v) = call(&t, method, &path, &b_token, body).await;
        assert_graph_error(s, &h, &v, 404, "NotFound");
    }
    let after = t
        .server
        .store
        .get_incident(&a.tenant_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, a_inc);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let t = start().await;
    let app = graph_app(&t, &["SecurityIncident.Read.All"]).await;
    seed(&t, &app.tenant_id, 1).await;
    let token = graph_token(&t, &app).await;
    for n in 0..150 {
        let (s, v) = get(&t, "/v1.0/security/incidents?$top=1", &token).await;
        assert_eq!(s, 200, "call {n}: {v}");
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/beta/security/alerts_v2",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 429, "TooManyRequests");
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    t.clock.advance(time::Duration::seconds(retry as i64));
    let (s, v) = get(&t, "/v1.0/security/incidents?$top=1", &token).await;
    assert_eq!(s, 200, "{v}");
}
