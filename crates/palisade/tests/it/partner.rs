//! The partner (multi-tenant) context against the live server: admin consent from each
//! customer (v1 and v2 endpoints, the partner form's `prompt=consent` link), who may
//! consent, cancel, re-consent after the partner adds a permission, removing consent, and
//! per-customer tokens that reach only their own tenant's incidents.

use crate::common::*;
use crate::signin::urlencode;
use palisade_clock::SharedClock;
use serde_json::{json, Value};
use std::sync::Arc;

const REDIRECT: &str = "https://partner.example.com/consented";

pub struct Partner {
    pub tenant_id: String,
    pub client_id: String,
    pub secret: String,
}

/// A partner tenant with a multi-tenant daemon app that requires (and has at home)
/// Incident.Read.All.
pub async fn partner(t: &TestServer) -> Partner {
    let (tid, _) = t.tenant("Partner").await;
    let (s, a) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/v1.0/applications"),
            Some(
                json!({"displayName": "Partner SOC", "signInAudience": "AzureADMultipleOrgs",
                        "web": {"redirectUris": [REDIRECT]}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let client_id = a["appId"].as_str().unwrap().to_string();
    let (s, p) = t
        .admin(
            reqwest::Method::POST,
            &format!(
                "/admin/{tid}/v1.0/applications/{}/addPassword",
                a["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    grant_at_home(t, &tid, &client_id, "Incident.Read.All").await;
    Partner {
        tenant_id: tid,
        client_id,
        secret: p["secretText"].as_str().unwrap().to_string(),
    }
}

async fn grant_at_home(t: &TestServer, tid: &str, client_id: &str, role: &str) {
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/grants"),
            Some(json!({"appId": client_id, "permissions": [role]})),
        )
        .await;
    assert_eq!(s, 201, "{g}");
}

/// A partner token for a customer tenant (v2 client credentials).
pub async fn customer_token(t: &TestServer, p: &Partner, tenant: &str) -> (u16, Value) {
    let (s, _, v) = t
        .post_form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &p.client_id),
                ("client_secret", &p.secret),
                ("scope", &format!("{DEFENDER}/.default")),
            ],
        )
        .await;
    (s, v)
}

/// Signs in on an admin consent page and returns the next page.
async fn consent_pages(t: &TestServer, url: &str, u: &TestUser) -> (Browser, Page) {
    let mut b = t.browser();
    let p = b.get(url).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let next = b.sign_in(&p, &u.upn, &u.password).await;
    (b, next)
}

async fn customer(t: &TestServer, name: &str) -> UserTenant {
    let (tid, domain) = t.tenant(name).await;
    UserTenant {
        tenant_id: tid,
        domain,
        client_id: String::new(),
    }
}

#[tokio::test]
async fn customer_admin_consents_and_the_partner_gets_a_token_per_customer() {
    let t = start().await;
    let p = partner(&t).await;
    let a = customer(&t, "Contoso").await;
    let b = customer(&t, "Fabrikam").await;
    let admin = t
        .user_in(&a, "admin", &["Global Administrator"], None)
        .await;
    let reader = t.user_in(&a, "reader", &["Security Reader"], None).await;
    let app_admin = t
        .user_in(&b, "appadmin", &["Cloud Application Administrator"], None)
        .await;

    // Before consent: the customer has no service principal for the app.
    let (s, v) = customer_token(&t, &p, &a.tenant_id).await;
    assert_aad_error(s, &v, 400, "unauthorized_client", 700016);

    // A Security Reader gets the admin-approval page, and nothing is granted.
    let url = format!(
        "/common/adminconsent?client_id={}&state=xyz&redirect_uri={}",
        p.client_id,
        urlencode(REDIRECT)
    );
    let (_, page) = consent_pages(&t, &url, &reader).await;
    assert!(page.body.contains("Need admin approval"), "{}", page.body);
    assert!(page.body.contains("AADSTS90094"));
    let (s, _) = customer_token(&t, &p, &a.tenant_id).await;
    assert_eq!(s, 400);

    // The Global Administrator sees the admin consent page, and accepts.
    let (mut br, page) = consent_pages(&t, &url, &admin).await;
    assert!(
        page.body.contains("Consent on behalf of your organization"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Read all incidents"));
    assert!(page.body.contains("application permission"));
    assert!(page.body.contains("Published by Partner"), "{}", page.body);
    let done = br.submit(&page, "/consent", &[("action", "accept")]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.location().unwrap().starts_with(REDIRECT));
    let q = done.redirect_params();
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["tenant"], a.tenant_id);
    assert_eq!(q["state"], "xyz");

    // The partner's token for the customer: the customer's tid/iss and what it consented.
    let (s, v) = customer_token(&t, &p, &a.tenant_id).await;
    assert_eq!(s, 200, "{v}");
    let (_, c) = decode(v["access_token"].as_str().unwrap());
    assert_eq!(c["tid"], a.tenant_id);
    assert_eq!(
        c["iss"],
        format!("https://sts.windows.net/{}/", a.tenant_id)
    );
    assert_eq!(c["appid"], p.client_id);
    assert_eq!(c["roles"], json!(["Incident.Read.All"]));
    // Fabrikam never consented.
    let (s, v) = customer_token(&t, &p, &b.tenant_id).await;
    assert_aad_error(s, &v, 400, "unauthorized_client", 700016);
    // The partner's own tenant is unchanged.
    let (s, v) = customer_token(&t, &p, &p.tenant_id).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["tid"],
        p.tenant_id
    );

    // The partner adds a permission; the old consent does not cover it…
    grant_at_home(&t, &p.tenant_id, &p.client_id, "AdvancedHunting.Read.All").await;
    let (_, v) = customer_token(&t, &p, &a.tenant_id).await;
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["roles"],
        json!(["Incident.Read.All"])
    );
    // …until the admin consents again through the partner form's link (the session is
    // reused: no sign-in).
    let link = format!(
        "/common/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true",
        p.client_id
    );
    let page = br.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Run advanced queries")
            || page.body.contains("AdvancedHunting.Read.All"),
        "{}",
        page.body
    );
    let done = br.submit(&page, "/consent", &[("action", "accept")]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(
        done.location().unwrap().starts_with(REDIRECT),
        "the first registered redirect URI"
    );
    assert_eq!(done.redirect_params()["admin_consent"], "True");
    let (_, v) = customer_token(&t, &p, &a.tenant_id).await;
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["roles"],
        json!(["AdvancedHunting.Read.All", "Incident.Read.All"])
    );

    // A Cloud Application Administrator may consent too: v2 endpoint with .default.
    let url = format!(
        "/{}/v2.0/adminconsent?client_id={}&scope={}&redirect_uri={}&state=v2",
        b.domain,
        p.client_id,
        urlencode(&format!("{DEFENDER}/.default")),
        urlencode(REDIRECT)
    );
    let (mut br_b, page) = consent_pages(&t, &url, &app_admin).await;
    let done = br_b
        .submit(&page, "/consent", &[("action", "accept")])
        .await;
    let q = done.redirect_params();
    assert_eq!(q["admin_consent"], "True", "{q:?}");
    assert_eq!(q["tenant"], b.tenant_id);
    assert_eq!(q["scope"], format!("{DEFENDER}/.default"));
    assert_eq!(q["state"], "v2");
    let (s, v) = customer_token(&t, &p, &b.tenant_id).await;
    assert_eq!(s, 200, "{v}");

    // Each customer token reads only its own tenant's incidents.
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, &a.tenant_id, &clock, 3)
        .await
        .unwrap();
    palisade_defender::seed_demo_incidents(&t.server.store, &b.tenant_id, &clock, 7)
        .await
        .unwrap();
    for (tenant, expected) in [(&a.tenant_id, 3), (&b.tenant_id, 7)] {
        let (_, v) = customer_token(&t, &p, tenant).await;
        let token = v["access_token"].as_str().unwrap();
        let list: Value = t
            .http
            .get(t.url("/api/incidents"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["value"].as_array().unwrap().len(), expected, "{list}");
    }

    // Removing consent in the customer tenant: new tokens are refused.
    let (_, sps) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{}/v1.0/servicePrincipals", a.tenant_id),
            None,
        )
        .await;
    let sp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["appId"] == p.client_id.as_str())
        .unwrap();
    let (s, _) = t
        .admin(
            reqwest::Method::DELETE,
            &format!(
                "/admin/{}/v1.0/servicePrincipals/{}",
                a.tenant_id,
                sp["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = customer_token(&t, &p, &a.tenant_id).await;
    assert_aad_error(s, &v, 400, "unauthorized_client", 700016);
    let (s, _) = customer_token(&t, &p, &b.tenant_id).await;
    assert_eq!(s, 200, "the other customer is untouched");
}

#[tokio::test]
async fn admin_consent_errors_and_cancel() {
    let t = start().await;
    let p = partner(&t).await;
    let a = customer(&t, "Contoso").await;
    let admin = t
        .user_in(&a, "admin", &["Global Administrator"], None)
        .await;

    // Cancel on v1: permission_denied; on v2: access_denied (AADSTS65004).
    let url = format!(
        "/{}/adminconsent?client_id={}&state=s1",
        a.tenant_id, p.client_id
    );
    let (mut br, page) = consent_pages(&t, &url, &admin).await;
    let done = br.submit(&page, "/consent", &[("action", "cancel")]).await;
    let q = done.redirect_params();
    assert_eq!(q["error"], "permission_denied");
    assert_eq!(q["error_description"], "The admin canceled the request");
    assert_eq!(q["state"], "s1");
    let url = format!(
        "/{}/v2.0/adminconsent?client_id={}&scope={}&state=s2",
        a.tenant_id,
        p.client_id,
        urlencode(&format!("{DEFENDER}/.default"))
    );
    let page = br.get(&url).await;
    let done = br.submit(&page, "/consent", &[("action", "cancel")]).await;
    let q = done.redirect_params();
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_description"].starts_with("AADSTS65004"));
    let (s, _) = customer_token(&t, &p, &a.tenant_id).await;
    assert_eq!(s, 400, "nothing was granted");

    // Errors shown on the page, never redirected.
    let mut b = t.browser();
    for (url, code) in [
        (
            format!(
                "/common/adminconsent?client_id={}&redirect_uri={}",
                p.client_id,
                urlencode("https://evil.example/")
            ),
            "AADSTS50011",
        ),
        (
            "/common/adminconsent?client_id=11111111-2222-3333-4444-555555555555".to_string(),
            "AADSTS700016",
        ),
        (
            format!(
                "/common/v2.0/adminconsent?client_id={}&scope={}",
                p.client_id,
                urlencode(&format!("{DEFENDER}/.default"))
            ),
            "AADSTS9002313",
        ),
    ] {
        let page = b.get(&url).await;
        assert_eq!(page.status, 400, "{url}: {}", page.body);
        assert!(page.body.contains(code), "{url}: {}", page.body);
    }
    // v2 without scope: the error goes back to the (registered) redirect URI.
    let page = b
        .get(&format!(
            "/{}/v2.0/adminconsent?client_id={}&state=s3",
            a.tenant_id, p.client_id
        ))
        .await;
    assert_eq!(page.status, 302, "{}", page.body);
    let q = page.redirect_params();
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("scope"));

    // A single-tenant app of another tenant cannot be consented to.
    let home = t.app(&[]).await;
    let page = b
        .get(&format!(
            "/{}/adminconsent?client_id={}",
            a.tenant_id, home.client_id
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("AADSTS700016"), "{}", page.body);
}
