//! Execution semantics: hand-computed results for operators, functions, joins, nulls, case
//! rules, dynamic values, tenant isolation, the 30-day window, ingestion and limits.

use std::sync::Arc;

use palisade_events::{ingest_jsonl, EventStore};
use palisade_hunting::{HuntError, HuntingEngine, Limits};
use serde_json::{json, Value};

use crate::support::{now, rows};

fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)))
}

/// Values of column `c` in row order.
async fn col(e: &HuntingEngine, q: &str, c: &str) -> Vec<Value> {
    rows(e, q).await.into_iter().map(|r| r[c].clone()).collect()
}

async fn count(e: &HuntingEngine, q: &str) -> i64 {
    let r = rows(e, &format!("{q} | count")).await;
    r[0]["Count"].as_i64().unwrap()
}

const WORDS: &str = r#"datatable(s:string)["cmd.exe /c whoami", "C:\\x\\CMD.EXE", "cmdline", "PowerShell -enc AAA", ""]"#;

#[tokio::test]
async fn string_operators() {
    let (_d, e) = engine();
    assert_eq!(
        count(&e, &format!("{WORDS} | where s has 'cmd.exe'")).await,
        2
    );
    assert_eq!(count(&e, &format!("{WORDS} | where s has 'cmd'")).await, 2);
    assert_eq!(
        count(&e, &format!("{WORDS} | where s has_cs 'cmd'")).await,
        1
    );
    assert_eq!(count(&e, &format!("{WORDS} | where s !has 'cmd'")).await, 3);
    // Term prefixes/suffixes are found among overlapping occurrences: "aa" is a suffix of the
    // term "aaa" (at offset 1, not at the first occurrence, offset 0).
    let r = rows(
        &e,
        "datatable(s:string)['aaa', 'xAAA y', 'Straße aa'] \
         | extend a = s hassuffix_cs 'aa', b = s hassuffix 'AA', c = s hasprefix_cs 'aa', \
           d = s has 'aa', f = s has_cs 'AA'",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"s": "aaa", "a": true, "b": true, "c": true, "d": false, "f": false}),
            json!({"s": "xAAA y", "a": false, "b": true, "c": false, "d": false, "f": false}),
            json!({"s": "Straße aa", "a": true, "b": true, "c": true, "d": true, "f": false}),
        ]
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s contains 'CMD'")).await,
        3
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s contains_cs 'CMD'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s startswith 'power'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s endswith '.EXE'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s hasprefix 'who'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s == 'cmdline'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s == 'CMDLINE'")).await,
        0
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s =~ 'CMDLINE'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s !~ 'CMDLINE'")).await,
        4
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s matches regex @'^cmd\\w+$'")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s in~ ('CMDLINE', 'x')")).await,
        1
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s in ('CMDLINE', 'x')")).await,
        0
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s !in ('cmdline')")).await,
        4
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s has_any ('whoami', 'enc')")).await,
        2
    );
    assert_eq!(
        count(&e, &format!("{WORDS} | where s has_all ('cmd', 'whoami')")).await,
        1
    );
    assert_eq!(count(&e, &format!("{WORDS} | where isempty(s)")).await, 1);
    assert_eq!(
        count(&e, &format!("{WORDS} | where isnotempty(s)")).await,
        4
    );
}

#[tokio::test]
async fn nulls_and_arithmetic() {
    let (_d, e) = engine();
    let t = "datatable(x:long)[1, long(null), 3]";
    assert_eq!(count(&e, &format!("{t} | where x > 1")).await, 1);
    // Kusto, unlike SQL: null != value is true, null == value is false.
    assert_eq!(count(&e, &format!("{t} | where x != 1")).await, 2);
    assert_eq!(count(&e, &format!("{t} | where not(x == 1)")).await, 2);
    assert_eq!(count(&e, &format!("{t} | where isnull(x)")).await, 1);
    // The Kusto docs' null-value table (scalar-data-types/null-values).
    let r = rows(
        &e,
        "datatable(val:int)[5, int(null)] | extend IsBiggerThan3 = val > 3, \
         IsBiggerThan3OrNull = val > 3 or isnull(val), IsEqualToNull = val == int(null), \
         IsNotEqualToNull = val != int(null), SelfEqual = val == val, \
         EqFive = val == 5, NeFive = 5 != val",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"val": 5, "IsBiggerThan3": true, "IsBiggerThan3OrNull": true, "IsEqualToNull": false,
                   "IsNotEqualToNull": true, "SelfEqual": true, "EqFive": true, "NeFive": false}),
            json!({"val": null, "IsBiggerThan3": null, "IsBiggerThan3OrNull": true, "IsEqualToNull": null,
                   "IsNotEqualToNull": null, "SelfEqual": null, "EqFive": false, "NeFive": true}),
        ]
    );
    let r = rows(
        &e,
        "datatable(a:datetime, b:bool, c:real)[datetime(null), bool(null), real(null)] \
         | project x = a == datetime(2020-01-01), y = b != true, z = c == 1.5",
    )
    .await;
    assert_eq!(r[0], json!({"x": false, "y": true, "z": false}));
    let r = rows(&e, &format!("{t} | summarize n=count(), s=sum(x), c=countif(isnull(x)), a=avg(x), mn=min(x), mx=max(x)")).await;
    assert_eq!(
        r[0],
        json!({"n": 3, "s": 4, "c": 1, "a": 2.0, "mn": 1, "mx": 3})
    );
    let r = rows(
        &e,
        "print a = 7 / 2, b = 7.0 / 2, c = -7 / 2, d = 7 % 3, e = 1 / 0",
    )
    .await;
    assert_eq!(r[0], json!({"a": 3, "b": 3.5, "c": -3, "d": 1, "e": null}));
}

#[tokio::test]
async fn datetimes_and_timespans() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "print a = datetime(2020-01-02) - datetime(2020-01-01), b = datetime(2020-01-01) + 90m, \
         c = bin(datetime(2020-01-01 13:47:00), 1h), d = 2h / 30m, e = ago(1d), f = now(), \
         g = startofday(datetime(2020-03-04 05:06:07)), h = datetime_diff('day', datetime(2020-01-10), datetime(2020-01-01)), \
         i = format_datetime(datetime(2020-01-02 03:04:05), 'yyyy-MM-dd HH:mm:ss'), j = dayofweek(datetime(2020-01-01)), \
         k = bin(17, 5), l = bin(-3, 5), m = tostring(datetime(2020-08-30T06:38:35.7664356Z))",
    )
    .await;
    assert_eq!(
        r[0],
        json!({
            "a": "1.00:00:00", "b": "2020-01-01T01:30:00.0000000Z", "c": "2020-01-01T13:00:00.0000000Z",
            "d": 4.0, "e": "2026-11-19T12:00:00.0000000Z", "f": "2026-11-20T12:00:00.0000000Z",
            "g": "2020-03-04T00:00:00.0000000Z", "h": 9, "i": "2020-01-02 03:04:05", "j": "3.00:00:00",
            "k": 15, "l": -5, "m": "2020-08-30T06:38:35.7664356Z"
        })
    );
    let t = "datatable(T:datetime, v:long)[datetime(2020-01-01 01:00), 1, datetime(2020-01-01 23:00), 2, datetime(2020-01-02 05:00), 4]";
    let r = rows(
        &e,
        &format!("{t} | summarize s=sum(v) by d=bin(T, 1d) | sort by d asc"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"d": "2020-01-01T00:00:00.0000000Z", "s": 3}),
            json!({"d": "2020-01-02T00:00:00.0000000Z", "s": 4})
        ]
    );
    assert_eq!(
        count(
            &e,
            &format!("{t} | where T between (datetime(2020-01-01) .. 1d)")
        )
        .await,
        2
    );
}

#[tokio::test]
async fn dynamic_values() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        r#"print d = parse_json('{"a":{"b":[1,2,3]},"s":"x"}') | extend x = d.a.b[1], y = tostring(d.a.b), n = array_length(d.a.b), s = tostring(d.s), z = d['a']['b'][-1], m = isnull(d.missing)"#,
    )
    .await;
    assert_eq!(r[0]["x"], json!(2));
    assert_eq!(r[0]["y"], json!("[1,2,3]"));
    assert_eq!(r[0]["n"], json!(3));
    assert_eq!(r[0]["s"], json!("x"));
    assert_eq!(r[0]["z"], json!(3));
    assert_eq!(r[0]["m"], json!(true));
    assert_eq!(r[0]["d"], json!({"a": {"b": [1, 2, 3]}, "s": "x"}));
    let r = rows(
        &e,
        r#"print p = bag_pack("k", 1, "v", "w"), a = pack_array(1, "x"), sp = split("a,b,c", ",")"#,
    )
    .await;
    assert_eq!(
        r[0],
        json!({"p": {"k": 1, "v": "w"}, "a": [1, "x"], "sp": ["a", "b", "c"]})
    );
    let t = r#"datatable(a:long, d:dynamic)[1, dynamic([1,2]), 2, dynamic(["x"]), 3, dynamic([])]"#;
    assert_eq!(count(&e, &format!("{t} | mv-expand d")).await, 3);
    let r = col(
        &e,
        &format!("{t} | mv-expand d to typeof(long) | where a == 1 | sort by d asc"),
        "d",
    )
    .await;
    assert_eq!(r, vec![json!(1), json!(2)]);
    assert_eq!(count(&e, &format!("{t} | where d has 'x'")).await, 1);
}

