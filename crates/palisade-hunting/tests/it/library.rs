//! The function library's documented examples: each function added with the reference's
//! coverage, run through the engine, with the exact values Kusto's documentation gives (or,
//! where the docs show none, values computed by hand). Also: every declared function the
//! engine does not run is rejected by name.

use std::sync::Arc;

use palisade_events::EventStore;
use palisade_hunting::HuntingEngine;
use serde_json::{json, Value};

use crate::support::rows;

fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)))
}

/// The single row of `print ...`.
async fn print(e: &HuntingEngine, items: &str) -> Value {
    let mut r = rows(e, &format!("print {items}")).await;
    assert_eq!(r.len(), 1);
    r.remove(0)
}

#[tokio::test]
async fn bitwise_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "a = binary_and(6, 3), o = binary_or(6, 3), x = binary_xor(1, 4), n = binary_not(100), \
             l = binary_shift_left(1, 2), r = binary_shift_right(4, 2), c = bitset_count_ones(42), \
             neg = binary_shift_right(-8, 1), wrap = binary_shift_left(1, 65), z = binary_and(long(null), 1)"
        )
        .await,
        json!({"a": 2, "o": 7, "x": 5, "n": -101, "l": 4, "r": 1, "c": 3, "neg": -4, "wrap": 2, "z": null})
    );
}

#[tokio::test]
async fn math_functions() {
    let (_d, e) = engine();
    let r = print(
        &e,
        "e10 = exp10(2), e2 = exp2(3), p = pi(), c = cos(0), s = sin(0), t = tan(0), \
         a2 = atan2(1, 1), at = atan(1), as = asin(1), ac = acos(1), r = radians(180), \
         d = degrees(pi()), g = gamma(5), lg = loggamma(5), ef = erf(0), efc = erfc(0), \
         fin = isfinite(1.0), inf = isfinite(1.0 / 0.0), nan = isfinite(sqrt(-1.0)), \
         isn = isnan(sqrt(-1.0)), sq = sqrt(16)",
    )
    .await;
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    assert_eq!(f("e10"), 100.0);
    assert_eq!(f("e2"), 8.0);
    assert_eq!(f("p"), std::f64::consts::PI);
    assert_eq!((f("c"), f("s"), f("t")), (1.0, 0.0, 0.0));
    assert_eq!(f("a2"), std::f64::consts::FRAC_PI_4);
    assert_eq!(f("at"), std::f64::consts::FRAC_PI_4);
    assert_eq!(f("as"), std::f64::consts::FRAC_PI_2);
    assert_eq!(f("ac"), 0.0);
    assert_eq!(f("r"), std::f64::consts::PI);
    assert_eq!(f("d"), 180.0);
    assert!((f("g") - 24.0).abs() < 1e-12, "{r}");
    assert!((f("lg") - 24f64.ln()).abs() < 1e-12, "{r}");
    assert_eq!((f("ef"), f("efc")), (0.0, 1.0));
    assert_eq!(
        (&r["fin"], &r["inf"], &r["nan"]),
        (&json!(true), &json!(false), &json!(false))
    );
    assert_eq!((&r["isn"], f("sq")), (&json!(true), 4.0));
}

