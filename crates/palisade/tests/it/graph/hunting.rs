//! Advanced hunting at Graph's paths: both POST paths and the beta GET function, the
//! lowercase result shape, the same rows as the Defender API, permissions, errors,
//! tenant isolation.

use super::*;
use palisade_clock::Clock;
use serde_json::json;

async fn ingest(t: &TestServer, tenant: &str, table: &str, lines: &[Value]) {
    let store =
        palisade_events::EventStore::open(t.dir.path().join("data").join("events")).unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report = palisade_events::ingest_jsonl(&store, tenant, table, std::io::Cursor::new(text))
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

#[tokio::test]
async fn run_hunting_query_returns_the_defender_rows_in_graph_shape() {
    let t = start().await;
    let a = graph_app(&t, &["ThreatHunting.Read.All"]).await;
    grant(
        &t,
        &a,
        "https://api.security.microsoft.com",
        &["AdvancedHunting.Read.All"],
    )
    .await;
    let b = graph_app(&t, &["ThreatHunting.Read.All"]).await;
    let now = t.clock.now();
    let recent = (now - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    ingest(&t, &a.tenant_id, "DeviceProcessEvents", &[
        json!({"Timestamp": recent, "DeviceName": "a-ws-1", "FileName": "powershell.exe", "ProcessCommandLine": "powershell -enc AAAA"}),
        json!({"Timestamp": recent, "DeviceName": "a-ws-2", "FileName": "cmd.exe", "ProcessCommandLine": "cmd /c whoami"}),
    ])
    .await;
    ingest(&t, &b.tenant_id, "DeviceProcessEvents", &[
        json!({"Timestamp": recent, "DeviceName": "b-ws-1", "FileName": "powershell.exe", "ProcessCommandLine": "x"}),
    ])
    .await;
    let token = graph_token(&t, &a).await;
    let query = "DeviceProcessEvents | project DeviceName, FileName, IsPs = FileName == 'powershell.exe' | order by DeviceName asc";

    // The docs' path and body, and the SDKs' namespaced path with lowercase keys.
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/security/runHuntingQuery",
        &token,
        Some(json!({"Query": query})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json;odata.metadata=minimal"));
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults"
    );
    assert_eq!(
        v["schema"],
        json!([{"name": "DeviceName", "type": "String"}, {"name": "FileName", "type": "String"}, {"name": "IsPs", "type": "SByte"}])
    );
    assert_eq!(
        v["results"],
        json!([
            {"DeviceName": "a-ws-1", "FileName": "powershell.exe", "IsPs@odata.type": "#SByte", "IsPs": 1},
            {"DeviceName": "a-ws-2", "FileName": "cmd.exe", "IsPs@odata.type": "#SByte", "IsPs": 0},
        ])
    );
    assert!(v.get("Stats").is_none() && v.get("Schema").is_none());
    let (s, _, ns) = call(
        &t,
        reqwest::Method::POST,
        "/beta/security/microsoft.graph.security.runHuntingQuery",
        &token,
        Some(json!({"query": query, "timespan": "P1D"})),
    )
    .await;
    assert_eq!(s, 200, "{ns}");
    assert_eq!(ns["results"], v["results"]);
    // A span that starts after the rows were written leaves them out: the start narrows
    // every scan of the query.
    let (s, _, narrow) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/security/runHuntingQuery",
        &token,
        Some(json!({"query": query, "timespan": "PT30M"})),
    )
    .await;
    assert_eq!(s, 200, "{narrow}");
    assert_eq!(narrow["results"], json!([]), "{narrow}");

    // The same rows through the Defender API.
    let (_, d) = t.v1_token(&a, "https://api.security.microsoft.com").await;
    let (s, _, dv) = call(
        &t,
        reqwest::Method::POST,
        "/api/advancedhunting/run",
        d["access_token"].as_str().unwrap(),
        Some(json!({"Query": query})),
    )
    .await;
    assert_eq!(s, 200, "{dv}");
    let defender_rows: Vec<(Value, Value)> = dv["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["DeviceName"].clone(), r["FileName"].clone()))
        .collect();
    let graph_rows: Vec<(Value, Value)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["DeviceName"].clone(), r["FileName"].clone()))
        .collect();
    assert_eq!(defender_rows, graph_rows);

    // The beta GET function, percent-encoded, with a quote inside the literal.
    let f = "getRunHuntingQuery(query='DeviceProcessEvents | where FileName == ''cmd.exe'' | project DeviceName',timespan='P1D')";
    let encoded: String = f
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"()=,'._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (s, _, g) = call(
        &t,
        reqwest::Method::GET,
        &format!("/beta/security/{encoded}"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        g["@odata.context"],
        "https://graph.microsoft.com/beta/$metadata#microsoft.graph.security.huntingQueryResults"
    );
    assert_eq!(g["results"], json!([{"DeviceName": "a-ws-2"}]));

    // Errors: KQL, body, timespan — Graph's envelope; the short alias is not a path.
    for body in [
        json!({"Query": "DeviceProcessEvents | wher x"}),
        json!({"Query": ""}),
        json!({"Query": "DeviceInfo", "Timespan": "yesterday"}),
        json!({"Query": "x", "Other": 1}),
    ] {
        let (s, h, e) = call(
            &t,
            reqwest::Method::POST,
            "/v1.0/security/runHuntingQuery",
            &token,
            Some(body),
        )
        .await;
        assert_graph_error(s, &h, &e, 400, "BadRequest");
    }
    let (s, h, e) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/security/security.runHuntingQuery",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &e, 400, "BadRequest");

    // Tenant B sees its own row only; an incidents-only app may not hunt.
    let (s, _, bv) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/security/runHuntingQuery",
        &graph_token(&t, &b).await,
        Some(json!({"Query": "DeviceProcessEvents | project DeviceName"})),
    )
    .await;
    assert_eq!(s, 200, "{bv}");
    assert_eq!(bv["results"], json!([{"DeviceName": "b-ws-1"}]));
    let c = graph_app(&t, &["SecurityIncident.ReadWrite.All"]).await;
    let (s, h, e) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/security/runHuntingQuery",
        &graph_token(&t, &c).await,
        Some(json!({"Query": "DeviceInfo"})),
    )
    .await;
    assert_graph_error(s, &h, &e, 403, "Forbidden");
}
