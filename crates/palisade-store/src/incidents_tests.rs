//! Tests of the incident store.

use super::*;
use crate::TenantRow;
use time::macros::datetime;

async fn store_with(tenants: &[&str]) -> Store {
    let store = Store::open_in_memory().await.expect("store");
    for t in tenants {
        store
            .create_tenant(&TenantRow {
                id: t.to_string(),
                display_name: t.to_string(),
                initial_domain: format!("{t}.onmicrosoft.com"),
                created_at: 0,
            })
            .await
            .expect("tenant");
    }
    store
}

fn new_incident(name: &str, created: OffsetDateTime, key: Option<&str>) -> NewIncident {
    NewIncident {
        incident_name: name.to_string(),
        created_time: created,
        last_update_time: created,
        status: "Active".into(),
        severity: "High".into(),
        assigned_to: None,
        classification: "Unknown".into(),
        determination: "NotAvailable".into(),
        detection_source: None,
        redirect_incident_id: None,
        tags: vec!["a".into()],
        comments: vec![],
        alerts_json: "[]".into(),
        demo_key: key.map(str::to_string),
        device_ids: vec![],
    }
}

#[test]
fn time_format_is_fixed_width() {
    let t = datetime!(2021-01-26 01:00:37.8404534 UTC);
    assert_eq!(format_incident_time(t), "2021-01-26T01:00:37.8404534Z");
    assert_eq!(
        format_incident_time(datetime!(2020-09-04 05:22:59 UTC)),
        "2020-09-04T05:22:59.0000000Z"
    );
    assert_eq!(parse_incident_time("2021-01-26T01:00:37.8404534Z"), Some(t));
}

#[tokio::test]
async fn device_group_visibility_is_applied_in_sql() {
    let store = store_with(&["t1", "t2"]).await;
    let now = datetime!(2024-03-01 00:00:00 UTC);
    let add = |name: &str, devices: &[&str], minutes: i64| {
        let mut i = new_incident(name, now + time::Duration::minutes(minutes), None);
        i.device_ids = devices.iter().map(|d| d.to_string()).collect();
        i
    };
    let incidents = [
        add("finance", &["DEV-FIN"], 1),
        add("servers", &["dev-srv"], 2),
        add("both", &["dev-fin", "dev-srv"], 3),
        add("mail only", &[], 4),
        add("unknown device", &["dev-new"], 5),
    ];
    for i in &incidents {
        store.insert_incident("t1", i).await.unwrap();
    }
    store
        .insert_device_group("t1", Some(7), "Finance", "", 0)
        .await
        .unwrap();
    store
        .insert_device_group("t1", Some(8), "Servers", "", 0)
        .await
        .unwrap();
    for (id, group) in [("dev-fin", 7), ("dev-srv", 8)] {
        store
            .upsert_device(&crate::DeviceRow {
                tenant_id: "t1".into(),
                device_id: id.into(),
                device_name: format!("{id}.contoso.com"),
                group_id: Some(group),
                created_at: 0,
            })
            .await
            .unwrap();
    }
    let names = |rows: Vec<IncidentRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.incident_name).collect()
    };
    let fin = store
        .list_visible_incidents("t1", IncidentVisibility::DeviceGroups(&[7]), None, 0, 100)
        .await
        .unwrap();
    assert_eq!(names(fin), ["mail only", "both", "finance"]);
    let none = store
        .list_visible_incidents("t1", IncidentVisibility::DeviceGroups(&[]), None, 0, 100)
        .await
        .unwrap();
    assert_eq!(names(none), ["mail only"]);
    let all = store.list_incidents("t1", None, 0, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    // Paging counts visible incidents only.
    let page = store
        .list_visible_incidents("t1", IncidentVisibility::DeviceGroups(&[8]), None, 1, 1)
        .await
        .unwrap();
    assert_eq!(names(page), ["both"]);
    assert!(store
        .incident_visible("t1", 1, IncidentVisibility::DeviceGroups(&[7]))
        .await
        .unwrap());
    assert!(!store
        .incident_visible("t1", 2, IncidentVisibility::DeviceGroups(&[7]))
        .await
        .unwrap());
    assert!(!store
        .incident_visible("t2", 1, IncidentVisibility::All)
        .await
        .unwrap());
}

