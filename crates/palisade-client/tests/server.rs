//! End-to-end tests against a small local axum server playing the Entra token endpoint and
//! the Defender API.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use palisade_client::{
    ClientSecretCredential, CredentialError, DefenderClient, Error, IncidentFilter, IncidentQuery,
    IncidentStatus, IncidentUpdate, RetryPolicy, Sleeper, TokenCache, TokenCredential,
    TokenEndpointVersion,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

const RESOURCE: &str = "https://api.security.microsoft.com";

#[derive(Clone, Copy, PartialEq)]
enum Paging {
    NextLink,
    Skip,
}

struct Scripted {
    status: u16,
    retry_after: Option<&'static str>,
    body: Value,
}

struct Server {
    base: String,
    token_requests: AtomicUsize,
    token_forms: Mutex<Vec<HashMap<String, String>>>,
    token_delay: Mutex<Duration>,
    issued: Mutex<HashSet<String>>,
    revoked: Mutex<HashSet<String>>,
    incident_count: Mutex<i64>,
    paging: Mutex<Paging>,
    api_requests: AtomicUsize,
    api_queries: Mutex<Vec<HashMap<String, String>>>,
    api_bodies: Mutex<Vec<Value>>,
    script: Mutex<VecDeque<Scripted>>,
    link_base: Mutex<Option<String>>,
    token_script: Mutex<VecDeque<(u16, Option<&'static str>)>>,
}

type S = Arc<Server>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn start() -> S {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = Arc::new(Server {
        base: format!("http://{addr}"),
        token_requests: AtomicUsize::new(0),
        token_forms: Mutex::new(Vec::new()),
        token_delay: Mutex::new(Duration::ZERO),
        issued: Mutex::new(HashSet::new()),
        revoked: Mutex::new(HashSet::new()),
        incident_count: Mutex::new(250),
        paging: Mutex::new(Paging::NextLink),
        api_requests: AtomicUsize::new(0),
        api_queries: Mutex::new(Vec::new()),
        api_bodies: Mutex::new(Vec::new()),
        script: Mutex::new(VecDeque::new()),
        link_base: Mutex::new(None),
        token_script: Mutex::new(VecDeque::new()),
    });
    let app = Router::new()
        .route("/{tenant}/oauth2/token", post(token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
        .route("/api/incidents", get(list_incidents))
        .route(
            "/api/incidents/{id}",
            get(get_incident).patch(patch_incident),
        )
        .route("/api/advancedhunting/run", post(hunt))
        .with_state(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    state
}

fn entra_error(status: StatusCode, error: &str, code: u32, msg: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {msg}\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2024-01-09 02:02:12Z"),
        "error_codes": [code],
        "timestamp": "2024-01-09 02:02:12Z",
        "trace_id": "0000aaaa-11bb-cccc-dd33-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

/// Common token logic; returns the new token or an error response.
async fn issue(s: &S, form: &HashMap<String, String>) -> Result<String, Response> {
    let n = s.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    lock(&s.token_forms).push(form.clone());
    let delay = *lock(&s.token_delay);
    tokio::time::sleep(delay).await;
    if let Some((status, retry_after)) = lock(&s.token_script).pop_front() {
        let mut resp = if status == 503 {
            entra_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            )
        } else {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, "<html>upstream error</html>").into_response()
        };
        if let Some(ra) = retry_after {
            resp.headers_mut()
                .insert("retry-after", ra.parse().expect("header value"));
        }
        return Err(resp);
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ));
    }
    if form.get("client_secret").map(String::as_str) != Some("good-secret") {
        return Err(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        ));
    }
    let token = format!("token-{n}");
    lock(&s.issued).insert(token.clone());
    Ok(token)
}

