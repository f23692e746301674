//! The series and geospatial functions through the engine, with the docs' examples: the
//! single-result `series_*` on literal arrays and on `make-series` output, the multi-result
//! forms through `extend (a, b, ...) = f(...)`, and the point/geohash functions.

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

async fn print(e: &HuntingEngine, items: &str) -> Value {
    let mut r = rows(e, &format!("print {items}")).await;
    assert_eq!(r.len(), 1);
    r.remove(0)
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-3)
}

#[tokio::test]
async fn element_wise_series_functions_follow_the_docs() {
    let (_d, e) = engine();
    let r = print(
        &e,
        "s1 = dynamic([1, 2, 4]), s2 = dynamic([4, 2, 1]) \
         | extend add = series_add(s1, s2), sub = series_subtract(s1, s2), \
           mul = series_multiply(s1, s2), div = series_divide(s1, s2), \
           gt = series_greater(s1, s2), ge = series_greater_equals(s1, s2), \
           lt = series_less(s1, s2), eq = series_equals(s1, s2), ne = series_not_equals(s1, s2), \
           scalar = series_add(s1, 10), abs = series_abs(dynamic([-1, 2.5, 'x'])), \
           pw = series_pow(s1, 2), sg = series_sign(dynamic([-3, 0, 5])), \
           short = series_add(dynamic([1, 2, 3]), dynamic([1])), \
           sum = series_sum(s1), mag = series_magnitude(dynamic([3, 4])), \
           dot = series_dot_product(s1, s2), cs = series_cosine_similarity(dynamic([1, 0]), dynamic([0, 1])), \
           pc = series_pearson_correlation(dynamic([1, 2, 3]), dynamic([2, 4, 6]))
         | project-away s1, s2",
    )
    .await;
    assert_eq!(
        r,
        json!({
            "add": [5, 4, 5], "sub": [-3, 0, 3], "mul": [4, 4, 4], "div": [0.25, 1.0, 4.0],
            "gt": [false, false, true], "ge": [false, true, true], "lt": [true, false, false],
            "eq": [false, true, false], "ne": [true, false, true],
            "scalar": [11, 12, 14], "abs": [1, 2.5, null], "pw": [1.0, 4.0, 16.0],
            "sg": [-1, 0, 1], "short": [2, null, null],
            "sum": 7.0, "mag": 5.0, "dot": 12.0, "cs": 0.0, "pc": 1.0
        })
    );
}

#[tokio::test]
async fn filling_and_filters_follow_the_docs() {
    let (_d, e) = engine();
    let r = print(
        &e,
        "x = dynamic([null, 1, null, null, 4, null]) \
         | extend fwd = series_fill_forward(x), bwd = series_fill_backward(x), \
           cst = series_fill_const(x, 0), lin = series_fill_linear(x), \
           lin_no_edges = series_fill_linear(x, double(null), false), \
           ph = series_fill_forward(dynamic([2, -1, -1, 5]), -1), \
           fir = series_fir(dynamic([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), dynamic([1, 1, 1, 1, 1]), false), \
           avg = series_fir(dynamic([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), dynamic([1, 1, 1, 1, 1]), true, true), \
           cum = series_iir(dynamic([1, 2, 3, 4]), dynamic([1]), dynamic([1, -1])) \
         | project-away x",
    )
    .await;
    assert_eq!(r["fwd"], json!([null, 1, 1, 1, 4, 4]));
    assert_eq!(r["bwd"], json!([1, 1, 4, 4, 4, null]));
    assert_eq!(r["cst"], json!([0, 1, 0, 0, 4, 0]));
    assert_eq!(r["lin"], json!([1.0, 1.0, 2.0, 3.0, 4.0, 4.0]));
    assert_eq!(r["lin_no_edges"], json!([null, 1.0, 2.0, 3.0, 4.0, null]));
    assert_eq!(r["ph"], json!([2, 2, 2, 5]));
    assert_eq!(
        r["fir"],
        json!([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0])
    );
    assert!(close(&r["avg"][0], 0.6) && close(&r["avg"][5], 5.0), "{r}");
    assert_eq!(r["cum"], json!([1.0, 3.0, 6.0, 10.0]));
}

#[tokio::test]
async fn fit_line_and_stats_give_the_docs_values() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "print y = dynamic([2, 5, 6, 8, 11, 15, 17, 18, 25, 26, 30, 30]) \
         | extend (RSquare, Slope, Variance, RVariance, Interception, LineFit) = series_fit_line(y) \
         | extend (mn, mn_idx, mx, mx_idx, av, sd, vr) = series_stats(y) \
         | extend bag = series_fit_line_dynamic(y), st = series_stats_dynamic(dynamic([1, 'x', 3]), true)",
    )
    .await;
    let r = &r[0];
    assert!(close(&r["RSquare"], 0.982), "{r}");
    assert!(close(&r["Slope"], 2.730));
    assert!(close(&r["Variance"], 98.628));
    assert!(close(&r["RVariance"], 1.686));
    assert!(close(&r["Interception"], -1.666));
    assert!(close(&r["LineFit"][0], 1.064));
    assert_eq!(
        (r["mn"].clone(), r["mn_idx"].clone()),
        (json!(2.0), json!(0))
    );
    assert_eq!(
        (r["mx"].clone(), r["mx_idx"].clone()),
        (json!(30.0), json!(10))
    );
    assert!(close(&r["vr"], 98.628));
    assert!(close(&r["bag"]["slope"], 2.730));
    assert_eq!(r["st"]["avg"], json!(2.0));
}

