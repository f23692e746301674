//! Property-based fuzzing of the admin API's JSON bodies through its router over a real
//! in-memory store: tenants, applications (every Graph field the API reads, with hostile
//! values), addPassword/removePassword, service principals, app-role assignments and
//! grants; bodies built from those shapes, then byte-mutated; content types varied.
//!
//! Properties: nothing panics; no 5xx; every error is Graph's JSON
//! (`{"error":{"code","message","innerError"}}`); a refused write leaves the tenant's
//! applications as they were.

use axum::body::Body;
use axum::http::{Method, Request};
use palisade_admin::{bootstrap_admin_key, AdminState};
use palisade_authority::KeyManager;
use palisade_clock::{SharedClock, SystemClock};
use palisade_directory::Directory;
use palisade_fuzzkit::proptest::prelude::*;
use palisade_fuzzkit::{add_noise, byte_noise, fuzz_router, json_value};
use palisade_store::Store;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::Arc;
use tower::ServiceExt as _;

const WORDS: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
    "Incident.Read.All",
    "Incident.ReadWrite.All",
    "AdvancedHunting.Read.All",
    "Role",
    "Scope",
    "8ee8fdad-f234-4243-8f3b-15c294843740",
    "https://localhost/cb",
    "api://fuzz",
    "2999-01-01T00:00:00Z",
    "2000-01-01T00:00:00Z",
    "not-a-date",
    "00000000-0000-0000-0000-000000000000",
    "",
];
const KEYS: &[&str] = &[
    "displayName",
    "signInAudience",
    "isFallbackPublicClient",
    "identifierUris",
    "web",
    "publicClient",
    "redirectUris",
    "requiredResourceAccess",
    "resourceAppId",
    "resourceAccess",
    "id",
    "type",
    "appRoles",
    "allowedMemberTypes",
    "value",
    "isEnabled",
    "description",
    "api",
    "requestedAccessTokenVersion",
    "oauth2PermissionScopes",
    "passwordCredential",
    "startDateTime",
    "endDateTime",
    "keyId",
    "appId",
    "principalId",
    "resourceId",
    "appRoleId",
    "permissions",
    "resource",
    "domain",
];

struct Rig {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    key: String,
    tenant: String,
    app_object: String,
    app_id: String,
    sp: String,
    cases: u32,
}

fn new_rig() -> Rig {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (router, key) = rt.block_on(async {
        let clock: SharedClock = Arc::new(SystemClock);
        let store = Store::open_in_memory().await.unwrap();
        let directory = Directory::new(store.clone(), clock.clone());
        directory.ensure_builtins().await.unwrap();
        let keys = Arc::new(
            KeyManager::load_or_create(store.clone(), clock)
                .await
                .unwrap(),
        );
        let key = bootstrap_admin_key(&store, 0).await.unwrap().unwrap();
        (palisade_admin::router(AdminState { directory, keys }), key)
    });
    let mut rig = Rig {
        rt,
        router,
        key,
        tenant: String::new(),
        app_object: String::new(),
        app_id: String::new(),
        sp: String::new(),
        cases: 0,
    };
    let (_, t) = call(
        &rig,
        Method::POST,
        "/admin/tenants",
        Some("application/json"),
        json!({"displayName": "Fuzz"}).to_string().into_bytes(),
    );
    rig.tenant = t["id"].as_str().unwrap().to_string();
    let (_, a) = call(
        &rig,
        Method::POST,
        &format!("/admin/{}/v1.0/applications", rig.tenant),
        Some("application/json"),
        json!({"displayName": "fuzz app"}).to_string().into_bytes(),
    );
    rig.app_object = a["id"].as_str().unwrap().to_string();
    rig.app_id = a["appId"].as_str().unwrap().to_string();
    let (_, sps) = call(
        &rig,
        Method::GET,
        &format!("/admin/{}/v1.0/servicePrincipals", rig.tenant),
        None,
        Vec::new(),
    );
    rig.sp = sps["value"][0]["id"].as_str().unwrap_or("none").to_string();
    rig
}

thread_local! {
    static RIG: RefCell<Option<Rig>> = const { RefCell::new(None) };
}

/// Runs `f` on the rig, rebuilt every 500 cases so the in-memory directory (listed twice
/// per case) stays small.
fn with_rig<T>(f: impl FnOnce(&Rig) -> T) -> T {
    RIG.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|r| r.cases >= 500) {
            *slot = Some(new_rig());
        }
        let rig = slot.as_mut().unwrap();
        rig.cases += 1;
        f(rig)
    })
}

fn call(rig: &Rig, method: Method, path: &str, ctype: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", rig.key));
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let req = req.body(Body::from(body)).unwrap();
    rig.rt.block_on(async {
        let resp = rig.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Tenants,
    Applications,
    AddPassword,
    RemovePassword,
    ServicePrincipals,
    Assignments,
    Grants,
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::collection::btree_map(prop::sample::select(KEYS), json_value(WORDS, KEYS), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        1 => json_value(WORDS, KEYS),
    ]
}

#[test]
fn fuzz_admin_json_bodies() {
    let target = prop::sample::select(vec![
        Target::Tenants,
        Target::Applications,
        Target::Applications,
        Target::AddPassword,
        Target::RemovePassword,
        Target::ServicePrincipals,
        Target::Assignments,
        Target::Grants,
    ]);
    let ctype = prop_oneof![
        8 => Just(Some("application/json")),
        1 => prop::sample::select(vec![Some("application/json; charset=utf-8"), Some("text/plain"), Some("application/x-www-form-urlencoded"), None]),
    ];
    fuzz_router(
        "admin-json",
        800,
        (
            target,
            body(),
            prop::option::weighted(0.2, byte_noise()),
            ctype,
        ),
        |(target, body, noise, ctype)| {
            with_rig(|rig| {
                let t = &rig.tenant;
                let path = match target {
                    Target::Tenants => "/admin/tenants".to_string(),
                    Target::Applications => format!("/admin/{t}/v1.0/applications"),
                    Target::AddPassword => format!(
                        "/admin/{t}/v1.0/applications/{}/addPassword",
                        rig.app_object
                    ),
                    Target::RemovePassword => {
                        format!("/admin/{t}/v1.0/applications/{}/removePassword", rig.app_id)
                    }
                    Target::ServicePrincipals => format!("/admin/{t}/v1.0/servicePrincipals"),
                    Target::Assignments => format!(
                        "/admin/{t}/v1.0/servicePrincipals/{}/appRoleAssignments",
                        rig.sp
                    ),
                    Target::Grants => format!("/admin/{t}/grants"),
                };
                let bytes = serde_json::to_vec(&body).unwrap();
                let bytes = match &noise {
                    Some(n) => add_noise(bytes, n),
                    None => bytes,
                };
                let apps_path = format!("/admin/{t}/v1.0/applications");
                let before = call(rig, Method::GET, &apps_path, None, Vec::new()).1;
                let (status, json) = call(rig, Method::POST, &path, ctype, bytes.clone());
                prop_assert!(
                    status < 500,
                    "{status} {path} {}: {json}",
                    String::from_utf8_lossy(&bytes)
                );
                if status >= 400 {
                    prop_assert!(json["error"]["code"].is_string(), "{status} {path}: {json}");
                    prop_assert!(json["error"]["message"].is_string(), "{json}");
                    prop_assert!(
                        json["error"]["innerError"]["request-id"].is_string(),
                        "{json}"
                    );
                    let after = call(rig, Method::GET, &apps_path, None, Vec::new()).1;
                    prop_assert_eq!(before, after, "a refused write changed the applications");
                }
                Ok(())
            })
        },
    );
}