async fn token_v1(
    State(s): State<S>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if form.get("resource").map(String::as_str) != Some(RESOURCE) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            "The resource principal was not found.",
        );
    }
    match issue(&s, &form).await {
        Ok(token) => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            Json(json!({
                "token_type": "Bearer",
                "expires_in": "3599",
                "ext_expires_in": "3599",
                "expires_on": (now + 3599).to_string(),
                "not_before": now.to_string(),
                "resource": RESOURCE,
                "access_token": token,
            }))
            .into_response()
        }
        Err(r) => r,
    }
}

async fn token_v2(
    State(s): State<S>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let want = format!("{RESOURCE}/.default");
    if form.get("scope") != Some(&want) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    match issue(&s, &form).await {
        Ok(token) => Json(json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }))
        .into_response(),
        Err(r) => r,
    }
}

fn defender_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "target": "43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}})),
    )
        .into_response()
}

/// Bearer check plus scripted failures; `None` means "go on".
fn gate(s: &S, headers: &HeaderMap) -> Option<Response> {
    s.api_requests.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !lock(&s.issued).contains(token) || lock(&s.revoked).contains(token) {
        return Some(defender_error(
            401,
            "Unauthorized",
            "Invalid Authorization payload.",
        ));
    }
    let scripted = lock(&s.script).pop_front()?;
    let status = StatusCode::from_u16(scripted.status).unwrap_or(StatusCode::IM_A_TEAPOT);
    let mut resp = (status, Json(scripted.body)).into_response();
    if let Some(ra) = scripted.retry_after {
        resp.headers_mut()
            .insert("retry-after", ra.parse().expect("header value"));
    }
    Some(resp)
}

fn incident(id: i64) -> Value {
    json!({
        "incidentId": id,
        "redirectIncidentId": null,
        "incidentName": format!("Incident {id}"),
        "createdTime": "2020-09-06T14:46:57.0733333Z",
        "lastUpdateTime": "2020-09-06T14:46:57.29Z",
        "assignedTo": null,
        "classification": "Unknown",
        "determination": "NotAvailable",
        "status": "Active",
        "severity": "Medium",
        "tags": [],
        "comments": [],
        "alerts": []
    })
}

async fn list_incidents(
    State(s): State<S>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    lock(&s.api_queries).push(q.clone());
    let top: i64 = q.get("$top").and_then(|v| v.parse().ok()).unwrap_or(100);
    if top > 100 {
        return defender_error(400, "BadRequest", "Max page size is 100");
    }
    let skip: i64 = q.get("$skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let total = *lock(&s.incident_count);
    // Newest first, like the real service.
    let ids: Vec<i64> = (1..=total)
        .rev()
        .skip(skip as usize)
        .take(top as usize)
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/api/$metadata#Incidents", s.base),
        "value": ids.iter().map(|id| incident(*id)).collect::<Vec<_>>(),
    });
    if *lock(&s.paging) == Paging::NextLink && skip + top < total {
        let link_base = lock(&s.link_base).clone().unwrap_or_else(|| s.base.clone());
        let mut link = format!("{link_base}/api/incidents?$top={top}&$skip={}", skip + top);
        if let Some(f) = q.get("$filter") {
            link.push_str(&format!(
                "&$filter={}",
                f.replace(' ', "%20").replace('\'', "%27")
            ));
        }
        body["@odata.nextLink"] = json!(link);
    }
    Json(body).into_response()
}

async fn get_incident(State(s): State<S>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    if id < 1 || id > *lock(&s.incident_count) {
        return defender_error(
            404,
            "ResourceNotFound",
            &format!("Incident {id} was not found"),
        );
    }
    let mut v = incident(id);
    v["@odata.context"] = json!(format!("{}/api/$metadata#Incidents/$entity", s.base));
    Json(v).into_response()
}

async fn patch_incident(
    State(s): State<S>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return defender_error(400, "InvalidRequestBody", "Invalid request body.");
    };
    lock(&s.api_bodies).push(patch.clone());
    let mut v = incident(id);
    for key in [
        "status",
        "assignedTo",
        "classification",
        "determination",
        "tags",
    ] {
        if let Some(x) = patch.get(key) {
            v[key] = x.clone();
        }
    }
    if let Some(c) = patch.get("comment") {
        v["comments"] =
            json!([{"comment": c, "createdBy": "app", "createdTime": "2024-01-01T00:00:00Z"}]);
    }
    Json(v).into_response()
}

