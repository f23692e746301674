//! The operators of issue 12 run with Kusto's documented semantics (the docs' examples, with
//! hand-computed answers), and the forms still missing are rejected by name.

use std::sync::Arc;

use palisade_events::EventStore;
use palisade_hunting::{HuntError, HuntingEngine};
use serde_json::{json, Value};

use crate::support::{now, rows};

fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)))
}

const PROCS: &str = "datatable(cmd:string, host:string)[\
    'cmd.exe /c whoami', 'h1', 'explorer.exe', 'h1', 'powershell -enc AAA', 'h2', 'net user /add x', 'h3']";

#[tokio::test]
async fn render_is_reported_with_the_result_and_leaves_the_rows_alone() {
    let (_d, e) = engine();
    let q = format!(
        "{PROCS} | summarize n = count() by host | sort by host asc\n\
         | render columnchart with (title = 'Per host', xcolumn = host, ycolumns = n)"
    );
    let r = e.run("t1", &q, now()).await.unwrap();
    assert_eq!(r.rows.len(), 3);
    assert_eq!(
        r.visualization.map(Value::Object),
        Some(
            json!({"Visualization": "columnchart", "Title": "Per host", "XColumn": "host", "YColumns": ["n"]})
        )
    );
    let r = e
        .run("t1", &format!("{PROCS} | count"), now())
        .await
        .unwrap();
    assert!(r.visualization.is_none());
}

#[tokio::test]
async fn has_any_and_has_all_with_a_tabular_argument() {
    let (_d, e) = engine();
    let hosts = |q: String| {
        let e = &e;
        async move {
            rows(e, &q)
                .await
                .into_iter()
                .map(|r| r["cmd"].clone())
                .collect::<Vec<_>>()
        }
    };
    // Terms from a let-bound table and from a subquery; `has` semantics (whole terms).
    assert_eq!(
        hosts(format!(
            "let terms = datatable(t:string)['whoami', 'POWERSHELL', 'net'];\n\
             {PROCS} | where cmd has_any (terms)"
        ))
        .await,
        vec![
            json!("cmd.exe /c whoami"),
            json!("powershell -enc AAA"),
            json!("net user /add x")
        ]
    );
    assert_eq!(
        hosts(format!(
            "{PROCS} | where cmd has_all ((datatable(t:string)['net', 'user'] | project t))"
        ))
        .await,
        vec![json!("net user /add x")]
    );
    // An empty table: has_any matches nothing, has_all everything.
    let none = "datatable(t:string)['x'] | where t == 'y'";
    assert!(hosts(format!("{PROCS} | where cmd has_any (({none}))"))
        .await
        .is_empty());
    assert_eq!(
        hosts(format!("{PROCS} | where cmd has_all (({none}))"))
            .await
            .len(),
        4
    );
    // `in` / `!in` with a subquery (the docs' semantics: values of its first column).
    assert_eq!(
        hosts(format!(
            "{PROCS} | where host !in ((datatable(h:string, z:long)['h1', 1, 'h3', 2]))"
        ))
        .await,
        vec![json!("powershell -enc AAA")]
    );
}

#[tokio::test]
async fn as_names_a_pipeline_for_union_withsource_and_a_join() {
    let (_d, e) = engine();
    // The docs' example: union's TableName column holds the `as` names.
    let r = rows(
        &e,
        "range x from 1 to 2 step 1\n| as T1\n\
         | union withsource=TableName (range x from 1 to 2 step 1 | as T2)\n\
         | sort by TableName asc, x asc",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"TableName": "T1", "x": 1}),
            json!({"TableName": "T1", "x": 2}),
            json!({"TableName": "T2", "x": 1}),
            json!({"TableName": "T2", "x": 2}),
        ]
    );
    // The join example: the left side filtered one way, the right side (the named input)
    // another.
    let r = rows(
        &e,
        "datatable(id:long, name:string)[1, 'Start', 1, 'Stop', 2, 'Start']\n\
         | as T | where name == 'Start' | join kind=inner (T | where name == 'Stop') on id\n\
         | project id, name, name1",
    )
    .await;
    assert_eq!(r, vec![json!({"id": 1, "name": "Start", "name1": "Stop"})]);
}

#[tokio::test]
async fn serialize_numbers_rows_in_order() {
    let (_d, e) = engine();
    // The docs' example shape: serialize with a row_number() column, then prev/next need it.
    let r = rows(
        &e,
        "datatable(a:long)[30, 10, 20] | sort by a desc | serialize rn = row_number()\n\
         | extend p = prev(a), n = next(a)",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"a": 30, "rn": 1, "p": null, "n": 20}),
            json!({"a": 20, "rn": 2, "p": 30, "n": 10}),
            json!({"a": 10, "rn": 3, "p": 20, "n": null}),
        ]
    );
}