#[tokio::test]
async fn ids_are_per_tenant_and_isolated() {
    let store = store_with(&["ta", "tb"]).await;
    let t0 = datetime!(2024-01-01 00:00 UTC);
    let a1 = store
        .insert_incident("ta", &new_incident("a1", t0, None))
        .await
        .expect("a1");
    let b1 = store
        .insert_incident("tb", &new_incident("b1", t0, None))
        .await
        .expect("b1");
    assert_eq!((a1, b1), (1, 1));
    assert_eq!(
        store
            .get_incident("ta", 1)
            .await
            .expect("get")
            .expect("some")
            .incident_name,
        "a1"
    );
    assert_eq!(
        store
            .get_incident("tb", 1)
            .await
            .expect("get")
            .expect("some")
            .incident_name,
        "b1"
    );
    assert!(store.get_incident("tc", 1).await.expect("get").is_none());
    let out = store
        .update_incident_with("tc", 1, |_| Ok::<_, ()>(IncidentUpdate::default()))
        .await
        .expect("update");
    assert!(matches!(out, IncidentUpdateOutcome::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_a_file_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(&dir.path().join("p.db"))
        .await
        .expect("open");
    store
        .create_tenant(&TenantRow {
            id: "ta".into(),
            display_name: "ta".into(),
            initial_domain: "ta.onmicrosoft.com".into(),
            created_at: 0,
        })
        .await
        .expect("tenant");
    let t0 = datetime!(2024-01-01 00:00 UTC);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_incident("ta", &new_incident(&format!("n{i}"), t0, None))
                .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("join").expect("insert"));
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=16).collect::<Vec<i64>>());
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update_incident_with("ta", 1, |_| {
                    Ok::<_, ()>(IncidentUpdate {
                        comment: Some(IncidentCommentRow {
                            comment: format!("c{i}"),
                            created_by: "me".into(),
                            created_time: t0,
                        }),
                        ..Default::default()
                    })
                })
                .await
        }));
    }
    for t in tasks {
        let out = t.await.expect("join").expect("update");
        assert!(matches!(out, IncidentUpdateOutcome::Updated(_)));
    }
    let inc = store
        .get_incident("ta", 1)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(inc.comments.len(), 16);
}

#[tokio::test]
async fn demo_keys_are_idempotent() {
    let store = store_with(&["ta"]).await;
    let t0 = datetime!(2024-01-01 00:00 UTC);
    let batch = vec![
        new_incident("x", t0, Some("k1")),
        new_incident("y", t0, Some("k2")),
    ];
    assert_eq!(
        store
            .insert_incidents_if_absent("ta", &batch)
            .await
            .expect("seed"),
        2
    );
    assert_eq!(
        store
            .insert_incidents_if_absent("ta", &batch)
            .await
            .expect("seed"),
        0
    );
    assert_eq!(store.count_incidents("ta").await.expect("count"), 2);
}