/// `mv-expand` of a `split()` array lists the parts without JSON text in between (in the
/// item, or in the column the `extend` before it defined); every answer is checked by hand
/// and against the JSON path the same array takes when it is not a bare `split()`.
#[tokio::test]
async fn mv_expand_of_split_parts() {
    let (_d, e) = engine();
    let t = r#"datatable(n:long, s:string, d:string)[1, "a b 12", " ", 2, "", " ", 3, "x\"y z", " ", 4, "a-b", "-", 5, "whole", ""]"#;
    // (query with split(), the same through the JSON path, expected rows)
    let cases: Vec<(String, String, Value)> = vec![
        (
            format!("{t} | extend a = split(s, d) | mv-expand a | project n, a, ty = gettype(a)"),
            format!("{t} | extend a = todynamic(tostring(split(s, d))) | mv-expand a | project n, a, ty = gettype(a)"),
            json!([
                {"n": 1, "a": "a", "ty": "string"}, {"n": 1, "a": "b", "ty": "string"},
                {"n": 1, "a": "12", "ty": "string"}, {"n": 2, "a": "", "ty": "string"},
                {"n": 3, "a": "x\"y", "ty": "string"}, {"n": 3, "a": "z", "ty": "string"},
                {"n": 4, "a": "a", "ty": "string"}, {"n": 4, "a": "b", "ty": "string"},
                {"n": 5, "a": "whole", "ty": "string"},
            ]),
        ),
        (
            format!("{t} | where n == 1 | mv-expand a = split(s, ' ') to typeof(long) | project n, a"),
            format!("{t} | where n == 1 | mv-expand a = todynamic(tostring(split(s, ' '))) to typeof(long) | project n, a"),
            json!([{"n": 1, "a": null}, {"n": 1, "a": null}, {"n": 1, "a": 12}]),
        ),
        (
            format!("{t} | extend k = strcat(s, '!'), a = split(strcat(s, '!'), ' ') | mv-expand a to typeof(string) limit 2 | project n, a"),
            format!("{t} | extend k = strcat(s, '!'), a = todynamic(tostring(split(strcat(s, '!'), ' '))) | mv-expand a to typeof(string) limit 2 | project n, a"),
            json!([
                {"n": 1, "a": "a"}, {"n": 1, "a": "b"}, {"n": 2, "a": "!"},
                {"n": 3, "a": "x\"y"}, {"n": 3, "a": "z!"}, {"n": 4, "a": "a-b!"},
                {"n": 5, "a": "whole!"},
            ]),
        ),
        (
            format!("{t} | where n < 3 | extend a = split(s, ' '), b = split('p q', ' ') | mv-expand a, b | project n, a, b"),
            format!("{t} | where n < 3 | extend a = todynamic(tostring(split(s, ' '))), b = todynamic(tostring(split('p q', ' '))) | mv-expand a, b | project n, a, b"),
            json!([
                {"n": 1, "a": "a", "b": "p"}, {"n": 1, "a": "b", "b": "q"},
                {"n": 1, "a": "12", "b": null}, {"n": 2, "a": "", "b": "p"},
                {"n": 2, "a": null, "b": "q"},
            ]),
        ),
        (
            format!("{t} | where n == 1 | extend a = split(s, ' ') | mv-expand with_itemindex = i a | project i, a"),
            format!("{t} | where n == 1 | extend a = todynamic(tostring(split(s, ' '))) | mv-expand with_itemindex = i a | project i, a"),
            json!([{"i": 0, "a": "a"}, {"i": 1, "a": "b"}, {"i": 2, "a": "12"}]),
        ),
    ];
    for (split, via_json, want) in cases {
        let got = rows(&e, &split).await;
        assert_eq!(Value::Array(got), want, "{split}");
        let got = rows(&e, &via_json).await;
        assert_eq!(Value::Array(got), want, "{via_json}");
    }
    // The list path is the one taken: no JSON array is written and parsed back.
    let plan = e
        .explain(
            "t1",
            &format!("{t} | extend a = split(s, d) | mv-expand a"),
            now(),
        )
        .unwrap();
    assert!(plan.contains("kql_mv_split_parts"), "{plan}");
    assert!(!plan.contains("kql_mv_items"), "{plan}");
    // A split that replaces the column it reads cannot be moved onto the columns the
    // `extend` passes through: its array is listed from the JSON text, with the same answers.
    let q = format!("{t} | where n == 1 | extend s = split(s, d) | mv-expand s to typeof(string) | project n, s");
    let plan = e.explain("t1", &q, now()).unwrap();
    assert!(plan.contains("kql_mv_items"), "{plan}");
    assert!(!plan.contains("kql_mv_split_parts"), "{plan}");
    assert_eq!(
        rows(&e, &q).await,
        vec![
            json!({"n": 1, "s": "a"}),
            json!({"n": 1, "s": "b"}),
            json!({"n": 1, "s": "12"})
        ]
    );
}

const L: &str = r#"datatable(k:string, a:long)["x", 1, "x", 2, "y", 3]"#;
const R: &str = r#"datatable(k:string, b:long)["x", 10, "z", 30]"#;

#[tokio::test]
async fn join_kinds() {
    let (_d, e) = engine();
    let j = |kind: &str| format!("{L} | join {kind} ({R}) on k");
    assert_eq!(
        count(&e, &j("")).await,
        1,
        "innerunique de-duplicates the left side"
    );
    assert_eq!(count(&e, &j("kind=innerunique")).await, 1);
    assert_eq!(count(&e, &j("kind=inner")).await, 2);
    assert_eq!(count(&e, &j("kind=leftouter")).await, 3);
    assert_eq!(count(&e, &j("kind=rightouter")).await, 3);
    assert_eq!(count(&e, &j("kind=fullouter")).await, 4);
    assert_eq!(count(&e, &j("kind=leftanti")).await, 1);
    assert_eq!(count(&e, &j("kind=rightanti")).await, 1);
    assert_eq!(count(&e, &j("kind=leftsemi")).await, 2);
    assert_eq!(count(&e, &j("kind=rightsemi")).await, 1);
    let r = rows(
        &e,
        &format!("{L} | join kind=inner ({R}) on k | project k, k1, a, b | sort by a asc"),
    )
    .await;
    assert_eq!(r[0], json!({"k": "x", "k1": "x", "a": 1, "b": 10}));
    let r = rows(
        &e,
        &format!("{L} | join kind=leftouter ({R}) on $left.k == $right.k | where k == 'y'"),
    )
    .await;
    assert_eq!(r[0]["b"], Value::Null);
    assert_eq!(r[0]["k1"], json!(""));
    let r = rows(&e, &format!("{L} | lookup ({R}) on k | sort by a asc")).await;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0], json!({"k": "x", "a": 1, "b": 10}));
    assert_eq!(r[2], json!({"k": "y", "a": 3, "b": null}));
}

#[tokio::test]
async fn tabular_operators() {
    let (_d, e) = engine();
    let t = r#"datatable(k:string, t:long, v:string)["a", 1, "x", "a", 3, "y", "b", 2, "z", "b", 2, "z"]"#;
    assert_eq!(count(&e, &format!("{t} | distinct k, v")).await, 3);
    assert_eq!(count(&e, &format!("{t} | take 2")).await, 2);
    assert_eq!(
        col(&e, &format!("{t} | top 2 by t"), "t").await,
        vec![json!(3), json!(2)]
    );
    assert_eq!(
        col(&e, &format!("{t} | sort by t asc, k desc | project k"), "k").await,
        vec![json!("a"), json!("b"), json!("b"), json!("a")]
    );
    let r = rows(
        &e,
        &format!("{t} | summarize arg_max(t, v) by k | sort by k asc"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"k": "a", "t": 3, "v": "y"}),
            json!({"k": "b", "t": 2, "v": "z"})
        ]
    );
    let r = rows(
        &e,
        &format!("{t} | summarize arg_min(t, *) by k | sort by k asc"),
    )
    .await;
    assert_eq!(r[0], json!({"k": "a", "t": 1, "v": "x"}));
    let r = rows(&e, &format!("{t} | summarize s = array_sort_asc(make_set(v)), l = array_length(make_list(v)), d = dcount(v), dc = dcountif(v, t > 1), c = count() by k | sort by k asc")).await;
    assert_eq!(
        r[0],
        json!({"k": "a", "s": ["x", "y"], "l": 2, "d": 2, "dc": 1, "c": 2})
    );
    assert_eq!(
        r[1],
        json!({"k": "b", "s": ["z"], "l": 2, "d": 1, "dc": 1, "c": 2})
    );
    let r = rows(&e, &format!("{t} | summarize p50 = percentile(t, 50), ms = make_set_if(v, t >= 2), sm = sumif(t, k == 'b')")).await;
    assert_eq!(r[0]["p50"], json!(2));
    assert_eq!(r[0]["sm"], json!(4));
    assert_eq!(r[0]["ms"].as_array().unwrap().len(), 2);
    let r = rows(
        &e,
        &format!(
            "{t} | where k == 'a' | project-away v | project-rename key = k | project-reorder t"
        ),
    )
    .await;
    assert_eq!(
        r[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["t", "key"]
    );
    let r = rows(
        &e,
        &format!("{t} | extend d = t * 2 | project-keep d | take 1"),
    )
    .await;
    assert_eq!(r[0].as_object().unwrap().len(), 1);
    assert_eq!(
        col(&e, "range x from 1 to 5 step 2", "x").await,
        vec![json!(1), json!(3), json!(5)]
    );
    let r = rows(
        &e,
        "print s = 'user=bob id=42' | parse s with 'user=' u ' id=' id:long | project u, id",
    )
    .await;
    assert_eq!(r[0], json!({"u": "bob", "id": 42}));
    assert_eq!(
        count(
            &e,
            "union withsource=Src (datatable(a:long)[1]), (datatable(a:long)[2, 3])"
        )
        .await,
        3
    );
    let r = rows(
        &e,
        &format!(
            "let x = materialize({t} | where k == 'a'); x | summarize c = count() | extend r = 1"
        ),
    )
    .await;
    assert_eq!(r[0], json!({"c": 2, "r": 1}));
    assert_eq!(
        count(&e, &format!("{t} | serialize | render table")).await,
        4
    );
    let r = rows(
        &e,
        &format!("{t} | summarize by k | where k in (({t} | where t > 2 | project k))"),
    )
    .await;
    assert_eq!(r, vec![json!({"k": "a"})]);
    let r = rows(
        &e,
        "print x = toscalar(datatable(a:long)[5, 7] | summarize max(a))",
    )
    .await;
    assert_eq!(r[0]["x"], json!(7));
    let r = rows(
        &e,
        "datatable(a:long, b:long)[1, long(null), 2, 5] | sort by b asc | project a",
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"a": 1}), json!({"a": 2})],
        "ascending sorts put nulls first"
    );
    let r = rows(
        &e,
        "datatable(a:long, b:long)[1, long(null), 2, 5] | sort by b desc | project a",
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"a": 2}), json!({"a": 1})],
        "descending sorts put nulls last"
    );
    let r = rows(&e, "print a = iff(1 > 2, 'y', 'n'), b = case(false, 1, true, 2, 3), c = coalesce('', 'z'), d = strcat('a', 1, 'b'), e = substring('abcdef', 2, 3), f = extract(@'(\\d+)', 1, 'abc 123'), g = replace_string('aXbX', 'X', '-'), h = toupper('x'), i = strlen('héllo'), j = trim(' ', '  x  ')").await;
    assert_eq!(
        r[0],
        json!({"a": "n", "b": 2, "c": "z", "d": "a1b", "e": "cde", "f": "123", "g": "a-b-", "h": "X", "i": 5, "j": "x"})
    );
}

