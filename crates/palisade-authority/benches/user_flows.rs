//! User-flow costs, side by side in one run (the whole token-endpoint handler in process,
//! SQLite on a temporary file as in production):
//! - `argon2id_verify`: one Argon2id verification with Palisade's parameters (m = 19 MiB,
//!   t = 2, p = 1), on the calling thread: the floor of a password sign-in;
//! - `ropc_token`: `grant_type=password` (userrealm-free ROPC as MSAL sends it): user
//!   lookup, Argon2id (on the blocking pool), consent, mint access + ID token, store a
//!   refresh token;
//! - `ropc_token_2_threads`: the same, 8 at a time on a 2-worker runtime (throughput);
//! - `client_credentials_token`: the app-only token, for comparison;
//! - `code_redemption`: `grant_type=authorization_code` with PKCE (spend the code, check
//!   client, redirect URI and verifier, mint, store a refresh token);
//! - `device_code_poll`: a pending poll (`authorization_pending`, the interval respected).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use palisade_authority::grants::code::{store_code, CodeGrant};
use palisade_authority::request::EndpointVersion;
use palisade_authority::resource::ScopeRequest;
use palisade_authority::{Authority, AuthoritySettings, KeyManager};
use palisade_clock::{ManualClock, SharedClock};
use palisade_directory::password::{hash_password_blocking, verify_password_blocking};
use palisade_directory::{
    ApplicationDefinition, ConsentType, Directory, NewApplication, NewUser, SignInAudience,
    MTP_APP_ID,
};
use palisade_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const PASSWORD: &str = "Bench-passw0rd!";

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form")
}