async fn hunt(State(s): State<S>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return defender_error(400, "InvalidRequestBody", "Invalid request body.");
    };
    lock(&s.api_bodies).push(req.clone());
    if req.get("Query").and_then(Value::as_str).is_none() {
        return defender_error(400, "InvalidRequestBody", "Request body is incorrect");
    }
    Json(json!({
        "Stats": {"ExecutionTime": 0.25, "resource_usage": {"cpu": {"total cpu": "00:00:00.0156250"}},
                  "dataset_statistics": [{"table_row_count": 1, "table_size": 10}]},
        "Schema": [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "FileName", "Type": "String"}],
        "Results": [{"Timestamp": "2020-08-30T06:38:35.7664356Z", "FileName": "conhost.exe"}]
    }))
    .into_response()
}

fn credential(s: &S, version: TokenEndpointVersion, secret: &str) -> ClientSecretCredential {
    ClientSecretCredential::builder("contoso.onmicrosoft.com", "app-1", secret)
        .authority_host(&s.base)
        .endpoint_version(version)
        .build()
        .expect("credential")
}

/// A sleeper that records requested waits and returns at once.
fn recording_sleeper() -> (Sleeper, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = waits.clone();
    let sleeper = Sleeper::new(move |d| {
        lock(&w).push(d);
        Box::pin(async {})
    });
    (sleeper, waits)
}

fn client(s: &S) -> (DefenderClient, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = recording_sleeper();
    let c = DefenderClient::builder(credential(s, TokenEndpointVersion::V2, "good-secret"))
        .api_base(&s.base)
        .sleeper(sleeper)
        .build()
        .expect("client");
    (c, waits)
}

fn script(s: &S, status: u16, retry_after: Option<&'static str>) {
    let code = if status == 429 {
        "429"
    } else {
        "InternalServerError"
    };
    lock(&s.script).push_back(Scripted {
        status,
        retry_after,
        body: json!({"error": {"code": code, "message": "API calls quota exceeded! maximum allowed 45 per 00:01:00", "target": "t"}}),
    });
}

// ---------------------------------------------------------------- credentials

#[tokio::test]
async fn v1_endpoint_string_numbers() {
    let s = start().await;
    let cred = credential(&s, TokenEndpointVersion::V1, "good-secret");
    let before = OffsetDateTime::now_utc();
    let t = cred.get_token(RESOURCE).await.expect("token");
    assert_eq!(t.token, "token-1");
    let lifetime = t.expires_on - before;
    assert!(lifetime > time::Duration::seconds(3590) && lifetime <= time::Duration::seconds(3600));
    let form = lock(&s.token_forms)[0].clone();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "app-1");
    assert_eq!(form["client_secret"], "good-secret");
    assert_eq!(form["resource"], RESOURCE);
    assert!(!form.contains_key("scope"));
    // A v2-style scope is turned into the v1 resource.
    cred.get_token("https://api.security.microsoft.com/.default")
        .await
        .expect("token from .default scope");
}

#[tokio::test]
async fn v2_endpoint_integer_numbers() {
    let s = start().await;
    let cred = credential(&s, TokenEndpointVersion::V2, "good-secret");
    let before = OffsetDateTime::now_utc();
    let t = cred.get_token(RESOURCE).await.expect("token");
    let lifetime = t.expires_on - before;
    assert!(lifetime > time::Duration::seconds(3590) && lifetime <= time::Duration::seconds(3600));
    let form = lock(&s.token_forms)[0].clone();
    assert_eq!(form["scope"], "https://api.security.microsoft.com/.default");
    assert!(!form.contains_key("resource"));
}

