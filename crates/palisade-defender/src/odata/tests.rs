//! Tests of the OData query options and `$filter` dialects.

use super::*;
use palisade_store::{FilterOp, FilterValue, IncidentField};
use time::macros::datetime;

fn cmp(field: IncidentField, op: FilterOp, value: FilterValue) -> IncidentFilter {
    IncidentFilter::Compare { field, op, value }
}

fn and(a: IncidentFilter, b: IncidentFilter) -> IncidentFilter {
    IncidentFilter::And(Box::new(a), Box::new(b))
}

fn or(a: IncidentFilter, b: IncidentFilter) -> IncidentFilter {
    IncidentFilter::Or(Box::new(a), Box::new(b))
}

fn t(v: &str) -> FilterValue {
    FilterValue::Text(v.into())
}

#[test]
fn docs_hello_world_raw_query() {
    let q = parse_list_query(Some(
        "$filter=lastUpdateTime+ge+2021-01-26T01:00:37.8404534Z",
    ))
    .expect("parse");
    assert_eq!(
        q.filter,
        Some(cmp(
            IncidentField::LastUpdateTime,
            FilterOp::Ge,
            FilterValue::Time(datetime!(2021-01-26 01:00:37.8404534 UTC))
        ))
    );
    assert_eq!((q.top, q.skip), (100, 0));
}

#[test]
fn percent_encoded_query() {
    let q = parse_list_query(Some(
        "%24filter=status%20eq%20%27Active%27&%24top=10&%24skip=20",
    ))
    .expect("parse");
    assert_eq!(
        q.filter,
        Some(cmp(IncidentField::Status, FilterOp::Eq, t("Active")))
    );
    assert_eq!((q.top, q.skip), (10, 20));
}

#[test]
fn not_in_graph_dialects_only() {
    let a = cmp(IncidentField::Status, FilterOp::Eq, t("Resolved"));
    let b = cmp(IncidentField::Severity, FilterOp::Eq, t("High"));
    let not = |f: IncidentFilter| IncidentFilter::Not(Box::new(f));
    for dialect in [FilterDialect::GraphIncidents, FilterDialect::GraphAlerts] {
        // `not` binds tighter than `and`; it negates a group or one comparison.
        assert_eq!(
            parse_filter_in(dialect, "not status eq 'resolved' and severity eq 'high'"),
            Ok(and(not(a.clone()), b.clone()))
        );
        assert_eq!(
            parse_filter_in(dialect, "not (status eq 'resolved' or severity eq 'high')"),
            Ok(not(or(a.clone(), b.clone())))
        );
        assert_eq!(
            parse_filter_in(dialect, "not not status eq 'resolved'"),
            Ok(not(not(a.clone())))
        );
        assert!(parse_filter_in(dialect, "not").is_err());
        assert!(parse_filter_in(dialect, &"not ".repeat(40)).is_err());
    }
    assert!(parse_filter("not status eq 'Active'")
        .unwrap_err()
        .0
        .contains("'not'"));
}

#[test]
fn every_operator() {
    for (s, op) in [
        ("eq", FilterOp::Eq),
        ("ne", FilterOp::Ne),
        ("gt", FilterOp::Gt),
        ("ge", FilterOp::Ge),
        ("lt", FilterOp::Lt),
        ("le", FilterOp::Le),
    ] {
        let f = parse_filter(&format!("createdTime {s} 2021-01-01T00:00:00Z")).expect("parse");
        assert_eq!(
            f,
            cmp(
                IncidentField::CreatedTime,
                op,
                FilterValue::Time(datetime!(2021-01-01 0:00 UTC))
            )
        );
    }
}

#[test]
fn and_binds_tighter_than_or_and_parentheses() {
    let a = cmp(IncidentField::Status, FilterOp::Eq, t("Active"));
    let b = cmp(IncidentField::Status, FilterOp::Eq, t("Resolved"));
    let c = cmp(
        IncidentField::AssignedTo,
        FilterOp::Eq,
        t("bob@contoso.com"),
    );
    let f = parse_filter(
        "status eq 'Active' or status eq 'Resolved' and assignedTo eq 'bob@contoso.com'",
    )
    .expect("parse");
    assert_eq!(f, or(a.clone(), and(b.clone(), c.clone())));
    let f = parse_filter(
        "(status eq 'Active' or status eq 'Resolved') and assignedTo eq 'bob@contoso.com'",
    )
    .expect("parse");
    assert_eq!(f, and(or(a.clone(), b.clone()), c.clone()));
    let f = parse_filter("((status eq 'active'))").expect("parse");
    assert_eq!(f, a);
}