async fn post(router: &axum::Router, path: &str, body: String) -> (u16, serde_json::Value) {
    let request = axum::http::Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let (authority, tenant, public_id, user_id, confidential_id, secret) = rt.block_on(async {
        let store = Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .expect("store");
        let directory = Directory::new(store.clone(), shared.clone());
        directory.ensure_builtins().await.expect("builtins");
        let keys = Arc::new(
            KeyManager::load_or_create(store, shared.clone())
                .await
                .expect("keys"),
        );
        let tenant = directory
            .create_tenant("Bench", None, None)
            .await
            .expect("tenant");
        let public = directory
            .create_application(
                &tenant.id,
                NewApplication {
                    display_name: "cli".into(),
                    sign_in_audience: SignInAudience::AzureADMyOrg,
                    is_public_client: true,
                    identifier_uris: vec![],
                    definition: ApplicationDefinition {
                        public_client_redirect_uris: vec!["http://localhost".into()],
                        ..Default::default()
                    },
                },
            )
            .await
            .expect("public app");
        directory
            .grant_delegated(
                &tenant.id,
                &public.app_id,
                MTP_APP_ID,
                &["Incident.Read".into(), "AdvancedHunting.Read".into()],
                ConsentType::AllPrincipals,
            )
            .await
            .expect("consent");
        let user = directory
            .create_user(
                &tenant.id,
                NewUser {
                    user_principal_name: "bench@bench.onmicrosoft.com".into(),
                    display_name: None,
                    password: PASSWORD.into(),
                    account_enabled: true,
                    password_expires_at: None,
                },
            )
            .await
            .expect("user");
        directory
            .assign_role(&tenant.id, &user.id, "Security Reader")
            .await
            .expect("role");
        let app = directory
            .create_application(
                &tenant.id,
                NewApplication {
                    display_name: "daemon".into(),
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
        (
            Authority::new(directory, keys, AuthoritySettings::default()),
            tenant.id,
            public.app_id,
            user.id,
            app.app_id,
            secret,
        )
    });
    let router = authority.router();
    let token_path = format!("/{tenant}/oauth2/v2.0/token");
    let scope = "https://api.security.microsoft.com/.default offline_access openid profile";
    let ropc_body = form(&[
        ("grant_type", "password"),
        ("client_id", &public_id),
        ("username", "bench@bench.onmicrosoft.com"),
        ("password", PASSWORD),
        ("scope", scope),
    ]);
    let cc_body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &confidential_id),
        ("client_secret", &secret),
        ("scope", "https://api.security.microsoft.com/.default"),
    ]);
    let phc = hash_password_blocking(PASSWORD).expect("hash");

    let mut group = c.benchmark_group("user_flows");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| assert!(verify_password_blocking(PASSWORD, &phc)))
    });
    group.bench_function("ropc_token", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (s, v) = post(&router, &token_path, ropc_body.clone()).await;
                assert_eq!(s, 200, "{v}");
            })
        })
    });
    group.bench_function("ropc_token_2_threads", |b| {
        // Time per token with 8 requests in flight on the 2 worker threads.
        b.iter_custom(|iters| {
            let batches = iters.div_ceil(8).max(1);
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..batches {
                    let mut tasks = Vec::new();
                    for _ in 0..8 {
                        let router = router.clone();
                        let path = token_path.clone();
                        let body = ropc_body.clone();
                        tasks.push(tokio::spawn(async move {
                            let (s, _) = post(&router, &path, body).await;
                            assert_eq!(s, 200);
                        }));
                    }
                    for t in tasks {
                        t.await.expect("task");
                    }
                }
            });
            start.elapsed().mul_f64(iters as f64 / (batches * 8) as f64)
        })
    });
    group.bench_function("client_credentials_token", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (s, v) = post(&router, &token_path, cc_body.clone()).await;
                assert_eq!(s, 200, "{v}");
            })
        })
    });
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let grant = CodeGrant {
        client_id: public_id.clone(),
        redirect_uri: "http://localhost:5000".into(),
        spa: false,
        scopes: ScopeRequest::parse_v2(scope).expect("scope"),
        scp: vec!["Incident.Read".into(), "AdvancedHunting.Read".into()],
        code_challenge: Some(challenge.into()),
        code_challenge_method: Some("S256".into()),
        nonce: Some("n".into()),
        session_id: None,
        auth_time: 0,
        amr: vec!["pwd".into()],
        version: EndpointVersion::V2,
    };
    group.bench_function("code_redemption", |b| {
        b.iter_batched(
            || {
                rt.block_on(store_code(&authority, &tenant, &user_id, &grant))
                    .expect("code")
            },
            |code| {
                rt.block_on(async {
                    let body = form(&[
                        ("grant_type", "authorization_code"),
                        ("client_id", &public_id),
                        ("code", &code),
                        ("redirect_uri", "http://localhost:5000"),
                        ("code_verifier", verifier),
                    ]);
                    let (s, v) = post(&router, &token_path, body).await;
                    assert_eq!(s, 200, "{v}");
                })
            },
            BatchSize::SmallInput,
        )
    });
    // A fresh device code every 100 polls (codes live 15 minutes of the server's clock,
    // which each poll moves by the 5-second interval).
    let new_device_code = || {
        rt.block_on(async {
            let (s, v) = post(
                &router,
                &format!("/{tenant}/oauth2/v2.0/devicecode"),
                form(&[("client_id", &public_id), ("scope", scope)]),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &public_id),
                (
                    "device_code",
                    v["device_code"].as_str().expect("device code"),
                ),
            ])
        })
    };
    let current = std::cell::RefCell::new((new_device_code(), 0u32));
    group.bench_function("device_code_poll", |b| {
        b.iter_batched(
            || {
                let mut cur = current.borrow_mut();
                if cur.1 >= 100 {
                    *cur = (new_device_code(), 0);
                }
                cur.1 += 1;
                cur.0.clone()
            },
            |poll_body| {
                rt.block_on(async {
                    let (s, v) = post(&router, &token_path, poll_body).await;
                    assert_eq!(s, 400);
                    assert_eq!(v["error"], "authorization_pending", "{v}");
                });
                clock.advance(time::Duration::seconds(5));
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
