//! The SDK's `GraphSecurityClient` and the CLI's `--api graph` / `alerts …` against the
//! live server.

use super::*;
use futures::StreamExt;
use palisade_client::{
    ClientSecretCredential, GraphListQuery, GraphSecurityClient, HttpConfig, RetryPolicy,
    SecurityAlertUpdate, SecurityIncidentUpdate, TokenEndpointVersion,
};

fn sdk(t: &TestServer, app: &App) -> GraphSecurityClient {
    let ca = std::fs::read(t.server.ca_path.as_ref().unwrap()).unwrap();
    let http = HttpConfig::new()
        .add_root_certificate_pem(&ca)
        .unwrap()
        .build()
        .unwrap();
    let cred = ClientSecretCredential::builder(&app.tenant_id, &app.client_id, &app.secret)
        .authority_host(t.server.base_url.clone())
        .endpoint_version(TokenEndpointVersion::V2)
        .http_client(http.clone())
        .build()
        .unwrap();
    GraphSecurityClient::builder(cred)
        .api_base(format!("{}/v1.0", t.server.base_url))
        .http_client(http)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sdk_graph_client_pages_updates_comments_and_hunts() {
    let t = start().await;
    let app = graph_app(
        &t,
        &[
            "SecurityIncident.ReadWrite.All",
            "SecurityAlert.ReadWrite.All",
            "ThreatHunting.Read.All",
        ],
    )
    .await;
    seed(&t, &app.tenant_id, 23).await;
    let client = sdk(&t, &app);
    let query = GraphListQuery {
        top: Some(5),
        ..GraphListQuery::default()
    };
    let all = client.list_all_incidents(&query).await.unwrap();
    assert_eq!(all.len(), 23);
    let limited: Vec<_> = client
        .list_incidents(&GraphListQuery {
            top: Some(5),
            limit: Some(7),
            ..GraphListQuery::default()
        })
        .collect()
        .await;
    assert_eq!(limited.len(), 7);
    let high = client
        .list_all_incidents(&GraphListQuery {
            filter: Some("severity eq 'high'".into()),
            top: Some(1000),
            ..GraphListQuery::default()
        })
        .await
        .unwrap();
    assert!(high.iter().all(|i| i.severity == "high"));
    assert_eq!(
        high.len(),
        all.iter().filter(|i| i.severity == "high").count()
    );

    let id = all[0].id.clone();
    let updated = client
        .update_incident(
            &id,
            &SecurityIncidentUpdate {
                status: Some("inProgress".into()),
                custom_tags: Some(vec!["sdk".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.status, "inProgress");
    assert_eq!(updated.custom_tags, ["sdk"]);
    let comments = client
        .add_incident_comment(&id, "from the sdk")
        .await
        .unwrap();
    assert_eq!(comments.last().unwrap().comment, "from the sdk");
    let with_alerts = client.get_incident(&id, true).await.unwrap();
    assert!(!with_alerts.alerts.is_empty());

    let alert_id = with_alerts.alerts[0].id.clone();
    let a = client
        .update_alert(
            &alert_id,
            &SecurityAlertUpdate {
                status: Some("resolved".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(a.status, "resolved");
    assert_eq!(
        client.add_alert_comment(&alert_id, "ok").await.unwrap()[0].comment,
        "ok"
    );
    assert_eq!(
        client.get_alert(&alert_id).await.unwrap().status,
        "resolved"
    );
    let alerts = client
        .list_all_alerts(&GraphListQuery {
            top: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    let expected: usize = client
        .list_all_incidents(&GraphListQuery {
            top: Some(1000),
            expand_alerts: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|i| i.alerts.len())
        .sum();
    assert_eq!(alerts.len(), expected);

    let err = client.get_incident("99999", false).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.api().unwrap().code.as_deref(), Some("NotFound"));
    assert!(
        err.api().unwrap().target.is_some(),
        "request-id as the target"
    );
    assert!(client.get_alert("../../admin").await.is_err());

    let h = client
        .run_hunting_query("DeviceInfo | take 1 | project DeviceId", Some("P1D"))
        .await
        .unwrap();
    assert_eq!(h.schema[0].name, "DeviceId");
}

#[tokio::test]
async fn cli_speaks_graph_with_api_graph_and_alerts() {
    let t = start().await;
    let app = graph_app(
        &t,
        &[
            "SecurityIncident.ReadWrite.All",
            "SecurityAlert.ReadWrite.All",
            "ThreatHunting.Read.All",
        ],
    )
    .await;
    seed(&t, &app.tenant_id, 4).await;
    let run = |args: Vec<String>| {
        let t = &t;
        let app = &app;
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
                .env("XDG_CONFIG_HOME", crate::common::isolated_config())
                .args(&args)
                .env("HOME", t.dir.path())
                .env("PALISADE_CA_FILE", t.server.ca_path.as_ref().unwrap())
                .env("PALISADE_AUTHORITY", &t.server.base_url)
                .env("PALISADE_API", &t.server.base_url)
                .env("PALISADE_TENANT_ID", &app.tenant_id)
                .env("PALISADE_CLIENT_ID", &app.client_id)
                .env("PALISADE_CLIENT_SECRET", &app.secret)
                .env_remove("PALISADE_GRAPH_API")
                .env_remove("PALISADE_CONFIG")
                .output()
                .await
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let list: Value =
        serde_json::from_str(&run(s(&["incidents", "list", "--api", "graph", "-o", "json"])).await)
            .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4);
    let id = list[0]["id"].as_str().unwrap().to_string();
    let updated: Value = serde_json::from_str(
        &run(s(&[
            "incidents",
            "update",
            &id,
            "--api",
            "graph",
            "--status",
            "resolved",
            "--classification",
            "truePositive",
            "--determination",
            "malware",
            "--comment",
            "cli",
            "-o",
            "json",
        ]))
        .await,
    )
    .unwrap();
    assert_eq!(updated[0]["status"], "resolved");
    assert_eq!(
        updated[0]["comments"].as_array().unwrap().last().unwrap()["comment"],
        "cli"
    );
    let alerts: Value =
        serde_json::from_str(&run(s(&["alerts", "list", "--all", "-o", "json"])).await).unwrap();
    let alert_id = alerts[0]["id"].as_str().unwrap().to_string();
    let table = run(s(&["alerts", "get", &alert_id])).await;
    assert!(
        table.contains(&alert_id) && table.contains("EVIDENCE"),
        "{table}"
    );
    let a: Value = serde_json::from_str(
        &run(s(&[
            "alerts",
            "update",
            &alert_id,
            "--status",
            "inProgress",
            "--comment",
            "looking",
            "-o",
            "json",
        ]))
        .await,
    )
    .unwrap();
    assert_eq!(a[0]["status"], "inProgress");
    assert_eq!(a[0]["comments"][0]["comment"], "looking");
    let csv = run(s(&[
        "hunt",
        "--api",
        "graph",
        "-o",
        "csv",
        "DeviceInfo | take 1 | project DeviceId",
    ]))
    .await;
    assert!(csv.starts_with("DeviceId"), "{csv}");
}
