//! Accumulator-based aggregates: the JSON-building `make_set`/`make_list`/`make_bag`, exact
//! nearest-rank `percentile(s)`, and the per-bin collection behind `make-series`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::common::{HashSet, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{create_udaf, Accumulator, AggregateUDF, ScalarUDF, Volatility};
use palisade_kql::KqlType;
use serde_json::Value as Json;

use super::json::{parse_dyn, val_to_json};
use super::{arrow_type, row_udf, val_at, Out, Val};
use crate::budget::check_value;

/// What a JSON-collecting aggregate builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collect {
    List,
    /// `make_list_with_nulls`: a list that keeps null values (as JSON nulls).
    ListWithNulls,
    Set,
    Bag,
}

#[derive(Debug)]
struct CollectAcc {
    kind: Collect,
    max: usize,
    items: Vec<Json>,
    /// `make_set` keys of non-string values (their JSON text). DataFusion's set (foldhash,
    /// seeded per process), not std's SipHash, which was 13 % of a 10 M-row `make_set`.
    seen: HashSet<String>,
    /// `make_set` keys of string values (the text itself), so a repeated string costs one
    /// hash lookup and no allocation.
    seen_text: HashSet<String>,
    bag: serde_json::Map<String, Json>,
    ty: KqlType,
    /// Bytes held (an estimate that counts the text of every item): what [`Accumulator::size`]
    /// reports to the query's memory pool, and what [`crate::budget::MAX_VALUE_BYTES`] bounds.
    bytes: usize,
}

/// Bytes one JSON item holds in memory, about.
fn json_bytes(v: &Json) -> usize {
    match v {
        Json::String(s) => s.len() + 32,
        Json::Null | Json::Bool(_) | Json::Number(_) => 24,
        other => other.to_string().len() + 32,
    }
}

impl CollectAcc {
    /// Fails once the collected value is larger than one value may be.
    fn check(&self) -> DfResult<()> {
        let name = match self.kind {
            Collect::List => "make_list",
            Collect::ListWithNulls => "make_list_with_nulls",
            Collect::Set => "make_set",
            Collect::Bag => "make_bag",
        };
        // A set holds each text twice (the item and its key).
        let copies = if self.kind == Collect::Set { 2 } else { 1 };
        check_value(name, self.bytes / copies)
    }
    fn add(&mut self, v: Json) {
        match self.kind {
            Collect::ListWithNulls => {
                if self.items.len() < self.max {
                    self.bytes += json_bytes(&v);
                    self.items.push(v);
                }
            }
            Collect::List => {
                if self.items.len() < self.max && !v.is_null() {
                    self.bytes += json_bytes(&v);
                    self.items.push(v);
                }
            }
            Collect::Set => {
                if self.items.len() < self.max && !v.is_null() {
                    let fresh = match &v {
                        Json::String(t) => self.add_text_key(t),
                        other => self.seen.insert(other.to_string()),
                    };
                    if fresh {
                        self.bytes += 2 * json_bytes(&v);
                        self.items.push(v);
                    }
                }
            }
            Collect::Bag => {
                if let Json::Object(m) = v {
                    for (k, x) in m {
                        if self.bag.len() >= self.max && !self.bag.contains_key(&k) {
                            break;
                        }
                        if !self.bag.contains_key(&k) {
                            self.bytes += k.len() + json_bytes(&x) + 32;
                        }
                        self.bag.entry(k).or_insert(x);
                    }
                }
            }
        }
    }
    /// Records string `t` as seen; true when it was new.
    fn add_text_key(&mut self, t: &str) -> bool {
        if self.seen_text.contains(t) {
            return false;
        }
        self.seen_text.insert(t.to_string());
        true
    }
    fn result(&self) -> Json {
        match self.kind {
            Collect::Bag => Json::Object(self.bag.clone()),
            _ => Json::Array(self.items.clone()),
        }
    }
}

impl Accumulator for CollectAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let a = &values[0];
        if self.kind == Collect::Set && self.ty == KqlType::String {
            // Strings: look each value up by its text; build JSON only for new ones.
            if let Some(strs) = a.as_string_opt::<i32>() {
                for i in 0..strs.len() {
                    if self.items.len() >= self.max {
                        break;
                    }
                    if strs.is_valid(i) && self.add_text_key(strs.value(i)) {
                        self.bytes += 2 * (strs.value(i).len() + 32);
                        self.items.push(Json::String(strs.value(i).to_string()));
                    }
                }
                return self.check();
            }
        }
        for i in 0..a.len() {
            let v = val_at(a.as_ref(), i)?;
            if !v.is_null() {
                let j = val_to_json(v, self.ty);
                self.add(j);
            } else if self.kind == Collect::ListWithNulls {
                self.add(Json::Null);
            }
        }
        self.check()
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.result().to_string())))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bytes
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(Some(self.result().to_string()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let a = &states[0];
        for i in 0..a.len() {
            if let Val::Str(s) = val_at(a.as_ref(), i)? {
                match (parse_dyn(s), self.kind) {
                    (Json::Array(items), _) => items.into_iter().for_each(|x| self.add(x)),
                    (o @ Json::Object(_), Collect::Bag) => self.add(o),
                    _ => {}
                }
            }
        }
        self.check()
    }
}