/// The docs' anomaly example with deterministic noise instead of `rand()`: a weekly pattern in
/// hourly bins, three dips and three spikes; `series_decompose_anomalies` finds the week and flags exactly them.
#[tokio::test]
async fn decompose_anomalies_flags_the_docs_outliers() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "range t from 1 to 24*7*4 step 1 \
         | extend Timestamp = datetime(2018-03-01 05:00) + 1h * t \
         | extend y = ((t*7)%10)/20.0 + iff((t/24)%7>=5, 10.0, 15.0) - (((t%24)/10)*((t%24)/10)) \
         | extend y = iff(t==150 or t==200 or t==780, y-8.0, y) \
         | extend y = iff(t==300 or t==400 or t==600, y+8.0, y) \
         | summarize Timestamp = make_list(Timestamp, 10000), y = make_list(y, 10000) \
         | extend (flag, score, baseline) = series_decompose_anomalies(y) \
         | extend (b2, seasonal, trend, residual) = series_decompose(y) \
         | project flag, score, baseline, seasonal, outliers = series_outliers(y)",
    )
    .await;
    let r = &r[0];
    let flags = r["flag"].as_array().unwrap();
    assert_eq!(flags.len(), 672);
    let flagged: Vec<(usize, i64)> = flags
        .iter()
        .enumerate()
        .filter(|(_, f)| f.as_i64() != Some(0))
        .map(|(i, f)| (i + 1, f.as_i64().unwrap()))
        .collect();
    // t = 780 is beyond the 672 points; the other five are the docs' outliers.
    assert_eq!(
        flagged,
        vec![(150, -1), (200, -1), (300, 1), (400, 1), (600, 1)]
    );
    assert!(r["score"][299].as_f64().unwrap() > 1.5);
    assert_eq!(r["seasonal"].as_array().unwrap().len(), 672);
    assert_eq!(r["outliers"].as_array().unwrap().len(), 672);
}

#[tokio::test]
async fn series_functions_read_make_series_output() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "datatable(T:datetime, n:long)[datetime(2026-11-01), 1, datetime(2026-11-02), 3, datetime(2026-11-04), 5] \
         | make-series c = sum(n) default = 0 on T from datetime(2026-11-01) to datetime(2026-11-05) step 1d \
         | extend doubled = series_multiply(c, 2), (rsq, slope) = series_fit_line(c)",
    )
    .await;
    assert_eq!(r[0]["c"], json!([1, 3, 0, 5]));
    assert_eq!(r[0]["doubled"], json!([2, 6, 0, 10]));
    assert!(r[0]["slope"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn geospatial_functions_follow_the_docs() {
    let (_d, e) = engine();
    let r = print(
        &e,
        "d = geo_distance_2points(-122.407628, 47.578557, -118.275287, 34.019056), \
         bad = geo_distance_2points(300, 1, 1, 1), \
         inside = geo_point_in_circle(-122.317404, 47.609119, -122.317404, 47.609119, 18), \
         outside = geo_point_in_circle(-122.317404, 47.609119, -123.0, 47.609119, 18), \
         gh = geo_point_to_geohash(-80.195829, 25.802215, 8), gh5 = geo_point_to_geohash(-80.195829, 25.802215), \
         ghbad = geo_point_to_geohash(-80.195829, 95.0), \
         centre = geo_geohash_to_central_point('sunny'), none = geo_geohash_to_central_point('a'), \
         poly = geo_geohash_to_polygon('dr5ru'), az = geo_azimuth(0, 0, 1, 0)",
    )
    .await;
    assert!(
        (r["d"].as_f64().unwrap() - 1_546_754.352).abs() < 0.01,
        "{r}"
    );
    assert_eq!(r["bad"], Value::Null);
    assert_eq!(
        (r["inside"].clone(), r["outside"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(r["gh"], "dhwfz15h");
    assert_eq!(r["gh5"], "dhwfz");
    assert_eq!(r["ghbad"], "");
    assert_eq!(
        r["centre"],
        json!({"type": "Point", "coordinates": [42.47314453125, 23.70849609375]})
    );
    assert_eq!(r["none"], Value::Null);
    assert_eq!(
        r["poly"],
        json!({"type": "Polygon", "coordinates": [[[-74.00390625, 40.7373046875], [-73.9599609375, 40.7373046875],
            [-73.9599609375, 40.78125], [-74.00390625, 40.78125], [-74.00390625, 40.7373046875]]]})
    );
    assert!((r["az"].as_f64().unwrap() - std::f64::consts::FRAC_PI_2).abs() < 1e-9);
    let r = print(
        &e,
        "a = ipv4_range_to_cidr_list('127.0.0.1', '127.0.0.255'), b = ipv4_range_to_cidr_list('10.0.0.5', '10.0.0.1')",
    )
    .await;
    assert_eq!(
        r["a"],
        json!([
            "127.0.0.1/32",
            "127.0.0.2/31",
            "127.0.0.4/30",
            "127.0.0.8/29",
            "127.0.0.16/28",
            "127.0.0.32/27",
            "127.0.0.64/26",
            "127.0.0.128/25"
        ])
    );
    assert_eq!(r["b"], Value::Null);
}