#[tokio::test]
async fn string_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "a = string_size('hello'), b = string_size('⒦⒰⒮⒯⒪'), \
             c = unicode_codepoints_from_string('⒦⒰⒮⒯⒪'), d = to_utf8('K'), \
             f = unicode_codepoints_to_string(75, 117, 115, 116, 111), \
             g = unicode_codepoints_to_string(dynamic([75, 117, 115]), 116, 111), \
             h = regex_quote('abc|def'), i = isascii('some string'), j = isascii('Straße'), \
             k = isutf8('Straße')"
        )
        .await,
        json!({"a": 5, "b": 15, "c": [9382, 9392, 9390, 9391, 9386], "d": [75],
               "f": "Kusto", "g": "Kusto", "h": "abc\\|def", "i": true, "j": false, "k": true})
    );
    // indexof_regex: the docs' five examples.
    assert_eq!(
        print(
            &e,
            r#"idx1 = indexof_regex("abcabc", @"a.c"),
               idx2 = indexof_regex("abcabcdefg", @"a.c", 0, 9, 2),
               idx3 = indexof_regex("abcabc", @"a.c", 1, -1, 2),
               idx4 = indexof_regex("ababaa", @"a.a", 0, -1, 2),
               idx5 = indexof_regex("abcabc", @"a|ab", -1)"#
        )
        .await,
        json!({"idx1": 0, "idx2": 3, "idx3": -1, "idx4": -1, "idx5": null})
    );
    // has_any_index: the docs' examples.
    assert_eq!(
        print(
            &e,
            r#"idx1 = has_any_index("this is an example", dynamic(['this', 'example'])),
               idx2 = has_any_index("this is an example", dynamic(['not', 'example'])),
               idx3 = has_any_index("this is an example", dynamic(['not', 'found'])),
               idx4 = has_any_index("Example number 2", range(1, 3, 1)),
               idx5 = has_any_index("", dynamic([]))"#
        )
        .await,
        json!({"idx1": 0, "idx2": 1, "idx3": -1, "idx4": 1, "idx5": -1})
    );
    // replace_strings: one pass, replaced text is not replaced again.
    assert_eq!(
        print(
            &e,
            "a = replace_strings('The quick brown fox', dynamic(['quick', 'brown', 'fox']), dynamic(['slow', 'black', 'cat'])), \
             b = replace_strings('Hello World', dynamic(['Hello', 'World']), dynamic(['World', 'Hello'])), \
             c = replace_strings('ABC', dynamic(['A', 'B']), dynamic(['B', 'C']))"
        )
        .await,
        json!({"a": "The slow black cat", "b": "World Hello", "c": "BCC"})
    );
    // base64 of byte arrays and GUIDs (the docs' values).
    assert_eq!(
        print(
            &e,
            r#"a = base64_encode_fromarray(dynamic([75, 117, 115, 116, 111])),
               b = base64_encode_fromguid(toguid("ae3133f2-6e22-49ae-b06a-16e6a9b212eb")),
               c = base64_decode_toguid("JpbpECu8dUy7Pv5gbeJXAA=="),
               d = base64_decode_toguid("not base64")"#
        )
        .await,
        json!({"a": "S3VzdG8=", "b": "8jMxriJurkmwahbmqbIS6w==",
               "c": "10e99626-bc2b-4c75-bb3e-fe606de25700", "d": null})
    );
    // Aliases of existing functions.
    assert_eq!(
        print(
            &e,
            "a = array_strcat(dynamic([1, 2, 3]), '-'), b = pack_dictionary('k', 1)"
        )
        .await,
        json!({"a": "1-2-3", "b": {"k": 1}})
    );
}

