//! The directory snapshot the token endpoint reads from memory is never stale: a write
//! through the CLI's admin commands, or straight into the database by another process,
//! is seen by the very next token request; and tenants stay apart.

use crate::admin::cli;
use crate::common::*;

const MTP: &str = "https://api.security.microsoft.com";

fn roles(body: &serde_json::Value) -> Vec<String> {
    let (_, claims) = decode(body["access_token"].as_str().expect("a token"));
    let mut r: Vec<String> = claims["roles"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    r.sort();
    r
}

/// Runs SQL against the server's database from another process (python3's sqlite3).
fn sql_from_another_process(t: &TestServer, sql: &str, args: &[&str]) {
    let db = t
        .dir
        .path()
        .join("data")
        .join(palisade::server::DATABASE_FILE);
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=10)\nn=c.execute(sys.argv[2],sys.argv[3:]).rowcount\nc.commit()\nprint(n)",
        ])
        .arg(&db)
        .arg(sql)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "one row changed by {sql}"
    );
}

#[tokio::test]
async fn token_requests_see_every_directory_write_at_once() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let (s, body) = t.v1_token(&app, MTP).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(roles(&body), ["Incident.Read.All"]);

    // The CLI's admin commands: a new grant, then a second secret, each at once.
    let tenant = ["--tenant", &app.tenant_id];
    let (ok, _, err) = cli(
        &t,
        &[
            &tenant[..],
            &["grant", &app.client_id, "AdvancedHunting.Read.All"],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{err}");
    let (s, body) = t.v1_token(&app, MTP).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        roles(&body),
        ["AdvancedHunting.Read.All", "Incident.Read.All"]
    );
    let (ok, out, err) = cli(
        &t,
        &[
            &tenant[..],
            &["secret", "add", &app.client_id, "-o", "json"],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{err}");
    let added: serde_json::Value = serde_json::from_str(&out).expect("json");
    let second = App {
        secret: added["secretText"].as_str().expect("secretText").into(),
        key_id: added["keyId"].as_str().expect("keyId").into(),
        ..app.clone()
    };
    let (s, body) = t.v1_token(&second, MTP).await;
    assert_eq!(s, 200, "the new secret works at once: {body}");

    // Another process on the same database: a grant revoked, then the first secret deleted.
    sql_from_another_process(
        &t,
        "DELETE FROM app_role_assignments WHERE app_role_id = (SELECT app_role_id FROM app_role_assignments \
         a JOIN service_principals p ON p.id = a.principal_id WHERE p.app_id = ?1 ORDER BY a.created_at, a.id LIMIT 1) \
         AND principal_id = (SELECT id FROM service_principals WHERE app_id = ?1)",
        &[&app.client_id],
    );
    let (s, body) = t.v1_token(&app, MTP).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(roles(&body).len(), 1, "one grant left: {body}");
    sql_from_another_process(
        &t,
        "DELETE FROM password_credentials WHERE key_id = ?1",
        &[&app.key_id],
    );
    let (s, body) = t.v1_token(&app, MTP).await;
    assert_aad_error(s, &body, 401, "invalid_client", 7000215);
    let (s, body) = t.v1_token(&second, MTP).await;
    assert_eq!(s, 200, "the other secret still works: {body}");

    // The app deleted by another process: the next request no longer finds it.
    sql_from_another_process(
        &t,
        "DELETE FROM applications WHERE app_id = ?1",
        &[&app.client_id],
    );
    let (s, body) = t.v1_token(&second, MTP).await;
    assert_aad_error(s, &body, 400, "unauthorized_client", 700016);

    // The tenant deleted by another process: its path segment names nothing any more.
    sql_from_another_process(&t, "DELETE FROM tenants WHERE id = ?1", &[&app.tenant_id]);
    let (s, body) = t.v1_token(&second, MTP).await;
    assert_aad_error(s, &body, 400, "invalid_request", 90002);
}

#[tokio::test]
async fn the_snapshot_keeps_tenants_apart() {
    let t = start().await;
    let a = t.app(&["Incident.Read.All"]).await;
    let b = t.app(&["AdvancedHunting.Read.All"]).await;
    // Each app's secret, in the other's tenant: the app is not found there.
    let crossed = App {
        tenant_id: b.tenant_id.clone(),
        ..a.clone()
    };
    let (s, body) = t.v1_token(&crossed, MTP).await;
    assert_aad_error(s, &body, 400, "unauthorized_client", 700016);
    // Each tenant's token carries its own tenant and roles only.
    for (app, role) in [(&a, "Incident.Read.All"), (&b, "AdvancedHunting.Read.All")] {
        let (s, body) = t.v1_token(app, MTP).await;
        assert_eq!(s, 200, "{body}");
        let (_, claims) = decode(body["access_token"].as_str().unwrap());
        assert_eq!(claims["tid"], app.tenant_id.as_str());
        assert_eq!(roles(&body), [role]);
    }
}