async fn ingest(
    store: &EventStore,
    tenant: &str,
    table: &str,
    lines: &[Value],
) -> palisade_events::IngestReport {
    let text = lines
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    ingest_jsonl(store, tenant, table, std::io::Cursor::new(text))
        .await
        .unwrap()
}

#[tokio::test]
async fn tenant_isolation_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let recent = "2026-11-19T10:00:00Z";
    let old = "2026-10-01T10:00:00Z";
    let rep = ingest(
        &store,
        "t1",
        "DeviceProcessEvents",
        &[
            json!({"Timestamp": recent, "DeviceName": "a", "FileName": "cmd.exe"}),
            json!({"Timestamp": recent, "DeviceName": "b", "FileName": "x.exe", "ProcessId": 4}),
            json!({"Timestamp": old, "DeviceName": "c", "FileName": "old.exe"}),
        ],
    )
    .await;
    assert_eq!(rep.accepted, 3);
    ingest(
        &store,
        "t2",
        "DeviceProcessEvents",
        &[json!({"Timestamp": recent, "DeviceName": "z"})],
    )
    .await;
    let e = HuntingEngine::new(Arc::new(store));
    let n = |tenant: &'static str| {
        let e = &e;
        async move {
            let r = e
                .run(tenant, "DeviceProcessEvents | count", now())
                .await
                .unwrap();
            r.rows[0]["Count"].as_i64().unwrap()
        }
    };
    assert_eq!(n("t1").await, 2, "30-day window hides the old row");
    assert_eq!(n("t2").await, 1);
    assert_eq!(
        n("t3").await,
        0,
        "a tenant without data sees an empty table"
    );
    let r = e
        .run(
            "t2",
            "DeviceProcessEvents | project DeviceName, FileName, Timestamp",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0]["DeviceName"], json!("z"));
    assert_eq!(
        r.rows[0]["FileName"],
        json!(""),
        "missing strings read as empty"
    );
    assert_eq!(
        r.rows[0]["Timestamp"],
        json!("2026-11-19T10:00:00.0000000Z")
    );
    assert_eq!(
        crate::support::columns(&r)[2],
        ("Timestamp".to_string(), "DateTime".to_string())
    );
    // A union over wildcards also stays inside the tenant.
    let r = e
        .run("t2", "union Device*Events | summarize c = count()", now())
        .await
        .unwrap();
    assert_eq!(r.rows[0]["c"], json!(1));
    // table('Name') is the same tenant-scoped scan as the bare name, also through a function
    // parameter; a name is looked up in the catalog, never used as a path.
    for q in [
        "table('DeviceProcessEvents') | count",
        "table('DeviceProcessEvents', 'all') | count",
        "let f = (t:string) { table(t) | count }; f('DeviceProcessEvents')",
        // table() reaches the table a `let` of the same name hides, as in Kusto.
        "let DeviceProcessEvents = datatable(a:int)[1, 2, 3]; table('DeviceProcessEvents') | count",
    ] {
        let r = e.run("t2", q, now()).await.unwrap();
        assert_eq!(r.rows[0]["Count"], json!(1), "{q}");
    }
    for q in [
        "table('../t1/DeviceProcessEvents') | count",
        "table('tenant=t1') | count",
        "table(strcat('Device', 'ProcessEvents')) | count",
        "table('DeviceProcessEvents', 'everything') | count",
    ] {
        assert!(
            matches!(e.run("t2", q, now()).await, Err(HuntError::Semantic { .. })),
            "{q}"
        );
    }
    assert!(matches!(
        e.run("../t1", "DeviceProcessEvents", now()).await,
        Err(HuntError::InvalidTenant)
    ));
}

#[tokio::test]
async fn ingest_rejects_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let text = [
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "DeviceName": "ok"}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "Bogus": 1}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "ProcessId": "notanumber"}"#,
        r#"{"Timestamp": "yesterday"}"#,
        r#"not json"#,
        r#"{"DeviceName": "no timestamp"}"#,
        r#"["an", "array"]"#,
    ]
    .join("\n");
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceProcessEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert_eq!(rep.accepted, 1);
    let lines: Vec<usize> = rep.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7]);
    assert!(rep.rejected[0].message.contains("unknown column 'Bogus'"));
    assert!(rep.rejected[1].message.contains("ProcessId"));
    assert!(rep.rejected[3].message.starts_with("invalid JSON"));
    assert_eq!(rep.rejected[4].message, "missing Timestamp");
    assert_eq!(rep.rejected[5].message, "expected a JSON object");
    assert!(matches!(
        ingest_jsonl(&store, "t1", "NoSuchTable", std::io::Cursor::new("")).await,
        Err(palisade_events::StoreError::UnknownTable(n)) if n == "NoSuchTable"
    ));
    assert!(matches!(
        ingest_jsonl(
            &store,
            "../t2",
            "DeviceProcessEvents",
            std::io::Cursor::new("")
        )
        .await,
        Err(palisade_events::StoreError::InvalidTenant(_))
    ));
}

#[tokio::test]
async fn limits_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let e = HuntingEngine::new(Arc::new(store)).with_limits(Limits {
        max_rows: 2,
        ..Limits::default()
    });
    let r = e
        .run("t1", "range x from 1 to 10 step 1", now())
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    assert!(r.truncated);
    let r = e
        .run("t1", "range x from 1 to 2 step 1", now())
        .await
        .unwrap();
    assert!(!r.truncated);
    assert!(matches!(
        e.run("t1", "DeviceProcessEvents | where", now()).await,
        Err(HuntError::Syntax { .. })
    ));
    assert!(matches!(
        e.run("t1", "DeviceProcessEvents | where Nope == 1", now())
            .await,
        Err(HuntError::Semantic { .. })
    ));
    // Several top-nested levels run (operators.rs checks their values).
    let r = e
        .run(
            "t1",
            "DeviceProcessEvents | top-nested 2 of DeviceName by count(), top-nested 1 of FileName by count()",
            now(),
        )
        .await
        .unwrap();
    assert_eq!(r.schema.columns.len(), 4);
    match e.run("t1", "print x = 1 | reduce by x", now()).await {
        Err(HuntError::Unsupported { name, .. }) => assert_eq!(name, "reduce"),
        other => panic!("expected unsupported, got {other:?}"),
    }
    let text = e
        .explain("t1", "DeviceProcessEvents | take 1", now())
        .unwrap();
    assert!(text.contains("Logical plan"));
    // Several statements: the first result is returned.
    let r = e
        .run("t1", "print a = 1;\nprint b = 2", now())
        .await
        .unwrap();
    assert_eq!(r.schema.columns[0].name, "a");
}

#[tokio::test]
async fn row_order_functions() {
    let (_d, e) = engine();
    let t = "datatable(a:long)[30, 10, 20] | sort by a asc";
    let r = rows(
        &e,
        &format!("{t} | extend n = row_number(), p = prev(a), q = next(a, 1, -1)"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"a": 10, "n": 1, "p": null, "q": 20}),
            json!({"a": 20, "n": 2, "p": 10, "q": 30}),
            json!({"a": 30, "n": 3, "p": 20, "q": -1}),
        ]
    );
    let r = rows(&e, "print s = make_string(72, 105)").await;
    assert_eq!(r[0]["s"], json!("Hi"));
}

#[tokio::test]
async fn memory_limit_and_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EventStore::open(dir.path()).unwrap());
    let q = "range x from 1 to 200000 step 1 | summarize c = count() by k = x % 100000, s = tostring(x) | count";
    let small = HuntingEngine::new(store.clone()).with_limits(Limits {
        memory_bytes: 64 * 1024,
        ..Limits::default()
    });
    match small.run("t1", q, now()).await {
        Err(HuntError::TooLarge(_)) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let quick = HuntingEngine::new(store.clone()).with_limits(Limits {
        timeout: std::time::Duration::from_millis(1),
        ..Limits::default()
    });
    match quick.run("t1", q, now()).await {
        Err(HuntError::Timeout(_)) => {}
        other => panic!("expected Timeout, got {other:?}"),
    }
    let big = HuntingEngine::new(store);
    let r = big.run("t1", q, now()).await.unwrap();
    assert_eq!(r.rows[0]["Count"], json!(200000));
    assert!(r.stats.peak_memory_bytes > 0);
}

#[tokio::test]
async fn row_number_in_where() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "datatable(a:long)[30, 10, 20] | sort by a asc | where row_number() == 2",
    )
    .await;
    assert_eq!(r, vec![json!({"a": 20})]);
}