#[tokio::test]
async fn array_and_bag_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            r#"rev = array_reverse(dynamic(["this", "is", "an", "example"])),
               iff1 = array_iff(dynamic([true, false, true]), dynamic([1, 2, 3]), dynamic([4, 5, 6])),
               iff2 = array_iif(dynamic([true, false, true, 7]), 1, 0),
               sl = array_shift_left(dynamic([1, 2, 3, 4, 5]), 2),
               sl2 = array_shift_left(dynamic([1, 2, 3, 4, 5]), -2, -1),
               sr = array_shift_right(dynamic([1, 2, 3, 4, 5]), 2),
               rl = array_rotate_left(dynamic([1, 2, 3, 4, 5]), 2),
               rr = array_rotate_right(dynamic([1, 2, 3, 4, 5]), 2),
               sp1 = array_split(dynamic([1, 2, 3, 4, 5]), 2),
               sp2 = array_split(dynamic([1, 2, 3, 4, 5]), dynamic([1, 3])),
               rep1 = repeat(1, 3), rep2 = repeat("asd", 3), rep3 = repeat(1, -1)"#
        )
        .await,
        json!({
            "rev": ["example", "an", "is", "this"],
            "iff1": [1, 5, 3],
            "iff2": [1, 0, 1, null],
            "sl": [3, 4, 5, null, null],
            "sl2": [-1, -1, 1, 2, 3],
            "sr": [null, null, 1, 2, 3],
            "rl": [3, 4, 5, 1, 2],
            "rr": [4, 5, 1, 2, 3],
            "sp1": [[1, 2], [3, 4, 5]],
            "sp2": [[1], [2, 3], [4, 5]],
            "rep1": [1, 1, 1],
            "rep2": ["asd", "asd", "asd"],
            "rep3": []
        })
    );
    assert_eq!(
        print(
            &e,
            r#"eq1 = set_equals(dynamic([1, 2, 3]), dynamic([3, 2, 1])),
               eq2 = set_equals(dynamic([1, 2, 2, 3]), dynamic([1, 2, 3])),
               eq3 = set_equals(dynamic([1, 4, 3]), dynamic([1, 2, 3])),
               j1 = jaccard_index(dynamic([1, 1, 2, 2, 3, 3]), dynamic([1, 2, 3, 4, 4, 4])),
               j2 = jaccard_index(dynamic([1, 2, 3]), dynamic([])),
               z1 = bag_zip(dynamic(['a', 'b', 'c']), dynamic([1, '2', 3.4])),
               z2 = bag_zip(dynamic(['a', 'b', 'c']), dynamic([1, '2'])),
               z3 = bag_zip(dynamic(['a', 8, 'b']), dynamic([1, '2', 3])),
               js = dynamic_to_json(parse_json('{"y10": {}, "x8": {"d8": 2, "c8": 1}, "w": "hi", "a": [1, {"z": 1, "b": 2}]}'))"#
        )
        .await,
        json!({
            "eq1": true, "eq2": true, "eq3": false,
            "j1": 0.75, "j2": 0.0,
            "z1": {"a": 1, "b": "2", "c": 3.4},
            "z2": {"a": 1, "b": "2", "c": null},
            "z3": {"a": 1, "b": 3},
            "js": r#"{"a":[1,{"b":2,"z":1}],"w":"hi","x8":{"c8":1,"d8":2},"y10":{}}"#
        })
    );
}

#[tokio::test]
async fn date_time_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "a = endofyear(datetime(2017-01-01 10:10:17)), b = endofyear(datetime(2017-01-01 10:10:17), 1), \
             c = unixtime_microseconds_todatetime(1546300800000000), \
             d = unixtime_nanoseconds_todatetime(1546300800000000000), \
             w = weekofyear(datetime(2020-12-31)), p = datepart('day', datetime(2017-10-30))"
        )
        .await,
        json!({
            "a": "2017-12-31T23:59:59.9999999Z",
            "b": "2018-12-31T23:59:59.9999999Z",
            "c": "2019-01-01T00:00:00.0000000Z",
            "d": "2019-01-01T00:00:00.0000000Z",
            "w": 53,
            "p": 30
        })
    );
}

#[tokio::test]
async fn ipv4_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "m1 = parse_ipv4_mask('127.0.0.1', 24), m2 = parse_ipv4_mask('192.1.168.2', 31), \
             m3 = parse_ipv4_mask('192.1.168.3', 31), m4 = parse_ipv4_mask('127.2.3.4', 32), \
             f1 = format_ipv4('192.168.1.255', 24), f2 = format_ipv4(3232236031, 24), \
             f3 = format_ipv4('192.168.1.1/24', 32), f4 = format_ipv4('abc', 24), \
             k1 = format_ipv4_mask('192.168.1.255', 24), k2 = format_ipv4_mask(3232236031, 24), \
             k3 = format_ipv4_mask('192.1.168.3'), \
             s1 = ipv4_netmask_suffix('192.168.1.1/24'), s2 = ipv4_netmask_suffix('192.168.1.1'), \
             s3 = ipv4_netmask_suffix('192.168.1.1/33')"
        )
        .await,
        json!({
            "m1": 2130706432, "m2": 3221334018u64, "m3": 3221334018u64, "m4": 2130838276,
            "f1": "192.168.1.0", "f2": "192.168.1.0", "f3": "192.168.1.0", "f4": "",
            "k1": "192.168.1.0/24", "k2": "192.168.1.0/24", "k3": "192.1.168.3/32",
            "s1": 24, "s2": 32, "s3": null
        })
    );
    assert_eq!(
        print(
            &e,
            r#"a = ipv4_is_in_any_range("192.168.1.6", "192.168.1.1/24", "10.0.0.1/8", "127.1.0.1/16"),
               b = ipv4_is_in_any_range("192.168.1.6", dynamic(["0.0.0.0/32", "10.0.0.1/8", "127.1.0.1/16"])),
               c = ipv4_is_in_any_range("192.168.1.6", "x")"#
        )
        .await,
        json!({"a": true, "b": false, "c": null})
    );
}