#[tokio::test]
async fn filter_update_and_comments() {
    let store = store_with(&["ta"]).await;
    let t0 = datetime!(2024-01-01 00:00 UTC);
    for i in 0..5 {
        store
            .insert_incident(
                "ta",
                &new_incident(&format!("i{i}"), t0 + time::Duration::hours(i), None),
            )
            .await
            .expect("insert");
    }
    let out = store
        .update_incident_with("ta", 2, |cur| {
            assert_eq!(cur.status, "Active");
            Ok::<_, ()>(IncidentUpdate {
                assigned_to: Some(Some("Bob@Contoso.com".into())),
                comment: Some(IncidentCommentRow {
                    comment: "hi".into(),
                    created_by: "me".into(),
                    created_time: t0,
                }),
                last_update_time: Some(t0 + time::Duration::days(1)),
                ..Default::default()
            })
        })
        .await
        .expect("update");
    let IncidentUpdateOutcome::Updated(inc) = out else {
        panic!("not updated")
    };
    assert_eq!(inc.comments.len(), 1);
    let f = IncidentFilter::Compare {
        field: IncidentField::AssignedTo,
        op: FilterOp::Eq,
        value: FilterValue::Text("bob@contoso.com".into()),
    };
    let page = store
        .list_incidents("ta", Some(&f), 0, 10)
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|i| i.incident_id).collect::<Vec<_>>(),
        vec![2]
    );
    let f = IncidentFilter::Or(
        Box::new(IncidentFilter::Compare {
            field: IncidentField::AssignedTo,
            op: FilterOp::Ne,
            value: FilterValue::Text("bob@contoso.com".into()),
        }),
        Box::new(IncidentFilter::Compare {
            field: IncidentField::LastUpdateTime,
            op: FilterOp::Gt,
            value: FilterValue::Time(t0 + time::Duration::hours(20)),
        }),
    );
    let page = store
        .list_incidents("ta", Some(&f), 1, 3)
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|i| i.incident_id).collect::<Vec<_>>(),
        vec![4, 3, 2]
    );
    // `not (assignedTo eq 'bob…')` holds for the unassigned incidents too (a comparison
    // with null does not hold, so its negation does).
    let f = IncidentFilter::Not(Box::new(IncidentFilter::Compare {
        field: IncidentField::AssignedTo,
        op: FilterOp::Eq,
        value: FilterValue::Text("bob@contoso.com".into()),
    }));
    let page = store
        .list_incidents("ta", Some(&f), 0, 10)
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|i| i.incident_id).collect::<Vec<_>>(),
        vec![5, 4, 3, 1]
    );
    let rejected = store
        .update_incident_with("ta", 1, |_| Err::<IncidentUpdate, _>("no"))
        .await
        .expect("update");
    assert!(matches!(rejected, IncidentUpdateOutcome::Rejected("no")));
}

#[tokio::test]
async fn the_incident_version_moves_with_every_write_of_the_tenant_only() {
    let store = store_with(&["ta", "tb"]).await;
    assert_eq!(store.incident_version("ta").await.expect("version"), None);
    let t0 = datetime!(2024-01-01 00:00 UTC);
    store
        .insert_incident("ta", &new_incident("a1", t0, None))
        .await
        .expect("a1");
    let after_insert = store.incident_version("ta").await.expect("v").expect("set");
    assert_eq!(store.incident_version("tb").await.expect("v"), None);

    store
        .insert_incident("tb", &new_incident("b1", t0, None))
        .await
        .expect("b1");
    assert_eq!(
        store.incident_version("ta").await.expect("v"),
        Some(after_insert),
        "another tenant's write leaves this tenant's version"
    );

    // A refused update writes nothing and moves nothing.
    store
        .update_incident_with("ta", 1, |_| Err::<IncidentUpdate, _>("no"))
        .await
        .expect("refused");
    assert_eq!(
        store.incident_version("ta").await.expect("v"),
        Some(after_insert)
    );

    let comment = IncidentUpdate {
        comment: Some(IncidentCommentRow {
            comment: "c".into(),
            created_by: "x".into(),
            created_time: t0,
        }),
        ..IncidentUpdate::default()
    };
    store
        .update_incident_with("ta", 1, |_| Ok::<_, ()>(comment))
        .await
        .expect("comment");
    let after_comment = store.incident_version("ta").await.expect("v").expect("set");
    assert!(after_comment > after_insert);

    // A write outside the store's methods (another process, raw SQL) moves it too.
    for sql in [
        "UPDATE incident_comments SET comment = 'edited' WHERE tenant_id = 'ta'",
        "UPDATE incidents SET severity = 'Low' WHERE tenant_id = 'ta'",
        "DELETE FROM incidents WHERE tenant_id = 'ta'",
    ] {
        let before = store.incident_version("ta").await.expect("v").expect("set");
        sqlx::query(sql).execute(store.pool()).await.expect(sql);
        let after = store.incident_version("ta").await.expect("v").expect("set");
        assert!(after > before, "{sql}: {before} -> {after}");
    }
}
