//! Who may call what: the permission matrix, delegated users' rights and device groups, tenant
//! isolation, throttling.

use super::*;
use palisade_clock::Clock;
use serde_json::{json, Value};

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