#[tokio::test]
async fn sample_takes_n_rows() {
    let (_d, e) = engine();
    assert_eq!(
        count(&e, "range x from 1 to 100 step 1 | sample 7").await,
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_estate_is_deterministic_and_queryable() {
    use palisade_events::{seed_events, Estate};
    let estate = Estate::sample(42);
    assert_eq!(estate.devices[0].device_id.len(), 40);
    let mut counts = Vec::new();
    let mut engines = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        let n = seed_events(&store, "t1", &estate, 3000, now(), |_| {})
            .await
            .unwrap();
        counts.push(n);
        engines.push((dir, HuntingEngine::new(Arc::new(store))));
    }
    assert_eq!(counts[0], counts[1]);
    let e = &engines[0].1;
    let per_table = |q: &'static str| async move {
        let r = e.run("t1", q, now()).await.unwrap();
        r.rows
            .iter()
            .map(|r| r.get("Count").and_then(Value::as_i64).unwrap_or(0))
            .sum::<i64>()
    };
    let other = &engines[1].1;
    let q = "union withsource=T Device*, Email*, Identity*, CloudAppEvents, Alert* | summarize Count = count() by T | sort by T asc";
    let a = e.run("t1", q, now()).await.unwrap().rows;
    let b = other.run("t1", q, now()).await.unwrap().rows;
    assert_eq!(a, b, "same seed, same data");
    assert!(a.len() >= 12, "events spread over the main tables: {a:?}");
    assert!(per_table("DeviceProcessEvents | where ProcessCommandLine has_any ('-enc', 'shadows', 'urlcache', '/add') | count").await > 0);
    assert!(per_table("DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId | take 5 | count").await > 0);
    assert!(
        per_table("EmailEvents | join EmailAttachmentInfo on NetworkMessageId | count").await > 0
    );
    assert!(per_table("IdentityLogonEvents | where tostring(AdditionalFields.Spns) startswith 'krbtgt' | count").await > 0);
    assert!(
        per_table(
            "AlertInfo | join AlertEvidence on AlertId | where EntityType == 'Machine' | count"
        )
        .await
            > 0
    );
    let days = e
        .run(
            "t1",
            "DeviceProcessEvents | summarize count() by bin(Timestamp, 1d)",
            now(),
        )
        .await
        .unwrap();
    assert!(days.rows.len() >= 25, "events spread over the 30 days");
}

#[tokio::test]
async fn scalar_functions() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        r#"print a = int(7) / int(0), b = toint("12") + 1, c = tolong("x"), d = todouble("1.5"), f = tobool("true"),
           g = todatetime("2020-01-01"), h = totimespan("01:00:00"), i = gettype(parse_json("[1]")),
           j = base64_decode_tostring("aGk="), k = tostring(parse_path(@"C:\a\b.txt").Filename),
           l = ipv4_is_private("10.1.2.3"), m = ipv4_is_in_range("10.1.2.3", "10.1.0.0/16"), n = countof("aaa", "a"),
           o = indexof("abc", "c"), p = url_decode("a%20b"), q = array_length(extract_all(@"(\d)", "a1b2")),
           s = round(2.567, 2), t = strcat_delim("-", "a", 1), u = tostring(parse_url("https://h.com:8443/p?q=1").Host),
           v = tostring(parse_command_line(@'a.exe "b c" d', "windows")[1])"#,
    )
    .await;
    assert_eq!(
        r[0],
        json!({"a": null, "b": 13, "c": null, "d": 1.5, "f": true, "g": "2020-01-01T00:00:00.0000000Z",
               "h": "01:00:00", "i": "array", "j": "hi", "k": "b.txt", "l": true, "m": true, "n": 3, "o": 2,
               "p": "a b", "q": 2, "s": 2.57, "t": "a-1", "u": "h.com", "v": "b c"})
    );
}

#[tokio::test]
async fn top_nested_and_partition() {
    let (_d, e) = engine();
    let t = r#"datatable(k:string, d:string, t:long)["a", "x", 1, "a", "y", 2, "b", "x", 3, "c", "z", 4, "c", "v", 5, "c", "w", 6]"#;
    let r = rows(&e, &format!("{t} | top-nested 2 of k by dcount(d) asc")).await;
    assert_eq!(
        r,
        vec![
            json!({"k": "b", "aggregated_k": 1}),
            json!({"k": "a", "aggregated_k": 2})
        ]
    );
    let r = rows(
        &e,
        &format!("{t} | partition by k (top 1 by t) | sort by k asc | project k, t"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"k": "a", "t": 2}),
            json!({"k": "b", "t": 3}),
            json!({"k": "c", "t": 6})
        ]
    );
}

#[tokio::test]
async fn hash_functions() {
    let (_d, e) = engine();
    // The Kusto docs' examples (verified with sha256sum/sha1sum/md5sum): a datetime is hashed
    // through its string form "2020-01-01T00:00:00.0000000Z".
    let r = rows(
        &e,
        "print h1 = hash_sha256('World'), h2 = hash_sha256(datetime(2020-01-01)), \
         s1 = hash_sha1('World'), s2 = hash_sha1(datetime(2020-01-01)), \
         m1 = hash_md5('World'), m2 = hash_md5(datetime(2020-01-01))",
    )
    .await;
    assert_eq!(
        r[0],
        json!({
            "h1": "78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524",
            "h2": "ba666752dc1a20eb750b0eb64e780cc4c968bc9fb8813461c1d7e750f302d71d",
            "s1": "70c07ec18ef89c5309bbb0937f3a6342411e1fdd",
            "s2": "e903e533f4d636b4fc0dcf3cf81e7b7f330de776",
            "m1": "f5a7924e621e84c9280a9a27e1bcb7f6",
            "m2": "786c530672d1f8db31fee25ea8a9390b"
        })
    );
    // Per row, over a column; numbers hash as their string form ("42"); the empty string is
    // hashed; a null number gives the null string "".
    let r = rows(
        &e,
        "datatable(s:string, n:long)['TEXAS', 42, '', long(null)] \
         | project a = hash_sha256(s), b = hash_md5(n), c = hash_sha1(s)",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({
                "a": "9087f20f23f91b5a77e8406846117049029e6798ebbd0d38aea68da73a00ca37",
                "b": "a1d0c6e83f027327d8461063f4ac58a6",
                "c": "3128d805194d4e6141766cc846778eeacb12e3ea"
            }),
            json!({
                "a": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "b": "",
                "c": "da39a3ee5e6b4b0d3255bfef95601890afd80709"
            })
        ]
    );
    // Grouping by a hash, as in the docs' StormEvents example.
    let r = rows(
        &e,
        "datatable(State:string)['TEXAS', 'IOWA', 'TEXAS'] \
         | summarize StormCount = count() by State, StateHash = hash_sha256(State) \
         | top 1 by StormCount desc",
    )
    .await;
    assert_eq!(
        r[0],
        json!({"State": "TEXAS",
               "StateHash": "9087f20f23f91b5a77e8406846117049029e6798ebbd0d38aea68da73a00ca37",
               "StormCount": 2})
    );
    // hash() / hash_xxhash64(): xxHash64. The Kusto docs' three examples, exactly.
    let r = rows(
        &e,
        "print a = hash('World'), b = hash('World', 100), \
         c = hash_xxhash64(datetime('2015-01-01')), d = hash_xxhash64('World')",
    )
    .await;
    assert_eq!(
        r[0],
        json!({"a": 1846988464401551951i64, "b": 51, "c": 1380966698541616202i64,
               "d": 1846988464401551951i64})
    );
    // Per row. Hashes at or above 2^63 come back as negative longs, and `mod` applies to the
    // unsigned hash (so it stays in 0..mod-1); the values are xxh64 computed independently
    // (Python's xxhash) of "" and of 90 minutes' ticks as a little-endian i64. A null
    // string is Kusto's "", a null datetime gives null, and `mod` <= 0 gives null.
    let r = rows(
        &e,
        "datatable(s:string, d:datetime, t:timespan)\
         ['World', datetime(2015-01-01), 90m, string(null), datetime(null), 90m] \
         | project hs = hash(s), hd = hash(d), ht = hash(t), ht7 = hash(t, 7), bad = hash(s, 0)",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"hs": 1846988464401551951i64, "hd": 1380966698541616202i64,
                   "ht": -7580954439752398870i64, "ht7": 5, "bad": null}),
            json!({"hs": -1205034819632174695i64, "hd": null,
                   "ht": -7580954439752398870i64, "ht7": 5, "bad": null}),
        ]
    );
    // Types whose byte encoding Kusto does not document are rejected by name, not guessed.
    for q in [
        "print hash(42)",
        "print hash(1.5)",
        "print hash(dynamic([1]))",
    ] {
        match e.run("t1", q, now()).await {
            Err(HuntError::Unsupported { name, .. }) => {
                assert!(name.starts_with("hash of "), "{name}")
            }
            other => panic!("{q}: expected unsupported, got {other:?}"),
        }
    }
}

/// The Kusto docs' relaxed-mode input: row 1 and 3 have an invalid releaseTime, rows 3 and 5
/// an invalid totalSlices, row 2 an invalid releaseTime.
const SLICES: &str = r#"datatable(EventText:string)[
  "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=nonValidDateTime 08:40:01, previousLockTime=02/17/2016 08:39:01)",
  "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=15, lockTime=02/17/2016 08:40:00, releaseTime=nonValidDateTime, previousLockTime=02/17/2016 08:39:00)",
  "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=nonValidLongValue, sliceNumber=20, lockTime=02/17/2016 08:40:01, releaseTime=nonValidDateTime 08:40:01, previousLockTime=02/17/2016 08:39:01)",
  "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=22, lockTime=02/17/2016 08:41:01, releaseTime=02/17/2016 08:41:00, previousLockTime=02/17/2016 08:40:01)",
  "Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=nonValidLongValue, sliceNumber=16, lockTime=02/17/2016 08:41:00, releaseTime=02/17/2016 08:41:00, previousLockTime=02/17/2016 08:40:00)"
]"#;

const SLICE_PATTERN: &str = r#"EventText with * "resourceName=" resourceName ", totalSlices=" totalSlices: long ", sliceNumber=" sliceNumber: long * "lockTime=" lockTime ", releaseTime=" releaseTime: date "," * "previousLockTime=" previousLockTime: date ")" * | project-away EventText"#;

