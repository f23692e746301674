//! Property-based fuzzing (proptest, stable Rust) of the Defender API's hostile-input
//! surfaces, with grammar-aware generators:
//! - the OData query options of `GET /api/incidents` (`$filter` expressions built from the
//!   grammar, then mutated; `$top`/`$skip`; percent-encoding);
//! - incident PATCH bodies (objects over the real field names with values of every JSON
//!   type, then byte-mutated);
//! - hunting request bodies (`{"Query": …}` variants);
//! - bearer JWTs (headers and claims drawn from the fields a validator reads, real and
//!   forged signatures) through the whole router.
//!
//! Properties: nothing panics; every answer is a status the API documents for the case (no
//! 500) in the Defender error shape; a token not signed by the published key, with another
//! `alg` or with `crit`, is never accepted.
//!
//! `PALISADE_FUZZ_SCALE=N` multiplies every target's case count (CI runs scale 1;
//! `scripts/fuzz.sh --long` runs the ≥ 10 M-execution pass); see `palisade-fuzzkit`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt as _;
use palisade_defender::odata::{parse_datetime, parse_list_query};
use palisade_defender::{
    parse_patch, DefenderState, HuntScope, HuntingColumn, HuntingFuture, HuntingOutput,
    HuntingService, HuntingStats, QuotaConfig,
};
use palisade_fuzzkit::proptest::prelude::*;
use palisade_fuzzkit::proptest::test_runner::TestCaseError;
use palisade_fuzzkit::{add_noise, byte_noise, fuzz, fuzz_router};
use palisade_kql::KqlType;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;

// ---------- generators ----------

fn ws() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just(" ".to_string()),
        1 => Just("  ".to_string()),
        1 => Just("".to_string()),
        1 => Just("\t".to_string()),
        1 => Just("+".to_string()),
        1 => Just("%20".to_string()),
    ]
}

fn property() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["lastUpdateTime", "createdTime", "status", "assignedTo"])
            .prop_map(str::to_string),
        1 => prop::sample::select(vec!["LASTUPDATETIME", "Status", "assignedto", "classification", "id", "severity", "tags/any(t: t eq 'x')"])
            .prop_map(str::to_string),
        1 => "[A-Za-z_$][A-Za-z0-9_/.]{0,16}",
    ]
}

fn op() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]).prop_map(str::to_string),
        1 => prop::sample::select(vec!["EQ", "==", "!=", "like", "in", "has", "not", "and", "or", ""]).prop_map(str::to_string),
        1 => "[a-z=<>!]{1,4}",
    ]
}

fn datetime() -> impl Strategy<Value = String> {
    (
        0u32..=10000,
        0u32..=13,
        0u32..=32,
        0u32..=25,
        0u32..=61,
        0u32..=61,
        prop::option::of("[0-9]{0,12}"),
        prop_oneof![
            Just("Z".to_string()),
            Just(String::new()),
            (0u32..=25, 0u32..=61).prop_map(|(h, m)| format!("+{h:02}:{m:02}")),
            (0u32..=25, 0u32..=61).prop_map(|(h, m)| format!("-{h:02}:{m:02}")),
            (0u32..=25, 0u32..=61).prop_map(|(h, m)| format!(" {h:02}:{m:02}")),
        ],
        prop::bool::weighted(0.15),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone, date_only)| {
            if date_only {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
            }
        })
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "'([^'%&]|''){0,24}'",
        3 => datetime(),
        1 => prop::sample::select(vec!["null", "true", "'Active'", "'Resolved'", "'Redirected'", "'InProgress'", "'New'", "42", "-1", "1e308", "''", "'", "'unterminated", "datetime'2021-01-01T00:00:00Z'"]).prop_map(str::to_string),
        1 => "[^&#]{0,12}",
    ]
}

fn comparison() -> impl Strategy<Value = String> {
    (property(), ws(), op(), ws(), literal())
        .prop_map(|(p, w1, o, w2, l)| format!("{p}{w1}{o}{w2}{l}"))
}