#[tokio::test]
async fn column_tests_bind_by_name() {
    let (_d, e) = engine();
    assert_eq!(
        rows(
            &e,
            "print x = 1 | extend a = iscolumnexists('x'), b = iscolumnexists('y'), \
             c = columnifexists('x', 0), d = columnifexists('y', 7)"
        )
        .await,
        vec![json!({"x": 1, "a": true, "b": false, "c": 1, "d": 7})]
    );
}

#[tokio::test]
async fn statistics_and_bitwise_aggregates() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "range x from 1 to 5 step 1 \
         | summarize sp = stdevp(x), vp = variancep(x), vpi = variancepif(x, x > 3), \
           cv = covariance(x, 2 * x), cvp = covariancep(x, 2 * x), cvi = covarianceif(x, x, x <= 3), \
           cvpi = covariancepif(x, x, x <= 3), cdi = count_distinctif(x % 3, x > 2)",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"sp": 2f64.sqrt(), "vp": 2.0, "vpi": 0.25, "cv": 5.0, "cvp": 4.0,
                    "cvi": 1.0, "cvpi": 2.0 / 3.0, "cdi": 3})
        ]
    );
    assert_eq!(
        rows(
            &e,
            "datatable(v:long)[7, 3, 11] | summarize a = binary_all_and(v), o = binary_all_or(v), x = binary_all_xor(v)"
        )
        .await,
        vec![json!({"a": 3, "o": 15, "x": 15})]
    );
    assert_eq!(
        rows(
            &e,
            "datatable(v:long, k:string)[1, 'a', 2, 'b', 3, 'c'] \
             | extend v = iff(v == 2, long(null), v) \
             | summarize l = make_list_with_nulls(v), n = make_list(v), d = make_dictionary(bag_pack(k, v))"
        )
        .await,
        vec![json!({"l": [1, null, 3], "n": [1, 3], "d": {"a": 1, "b": null, "c": 3}})]
    );
}

#[tokio::test]
async fn ipv6_functions() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "a = parse_ipv6('127.0.0.1'), b = parse_ipv6('fe80::85d:e82c:9446:7994'), \
             c = parse_ipv6('fe80::85d:e82c:9446:7994/120'), d = parse_ipv6('not an address'), \
             m1 = parse_ipv6_mask('127.0.0.1', 24), m2 = parse_ipv6_mask('fe80::85d:e82c:9446:7994', 120), \
             c1 = ipv6_compare('::ffff:7f00:1', '127.0.0.1'), \
             c2 = ipv6_compare('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995'), \
             c3 = ipv6_compare('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995', 127), \
             c4 = ipv6_compare('fe80::85d:e82c:9446:7995', 'fe80::85d:e82c:9446:7994'), \
             i1 = ipv6_is_match('fe80::85d:e82c:9446:7994/127', 'fe80::85d:e82c:9446:7995'), \
             i2 = ipv6_is_match('192.168.1.1', '192.168.1.255', 120), \
             r1 = ipv6_is_in_range('fe80::85d:e82c:9446:7994', 'fe80::/10'), \
             r2 = ipv6_is_in_range('2001:db8::1', 'fe80::/10'), \
             y1 = ipv6_is_in_any_range('a5e:f127:8a9d:146d:e102:b5d3:c755:abcd', \
                  'a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112', 'a5e:f127:8a9d:146d:e102:b5d3:c755:abcd'), \
             y2 = ipv6_is_in_any_range('2001:db8::1', dynamic(['fe80::/10', '10.0.0.0/8']))"
        )
        .await,
        json!({
            "a": "0000:0000:0000:0000:0000:ffff:7f00:0001",
            "b": "fe80:0000:0000:0000:085d:e82c:9446:7994",
            "c": "fe80:0000:0000:0000:085d:e82c:9446:7900",
            "d": "",
            "m1": "0000:0000:0000:0000:0000:ffff:7f00:0000",
            "m2": "fe80:0000:0000:0000:085d:e82c:9446:7900",
            "c1": 0, "c2": -1, "c3": 0, "c4": 1,
            "i1": true, "i2": true,
            "r1": true, "r2": false,
            "y1": true, "y2": false
        })
    );
}

