//! Certificate credentials: keyCredentials through the admin API, and client assertions
//! (identity.md §7.2) for client credentials, code redemption and refresh, with every
//! variant real clients send accepted and every attack refused with its AADSTS code.

use crate::common::*;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_clock::Clock;
use serde_json::{json, Value};
use sha2::Digest;
use time::Duration;

/// An RSA key with a self-signed certificate.
pub struct Cert {
    pub key: RsaKeyPair,
    pub der: Vec<u8>,
}

impl Cert {
    pub fn new(bits: KeySize) -> Cert {
        Cert::whose_der(bits, |_| true)
    }

    /// A certificate whose DER ends in an ASCII-whitespace byte (0x09, 0x0A, 0x0C, 0x0D,
    /// 0x20): about one in fifty does, and such a certificate once failed to be read back
    /// from the store ("An internal error occurred"), so tests that verify a signature
    /// with a stored certificate use one to be deterministic.
    pub fn ending_in_whitespace() -> Cert {
        Cert::whose_der(KeySize::Rsa2048, |der| {
            der.last().is_some_and(u8::is_ascii_whitespace)
        })
    }

    /// One key; certificates with successive serial numbers until `accept` takes one
    /// (PKCS#1 v1.5 signatures are deterministic, so the serial is what varies the bytes).
    fn whose_der(bits: KeySize, accept: impl Fn(&[u8]) -> bool) -> Cert {
        let key = RsaKeyPair::generate(bits).unwrap();
        let pkcs8 = key.as_der().unwrap().as_ref().to_vec();
        let kp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_slice().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .unwrap();
        for serial in 1u64..20_000 {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.serial_number = Some(serial.into());
            params.not_before = time::OffsetDateTime::now_utc() - Duration::days(1);
            params.not_after = time::OffsetDateTime::now_utc() + Duration::days(365);
            let der = params.self_signed(&kp).unwrap().der().to_vec();
            if accept(&der) {
                return Cert { key, der };
            }
        }
        panic!("no certificate satisfied the test's condition");
    }

    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha1_digest(&self.der))
    }

    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&self.der))
    }

    pub fn pem(&self) -> String {
        let b64 = STANDARD.encode(&self.der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    /// Signs `header.claims` with this key (RS256 or PS256 by the header's `alg`).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let alg = if header["alg"] == "PS256" {
            &RSA_PSS_SHA256
        } else {
            &RSA_PKCS1_SHA256
        };
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                alg,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

pub fn sha1_digest(b: &[u8]) -> [u8; 20] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b);
    d.as_ref().try_into().unwrap()
}

/// Registers a certificate on an app with PATCH keyCredentials (keeping none).
pub async fn register(t: &TestServer, tenant: &str, object_id: &str, cert: &Cert) -> Value {
    let (s, v) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{tenant}/v1.0/applications/{object_id}"),
            Some(json!({"keyCredentials": [{
                "type": "AsymmetricX509Cert", "usage": "Verify",
                "key": STANDARD.encode(&cert.der), "displayName": "test cert"}]})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, a) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tenant}/v1.0/applications/{object_id}"),
            None,
        )
        .await;
    a["keyCredentials"][0].clone()
}

pub fn claims(t: &TestServer, client_id: &str, aud: &str) -> Value {
    let now = t.clock.now().unix_timestamp();
    json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4().to_string(),
           "nbf": now, "iat": now, "exp": now + 600})
}

async fn cc(t: &TestServer, app: &App, v1: bool, assertion: &str) -> (u16, Value) {
    let (path, res) = if v1 {
        (
            format!("/{}/oauth2/token", app.tenant_id),
            ("resource", DEFENDER.to_string()),
        )
    } else {
        (
            format!("/{}/oauth2/v2.0/token", app.tenant_id),
            ("scope", format!("{DEFENDER}/.default")),
        )
    };
    let (s, _, v) = t
        .post_form(
            &path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
                (res.0, &res.1),
            ],
        )
        .await;
    (s, v)
}

