//! The series functions over dynamic arrays (what `make-series` produces): the multi-result
//! [`SeriesFn`] (planned as one array of results that `ExprNode::Output` indexes) and the
//! single-result [`SeriesOpFn`]. The numerics live in `series_math.rs`.
//!
//! Element rules (Kusto's): a non-numeric or missing element yields a null element; the
//! element-wise binary functions take arrays or numbers on either side (a number applies to
//! every element) and return as many elements as the longer array; a non-array series
//! argument yields null. Sums, differences and products of whole numbers stay whole; other
//! results are reals; a non-finite result is null (JSON has no NaN).

use super::series_math::{self as m, Trend};
use super::*;
use palisade_kql::functions::{SeriesFn, SeriesOpFn as F};

/// A series argument: an array's elements as numbers (None: missing or not a number).
fn series(v: &Json) -> Option<Vec<Option<f64>>> {
    match v {
        Json::Array(a) => Some(a.iter().map(Json::as_f64).collect()),
        _ => None,
    }
}

/// A number, null when not finite.
fn num(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
}

fn nums(v: impl IntoIterator<Item = f64>) -> Json {
    Json::Array(v.into_iter().map(num).collect())
}

/// Argument `i` as a number (absent or null: `default`).
fn arg_f64(a: &[Json], i: usize, default: f64) -> f64 {
    a.get(i).and_then(Json::as_f64).unwrap_or(default)
}

fn arg_bool(a: &[Json], i: usize, default: bool) -> bool {
    a.get(i).and_then(Json::as_bool).unwrap_or(default)
}

fn arg_str<'a>(a: &'a [Json], i: usize, default: &'a str) -> &'a str {
    a.get(i).and_then(Json::as_str).unwrap_or(default)
}

/// One side of an element-wise binary function.
enum Side {
    Scalar(Json),
    Array(Vec<Json>),
}

impl Side {
    fn of(v: &Json) -> Option<Side> {
        match v {
            Json::Array(a) => Some(Side::Array(a.clone())),
            Json::Number(_) => Some(Side::Scalar(v.clone())),
            _ => None,
        }
    }
    fn len(&self) -> Option<usize> {
        match self {
            Side::Array(a) => Some(a.len()),
            Side::Scalar(_) => None,
        }
    }
    fn at(&self, i: usize) -> Option<&Json> {
        match self {
            Side::Array(a) => a.get(i),
            Side::Scalar(v) => Some(v),
        }
    }
}

/// Applies `f` element by element to two sides (see the module's rules).
fn zip(a: &Json, b: &Json, f: impl Fn(&Json, &Json) -> Json) -> Json {
    let (Some(x), Some(y)) = (Side::of(a), Side::of(b)) else {
        return Json::Null;
    };
    let Some(n) = x.len().max(y.len()) else {
        return Json::Null;
    };
    Json::Array(
        (0..n)
            .map(|i| match (x.at(i), y.at(i)) {
                (Some(p), Some(q)) if p.is_number() && q.is_number() => f(p, q),
                _ => Json::Null,
            })
            .collect(),
    )
}

/// Whole-number arithmetic when both are whole numbers, else reals.
fn arith(p: &Json, q: &Json, int: fn(i64, i64) -> Option<i64>, real: fn(f64, f64) -> f64) -> Json {
    match (p.as_i64(), q.as_i64()) {
        (Some(x), Some(y)) => int(x, y).map_or(Json::Null, Json::from),
        _ => num(real(
            p.as_f64().unwrap_or(f64::NAN),
            q.as_f64().unwrap_or(f64::NAN),
        )),
    }
}

fn compare(p: &Json, q: &Json, ok: fn(std::cmp::Ordering) -> bool) -> Json {
    match (p.as_f64(), q.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).map_or(Json::Null, |o| Json::Bool(ok(o))),
        _ => Json::Null,
    }
}

/// Applies `f` to every element, keeping whole numbers whole where `int` gives a result.
fn map(v: &Json, int: Option<fn(i64) -> i64>, real: fn(f64) -> f64) -> Json {
    let Json::Array(a) = v else {
        return Json::Null;
    };
    Json::Array(
        a.iter()
            .map(|e| match (e.as_i64(), int) {
                (Some(i), Some(g)) => Json::from(g(i)),
                _ => e.as_f64().map_or(Json::Null, |x| num(real(x))),
            })
            .collect(),
    )
}