/// A query for each form the coverage says the engine rejects by name.
const LIMITED: &[(&str, &str)] = &[
    (
        "distinct inside partition",
        "datatable(k:string, v:long)['a', 1] | partition by k (distinct v)",
    ),
    (
        "a subquery or row-order function in a scan step",
        "range x from 1 to 3 step 1 | scan with (step s: x > prev(x);)",
    ),
    (
        "operators other than one 'sort' before 'scan' inside partition",
        "datatable(k:string, v:long)['a', 1] | partition by k (scan with (step s: true;) | take 1)",
    ),
    (
        "distinct inside mv-apply",
        "print l = dynamic([1, 2]) | mv-apply v = l on (distinct v)",
    ),
    (
        "make-series kind=nonempty with by keys",
        "datatable(t:datetime, k:string)[datetime(2026-11-20), 'a']\n\
         | make-series kind=nonempty n = count() on t from datetime(2026-11-19) to datetime(2026-11-21) step 1d by k",
    ),
];

#[tokio::test]
async fn the_limited_forms_of_the_coverage_are_rejected_by_that_name() {
    let (_d, e) = engine();
    for (op, form, _) in palisade_kql::operators::LIMITED_FORMS {
        let Some((_, q)) = LIMITED.iter().find(|(f, _)| f == form) else {
            panic!("no query for the limited form '{form}' of {op}");
        };
        match e.run("t1", q, now()).await {
            Err(HuntError::Unsupported { name, .. }) => assert_eq!(&name, form, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn operators_rejected_by_the_parser_carry_their_position() {
    let (_d, e) = engine();
    match e.run("t1", "print x = 1\n| reduce by x", now()).await {
        Err(HuntError::Unsupported { name, pos: Some(p) }) => {
            assert_eq!((name.as_str(), p.line, p.column), ("reduce", 2, 3));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn top_hitters_counts_or_sums_each_value_and_keeps_the_largest() {
    let (_d, e) = engine();
    let t = "datatable(ev:string, n:long)['wind', 1, 'hail', 5, 'wind', 2, 'flood', 1, 'wind', 1, 'hail', 1]";
    // The docs' first form: summarize approximate_count_V = count() by V | top N by it desc.
    let r = rows(&e, &format!("{t} | top-hitters 2 of ev")).await;
    assert_eq!(
        r,
        vec![
            json!({"ev": "wind", "approximate_count_ev": 3}),
            json!({"ev": "hail", "approximate_count_ev": 2}),
        ]
    );
    // The second: the largest sums.
    let r = rows(&e, &format!("{t} | top-hitters 1 of ev by n")).await;
    assert_eq!(r, vec![json!({"ev": "hail", "approximate_sum_ev": 6})]);
    // A named value expression.
    let r = rows(&e, &format!("{t} | top-hitters 1 of kind = toupper(ev)")).await;
    assert_eq!(
        r,
        vec![json!({"kind": "WIND", "approximate_count_kind": 3})]
    );
}

const STORMS: &str = "datatable(state:string, source:string, v:long)[\
    'A', 'x', 10, 'A', 'x', 5, 'A', 'y', 1, 'B', 'x', 3, 'B', 'z', 4, 'B', 'z', 4, 'C', 'y', 20]";

#[tokio::test]
async fn top_nested_keeps_the_top_values_within_each_kept_parent() {
    let (_d, e) = engine();
    // Level 1 sums: A 16, B 11, C 20 -> C, A. Within C: y 20; within A: x 15, y 1 -> x.
    let r = rows(
        &e,
        &format!("{STORMS} | top-nested 2 of state by sum(v), top-nested 1 of source by sum(v)"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"state": "C", "aggregated_state": 20, "source": "y", "aggregated_source": 20}),
            json!({"state": "A", "aggregated_state": 16, "source": "x", "aggregated_source": 15}),
        ]
    );
    // Every value of level 1 (no N), level 2 ranked ascending, named aggregates.
    let r = rows(
        &e,
        &format!(
            "{STORMS} | top-nested of state by n = count(), top-nested 2 of src = source by m = count() asc"
        ),
    )
    .await;
    let got: Vec<(Value, Value, Value, Value)> = r
        .iter()
        .map(|x| {
            (
                x["state"].clone(),
                x["n"].clone(),
                x["src"].clone(),
                x["m"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("A"), json!(3), json!("y"), json!(1)),
            (json!("A"), json!(3), json!("x"), json!(2)),
            (json!("B"), json!(3), json!("x"), json!(1)),
            (json!("B"), json!(3), json!("z"), json!(2)),
            (json!("C"), json!(1), json!("y"), json!(1)),
        ]
    );
    // Three levels: the third within each (state, source) kept.
    let r = rows(
        &e,
        &format!(
            "{STORMS} | top-nested 1 of state by sum(v), top-nested 1 of source by sum(v), top-nested 1 of v by count()"
        ),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"state": "C", "aggregated_state": 20, "source": "y", "aggregated_source": 20, "v": 20, "aggregated_v": 1})
        ]
    );
}

const LISTS: &str =
    "let _data = range x from 1 to 8 step 1 | summarize l = make_list(x) by xMod2 = x % 2;\n_data";

#[tokio::test]
async fn mv_apply_runs_the_subquery_on_each_row_s_expanded_values() {
    let (_d, e) = engine();
    let pairs = |r: Vec<Value>, a: &str, b: &str| {
        let mut v: Vec<(Value, Value)> = r.iter().map(|x| (x[a].clone(), x[b].clone())).collect();
        v.sort_by_key(|p| p.0.to_string() + &p.1.to_string());
        v
    };
    // The docs' examples: the largest element of each row's list, with the row's columns.
    let r = rows(
        &e,
        &format!("{LISTS} | mv-apply element = l to typeof(long) on (top 1 by element)"),
    )
    .await;
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|x| x["l"].is_array() || x["l"].is_string()));
    assert_eq!(
        pairs(r, "xMod2", "element"),
        vec![(json!(0), json!(8)), (json!(1), json!(7))]
    );
    // The sum of each row's list: the expanded column leaves the output.
    let r = rows(
        &e,
        &format!("{LISTS} | mv-apply l to typeof(long) on (summarize result = sum(l))"),
    )
    .await;
    assert!(r.iter().all(|x| x.get("l").is_none()), "{r:?}");
    assert_eq!(
        pairs(r, "xMod2", "result"),
        vec![(json!(0), json!(20)), (json!(1), json!(16))]
    );
    // Filters and per-row counts; sort + take keeps the first values of each row.
    let r = rows(
        &e,
        &format!("{LISTS} | mv-apply v = l to typeof(long) on (where v > 4 | count)"),
    )
    .await;
    assert_eq!(
        pairs(r, "xMod2", "Count"),
        vec![(json!(0), json!(2)), (json!(1), json!(2))]
    );
    let r = rows(
        &e,
        &format!("{LISTS} | mv-apply v = l to typeof(long) on (sort by v asc | take 1)"),
    )
    .await;
    assert_eq!(
        pairs(r, "xMod2", "v"),
        vec![(json!(0), json!(2)), (json!(1), json!(1))]
    );
    // An operator the binding does not keep per row is rejected by name.
    match e
        .run(
            "t1",
            &format!("{LISTS} | mv-apply v = l on (distinct v)"),
            now(),
        )
        .await
    {
        Err(HuntError::Unsupported { name, .. }) => assert_eq!(name, "distinct inside mv-apply"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn named_arguments_fill_parameters_by_name() {
    let (_d, e) = engine();
    let f = "let f = (a:long, b:long = 10, c:string = 'x') { strcat(c, ':', a + b) };\n";
    let r = rows(
        &e,
        &format!("{f}print p = f(1, c = 'y'), q = f(b = 2, a = 1), s = f(1, 2, c = 'z')"),
    )
    .await;
    assert_eq!(r, vec![json!({"p": "y:11", "q": "x:3", "s": "z:3"})]);
}

#[tokio::test]
async fn bracket_member_access() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "print d = dynamic({'key': 1, 'a b': {'c': [10, 20]}, 'k2': 'v'})\n\
         | extend k = 'k2'\n\
         | project x = d['key'], y = d.['a b'].c[1], z = d.['a b']['c'][0], w = d[k], v = tostring(d.k2)",
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"x": 1, "y": 20, "z": 10, "w": "v", "v": "v"})]
    );
}

