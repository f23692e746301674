//! The partner context from the CLI and the SDK: `admin cert create`, `--certificate`,
//! `partner consent-link`, `incidents list --tenants` and `hunt --tenants` (a tenant
//! column, per-tenant errors), `admin app remove-consent`, and the SDK's fan-out over 50
//! customer tenants, each reading only its own data.

use crate::admin::{cli, cli_json};
use crate::client_cli::palisade;
use crate::common::*;
use crate::partner::{customer_token, partner};
use palisade_client::{
    ClientCertificate, ClientCertificateCredential, ClientSecretCredential, DefenderClient,
    HttpConfig, IncidentQuery, PartnerClients, RetryPolicy, TokenEndpointVersion,
};
use palisade_clock::{Clock, SharedClock};
use serde_json::{json, Value};
use std::sync::Arc;

async fn consent(t: &TestServer, tenant: &str, client_id: &str, roles: &[&str]) {
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tenant}/grants"),
            Some(json!({"appId": client_id, "permissions": roles})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
}

async fn seed(t: &TestServer, tenant: &str, n: usize) {
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, tenant, &clock, n)
        .await
        .unwrap();
}

async fn ingest_devices(t: &TestServer, tenant: &str, names: &[&str]) {
    let now = t
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let text: String = names
        .iter()
        .map(|n| {
            format!(
                "{}\n",
                json!({"Timestamp": now, "DeviceName": n, "FileName": "cmd.exe"})
            )
        })
        .collect();
    let store =
        palisade_events::EventStore::open(t.dir.path().join("data").join("events")).unwrap();
    let report = palisade_events::ingest_jsonl(
        &store,
        tenant,
        "DeviceProcessEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty());
}

#[tokio::test]
async fn certificates_consent_link_fan_out_and_remove_consent_from_the_cli() {
    let t = start().await;
    let p = partner(&t).await;
    grant_at_home_hunting(&t, &p.tenant_id, &p.client_id).await;
    let (a, _) = t.tenant("Alpha Customer").await;
    let (b, _) = t.tenant("Beta Customer").await;
    let (never, _) = t.tenant("Never Consented").await;
    for tenant in [&a, &b] {
        consent(
            &t,
            tenant,
            &p.client_id,
            &["Incident.Read.All", "AdvancedHunting.Read.All"],
        )
        .await;
    }
    seed(&t, &a, 3).await;
    seed(&t, &b, 7).await;
    ingest_devices(&t, &a, &["alpha-1", "alpha-2"]).await;
    ingest_devices(&t, &b, &["beta-1"]).await;

    // A certificate made and registered by the CLI.
    let dir = t.dir.path().join("partner-cert");
    let k = cli_json(
        &t,
        &[
            "-t",
            &p.tenant_id,
            "cert",
            "create",
            &p.client_id,
            "--out",
            dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(k["type"], "AsymmetricX509Cert");
    let pem = dir.join("cert-and-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = cli_json(&t, &["-t", &p.tenant_id, "cert", "list", &p.client_id]).await;
    assert_eq!(listed["value"][0]["keyId"], k["keyId"]);
    let cert = ClientCertificate::from_file(&pem, None).unwrap();
    assert_eq!(k["customKeyIdentifier"], cert.thumbprint_hex());
    // `admin cert add` of the same certificate is a conflict.
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &p.tenant_id,
            "cert",
            "add",
            &p.client_id,
            dir.join("cert.pem").to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && err.contains("already exists"), "{err}");

    // The consent link.
    let r = palisade(&t, &["partner", "consent-link", &p.client_id], &[], None).await;
    assert!(r.ok, "{}", r.err);
    assert_eq!(
        r.out.trim(),
        format!(
            "{}/common/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true",
            t.server.base_url, p.client_id
        )
    );

    // Fan-out with the certificate: each tenant's own incidents, the never-consented one
    // reported as an error without failing the others.
    let tenants = format!("{a},{b},{never}");
    let cert_args = [
        "--client-id",
        &p.client_id,
        "--certificate",
        pem.to_str().unwrap(),
    ];
    let mut args = vec!["incidents", "list", "--tenants", &tenants, "-o", "json"];
    args.extend(cert_args);
    let r = palisade(&t, &args, &[], None).await;
    assert!(r.ok, "{}", r.err);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v[0]["tenantId"], a.as_str());
    assert_eq!(v[0]["value"].as_array().unwrap().len(), 3);
    assert_eq!(v[1]["value"].as_array().unwrap().len(), 7);
    assert!(
        v[2]["error"].as_str().unwrap().contains("700016"),
        "{}",
        v[2]
    );
    assert!(
        r.err.contains(&never) && r.err.contains("1 of 3 tenants failed"),
        "{}",
        r.err
    );
    let mut args = vec!["incidents", "list", "--tenants", &tenants];
    args.extend(cert_args);
    let r = palisade(&t, &args, &[], None).await;
    assert!(r.out.starts_with("TENANT"), "{}", r.out);
    assert_eq!(
        r.out.lines().filter(|l| l.starts_with(a.as_str())).count(),
        3
    );
    assert_eq!(
        r.out.lines().filter(|l| l.starts_with(b.as_str())).count(),
        7
    );

    // Hunting fan-out: each tenant's rows under its own tenant.
    let both = format!("{a},{b}");
    let mut args = vec![
        "hunt",
        "DeviceProcessEvents | project DeviceName | order by DeviceName asc",
        "--tenants",
        &both,
        "-o",
        "csv",
    ];
    args.extend(cert_args);
    let r = palisade(&t, &args, &[], None).await;
    assert!(r.ok, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines[0], "TENANT,DeviceName");
    assert_eq!(
        &lines[1..],
        [
            format!("{a},alpha-1"),
            format!("{a},alpha-2"),
            format!("{b},beta-1")
        ]
    );

    // The customer removes its consent: its tenant fails, the other still works.
    let removed = cli_json(&t, &["-t", &a, "app", "remove-consent", &p.client_id]).await;
    assert_eq!(removed["removed"], p.client_id.as_str());
    let (s, v) = customer_token(&t, &p, &a).await;
    assert_aad_error(s, &v, 400, "unauthorized_client", 700016);
    let mut args = vec!["incidents", "list", "--tenants", &a, "-o", "json"];
    args.extend(cert_args);
    let r = palisade(&t, &args, &[], None).await;
    assert!(!r.ok, "every tenant failed: exit status");
    assert!(r.err.contains("700016"), "{}", r.err);
    let (ok, _, err) = cli(&t, &["-t", &a, "app", "remove-consent", &p.client_id]).await;
    assert!(!ok && err.contains("nothing is consented"), "{err}");
}

async fn grant_at_home_hunting(t: &TestServer, tid: &str, client_id: &str) {
    consent(t, tid, client_id, &["AdvancedHunting.Read.All"]).await;
}

fn http(t: &TestServer) -> palisade_client::reqwest::Client {
    let ca = std::fs::read(t.server.ca_path.as_ref().unwrap()).unwrap();
    HttpConfig::new()
        .add_root_certificate_pem(&ca)
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn sdk_fan_out_over_50_tenants_returns_each_tenants_own_data() {
    let t = start().await;
    let p = partner(&t).await;
    let mut tenants = Vec::new();
    for i in 0..50 {
        let (tid, _) = t.tenant(&format!("Customer {i:02}")).await;
        consent(&t, &tid, &p.client_id, &["Incident.Read.All"]).await;
        seed(&t, &tid, 1 + i % 5).await;
        tenants.push(tid);
    }
    let (never, _) = t.tenant("Never").await;
    let http = http(&t);
    let mut all = tenants.clone();
    all.push(never.clone());
    let clients = PartnerClients::new(all.iter().cloned(), |tenant| {
        let cred = ClientSecretCredential::builder(tenant, &p.client_id, &p.secret)
            .authority_host(t.server.base_url.clone())
            .endpoint_version(TokenEndpointVersion::V2)
            .http_client(http.clone())
            .build()?;
        DefenderClient::builder(cred)
            .api_base(t.server.base_url.clone())
            .http_client(http.clone())
            .retry_policy(RetryPolicy::none())
            .build()
    })
    .unwrap()
    .concurrency(16);
    let outcomes = clients.list_all_incidents(IncidentQuery::new()).await;
    assert_eq!(outcomes.len(), 51);
    let mut seen = std::collections::HashSet::new();
    for (i, o) in outcomes.iter().take(50).enumerate() {
        assert_eq!(o.tenant_id, tenants[i], "results keep the tenants' order");
        let list = o
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", o.tenant_id));
        assert_eq!(list.len(), 1 + i % 5, "tenant {i}");
        // Each tenant's incidents are its own: compare with what the store holds for it.
        let own = t.server.store.count_incidents(&tenants[i]).await.unwrap();
        assert_eq!(list.len() as i64, own);
        seen.insert(o.tenant_id.clone());
    }
    assert_eq!(seen.len(), 50);
    let err = outcomes[50].result.as_ref().unwrap_err().to_string();
    assert!(err.contains("700016"), "{err}");

    // One tenant over its quota (429) fails alone.
    let busy = clients.client(&tenants[0]).unwrap().clone();
    let mut limited = false;
    for _ in 0..60 {
        if let Err(e) = busy.list_all_incidents(IncidentQuery::new()).await {
            assert!(e.to_string().contains("429"), "{e}");
            limited = true;
            break;
        }
    }
    assert!(limited, "the per-tenant quota (50/min) answers 429");
    let outcomes = clients.list_all_incidents(IncidentQuery::new()).await;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.tenant_id.as_str())
        .collect();
    assert_eq!(failed, [tenants[0].as_str(), never.as_str()]);

    // The certificate credential works per tenant too.
    let cert = crate::certificates::Cert::new(aws_lc_rs::rsa::KeySize::Rsa2048);
    let key_pem = {
        use aws_lc_rs::encoding::AsDer;
        let der = cert.key.as_der().unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.as_ref());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    };
    let (_, app) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{}/v1.0/applications/{}", p.tenant_id, p.client_id),
            None,
        )
        .await;
    crate::certificates::register(&t, &p.tenant_id, app["id"].as_str().unwrap(), &cert).await;
    let client_cert =
        ClientCertificate::from_pem(format!("{key_pem}{}", cert.pem()).as_bytes()).unwrap();
    let cred = ClientCertificateCredential::builder(&tenants[1], &p.client_id, client_cert)
        .authority_host(t.server.base_url.clone())
        .http_client(http.clone())
        .build()
        .unwrap();
    // Each token request signs a fresh assertion: a jti is never replayed.
    use palisade_client::TokenCredential;
    for _ in 0..2 {
        cred.get_token("https://api.security.microsoft.com/.default")
            .await
            .unwrap();
    }
    let c = DefenderClient::builder(cred)
        .api_base(t.server.base_url.clone())
        .http_client(http)
        .build()
        .unwrap();
    assert_eq!(
        c.list_all_incidents(IncidentQuery::new())
            .await
            .unwrap()
            .len(),
        2
    );
}