/// `make_list` / `make_set` / `make_bag` over values of KQL type `ty` with at most `max` items.
pub(crate) fn collect_udaf(kind: Collect, ty: KqlType, max: usize) -> AggregateUDF {
    let name = format!("kql_make_{kind:?}_{}_{max}", ty.name()).to_lowercase();
    create_udaf(
        &name,
        vec![arrow_type(ty)],
        Arc::new(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(CollectAcc {
                kind,
                max,
                items: Vec::new(),
                seen: Default::default(),
                seen_text: Default::default(),
                bag: Default::default(),
                ty,
                bytes: 0,
            }))
        }),
        Arc::new(vec![DataType::Utf8]),
    )
}

#[derive(Debug)]
struct PercentileAcc {
    /// The percentages asked for.
    ps: Vec<f64>,
    /// `None`: one `Float64` (`percentile`); `Some(ints)`: a dynamic array of all of them
    /// (`percentiles_array`), as integers when the input was.
    array: Option<bool>,
    values: Vec<f64>,
}

impl Accumulator for PercentileAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let a = &values[0];
        for i in 0..a.len() {
            if let Some(f) = val_at(a.as_ref(), i)?.f64() {
                self.values.push(f);
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.values.sort_by(|a, b| a.total_cmp(b));
        let values = &self.values;
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let at = |p: f64| {
            let n = values.len();
            let rank = ((p / 100.0) * n as f64).ceil() as usize;
            (n > 0).then(|| values[rank.clamp(1, n) - 1])
        };
        Ok(match self.array {
            None => ScalarValue::Float64(self.ps.first().and_then(|p| at(*p))),
            Some(ints) => {
                let items = self.ps.iter().map(|p| match at(*p) {
                    None => Json::Null,
                    Some(v) if ints => Json::from(v as i64),
                    Some(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
                });
                ScalarValue::Utf8(Some(Json::Array(items.collect()).to_string()))
            }
        })
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * 8
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let j = Json::Array(
            self.values
                .iter()
                .filter_map(|f| serde_json::Number::from_f64(*f).map(Json::Number))
                .collect(),
        );
        Ok(vec![ScalarValue::Utf8(Some(j.to_string()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let a = &states[0];
        for i in 0..a.len() {
            if let Val::Str(s) = val_at(a.as_ref(), i)? {
                if let Json::Array(items) = parse_dyn(s) {
                    self.values.extend(items.iter().filter_map(Json::as_f64));
                }
            }
        }
        Ok(())
    }
}

/// Exact nearest-rank `percentile(x, p)` over `Float64` input.
pub(crate) fn percentile_udaf(p: f64) -> AggregateUDF {
    create_udaf(
        &format!("kql_percentile_{}", p.to_string().replace('.', "_")),
        vec![DataType::Float64],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(PercentileAcc {
                ps: vec![p],
                array: None,
                values: Vec::new(),
            }))
        }),
        Arc::new(vec![DataType::Utf8]),
    )
}

/// Exact nearest-rank `percentiles_array(x, ps...)` over `Float64` input: a dynamic array with
/// one value per percentage (integers when `ints`).
pub(crate) fn percentiles_array_udaf(ps: Vec<f64>, ints: bool) -> AggregateUDF {
    // Exact bits: DataFusion merges UDAFs of the same name, so the name must tell every
    // percentage list apart (`[0.5]` and `[0, 5]` must not share one).
    let key: Vec<String> = ps.iter().map(|p| format!("{:x}", p.to_bits())).collect();
    create_udaf(
        &format!("kql_percentiles_array_{}_{}", key.join("_"), ints),
        vec![DataType::Float64],
        Arc::new(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(PercentileAcc {
                ps: ps.clone(),
                array: Some(ints),
                values: Vec::new(),
            }))
        }),
        Arc::new(vec![DataType::Utf8]),
    )
}

// ---------------------------------------------------------------------------------------------
// make-series

