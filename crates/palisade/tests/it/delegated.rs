//! The Defender API under a user: the token's scope and the user's right (each role ×
//! read / update / hunt), device-group scoping of incidents and of hunting (in the scan:
//! join, union, invoke, let, evaluate, table()), disabled and deleted users, tenant
//! isolation; app-only tokens unchanged.

use crate::common::*;
use palisade_store::NewIncident;
use serde_json::{json, Value};

async fn call(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t.http.request(method, t.url(path)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

fn incident(name: &str, devices: &[&str], now: time::OffsetDateTime) -> NewIncident {
    NewIncident {
        incident_name: name.into(),
        created_time: now,
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
        alerts_json: "[]".into(),
        demo_key: None,
        device_ids: devices.iter().map(|d| d.to_string()).collect(),
    }
}

/// A tenant with two device groups, a device in each, and incidents on each, on both,
/// and on none.
async fn estate(t: &TestServer, delegated: &[&str]) -> (UserTenant, Vec<i64>) {
    use palisade_clock::Clock;
    let ut = t.user_tenant(delegated).await;
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
    let mut ids = Vec::new();
    for (name, devices) in [
        ("fin", vec!["dev-fin"]),
        ("srv", vec!["dev-srv"]),
        ("both", vec!["dev-fin", "dev-srv"]),
        ("mail", vec![]),
    ] {
        ids.push(
            t.server
                .store
                .insert_incident(&ut.tenant_id, &incident(name, &devices, now))
                .await
                .unwrap(),
        );
    }
    (ut, ids)
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incidentName"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn each_role_reads_updates_and_hunts_as_the_portal_allows() {
    let t = start().await;
    let (ut, ids) = estate(&t, &["Incident.ReadWrite", "AdvancedHunting.Read"]).await;
    let roles = [
        ("Global Administrator", true),
        ("Security Administrator", true),
        ("Security Operator", true),
        ("Security Reader", false),
        ("Global Reader", false),
    ];
    for (i, (role, manage)) in roles.iter().enumerate() {
        let u = t.user_in(&ut, &format!("u{i}"), &[role], None).await;
        let tok = t.user_token(&ut, &u).await;
        let (s, v) = call(&t, reqwest::Method::GET, "/api/incidents", &tok, None).await;
        assert_eq!(s, 200, "{role}: {v}");
        assert_eq!(names(&v), ["both", "fin", "mail", "srv"], "{role}");
        let (s, _) = call(
            &t,
            reqwest::Method::GET,
            &format!("/api/incidents/{}", ids[0]),
            &tok,
            None,
        )
        .await;
        assert_eq!(s, 200, "{role}");
        let (s, v) = call(
            &t,
            reqwest::Method::PATCH,
            &format!("/api/incidents/{}", ids[0]),
            &tok,
            Some(json!({"status": "InProgress", "comment": format!("by {role}")})),
        )
        .await;
        if *manage {
            assert_eq!(s, 200, "{role}: {v}");
            assert_eq!(
                v["comments"].as_array().unwrap().last().unwrap()["createdBy"],
                u.upn
            );
        } else {
            assert_eq!(s, 403, "{role}: {v}");
            let m = v["error"]["message"].as_str().unwrap();
            assert!(
                m.contains("'Manage incidents'") && m.contains("Security Operator"),
                "{m}"
            );
            assert!(!m.contains("Incident.ReadWrite"), "the scope is there: {m}");
        }
        let (s, v) = call(
            &t,
            reqwest::Method::POST,
            "/api/advancedhunting/run",
            &tok,
            Some(json!({"Query": "EmailEvents | take 1"})),
        )
        .await;
        assert_eq!(s, 200, "{role}: {v}");
    }
    // No role at all: nothing, and the 403 says which right is missing.
    let nobody = t.user_in(&ut, "norole", &[], None).await;
    let tok = t.user_token(&ut, &nobody).await;
    for (method, path, body) in [
        (reqwest::Method::GET, "/api/incidents".to_string(), None),
        (
            reqwest::Method::POST,
            "/api/advancedhunting/run".to_string(),
            Some(json!({"Query": "EmailEvents"})),
        ),
    ] {
        let (s, v) = call(&t, method, &path, &tok, body).await;
        assert_eq!(s, 403, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("'View data'"),
            "{v}"
        );
    }
    // A role but not the scope: the 403 names the scope.
    let (tid, _) = (ut.tenant_id.clone(), ());
    let read_only = t.public_app(&tid, "read only", &["Incident.Read"]).await;
    let admin = t
        .user_in(&ut, "admin2", &["Global Administrator"], None)
        .await;
    let ro = UserTenant {
        tenant_id: tid.clone(),
        domain: ut.domain.clone(),
        client_id: read_only,
    };
    let tok = t.user_token(&ro, &admin).await;
    let (s, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{}", ids[0]),
        &tok,
        Some(json!({"status": "Active"})),
    )
    .await;
    assert_eq!(s, 403);
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("Incident.ReadWrite") && !m.contains("Manage incidents"),
        "{m}"
    );
    let (s, v) = call(
        &t,
        reqwest::Method::POST,
        "/api/advancedhunting/run",
        &tok,
        Some(json!({"Query": "EmailEvents"})),
    )
    .await;
    assert_eq!(s, 403);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("AdvancedHunting.Read"));
    // Both missing: both named.
    let reader = t.user_in(&ut, "reader2", &["Security Reader"], None).await;
    let tok = t.user_token(&ro, &reader).await;
    let (_, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{}", ids[0]),
        &tok,
        Some(json!({"status": "Active"})),
    )
    .await;
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("Incident.ReadWrite") && m.contains("Manage incidents"),
        "{m}"
    );
}

