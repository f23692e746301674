//! `POST /api/advancedhunting/run` end to end: real tokens, the KQL engine over the Parquet
//! event store, tenant isolation, errors with positions, permissions, quota; SDK and CLI.

use crate::common::*;
use palisade_client::{ClientSecretCredential, DefenderClient, HttpConfig, RetryPolicy};
use palisade_clock::Clock;
use serde_json::{json, Value};

async fn token(t: &TestServer, app: &App) -> String {
    let (s, v) = t.v1_token(app, "https://api.security.microsoft.com").await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

async fn hunt(
    t: &TestServer,
    bearer: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = t
        .http
        .post(t.url("/api/advancedhunting/run"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    let h = resp.headers().clone();
    (s, h, resp.json().await.unwrap_or(Value::Null))
}

fn events_store(t: &TestServer) -> palisade_events::EventStore {
    palisade_events::EventStore::open(t.dir.path().join("data").join("events")).unwrap()
}

async fn ingest(t: &TestServer, tenant: &str, table: &str, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report =
        palisade_events::ingest_jsonl(&events_store(t), tenant, table, std::io::Cursor::new(text))
            .await
            .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

fn iso(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn queries_run_per_tenant_with_the_documented_shape() {
    let t = start().await;
    let a = t.app(&["AdvancedHunting.Read.All"]).await;
    let b = t.app(&["AdvancedHunting.Read.All"]).await;
    let now = t.clock.now();
    let recent = iso(now - time::Duration::hours(1));
    let old = iso(now - time::Duration::days(40));
    ingest(&t, &a.tenant_id, "DeviceProcessEvents", &[
        json!({"Timestamp": recent, "DeviceName": "a-ws-1", "FileName": "powershell.exe", "ProcessCommandLine": "powershell -enc AAAA", "InitiatingProcessFileName": "winword.exe"}),
        json!({"Timestamp": recent, "DeviceName": "a-ws-2", "FileName": "cmd.exe", "ProcessCommandLine": "cmd /c whoami", "InitiatingProcessFileName": "explorer.exe"}),
        json!({"Timestamp": old, "DeviceName": "a-old", "FileName": "powershell.exe", "ProcessCommandLine": "too old", "InitiatingProcessFileName": "explorer.exe"}),
    ]).await;
    ingest(&t, &b.tenant_id, "DeviceProcessEvents", &[
        json!({"Timestamp": recent, "DeviceName": "b-secret-host", "FileName": "powershell.exe", "ProcessCommandLine": "b only", "InitiatingProcessFileName": "explorer.exe"}),
    ]).await;

    let tok_a = token(&t, &a).await;
    let (s, _, body) = hunt(&t, &tok_a, json!({"Query": "DeviceProcessEvents | where FileName =~ \"POWERSHELL.EXE\" | project Timestamp, DeviceName, ProcessCommandLine | order by Timestamp desc"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["Schema"],
        json!([{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "DeviceName", "Type": "String"}, {"Name": "ProcessCommandLine", "Type": "String"}])
    );
    assert_eq!(
        body["Results"].as_array().unwrap().len(),
        1,
        "only A's recent row: {body}"
    );
    assert_eq!(body["Results"][0]["DeviceName"], "a-ws-1");
    assert!(body["Results"][0]["Timestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(body["Stats"]["ExecutionTime"].is_number());
    assert!(body["Stats"]["resource_usage"]["cpu"]["total cpu"].is_string());
    assert_eq!(body["Stats"]["dataset_statistics"][0]["table_row_count"], 1);

    // The same query in B sees only B's row; nothing of A leaks either way.
    let tok_b = token(&t, &b).await;
    let (_, _, body_b) = hunt(
        &t,
        &tok_b,
        json!({"Query": "DeviceProcessEvents | summarize n = count() by DeviceName"}),
    )
    .await;
    let names: Vec<&str> = body_b["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["DeviceName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b-secret-host"]);
    let (_, _, all_a) = hunt(
        &t,
        &tok_a,
        json!({"Query": "union Device* | where DeviceName has \"secret\" | count"}),
    )
    .await;
    assert_eq!(all_a["Results"][0]["Count"], 0, "{all_a}");
    // Older than 30 days is invisible.
    let (_, _, old_a) = hunt(
        &t,
        &tok_a,
        json!({"Query": "DeviceProcessEvents | where DeviceName == \"a-old\""}),
    )
    .await;
    assert_eq!(old_a["Results"], json!([]));
}

#[tokio::test]
async fn bad_queries_permissions_and_quota() {
    let t = start().await;
    let app = t.app(&["AdvancedHunting.Read.All"]).await;
    let tok = token(&t, &app).await;
    let (s, _, e) = hunt(
        &t,
        &tok,
        json!({"Query": "DeviceProcessEvents\n| where FileName = \"x\""}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["code"], "BadRequest");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("line 2"),
        "{e}"
    );
    let (s, _, e) = hunt(&t, &tok, json!({"Query": "NoSuchTable | take 1"})).await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchTable"),
        "{e}"
    );
    let (s, _, e) = hunt(
        &t,
        &tok,
        json!({"Query": "externaldata(x:string) [@\"https://example.com/x.csv\"] | take 1"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("externaldata"),
        "{e}"
    );
    // A function of the Kusto reference that Palisade does not implement: rejected by name,
    // in the same shape as any unsupported construct.
    let (s, _, e) = hunt(
        &t,
        &tok,
        json!({"Query": "print d = parse_user_agent('Mozilla/5.0', 'browser')"}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["code"], "BadRequest");
    assert_eq!(
        e["error"]["message"],
        "'parse_user_agent' is not supported by this advanced hunting service (line 1, column 11).",
        "{e}"
    );
    // Operators and statements of the Kusto reference that Palisade does not implement: by
    // name, with where the query uses them.
    for (q, message) in [
        (
            "DeviceInfo\n| graph-match (a)-->(b)",
            "'graph-match' is not supported by this advanced hunting service (line 2, column 3).",
        ),
        (
            "set query_now = datetime(2020-01-01);\nDeviceInfo",
            "'set' is not supported by this advanced hunting service (line 1, column 1).",
        ),
    ] {
        let (s, _, e) = hunt(&t, &tok, json!({ "Query": q })).await;
        assert_eq!(
            (s, e["error"]["message"].as_str()),
            (400, Some(message)),
            "{e}"
        );
    }
    let (s, _, e) = hunt(&t, &tok, json!({"query": "DeviceInfo | take 1"})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("InvalidRequestBody"))
    );

    let reader = t
        .app_in(&app.tenant_id, "AzureADMyOrg", &["Incident.Read.All"])
        .await;
    let (s, _, e) = hunt(
        &t,
        &token(&t, &reader).await,
        json!({"Query": "DeviceInfo | take 1"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("AdvancedHunting.Read.All"));

    // 45 calls per minute per tenant: a second app of the same tenant shares the budget.
    let other = t
        .app_in(
            &app.tenant_id,
            "AzureADMyOrg",
            &["AdvancedHunting.Read.All"],
        )
        .await;
    let tok_other = token(&t, &other).await;
    let mut ok = 7; // seven calls above succeeded or failed after the quota check
    while ok < 45 {
        let (s, _, _) = hunt(
            &t,
            if ok % 2 == 0 { &tok } else { &tok_other },
            json!({"Query": "print x = 1"}),
        )
        .await;
        assert_eq!(s, 200);
        ok += 1;
    }
    let (s, h, e) = hunt(&t, &tok_other, json!({"Query": "print x = 1"})).await;
    assert_eq!(s, 429, "{e}");
    assert_eq!(
        e["error"]["message"],
        "API calls quota exceeded! maximum allowed 45 per 00:01:00"
    );
    assert!(h.contains_key("retry-after"));
    t.clock.advance(time::Duration::seconds(61));
    assert_eq!(hunt(&t, &tok, json!({"Query": "print x = 1"})).await.0, 200);
}

#[tokio::test]
async fn sdk_and_cli_hunt() {
    let t = start().await;
    let app = t.app(&["AdvancedHunting.Read.All"]).await;
    let ca = std::fs::read(t.server.ca_path.as_ref().unwrap()).unwrap();
    let http = HttpConfig::new()
        .add_root_certificate_pem(&ca)
        .unwrap()
        .build()
        .unwrap();
    let cred = ClientSecretCredential::builder(&app.tenant_id, &app.client_id, &app.secret)
        .authority_host(t.server.base_url.clone())
        .http_client(http.clone())
        .build()
        .unwrap();
    let client = DefenderClient::builder(cred)
        .api_base(t.server.base_url.clone())
        .http_client(http)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let r = client
        .hunt("range x from 1 to 5 step 1 | summarize total = sum(x)")
        .await
        .unwrap();
    assert_eq!(r.schema[0].name, "total");
    assert_eq!(r.results[0]["total"], 15);

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args([
            "hunt",
            "print greeting = strcat(\"hello\", \" \", \"world\")",
            "-o",
            "csv",
        ])
        .env("PALISADE_CA_FILE", t.server.ca_path.as_ref().unwrap())
        .env("PALISADE_AUTHORITY", &t.server.base_url)
        .env("PALISADE_API", &t.server.base_url)
        .env("AZURE_TENANT_ID", &app.tenant_id)
        .env("AZURE_CLIENT_ID", &app.client_id)
        .env("AZURE_CLIENT_SECRET", &app.secret)
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "greeting\nhello world\n"
    );

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args([
            "hunt",
            "--explain",
            "DeviceProcessEvents | where FileName == \"x\" | take 3",
            "--data-dir",
        ])
        .arg(t.dir.path().join("data"))
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("DeviceProcessEvents") && plan.to_lowercase().contains("limit"),
        "{plan}"
    );
    // `hunt --functions` needs no server: the registry's coverage, as text and as JSON.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(["hunt", "--functions", "-o", "json"])
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| {
        list["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["status"].clone())
    };
    assert_eq!(status("strcat"), Some(json!("implemented")));
    assert_eq!(status("parse_user_agent"), Some(json!("rejected")));
    assert_eq!(
        list["counts"]["total"],
        palisade_kql::functions::counts(&palisade_kql::functions::coverage())
            .1
            .total()
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(["hunt", "--functions"])
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        palisade_kql::functions::render_text()
    );
    // `hunt --operators`: the operator and statement coverage, asked of the parser.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(["hunt", "--operators", "-o", "json"])
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| {
        list["operators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name && f["kind"] == "operator")
            .map(|f| f["status"].clone())
    };
    assert_eq!(status("where"), Some(json!("implemented")));
    assert_eq!(status("graph-match"), Some(json!("rejected")));
    assert_eq!(
        list["counts"]["total"],
        palisade_kql::operators::reference().len()
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(["hunt", "--operators"])
        .env("HOME", t.dir.path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        palisade_kql::operators::render_text()
    );
}

async fn data_cli(t: &TestServer, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args(args)
        .args(["--data-dir", t.dir.path().join("data").to_str().unwrap()])
        .output()
        .await
        .expect("run palisade");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `palisade seed --tables`, `palisade ingest` and `palisade compact` against the data dir of
/// a running server: the server sees every row before and after compaction, and only its
/// tenant's.
#[tokio::test]
async fn seed_ingest_and_compact_from_the_cli_while_serving() {
    let t = start().await;
    let a = t.app(&["AdvancedHunting.Read.All"]).await;
    let b = t.app(&["AdvancedHunting.Read.All"]).await;
    let ta = token(&t, &a).await;
    let tb = token(&t, &b).await;
    let (ok, out, err) = data_cli(
        &t,
        &[
            "seed",
            "--events",
            "1500",
            "--tables",
            "DeviceProcessEvents,DeviceNetworkEvents",
            "--tenant",
            &a.tenant_id,
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("1500 events written"), "{out}");
    assert!(out.contains("compacted"), "{out}");

    let now = iso(t.clock.now() - time::Duration::minutes(5));
    let file = t.dir.path().join("extra.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            json!({"Timestamp": now, "DeviceId": "d-extra", "FileName": "extra.exe"}),
            json!({"Timestamp": now, "DeviceId": "d-extra", "FileName": "extra2.exe"})
        ),
    )
    .unwrap();
    for _ in 0..2 {
        let (ok, out, err) = data_cli(
            &t,
            &[
                "ingest",
                "DeviceProcessEvents",
                file.to_str().unwrap(),
                "--tenant",
                &a.tenant_id,
            ],
        )
        .await;
        assert!(ok, "{err}");
        assert!(out.contains("2 rows ingested"), "{out}");
    }
    // Two more parts in one day, written without compacting, so `palisade compact` has a day
    // to merge whatever days the seed covered.
    for port in [443, 80] {
        ingest(
            &t,
            &a.tenant_id,
            "DeviceNetworkEvents",
            &[json!({"Timestamp": now, "DeviceId": "d-net", "RemotePort": port})],
        )
        .await;
    }
    let q = json!({"Query": "union withsource=T DeviceProcessEvents, DeviceNetworkEvents, DeviceFileEvents | summarize n = count(), extra = countif(DeviceId == 'd-extra') by T | sort by T asc"});
    let (s, _, before) = hunt(&t, &ta, q.clone()).await;
    assert_eq!(s, 200, "{before}");
    let rows = before["Results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "only the seeded tables: {rows:?}");
    let total: i64 = rows.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(total, 1506, "{rows:?}");
    assert_eq!(rows[1]["extra"], 4, "{rows:?}");

    let (ok, out, err) = data_cli(&t, &["compact", "--tenant", &a.tenant_id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("compacted 1 day partitions"),
        "seed and ingest compacted their own writes; the library write is left: {out}"
    );
    let (s, _, after) = hunt(&t, &ta, q.clone()).await;
    assert_eq!(s, 200);
    assert_eq!(after["Results"], before["Results"]);

    let (s, _, other) = hunt(&t, &tb, q).await;
    assert_eq!(s, 200);
    assert_eq!(
        other["Results"],
        json!([]),
        "tenant b sees none of a's rows"
    );

    let (ok, _, err) = data_cli(
        &t,
        &[
            "seed",
            "--events",
            "10",
            "--tables",
            "Nope",
            "--tenant",
            &a.tenant_id,
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("unknown table 'Nope'"), "{err}");

    // A family table (written by the identity family) can be asked for alone; the tables not
    // asked for stay as they were.
    let (ok, out, err) = data_cli(
        &t,
        &[
            "seed",
            "--events",
            "2000",
            "--tables",
            "IdentityInfo",
            "--tenant",
            &a.tenant_id,
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("identity, mail follow-up"), "{out}");
    let q = json!({"Query": "union withsource=T IdentityInfo, IdentityQueryEvents, DeviceProcessEvents | summarize n = count() by T | sort by T asc"});
    let (s, _, got) = hunt(&t, &ta, q).await;
    assert_eq!(s, 200, "{got}");
    let rows = got["Results"].as_array().unwrap();
    let tables: Vec<&str> = rows.iter().map(|r| r["T"].as_str().unwrap()).collect();
    assert_eq!(tables, ["DeviceProcessEvents", "IdentityInfo"], "{rows:?}");
    assert_eq!(rows[0]["n"], before["Results"][1]["n"], "{rows:?} {before}");
    assert!(rows[1]["n"].as_i64().unwrap() > 0, "{rows:?}");
    // A table no generator writes, and a Sentinel table without a connected workspace, are
    // refused with the reason.
    for (table, want) in [
        ("CloudAuditEvents", "exists typed and empty"),
        ("SigninLogs", "connect the tenant's workspace"),
    ] {
        let (ok, _, err) = data_cli(
            &t,
            &[
                "seed",
                "--events",
                "10",
                "--tables",
                table,
                "--tenant",
                &a.tenant_id,
            ],
        )
        .await;
        assert!(!ok, "{table}");
        assert!(err.contains(want), "{table}: {err}");
    }
}

/// Sentinel in the unified portal over HTTP with real tokens, connected through the admin API
/// and the CLI: a Sentinel table and the workspace columns are unknown (400, the same error as
/// any unknown table) and `palisade ingest` refuses a Sentinel table until the tenant's
/// workspace is connected; connected, they answer (`TimeGenerated` is the event time, or the
/// ingestion time of a row ingested more than 48 hours late); disconnected, they are gone
/// again. Another tenant's connection exposes nothing of this one's.
#[tokio::test]
async fn sentinel_tables_appear_with_the_connection() {
    use crate::admin::cli_json;
    let t = start().await;
    let a = t.app(&["AdvancedHunting.Read.All"]).await;
    let b = t.app(&["AdvancedHunting.Read.All"]).await;
    let now = t.clock.now();
    let recent = iso(now - time::Duration::hours(1));
    let late = iso(now - time::Duration::days(3));
    let signins = t.dir.path().join("signins.jsonl");
    std::fs::write(
        &signins,
        format!(
            "{}\n",
            json!({"TimeGenerated": recent, "UserPrincipalName": "alice@a.example", "ResultType": "0"})
        ),
    )
    .unwrap();
    let events = t.dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{}\n{}\n",
            json!({"Timestamp": recent, "DeviceName": "a-ws-1", "ActionType": "on-time"}),
            json!({"Timestamp": late, "DeviceName": "a-ws-1", "ActionType": "late"})
        ),
    )
    .unwrap();
    let ingest_cli = |table: &'static str, file: std::path::PathBuf, tenant: String| {
        let t = &t;
        async move {
            data_cli(
                t,
                &["ingest", table, file.to_str().unwrap(), "--tenant", &tenant],
            )
            .await
        }
    };
    let (ok, out, err) = ingest_cli("DeviceEvents", events.clone(), a.tenant_id.clone()).await;
    assert!(ok, "{err}");
    assert!(out.contains("2 rows ingested"), "{out}");
    // Not connected: the CLI has nowhere to put a Sentinel table.
    let (ok, _, err) = ingest_cli("SigninLogs", signins.clone(), a.tenant_id.clone()).await;
    assert!(!ok);
    assert!(
        err.contains("SigninLogs is a Microsoft Sentinel table")
            && err.contains("sentinel connect"),
        "{err}"
    );

    let tok_a = token(&t, &a).await;
    let tok_b = token(&t, &b).await;
    let sentinel_q = json!({"Query": "SigninLogs | project UserPrincipalName, TimeGenerated"});
    let column_q = json!({"Query": "DeviceEvents | sort by ActionType desc \
        | project ActionType, TimeGenerated, Timestamp, TenantId, Type, it = ingestion_time()"});

    let (s, _, before) = hunt(&t, &tok_a, sentinel_q.clone()).await;
    assert_eq!(s, 400, "{before}");
    let (s, _, unknown) = hunt(
        &t,
        &tok_a,
        json!({"Query": "NoSuchTable | project UserPrincipalName, TimeGenerated"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        before["error"]["message"]
            .as_str()
            .unwrap()
            .replace("SigninLogs", "X"),
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .replace("NoSuchTable", "X"),
        "the same error as any unknown table"
    );
    let (s, _, body) = hunt(&t, &tok_a, column_q.clone()).await;
    assert_eq!(s, 400, "no TimeGenerated before the connection: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("TimeGenerated"),
        "{body}"
    );
    // ingestion_time() is the store's, connected or not.
    let (s, _, body) = hunt(
        &t,
        &tok_a,
        json!({"Query": "DeviceEvents | where ingestion_time() > ago(10m) | count"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"][0]["Count"], 2, "{body}");

    // The admin API reports the status; the CLI connects.
    let path_a = format!("/admin/{}/sentinel", a.tenant_id);
    let (s, status) = t.admin(reqwest::Method::GET, &path_a, None).await;
    assert_eq!(s, 200);
    assert_eq!(status["connected"], false);
    assert_eq!(status["workspaceId"], Value::Null);
    let status = cli_json(&t, &["-t", &a.tenant_id, "sentinel", "status"]).await;
    assert_eq!(status["connected"], false);
    let connected = cli_json(&t, &["-t", &a.tenant_id, "sentinel", "connect"]).await;
    assert_eq!(connected["connected"], true);
    let ws = connected["workspaceId"].as_str().unwrap().to_string();
    let (s, status) = t.admin(reqwest::Method::GET, &path_a, None).await;
    assert_eq!(s, 200);
    assert_eq!(status["workspaceId"], ws.as_str(), "{status}");

    // Connected: palisade ingest takes the Sentinel table, and hunting sees it.
    let (ok, out, err) = ingest_cli("SigninLogs", signins.clone(), a.tenant_id.clone()).await;
    assert!(ok, "{err}");
    assert!(out.contains("1 rows ingested into SigninLogs"), "{out}");
    let (s, _, body) = hunt(&t, &tok_a, sentinel_q.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"][0]["UserPrincipalName"], "alice@a.example");
    let (s, _, body) = hunt(&t, &tok_a, column_q.clone()).await;
    assert_eq!(s, 200, "{body}");
    let rows = body["Results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    let (on_time, late_row) = (&rows[0], &rows[1]);
    assert_eq!(on_time["ActionType"], "on-time");
    for r in rows {
        assert_eq!(r["TenantId"], ws.as_str());
        assert_eq!(r["Type"], "DeviceEvents");
    }
    assert_eq!(
        on_time["TimeGenerated"], on_time["Timestamp"],
        "ingested on time: the event time"
    );
    assert_eq!(
        late_row["TimeGenerated"], late_row["it"],
        "ingested 3 days late: the ingestion time"
    );
    assert_ne!(late_row["TimeGenerated"], late_row["Timestamp"]);

    // Tenant B is not connected: still unknown for it.
    let (s, _, _) = hunt(&t, &tok_b, sentinel_q.clone()).await;
    assert_eq!(s, 400);
    // Connecting B (through the admin API, with its own workspace id) shows it none of A's rows.
    let ws_b = "0b6f4c53-90d5-4d8e-8f0a-6a0e1b2c3d4e";
    let (s, body) = t
        .admin(
            reqwest::Method::PUT,
            &format!("/admin/{}/sentinel", b.tenant_id),
            Some(json!({"workspaceId": ws_b})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["workspaceId"], ws_b);
    let (s, _, body) = hunt(&t, &tok_b, sentinel_q.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"], json!([]));
    let (s, _, body) = hunt(
        &t,
        &tok_b,
        json!({"Query": "union SigninLogs, DeviceEvents | summarize n = count(), w = make_set(TenantId)"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"][0]["n"], 0, "{body}");

    // Disconnecting A hides its Sentinel data again; B's connection is untouched.
    let off = cli_json(&t, &["-t", &a.tenant_id, "sentinel", "disconnect"]).await;
    assert_eq!(off["connected"], false);
    let (s, _, _) = hunt(&t, &tok_a, sentinel_q.clone()).await;
    assert_eq!(s, 400, "unknown again after disconnect");
    let (s, _, _) = hunt(&t, &tok_a, column_q).await;
    assert_eq!(s, 400, "no TimeGenerated after disconnect");
    let (s, _, _) = hunt(&t, &tok_b, sentinel_q.clone()).await;
    assert_eq!(s, 200, "B stays connected");
    // Reconnecting keeps the data: the rows were never deleted, only hidden.
    cli_json(&t, &["-t", &a.tenant_id, "sentinel", "connect"]).await;
    let (s, _, body) = hunt(&t, &tok_a, sentinel_q).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"].as_array().map(Vec::len), Some(1));
    // The admin API refuses a workspace id that is not a GUID, and an unknown tenant.
    let (s, _) = t
        .admin(
            reqwest::Method::PUT,
            &path_a,
            Some(json!({"workspaceId": "../x"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = t
        .admin(
            reqwest::Method::PUT,
            "/admin/00000000-0000-0000-0000-00000000dead/sentinel",
            None,
        )
        .await;
    assert_eq!(s, 404);
}