#[tokio::test]
async fn top_nested_with_others_adds_the_rest_of_each_level() {
    let (_d, e) = engine();
    // Level 1 keeps C (20), A (16); B (11) is "Other". Within C nothing is left over; within
    // A, y (1) is "rest".
    let r = rows(
        &e,
        &format!(
            "{STORMS} | top-nested 2 of state with others = 'Other' by sum(v),\n\
             top-nested 1 of source with others = 'rest' by sum(v)"
        ),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"state": "C", "aggregated_state": 20, "source": "y", "aggregated_source": 20}),
            json!({"state": "A", "aggregated_state": 16, "source": "x", "aggregated_source": 15}),
            json!({"state": "A", "aggregated_state": 16, "source": "rest", "aggregated_source": 1}),
            json!({"state": "Other", "aggregated_state": 11, "source": "", "aggregated_source": null}),
        ]
    );
}

#[tokio::test]
async fn partition_runs_its_subquery_on_each_partition() {
    let (_d, e) = engine();
    let sorted = |mut r: Vec<Value>| {
        r.sort_by_key(|x| x.to_string());
        r
    };
    // The docs' example shape: the output is the subquery's columns only.
    let r = rows(
        &e,
        &format!("{STORMS} | partition hint.strategy=native by state (summarize n = count(), s = sum(v))"),
    )
    .await;
    assert_eq!(
        sorted(r),
        vec![
            json!({"n": 1, "s": 20}),
            json!({"n": 3, "s": 11}),
            json!({"n": 3, "s": 16})
        ]
    );
    let r = rows(
        &e,
        &format!("{STORMS} | partition by state (top 1 by v | project state, v)"),
    )
    .await;
    assert_eq!(
        sorted(r),
        vec![
            json!({"state": "A", "v": 10}),
            json!({"state": "B", "v": 4}),
            json!({"state": "C", "v": 20})
        ]
    );
    let r = rows(
        &e,
        &format!(
            "{STORMS} | partition by state (where v > 3 | summarize m = max(v) by state, source)"
        ),
    )
    .await;
    assert_eq!(
        sorted(r),
        vec![
            json!({"state": "A", "source": "x", "m": 10}),
            json!({"state": "B", "source": "z", "m": 4}),
            json!({"state": "C", "source": "y", "m": 20})
        ]
    );
}