fn slice(r: &str, total: Value, n: i64, lock: &str, release: Value, prev: &str) -> Value {
    json!({"resourceName": r, "totalSlices": total, "sliceNumber": n, "lockTime": lock,
           "releaseTime": release, "previousLockTime": prev})
}

#[tokio::test]
async fn two_parses_of_one_column_keep_their_own_patterns() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "print s = 'a=1;b=2' | parse s with 'a=' a ';' * | parse s with * 'b=' b | project a, b",
    )
    .await;
    assert_eq!(r[0], json!({"a": "1", "b": "2"}));
}

/// `parse` runs its pattern once per row, whatever the number of columns it extracts: the
/// optimised plan computes the captures' struct once (a common expression) and reads each
/// column out of it.
#[tokio::test]
async fn parse_matches_once_per_row_for_all_its_columns() {
    let (_d, e) = engine();
    let q = "datatable(s:string)['x http://h1/p/1', 'http://h2/', 'none'] \
             | parse s with * 'http://' Host '/' Path | project Host, Path";
    let r = rows(&e, q).await;
    assert_eq!(
        r,
        vec![
            json!({"Host": "h1", "Path": "p/1"}),
            json!({"Host": "h2", "Path": ""}),
            json!({"Host": "", "Path": ""}),
        ]
    );
    let plan = e.explain("t1", q, now()).unwrap();
    let (unoptimised, optimised) = plan
        .split_once("== Optimized plan ==")
        .unwrap_or_else(|| panic!("no optimised plan in {plan}"));
    assert!(unoptimised.contains("kql_parse_capture_1"), "{plan}");
    assert_eq!(optimised.matches("kql_parse_groups_").count(), 1, "{plan}");
}

#[tokio::test]
async fn parse_relaxed_vs_simple() {
    let (_d, e) = engine();
    let t = |s: &str| Value::String(format!("2016-02-17T{s}.0000000Z"));
    let ps = "PipelineScheduler";
    // Relaxed (the docs' example): a typed column that does not convert is null on its own.
    let r = rows(
        &e,
        &format!("{SLICES} | parse kind=relaxed {SLICE_PATTERN}"),
    )
    .await;
    assert_eq!(
        r,
        vec![
            slice(
                ps,
                json!(27),
                23,
                "02/17/2016 08:40:01",
                Value::Null,
                "2016-02-17T08:39:01.0000000Z"
            ),
            slice(
                ps,
                json!(27),
                15,
                "02/17/2016 08:40:00",
                Value::Null,
                "2016-02-17T08:39:00.0000000Z"
            ),
            slice(
                ps,
                Value::Null,
                20,
                "02/17/2016 08:40:01",
                Value::Null,
                "2016-02-17T08:39:01.0000000Z"
            ),
            slice(
                ps,
                json!(27),
                22,
                "02/17/2016 08:41:01",
                t("08:41:00"),
                "2016-02-17T08:40:01.0000000Z"
            ),
            slice(
                ps,
                Value::Null,
                16,
                "02/17/2016 08:41:00",
                t("08:41:00"),
                "2016-02-17T08:40:00.0000000Z"
            ),
        ]
    );
    // Simple (the default) on the same input: strict, so only the fully valid row parses; the
    // others get null in every extended column ("" for strings).
    let empty = json!({"resourceName": "", "totalSlices": null, "sliceNumber": null,
                       "lockTime": "", "releaseTime": null, "previousLockTime": null});
    for kind in ["", "kind=simple "] {
        let r = rows(&e, &format!("{SLICES} | parse {kind}{SLICE_PATTERN}")).await;
        assert_eq!(
            r,
            vec![
                empty.clone(),
                empty.clone(),
                empty.clone(),
                slice(
                    ps,
                    json!(27),
                    22,
                    "02/17/2016 08:41:01",
                    t("08:41:00"),
                    "2016-02-17T08:40:01.0000000Z"
                ),
                empty.clone(),
            ],
            "parse {kind}"
        );
    }
    // Relaxed with a number where one is expected still parses it; text after a number
    // without a delimiter is not a number.
    let r = rows(
        &e,
        "datatable(s:string)['a=12;b=x7;c=3.5', 'a=-4;b=9;c=z'] \
         | parse kind=relaxed s with 'a=' a:long ';b=' b:int ';c=' c:real",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"s": "a=12;b=x7;c=3.5", "a": 12, "b": null, "c": 3.5}),
            json!({"s": "a=-4;b=9;c=z", "a": -4, "b": 9, "c": null})
        ]
    );
    // Delimiters must still all appear in relaxed mode.
    let r = rows(
        &e,
        "print s = 'a=1' | parse kind=relaxed s with 'a=' a:long ';b=' b:long | project a, b",
    )
    .await;
    assert_eq!(r, vec![json!({"a": null, "b": null})]);
}

#[tokio::test]
async fn parse_regex_and_flags() {
    let (_d, e) = engine();
    let one = r#"datatable(EventText:string)["Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=02/17/2016 08:40:01, previousLockTime=02/17/2016 08:39:01)"]"#;
    // Greedy by default (the docs' example): the capture runs to the last ','.
    let r = col(
        &e,
        &format!("{one} | parse kind=regex EventText with * \"resourceName=\" resourceName ',' * | project resourceName"),
        "resourceName",
    )
    .await;
    assert_eq!(
        r,
        vec![json!("PipelineScheduler, totalSlices=27, sliceNumber=23, lockTime=02/17/2016 08:40:01, releaseTime=02/17/2016 08:40:01")]
    );
    // The docs' regex example: the pattern's own groups do not shift the captures.
    let r = rows(
        &e,
        &format!(
            r#"{one} | parse kind=regex EventText with "(.*?)[a-zA-Z]*=" resourceName @", totalSlices=\s*\d+\s*.*?sliceNumber=" sliceNumber: long ".*?(previous)?lockTime=" lockTime ".*?releaseTime=" releaseTime ".*?previousLockTime=" previousLockTime: date "\\)" | project-away EventText"#
        ),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"resourceName": "PipelineScheduler", "sliceNumber": 23,
                    "lockTime": "02/17/2016 08:40:01, ", "releaseTime": "02/17/2016 08:40:01, ",
                    "previousLockTime": "2016-02-17T08:39:01.0000000Z"})
        ]
    );
    // flags=Ui: ungreedy and case-insensitive.
    let r = col(
        &e,
        &format!("{one} | parse kind=regex flags=Ui EventText with * \"RESOURCENAME=\" resourceName ',' * | project resourceName"),
        "resourceName",
    )
    .await;
    assert_eq!(r, vec![json!("PipelineScheduler")]);
    // Without i the upper-case delimiter does not match: the capture is empty.
    let r = col(
        &e,
        &format!("{one} | parse kind=regex flags=U EventText with * \"RESOURCENAME=\" resourceName ',' * | project resourceName"),
        "resourceName",
    )
    .await;
    assert_eq!(r, vec![json!("")]);
    // flags=s lets '.' cross newlines; regex delimiters and typed captures.
    let r = rows(
        &e,
        r#"print s = "name=A\nsize=42\nend" | parse kind=regex flags=s s with "name=" n:string "(.*?)size=" size:long "\\nend" | project n, size"#,
    )
    .await;
    assert_eq!(r, vec![json!({"n": "A\n", "size": 42})]);
    let r = rows(
        &e,
        r#"print s = "name=A\nsize=42\nend" | parse kind=regex s with "name=" n:string "(.*?)size=" size:long "\\nend" | project n, size"#,
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"n": "", "size": null})],
        "without s, '.' stops at newlines"
    );
}

const SERIES: &str = "let T = datatable(t:datetime, k:string, v:long)[
    datetime(2026-11-01T00:00:00Z), 'a', 1,
    datetime(2026-11-01T05:00:00Z), 'a', 2,
    datetime(2026-11-03T01:00:00Z), 'a', 4,
    datetime(2026-11-02T10:00:00Z), 'b', 8,
    datetime(2026-11-09T00:00:00Z), 'c', 16];";

fn days(from: u32, n: u32) -> Value {
    Value::Array(
        (from..from + n)
            .map(|d| json!(format!("2026-11-{d:02}T00:00:00.0000000Z")))
            .collect(),
    )
}

#[tokio::test]
async fn make_series_fills_gaps_with_defaults() {
    let (_d, e) = engine();
    // from/to given: bins 11-01, 11-02, 11-03; 'c' has no row inside [from, to) so no series.
    let r = rows(
        &e,
        &format!(
            "{SERIES} T | make-series n = count(), s = sum(v) default = -1, m = max(v) on t \
             from datetime(2026-11-01) to datetime(2026-11-04) step 1d by k | order by k asc"
        ),
    )
    .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0]["k"], json!("a"));
    assert_eq!(r[0]["n"], json!([2, 0, 1]));
    assert_eq!(r[0]["s"], json!([3, -1, 4]));
    assert_eq!(r[0]["m"], json!([2, 0, 4]));
    assert_eq!(r[0]["t"], days(1, 3));
    assert_eq!(r[1]["k"], json!("b"));
    assert_eq!(r[1]["n"], json!([0, 1, 0]));
    assert_eq!(r[1]["s"], json!([-1, 8, -1]));
    assert_eq!(r[1]["t"], days(1, 3));
    // Output columns: keys, one dynamic array per aggregate, the axis last.
    let res = e
        .run(
            "t1",
            &format!("{SERIES} T | make-series avg(v) on t step 1d by k"),
            now(),
        )
        .await
        .unwrap();
    let columns = crate::support::columns(&res);
    let cols: Vec<(&str, &str)> = columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        cols,
        [("k", "String"), ("avg_v", "Object"), ("t", "Object")]
    );
    // avg's default 0 becomes the real 0.0.
    let r = rows(
        &e,
        &format!(
            "{SERIES} T | where k == 'a' | make-series avg(v) on t \
             from datetime(2026-11-01) to datetime(2026-11-04) step 1d"
        ),
    )
    .await;
    assert_eq!(r[0]["avg_v"], json!([1.5, 0.0, 4.0]));
}