#[tokio::test]
async fn device_groups_limit_incidents_and_disabled_users_are_refused() {
    let t = start().await;
    let (ut, ids) = estate(&t, &["Incident.ReadWrite", "AdvancedHunting.Read"]).await;
    let fin = t
        .user_in(&ut, "fin", &["Security Operator"], Some(&["Finance"]))
        .await;
    let tok = t.user_token(&ut, &fin).await;
    let (s, v) = call(&t, reqwest::Method::GET, "/api/incidents", &tok, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        names(&v),
        ["both", "fin", "mail"],
        "the server-only incident is not listed"
    );
    // Paging counts visible incidents only.
    let (_, v) = call(
        &t,
        reqwest::Method::GET,
        "/api/incidents?$top=2",
        &tok,
        None,
    )
    .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    assert!(v["@odata.nextLink"].is_string());
    let srv = ids[1];
    let (s, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/api/incidents/{srv}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "ResourceNotFound");
    let (s, _) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{srv}"),
        &tok,
        Some(json!({"status": "Resolved"})),
    )
    .await;
    assert_eq!(s, 404);
    let stored = t
        .server
        .store
        .get_incident(&ut.tenant_id, srv)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "Active", "a refused PATCH changes nothing");
    let (s, _) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{}", ids[2]),
        &tok,
        Some(json!({"status": "InProgress"})),
    )
    .await;
    assert_eq!(s, 200, "an incident with one of the user's devices");
    // Moving the server into Finance makes its incident visible at once.
    let (s, _) = t
        .admin(
            reqwest::Method::PUT,
            &format!("/admin/{}/devices/dev-srv", ut.tenant_id),
            Some(json!({"computerDnsName": "srv-1.contoso.com", "deviceGroup": "Finance"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &t,
        reqwest::Method::GET,
        &format!("/api/incidents/{srv}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(s, 200);

    // Another tenant's user sees only their tenant.
    let (other, _) = estate(&t, &["Incident.Read"]).await;
    let o = t.user_in(&other, "o", &["Security Reader"], None).await;
    let otok = t.user_token(&other, &o).await;
    let (_, v) = call(&t, reqwest::Method::GET, "/api/incidents", &otok, None).await;
    assert_eq!(v["value"].as_array().unwrap().len(), 4);
    let (s, _) = call(
        &t,
        reqwest::Method::GET,
        &format!("/api/incidents/{srv}"),
        &otok,
        None,
    )
    .await;
    assert_eq!(s, 200, "same id, own tenant's incident");
    let mine = t
        .server
        .store
        .get_incident(&other.tenant_id, srv)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.incident_name, "srv");

    // Disabling the user: the still-valid token is refused (401); deleting too.
    let (s, _) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{}/v1.0/users/{}", ut.tenant_id, fin.id),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = call(&t, reqwest::Method::GET, "/api/incidents", &tok, None).await;
    assert_eq!(s, 401, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("disabled"));
    let (s, _) = t
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/{}/v1.0/users/{}", other.tenant_id, o.id),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = call(&t, reqwest::Method::GET, "/api/incidents", &otok, None).await;
    assert_eq!(s, 401);

    // whoami reports the scope and groups.
    let f2 = t
        .user_in(&ut, "fin2", &["Security Reader"], Some(&["Finance"]))
        .await;
    let tok2 = t.user_token(&ut, &f2).await;
    let (s, v) = call(
        &t,
        reqwest::Method::GET,
        "/api/palisade/whoami",
        &tok2,
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["context"], "delegated");
    assert_eq!(v["deviceGroups"], json!(["Finance"]));
    assert_eq!(v["rights"], json!(["View data"]));
    assert_eq!(v["userPrincipalName"], f2.upn);
}

#[tokio::test]
async fn hunting_rows_of_other_device_groups_never_come_back() {
    let t = start().await;
    let (ut, _) = estate(&t, &["AdvancedHunting.Read"]).await;
    let now = {
        use palisade_clock::Clock;
        t.clock.now()
    };
    let ts = (now - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let store =
        palisade_events::EventStore::open(t.dir.path().join("data").join("events")).unwrap();
    let ingest = |table: &'static str, rows: Vec<Value>| {
        let store = &store;
        let tenant = ut.tenant_id.clone();
        async move {
            let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
            let r =
                palisade_events::ingest_jsonl(store, &tenant, table, std::io::Cursor::new(text))
                    .await
                    .unwrap();
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        }
    };
    ingest("DeviceProcessEvents", vec![
        json!({"Timestamp": ts, "DeviceId": "dev-fin", "DeviceName": "ws-fin.contoso.com", "FileName": "a.exe", "SHA1": "aaaa"}),
        json!({"Timestamp": ts, "DeviceId": "dev-srv", "DeviceName": "srv-1.contoso.com", "FileName": "b.exe", "SHA1": "bbbb"}),
    ]).await;
    ingest("DeviceNetworkEvents", vec![
        json!({"Timestamp": ts, "DeviceId": "dev-fin", "DeviceName": "ws-fin.contoso.com", "RemoteIP": "1.1.1.1"}),
        json!({"Timestamp": ts, "DeviceId": "dev-srv", "DeviceName": "srv-1.contoso.com", "RemoteIP": "2.2.2.2"}),
    ]).await;
    ingest("DeviceNetworkInfo", vec![
        json!({"Timestamp": ts, "DeviceId": "dev-fin", "DeviceName": "ws-fin.contoso.com", "NetworkAdapterName": "eth0", "IPAddresses": "[{\"IPAddress\":\"10.1.0.5\"}]"}),
        json!({"Timestamp": ts, "DeviceId": "dev-srv", "DeviceName": "srv-1.contoso.com", "NetworkAdapterName": "eth0", "IPAddresses": "[{\"IPAddress\":\"10.2.0.5\"}]"}),
    ]).await;
    ingest(
        "EmailEvents",
        vec![json!({"Timestamp": ts, "Subject": "invoice"})],
    )
    .await;

    let fin = t
        .user_in(&ut, "fin", &["Security Reader"], Some(&["Finance"]))
        .await;
    let all = t.user_in(&ut, "all", &["Security Reader"], None).await;
    let fin_tok = t.user_token(&ut, &fin).await;
    let all_tok = t.user_token(&ut, &all).await;
    let run = |tok: String, q: String| {
        let t = &t;
        async move {
            let (s, v) = call(
                t,
                reqwest::Method::POST,
                "/api/advancedhunting/run",
                &tok,
                Some(json!({"Query": q})),
            )
            .await;
            assert_eq!(s, 200, "{q}: {v}");
            let mut out: Vec<String> = v["Results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_object()
                        .unwrap()
                        .values()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            out.sort();
            out
        }
    };
    let cases = [
        "DeviceProcessEvents | project DeviceName",
        "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId | project DeviceName, RemoteIP",
        "union DeviceProcessEvents, DeviceNetworkEvents | distinct DeviceName",
        "let x = DeviceNetworkEvents | project RemoteIP; x",
        "table('DeviceNetworkEvents') | project RemoteIP",
        "DeviceProcessEvents | project DeviceName | evaluate pivot(DeviceName)",
    ];
    for q in cases {
        let scoped = run(fin_tok.clone(), q.to_string()).await;
        let everything = run(all_tok.clone(), q.to_string()).await;
        let joined = scoped.join(" ");
        assert!(
            !joined.contains("srv-1") && !joined.contains("2.2.2.2"),
            "{q}: {scoped:?}"
        );
        assert!(
            !scoped.is_empty() || q.contains("pivot"),
            "{q}: the user's own rows come back"
        );
        assert!(
            everything.join(" ").contains("srv-1")
                || everything.join(" ").contains("2.2.2.2")
                || q.contains("pivot"),
            "{q}: {everything:?}"
        );
    }
    // evaluate pivot: the other group's device never even becomes a column.
    let (_, v) = call(&t, reqwest::Method::POST, "/api/advancedhunting/run", &fin_tok,
        Some(json!({"Query": "DeviceProcessEvents | project DeviceName | evaluate pivot(DeviceName)"}))).await;
    let cols: Vec<&str> = v["Schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["ws-fin.contoso.com"], "{v}");
    // invoke DeviceFromIP(): the server's address resolves for the unscoped user only.
    let q = "print IP = '10.2.0.5' | invoke DeviceFromIP()";
    let scoped = run(fin_tok.clone(), q.into()).await;
    let everything = run(all_tok.clone(), q.into()).await;
    assert!(scoped.is_empty(), "{scoped:?}");
    assert!(everything.join(" ").contains("dev-srv"), "{everything:?}");
    let own = run(
        fin_tok.clone(),
        "print IP = '10.1.0.5' | invoke DeviceFromIP()".into(),
    )
    .await;
    assert!(own.join(" ").contains("dev-fin"), "{own:?}");
    // A table without devices stays visible.
    assert_eq!(
        run(fin_tok.clone(), "EmailEvents | project Subject".into()).await,
        ["\"invoice\""]
    );
}