fn filter_expr() -> impl Strategy<Value = String> {
    comparison().prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                ws(),
                prop::sample::select(vec!["and", "or", "AND", "xor", ""]),
                ws(),
                inner.clone()
            )
                .prop_map(|(a, w1, j, w2, b)| format!("{a}{w1}{j}{w2}{b}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.clone().prop_map(|e| format!("not {e}")),
            inner.prop_map(|e| format!("(({e}")),
        ]
    })
}

const FILTER_CHARS: &[char] = &[
    '(', ')', '\'', ' ', '%', '&', '=', '+', '$', '0', 'Z', ':', '-', 'T',
];

fn edits() -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    palisade_fuzzkit::edits(FILTER_CHARS)
}

fn mutate(s: String, e: Vec<(usize, u8, char)>) -> String {
    palisade_fuzzkit::mutate(&s, &e)
}

fn count_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0i64..=150).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["-1", "", "1.5", "99999999999999999999", "0x10", "+5", " 5", "1e2", "٣"]).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn query_string() -> impl Strategy<Value = String> {
    (
        prop::option::of((filter_expr(), edits(), prop::bool::ANY)),
        prop::option::of(count_value()),
        prop::option::of(count_value()),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "$filter", "$top", "$skip", "$orderby", "$expand", "x", "%24top", "$FILTER", "",
                ]),
                "[^&]{0,8}",
            ),
            0..3,
        ),
    )
        .prop_map(|(filter, top, skip, extra)| {
            let mut parts = Vec::new();
            if let Some((f, e, encode)) = filter {
                let f = mutate(f, e);
                let f = if encode {
                    f.bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() {
                                (b as char).to_string()
                            } else {
                                format!("%{b:02X}")
                            }
                        })
                        .collect()
                } else {
                    f.replace('&', "%26").replace('#', "%23")
                };
                parts.push(format!("$filter={f}"));
            }
            if let Some(t) = top {
                parts.push(format!("$top={t}"));
            }
            if let Some(s) = skip {
                parts.push(format!("$skip={s}"));
            }
            for (k, v) in extra {
                parts.push(format!("{k}={v}"));
            }
            parts.join("&")
        })
}

const WORDS: &[&str] = &[
    "Active",
    "Resolved",
    "Redirected",
    "InProgress",
    "New",
    "Unknown",
    "FalsePositive",
    "TruePositive",
    "InformationalExpectedActivity",
    "MultiStagedAttack",
    "Malware",
    "NotAvailable",
    "Other",
    "Apt",
    "SecurityTesting",
    "UnwantedSoftware",
    "active",
    "secop@contoso.com",
    "",
    " ",
];
const FIELDS: &[&str] = &[
    "status",
    "assignedTo",
    "classification",
    "determination",
    "tags",
    "comment",
    "Query",
];

fn json_value() -> impl Strategy<Value = Value> {
    palisade_fuzzkit::json_value(WORDS, FIELDS)
}

fn patch_body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop::sample::select(vec![
        "status",
        "assignedTo",
        "classification",
        "determination",
        "tags",
        "comment",
        "Status",
        "severity",
        "id",
        "incidentId",
        "redirectIncidentId",
        "comments",
    ]);
    (
        prop::collection::btree_map(field, json_value(), 0..6),
        prop::option::weighted(0.2, byte_noise()),
    )
        .prop_map(|(fields, noise)| {
            let bytes = serde_json::to_vec(&Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ))
            .unwrap_or_default();
            match noise {
                Some(n) => add_noise(bytes, &n),
                None => bytes,
            }
        })
}

// ---------- pure parser targets ----------

#[test]
fn fuzz_odata_query_options() {
    fuzz("odata-query", 3_000, query_string(), |raw| {
        match parse_list_query(Some(&raw)) {
            Ok(q) => {
                prop_assert!((0..=100).contains(&q.top), "top {} from {raw:?}", q.top);
                prop_assert!(q.skip >= 0, "skip {} from {raw:?}", q.skip);
            }
            Err(e) => prop_assert!(!e.0.is_empty()),
        }
        Ok(())
    });
}

