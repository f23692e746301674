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

use super::json::{array_items, array_text, dyn_out, json_to_string, parse_dyn};
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

/// `parse_json(string)`: JSON text is parsed, anything else becomes a JSON string. An array
/// is written back from its listed elements (see [`array_items`]), without a value tree.
pub(crate) fn parse_json_udf() -> ScalarUDF {
    row_udf("kql_parse_json", DataType::Utf8, |a| {
        let Val::Str(s) = a[0] else { return Out::Null };
        let listed = s.trim_start().starts_with('[').then(|| array_items(s));
        match listed.flatten() {
            Some(items) => Out::Str(array_text(&items)),
            None => match serde_json::from_str::<Json>(s) {
                Ok(v) => dyn_out(v),
                Err(_) => Out::Str(Json::String(s.to_string()).to_string()),
            },
        }
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
    source: MvSource,
    sig: Signature,
    ret: DataType,
    limit: Option<usize>,
    row_bytes: usize,
    budget: Option<Budget>,
}

/// What an [`MvList`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MvSource {
    /// A dynamic value's items, as JSON texts.
    Items,
    /// A dynamic value's item indexes.
    Indexes,
    /// The parts `split(s, d)` would put in its array, as strings: no JSON text in between.
    SplitParts,
}

impl MvSource {
    fn name(self) -> &'static str {
        match self {
            MvSource::Items => "kql_mv_items",
            MvSource::Indexes => "kql_mv_indexes",
            MvSource::SplitParts => "kql_mv_split_parts",
        }
    }
}

impl PartialEq for MvList {
    fn eq(&self, other: &Self) -> bool {
        (self.source, self.limit, self.row_bytes) == (other.source, other.limit, other.row_bytes)
    }
}

impl Eq for MvList {}

impl std::hash::Hash for MvList {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.source, self.limit, self.row_bytes).hash(state)
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
        self.source.name()
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
        let mut charge = Charge::new(self.source.name(), self.budget.as_ref());
        if self.source == MvSource::SplitParts {
            return self.split_parts(&args, rows, limit, &mut charge);
        }
        let mut cached: Option<Vec<Json>> = None;
        let out: ArrayRef = if self.source == MvSource::Indexes {
            let mut b = ListBuilder::new(Int64Builder::new());
            for i in 0..rows {
                let at = if scalar { 0 } else { i };
                if strs.is_null(at) {
                    b.append(false);
                    continue;
                }
                let text = strs.value(at);
                let len = match array_items(text) {
                    Some(items) => items.len(),
                    None => match parse_dyn(text) {
                        Json::Array(v) => v.len(),
                        Json::Object(m) => m.len(),
                        _ => 1,
                    },
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
                // A row's array is listed from its text; a constant is parsed once.
                if !scalar {
                    if let Some(items) = array_items(strs.value(at)) {
                        for item in items.into_iter().take(limit) {
                            match item {
                                None => {
                                    charge.add(8 + self.row_bytes)?;
                                    b.values().append_null();
                                }
                                Some(text) => {
                                    charge.add(text.len() + 8 + self.row_bytes)?;
                                    b.values().append_value(text);
                                }
                            }
                        }
                        b.append(true);
                        continue;
                    }
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

impl MvList {
    /// `split(s, d)`'s parts per row, straight into the list (a constant delimiter is the
    /// usual case; a column of them works too).
    fn split_parts(
        &self,
        args: &ScalarFunctionArgs,
        rows: usize,
        limit: usize,
        charge: &mut Charge,
    ) -> DfResult<ColumnarValue> {
        let [text, delim] = args.args.as_slice() else {
            return Err(datafusion::error::DataFusionError::Internal(
                "mv-expand split: two arguments".into(),
            ));
        };
        let one = |v: &ColumnarValue| -> DfResult<(ArrayRef, bool)> {
            let scalar = matches!(v, ColumnarValue::Scalar(_));
            let arr = v.to_array(if scalar { 1 } else { rows })?;
            Ok((arrow::compute::cast(&arr, &DataType::Utf8)?, scalar))
        };
        let ((texts, text_scalar), (delims, delim_scalar)) = (one(text)?, one(delim)?);
        let (texts, delims) = (texts.as_string::<i32>(), delims.as_string::<i32>());
        let mut b = ListBuilder::with_capacity(StringBuilder::new(), rows);
        let mut failed = None;
        for i in 0..rows {
            let (t, d) = (
                if text_scalar { 0 } else { i },
                if delim_scalar { 0 } else { i },
            );
            if texts.is_null(t) || delims.is_null(d) {
                b.append(false);
                continue;
            }
            let mut taken = 0;
            split_parts(texts.value(t), delims.value(d), |part| {
                if taken == limit || failed.is_some() {
                    return;
                }
                taken += 1;
                match charge.add(part.len() + 8 + self.row_bytes) {
                    Ok(()) => b.values().append_value(part),
                    Err(e) => failed = Some(e),
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            b.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}

fn list_udf(source: MvSource, limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    let (args, item) = match source {
        MvSource::Items => (vec![DataType::Utf8], DataType::Utf8),
        MvSource::Indexes => (vec![DataType::Utf8], DataType::Int64),
        MvSource::SplitParts => (vec![DataType::Utf8, DataType::Utf8], DataType::Utf8),
    };
    ScalarUDF::new_from_impl(MvList {
        source,
        sig: Signature::exact(args, Volatility::Volatile),
        ret: DataType::List(Arc::new(Field::new("item", item, true))),
        limit,
        row_bytes,
        budget: crate::budget::current(),
    })
}

/// Dynamic array → `List<Utf8>` of element JSON texts (for `mv-expand`).
/// `row_bytes`: what unnesting copies of the row's other columns per element (an estimate).
pub(crate) fn json_list_udf(limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    list_udf(MvSource::Items, limit, row_bytes)
}

/// Dynamic array → `List<Int64>` of element indexes (for `with_itemindex`).
pub(crate) fn json_index_list_udf(limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    list_udf(MvSource::Indexes, limit, row_bytes)
}

/// `(text, delimiter)` → `List<Utf8>` of the parts `split(text, delimiter)` gives, as
/// strings (for `mv-expand` of a `split()`, with no JSON text between the two).
pub(crate) fn split_list_udf(limit: Option<usize>, row_bytes: usize) -> ScalarUDF {
    list_udf(MvSource::SplitParts, limit, row_bytes)
}

/// Kusto's `split(s, d)`, part by part: an empty delimiter gives the whole string as the one
/// part. The one home of the rule, shared by `split()` and `mv-expand`'s list of parts.
pub(crate) fn split_parts<'a>(s: &'a str, d: &str, mut part: impl FnMut(&'a str)) {
    let mut chars = d.chars();
    match (chars.next(), chars.next()) {
        (None, _) => part(s),
        // One character (the usual `" "` or `","`): found with `memchr`, where a string
        // pattern would build a two-way searcher for every row.
        (Some(c), None) => s.split(c).for_each(part),
        _ => s.split(d).for_each(part),
    }
}