fn v2_aud(t: &TestServer, tenant: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/token", t.server.base_url)
}

#[tokio::test]
async fn certificate_assertions_in_every_form_real_clients_send() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let cert = Cert::new(KeySize::Rsa2048);
    let k = register(&t, &app.tenant_id, &app.object_id, &cert).await;
    assert_eq!(k["type"], "AsymmetricX509Cert");
    assert_eq!(k["usage"], "Verify");
    assert_eq!(
        k["customKeyIdentifier"],
        sha1_digest(&cert.der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    );
    assert!(k["key"].is_null());

    // 1. RS256 + x5t, v2 endpoint, aud = v2 endpoint with the tenant id.
    let a = cert.sign(
        &json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t()}),
        &claims(&t, &app.client_id, &v2_aud(&t, &app.tenant_id)),
    );
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_eq!(s, 200, "{v}");
    let (_, c) = decode(v["access_token"].as_str().unwrap());
    assert_eq!(c["appidacr"], "2", "a certificate is appidacr 2");
    assert_eq!(c["roles"], json!(["Incident.Read.All"]));
    assert_eq!(c["tid"], app.tenant_id);

    // 2. PS256 + x5t#S256 in standard, padded base64; v1 endpoint; aud in the v1 form with
    // the tenant's domain.
    let s256 = STANDARD.encode(sha2::Sha256::digest(&cert.der));
    assert!(s256.ends_with('='));
    let a = cert.sign(
        &json!({"alg": "PS256", "typ": "JWT", "x5t#S256": s256}),
        &claims(
            &t,
            &app.client_id,
            &format!("{}/{}/oauth2/token", t.server.base_url, app.domain),
        ),
    );
    let (s, v) = cc(&t, &app, true, &a).await;
    assert_eq!(s, 200, "{v}");

    // 3. What MSAL Python sends: a padded x5t, float exp/iat, no nbf.
    let now = t.clock.now().unix_timestamp() as f64 + 0.25;
    let padded = STANDARD.encode(sha1_digest(&cert.der));
    assert!(padded.ends_with('='));
    let a = cert.sign(
        &json!({"alg": "RS256", "typ": "JWT", "x5t": padded}),
        &json!({"aud": v2_aud(&t, &app.tenant_id), "iss": app.client_id, "sub": app.client_id,
                "jti": "msal-python-style", "iat": now, "exp": now + 600.0}),
    );
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_eq!(s, 200, "{v}");

    // 4. The v1 endpoint accepts an assertion addressed to the v2 endpoint, and a clock
    // 4 minutes behind the client is within the skew.
    let mut c = claims(&t, &app.client_id, &v2_aud(&t, &app.tenant_id));
    c["nbf"] = json!(t.clock.now().unix_timestamp() + 240);
    let a = cert.sign(&json!({"alg": "RS256", "x5t#S256": cert.x5t_s256()}), &c);
    let (s, v) = cc(&t, &app, true, &a).await;
    assert_eq!(s, 200, "{v}");

    // The secret still works beside the certificate, with appidacr 1.
    let (s, v) = t.v2_token(&app, &format!("{DEFENDER}/.default")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["appidacr"],
        "1"
    );
}

