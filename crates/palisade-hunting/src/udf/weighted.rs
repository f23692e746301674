//! Weighted percentiles (`percentilew`, `percentilesw_array`): the exact nearest-rank
//! percentile of the multiset where each value appears `weight` times, without building it.
//! Rows with a null value or a weight that is null or below 1 are left out; weights are whole
//! numbers (a real weight is truncated), as Kusto's docs require integer weights.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{create_udaf, Accumulator, AggregateUDF, Volatility};
use serde_json::Value as Json;

use super::json::parse_dyn;
use super::{val_at, Val};

#[derive(Debug)]
struct WeightedAcc {
    /// The percentages asked for.
    ps: Vec<f64>,
    /// `None`: one `Float64`; `Some(ints)`: a dynamic array, as integers when the input was.
    array: Option<bool>,
    /// (value, weight) pairs.
    pairs: Vec<(f64, i64)>,
}

impl WeightedAcc {
    fn at(&self, p: f64) -> Option<f64> {
        let total: i64 = self.pairs.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return None;
        }
        let rank = (((p / 100.0) * total as f64).ceil() as i64).clamp(1, total);
        let mut seen = 0;
        for (v, w) in &self.pairs {
            seen += w;
            if seen >= rank {
                return Some(*v);
            }
        }
        self.pairs.last().map(|(v, _)| *v)
    }
}

impl Accumulator for WeightedAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let (x, w) = (&values[0], &values[1]);
        for i in 0..x.len() {
            let v = val_at(x.as_ref(), i)?.f64();
            let weight = val_at(w.as_ref(), i)?.i64();
            if let (Some(v), Some(weight)) = (v, weight) {
                if weight >= 1 {
                    self.pairs.push((v, weight));
                }
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(match self.array {
            None => ScalarValue::Float64(self.ps.first().and_then(|p| self.at(*p))),
            Some(ints) => {
                let items = self.ps.iter().map(|p| match self.at(*p) {
                    None => Json::Null,
                    Some(v) if ints => Json::from(v as i64),
                    Some(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
                });
                ScalarValue::Utf8(Some(Json::Array(items.collect()).to_string()))
            }
        })
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.pairs.capacity() * 16
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let j: Vec<Json> = self
            .pairs
            .iter()
            .filter_map(|(v, w)| {
                serde_json::Number::from_f64(*v).map(|n| Json::Array(vec![n.into(), (*w).into()]))
            })
            .collect();
        Ok(vec![ScalarValue::Utf8(Some(Json::Array(j).to_string()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let a = &states[0];
        for i in 0..a.len() {
            if let Val::Str(s) = val_at(a.as_ref(), i)? {
                if let Json::Array(items) = parse_dyn(s) {
                    for it in items {
                        if let Some([v, w]) = it.as_array().map(Vec::as_slice) {
                            if let (Some(v), Some(w)) = (v.as_f64(), w.as_i64()) {
                                self.pairs.push((v, w));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Exact weighted nearest-rank percentiles over `Float64` values and `Int64` weights: one
/// `Float64` (`array` = `None`) or a dynamic array (`Some(ints)`).
pub(crate) fn weighted_percentile_udaf(ps: Vec<f64>, array: Option<bool>) -> AggregateUDF {
    let key: Vec<String> = ps.iter().map(|p| format!("{:x}", p.to_bits())).collect();
    let ret = if array.is_some() {
        DataType::Utf8
    } else {
        DataType::Float64
    };
    create_udaf(
        &format!("kql_percentilew_{}_{array:?}", key.join("_")),
        vec![DataType::Float64, DataType::Int64],
        Arc::new(ret),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(WeightedAcc {
                ps: ps.clone(),
                array,
                pairs: Vec::new(),
            }))
        }),
        Arc::new(vec![DataType::Utf8]),
    )
}
