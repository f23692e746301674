//! Graph tokens and audiences, incidents and alerts_v2: options, updates, comments, both views.

use super::*;
use serde_json::{json, Value};

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
    // Change a whole byte in the middle (the last base64 character holds padding bits, so
    // changing it may not change the signature at all).
    let sig = parts[2];
    let middle = sig.len() / 2;
    let swapped = if sig.as_bytes()[middle] == b'A' {
        "B"
    } else {
        "A"
    };
    let forged_sig = format!("{}{swapped}{}", &sig[..middle], &sig[middle + 1..]);
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
    // `not` (Graph only): the complement of the filter above, with or without a group.
    let filter = "not ((severity eq 'high' or severity eq 'medium') and status ne 'resolved')";
    let (s, nv) = get(
        &t,
        &format!(
            "/v1.0/security/incidents?$count=true&$top=1000&$filter={}",
            urlencode(filter)
        ),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{nv}");
    let all = dv["value"].as_array().unwrap().len();
    assert_eq!(nv["@odata.count"], all - expected.len(), "{nv}");
    for i in nv["value"].as_array().unwrap() {
        assert!(
            !((i["severity"] == "high" || i["severity"] == "medium") && i["status"] != "resolved"),
            "{i}"
        );
    }
    // `not assignedTo eq 'x'` holds for unassigned incidents too.
    let (s, nv) = get(
        &t,
        &format!(
            "/v1.0/security/incidents?$count=true&$top=1000&$filter={}",
            urlencode("not assignedTo eq 'nobody@example.com'")
        ),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{nv}");
    assert_eq!(nv["@odata.count"], all, "{nv}");
    // The Defender API keeps its own grammar: no `not`.
    let (s, v) = get(
        &t,
        &format!(
            "/api/incidents?$filter={}",
            urlencode("not status eq 'Active'")
        ),
        &defender,
    )
    .await;
    assert_eq!(s, 400, "{v}");
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
    // Demo incidents may carry comments already: the new one is last.
    let earlier = v["comments"].as_array().unwrap().len() - 1;
    assert_eq!(v["comments"][earlier]["comment"], "from defender");
    assert_eq!(
        v["comments"][earlier]["createdByDisplayName"],
        app.client_id
    );
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
    assert_eq!(v["value"].as_array().unwrap().len(), earlier + 2);
    assert_eq!(v["value"][earlier + 1]["comment"], "Demo for docs");
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
    assert_eq!(
        comments[earlier..],
        ["from defender", "Demo for docs", "third"]
    );

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
