//! What DataFusion lacks for Kusto semantics: row-wise scalar UDFs ([`row_udf`] over [`Val`]s),
//! the vectorised string predicates, the conversions between KQL types, and the
//! accumulator-based aggregates.
//!
//! Conventions: `dynamic` values travel as UTF-8 JSON text; `timespan` values as `Int64`
//! nanoseconds; `datetime` values as `Timestamp(Nanosecond, "UTC")` (see
//! [`palisade_events::arrow_type`]).

pub(crate) mod aggregates;
pub(crate) mod capped;
pub(crate) mod dynamic;
pub(crate) mod json;
pub(crate) mod scan_steps;
mod strmatch;
pub(crate) mod text;
pub(crate) mod weighted;

pub(crate) use strmatch::str_pred_udf;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use crate::budget::{check_value, Budget, Charge};

pub(crate) use palisade_events::arrow_type;

/// One argument value of a row-wise function.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(&'a str),
    /// Nanoseconds since the epoch.
    Ts(i64),
}

impl<'a> Val<'a> {
    /// Text of a string argument; null reads as the empty string (Kusto has no null strings).
    pub(crate) fn text(&self) -> &'a str {
        match self {
            Val::Str(s) => s,
            _ => "",
        }
    }
    pub(crate) fn i64(&self) -> Option<i64> {
        match *self {
            Val::I64(v) | Val::Ts(v) => Some(v),
            Val::F64(v) if v.is_finite() => Some(v as i64),
            Val::Bool(b) => Some(b as i64),
            _ => None,
        }
    }
    pub(crate) fn f64(&self) -> Option<f64> {
        match *self {
            Val::I64(v) | Val::Ts(v) => Some(v as f64),
            Val::F64(v) => Some(v),
            _ => None,
        }
    }
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
}

/// A row-wise function result.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(String),
    Ts(i64),
    /// The text result would have this many bytes, more than one value may hold
    /// ([`crate::budget::MAX_VALUE_BYTES`]): the call fails instead of building it.
    TooLarge(usize),
}

type RowFn = dyn Fn(&[Val]) -> Out + Send + Sync;

/// A scalar UDF evaluated row by row over [`Val`]s.
pub(crate) struct RowUdf {
    name: String,
    sig: Signature,
    ret: DataType,
    f: Arc<RowFn>,
    /// The memory budget of the query it was planned for (see [`crate::budget`]).
    budget: Option<Budget>,
}

impl fmt::Debug for RowUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowUdf({})", self.name)
    }
}