#[tokio::test]
async fn lookup_kinds_follow_the_docs() {
    let (_d, e) = engine();
    // The docs' example: facts looked up in a dimension table; the key appears once.
    let facts = "datatable(Row:string, Personal:string, Family:string)\
        ['1', 'Rowan', 'Murphy', '2', 'Ellis', 'Turner', '3', 'Ellis', 'Turner', '4', 'Maya', 'Robinson', '5', 'Quinn', 'Campbell']";
    let dim = "datatable(Personal:string, Family:string, Alias:string)\
        ['Rowan', 'Murphy', 'rowanm', 'Ellis', 'Turner', 'ellist', 'Maya', 'Robinson', 'mayar', 'Quinn', 'Campbell', 'quinnc']";
    let r = rows(
        &e,
        &format!("{facts} | lookup kind=leftouter ({dim}) on Personal, Family | sort by Row asc"),
    )
    .await;
    assert_eq!(r.len(), 5);
    assert_eq!(
        r[0],
        json!({"Row": "1", "Personal": "Rowan", "Family": "Murphy", "Alias": "rowanm"})
    );
    // inner drops the facts without a match; leftouter keeps them with empty columns.
    let dim2 = "datatable(Personal:string, Alias:string)['Ellis', 'ellist']";
    let r = rows(&e, &format!("{facts} | lookup kind=inner ({dim2}) on Personal | sort by Row asc | project Row, Alias")).await;
    assert_eq!(
        r,
        vec![
            json!({"Row": "2", "Alias": "ellist"}),
            json!({"Row": "3", "Alias": "ellist"})
        ]
    );
    let r = rows(
        &e,
        &format!("{facts} | lookup ({dim2}) on Personal | where Row == '1' | project Row, Alias"),
    )
    .await;
    assert_eq!(r, vec![json!({"Row": "1", "Alias": ""})]);
}

#[tokio::test]
async fn parse_where_drops_the_rows_the_pattern_does_not_match() {
    let (_d, e) = engine();
    let t = "datatable(s:string)['a=1 b=x', 'a=zz b=y', 'nothing here']";
    // The docs' rule: a row whose text does not match, or whose typed capture does not
    // convert (`zz` as a long), is dropped; `parse` keeps every row.
    let r = rows(
        &e,
        &format!("{t} | parse-where s with 'a=' a:long ' b=' b | project a, b"),
    )
    .await;
    assert_eq!(r, vec![json!({"a": 1, "b": "x"})]);
    let r = rows(
        &e,
        &format!("{t} | parse s with 'a=' a:long ' b=' b | count"),
    )
    .await;
    assert_eq!(r, vec![json!({"Count": 3})]);
    // relaxed: the text matches, the failed conversion is only a null.
    let r = rows(
        &e,
        &format!("{t} | parse-where kind=relaxed s with 'a=' a:long ' b=' b | project a, b"),
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"a": 1, "b": "x"}), json!({"a": null, "b": "y"})]
    );
}