#[tokio::test]
async fn make_series_axis_from_the_data() {
    let (_d, e) = engine();
    // Neither from nor to: bins from the first to the last bin with data in any series,
    // aligned like bin(t, 1d); every series shares the axis.
    let r = rows(
        &e,
        &format!("{SERIES} T | make-series c = count() on t step 1d by k | order by k asc"),
    )
    .await;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["c"], json!([2, 0, 1, 0, 0, 0, 0, 0, 0]));
    assert_eq!(r[1]["c"], json!([0, 1, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(r[2]["c"], json!([0, 0, 0, 0, 0, 0, 0, 0, 1]));
    for row in &r {
        assert_eq!(row["t"], days(1, 9));
    }
    // Only to: rows at or after it are dropped, the start comes from the remaining data.
    let r = rows(
        &e,
        &format!("{SERIES} T | make-series c = count() on t to datetime(2026-11-04) step 1d"),
    )
    .await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["c"], json!([2, 1, 1]));
    assert_eq!(r[0]["t"], days(1, 3));
    // from not on a bin boundary: bins are aligned to from; to is exclusive and the last
    // bin is the last start + k * step below it.
    let q = |to: &str| {
        format!(
            "{SERIES} T | make-series c = count() on t from datetime(2026-11-01T12:00:00Z) \
             to datetime({to}) step 1d by k | order by k asc"
        )
    };
    let r = rows(&e, &q("2026-11-03T12:00:00Z")).await;
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["c"], json!([0, 1]));
    assert_eq!(r[1]["c"], json!([1, 0]));
    assert_eq!(
        r[0]["t"],
        json!([
            "2026-11-01T12:00:00.0000000Z",
            "2026-11-02T12:00:00.0000000Z"
        ])
    );
    let r = rows(&e, &q("2026-11-03T13:00:00Z")).await;
    assert_eq!(r[0]["c"], json!([0, 1, 0]));
    assert_eq!(r[0]["t"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn make_series_numeric_axes() {
    let (_d, e) = engine();
    // Long axis, bins aligned to 0 (floor for negatives).
    let r = rows(
        &e,
        "datatable(x:long, y:real)[1, 1.5, 2, 2.5, 7, 1.0, -3, 4.0] | make-series avg(y) on x step 5",
    )
    .await;
    assert_eq!(r[0]["x"], json!([-5, 0, 5]));
    assert_eq!(r[0]["avg_y"], json!([4.0, 2.0, 1.0]));
    // Real axis with explicit bounds.
    let r = rows(
        &e,
        "datatable(x:real)[0.25, 0.3, 1.1, 1.6] | make-series c = count() on x from 0.0 to 1.5 step 0.5",
    )
    .await;
    assert_eq!(r[0]["c"], json!([2, 0, 1]));
    assert_eq!(r[0]["x"], json!([0.0, 0.5, 1.0]));
}

#[tokio::test]
async fn make_series_expands_and_edge_cases() {
    let (_d, e) = engine();
    // The arrays expand back into rows with mv-expand ... to typeof(...).
    let r = rows(
        &e,
        &format!(
            "{SERIES} T | make-series c = count() on t from datetime(2026-11-01) \
             to datetime(2026-11-04) step 1d by k | mv-expand t to typeof(datetime), \
             c to typeof(long) | where k == 'a' | order by t asc | project t, c"
        ),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"t": "2026-11-01T00:00:00.0000000Z", "c": 2}),
            json!({"t": "2026-11-02T00:00:00.0000000Z", "c": 0}),
            json!({"t": "2026-11-03T00:00:00.0000000Z", "c": 1}),
        ]
    );
    // Empty input: no rows, unless kind=nonempty (one row of defaults).
    let empty = format!("{SERIES} T | where v > 100 | make-series");
    let tail = "count() default = 5 on t from datetime(2026-11-01) to datetime(2026-11-03) step 1d";
    assert_eq!(count(&e, &format!("{empty} {tail}")).await, 0);
    let r = rows(&e, &format!("{empty} kind=nonempty {tail}")).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["count_"], json!([5, 5]));
    assert_eq!(r[0]["t"], days(1, 2));
    // Aggregates outside the documented make-series list are rejected by name.
    match e
        .run(
            "t1",
            &format!("{SERIES} T | make-series make_set(k) on t step 1d"),
            now(),
        )
        .await
    {
        Err(HuntError::Unsupported { name, .. }) => assert_eq!(name, "make_set in make-series"),
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert!(matches!(
        e.run(
            "t1",
            &format!("{SERIES} T | make-series count() on t step 0d"),
            now()
        )
        .await,
        Err(HuntError::Semantic { .. })
    ));
}

/// Column names and API types of a result.
async fn schema_of(e: &HuntingEngine, tenant: &str, q: &str) -> Vec<(String, String)> {
    match e.run(tenant, q, now()).await {
        Ok(r) => crate::support::columns(&r),
        Err(err) => panic!("query failed: {err}\n{q}"),
    }
}

fn cols(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

const BAGS: &str = r#"datatable(id:long, d:dynamic)[
    1, dynamic({"Name": "John", "Age": 20}),
    2, dynamic({"Name": "Dave", "Age": 40, "Height": 170.5, "Tags": ["x"]}),
    3, dynamic({"Age": "old", "Name": null}),
    4, dynamic(null)]"#;

#[tokio::test]
async fn bag_unpack_plugin() {
    let (_d, e) = engine();
    let q = format!("{BAGS} | evaluate bag_unpack(d) | order by id asc");
    // The bag column is replaced by one column per slot, in slot order; a slot whose non-null
    // values share a type gets that type, mixed slots and arrays are dynamic.
    assert_eq!(
        schema_of(&e, "t1", &q).await,
        cols(&[
            ("id", "Int64"),
            ("Age", "Object"),
            ("Height", "Double"),
            ("Name", "String"),
            ("Tags", "Object")
        ])
    );
    let r = rows(&e, &q).await;
    assert_eq!(
        r,
        vec![
            json!({"id": 1, "Age": 20, "Height": null, "Name": "John", "Tags": null}),
            json!({"id": 2, "Age": 40, "Height": 170.5, "Name": "Dave", "Tags": ["x"]}),
            json!({"id": 3, "Age": "old", "Height": null, "Name": "", "Tags": null}),
            json!({"id": 4, "Age": null, "Height": null, "Name": "", "Tags": null}),
        ]
    );
    // Prefix.
    let names: Vec<String> = schema_of(&e, "t1", &format!("{BAGS} | evaluate bag_unpack(d, 'p_')"))
        .await
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(names, ["id", "p_Age", "p_Height", "p_Name", "p_Tags"]);
    // The corpus shape: bags built by summarize, then unpacked.
    let r = rows(
        &e,
        "datatable(DeviceId:string, DeviceName:string, Test:string, Result:string)[
            'd1', 'n1', 'av', 'on', 'd1', 'n1', 'fw', 'off', 'd2', 'n2', 'av', 'off']
         | extend packed = bag_pack(Test, Result)
         | summarize Tests = make_bag(packed), DeviceName = any(DeviceName) by DeviceId
         | evaluate bag_unpack(Tests) | order by DeviceId asc",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"DeviceId": "d1", "DeviceName": "n1", "av": "on", "fw": "off"}),
            json!({"DeviceId": "d2", "DeviceName": "n2", "av": "off", "fw": ""}),
        ]
    );
    // No bags at all: only the column disappears.
    let names: Vec<String> = schema_of(
        &e,
        "t1",
        "datatable(id:long, d:dynamic)[1, dynamic(null)] | evaluate bag_unpack(d)",
    )
    .await
    .into_iter()
    .map(|c| c.0)
    .collect();
    assert_eq!(names, ["id"]);
    // A slot named like a kept column is an error (Kusto's default columnsConflict).
    assert!(matches!(
        e.run(
            "t1",
            r#"datatable(Name:string, d:dynamic)['x', dynamic({"Name": "y"})] | evaluate bag_unpack(d)"#,
            now()
        )
        .await,
        Err(HuntError::Semantic { .. })
    ));
}

const THREATS: &str = "datatable(Who:string, Type:string, N:long)[
    'a', 'Phish', 1, 'a', 'Malware', 2, 'a', 'Phish', 3, 'b', 'Spam', 4, 'c', '', 5]";

#[tokio::test]
async fn pivot_plugin() {
    let (_d, e) = engine();
    // Default count(), keys = the other columns, one column per value in ordinal order.
    let q = format!("{THREATS} | project Who, Type | evaluate pivot(Type) | order by Who asc");
    assert_eq!(
        schema_of(&e, "t1", &q).await,
        cols(&[
            ("Who", "String"),
            ("", "Int64"),
            ("Malware", "Int64"),
            ("Phish", "Int64"),
            ("Spam", "Int64")
        ])
    );
    assert_eq!(
        rows(&e, &q).await,
        vec![
            json!({"Who": "a", "": 0, "Malware": 1, "Phish": 2, "Spam": 0}),
            json!({"Who": "b", "": 0, "Malware": 0, "Phish": 0, "Spam": 1}),
            json!({"Who": "c", "": 1, "Malware": 0, "Phish": 0, "Spam": 0}),
        ]
    );
    // An aggregation: the column it reads is not a key; empty cells of sum are 0.
    let q = format!("{THREATS} | evaluate pivot(Type, sum(N)) | order by Who asc");
    let expected = vec![
        json!({"Who": "a", "": 0, "Malware": 2, "Phish": 4, "Spam": 0}),
        json!({"Who": "b", "": 0, "Malware": 0, "Phish": 0, "Spam": 4}),
        json!({"Who": "c", "": 5, "Malware": 0, "Phish": 0, "Spam": 0}),
    ];
    assert_eq!(rows(&e, &q).await, expected);
    let q = format!("{THREATS} | evaluate pivot(Type, sum(N), Who) | order by Who asc");
    assert_eq!(rows(&e, &q).await, expected);
    // No columns left for keys: one row. Explicit keys: only those; max leaves empty cells
    // null.
    let q = format!("{THREATS} | where Who != 'c' | project Who, N | evaluate pivot(Who, max(N))");
    assert_eq!(rows(&e, &q).await, vec![json!({"a": 3, "b": 4})]);
    let q = format!("{THREATS} | evaluate pivot(Type, max(N), Who) | where Who == 'b'");
    assert_eq!(
        rows(&e, &q).await,
        vec![json!({"Who": "b", "": null, "Malware": null, "Phish": null, "Spam": 4})]
    );
    // Aggregations outside the documented list are rejected by name.
    match e
        .run(
            "t1",
            &format!("{THREATS} | evaluate pivot(Type, percentile(N, 50))"),
            now(),
        )
        .await
    {
        Err(HuntError::Unsupported { name, .. }) => assert_eq!(name, "percentile in pivot"),
        other => panic!("expected unsupported, got {other:?}"),
    }
    // Without a probe (plain bind) the plugins stay rejected by name.
    let ast = palisade_kql::parse(&format!("{THREATS} | evaluate pivot(Type)")).unwrap();
    let err = palisade_kql::bind(&ast, &palisade_kql::Catalog::defender()).unwrap_err();
    assert_eq!(
        palisade_kql::KqlError::from(err).unsupported_name(),
        Some("pivot")
    );
}