#[test]
fn literals() {
    // Status values are canonicalised; other spellings of properties are accepted.
    assert_eq!(
        parse_filter("Status eq 'inprogress'").expect("p"),
        cmp(IncidentField::Status, FilterOp::Eq, t("InProgress"))
    );
    assert_eq!(
        parse_filter("assignedTo eq 'O''Brien'").expect("p"),
        cmp(IncidentField::AssignedTo, FilterOp::Eq, t("O'Brien"))
    );
    assert_eq!(
        parse_filter("assignedTo eq null").expect("p"),
        cmp(IncidentField::AssignedTo, FilterOp::Eq, FilterValue::Null)
    );
    assert_eq!(
        parse_filter("assignedTo ne null").expect("p"),
        cmp(IncidentField::AssignedTo, FilterOp::Ne, FilterValue::Null)
    );
    // Quoted, offset, fractional and bare-date timestamps.
    let when = |s: &str| match parse_filter(&format!("lastUpdateTime gt {s}")).expect("p") {
        IncidentFilter::Compare {
            value: FilterValue::Time(t),
            ..
        } => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        when("'2021-01-26T01:00:37Z'"),
        datetime!(2021-01-26 01:00:37 UTC)
    );
    assert_eq!(
        when("2021-01-26T03:00:37.5+02:00"),
        datetime!(2021-01-26 01:00:37.5 UTC)
    );
    assert_eq!(
        when("2021-01-26T03:00:37-01:30"),
        datetime!(2021-01-26 04:30:37 UTC)
    );
    assert_eq!(when("2021-01-26"), datetime!(2021-01-26 0:00 UTC));
    assert_eq!(when("2021-01-26T01:00"), datetime!(2021-01-26 01:00 UTC));
    assert_eq!(
        when("2021-01-26T01:00:00.123456789123Z"),
        datetime!(2021-01-26 01:00:00.123456789 UTC)
    );
}

#[test]
fn plus_offset_decoded_as_space() {
    let q = parse_list_query(Some(
        "$filter=createdTime+ge+2021-01-26T03:00:00+02:00+and+status+eq+'Active'",
    ))
    .expect("parse");
    assert_eq!(
        q.filter,
        Some(and(
            cmp(
                IncidentField::CreatedTime,
                FilterOp::Ge,
                FilterValue::Time(datetime!(2021-01-26 01:00 UTC))
            ),
            cmp(IncidentField::Status, FilterOp::Eq, t("Active")),
        ))
    );
}

#[test]
fn bad_filters() {
    for (bad, needle) in [
        ("", "empty"),
        ("   ", "empty"),
        ("severity eq 'High'", "cannot be filtered"),
        ("status eq 'Closed'", "not a valid status"),
        ("status equals 'Active'", "unknown operator"),
        ("status 'Active'", "expected an operator"),
        ("status", "not followed by an operator"),
        ("status eq", "no value"),
        ("status eq 'Active", "unterminated"),
        ("(status eq 'Active'", "missing ')'"),
        ("status eq 'Active')", "unexpected ')'"),
        ("status eq 'Active' and", "ends where"),
        (
            "status eq 'Active' status eq 'Resolved'",
            "unexpected 'status'",
        ),
        (
            "lastUpdateTime ge 2021-13-01T00:00:00Z",
            "not a valid DateTimeOffset",
        ),
        (
            "lastUpdateTime ge 2021-01-01T25:00:00Z",
            "not a valid DateTimeOffset",
        ),
        ("lastUpdateTime ge 12345", "not a valid DateTimeOffset"),
        (
            "lastUpdateTime ge 'yesterday'",
            "not a valid DateTimeOffset",
        ),
        ("lastUpdateTime eq null", "not a valid value"),
        ("status eq 2021-01-01T00:00:00Z", "not a valid value"),
        ("assignedTo gt null", "null can only"),
        ("assignedTo eq bob", "not a valid value"),
        ("not status eq 'Active'", "'not' operator"),
        ("status eq 'Active' & x", "unexpected character"),
        (
            "status eq 'Active' AND status eq 'Resolved'",
            "unexpected 'AND'",
        ),
        ("(status eq 'Active') eq 'x'", "unexpected 'eq'"),
        ("() ", "expected a property name"),
    ] {
        let e = parse_filter(bad).expect_err(bad);
        assert!(e.0.contains(needle), "{bad:?}: {}", e.0);
    }
    let deep = format!("{}status eq 'Active'{}", "(".repeat(40), ")".repeat(40));
    assert!(parse_filter(&deep).expect_err("deep").0.contains("deeper"));
    let many = vec!["status eq 'Active'"; 70].join(" or ");
    assert!(parse_filter(&many)
        .expect_err("many")
        .0
        .contains("more than"));
}

#[test]
fn bad_query_options() {
    for (bad, needle) in [
        ("$top=101", "exceeds the maximum"),
        ("$top=-1", "non-negative"),
        ("$top=abc", "non-negative"),
        ("$skip=", "non-negative"),
        ("$skip=99999999999999999999", "too large"),
        ("$orderby=createdTime", "not supported"),
        ("$top=1&$top=2", "more than once"),
        ("$filter=status%2", "percent"),
        ("$filter=status+eq+'x'", "not a valid status"),
    ] {
        let e = parse_list_query(Some(bad)).expect_err(bad);
        assert!(e.0.contains(needle), "{bad:?}: {}", e.0);
    }
    // Unknown non-$ parameters are ignored; $top=0 and 100 are fine.
    assert_eq!(
        parse_list_query(Some("api-version=1&$top=0"))
            .expect("ok")
            .top,
        0
    );
    assert_eq!(parse_list_query(Some("$top=100")).expect("ok").top, 100);
    assert_eq!(parse_list_query(None).expect("ok").top, 100);
}