#[test]
fn fuzz_odata_raw_bytes() {
    fuzz("odata-raw", 3_000, "\\PC{0,64}", |raw| {
        let _ = parse_list_query(Some(&raw));
        let _ = parse_datetime(&raw);
        Ok(())
    });
}

#[test]
fn fuzz_datetime_literals() {
    fuzz("odata-datetime", 3_000, (datetime(), edits()), |(d, e)| {
        let d = mutate(d, e);
        if let Some(t) = parse_datetime(&d) {
            // Whatever parses is a real instant that survives formatting.
            prop_assert!(t.year().abs() <= 9999, "{d:?} -> {t}");
        }
        Ok(())
    });
}

#[test]
fn fuzz_patch_bodies() {
    fuzz("patch-body", 3_000, patch_body(), |body| {
        let _ = parse_patch(&body);
        Ok(())
    });
}

// ---------- whole-router targets ----------

/// A hunting engine that answers every query with its length: the target here is the
/// request body and the authorization in front of it, not the KQL engine (fuzzed with the
/// hunting crates).
struct EchoEngine;

impl HuntingService for EchoEngine {
    fn run<'a>(
        &'a self,
        _scope: &'a HuntScope,
        query: &'a str,
        _now: time::OffsetDateTime,
    ) -> HuntingFuture<'a> {
        Box::pin(async move {
            let mut row = serde_json::Map::new();
            row.insert("Length".into(), json!(query.len()));
            Ok(HuntingOutput {
                stats: HuntingStats::default(),
                schema: vec![HuntingColumn {
                    name: "Length".into(),
                    ty: KqlType::Long,
                }],
                results: vec![row],
                visualization: None,
            })
        })
    }
}

struct Rig {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    harness: Harness,
    reader: String,
    writer: String,
    hunter: String,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let harness = rt.block_on(harness_with(QuotaConfig::disabled()));
        let state = DefenderState::new(
            harness.store.clone(),
            Arc::new(harness.clock.clone()),
            harness.keys.clone(),
        )
        .with_quotas(QuotaConfig::disabled())
        .with_hunting(Arc::new(EchoEngine));
        let router = palisade_defender::router(state);
        let reader = harness.reader(TENANT_A);
        let writer = harness.writer(TENANT_A);
        let hunter = harness.app_token(TENANT_A, &["AdvancedHunting.Read.All"]);
        Rig {
            rt,
            router,
            harness,
            reader,
            writer,
            hunter,
        }
    })
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    json: Value,
}