/// The elements equal to the placeholder (JSON equality; null by default) become None.
fn with_missing(v: &Json, placeholder: Option<&Json>) -> Option<Vec<Option<Json>>> {
    let Json::Array(a) = v else { return None };
    let missing = |e: &Json| match placeholder {
        None | Some(Json::Null) => e.is_null(),
        Some(p) => e == p || (e.as_f64().is_some() && e.as_f64() == p.as_f64()),
    };
    Some(a.iter().map(|e| (!missing(e)).then(|| e.clone())).collect())
}

fn series_op(f: F, a: &[Json]) -> Json {
    let s0 = || series(&a[0]);
    match f {
        F::Abs => map(&a[0], Some(i64::wrapping_abs), f64::abs),
        F::Acos => map(&a[0], None, f64::acos),
        F::Asin => map(&a[0], None, f64::asin),
        F::Atan => map(&a[0], None, f64::atan),
        F::Ceiling => map(&a[0], Some(|i| i), f64::ceil),
        F::Cos => map(&a[0], None, f64::cos),
        F::Exp => map(&a[0], None, f64::exp),
        F::Floor => map(&a[0], Some(|i| i), f64::floor),
        F::Log => map(&a[0], None, f64::ln),
        F::Sign => map(&a[0], Some(i64::signum), |x| {
            if x == 0.0 {
                0.0
            } else {
                x.signum()
            }
        }),
        F::Sin => map(&a[0], None, f64::sin),
        F::Tan => map(&a[0], None, f64::tan),
        F::Add => zip(&a[0], &a[1], |p, q| {
            arith(p, q, i64::checked_add, |x, y| x + y)
        }),
        F::Subtract => zip(&a[0], &a[1], |p, q| {
            arith(p, q, i64::checked_sub, |x, y| x - y)
        }),
        F::Multiply => zip(&a[0], &a[1], |p, q| {
            arith(p, q, i64::checked_mul, |x, y| x * y)
        }),
        F::Divide => zip(&a[0], &a[1], |p, q| {
            num(p.as_f64().unwrap_or(f64::NAN) / q.as_f64().unwrap_or(f64::NAN))
        }),
        F::Pow => zip(&a[0], &a[1], |p, q| {
            num(p
                .as_f64()
                .unwrap_or(f64::NAN)
                .powf(q.as_f64().unwrap_or(f64::NAN)))
        }),
        F::Greater => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_gt())),
        F::GreaterEquals => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_ge())),
        F::Less => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_lt())),
        F::LessEquals => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_le())),
        F::Equals => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_eq())),
        F::NotEquals => zip(&a[0], &a[1], |p, q| compare(p, q, |o| o.is_ne())),
        F::Sum | F::Product | F::Magnitude => match s0() {
            Some(v) => {
                let vals = v.iter().flatten();
                num(match f {
                    F::Sum => vals.sum(),
                    F::Product => vals.product(),
                    _ => vals.map(|x| x * x).sum::<f64>().sqrt(),
                })
            }
            None => Json::Null,
        },
        F::DotProduct | F::CosineSimilarity | F::PearsonCorrelation => {
            let (Some(x), Some(y)) = (s0(), series(&a[1])) else {
                return Json::Null;
            };
            let pairs: Vec<(f64, f64)> = x
                .iter()
                .zip(y.iter())
                .filter_map(|(p, q)| Some(((*p)?, (*q)?)))
                .collect();
            let dot: f64 = pairs.iter().map(|(p, q)| p * q).sum();
            match f {
                F::DotProduct => num(dot),
                F::CosineSimilarity => {
                    let mag =
                        |v: &[Option<f64>]| v.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
                    let m1 = a.get(2).and_then(Json::as_f64).unwrap_or_else(|| mag(&x));
                    let m2 = a.get(3).and_then(Json::as_f64).unwrap_or_else(|| mag(&y));
                    num(dot / (m1 * m2))
                }
                _ => {
                    let n = pairs.len() as f64;
                    let (mx, my) = (
                        pairs.iter().map(|p| p.0).sum::<f64>() / n,
                        pairs.iter().map(|p| p.1).sum::<f64>() / n,
                    );
                    let cov: f64 = pairs.iter().map(|(p, q)| (p - mx) * (q - my)).sum();
                    let vx: f64 = pairs.iter().map(|(p, _)| (p - mx).powi(2)).sum();
                    let vy: f64 = pairs.iter().map(|(_, q)| (q - my).powi(2)).sum();
                    num(cov / (vx * vy).sqrt())
                }
            }
        }
        F::FillForward | F::FillBackward => {
            let Some(mut v) = with_missing(&a[0], a.get(1)) else {
                return Json::Null;
            };
            let mut last: Option<Json> = None;
            let forward = f == F::FillForward;
            let idx: Vec<usize> = if forward {
                (0..v.len()).collect()
            } else {
                (0..v.len()).rev().collect()
            };
            for i in idx {
                match &v[i] {
                    Some(e) => last = Some(e.clone()),
                    None => v[i] = last.clone(),
                }
            }
            // Points with no value on that side keep the placeholder.
            let placeholder = a.get(1).cloned().unwrap_or(Json::Null);
            Json::Array(
                v.into_iter()
                    .map(|e| e.unwrap_or_else(|| placeholder.clone()))
                    .collect(),
            )
        }
        F::FillConst => {
            let Some(v) = with_missing(&a[0], a.get(2)) else {
                return Json::Null;
            };
            let c = a.get(1).cloned().unwrap_or(Json::from(0));
            Json::Array(
                v.into_iter()
                    .map(|e| e.unwrap_or_else(|| c.clone()))
                    .collect(),
            )
        }
        F::FillLinear => {
            let Some(v) = with_missing(&a[0], a.get(1)) else {
                return Json::Null;
            };
            let y: Vec<Option<f64>> = v
                .iter()
                .map(|e| e.as_ref().and_then(Json::as_f64))
                .collect();
            if y.iter().all(Option::is_none) {
                let c = a.get(3).cloned().unwrap_or(Json::Null);
                return Json::Array(vec![c; y.len()]);
            }
            let placeholder = a.get(1).cloned().unwrap_or(Json::Null);
            Json::Array(
                m::fill_linear(&y, arg_bool(a, 2, true))
                    .into_iter()
                    .map(|e| e.map_or_else(|| placeholder.clone(), num))
                    .collect(),
            )
        }
        F::Fir => {
            let (Some(x), Some(filter)) = (s0(), series(&a[1])) else {
                return Json::Null;
            };
            let filter: Vec<f64> = filter.iter().map(|v| v.unwrap_or(0.0)).collect();
            nums(m::fir(
                &x,
                &filter,
                arg_bool(a, 2, true),
                arg_bool(a, 3, false),
            ))
        }
        F::Iir => {
            let (Some(x), Some(b), Some(den)) = (s0(), series(&a[1]), series(&a[2])) else {
                return Json::Null;
            };
            let flat =
                |v: Vec<Option<f64>>| v.into_iter().map(|x| x.unwrap_or(0.0)).collect::<Vec<_>>();
            m::iir(&x, &flat(b), &flat(den)).map_or(Json::Null, nums)
        }
        F::Outliers => {
            let Some(mut y) = s0() else { return Json::Null };
            if let Some(ignore) = a.get(2).and_then(Json::as_f64) {
                for v in y.iter_mut() {
                    if *v == Some(ignore) {
                        *v = None;
                    }
                }
            }
            let (low, high) = match arg_str(a, 1, "ctukey") {
                "tukey" => (25.0, 75.0),
                _ => (arg_f64(a, 3, 10.0), arg_f64(a, 4, 90.0)),
            };
            nums(m::outlier_scores(&y, &y, low, high))
        }
        F::Seasonal => {
            let Some(y) = s0() else { return Json::Null };
            let x: Vec<f64> = y.iter().map(|v| v.unwrap_or(0.0)).collect();
            let period = match a.get(1).and_then(Json::as_i64).unwrap_or(-1) {
                p if p < 0 => m::detect_period(&x, 0.6),
                0 => None,
                p => Some(p as usize),
            };
            let d = m::decompose(&y, period.map_or(0, |p| p as i64), Trend::None, 0, 0.6);
            nums(d.seasonal)
        }
        F::StatsDynamic => stats_bag(a),
        F::FitLineDynamic => fit_bag(a),
    }
}

