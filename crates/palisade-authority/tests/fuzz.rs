//! Property-based fuzzing of the token endpoints (`POST /{tenant}/oauth2/token`, `/v2.0/token`)
//! through the authority's router over a real in-memory store: request forms built from
//! the parameters the endpoint reads (grant type, client id and secret, resource, scope,
//! assertions, duplicates), raw bodies with broken encodings, content types, tenant path
//! segments, and `Authorization: Basic` headers — right, wrong, malformed or repeated.
//!
//! Properties: nothing panics; no 5xx; every error is Entra's JSON (`error`, one AADSTS
//! code that starts `error_description`); every 401 carries a challenge; a token is issued
//! only to the registered client presenting its real secret.

use axum::body::Body;
use axum::http::Request;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use palisade_authority::{Authority, AuthoritySettings, KeyManager};
use palisade_clock::{SharedClock, SystemClock};
use palisade_directory::{
    ApplicationDefinition, Directory, NewApplication, SignInAudience, MTP_APP_ID,
};
use palisade_fuzzkit::proptest::prelude::*;
use palisade_fuzzkit::{edits, fuzz_router, mutate};
use palisade_store::Store;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;

struct Rig {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    tenant: String,
    domain: String,
    client_id: String,
    secret: String,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (router, tenant, domain, client_id, secret) = rt.block_on(async {
            let clock: SharedClock = Arc::new(SystemClock);
            let store = Store::open_in_memory().await.unwrap();
            let directory = Directory::new(store.clone(), clock.clone());
            directory.ensure_builtins().await.unwrap();
            let keys = Arc::new(KeyManager::load_or_create(store, clock).await.unwrap());
            let tenant = directory.create_tenant("Fuzz", None, None).await.unwrap();
            let app = directory
                .create_application(
                    &tenant.id,
                    NewApplication {
                        display_name: "fuzz".into(),
                        sign_in_audience: SignInAudience::AzureADMyOrg,
                        is_public_client: false,
                        identifier_uris: vec![],
                        definition: ApplicationDefinition::default(),
                    },
                )
                .await
                .unwrap();
            directory
                .grant_permissions(
                    &tenant.id,
                    &app.app_id,
                    MTP_APP_ID,
                    &["Incident.Read.All".into()],
                )
                .await
                .unwrap();
            let (_, secret) = directory
                .add_password(&tenant.id, &app.app_id, None, None, None)
                .await
                .unwrap();
            let authority = Authority::new(directory, keys, AuthoritySettings::default());
            (
                authority.router(),
                tenant.id,
                tenant.initial_domain,
                app.app_id,
                secret,
            )
        });
        Rig {
            rt,
            router,
            tenant,
            domain,
            client_id,
            secret,
        }
    })
}

/// Symbolic values, resolved against the rig (so strategies stay `'static`).
#[derive(Debug, Clone)]
enum V {
    Lit(&'static str),
    Text(String),
    ClientId,
    ClientIdUpper,
    Secret,
    SecretAltered,
    Tenant,
    Domain,
}

impl V {
    fn resolve(&self, r: &Rig) -> String {
        match self {
            V::Lit(s) => s.to_string(),
            V::Text(s) => s.clone(),
            V::ClientId => r.client_id.clone(),
            V::ClientIdUpper => r.client_id.to_uppercase(),
            V::Secret => r.secret.clone(),
            V::SecretAltered => {
                let mut s = r.secret.clone();
                let c = if s.pop() == Some('A') { 'B' } else { 'A' };
                s.push(c);
                s
            }
            V::Tenant => r.tenant.clone(),
            V::Domain => r.domain.clone(),
        }
    }
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "client_credentials", "CLIENT_CREDENTIALS", "password", "authorization_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer", "https://api.security.microsoft.com",
            "https://api.security.microsoft.com/", "https://securitycenter.onmicrosoft.com/windowsatpservice",
            "8ee8fdad-f234-4243-8f3b-15c294843740", "api://8ee8fdad-f234-4243-8f3b-15c294843740",
            "https://api.security.microsoft.com/.default", "https://api.security.microsoft.com//.default",
            "https://graph.microsoft.com/.default", "openid offline_access", ".default", "",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "a.b.c", "null",
        ]).prop_map(V::Lit),
        2 => prop::sample::select(vec![V::ClientId, V::ClientIdUpper, V::Secret, V::SecretAltered, V::Tenant, V::Domain]),
        1 => "\\PC{0,24}".prop_map(V::Text),
        1 => (1usize..3000).prop_map(|n| V::Text("x".repeat(n))),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "grant_type", "client_id", "client_secret", "resource", "scope",
            "client_assertion", "client_assertion_type", "claims", "tenant",
        ]).prop_map(str::to_string),
        1 => "[a-z_]{0,10}",
    ]
}