/// Sends one request through the router; `None` when the request cannot exist on the wire
/// (a header value with control bytes, say), which no client could send.
fn send(
    method: Method,
    uri: &str,
    auth: Option<&str>,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> Option<Answer> {
    let r = rig();
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "api.security.microsoft.com");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let req = req.body(Body::from(body)).ok()?;
    Some(r.rt.block_on(async {
        let resp = r.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Answer {
            status,
            challenge,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }))
}

/// Every non-2xx answer is the Defender error JSON with a code and a message.
fn error_shape(a: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(
        a.status != StatusCode::INTERNAL_SERVER_ERROR,
        "500: {}",
        a.json
    );
    if !a.status.is_success() {
        prop_assert!(
            a.json["error"]["code"].is_string(),
            "{} {}",
            a.status,
            a.json
        );
        prop_assert!(a.json["error"]["message"].is_string(), "{}", a.json);
    }
    if a.status == StatusCode::UNAUTHORIZED {
        prop_assert!(a
            .challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer ")));
    }
    Ok(())
}

/// Percent-encodes what `http::Uri` refuses, so the request reaches the router.
fn uri_safe(q: &str) -> String {
    q.chars()
        .map(|c| {
            if c.is_ascii_graphic()
                && !matches!(
                    c,
                    '#' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'
                )
            {
                c.to_string()
            } else {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

#[test]
fn fuzz_incident_list_requests() {
    fuzz_router("router-list", 500, query_string(), |q| {
        let Some(a) = send(
            Method::GET,
            &format!("/api/incidents?{}", uri_safe(&q)),
            Some(&format!("Bearer {}", rig().reader)),
            None,
            Vec::new(),
        ) else {
            return Ok(());
        };
        error_shape(&a)?;
        prop_assert!(
            matches!(a.status.as_u16(), 200 | 400),
            "{} for {q:?}: {}",
            a.status,
            a.json
        );
        if a.status == StatusCode::OK {
            let n = a.json["value"].as_array().map(Vec::len).unwrap_or(999);
            prop_assert!(n <= 100);
        }
        Ok(())
    });
}

#[test]
fn fuzz_incident_patch_requests() {
    let id = prop_oneof![
        6 => (1i64..=COUNT_A as i64 + 5).prop_map(|n| n.to_string()),
        1 => "[^/?#]{1,12}",
        1 => Just("99999999999999999999".to_string()),
    ];
    fuzz_router(
        "router-patch",
        300,
        (id, patch_body(), prop::bool::weighted(0.9)),
        |(id, body, json_ctype)| {
            let uri = format!("/api/incidents/{}", uri_safe(&id));
            let read = || {
                send(
                    Method::GET,
                    &uri,
                    Some(&format!("Bearer {}", rig().reader)),
                    None,
                    Vec::new(),
                )
            };
            let Some(before) = read() else {
                return Ok(());
            };
            let a = send(
                Method::PATCH,
                &uri,
                Some(&format!("Bearer {}", rig().writer)),
                json_ctype.then_some("application/json"),
                body.clone(),
            )
            .expect("the same URI was sendable");
            error_shape(&a)?;
            prop_assert!(
                matches!(a.status.as_u16(), 200 | 400 | 404 | 415),
                "{} for {}: {}",
                a.status,
                String::from_utf8_lossy(&body),
                a.json
            );
            if a.status != StatusCode::OK && before.status == StatusCode::OK {
                // A refused update changes nothing stored.
                let after = read().expect("sendable");
                prop_assert_eq!(&before.json, &after.json);
            }
            Ok(())
        },
    );
    let _ = &rig().harness;
}

#[test]
fn fuzz_hunting_bodies() {
    let body = prop_oneof![
        3 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        3 => (prop::sample::select(vec!["Query", "query", "QUERY", "Query ", "Timespan"]), json_value())
            .prop_map(|(k, v)| serde_json::to_vec(&json!({ k: v })).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ];
    let ctype = prop::sample::select(vec![
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        Some("APPLICATION/JSON"),
        None,
    ]);
    fuzz_router("router-hunting", 600, (body, ctype), |(body, ctype)| {
        let a = send(
            Method::POST,
            "/api/advancedhunting/run",
            Some(&format!("Bearer {}", rig().hunter)),
            ctype,
            body.clone(),
        )
        .expect("a well-formed request");
        error_shape(&a)?;
        prop_assert!(
            matches!(a.status.as_u16(), 200 | 400 | 415),
            "{}: {}",
            a.status,
            a.json
        );
        if a.status == StatusCode::OK {
            // Only a JSON object whose one member is a non-blank string "Query" runs.
            let v: Value = serde_json::from_slice(&body).expect("ran, so it was JSON");
            let q = v["Query"].as_str().expect("a string Query");
            prop_assert!(!q.trim().is_empty());
            prop_assert_eq!(v.as_object().map(|o| o.len()), Some(1));
            prop_assert_eq!(&a.json["Results"][0]["Length"], &json!(q.len()));
        }
        Ok(())
    });
}

/// The JWS header fields a validator reads, with hostile values.
fn jws_header() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            json!("RS256"),
            json!("rs256"),
            json!("none"),
            json!("HS256"),
            json!("RS512"),
            json!("PS256"),
            json!("ES256"),
            json!(""),
            json!(null),
            json!(1),
            json!(["RS256"]),
        ]),
        prop::sample::select(vec![
            json!(KID),
            json!("other"),
            json!(""),
            json!(null),
            json!(7),
            json!("../../etc/passwd"),
        ]),
        prop::option::weighted(0.1, json_value()),
        prop::option::of(prop::sample::select(vec![
            json!("JWT"),
            json!("at+jwt"),
            json!(1),
        ])),
        prop::option::weighted(0.1, json_value()),
    )
        .prop_map(|(alg, kid, crit, typ, jwk)| {
            let mut h = json!({"alg": alg, "kid": kid});
            if let Some(c) = crit {
                h["crit"] = c;
            }
            if let Some(t) = typ {
                h["typ"] = t;
            }
            if let Some(j) = jwk {
                h["jwk"] = j;
            }
            h
        })
}

/// Claims: the standard app claims with some replaced by hostile values or removed.
fn claims_edits() -> impl Strategy<Value = Vec<(&'static str, Option<Value>)>> {
    let name = prop::sample::select(vec![
        "aud", "iss", "tid", "exp", "nbf", "iat", "roles", "scp", "appid", "azp", "oid", "upn",
        "ver",
    ]);
    let value = prop_oneof![
        3 => json_value(),
        1 => prop::sample::select(vec![
            json!(TENANT_B), json!("https://sts.windows.net/0b0b0b0b-2222-4222-8222-bbbbbbbbbbbb/"),
            json!(["https://api.security.microsoft.com"]), json!("https://graph.microsoft.com"),
            json!(["Incident.ReadWrite.All"]), json!(1e300), json!(-1), json!(i64::MAX), json!("9999999999"),
            json!(Value::Null),
        ]),
    ];
    prop::collection::vec((name, prop::option::weighted(0.8, value)), 0..4)
}

#[test]
fn fuzz_bearer_tokens() {
    let strategy = (
        jws_header(),
        claims_edits(),
        prop_oneof![
            // Signed for real by the published key (slow: a few percent of the cases).
            1 => Just(0u8),
            // Signed by a key that is not published, under the published kid.
            1 => Just(1u8),
            // A random or empty signature.
            30 => Just(2u8),
        ],
        prop::collection::vec(any::<u8>(), 0..300),
        prop_oneof![
            10 => Just(None),
            1 => edits().prop_map(Some),
        ],
    );
    fuzz_router(
        "router-jwt",
        1_500,
        strategy,
        |(header, edits, signer, sig, mutation)| {
            let r = rig();
            let mut claims = r.harness.app_claims(TENANT_A, &["Incident.Read.All"]);
            for (name, value) in &edits {
                match value {
                    Some(v) => claims[*name] = v.clone(),
                    None => {
                        claims.as_object_mut().unwrap().remove(*name);
                    }
                }
            }
            let h64 = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                header.to_string(),
            );
            let c64 = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                claims.to_string(),
            );
            let input = format!("{h64}.{c64}");
            let signature = match signer {
                0 | 1 => {
                    let key = if signer == 0 {
                        &key().encoding
                    } else {
                        &other_key().encoding
                    };
                    jsonwebtoken::crypto::sign(
                        input.as_bytes(),
                        key,
                        jsonwebtoken::Algorithm::RS256,
                    )
                    .expect("sign")
                }
                _ => {
                    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &sig)
                }
            };
            let mut token = format!("{input}.{signature}");
            let mutated = mutation.is_some();
            if let Some(e) = mutation {
                token = mutate(token, e);
            }
            let Some(a) = send(
                Method::GET,
                "/api/incidents?$top=1",
                Some(&format!("Bearer {token}")),
                None,
                Vec::new(),
            ) else {
                return Ok(());
            };
            error_shape(&a)?;
            prop_assert!(
                matches!(a.status.as_u16(), 200 | 400 | 401 | 403),
                "{}: {}",
                a.status,
                a.json
            );
            if a.status == StatusCode::OK {
                prop_assert!(
                    signer == 0 && !mutated,
                    "accepted a forged or altered token: {token}"
                );
                prop_assert_eq!(&header["alg"], &json!("RS256"));
                prop_assert_eq!(&header["kid"], &json!(KID));
                prop_assert!(header.get("crit").is_none(), "accepted a token with crit");
                prop_assert_eq!(&claims["tid"], &json!(TENANT_A));
            }
            Ok(())
        },
    );
}

// ---------- regressions found by the fuzzers ----------