fn stats_bag(a: &[Json]) -> Json {
    let Some(y) = series(&a[0]) else {
        return Json::Null;
    };
    match m::stats(&y, arg_bool(a, 1, false)) {
        Some(s) => serde_json::json!({
            "min": num(s.min), "min_idx": s.min_idx, "max": num(s.max), "max_idx": s.max_idx,
            "avg": num(s.avg), "stdev": num(s.stdev), "variance": num(s.variance),
        }),
        None => serde_json::json!({
            "min": null, "min_idx": null, "max": null, "max_idx": null,
            "avg": null, "stdev": null, "variance": null,
        }),
    }
}

fn fit_bag(a: &[Json]) -> Json {
    let Some(y) = series(&a[0]) else {
        return Json::Null;
    };
    match m::line_fit(&y) {
        Some(f) => serde_json::json!({
            "rsquare": num(f.rsquare), "slope": num(f.slope), "variance": num(f.variance),
            "rvariance": num(f.rvariance), "interception": num(f.interception),
            "line_fit": nums(f.line_fit),
        }),
        None => Json::Null,
    }
}

/// The results of a multi-result function, in [`SeriesFn::outputs`] order, as one array.
fn series_multi(f: SeriesFn, a: &[Json]) -> Json {
    let pick = |bag: Json| match bag {
        Json::Object(mut o) => Json::Array(
            f.outputs()
                .iter()
                .map(|k| o.remove(*k).unwrap_or(Json::Null))
                .collect(),
        ),
        _ => Json::Array(vec![Json::Null; f.outputs().len()]),
    };
    match f {
        SeriesFn::SeriesStats => pick(stats_bag(a)),
        SeriesFn::SeriesFitLine => pick(fit_bag(a)),
        SeriesFn::SeriesDecompose | SeriesFn::SeriesDecomposeAnomalies => {
            let Some(y) = series(&a[0]) else {
                return pick(Json::Null);
            };
            let anomalies = f == SeriesFn::SeriesDecomposeAnomalies;
            // series_decompose(x, seasonality, trend, test_points, threshold);
            // series_decompose_anomalies(x, threshold, seasonality, trend, test_points,
            // method, seasonality_threshold).
            let at = |i: usize| if anomalies { i + 1 } else { i };
            let seasonality = a.get(at(1)).and_then(Json::as_i64).unwrap_or(-1);
            let trend = match arg_str(a, at(2), "avg") {
                "linefit" => Trend::LineFit,
                "none" => Trend::None,
                _ => Trend::Avg,
            };
            let test_points = a.get(at(3)).and_then(Json::as_u64).unwrap_or(0) as usize;
            let season_threshold = if anomalies {
                arg_f64(a, 6, 0.6)
            } else {
                arg_f64(a, 4, 0.6)
            };
            let d = m::decompose(&y, seasonality, trend, test_points, season_threshold);
            if !anomalies {
                return Json::Array(vec![
                    nums(d.baseline),
                    nums(d.seasonal),
                    nums(d.trend),
                    nums(d.residual),
                ]);
            }
            let threshold = arg_f64(a, 1, 1.5);
            let (low, high) = match arg_str(a, 5, "ctukey") {
                "tukey" => (25.0, 75.0),
                _ => (10.0, 90.0),
            };
            let resid: Vec<Option<f64>> = d.residual.iter().map(|r| Some(*r)).collect();
            let learn = resid.len().saturating_sub(test_points);
            let scores = m::outlier_scores(&resid, &resid[..learn], low, high);
            let flags: Vec<Json> = scores
                .iter()
                .map(|s| {
                    Json::from(if *s > threshold {
                        1
                    } else if *s < -threshold {
                        -1
                    } else {
                        0
                    })
                })
                .collect();
            Json::Array(vec![Json::Array(flags), nums(scores), nums(d.baseline)])
        }
    }
}

/// Plans a multi-result series function: one dynamic array of its results.
pub(super) fn plan_multi(p: &mut Planner, f: SeriesFn, c: &Call) -> PResult<Expr> {
    c.json_fn(p, Box::new(move |a| series_multi(f, &a)))
}

/// Plans a single-result series function.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    c.json_fn(p, Box::new(move |a| series_op(f, &a)))
}