#[tokio::test]
async fn entra_error_is_typed() {
    let s = start().await;
    for version in [TokenEndpointVersion::V1, TokenEndpointVersion::V2] {
        let cred = credential(&s, version, "wrong");
        match cred.get_token(RESOURCE).await {
            Err(CredentialError::Entra(e)) => {
                assert_eq!(e.status, 401);
                assert_eq!(e.error, "invalid_client");
                assert_eq!(e.aadsts_code(), Some(7000215));
                assert!(e
                    .message()
                    .starts_with("AADSTS7000215: Invalid client secret"));
                assert_eq!(
                    e.correlation_id.as_deref(),
                    Some("aaaa0000-bb11-2222-33cc-444444dddddd")
                );
            }
            other => panic!("expected Entra error, got {other:?}"),
        }
    }
    // The error surfaces unchanged through the API client.
    let c = DefenderClient::builder(credential(&s, TokenEndpointVersion::V2, "wrong"))
        .api_base(&s.base)
        .build()
        .expect("client");
    let err = c.get_incident(1).await.expect_err("no token");
    match err {
        Error::Credential(e) => assert_eq!(e.entra().and_then(|e| e.aadsts_code()), Some(7000215)),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn token_cache_single_flight() {
    let s = start().await;
    *lock(&s.token_delay) = Duration::from_millis(200);
    let cache = Arc::new(TokenCache::new(credential(
        &s,
        TokenEndpointVersion::V2,
        "good-secret",
    )));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let c = cache.clone();
            tokio::spawn(async move { c.get_token(RESOURCE).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("token").token, "token-1");
    }
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_cache_refreshes_near_expiry() {
    let s = start().await;
    let offset = Arc::new(Mutex::new(time::Duration::ZERO));
    let o = offset.clone();
    let cache = TokenCache::new(credential(&s, TokenEndpointVersion::V1, "good-secret"))
        .with_clock(move || OffsetDateTime::now_utc() + *lock(&o));
    assert_eq!(cache.get_token(RESOURCE).await.expect("t").token, "token-1");
    *lock(&offset) = time::Duration::minutes(50);
    assert_eq!(cache.get_token(RESOURCE).await.expect("t").token, "token-1");
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 1);
    // 56 minutes in: within 5 minutes of the 3599 s expiry -> one new request.
    *lock(&offset) = time::Duration::minutes(56);
    assert_eq!(cache.get_token(RESOURCE).await.expect("t").token, "token-2");
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn api_calls_share_one_token() {
    let s = start().await;
    *lock(&s.token_delay) = Duration::from_millis(100);
    let (c, _) = client(&s);
    let calls: Vec<_> = (1..=20)
        .map(|id| {
            let c = c.clone();
            tokio::spawn(async move { c.get_incident(id).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("incident");
    }
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 1);
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 20);
}

// ---------------------------------------------------------------- paging

async fn collect_ids(c: &DefenderClient, q: IncidentQuery) -> Vec<i64> {
    c.list_incidents(q)
        .map(|r| r.expect("incident").incident_id)
        .collect()
        .await
}

fn assert_complete(ids: &[i64], total: i64) {
    let expected: Vec<i64> = (1..=total).rev().collect();
    assert_eq!(
        ids,
        expected.as_slice(),
        "each incident exactly once, in order"
    );
}

#[tokio::test]
async fn paging_next_link_style() {
    let s = start().await;
    let (c, _) = client(&s);
    let ids = collect_ids(&c, IncidentQuery::new()).await;
    assert_complete(&ids, 250);
    let queries = lock(&s.api_queries).clone();
    let skips: Vec<_> = queries.iter().map(|q| q.get("$skip").cloned()).collect();
    assert_eq!(skips, vec![None, Some("100".into()), Some("200".into())]);
}

#[tokio::test]
async fn paging_skip_style() {
    let s = start().await;
    *lock(&s.paging) = Paging::Skip;
    let (c, _) = client(&s);
    let ids = collect_ids(&c, IncidentQuery::new().page_size(40)).await;
    assert_complete(&ids, 250);
    let queries = lock(&s.api_queries).clone();
    assert_eq!(queries.len(), 7, "6 full pages of 40 and one of 10");
    assert!(queries.iter().all(|q| q["$top"] == "40"));
    assert_eq!(queries[6]["$skip"], "240");
}

#[tokio::test]
async fn paging_skip_style_exact_multiple() {
    let s = start().await;
    *lock(&s.paging) = Paging::Skip;
    *lock(&s.incident_count) = 200;
    let (c, _) = client(&s);
    let ids = collect_ids(&c, IncidentQuery::new()).await;
    assert_complete(&ids, 200);
    // The last request returns an empty page and ends the stream.
    assert_eq!(lock(&s.api_queries).len(), 3);
}

#[tokio::test]
async fn paging_with_filter_skip_and_limit() {
    let s = start().await;
    let (c, _) = client(&s);
    let since = time::macros::datetime!(2021-01-26 01:00:37.8404534 UTC);
    let q = IncidentQuery::new()
        .filter(
            IncidentFilter::last_update_time_ge(since)
                .and(IncidentFilter::status_eq(IncidentStatus::Active)),
        )
        .page_size(50)
        .skip(10)
        .limit(120);
    let ids = collect_ids(&c, q).await;
    let expected: Vec<i64> = (1..=240).rev().take(120).collect();
    assert_eq!(ids, expected);
    let queries = lock(&s.api_queries).clone();
    assert_eq!(queries.len(), 3);
    for q in &queries {
        assert_eq!(
            q["$filter"],
            "lastUpdateTime ge 2021-01-26T01:00:37.8404534Z and status eq 'Active'"
        );
    }
}

#[tokio::test]
async fn paging_error_ends_stream() {
    let s = start().await;
    let (c, _) = client(&s);
    lock(&s.script).push_back(Scripted {
        status: 400,
        retry_after: None,
        body: json!({"error": {"code": "ODataError", "message": "Invalid OData URI query.", "target": "t"}}),
    });
    let items: Vec<_> = c.list_incidents(IncidentQuery::new()).collect().await;
    assert_eq!(items.len(), 1);
    match &items[0] {
        Err(Error::Api(e)) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.code.as_deref(), Some("ODataError"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn retries_429_with_retry_after_then_backoff() {
    let s = start().await;
    let (c, waits) = client(&s);
    script(&s, 429, Some("1"));
    script(&s, 503, None);
    let inc = c.get_incident(7).await.expect("succeeds on third attempt");
    assert_eq!(inc.incident_id, 7);
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        lock(&waits).clone(),
        vec![Duration::from_secs(1), Duration::from_secs(2)]
    );
}

#[tokio::test]
async fn retry_after_is_really_waited_for() {
    let s = start().await;
    let c = DefenderClient::builder(credential(&s, TokenEndpointVersion::V2, "good-secret"))
        .api_base(&s.base)
        .build()
        .expect("client");
    script(&s, 429, Some("1"));
    let started = std::time::Instant::now();
    c.hunt("DeviceInfo | take 1").await.expect("hunt");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let s = start().await;
    let (c, waits) = client(&s);
    for _ in 0..6 {
        script(&s, 503, None);
    }
    let err = c.get_incident(1).await.expect_err("gives up");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        s.api_requests.load(Ordering::SeqCst),
        4,
        "1 try + 3 retries"
    );
    assert_eq!(lock(&waits).len(), 3);
}

#[tokio::test]
async fn comment_updates_are_not_replayed_after_a_server_error() {
    let s = start().await;
    let (c, waits) = client(&s);
    // A 5xx may come after the comment was stored: sending it again could add it twice.
    script(&s, 500, None);
    let add = IncidentUpdate::new().comment("seen");
    let err = c.update_incident(3, &add).await.expect_err("not replayed");
    assert_eq!(err.status(), Some(500));
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 1);
    // A 429 is rejected before anything is done: that one is retried.
    script(&s, 429, Some("1"));
    let inc = c.update_incident(3, &add).await.expect("retried after 429");
    assert_eq!(inc.comments.len(), 1);
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 3);
    // Nothing was waited for after the 500; the 429's Retry-After was.
    assert_eq!(lock(&waits).clone(), vec![Duration::from_secs(1)]);
    // Setting fields is idempotent and is retried after a 5xx.
    script(&s, 503, None);
    let set = IncidentUpdate::new().status(IncidentStatus::Resolved);
    c.update_incident(3, &set).await.expect("retried after 503");
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn gives_up_when_retry_after_exceeds_budget() {
    let s = start().await;
    let (c, waits) = client(&s);
    script(&s, 429, Some("120"));
    let err = c.get_incident(1).await.expect_err("throttled");
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    let api = err.api().expect("api error");
    assert_eq!(api.code.as_deref(), Some("429"));
    assert!(api
        .message
        .as_deref()
        .is_some_and(|m| m.contains("quota exceeded")));
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 1);
    assert!(lock(&waits).is_empty());

    // Total budget: 30 + 30 + 30 > 60 -> two waits, then give up.
    for _ in 0..4 {
        script(&s, 429, Some("30"));
    }
    let err = c.get_incident(1).await.expect_err("throttled");
    assert!(err.is_throttled());
    assert_eq!(
        lock(&waits).clone(),
        vec![Duration::from_secs(30), Duration::from_secs(30)]
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let s = start().await;
    let (c, waits) = client(&s);
    let err = c.get_incident(999_999).await.expect_err("404");
    assert!(err.is_not_found());
    let api = err.api().expect("api error");
    assert_eq!(api.code.as_deref(), Some("ResourceNotFound"));
    assert_eq!(
        api.message.as_deref(),
        Some("Incident 999999 was not found")
    );
    assert_eq!(
        api.target.as_deref(),
        Some("43f4cb08-8fac-4b65-9db1-745c2ae65f3a")
    );
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 1);
    assert!(lock(&waits).is_empty());
}

#[tokio::test]
async fn unauthorized_refreshes_token_once() {
    let s = start().await;
    let (c, _) = client(&s);
    c.get_incident(1).await.expect("first call");
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 1);
    // The server stops accepting the cached token.
    lock(&s.revoked).insert("token-1".into());
    c.get_incident(2).await.expect("recovers with a new token");
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 2);
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 3);

    // A 401 that persists is returned after one refresh, not retried forever.
    lock(&s.script).push_back(Scripted {
        status: 401,
        retry_after: None,
        body: json!({"error": {"code": "Unauthorized", "message": "Invalid Authorization payload.", "target": "t"}}),
    });
    lock(&s.script).push_back(Scripted {
        status: 401,
        retry_after: None,
        body: json!({"error": {"code": "Unauthorized", "message": "Invalid Authorization payload.", "target": "t"}}),
    });
    let err = c.get_incident(3).await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.api().and_then(|e| e.code.as_deref()),
        Some("Unauthorized")
    );
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 5);
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------- update and hunting

