//! Certificate-assertion token requests next to secret token requests, side by side in
//! one run: the whole `POST /{tenant}/oauth2/v2.0/token` handler in process, client
//! credentials for the same app and resource, authenticated by
//! - `secret`: `client_secret` (hash compare over the app's secrets);
//! - `assertion`: a `client_assertion` RS256 JWT signed by the app's registered certificate
//!   (parse, key lookup by thumbprint, certificate parse, signature verification, claim
//!   checks, and the jti replay record: one more SQL write).
//!
//! The assertions are signed in the untimed setup of each iteration (that is the
//! client's work). Before timing, both sides' tokens are decoded and must agree on
//! `tid`, `aud`, `appid` and `roles` (and differ only in `appidacr`), or the bench fails.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use palisade_authority::{Authority, AuthoritySettings, KeyManager};
use palisade_clock::{SharedClock, SystemClock};
use palisade_directory::{
    ApplicationDefinition, Directory, NewApplication, NewKeyCredential, SignInAudience, MTP_APP_ID,
};
use palisade_store::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Cert {
    key: aws_lc_rs::signature::RsaKeyPair,
    der: Vec<u8>,
}

fn certificate() -> Cert {
    use aws_lc_rs::encoding::AsDer;
    let key =
        aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("key");
    let pkcs8 = key.as_der().expect("der").as_ref().to_vec();
    let kp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &pkcs8.as_slice().into(),
        &rcgen::PKCS_RSA_SHA256,
    )
    .expect("rcgen key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let cert = params.self_signed(&kp).expect("cert");
    Cert {
        key,
        der: cert.der().to_vec(),
    }
}

fn assertion(cert: &Cert, client_id: &str, aud: &str, n: u64) -> String {
    use sha1::Digest;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert.der))});
    let claims = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": format!("bench-{n}-{}", rand::random::<u64>()),
                        "nbf": now, "iat": now, "exp": now + 600});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; cert.key.public_modulus_len()];
    cert.key
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn claims_of(body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).expect("json");
    let token = v["access_token"].as_str().expect("a token");
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("claims")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let clock: SharedClock = Arc::new(SystemClock);
    let cert = certificate();
    let (authority, tenant, client_id, secret) = rt.block_on(async {
        let store = Store::open_in_memory().await.expect("store");
        let directory = Directory::new(store.clone(), clock.clone());
        directory.ensure_builtins().await.expect("builtins");
        let keys = Arc::new(
            KeyManager::load_or_create(store, clock.clone())
                .await
                .expect("keys"),
        );
        let tenant = directory
            .create_tenant("Bench", None, None)
            .await
            .expect("tenant");
        let app = directory
            .create_application(
                &tenant.id,
                NewApplication {
                    display_name: "bench".into(),
                    sign_in_audience: SignInAudience::AzureADMyOrg,
                    is_public_client: false,
                    identifier_uris: vec![],
                    definition: ApplicationDefinition::default(),
                },
            )
            .await
            .expect("app");
        directory
            .grant_permissions(
                &tenant.id,
                &app.app_id,
                MTP_APP_ID,
                &["Incident.Read.All".into()],
            )
            .await
            .expect("grant");
        let (_, secret) = directory
            .add_password(&tenant.id, &app.app_id, None, None, None)
            .await
            .expect("secret");
        directory
            .add_key(
                &tenant.id,
                &app.app_id,
                NewKeyCredential {
                    certificate: STANDARD.encode(&cert.der).into_bytes(),
                    ..Default::default()
                },
            )
            .await
            .expect("certificate");
        (
            Authority::new(directory, keys, AuthoritySettings::default()),
            tenant.id,
            app.app_id,
            secret,
        )
    });
    let router = authority.router();
    let path = format!("/{tenant}/oauth2/v2.0/token");
    let aud = format!("https://localhost{path}");
    let scope = "https%3A%2F%2Fapi.security.microsoft.com%2F.default";
    let secret_body = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={}&scope={scope}",
        secret.replace('~', "%7E")
    );
    let assertion_body = |a: String| {
        format!(
            "grant_type=client_credentials&client_id={client_id}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}&scope={scope}"
        )
    };
    let call = |body: String| {
        let router = router.clone();
        let path = path.clone();
        async move {
            let request = axum::http::Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("host", "localhost")
                .body(axum::body::Body::from(body))
                .expect("request");
            let response = router.oneshot(request).await.expect("response");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            bytes
        }
    };

    // Both sides must produce the same token contents before anything is timed.
    let by_secret = claims_of(&rt.block_on(call(secret_body.clone())));
    let by_cert =
        claims_of(&rt.block_on(call(assertion_body(assertion(&cert, &client_id, &aud, 0)))));
    for k in ["tid", "aud", "appid", "roles", "oid"] {
        assert_eq!(by_secret[k], by_cert[k], "the two sides disagree on {k}");
    }
    assert_eq!(
        (by_secret["appidacr"].as_str(), by_cert["appidacr"].as_str()),
        (Some("1"), Some("2"))
    );

    let mut group = c.benchmark_group("client_auth");
    group.bench_function("secret", |b| {
        b.iter(|| rt.block_on(call(secret_body.clone())))
    });
    let mut n = 1u64;
    group.bench_function("assertion", |b| {
        b.iter_batched(
            || {
                n += 1;
                assertion_body(assertion(&cert, &client_id, &aud, n))
            },
            |body| rt.block_on(call(body)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
