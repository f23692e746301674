//! Token minting cost, side by side in one run:
//! - `rsa2048_sign`: one raw RS256 signature (AWS-LC's `RsaKeyPair`, the library the
//!   authority signs with) of a JWT-sized input;
//! - `mint_v1_token`: header + claims serialisation + signature, as the token endpoint mints;
//! - `token_endpoint`: the whole `POST /{tenant}/oauth2/token` handler in process (form
//!   parsing, tenant/app/principal lookups in SQLite, secret hash check, grants, mint).

use criterion::{criterion_group, criterion_main, Criterion};
use palisade_authority::{Authority, AuthoritySettings, KeyManager};
use palisade_clock::{SharedClock, SystemClock};
use palisade_directory::{
    ApplicationDefinition, Directory, NewApplication, SignInAudience, MTP_APP_ID,
};
use palisade_store::Store;
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let clock: SharedClock = Arc::new(SystemClock);
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
                &[
                    "Incident.Read.All".into(),
                    "AdvancedHunting.Read.All".into(),
                ],
            )
            .await
            .expect("grant");
        let (_, secret) = directory
            .add_password(&tenant.id, &app.app_id, None, None, None)
            .await
            .expect("secret");
        (
            Authority::new(directory, keys, AuthoritySettings::default()),
            tenant.id,
            app.app_id,
            secret,
        )
    });

    let claims = json!({
        "aud": "https://api.security.microsoft.com", "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 1_700_003_900, "aio": "x".repeat(64),
        "appid": client_id, "appidacr": "1", "idp": format!("https://sts.windows.net/{tenant}/"), "idtyp": "app",
        "oid": "0d6b5c24-1b0b-4f6e-9a43-6b0f3a0e9a11", "rh": "0.x.", "roles": ["AdvancedHunting.Read.All", "Incident.Read.All"],
        "sub": "0d6b5c24-1b0b-4f6e-9a43-6b0f3a0e9a11", "tid": tenant, "uti": "abcdefghijklmnopqrstuv", "ver": "1.0"
    });
    let signing_input = authority.keys().sign(true, &claims).expect("sign");
    let signing_input = signing_input
        .rsplit_once('.')
        .map(|(s, _)| s.to_string())
        .unwrap_or_default();
    // A fresh RSA-2048 key of the same kind for the raw-signature baseline.
    let row = palisade_authority::keys::generate_key(time::OffsetDateTime::now_utc()).expect("key");
    let key = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&row.private_key_der).expect("pkcs8");
    let rng = aws_lc_rs::rand::SystemRandom::new();

    let mut group = c.benchmark_group("tokens");
    group.bench_function("rsa2048_sign", |b| {
        b.iter(|| {
            let mut sig = vec![0u8; key.public_modulus_len()];
            key.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .expect("sign");
            sig
        })
    });
    group.bench_function("mint_v1_token", |b| {
        b.iter(|| authority.keys().sign(true, &claims).expect("sign"))
    });
    let router = authority.router();
    let body = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={}&resource=https%3A%2F%2Fapi.security.microsoft.com",
        secret.replace('~', "%7E")
    );
    group.bench_function("token_endpoint", |b| {
        b.iter(|| {
            rt.block_on(async {
                let request = axum::http::Request::post(format!("/{tenant}/oauth2/token"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(body.clone()))
                    .expect("request");
                let response = router.clone().oneshot(request).await.expect("response");
                assert_eq!(response.status(), 200);
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