/// The value of row `i` of `a`.
pub(crate) fn val_at(a: &dyn Array, i: usize) -> DfResult<Val<'_>> {
    if a.is_null(i) {
        return Ok(Val::Null);
    }
    use arrow::datatypes::*;
    Ok(match a.data_type() {
        DataType::Null => Val::Null,
        DataType::Boolean => Val::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Val::I64(a.as_primitive::<Int8Type>().value(i) as i64),
        DataType::Int16 => Val::I64(a.as_primitive::<Int16Type>().value(i) as i64),
        DataType::Int32 => Val::I64(a.as_primitive::<Int32Type>().value(i) as i64),
        DataType::Int64 => Val::I64(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Val::I64(a.as_primitive::<UInt8Type>().value(i) as i64),
        DataType::UInt16 => Val::I64(a.as_primitive::<UInt16Type>().value(i) as i64),
        DataType::UInt32 => Val::I64(a.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => Val::I64(a.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Float32 => Val::F64(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => Val::F64(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Val::Str(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Val::Str(a.as_string::<i64>().value(i)),
        DataType::Utf8View => Val::Str(a.as_string_view().value(i)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Val::Ts(a.as_primitive::<TimestampNanosecondType>().value(i))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Val::Ts(a.as_primitive::<TimestampMicrosecondType>().value(i) * 1_000)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            Val::Ts(a.as_primitive::<TimestampMillisecondType>().value(i) * 1_000_000)
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            Val::Ts(a.as_primitive::<TimestampSecondType>().value(i) * 1_000_000_000)
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            Val::I64(a.as_primitive::<DurationNanosecondType>().value(i))
        }
        other => {
            return Err(DataFusionError::Execution(format!(
                "unsupported argument type {other} in a Kusto function"
            )))
        }
    })
}

enum Builder {
    Bool(BooleanBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Str(StringBuilder),
    Ts(TimestampNanosecondBuilder),
}

impl Builder {
    fn new(ty: &DataType, n: usize) -> DfResult<Builder> {
        Ok(match ty {
            DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(n)),
            DataType::Int32 => Builder::I32(Int32Builder::with_capacity(n)),
            DataType::Int64 => Builder::I64(Int64Builder::with_capacity(n)),
            DataType::Float64 => Builder::F64(Float64Builder::with_capacity(n)),
            DataType::Utf8 => Builder::Str(StringBuilder::with_capacity(n, n * 16)),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                Builder::Ts(TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC"))
            }
            other => {
                return Err(DataFusionError::Internal(format!(
                    "unsupported UDF result type {other}"
                )))
            }
        })
    }

    fn push(&mut self, o: Out) {
        match (self, o) {
            (Builder::Bool(b), Out::Bool(v)) => b.append_value(v),
            (Builder::Bool(b), Out::I64(v)) => b.append_value(v != 0),
            (Builder::I32(b), Out::I64(v) | Out::Ts(v)) => b.append_value(v as i32),
            (Builder::I32(b), Out::F64(v)) if v.is_finite() => b.append_value(v as i32),
            (Builder::I32(b), Out::Bool(v)) => b.append_value(v as i32),
            (Builder::I64(b), Out::I64(v) | Out::Ts(v)) => b.append_value(v),
            (Builder::I64(b), Out::F64(v)) if v.is_finite() => b.append_value(v as i64),
            (Builder::I64(b), Out::Bool(v)) => b.append_value(v as i64),
            (Builder::F64(b), Out::F64(v)) => b.append_value(v),
            (Builder::F64(b), Out::I64(v)) => b.append_value(v as f64),
            (Builder::Str(b), Out::Str(v)) => b.append_value(v),
            (Builder::Ts(b), Out::Ts(v) | Out::I64(v)) => b.append_value(v),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::I32(b), _) => b.append_null(),
            (Builder::I64(b), _) => b.append_null(),
            (Builder::F64(b), _) => b.append_null(),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Ts(b), _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::I32(mut b) => Arc::new(b.finish()),
            Builder::I64(mut b) => Arc::new(b.finish()),
            Builder::F64(mut b) => Arc::new(b.finish()),
            Builder::Str(mut b) => Arc::new(b.finish()),
            Builder::Ts(mut b) => Arc::new(b.finish()),
        }
    }
}

/// UDFs are equal when their names and result types are: every row UDF's name says what its
/// closure computes (patterns and parameters that change the result are part of the name).
impl PartialEq for RowUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.ret == other.ret
    }
}

impl Eq for RowUdf {}

impl std::hash::Hash for RowUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for RowUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.sig
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.ret.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { n };
        // Scalars stay one-element arrays (index 0) instead of being expanded per row.
        let arrays: Vec<(ArrayRef, bool)> = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(v) => v.to_array_of_size(1).map(|x| (x, true)),
                ColumnarValue::Array(x) => Ok((x.clone(), false)),
            })
            .collect::<DfResult<_>>()?;
        let mut b = Builder::new(&self.ret, rows)?;
        let mut vals: Vec<Val> = Vec::with_capacity(arrays.len());
        // Text results are what can grow without bound (`strrep`, `range`, `pack_array`…):
        // each value is capped and the whole array is charged to the query's budget.
        let mut charge = Charge::new(&self.name, self.budget.as_ref());
        for i in 0..rows {
            vals.clear();
            for (a, scalar) in &arrays {
                vals.push(val_at(a.as_ref(), if *scalar { 0 } else { i })?);
            }
            let out = (self.f)(&vals);
            match &out {
                Out::Str(s) => {
                    check_value(&self.name, s.len())?;
                    charge.add(s.len() + 4)?;
                }
                Out::TooLarge(n) => check_value(&self.name, *n)?,
                _ => {}
            }
            b.push(out);
        }
        let out = b.finish();
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// Builds a row-wise UDF.
pub(crate) fn row_udf(
    name: impl Into<String>,
    ret: DataType,
    f: impl Fn(&[Val]) -> Out + Send + Sync + 'static,
) -> ScalarUDF {
    ScalarUDF::new_from_impl(RowUdf {
        name: name.into(),
        sig: Signature::variadic_any(Volatility::Immutable),
        ret,
        f: Arc::new(f),
        budget: crate::budget::current(),
    })
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// A compiled regex from a small process-wide cache (`None` if the pattern is invalid).
pub(crate) fn cached_regex(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = guard.get(pattern) {
        return r.clone();
    }
    if guard.len() > 512 {
        guard.clear();
    }
    let r = Regex::new(pattern).ok().map(Arc::new);
    guard.insert(pattern.to_string(), r.clone());
    r
}
