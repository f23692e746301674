//! `dynamic` access as UDFs: `x.key`, `x[i]`, `parse_json()`, membership in a dynamic array,
//! and the element lists `mv-expand` unnests.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::budget::{Budget, Charge};
use serde_json::Value as Json;

use super::json::{dyn_out, json_to_string, parse_dyn};
use super::{row_udf, Out, Val};

/// `dyn.key`.
pub(crate) fn member_udf() -> ScalarUDF {
    row_udf("kql_member", DataType::Utf8, |a| match a[0] {
        Val::Str(s) => match parse_dyn(s) {
            Json::Object(mut m) => m.remove(a[1].text()).map_or(Out::Null, dyn_out),
            _ => Out::Null,
        },
        _ => Out::Null,
    })
}

/// `dyn[i]` (negative indexes count from the end) or `dyn["key"]`.
pub(crate) fn index_udf() -> ScalarUDF {
    row_udf("kql_index", DataType::Utf8, |a| {
        let Val::Str(s) = a[0] else { return Out::Null };
        match (parse_dyn(s), a[1]) {
            (Json::Array(mut v), i) => {
                let Some(i) = i.i64() else { return Out::Null };
                let idx = if i < 0 { v.len() as i64 + i } else { i };
                if idx < 0 || idx as usize >= v.len() {
                    Out::Null
                } else {
                    dyn_out(v.swap_remove(idx as usize))
                }
            }
            (Json::Object(mut m), Val::Str(k)) => m.remove(k).map_or(Out::Null, dyn_out),
            _ => Out::Null,
        }
    })
}

/// `parse_json(string)`: JSON text is parsed, anything else becomes a JSON string.
pub(crate) fn parse_json_udf() -> ScalarUDF {
    row_udf("kql_parse_json", DataType::Utf8, |a| match a[0] {
        Val::Str(s) => match serde_json::from_str::<Json>(s) {
            Ok(v) => dyn_out(v),
            Err(_) => Out::Str(Json::String(s.to_string()).to_string()),
        },
        _ => Out::Null,
    })
}

/// `set_has_element`-style membership of a dynamic scalar in a dynamic array.
pub(crate) fn json_contains_udf(ci: bool) -> ScalarUDF {
    row_udf(
        if ci {
            "kql_array_contains_ci"
        } else {
            "kql_array_contains"
        },
        DataType::Boolean,
        move |a| {
            let (Val::Str(arr), Val::Str(x)) = (a[0], a[1]) else {
                return Out::Bool(false);
            };
            let x = parse_dyn(x);
            let Json::Array(items) = parse_dyn(arr) else {
                return Out::Bool(false);
            };
            Out::Bool(items.iter().any(|i| {
                if ci {
                    json_to_string(i).to_lowercase() == json_to_string(&x).to_lowercase()
                } else {
                    *i == x
                }
            }))
        },
    )
}

/// The element lists `mv-expand` unnests, built under the query's budget.
///
/// Volatile on purpose: an immutable function of a constant (`mv-expand r = range(1, 1e8)`)
/// would be folded into one list literal at planning and then copied into every row of every
/// batch outside any budget, until Arrow's offsets overflow. Invoked per batch instead, each
/// element is charged with `row_bytes` (what unnesting copies of the row's other columns)
/// while the list is built, so an expansion the memory limit cannot hold fails early.
#[derive(Debug)]
struct MvList {
    name: &'static str,
    sig: Signature,
    ret: DataType,
    limit: Option<usize>,
    indexes: bool,
    row_bytes: usize,
    budget: Option<Budget>,
}

impl PartialEq for MvList {
    fn eq(&self, other: &Self) -> bool {
        (self.name, self.limit, self.row_bytes) == (other.name, other.limit, other.row_bytes)
    }
}

impl Eq for MvList {}

impl std::hash::Hash for MvList {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.name, self.limit, self.row_bytes).hash(state)
    }
}

/// A dynamic value's items: array elements, or one single-key bag per property of a bag.
fn items_of(text: &str) -> Vec<Json> {
    match parse_dyn(text) {
        Json::Array(v) => v,
        Json::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                let mut o = serde_json::Map::new();
                o.insert(k, v);
                Json::Object(o)
            })
            .collect(),
        other => vec![other],
    }
}

impl ScalarUDFImpl for MvList {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.sig
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arg = args.args.first().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal("mv-expand input".into())
        })?;
        // A constant is parsed once and repeated for every row of the batch.
        let scalar = matches!(arg, ColumnarValue::Scalar(_));
        let arr = arg.to_array(if scalar { 1 } else { rows })?;
        let strs = arrow::compute::cast(&arr, &DataType::Utf8)?;
        let strs = strs.as_string::<i32>();
        let limit = self.limit.unwrap_or(usize::MAX);
        let mut charge = Charge::new(self.name, self.budget.as_ref());
        let mut cached: Option<Vec<Json>> = None;
        let out: ArrayRef = if self.indexes {
            let mut b = ListBuilder::new(Int64Builder::new());
            for i in 0..rows {
                let at = if scalar { 0 } else { i };
                if strs.is_null(at) {
                    b.append(false);
                    continue;
                }
                let len = match parse_dyn(strs.value(at)) {
                    Json::Array(v) => v.len(),
                    Json::Object(m) => m.len(),
                    _ => 1,
                }
                .min(limit);
                charge.add(len.saturating_mul(16 + self.row_bytes))?;
                for k in 0..len {
                    b.values().append_value(k as i64);
                }
                b.append(true);
            }
            Arc::new(b.finish())
        } else {
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..rows {
                let at = if scalar { 0 } else { i };
                if strs.is_null(at) {
                    b.append(false);
                    continue;
                }
                let fresh;
                let items: &[Json] = if scalar {
                    cached.get_or_insert_with(|| items_of(strs.value(0)))
                } else {
                    fresh = items_of(strs.value(at));
                    &fresh
                };
                for v in items.iter().take(limit) {
                    if v.is_null() {
                        charge.add(8 + self.row_bytes)?;
                        b.values().append_null();
                    } else {
                        let text = v.to_string();
                        charge.add(text.len() + 8 + self.row_bytes)?;
                        b.values().append_value(text);
                    }
                }
                b.append(true);
            }
            Arc::new(b.finish())
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn list_udf(
    name: &'static str,
    limit: Option<usize>,
    indexes: bool,
    row_bytes: usize,
) -> ScalarUDF {
    let item = if indexes {
        DataType::Int64
    } else {
        DataType::Utf8
    };
    ScalarUDF::new_from_impl(MvList {
        name,
        sig: Signature::exact(vec![DataType::Utf8], Volatility::Volatile),
        ret: DataType::List(Arc::new(Field::new("item", item, true))),
        limit,
        indexes,
        row_bytes,
        budget: crate::budget::current(),
    })
}

/// Dynamic array → `List<Utf8>` of element JSON texts (for `mv-expand`).
/// `row_bytes`: what unnesting copies of the row's other columns per element (an estimate).
pub(crate) fn json_list_udf(limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    list_udf("kql_mv_items", limit, false, row_bytes)
}

/// Dynamic array → `List<Int64>` of element indexes (for `with_itemindex`).
pub(crate) fn json_index_list_udf(limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    list_udf("kql_mv_indexes", limit, true, row_bytes)
}