#[derive(Debug, Clone)]
struct Case {
    v2: bool,
    tenant: V,
    form: Vec<(String, V)>,
    raw_edits: Option<Vec<(usize, u8, char)>>,
    content_type: Option<&'static str>,
    basic: Vec<(V, V)>,
    basic_raw: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    let complete = (value(), value(), value(), value()).prop_map(|(g, i, s, r)| {
        vec![
            ("grant_type".to_string(), g),
            ("client_id".to_string(), i),
            ("client_secret".to_string(), s),
            ("resource".to_string(), r),
        ]
    });
    let form = prop_oneof![
        2 => complete,
        1 => prop::collection::vec((key(), value()), 0..7),
    ];
    (
        any::<bool>(),
        prop_oneof![
            4 => prop::sample::select(vec![V::Tenant, V::Domain]),
            1 => prop::sample::select(vec![V::Lit("common"), V::Lit("organizations"), V::Lit("consumers"), V::Lit("9188040d-6c67-4c5b-b112-36a304b66dad"), V::Lit("x%2Fy"), V::Lit("%00")]),
            1 => "[A-Za-z0-9.-]{0,20}".prop_map(V::Text),
        ],
        form,
        prop::option::weighted(0.2, edits(&['%', '&', '=', '+', '\u{0}', '\u{FF}'])),
        prop_oneof![
            8 => Just(Some("application/x-www-form-urlencoded")),
            1 => prop::sample::select(vec![
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                Some("APPLICATION/X-WWW-FORM-URLENCODED"),
                Some("application/json"),
                Some("multipart/form-data"),
                None,
            ]),
        ],
        prop::collection::vec((value(), value()), 0..3),
        prop::option::weighted(0.05, prop::sample::select(vec!["Basic", "Basic !!!", "Basic Og==", "Bearer x", "basic YTpi", "Basic YQ=="]).prop_map(str::to_string)),
    )
        .prop_map(|(v2, tenant, form, raw_edits, content_type, basic, basic_raw)| Case {
            v2,
            tenant,
            form,
            raw_edits,
            content_type,
            basic,
            basic_raw,
        })
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn fuzz_token_requests() {
    fuzz_router("authority-token", 1_500, case(), |c| {
        let r = rig();
        let body: String = c
            .form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(&v.resolve(r))))
            .collect::<Vec<_>>()
            .join("&");
        let body = match &c.raw_edits {
            Some(e) => mutate(&body, e),
            None => body,
        };
        let tenant = encode(&c.tenant.resolve(r)).replace("%25", "%");
        let path = if c.v2 {
            format!("/{tenant}/oauth2/v2.0/token")
        } else {
            format!("/{tenant}/oauth2/token")
        };
        let mut req = Request::post(&path);
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        for (id, secret) in &c.basic {
            let pair = format!("{}:{}", encode(&id.resolve(r)), encode(&secret.resolve(r)));
            req = req.header("authorization", format!("Basic {}", STANDARD.encode(pair)));
        }
        if let Some(raw) = &c.basic_raw {
            req = req.header("authorization", raw.as_str());
        }
        let Ok(req) = req.body(Body::from(body.clone())) else {
            return Ok(()); // not a valid HTTP request at all (the path); nothing to send
        };
        let (status, challenge, json) = r.rt.block_on(async {
            let resp = r.router.clone().oneshot(req).await.expect("infallible");
            let status = resp.status().as_u16();
            let challenge = resp.headers().get("www-authenticate").cloned();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("body");
            (
                status,
                challenge,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        });
        prop_assert!(status < 500, "{status} for {path} {body:?}: {json}");
        prop_assert!(
            matches!(status, 200 | 400 | 401 | 404),
            "{status} for {path} {body:?}: {json}"
        );
        if status == 400 || status == 401 {
            let code = json["error_codes"][0].as_u64();
            prop_assert!(json["error"].is_string() && code.is_some(), "{json}");
            let desc = json["error_description"].as_str().unwrap_or("");
            prop_assert!(
                desc.starts_with(&format!("AADSTS{}: ", code.unwrap_or(0))),
                "{desc}"
            );
        }
        if status == 401 {
            prop_assert!(challenge.is_some(), "401 without WWW-Authenticate: {json}");
        }
        if status == 200 {
            // Only the registered client with its real secret gets a token.
            let presented: Vec<String> = c
                .form
                .iter()
                .filter(|(k, _)| k == "client_secret")
                .map(|(_, v)| v.resolve(r))
                .chain(c.basic.iter().map(|(_, s)| s.resolve(r)))
                .collect();
            prop_assert!(
                presented.contains(&r.secret),
                "token issued without the secret: {body:?}"
            );
            prop_assert!(json["access_token"]
                .as_str()
                .is_some_and(|t| t.split('.').count() == 3));
        }
        Ok(())
    });
}
