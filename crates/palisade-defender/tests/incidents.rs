//! The incidents API through the router: shapes, paging, filters, get, patch, isolation.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use palisade_clock::{Clock, SharedClock};
use palisade_defender::seed_demo_incidents;
use palisade_store::format_incident_time;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;

async fn list_all(h: &Harness, first: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    let mut pages = 0;
    while let Some(uri) = next {
        let r = h.get(&uri, token).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.json);
        out.extend(r.json["value"].as_array().expect("value").iter().cloned());
        next = r.json["@odata.nextLink"].as_str().map(path_of);
        pages += 1;
        assert!(pages < 1000, "paging does not terminate");
    }
    out
}

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i["incidentId"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn list_shape_and_every_field() {
    let h = harness().await;
    let r = h.get("/api/incidents", &h.reader(TENANT_A)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json["@odata.context"],
        "https://api.security.microsoft.com/api/$metadata#Incidents"
    );
    let value = r.json["value"].as_array().expect("value");
    assert_eq!(value.len(), 100, "default page size");
    let next = r.json["@odata.nextLink"].as_str().expect("nextLink");
    assert_eq!(
        next,
        "https://api.security.microsoft.com/api/incidents?$skip=100"
    );
    let inc = value[0].as_object().expect("incident");
    for key in [
        "incidentId",
        "redirectIncidentId",
        "incidentName",
        "createdTime",
        "lastUpdateTime",
        "assignedTo",
        "classification",
        "determination",
        "detectionSource",
        "status",
        "severity",
        "tags",
        "comments",
        "alerts",
        "entities",
    ] {
        assert!(inc.contains_key(key), "incident.{key}");
    }
    let mut seen_types = HashSet::new();
    let mut service_sources = HashSet::new();
    for inc in value {
        assert!(is_wire_time(inc["createdTime"].as_str().expect("t")));
        assert!(is_wire_time(inc["lastUpdateTime"].as_str().expect("t")));
        assert!(inc["lastUpdateTime"].as_str() >= inc["createdTime"].as_str());
        let alerts = inc["alerts"].as_array().expect("alerts");
        assert!(!alerts.is_empty());
        for a in alerts {
            let a = a.as_object().expect("alert");
            for key in [
                "alertId",
                "incidentId",
                "serviceSource",
                "creationTime",
                "lastUpdatedTime",
                "resolvedTime",
                "firstActivity",
                "lastActivity",
                "title",
                "description",
                "category",
                "status",
                "severity",
                "investigationId",
                "investigationState",
                "classification",
                "determination",
                "detectionSource",
                "detectorId",
                "assignedTo",
                "actorName",
                "threatFamilyName",
                "mitreTechniques",
                "devices",
                "entities",
            ] {
                assert!(a.contains_key(key), "alert.{key}");
            }
            assert_eq!(a["incidentId"], inc["incidentId"]);
            service_sources.insert(a["serviceSource"].as_str().expect("s").to_string());
            for d in a["devices"].as_array().expect("devices") {
                assert_eq!(d["mdatpDeviceId"].as_str().expect("id").len(), 40);
                for key in [
                    "aadDeviceId",
                    "deviceDnsName",
                    "osPlatform",
                    "version",
                    "osProcessor",
                    "osBuild",
                    "healthStatus",
                    "riskScore",
                    "rbacGroupName",
                    "rbacGroupId",
                    "firstSeen",
                    "tags",
                    "defenderAvStatus",
                    "onboardingStatus",
                    "vmMetadata",
                ] {
                    assert!(
                        d.as_object().expect("device").contains_key(key),
                        "device.{key}"
                    );
                }
            }
            for e in a["entities"].as_array().expect("entities") {
                let e = e.as_object().expect("entity");
                assert_eq!(e.len(), 31, "every entity key present");
                seen_types.insert(e["entityType"].as_str().expect("type").to_string());
            }
        }
    }
    for t in [
        "User",
        "Ip",
        "Url",
        "File",
        "Process",
        "MailBox",
        "MailMessage",
    ] {
        assert!(
            seen_types.contains(t),
            "entity type {t} in the first page: {seen_types:?}"
        );
    }
    assert!(service_sources.len() >= 3, "{service_sources:?}");
    // Newest first.
    let created: Vec<&str> = value
        .iter()
        .map(|i| i["createdTime"].as_str().expect("t"))
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn demo_data_is_varied() {
    let h = harness().await;
    let all = list_all(&h, "/api/incidents", &h.reader(TENANT_A)).await;
    let distinct = |key: &str| {
        all.iter()
            .map(|i| i[key].to_string())
            .collect::<HashSet<_>>()
    };
    assert!(
        distinct("severity").len() >= 4,
        "{:?}",
        distinct("severity")
    );
    assert!(distinct("status").len() >= 3, "{:?}", distinct("status"));
    assert!(
        distinct("classification").len() >= 4,
        "{:?}",
        distinct("classification")
    );
    assert!(distinct("determination").len() >= 6);
    assert!(distinct("assignedTo").len() >= 3);
    assert!(all.iter().any(|i| i["assignedTo"].is_null()));
    assert!(all
        .iter()
        .any(|i| !i["comments"].as_array().expect("c").is_empty()));
    // Spread over the past 30 days.
    let now = h.clock.now();
    let oldest = format_incident_time(now - Duration::days(30));
    let newest = format_incident_time(now);
    let created: Vec<&str> = all
        .iter()
        .map(|i| i["createdTime"].as_str().expect("t"))
        .collect();
    assert!(created
        .iter()
        .all(|c| *c >= oldest.as_str() && *c <= newest.as_str()));
    assert!(created
        .iter()
        .any(|c| *c < format_incident_time(now - Duration::days(25)).as_str()));
    assert!(created
        .iter()
        .any(|c| *c > format_incident_time(now - Duration::days(2)).as_str()));
}

#[tokio::test]
async fn paging_sees_every_incident_once() {
    let h = harness().await;
    let token = h.reader(TENANT_A);
    for first in [
        "/api/incidents",
        "/api/incidents?$top=37",
        "/api/v1.0/incidents?$top=100&$skip=0",
    ] {
        let all = list_all(&h, first, &token).await;
        let ids = ids(&all);
        let unique: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(ids.len(), COUNT_A, "{first}");
        assert_eq!(unique.len(), COUNT_A, "{first}: duplicates");
        assert_eq!(
            unique,
            (1..=COUNT_A as i64).collect(),
            "{first}: missed some"
        );
    }
    // The integration style: $skip += 100 until a short page.
    let mut got = Vec::new();
    let mut skip = 0;
    loop {
        let r = h
            .get(&format!("/api/incidents?$top=100&$skip={skip}"), &token)
            .await;
        let page = r.json["value"].as_array().expect("value").clone();
        got.extend(page.iter().cloned());
        if page.len() < 100 {
            assert!(r.json.get("@odata.nextLink").is_none());
            break;
        }
        skip += 100;
    }
    assert_eq!(got.len(), COUNT_A);
    // $top=0 returns nothing and no link.
    let r = h.get("/api/incidents?$top=0", &token).await;
    assert_eq!(r.json["value"].as_array().expect("v").len(), 0);
    assert!(r.json.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn filters() {
    let h = harness().await;
    let token = h.reader(TENANT_A);
    let all = list_all(&h, "/api/incidents", &token).await;
    let count = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|i| pred(i)).count();

    // The docs' hello-world query: unquoted timestamp, `+` for spaces.
    let since = format_incident_time(h.clock.now() - Duration::hours(48));
    let first = format!("/api/incidents?$filter=lastUpdateTime+ge+{since}");
    let got = list_all(&h, &first, &token).await;
    assert_eq!(
        got.len(),
        count(&|i| i["lastUpdateTime"].as_str().expect("t") >= since.as_str())
    );
    assert!(!got.is_empty());
    assert!(got.len() < all.len());

    // Paging keeps the filter in nextLink.
    let got = list_all(
        &h,
        &format!("/api/incidents?$filter=createdTime+lt+{since}&$top=50"),
        &token,
    )
    .await;
    assert_eq!(
        got.len(),
        count(&|i| i["createdTime"].as_str().expect("t") < since.as_str())
    );
    assert!(got.len() > 50);

    // Quoted strings, percent-encoding, and/or/parentheses.
    let got = list_all(
        &h,
        "/api/incidents?%24filter=status%20eq%20%27Active%27",
        &token,
    )
    .await;
    assert_eq!(got.len(), count(&|i| i["status"] == "Active"));
    assert!(!got.is_empty());
    let q = "/api/incidents?$filter=(status eq 'Resolved' or status eq 'InProgress') and assignedTo ne null";
    let got = list_all(&h, &q.replace(' ', "%20"), &token).await;
    assert_eq!(
        got.len(),
        count(
            &|i| (i["status"] == "Resolved" || i["status"] == "InProgress")
                && !i["assignedTo"].is_null()
        )
    );
    let owner = all
        .iter()
        .find_map(|i| i["assignedTo"].as_str())
        .expect("someone is assigned")
        .to_string();
    let got = list_all(
        &h,
        &format!(
            "/api/incidents?$filter=assignedTo+eq+'{}'",
            owner.to_uppercase()
        ),
        &token,
    )
    .await;
    assert_eq!(
        got.len(),
        count(&|i| i["assignedTo"].as_str() == Some(owner.as_str()))
    );
    let got = list_all(&h, "/api/incidents?$filter=assignedTo+eq+null", &token).await;
    assert_eq!(got.len(), count(&|i| i["assignedTo"].is_null()));

    // Bad filters and options.
    for bad in [
        "/api/incidents?$filter=severity+eq+'High'",
        "/api/incidents?$filter=status+eq+'Closed'",
        "/api/incidents?$filter=lastUpdateTime+ge+yesterday",
        "/api/incidents?$filter=lastUpdateTime+ge+2021-13-45T00:00:00Z",
        "/api/incidents?$filter=(status+eq+'Active'",
        "/api/incidents?$filter=",
        "/api/incidents?$top=101",
        "/api/incidents?$top=-5",
        "/api/incidents?$skip=x",
        "/api/incidents?$orderby=createdTime",
    ] {
        let r = h.get(bad, &token).await;
        r.expect_error(StatusCode::BAD_REQUEST, "ODataError");
        let msg = r.json["error"]["message"].as_str().expect("msg");
        assert!(msg.starts_with("Invalid OData URI query"), "{bad}: {msg}");
    }
}

#[tokio::test]
async fn get_one() {
    let h = harness().await;
    let token = h.reader(TENANT_A);
    for uri in ["/api/incidents/7", "/api/v1.0/incidents/7"] {
        let r = h.get(uri, &token).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.json["@odata.context"],
            "https://api.security.microsoft.com/api/$metadata#Incidents/$entity"
        );
        assert_eq!(r.json["incidentId"], 7);
        let first_key = r.json.as_object().expect("obj").keys().next().cloned();
        assert_eq!(first_key.as_deref(), Some("@odata.context"));
    }
    h.get("/api/incidents/999999", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    h.get("/api/incidents/abc", &token)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidInput");
    h.get("/api/incidents/-1", &token)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidInput");
    h.get("/api/incidents/99999999999999999999", &token)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidInput");
}

#[tokio::test]
async fn patch_rules() {
    let h = harness().await;
    let w = h.writer(TENANT_A);
    h.clock.advance(Duration::minutes(10));
    let body = r#"{"status":"Resolved","assignedTo":"secop2@contoso.com","classification":"TruePositive",
 "determination":"Malware","tags":["Yossi's playground","Don't mess with the Zohan"],"comment":"pen testing"}"#;
    let before = h.get("/api/incidents/3", &w).await.json;
    let r = h.patch("/api/incidents/3", &w, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let now = format_incident_time(h.clock.now());
    assert_eq!(
        r.json["@odata.context"],
        "https://api.security.microsoft.com/api/$metadata#Incidents/$entity"
    );
    assert_eq!(r.json["status"], "Resolved");
    assert_eq!(r.json["assignedTo"], "secop2@contoso.com");
    assert_eq!(r.json["classification"], "TruePositive");
    assert_eq!(r.json["determination"], "Malware");
    assert_eq!(
        r.json["tags"],
        serde_json::json!(["Yossi's playground", "Don't mess with the Zohan"])
    );
    assert_eq!(r.json["lastUpdateTime"], now.as_str());
    let comments = r.json["comments"].as_array().expect("comments");
    assert_eq!(
        comments.len(),
        before["comments"].as_array().expect("c").len() + 1
    );
    let last = comments.last().expect("comment");
    assert_eq!(last["comment"], "pen testing");
    assert_eq!(last["createdBy"], APP_ID);
    assert_eq!(last["createdTime"], now.as_str());
    assert_eq!(r.json["alerts"], before["alerts"], "alerts untouched");
    // Persisted.
    assert_eq!(h.get("/api/incidents/3", &w).await.json, r.json);

    // Aliases in, update-doc spelling out; "" unassigns; tags replace; a user's comment.
    let user = sign(&h.user_claims(
        TENANT_A,
        "Incident.ReadWrite",
        "erin.kim@contoso.onmicrosoft.com",
    ));
    let r = h
        .patch(
            "/api/incidents/3",
            &user,
            r#"{"status":"inProgress","classification":"falsePositive","determination":"InsufficientData","assignedTo":"","tags":["x"],"comment":"second"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["status"], "InProgress");
    assert_eq!(r.json["classification"], "FalsePositive");
    assert_eq!(r.json["determination"], "NoEnoughDataToValidate");
    assert!(r.json["assignedTo"].is_null());
    assert_eq!(r.json["tags"], serde_json::json!(["x"]));
    let comments = r.json["comments"].as_array().expect("comments");
    assert_eq!(
        comments.last().expect("c")["createdBy"],
        "erin.kim@contoso.onmicrosoft.com"
    );
    assert_eq!(
        comments[comments.len() - 2]["comment"],
        "pen testing",
        "comments append"
    );

    // Determination must fit the classification (stored or sent).
    let r = h
        .patch("/api/incidents/3", &w, r#"{"determination":"Malware"}"#)
        .await;
    r.expect_error(StatusCode::BAD_REQUEST, "InvalidInput");
    let r = h
        .patch(
            "/api/incidents/3",
            &w,
            r#"{"classification":"TruePositive","determination":"Clean"}"#,
        )
        .await;
    r.expect_error(StatusCode::BAD_REQUEST, "InvalidInput");
    h.patch("/api/incidents/3", &w, r#"{"determination":"Apt"}"#)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidInput");

    // Shape errors.
    for (body, code) in [
        (r#"{"Status":"Active"}"#, "InvalidRequestBody"),
        (r#"{"AssignedTo":"x"}"#, "InvalidRequestBody"),
        (r#"{"severity":"High"}"#, "InvalidRequestBody"),
        (r#"{"status":"Active","unknown":1}"#, "InvalidRequestBody"),
        ("{not json", "InvalidRequestBody"),
        ("[]", "InvalidRequestBody"),
        (r#"{"status":"Closed"}"#, "InvalidInput"),
        (r#"{"classification":"Bogus"}"#, "InvalidInput"),
        (r#"{"tags":"one"}"#, "InvalidInput"),
    ] {
        h.patch("/api/incidents/3", &w, body)
            .await
            .expect_error(StatusCode::BAD_REQUEST, code);
    }
    // Nothing above changed the incident.
    let after = h.get("/api/incidents/3", &w).await.json;
    assert_eq!(after["classification"], "FalsePositive");
    assert_eq!(after["status"], "InProgress");

    // Content-Type.
    let r = h
        .call(
            Method::PATCH,
            "/api/incidents/3",
            Some(&w),
            Some(("", r#"{"status":"Active"}"#)),
        )
        .await;
    r.expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    let r = h
        .call(
            Method::PATCH,
            "/api/incidents/3",
            Some(&w),
            Some(("text/plain", r#"{"status":"Active"}"#)),
        )
        .await;
    r.expect_error(StatusCode::BAD_REQUEST, "BadRequest");
    let r = h
        .call(
            Method::PATCH,
            "/api/incidents/3",
            Some(&w),
            Some(("application/json; charset=utf-8", r#"{"status":"Active"}"#)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // 404 and bad ids.
    h.patch("/api/incidents/999999", &w, r#"{"status":"Active"}"#)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    h.patch("/api/incidents/x1", &w, r#"{"status":"Active"}"#)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "InvalidInput");

    // The update is visible to filters on lastUpdateTime.
    let since = format_incident_time(h.clock.now());
    let got = list_all(
        &h,
        &format!("/api/incidents?$filter=lastUpdateTime+ge+{since}"),
        &w,
    )
    .await;
    assert_eq!(ids(&got), vec![3]);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let h = harness().await;
    let (ra, wa) = (h.reader(TENANT_A), h.writer(TENANT_A));
    let (rb, wb) = (h.reader(TENANT_B), h.writer(TENANT_B));

    // Mark one of A's incidents; B's incident with the same id stays untouched.
    let b5_before = h.get("/api/incidents/5", &rb).await.json;
    let r = h
        .patch(
            "/api/incidents/5",
            &wa,
            r#"{"tags":["tenant-A-secret"],"comment":"A only"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.get("/api/incidents/5", &rb).await.json, b5_before);

    // B lists only its own incidents.
    let all_b = list_all(&h, "/api/incidents", &rb).await;
    assert_eq!(all_b.len(), COUNT_B);
    let text = serde_json::to_string(&all_b).expect("json");
    assert!(!text.contains("tenant-A-secret"));
    assert!(!text.contains(DOMAIN_A));
    assert!(text.contains(DOMAIN_B));
    let all_a = list_all(&h, "/api/incidents", &ra).await;
    assert_eq!(all_a.len(), COUNT_A);
    assert!(!serde_json::to_string(&all_a)
        .expect("json")
        .contains(DOMAIN_B));

    // Ids only A has: B can neither get nor update them.
    let only_a = COUNT_A as i64;
    assert!(only_a > COUNT_B as i64);
    h.get(&format!("/api/incidents/{only_a}"), &rb)
        .await
        .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    let a_before = h.get(&format!("/api/incidents/{only_a}"), &ra).await;
    assert_eq!(a_before.status, StatusCode::OK);
    h.patch(
        &format!("/api/incidents/{only_a}"),
        &wb,
        r#"{"status":"Resolved","comment":"from B"}"#,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "ResourceNotFound");
    assert_eq!(
        h.get(&format!("/api/incidents/{only_a}"), &ra).await.json,
        a_before.json
    );

    // A filter cannot reach across tenants either.
    let got = list_all(
        &h,
        "/api/incidents?$filter=assignedTo+ne+null+or+assignedTo+eq+null",
        &rb,
    )
    .await;
    assert_eq!(got.len(), COUNT_B);

    // A token whose tid is B but whose issuer says A is refused outright.
    let mut forged = h.app_claims(TENANT_B, &["Incident.Read.All"]);
    forged["iss"] = format!("https://sts.windows.net/{TENANT_A}/").into();
    assert_eq!(
        h.get("/api/incidents", &sign(&forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn reseeding_is_idempotent_and_keeps_user_changes() {
    let h = harness().await;
    let w = h.writer(TENANT_A);
    let r = h.patch("/api/incidents/10", &w, r#"{"status":"Resolved","classification":"FalsePositive","determination":"Clean","comment":"mine"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    let before = h.get("/api/incidents/10", &w).await.json;
    h.clock.advance(Duration::days(3));
    let clock: SharedClock = Arc::new(h.clock.clone());
    assert_eq!(
        seed_demo_incidents(&h.store, TENANT_A, &clock, COUNT_A)
            .await
            .expect("reseed"),
        0
    );
    assert_eq!(
        h.store.count_incidents(TENANT_A).await.expect("count"),
        COUNT_A as i64
    );
    let w = h.writer(TENANT_A);
    assert_eq!(h.get("/api/incidents/10", &w).await.json, before);
    // Asking for more adds only the missing ones.
    assert_eq!(
        seed_demo_incidents(&h.store, TENANT_A, &clock, COUNT_A + 20)
            .await
            .expect("grow"),
        20
    );
    assert_eq!(
        h.store.count_incidents(TENANT_A).await.expect("count"),
        COUNT_A as i64 + 20
    );
    assert_eq!(
        h.store.count_incidents(TENANT_B).await.expect("count"),
        COUNT_B as i64
    );
    // Unknown tenant.
    assert!(
        seed_demo_incidents(&h.store, "0c0c0c0c-3333-4333-8333-cccccccccccc", &clock, 5)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn other_methods_and_paths_are_not_served() {
    let h = harness().await;
    let w = h.writer(TENANT_A);
    let r = h
        .call(Method::DELETE, "/api/incidents/1", Some(&w), None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = h
        .call(
            Method::POST,
            "/api/incidents",
            Some(&w),
            Some(("application/json", "{}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}