#[tokio::test]
async fn ipv4_search_and_format_bytes() {
    let (_d, e) = engine();
    assert_eq!(
        print(
            &e,
            "h1 = has_ipv4('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0.0.1'), \
             h2 = has_ipv4('05:04:54 127.0.0.256 GET /favicon.ico 404', '127.0.0.256'), \
             h3 = has_ipv4('05:04:54127.0.0.1 GET /favicon.ico 404', '127.0.0.1'), \
             p1 = has_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0.'), \
             p2 = has_ipv4_prefix('05:04:54 127.0.0.256 GET /favicon.ico 404', '127.0.'), \
             p3 = has_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0'), \
             a1 = has_any_ipv4('05:04:54 127.0.0.1 GET /favicon.ico 404', dynamic(['127.0.0.1', '127.0.0.2'])), \
             a2 = has_any_ipv4('05:04:54 127.0.0.1 GET /favicon.ico 404', '10.0.0.1', '10.0.0.2'), \
             a3 = has_any_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', '10.', '127.')"
        )
        .await,
        json!({"h1": true, "h2": false, "h3": false, "p1": true, "p2": false, "p3": false,
               "a1": true, "a2": false, "a3": true})
    );
    assert_eq!(
        print(
            &e,
            "v1 = format_bytes(564), v2 = format_bytes(10332, 1), v3 = format_bytes(20010332), \
             v4 = format_bytes(20010332, 2), v5 = format_bytes(20010332, 0, 'KB'), \
             v6 = format_bytes(1000, 1, '', 10), v7 = format_bytes(1, 0, 'XB')"
        )
        .await,
        json!({"v1": "564 Bytes", "v2": "10.1 KB", "v3": "19 MB", "v4": "19.08 MB",
               "v5": "19541 KB", "v6": "1.0 KB", "v7": null})
    );
}

#[tokio::test]
async fn around_is_inclusive() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "range dt from datetime(2021-01-01 15:15) to datetime(2021-01-01 15:25) step 1min \
         | extend isAround = around(dt, datetime(2021-01-01 15:20), 1min) \
         | where isAround | project dt",
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"dt": "2021-01-01T15:19:00.0000000Z"}),
            json!({"dt": "2021-01-01T15:20:00.0000000Z"}),
            json!({"dt": "2021-01-01T15:21:00.0000000Z"}),
        ]
    );
    assert_eq!(
        print(
            &e,
            "a = around(1.5, 2, 0.5), b = around(1.4, 2, 0.5), c = around(5, 6, 1)"
        )
        .await,
        json!({"a": true, "b": false, "c": true})
    );
}

#[tokio::test]
async fn weighted_percentiles() {
    let (_d, e) = engine();
    // The docs' latency buckets: 10 ms x8, 20 ms x6, 30 ms x4, 40 ms x2, 50 ms x1.
    let r = rows(
        &e,
        "datatable(ReqCount:long, LatencyBucket:long)[8, 10, 6, 20, 4, 30, 2, 40, 1, 50] \
         | summarize percentilew(LatencyBucket, ReqCount, 50), \
           a = percentilesw_array(LatencyBucket, ReqCount, 50, 75, 99.9), \
           b = percentilesw_array(LatencyBucket, ReqCount, dynamic([50, 75, 99.9]))",
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"percentile_LatencyBucket_50": 20, "a": [20, 30, 50], "b": [20, 30, 50]})]
    );
}
