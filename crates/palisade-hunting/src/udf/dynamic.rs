//! `dynamic` access as UDFs: `x.key`, `x[i]`, `parse_json()`, membership in a dynamic array,
//! and the element lists `mv-expand` unnests.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
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

fn list_udf(name: &str, limit: Option<usize>, indexes: bool) -> ScalarUDF {
    let item = if indexes {
        DataType::Int64
    } else {
        DataType::Utf8
    };
    let ret = DataType::List(Arc::new(Field::new("item", item, true)));
    let fun = Arc::new(move |args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
        let n = match &args[0] {
            ColumnarValue::Array(a) => a.len(),
            ColumnarValue::Scalar(_) => 1,
        };
        let arr = args[0].to_array(n)?;
        let strs = arrow::compute::cast(&arr, &DataType::Utf8)?;
        let strs = strs
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Internal("mv-expand input".into())
            })?;
        let out: ArrayRef = if indexes {
            let mut b = ListBuilder::new(Int64Builder::new());
            for i in 0..strs.len() {
                if strs.is_null(i) {
                    b.append(false);
                    continue;
                }
                let len = match parse_dyn(strs.value(i)) {
                    Json::Array(v) => v.len(),
                    Json::Object(m) => m.len(),
                    _ => 1,
                };
                for k in 0..len.min(limit.unwrap_or(usize::MAX)) {
                    b.values().append_value(k as i64);
                }
                b.append(true);
            }
            Arc::new(b.finish())
        } else {
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..strs.len() {
                if strs.is_null(i) {
                    b.append(false);
                    continue;
                }
                let items: Vec<Json> = match parse_dyn(strs.value(i)) {
                    Json::Array(v) => v,
                    // A property bag expands into one single-key bag per property.
                    Json::Object(m) => m
                        .into_iter()
                        .map(|(k, v)| {
                            let mut o = serde_json::Map::new();
                            o.insert(k, v);
                            Json::Object(o)
                        })
                        .collect(),
                    other => vec![other],
                };
                for v in items.into_iter().take(limit.unwrap_or(usize::MAX)) {
                    if v.is_null() {
                        b.values().append_null();
                    } else {
                        b.values().append_value(v.to_string());
                    }
                }
                b.append(true);
            }
            Arc::new(b.finish())
        };
        Ok(ColumnarValue::Array(out))
    });
    create_udf(name, vec![DataType::Utf8], ret, Volatility::Immutable, fun)
}

/// Dynamic array → `List<Utf8>` of element JSON texts (for `mv-expand`).
pub(crate) fn json_list_udf(limit: Option<usize>) -> ScalarUDF {
    list_udf("kql_mv_items", limit, false)
}

/// Dynamic array → `List<Int64>` of element indexes (for `with_itemindex`).
pub(crate) fn json_index_list_udf(limit: Option<usize>) -> ScalarUDF {
    list_udf("kql_mv_indexes", limit, true)
}