#[tokio::test]
async fn assertion_attacks_are_refused_with_their_codes() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let other = t.app(&["Incident.Read.All"]).await;
    let cert = Cert::new(KeySize::Rsa2048);
    let other_cert = Cert::new(KeySize::Rsa2048);
    let attacker = Cert::new(KeySize::Rsa2048);
    register(&t, &app.tenant_id, &app.object_id, &cert).await;
    register(&t, &other.tenant_id, &other.object_id, &other_cert).await;
    let aud = v2_aud(&t, &app.tenant_id);
    let rs = |c: &Cert| json!({"alg": "RS256", "typ": "JWT", "x5t": c.x5t()});
    let now = t.clock.now().unix_timestamp();
    let unsigned = |h: Value, c: Value, sig: &str| {
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        )
    };

    // Wrong key: the attacker signs with their own key but names the app's certificate.
    let a = attacker.sign(&rs(&cert), &claims(&t, &app.client_id, &aud));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("did not match"));

    // x5t of another app's certificate (signed with that app's real key).
    let a = other_cert.sign(&rs(&other_cert), &claims(&t, &app.client_id, &aud));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("The key was not found"));

    // aud of another tenant's token endpoint.
    let a = cert.sign(
        &rs(&cert),
        &claims(&t, &app.client_id, &v2_aud(&t, &other.tenant_id)),
    );
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 50027);
    // …and of another host.
    let a = cert.sign(
        &rs(&cert),
        &claims(
            &t,
            &app.client_id,
            &format!("https://evil.example/{}/oauth2/v2.0/token", app.tenant_id),
        ),
    );
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 50027);

    // Expired (beyond the 5-minute skew), and not yet valid.
    let mut c = claims(&t, &app.client_id, &aud);
    c["exp"] = json!(now - 301);
    c["nbf"] = json!(now - 900);
    let (s, v) = cc(&t, &app, false, &cert.sign(&rs(&cert), &c)).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700024);
    let mut c = claims(&t, &app.client_id, &aud);
    c["nbf"] = json!(now + 301);
    c["exp"] = json!(now + 900);
    let (s, v) = cc(&t, &app, false, &cert.sign(&rs(&cert), &c)).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700024);

    // Replayed jti: the first use works, the second is refused.
    let a = cert.sign(&rs(&cert), &claims(&t, &app.client_id, &aud));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 50027);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));

    // alg none and HS256 (keyed with the certificate's bytes, the classic confusion).
    let c = claims(&t, &app.client_id, &aud);
    let a = unsigned(json!({"alg": "none", "x5t": cert.x5t()}), c.clone(), "");
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    let h = json!({"alg": "HS256", "x5t": cert.x5t()});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h.to_string()),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &cert.der),
        input.as_bytes(),
    );
    let a = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);

    // An assertion of app A presented with client_id B.
    let a = other_cert.sign(&rs(&other_cert), &claims(&t, &other.client_id, &aud));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700021);
    // sub ≠ iss.
    let mut c = claims(&t, &app.client_id, &aud);
    c["sub"] = json!(other.client_id);
    let (s, v) = cc(&t, &app, false, &cert.sign(&rs(&cert), &c)).await;
    assert_aad_error(s, &v, 401, "invalid_client", 50048);
    // No jti, no exp, a crit header, garbage.
    for (h, c) in [
        (rs(&cert), {
            let mut c = claims(&t, &app.client_id, &aud);
            c.as_object_mut().unwrap().remove("jti");
            c
        }),
        (rs(&cert), {
            let mut c = claims(&t, &app.client_id, &aud);
            c.as_object_mut().unwrap().remove("exp");
            c
        }),
        (
            json!({"alg": "RS256", "x5t": cert.x5t(), "crit": ["exp"]}),
            claims(&t, &app.client_id, &aud),
        ),
    ] {
        let (s, v) = cc(&t, &app, false, &cert.sign(&h, &c)).await;
        assert_aad_error(s, &v, 401, "invalid_client", 50027);
    }
    let (s, v) = cc(&t, &app, false, "not.a.jwt").await;
    assert_aad_error(s, &v, 401, "invalid_client", 50027);

    // A certificate credential past its endDateTime: 700027 (key expired).
    let (s, _) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{}/v1.0/applications/{}", app.tenant_id, app.object_id),
            Some(json!({"keyCredentials": [{"key": STANDARD.encode(&cert.der),
                "endDateTime": (time::OffsetDateTime::now_utc() + Duration::days(2)).format(&time::format_description::well_known::Rfc3339).unwrap()}]})),
        )
        .await;
    assert_eq!(s, 204);
    t.clock.advance(Duration::days(3));
    let a = cert.sign(&rs(&cert), &claims(&t, &app.client_id, &aud));
    let (s, v) = cc(&t, &app, false, &a).await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    assert!(v["error_description"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn key_credentials_through_the_admin_api() {
    let t = start().await;
    let app = t.app(&[]).await;
    let base = format!(
        "/admin/{}/v1.0/applications/{}",
        app.tenant_id, app.object_id
    );
    // Both certificates end in a whitespace byte: the proofs and assertions below verify
    // against certificates read back from the store, which once failed for such bytes.
    let cert = Cert::ending_in_whitespace();
    let second = Cert::ending_in_whitespace();

    // addKey needs a proof from an existing certificate: none yet.
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/addKey"),
            Some(json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&cert.der)},
                         "passwordCredential": null})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("PATCH"));

    // PATCH with a PEM works; weak keys, non-certificates and EC/garbage are refused.
    let (s, v) = t
        .admin(
            reqwest::Method::PATCH,
            &base,
            Some(json!({"keyCredentials": [{"key": cert.pem()}]})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    for bad in ["bm90IGEgY2VydA==", "MIIB"] {
        let (s, v) = t
            .admin(
                reqwest::Method::PATCH,
                &base,
                Some(json!({"keyCredentials": [{"key": bad}]})),
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["code"], "Request_BadRequest");
    }
    // The failed PATCHes changed nothing.
    let (_, a) = t.admin(reqwest::Method::GET, &base, None).await;
    assert_eq!(a["keyCredentials"].as_array().unwrap().len(), 1);
    let first_key_id = a["keyCredentials"][0]["keyId"]
        .as_str()
        .unwrap()
        .to_string();

    // addKey with a proof signed by the registered certificate.
    let now = t.clock.now().unix_timestamp();
    let proof_claims = |iss: &str| {
        json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": iss, "nbf": now, "exp": now + 600,
               "jti": uuid::Uuid::new_v4().to_string()})
    };
    let body = |proof: String| {
        json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&second.der)},
               "passwordCredential": null, "proof": proof})
    };
    // A proof signed by a key the app does not hold, or with the wrong iss, is refused.
    let bad = second.sign(
        &json!({"alg": "RS256", "x5t": second.x5t()}),
        &proof_claims(&app.object_id),
    );
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/addKey"),
            Some(body(bad)),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let bad = cert.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &proof_claims(&app.client_id),
    );
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/addKey"),
            Some(body(bad)),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let good = cert.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &proof_claims(&app.object_id),
    );
    let (s, k) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/addKey"),
            Some(body(good.clone())),
        )
        .await;
    assert_eq!(s, 200, "{k}");
    assert_eq!(
        k["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.keyCredential"
    );
    // The same certificate twice is a conflict.
    let good2 = cert.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &proof_claims(&app.object_id),
    );
    let (s, _) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/addKey"),
            Some(body(good2)),
        )
        .await;
    assert_eq!(s, 409);

    // removeKey of the first, proven by the second.
    let proof = second.sign(
        &json!({"alg": "PS256", "x5t#S256": second.x5t_s256()}),
        &proof_claims(&app.object_id),
    );
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            &format!("{base}/removeKey"),
            Some(json!({"keyId": first_key_id, "proof": proof})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, a) = t.admin(reqwest::Method::GET, &base, None).await;
    let keys = a["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["keyId"], k["keyId"]);
    // The removed certificate no longer authenticates; the kept one does.
    let aud = v2_aud(&t, &app.tenant_id);
    let (s, v) = cc(
        &t,
        &app,
        false,
        &cert.sign(
            &json!({"alg": "RS256", "x5t": cert.x5t()}),
            &claims(&t, &app.client_id, &aud),
        ),
    )
    .await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    let (s, v) = cc(
        &t,
        &app,
        false,
        &second.sign(
            &json!({"alg": "RS256", "x5t": second.x5t()}),
            &claims(&t, &app.client_id, &aud),
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn code_redemption_and_refresh_with_a_certificate() {
    let t = start().await;
    let (tid, domain) = t.tenant("CertWeb").await;
    let (s, a) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/v1.0/applications"),
            Some(json!({"displayName": "web app", "web": {"redirectUris": ["https://app.example.com/signed-in"]}})),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let client_id = a["appId"].as_str().unwrap().to_string();
    let object_id = a["id"].as_str().unwrap().to_string();
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/grants"),
            Some(
                json!({"appId": client_id, "permissions": ["Incident.Read"], "type": "Delegated"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let cert = Cert::new(KeySize::Rsa2048);
    register(&t, &tid, &object_id, &cert).await;
    let ut = UserTenant {
        tenant_id: tid.clone(),
        domain,
        client_id: client_id.clone(),
    };
    let u = t.user_in(&ut, "analyst", &["Security Reader"], None).await;

    let mut b = t.browser();
    let url = format!(
        "/{tid}/oauth2/v2.0/authorize?{}",
        serde_urlencoded::to_string([
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", "https://app.example.com/signed-in"),
            (
                "scope",
                &format!("{DEFENDER}/.default offline_access openid")
            ),
            ("state", "s"),
        ])
        .unwrap()
    );
    let p = b.get(&url).await;
    let done = b.sign_in(&p, &u.upn, &u.password).await;
    assert_eq!(done.status, 302, "{}", done.body);
    let code = done.redirect_params()["code"].clone();
    let aud = v2_aud(&t, &tid);
    let assertion = || {
        cert.sign(
            &json!({"alg": "PS256", "x5t#S256": cert.x5t_s256()}),
            &claims(&t, &client_id, &aud),
        )
    };
    let jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    // Without any credential the confidential client is refused; with the assertion it works.
    let (s, _, v) = t
        .post_form(
            &format!("/{tid}/oauth2/v2.0/token"),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/signed-in"),
                ("scope", &format!("{DEFENDER}/.default")),
            ],
        )
        .await;
    assert_aad_error(s, &v, 401, "invalid_client", 7000218);
    // That failed request spent the code (a code is spent by its first presentation), so
    // sign in again.
    let p = b.get(&url).await;
    assert_eq!(p.status, 302, "the session signs in silently: {}", p.body);
    let code = p.redirect_params()["code"].clone();
    let (s, _, v) = t
        .post_form(
            &format!("/{tid}/oauth2/v2.0/token"),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/signed-in"),
                ("scope", &format!("{DEFENDER}/.default")),
                ("client_assertion_type", jwt_bearer),
                ("client_assertion", &assertion()),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, c) = decode(v["access_token"].as_str().unwrap());
    assert_eq!(c["appidacr"], "2");
    assert_eq!(c["scp"], "Incident.Read");
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    // Refresh: an attacker's assertion fails, the real one works.
    let attacker = Cert::new(KeySize::Rsa2048);
    let forged = attacker.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &claims(&t, &client_id, &aud),
    );
    let (s, _, v) = t
        .post_form(
            &format!("/{tid}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", &refresh),
                ("scope", &format!("{DEFENDER}/.default")),
                ("client_assertion_type", jwt_bearer),
                ("client_assertion", &forged),
            ],
        )
        .await;
    assert_aad_error(s, &v, 401, "invalid_client", 700027);
    let (s, _, v) = t
        .post_form(
            &format!("/{tid}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", &refresh),
                ("scope", &format!("{DEFENDER}/.default")),
                ("client_assertion_type", jwt_bearer),
                ("client_assertion", &assertion()),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["appidacr"],
        "2"
    );
}