#[tokio::test]
async fn update_sends_only_set_fields() {
    let s = start().await;
    let (c, _) = client(&s);
    let update = IncidentUpdate::new()
        .status(IncidentStatus::Resolved)
        .assigned_to("secop2@contoso.com")
        .comment("pen testing");
    let inc = c.update_incident(42, &update).await.expect("patched");
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.assigned_to.as_deref(), Some("secop2@contoso.com"));
    assert_eq!(inc.comments[0].comment.as_deref(), Some("pen testing"));
    let body = lock(&s.api_bodies)[0].clone();
    assert_eq!(
        body,
        json!({"status": "Resolved", "assignedTo": "secop2@contoso.com", "comment": "pen testing"})
    );
}

#[tokio::test]
async fn hunting_round_trip() {
    let s = start().await;
    let (c, _) = client(&s);
    let r = c
        .hunt(
            "DeviceProcessEvents | where InitiatingProcessFileName =~ \"powershell.exe\" | limit 2",
        )
        .await
        .expect("hunt");
    assert_eq!(r.schema.len(), 2);
    assert_eq!(r.schema[1].name, "FileName");
    assert_eq!(r.schema[1].r#type, "String");
    assert_eq!(r.results[0]["FileName"], "conhost.exe");
    assert_eq!(r.stats["ExecutionTime"], 0.25);
    let body = lock(&s.api_bodies)[0].clone();
    assert_eq!(
        body,
        json!({"Query": "DeviceProcessEvents | where InitiatingProcessFileName =~ \"powershell.exe\" | limit 2"})
    );
}

#[tokio::test]
async fn foreign_next_link_is_refused() {
    let s = start().await;
    let (c, _) = client(&s);
    *lock(&s.link_base) = Some("https://attacker.example".into());
    let items: Vec<_> = c.list_incidents(IncidentQuery::new()).collect().await;
    assert_eq!(items.len(), 101, "first page, then the error");
    assert!(items[..100].iter().all(Result::is_ok));
    assert!(matches!(items[100], Err(Error::ForeignNextLink(_))));
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn relative_next_link_is_followed() {
    let s = start().await;
    let (c, _) = client(&s);
    *lock(&s.link_base) = Some(String::new());
    let ids = collect_ids(&c, IncidentQuery::new()).await;
    assert_complete(&ids, 250);
}

#[tokio::test]
async fn custom_retry_policy() {
    let s = start().await;
    let (sleeper, waits) = recording_sleeper();
    let c = DefenderClient::builder(credential(&s, TokenEndpointVersion::V1, "good-secret"))
        .api_base(&s.base)
        .retry_policy(RetryPolicy::none())
        .sleeper(sleeper)
        .build()
        .expect("client");
    script(&s, 429, Some("1"));
    let err = c.get_incident(1).await.expect_err("no retries");
    assert!(err.is_throttled());
    assert_eq!(s.api_requests.load(Ordering::SeqCst), 1);
    assert!(lock(&waits).is_empty());
}

#[tokio::test]
async fn token_endpoint_transient_errors_are_retried() {
    let s = start().await;
    let (sleeper, waits) = recording_sleeper();
    let cred = ClientSecretCredential::builder("contoso.onmicrosoft.com", "app-1", "good-secret")
        .authority_host(&s.base)
        .sleeper(sleeper)
        .build()
        .expect("credential");
    lock(&s.token_script).extend([(503, Some("2")), (502, None)]);
    let t = cred.get_token(RESOURCE).await.expect("token after retries");
    assert_eq!(t.token, "token-3");
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 3);
    assert_eq!(
        lock(&waits).clone(),
        vec![Duration::from_secs(2), Duration::from_secs(2)]
    );

    // Persistent outage: the Entra error is returned after the retries.
    lock(&s.token_script).extend([(503, None); 4]);
    match cred.get_token(RESOURCE).await {
        Err(CredentialError::Entra(e)) => {
            assert_eq!(e.status, 503);
            assert_eq!(e.error, "temporarily_unavailable");
            assert_eq!(e.aadsts_code(), Some(90033));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 7);

    // A bad secret is not retried.
    let bad = credential(&s, TokenEndpointVersion::V2, "wrong");
    assert!(bad.get_token(RESOURCE).await.is_err());
    assert_eq!(s.token_requests.load(Ordering::SeqCst), 8);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (sleeper, waits) = recording_sleeper();
    let cred = ClientSecretCredential::builder("t", "app-1", "good-secret")
        .authority_host(format!("http://127.0.0.1:{port}"))
        .sleeper(sleeper)
        .build()
        .expect("credential");
    match cred.get_token(RESOURCE).await {
        Err(e @ CredentialError::Http(_)) => assert!(e.is_transient()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(lock(&waits).len(), 3);
}
