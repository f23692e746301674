//! Hostile hunting queries through the real server's HTTP API (issue 13): each one that
//! exceeds a limit gets Defender's 400 error JSON naming the limit — never a panic or a 500 —
//! and the server answers normally afterwards. The last test runs the issue's own case
//! against the real binary (`palisade serve --demo`) and checks that its memory comes back.

use crate::common::*;
use serde_json::{json, Value};

async fn hunt(t: &TestServer, bearer: &str, query: &str) -> (u16, Value) {
    let resp = t
        .http
        .post(t.url("/api/advancedhunting/run"))
        .bearer_auth(bearer)
        .json(&json!({ "Query": query }))
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// Asserts Defender's error JSON (`{"error": {"code", "message", "target"}}`), 400
/// `BadRequest`; returns the message.
fn bad_request(status: u16, body: &Value, query: &str) -> String {
    assert_eq!(status, 400, "{query}\n{body}");
    assert_eq!(body["error"]["code"], "BadRequest", "{body}");
    assert!(body["error"]["target"].is_string(), "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

async fn tenant_with_events(t: &TestServer) -> (App, String) {
    let app = t.app(&["AdvancedHunting.Read.All"]).await;
    let recent = (palisade_clock::Clock::now(&t.clock) - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = (0..50)
        .map(|i| {
            json!({"Timestamp": recent, "DeviceName": format!("ws-{i}"), "FileName": "cmd.exe",
                   "ProcessCommandLine": format!("cmd /c echo {i}")})
            .to_string()
                + "\n"
        })
        .collect();
    let store =
        palisade_events::EventStore::open(t.dir.path().join("data").join("events")).unwrap();
    let report = palisade_events::ingest_jsonl(
        &store,
        &app.tenant_id,
        "DeviceProcessEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty());
    let (s, v) = t.v1_token(&app, "https://api.security.microsoft.com").await;
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();
    (app, token)
}

#[tokio::test]
async fn queries_past_a_limit_get_the_documented_400_naming_it() {
    let t = start().await;
    let (_app, token) = tenant_with_events(&t).await;

    // Issue 13's query: it panicked in Arrow and answered 500 after 18 s.
    let q = "DeviceProcessEvents | mv-expand r = range(1, 100000000, 1) | count";
    let (s, body) = hunt(&t, &token, q).await;
    let m = bad_request(s, &body, q);
    assert!(
        m.starts_with("Query execution has exceeded the allowed resources")
            && m.contains("memory limit of 1 GiB per query"),
        "{m}"
    );

    // The range operator's limit, at the position of the range's bounds.
    let q = "range x from 1 to 10000000000 step 1";
    let (s, body) = hunt(&t, &token, q).await;
    let m = bad_request(s, &body, q);
    assert!(m.contains("at line 1, column 14"), "{m}");
    assert!(
        m.contains("limit of the range operator is 1000000 rows"),
        "{m}"
    );

    // String building: nested strrep, and strcat of a value with itself again and again.
    let q = r#"print s = strrep(strrep(strrep("x", 1024), 1024), 1024)"#;
    let (s, body) = hunt(&t, &token, q).await;
    let m = bad_request(s, &body, q);
    assert!(m.contains("64 MiB (the limit of one value)"), "{m}");
    let mut q = String::from(r#"DeviceProcessEvents | extend s0 = strrep("abcdefgh", 1024)"#);
    for i in 1..=14 {
        q.push_str(&format!(" | extend s{i} = strcat(s{}, s{})", i - 1, i - 1));
    }
    q.push_str(" | summarize max(strlen(s14))");
    let (s, body) = hunt(&t, &token, &q).await;
    let m = bad_request(s, &body, &q);
    assert!(m.contains("memory limit"), "{m}");

    // make_list of 50 values of 2 MiB.
    let q = r#"DeviceProcessEvents | extend s = strcat(DeviceName, strrep(strrep("abcdefgh", 1024), 256)) | summarize make_list(s)"#;
    let (s, body) = hunt(&t, &token, q).await;
    let m = bad_request(s, &body, q);
    assert!(m.contains("make_list"), "{m}");

    // The server still answers, with the right rows.
    let (s, body) = hunt(&t, &token, "DeviceProcessEvents | count").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["Results"][0]["Count"], 50);
}

/// Resident and peak memory of process `pid`, in bytes (Linux `/proc`).
#[cfg(target_os = "linux")]
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_issue_query_on_the_demo_is_refused_and_memory_comes_back() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("PALISADE_KEK")
        .env_remove("PALISADE_KEK_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = String::new();
    loop {
        let line = lines.next_line().await.unwrap().expect("server output");
        if let Some(url) = line.strip_prefix("Palisade listening on ") {
            base = url.trim().to_string();
        }
        if line.starts_with("Events:") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let demo: Value =
        serde_json::from_slice(&std::fs::read(data.join("demo-credentials.json")).unwrap())
            .unwrap();
    let ca = std::fs::read(data.join("ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let token: Value = http
        .post(format!(
            "{base}/{}/oauth2/token",
            demo["tenant_id"].as_str().unwrap()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", demo["client_id"].as_str().unwrap()),
            ("client_secret", demo["client_secret"].as_str().unwrap()),
            ("resource", "https://api.security.microsoft.com"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("token").to_string();
    let run = |q: &'static str| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let resp = http
                .post(format!("{base}/api/advancedhunting/run"))
                .bearer_auth(token)
                .json(&json!({ "Query": q }))
                .send()
                .await
                .unwrap();
            let s = resp.status().as_u16();
            (s, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Warm the engine, then measure.
    let (s, body) = run("DeviceProcessEvents | summarize count() by DeviceName").await;
    assert_eq!(s, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (before, _) = memory(pid);

    let q = "DeviceProcessEvents | mv-expand r = range(1, 100000000, 1) | count";
    let started = std::time::Instant::now();
    let (s, body) = run(q).await;
    let took = started.elapsed();
    let m = bad_request(s, &body, q);
    assert!(m.contains("memory limit of 1 GiB per query"), "{m}");
    let (s, body) = run("range x from 1 to 10000000000 step 1").await;
    let m = bad_request(s, &body, "range");
    assert!(m.contains("at line 1, column 14"), "{m}");

    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (after, peak) = memory(pid);
    eprintln!(
        "hostile query on the demo: refused in {took:?}; RSS {} MB before, {} MB after, peak {} MB",
        before >> 20,
        after >> 20,
        peak >> 20
    );
    assert!(
        after <= before + (64 << 20),
        "RSS grew from {} MB to {} MB",
        before >> 20,
        after >> 20
    );
    // The refusal comes before the memory is used: far below the 1 GiB pool.
    assert!(peak < before + (512 << 20), "peak {} MB", peak >> 20);
    let (s, _) = run("DeviceProcessEvents | take 1").await;
    assert_eq!(s, 200);
    child.kill().await.unwrap();
}