/// Most elements of one `make-series` array (Kusto's documented limit, 2^20); longer series are
/// truncated.
pub(crate) const MAX_SERIES_BINS: i64 = 1 << 20;

/// Collects `(bin index, value)` pairs of one series as the JSON text `[[i, v], ...]`.
#[derive(Debug)]
struct SeriesAcc {
    ty: KqlType,
    pairs: Vec<(i64, Json)>,
}

impl Accumulator for SeriesAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let (idx, val) = (&values[0], &values[1]);
        for i in 0..idx.len() {
            if let Some(b) = val_at(idx.as_ref(), i)?.i64() {
                let v = val_to_json(val_at(val.as_ref(), i)?, self.ty);
                self.pairs.push((b, v));
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.state().map(|mut s| s.remove(0))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.pairs.capacity() * 48
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let j = Json::Array(
            self.pairs
                .iter()
                .map(|(i, v)| Json::Array(vec![Json::from(*i), v.clone()]))
                .collect(),
        );
        Ok(vec![ScalarValue::Utf8(Some(j.to_string()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let a = &states[0];
        for i in 0..a.len() {
            if let Val::Str(s) = val_at(a.as_ref(), i)? {
                self.pairs.extend(series_pairs(&parse_dyn(s)));
            }
        }
        Ok(())
    }
}

fn series_pairs(j: &Json) -> Vec<(i64, Json)> {
    let Json::Array(items) = j else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|p| match p.as_array().map(Vec::as_slice) {
            Some([i, v]) => i.as_i64().map(|i| (i, v.clone())),
            _ => None,
        })
        .collect()
}

/// `make-series` step 1: the `(bin index, value)` pairs of a group, values of KQL type `ty`
/// (each bin occurs once per group, as the input is already aggregated per bin).
pub(crate) fn series_collect_udaf(ty: KqlType) -> AggregateUDF {
    create_udaf(
        &format!("kql_series_collect_{}", ty.name()),
        vec![DataType::Int64, arrow_type(ty)],
        Arc::new(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(SeriesAcc {
                ty,
                pairs: Vec::new(),
            }))
        }),
        Arc::new(vec![DataType::Utf8]),
    )
}

/// `make-series` step 2: `(pairs, first bin, end bin)` → the dense JSON array of bins
/// `first..end` (at most [`MAX_SERIES_BINS`]), absent bins set to `default`.
pub(crate) fn series_fill_udf(default: Json) -> ScalarUDF {
    let name = format!("kql_series_fill_{default}");
    row_udf(name, DataType::Utf8, move |a| {
        let (Some(first), Some(end)) = (a[1].i64(), a[2].i64()) else {
            return Out::Str("[]".into());
        };
        let n = end.saturating_sub(first).clamp(0, MAX_SERIES_BINS) as usize;
        let mut out = vec![default.clone(); n];
        for (i, v) in series_pairs(&parse_dyn(a[0].text())) {
            if let Some(k) = i.checked_sub(first).filter(|k| (0..n as i64).contains(k)) {
                out[k as usize] = v;
            }
        }
        Out::Str(Json::Array(out).to_string())
    })
}

/// `make-series` axis: `(start, first bin, end bin)` → the JSON array of bin starts
/// `start + k * step` for `k` in `0..end - first` (at most [`MAX_SERIES_BINS`]), as values of
/// KQL type `ty` (`datetime`: ISO text; integer types and `timespan` take `Int64` steps,
/// `real` a `Float64` step).
pub(crate) fn series_axis_udf(ty: KqlType, step_i: i64, step_f: f64) -> ScalarUDF {
    let name = format!("kql_series_axis_{}_{step_i}_{step_f}", ty.name());
    row_udf(name, DataType::Utf8, move |a| {
        let (Some(first), Some(end)) = (a[1].i64(), a[2].i64()) else {
            return Out::Str("[]".into());
        };
        let n = end.saturating_sub(first).clamp(0, MAX_SERIES_BINS);
        let mut out = Vec::with_capacity(n as usize);
        for k in 0..n {
            let v = match ty {
                KqlType::Real | KqlType::Decimal => match a[0].f64() {
                    Some(s) => Val::F64(s + k as f64 * step_f),
                    None => Val::Null,
                },
                _ => match a[0]
                    .i64()
                    .and_then(|s| s.checked_add(k.checked_mul(step_i)?))
                {
                    Some(v) => Val::I64(v),
                    None => Val::Null,
                },
            };
            out.push(val_to_json(v, ty));
        }
        Out::Str(Json::Array(out).to_string())
    })
}