#[tokio::test]
async fn schema_probes_see_only_the_callers_tenant_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let recent = "2026-11-19T10:00:00Z";
    let old = "2026-10-01T10:00:00Z";
    ingest(
        &store,
        "t1",
        "DeviceProcessEvents",
        &[
            json!({"Timestamp": recent, "DeviceName": "a", "FileName": "x.exe"}),
            json!({"Timestamp": recent, "DeviceName": "b", "FileName": "x.exe"}),
            json!({"Timestamp": old, "DeviceName": "stale", "FileName": "x.exe"}),
        ],
    )
    .await;
    ingest(
        &store,
        "t2",
        "DeviceProcessEvents",
        &[json!({"Timestamp": recent, "DeviceName": "other", "FileName": "y.exe"})],
    )
    .await;
    let e = HuntingEngine::new(Arc::new(store));
    let names = |tenant: &'static str, q: &'static str| {
        let e = &e;
        async move {
            schema_of(e, tenant, q)
                .await
                .into_iter()
                .map(|c| c.0)
                .collect::<Vec<_>>()
        }
    };
    let pivot = "DeviceProcessEvents | project FileName, DeviceName | evaluate pivot(DeviceName)";
    assert_eq!(names("t1", pivot).await, ["FileName", "a", "b"]);
    assert_eq!(names("t2", pivot).await, ["FileName", "other"]);
    assert_eq!(names("t3", pivot).await, ["FileName"]);
    let unpack =
        "DeviceProcessEvents | project b = bag_pack(DeviceName, 1) | evaluate bag_unpack(b)";
    assert_eq!(names("t1", unpack).await, ["a", "b"]);
    assert_eq!(names("t2", unpack).await, ["other"]);
    let r = e.run("t1", pivot, now()).await.unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0]["a"], json!(1));
    assert_eq!(r.rows[0]["b"], json!(1));
}

#[tokio::test]
async fn make_set_of_strings_dedups_keeps_empty_and_limits() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "union (datatable(k:string, v:string)['a','x', 'a','x', 'a','', 'b','y']), \
               (datatable(k:string, v:string)['a','z', 'a','x', 'b','y', 'a','']) \
         | summarize s = array_sort_asc(make_set(v)), n = array_length(make_set(v, 2)), \
           l = array_length(make_list(v)) by k | sort by k asc",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"k": "a", "s": ["", "x", "z"], "n": 2, "l": 6}),
            json!({"k": "b", "s": ["y"], "n": 1, "l": 2}),
        ]
    );
}

