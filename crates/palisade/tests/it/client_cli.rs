//! `palisade token …` and `palisade incidents …` against the live server: settings
//! precedence (flag > PALISADE_* > AZURE_* > config file), output formats, inspection.

use crate::common::*;
use palisade_clock::SharedClock;
use serde_json::Value;
use std::sync::Arc;

pub(crate) struct Run {
    pub ok: bool,
    pub out: String,
    pub err: String,
}

pub(crate) async fn palisade(
    t: &TestServer,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.env("XDG_CONFIG_HOME", crate::common::isolated_config());
    cmd.args(args)
        .env("HOME", t.dir.path())
        .env("PALISADE_CA_FILE", t.server.ca_path.as_ref().unwrap())
        .env("PALISADE_AUTHORITY", &t.server.base_url)
        .env("PALISADE_API", &t.server.base_url);
    for var in [
        "PALISADE_TENANT_ID",
        "PALISADE_CLIENT_ID",
        "PALISADE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "PALISADE_CONFIG",
        "PALISADE_TOKEN_VERSION",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn palisade");
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut s = child.stdin.take().unwrap();
        s.write_all(input.as_bytes()).await.unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().await.unwrap();
    Run {
        ok: out.status.success(),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[tokio::test]
async fn settings_precedence_and_incident_commands() {
    let t = start().await;
    let app = t.app(&["Incident.ReadWrite.All"]).await;
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, &app.tenant_id, &clock, 30)
        .await
        .unwrap();

    let config = t.dir.path().join("client.toml");
    std::fs::write(
        &config,
        format!(
            "tenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"wrong-in-file\"\n",
            app.tenant_id, app.client_id
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();

    // The file's wrong secret fails with Entra's error…
    let r = palisade(&t, &["incidents", "list", "--config", cfg], &[], None).await;
    assert!(!r.ok && r.err.contains("7000215"), "{}", r.err);
    // …an environment variable beats the file…
    let r = palisade(
        &t,
        &["incidents", "list", "--config", cfg, "-o", "json", "--all"],
        &[("AZURE_CLIENT_SECRET", &app.secret)],
        None,
    )
    .await;
    assert!(r.ok, "{}", r.err);
    let all: Vec<Value> = serde_json::from_str(&r.out).unwrap();
    assert_eq!(all.len(), 30);
    // …PALISADE_* beats AZURE_*…
    let r = palisade(
        &t,
        &["incidents", "list", "--config", cfg],
        &[
            ("AZURE_CLIENT_SECRET", &app.secret),
            ("PALISADE_CLIENT_SECRET", "wrong-env"),
        ],
        None,
    )
    .await;
    assert!(!r.ok && r.err.contains("7000215"), "{}", r.err);
    // …and a flag beats everything.
    let r = palisade(
        &t,
        &[
            "incidents",
            "list",
            "--config",
            cfg,
            &format!("--client-secret={}", app.secret),
            "-o",
            "csv",
            "--all",
        ],
        &[("PALISADE_CLIENT_SECRET", "wrong-env")],
        None,
    )
    .await;
    assert!(r.ok, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(
        lines[0],
        "ID,NAME,SEVERITY,STATUS,CLASSIFICATION,ASSIGNED TO,LAST UPDATE,ALERTS"
    );
    assert_eq!(lines.len(), 31);
    // The v2 endpoint works too.
    let r = palisade(
        &t,
        &[
            "incidents",
            "list",
            "--config",
            cfg,
            "--top",
            "5",
            "--token-version",
            "v2",
        ],
        &[("PALISADE_CLIENT_SECRET", &app.secret)],
        None,
    )
    .await;
    assert!(r.ok, "{}", r.err);
    assert_eq!(r.out.lines().count(), 2 + 5, "{}", r.out);

    let env = [("PALISADE_CLIENT_SECRET", app.secret.as_str())];
    let r = palisade(
        &t,
        &[
            "incidents",
            "list",
            "--config",
            cfg,
            "--filter",
            "status eq 'Active'",
            "--all",
            "-o",
            "json",
        ],
        &env,
        None,
    )
    .await;
    assert!(r.ok, "{}", r.err);
    let active: Vec<Value> = serde_json::from_str(&r.out).unwrap();
    assert!(
        !active.is_empty() && active.len() < 30 && active.iter().all(|i| i["status"] == "Active")
    );
    let r = palisade(
        &t,
        &[
            "incidents",
            "list",
            "--config",
            cfg,
            "--filter",
            "status eq Active",
        ],
        &env,
        None,
    )
    .await;
    assert!(!r.ok && r.err.contains("ODataError"), "{}", r.err);
    let r = palisade(
        &t,
        &["incidents", "list", "--config", cfg, "--top", "101"],
        &env,
        None,
    )
    .await;
    assert!(!r.ok && r.err.contains("--top"), "{}", r.err);

    let id = active[0]["incidentId"].as_i64().unwrap().to_string();
    let r = palisade(
        &t,
        &[
            "incidents",
            "update",
            &id,
            "--config",
            cfg,
            "--status",
            "Resolved",
            "--classification",
            "TruePositive",
            "--determination",
            "Malware",
            "--tag",
            "cli",
            "--comment",
            "triaged",
            "-o",
            "json",
        ],
        &env,
        None,
    )
    .await;
    assert!(r.ok, "{}", r.err);
    let updated: Vec<Value> = serde_json::from_str(&r.out).unwrap();
    assert_eq!(updated[0]["status"], "Resolved");
    assert_eq!(updated[0]["determination"], "Malware");
    assert_eq!(updated[0]["tags"], serde_json::json!(["cli"]));
    let r = palisade(
        &t,
        &["incidents", "get", &id, "--config", cfg, "-o", "json"],
        &env,
        None,
    )
    .await;
    let got: Vec<Value> = serde_json::from_str(&r.out).unwrap();
    assert_eq!(
        got[0]["comments"].as_array().unwrap().last().unwrap()["comment"],
        "triaged"
    );
    let r = palisade(
        &t,
        &["incidents", "get", "999999", "--config", cfg],
        &env,
        None,
    )
    .await;
    assert!(!r.ok && r.err.contains("ResourceNotFound"), "{}", r.err);
}

#[tokio::test]
async fn token_get_and_inspect() {
    let t = start().await;
    let hunter = t.app(&["AdvancedHunting.Read.All"]).await;
    let env = [
        ("AZURE_TENANT_ID", hunter.tenant_id.as_str()),
        ("AZURE_CLIENT_ID", hunter.client_id.as_str()),
        ("AZURE_CLIENT_SECRET", hunter.secret.as_str()),
    ];
    let r = palisade(&t, &["token", "get"], &env, None).await;
    assert!(r.ok, "{}", r.err);
    let token = r.out.trim().to_string();
    assert_eq!(
        decode(&token).1["roles"],
        serde_json::json!(["AdvancedHunting.Read.All"])
    );

    let r = palisade(&t, &["token", "inspect"], &env, Some(&token)).await;
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("Signature     valid"), "{}", r.out);
    assert!(r.out.contains("allowed  Run advanced hunting"), "{}", r.out);
    assert!(
        r.out
            .contains("denied   List incidents: needs Incident.Read.All or Incident.ReadWrite.All"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("denied   Update incident: needs Incident.ReadWrite.All"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains(&format!("Tenant        {}", hunter.tenant_id)),
        "{}",
        r.out
    );

    // A tampered token is decoded but not verified.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut claims = decode(&token).1;
    claims["roles"] = serde_json::json!(["Incident.ReadWrite.All"]);
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    let r = palisade(&t, &["token", "inspect", &parts.join(".")], &env, None).await;
    assert!(r.ok, "{}", r.err);
    assert!(r.out.contains("NOT VERIFIED"), "{}", r.out);
    // Missing settings name what is missing.
    let r = palisade(&t, &["token", "get"], &[], None).await;
    assert!(
        !r.ok && r.err.contains("--tenant-id") && r.err.contains("PALISADE_TENANT_ID"),
        "{}",
        r.err
    );
}