/// `AssignedIPAddresses()` and `invoke DeviceFromIP()` over hand-written `DeviceNetworkInfo`
/// reports (now = 2026-11-20 12:00): each adapter's latest report at or before the time asked.
#[tokio::test]
async fn assigned_ip_addresses_and_device_from_ip() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let report = |t: &str, dev: &str, name: &str, adapter: &str, ips: &[(&str, &str)]| {
        let ips: Vec<Value> = ips
            .iter()
            .map(|(ip, kind)| json!({"IPAddress": ip, "SubnetPrefix": 24, "AddressType": kind}))
            .collect();
        json!({"Timestamp": t, "DeviceId": dev, "DeviceName": name, "NetworkAdapterName": adapter,
               "NetworkAdapterType": "Ethernet", "ConnectedNetworks": "[]",
               "IPAddresses": Value::Array(ips).to_string()})
    };
    let t1 = [
        report(
            "2026-11-18T12:00:00Z",
            "d1",
            "ws-01",
            "Ethernet",
            &[("10.0.0.5", "Private")],
        ),
        report(
            "2026-11-20T11:00:00Z",
            "d1",
            "ws-01",
            "Ethernet",
            &[("10.0.0.7", "Private"), ("20.1.2.3", "Public")],
        ),
        report(
            "2026-11-17T12:00:00Z",
            "d1",
            "ws-01",
            "Wi-Fi",
            &[("192.168.1.20", "Private")],
        ),
        report(
            "2026-11-19T12:00:00Z",
            "d2",
            "srv-02",
            "Ethernet",
            &[("10.0.0.5", "Private")],
        ),
    ];
    let other = [report(
        "2026-11-20T10:00:00Z",
        "x9",
        "ws-01",
        "Ethernet",
        &[("10.0.0.5", "Private")],
    )];
    for (tenant, rows) in [("t1", &t1[..]), ("t2", &other[..])] {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        let rep = ingest_jsonl(
            &store,
            tenant,
            "DeviceNetworkInfo",
            std::io::Cursor::new(text),
        )
        .await
        .unwrap();
        assert!(rep.rejected.is_empty(), "{:?}", rep.rejected);
    }
    let e = HuntingEngine::new(Arc::new(store));
    let ips = |q: &'static str| {
        let e = &e;
        async move {
            let r = e
                .run("t1", q, now())
                .await
                .unwrap_or_else(|err| panic!("{err}\n{q}"));
            let mut v: Vec<String> = r
                .rows
                .iter()
                .map(|r| {
                    r.values()
                        .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(
        ips(r#"AssignedIPAddresses("WS-01") | project IPAddress, IPType, Timestamp"#).await,
        [
            "10.0.0.7 Private 2026-11-20T11:00:00.0000000Z",
            "192.168.1.20 Private 2026-11-17T12:00:00.0000000Z",
            "20.1.2.3 Public 2026-11-20T11:00:00.0000000Z",
        ]
    );
    assert_eq!(
        ips(r#"AssignedIPAddresses("d1", ago(1d)) | project IPAddress, DeviceName"#).await,
        ["10.0.0.5 ws-01", "192.168.1.20 ws-01"]
    );
    // The documented columns, in order, then the device.
    let r = e
        .run("t1", r#"AssignedIPAddresses("d2")"#, now())
        .await
        .unwrap();
    let names: Vec<&str> = r.schema.names().collect();
    assert_eq!(
        names,
        [
            "Timestamp",
            "IPAddress",
            "IPType",
            "NetworkAdapterType",
            "ConnectedNetworks",
            "DeviceId",
            "DeviceName"
        ]
    );
    assert_eq!(
        ips(r#"print IP = "10.0.0.5" | invoke DeviceFromIP()"#).await,
        ["10.0.0.5 d2"],
        "d1's latest Ethernet report no longer has 10.0.0.5; t2's x9 is another tenant's"
    );
    assert_eq!(
        ips(r#"datatable(IP:string)["10.0.0.5", "10.0.0.5", "8.8.8.8"] | invoke DeviceFromIP(datetime(2026-11-19T00:00:00Z))"#).await,
        ["10.0.0.5 d1"]
    );
    assert!(ips(r#"AssignedIPAddresses("nope")"#).await.is_empty());
    // A user definition of the same name wins.
    assert_eq!(
        ips(r#"let AssignedIPAddresses = (x:string) { print IPAddress = x }; AssignedIPAddresses("mine")"#).await,
        ["mine"]
    );
    // The input must have an IP column.
    let err = e
        .run(
            "t1",
            "print Address = '10.0.0.5' | invoke DeviceFromIP()",
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the table for parameter 'T' has no column 'IP' (string) at 1:"),
        "{err}"
    );
}

#[tokio::test]
async fn arg_max_ignores_null_keys_unless_the_whole_group_is_null() {
    // The Kusto docs' "handle nulls" example: rows whose key is null are ignored, and a group
    // whose keys are all null still yields one of its rows.
    let (_d, e) = engine();
    let r = rows(
        &e,
        r#"datatable(Fruit: string, Color: string, Version: int) [
            "Apple", "Red", 1, "Apple", "Green", int(null),
            "Banana", "Yellow", int(null), "Banana", "Green", int(null),
            "Pear", "Brown", 1, "Pear", "Green", 2]
        | summarize arg_max(Version, *) by Fruit | order by Fruit asc"#,
    )
    .await;
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0],
        json!({"Fruit": "Apple", "Version": 1, "Color": "Red"})
    );
    assert_eq!(r[1]["Version"], Value::Null);
    assert!(
        ["Yellow", "Green"].contains(&r[1]["Color"].as_str().unwrap_or("")),
        "{}",
        r[1]
    );
    assert_eq!(
        r[2],
        json!({"Fruit": "Pear", "Version": 2, "Color": "Green"})
    );
}

#[tokio::test]
async fn pack_all_packs_every_column_of_the_row() {
    // Columns modelled on the Kusto docs' pack_all() example: a bag of all columns, and with
    // ignore_null_empty = true the null and empty values are left out.
    let (_d, e) = engine();
    let r = rows(
        &e,
        r#"datatable(SourceNumber:string, TargetNumber:string, CharsCount:long)
            ["555-555-1234", "555-555-1212", 46, "555-555-1212", "", int(null)]
        | project Packed = pack_all(), Compact = pack_all(true)"#,
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({
                "Packed": {"SourceNumber": "555-555-1234", "TargetNumber": "555-555-1212", "CharsCount": 46},
                "Compact": {"SourceNumber": "555-555-1234", "TargetNumber": "555-555-1212", "CharsCount": 46}
            }),
            json!({
                "Packed": {"SourceNumber": "555-555-1212", "TargetNumber": "", "CharsCount": null},
                "Compact": {"SourceNumber": "555-555-1212"}
            }),
        ]
    );
    // Dynamic columns nest as values, and the bag follows the row it is computed on.
    let r = rows(
        &e,
        r#"datatable(a:long, d:dynamic)[1, dynamic({"x": [1, 2]})]
        | extend b = a * 2 | project p = pack_all()"#,
    )
    .await;
    assert_eq!(r[0], json!({"p": {"a": 1, "d": {"x": [1, 2]}, "b": 2}}));
    for q in [
        "print pack_all()",
        "datatable(a:long)[1] | extend p = pack_all(1)",
    ] {
        assert!(
            matches!(e.run("t1", q, now()).await, Err(HuntError::Semantic { .. })),
            "{q}"
        );
    }
}

#[tokio::test]
async fn percentiles_array_returns_the_percentiles_as_one_array() {
    // Exact nearest-rank values, as percentile() gives them, in one dynamic column named
    // percentiles_<column>; the percentages as arguments or as one dynamic array.
    let (_d, e) = engine();
    let r = rows(
        &e,
        "range x from 1 to 10 step 1 | summarize percentiles_array(x, 10, 50, 90), p = percentile(x, 90)",
    )
    .await;
    assert_eq!(r[0], json!({"percentiles_x": [1, 5, 9], "p": 9}));
    let r = rows(
        &e,
        "range x from 1 to 10 step 1 | extend r = x * 1.5, k = x % 2 \
         | summarize a = percentiles_array(r, dynamic([10, 50.5, 100])) by k | order by k asc",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"k": 0, "a": [3.0, 9.0, 15.0]}),
            json!({"k": 1, "a": [1.5, 7.5, 13.5]}),
        ]
    );
    let r = rows(
        &e,
        "range x from 1 to 3 step 1 | where x > 5 | summarize a = percentiles_array(x, 50)",
    )
    .await;
    assert_eq!(r[0], json!({"a": [null]}));
    // Two calls whose percentages print alike are still two aggregates.
    let r = rows(
        &e,
        "range x from 1 to 10 step 1 | summarize a = percentiles_array(x, 0.5), b = percentiles_array(x, 0, 5)",
    )
    .await;
    assert_eq!(r[0], json!({"a": [1], "b": [1, 1]}));
    for q in [
        "range x from 1 to 3 step 1 | summarize percentiles_array(x, 101)",
        "range x from 1 to 3 step 1 | summarize percentiles_array(x, x)",
    ] {
        match e.run("t1", q, now()).await {
            Err(HuntError::Semantic { message, .. }) => {
                assert!(
                    message.contains("constant percentages from 0 to 100"),
                    "{q}: {message}"
                )
            }
            other => panic!("{q}: expected a semantic error, got {other:?}"),
        }
    }
}

/// A device-scoped query never reads a row of a device outside its scope, whatever form
/// reaches the table (`join`, `union`, `let`, a function, `table()`, `evaluate`'s probe);
/// rows and tables that name no device stay visible.
#[tokio::test]
async fn device_scope_is_enforced_in_every_scan() {
    use palisade_hunting::DeviceScope;
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let t = "2026-11-19T10:00:00Z";
    ingest(
        &store,
        "t1",
        "DeviceProcessEvents",
        &[
            json!({"Timestamp": t, "DeviceId": "d-in", "DeviceName": "in.contoso.com", "FileName": "a.exe"}),
            json!({"Timestamp": t, "DeviceId": "d-out", "DeviceName": "out.contoso.com", "FileName": "a.exe"}),
            // A row naming an allowed id but another device's name is not the allowed device.
            json!({"Timestamp": t, "DeviceId": "d-in", "DeviceName": "out.contoso.com", "FileName": "c.exe"}),
        ],
    )
    .await;
    ingest(
        &store,
        "t1",
        "DeviceNetworkEvents",
        &[
            json!({"Timestamp": t, "DeviceId": "d-in", "DeviceName": "IN.contoso.com", "RemoteIP": "10.0.0.1"}),
            json!({"Timestamp": t, "DeviceId": "d-out", "DeviceName": "out.contoso.com", "RemoteIP": "10.0.0.2"}),
        ],
    )
    .await;
    // IdentityLogonEvents names devices only by DeviceName; a row with none stays visible.
    ingest(
        &store,
        "t1",
        "IdentityLogonEvents",
        &[
            json!({"Timestamp": t, "DeviceName": "in.contoso.com", "AccountName": "u1"}),
            json!({"Timestamp": t, "DeviceName": "out.contoso.com", "AccountName": "u2"}),
            json!({"Timestamp": t, "AccountName": "u3"}),
        ],
    )
    .await;
    // A table without device columns is not filtered.
    ingest(
        &store,
        "t1",
        "EmailEvents",
        &[json!({"Timestamp": t, "Subject": "hi"})],
    )
    .await;
    let e = HuntingEngine::new(Arc::new(store));
    let scope = DeviceScope::Only {
        ids: ["d-in".to_string()].into(),
        names: ["in.contoso.com".to_string()].into(),
    };
    let count = |q: &'static str, scope: DeviceScope| {
        let e = &e;
        async move {
            let r = e.run_scoped("t1", &scope, q, now()).await.unwrap();
            r.rows[0]["c"].as_i64().unwrap()
        }
    };
    let cases = [
        ("DeviceProcessEvents | summarize c = count()", 1, 3),
        (
            "DeviceProcessEvents | where DeviceId == 'd-out' | summarize c = count()",
            0,
            1,
        ),
        ("union Device* | summarize c = count()", 2, 5),
        (
            "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId \
             | summarize c = count()",
            1,
            3,
        ),
        (
            "let x = DeviceNetworkEvents; x | summarize c = count()",
            1,
            2,
        ),
        (
            "let f = () { table('DeviceNetworkEvents') }; f() | summarize c = count()",
            1,
            2,
        ),
        ("IdentityLogonEvents | summarize c = count()", 2, 3),
        ("EmailEvents | summarize c = count()", 1, 1),
    ];
    for (q, scoped, all) in cases {
        assert_eq!(count(q, scope.clone()).await, scoped, "scoped: {q}");
        assert_eq!(count(q, DeviceScope::All).await, all, "all devices: {q}");
    }
    // evaluate's schema probe runs in the same scope: the other device's name never even
    // becomes a column.
    let pivot = "DeviceProcessEvents | project DeviceName | evaluate pivot(DeviceName)";
    let columns = |scope: DeviceScope| {
        let e = &e;
        async move {
            let r = e.run_scoped("t1", &scope, pivot, now()).await.unwrap();
            r.schema
                .columns
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(columns(scope.clone()).await, ["in.contoso.com"]);
    assert_eq!(
        columns(DeviceScope::All).await,
        ["in.contoso.com", "out.contoso.com"]
    );
    // An empty scope (a user in no group) sees no device rows at all, but device-less rows.
    let none = DeviceScope::Only {
        ids: Default::default(),
        names: Default::default(),
    };
    assert_eq!(
        count("union Device* | summarize c = count()", none.clone()).await,
        0
    );
    assert_eq!(
        count("IdentityLogonEvents | summarize c = count()", none).await,
        1
    );
}

/// A narrowed window (Graph's `runHuntingQuery` `Timespan` start) drops the older rows in
/// every scan, through `union` and `join` too; a start before the 30 days changes nothing.
#[tokio::test]
async fn a_narrowed_window_bounds_every_scan() {
    use palisade_hunting::DeviceScope;
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    ingest(
        &store,
        "t1",
        "DeviceProcessEvents",
        &[
            json!({"Timestamp": "2026-11-20T10:00:00Z", "DeviceId": "d1", "FileName": "new.exe"}),
            json!({"Timestamp": "2026-11-15T10:00:00Z", "DeviceId": "d1", "FileName": "old.exe"}),
            json!({"Timestamp": "2026-10-01T10:00:00Z", "DeviceId": "d1", "FileName": "expired.exe"}),
        ],
    )
    .await;
    ingest(
        &store,
        "t1",
        "DeviceNetworkEvents",
        &[
            json!({"Timestamp": "2026-11-20T09:00:00Z", "DeviceId": "d1", "RemoteIP": "10.0.0.1"}),
            json!({"Timestamp": "2026-11-10T09:00:00Z", "DeviceId": "d1", "RemoteIP": "10.0.0.2"}),
        ],
    )
    .await;
    let e = HuntingEngine::new(Arc::new(store));
    let count = |q: &'static str, since: Option<chrono::DateTime<chrono::Utc>>| {
        let e = &e;
        async move {
            let r = e
                .run_within("t1", &DeviceScope::All, q, since, now())
                .await
                .unwrap();
            r.rows[0]["c"].as_i64().unwrap()
        }
    };
    let day = Some(now() - chrono::Duration::days(1));
    let long_ago = Some(now() - chrono::Duration::days(90));
    let cases = [
        // (query, since a day ago, no start, a start 90 days ago)
        ("DeviceProcessEvents | summarize c = count()", 1, 2, 2),
        ("union Device* | summarize c = count()", 2, 4, 4),
        (
            "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents) on DeviceId \
             | summarize c = count()",
            1,
            4,
            4,
        ),
        (
            "DeviceProcessEvents | where Timestamp > ago(10d) | summarize c = count()",
            1,
            2,
            2,
        ),
    ];
    for (q, narrowed, all, early) in cases {
        assert_eq!(count(q, day).await, narrowed, "since a day ago: {q}");
        assert_eq!(count(q, None).await, all, "no start: {q}");
        assert_eq!(
            count(q, long_ago).await,
            early,
            "start before the window: {q}"
        );
    }
}
