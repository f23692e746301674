//! Kusto scalar functions and aggregates that DataFusion lacks (or implements with SQL instead
//! of Kusto semantics), as row-wise UDFs and accumulator-based UDAFs.
//!
//! Conventions: `dynamic` values travel as UTF-8 JSON text; `timespan` values as `Int64`
//! nanoseconds; `datetime` values as `Timestamp(Nanosecond, "UTC")`.

use std::any::Any;
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
    create_udaf, Accumulator, AggregateUDF, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;
use serde_json::Value as Json;

use crate::types::KqlType;

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
}

type RowFn = dyn Fn(&[Val]) -> Out + Send + Sync;

/// A scalar UDF evaluated row by row over [`Val`]s.
pub(crate) struct RowUdf {
    name: String,
    sig: Signature,
    ret: DataType,
    f: Arc<RowFn>,
}

impl fmt::Debug for RowUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowUdf({})", self.name)
    }
}

/// The Arrow type of a KQL type in plans and in Parquet files.
pub fn arrow_type(ty: KqlType) -> DataType {
    match ty {
        KqlType::Bool => DataType::Boolean,
        KqlType::Int => DataType::Int32,
        KqlType::Long | KqlType::TimeSpan => DataType::Int64,
        KqlType::Real | KqlType::Decimal => DataType::Float64,
        KqlType::String | KqlType::Guid | KqlType::Dynamic => DataType::Utf8,
        KqlType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
    }
}

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

impl ScalarUDFImpl for RowUdf {
    fn as_any(&self) -> &dyn Any {
        self
    }
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
        for i in 0..rows {
            vals.clear();
            for (a, scalar) in &arrays {
                vals.push(val_at(a.as_ref(), if *scalar { 0 } else { i })?);
            }
            b.push((self.f)(&vals));
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

/// Kusto's `has` term boundaries: alphanumeric characters form terms.
fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Byte positions of case-(in)sensitive occurrences of `needle` in `hay`.
fn occurrences(hay: &str, needle: &str, cs: bool) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    // Overlapping occurrences: in "aaa", "aa" occurs at 0 and 1 (only the second is a suffix
    // of the term, which `hassuffix` needs).
    let overlapping = |h: &str, n: &str, out: &mut Vec<usize>| {
        let mut from = 0;
        while let Some(p) = h.get(from..).and_then(|rest| rest.find(n)) {
            out.push(from + p);
            // Next char boundary after the match start.
            from += p + h[from + p..].chars().next().map_or(1, char::len_utf8);
        }
    };
    if cs {
        overlapping(hay, needle, &mut out);
        return out;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return out;
        }
        for i in 0..=h.len() - n.len() {
            if h[i..i + n.len()].eq_ignore_ascii_case(n) {
                out.push(i);
            }
        }
        return out;
    }
    let (h, n) = (hay.to_lowercase(), needle.to_lowercase());
    // Positions refer to the lower-cased text, which is what the boundary checks inspect.
    overlapping(&h, &n, &mut out);
    out
}

/// String predicate families evaluated by [`str_predicate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrPred {
    Equals,
    Has,
    HasPrefix,
    HasSuffix,
    Contains,
    StartsWith,
    EndsWith,
}

/// Evaluates a Kusto string predicate.
pub(crate) fn str_predicate(kind: StrPred, hay: &str, needle: &str, cs: bool) -> bool {
    match kind {
        StrPred::Equals => {
            if cs {
                hay == needle
            } else if hay.is_ascii() && needle.is_ascii() {
                hay.eq_ignore_ascii_case(needle)
            } else {
                hay.to_lowercase() == needle.to_lowercase()
            }
        }
        StrPred::Contains => {
            if needle.is_empty() {
                true
            } else if cs {
                hay.contains(needle)
            } else if hay.is_ascii() && needle.is_ascii() {
                let (h, n) = (hay.as_bytes(), needle.as_bytes());
                n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
            } else {
                hay.to_lowercase().contains(&needle.to_lowercase())
            }
        }
        StrPred::StartsWith => {
            if cs {
                hay.starts_with(needle)
            } else {
                hay.len() >= needle.len()
                    && hay.is_char_boundary(needle.len())
                    && str_predicate(StrPred::Equals, &hay[..needle.len()], needle, false)
            }
        }
        StrPred::EndsWith => {
            if cs {
                hay.ends_with(needle)
            } else {
                hay.len() >= needle.len()
                    && hay.is_char_boundary(hay.len() - needle.len())
                    && str_predicate(
                        StrPred::Equals,
                        &hay[hay.len() - needle.len()..],
                        needle,
                        false,
                    )
            }
        }
        StrPred::Has | StrPred::HasPrefix | StrPred::HasSuffix => {
            if needle.is_empty() {
                return true;
            }
            let text: std::borrow::Cow<str> = if cs || (hay.is_ascii() && needle.is_ascii()) {
                std::borrow::Cow::Borrowed(hay)
            } else {
                std::borrow::Cow::Owned(hay.to_lowercase())
            };
            let nlen = if cs || (hay.is_ascii() && needle.is_ascii()) {
                needle.len()
            } else {
                needle.to_lowercase().len()
            };
            let first_term = needle.chars().next().is_some_and(is_term_char);
            let last_term = needle.chars().last().is_some_and(is_term_char);
            let check_start = kind != StrPred::HasSuffix;
            let check_end = kind != StrPred::HasPrefix;
            for pos in occurrences(hay, needle, cs) {
                let before_ok = !check_start
                    || !first_term
                    || text[..pos].chars().last().is_none_or(|c| !is_term_char(c));
                let end = pos + nlen;
                let after_ok = !check_end
                    || !last_term
                    || text
                        .get(end..)
                        .and_then(|s| s.chars().next())
                        .is_none_or(|c| !is_term_char(c));
                if before_ok && after_ok {
                    return true;
                }
            }
            false
        }
    }
}

/// Parses dynamic JSON text; text that is not JSON is a JSON string.
pub(crate) fn parse_dyn(s: &str) -> Json {
    serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_string()))
}

/// Serialises a dynamic value (JSON `null` as SQL null).
pub(crate) fn dyn_out(v: Json) -> Out {
    if v.is_null() {
        Out::Null
    } else {
        Out::Str(v.to_string())
    }
}

/// Formats nanoseconds since the epoch as Kusto does: `2020-08-30T06:38:35.7664356Z`.
pub fn format_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    match chrono::DateTime::from_timestamp(secs, frac as u32) {
        Some(dt) => format!("{}.{:07}Z", dt.format("%Y-%m-%dT%H:%M:%S"), frac / 100),
        None => String::new(),
    }
}

/// Formats a timespan (nanoseconds) as .NET does: `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ns: i64) -> String {
    let neg = ns < 0;
    let abs = ns.unsigned_abs();
    let ticks = abs / 100;
    let frac = ticks % 10_000_000;
    let total_secs = ticks / 10_000_000;
    let (d, h, m, s) = (
        total_secs / 86_400,
        (total_secs / 3600) % 24,
        (total_secs / 60) % 60,
        total_secs % 60,
    );
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if d > 0 {
        out.push_str(&format!("{d}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

/// Parses the datetime formats Kusto accepts in `todatetime()` (ISO 8601 and RFC 2822 style).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(s) {
        return dt.timestamp_nanos_opt();
    }
    let t = s.trim_end_matches('Z');
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
        }
    }
    None
}

/// Parses a timespan written as `[-][d.]hh:mm[:ss[.f]]` or with a unit (`1d`, `2h`, `30m`,
/// `10s`, `5ms`) into nanoseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if s.contains(':') {
        let (days, rest) = match s.split_once('.') {
            Some((d, r)) if !d.contains(':') => (d.parse::<i64>().ok()?, r),
            _ => (0, s),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return None;
        }
        let h: i64 = parts[0].parse().ok()?;
        let m: i64 = parts[1].parse().ok()?;
        let sec: f64 = parts.get(2).map_or(Some(0.0), |p| p.parse().ok())?;
        (((days * 24 + h) * 60 + m) * 60) * 1_000_000_000 + (sec * 1e9).round() as i64
    } else {
        let idx = s.find(|c: char| c.is_ascii_alphabetic())?;
        let (num, unit) = s.split_at(idx);
        let n: f64 = num.parse().ok()?;
        let mult = match unit {
            "d" | "day" | "days" => 86_400e9,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600e9,
            "m" | "min" | "minute" | "minutes" => 60e9,
            "s" | "sec" | "second" | "seconds" => 1e9,
            "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
            "microsecond" | "microseconds" => 1e3,
            "tick" | "ticks" => 100.0,
            _ => return None,
        };
        (n * mult).round() as i64
    };
    Some(if neg { -v } else { v })
}

/// Kusto's `tostring()` of a dynamic value: strings unquoted, null empty, others as JSON.
pub(crate) fn json_to_string(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json_to_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => str_to_i64(s),
        Json::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

fn json_to_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        Json::Bool(b) => Some(*b as i64 as f64),
        _ => None,
    }
}

fn json_to_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => n.as_f64().map(|f| f != 0.0),
        Json::String(s) => str_to_bool(s),
        _ => None,
    }
}

pub(crate) fn str_to_i64(s: &str) -> Option<i64> {
    let t = s.trim();
    t.parse::<i64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f as i64)
    })
}

pub(crate) fn str_to_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

/// The JSON form of one argument of static type `ty`.
pub(crate) fn val_to_json(v: Val, ty: KqlType) -> Json {
    match (v, ty) {
        (Val::Null, _) => Json::Null,
        (Val::Str(s), KqlType::Dynamic) => parse_dyn(s),
        (Val::Str(s), _) => Json::String(s.to_string()),
        (Val::Bool(b), _) => Json::Bool(b),
        (Val::I64(n), KqlType::TimeSpan) => Json::String(format_timespan(n)),
        (Val::I64(n), KqlType::DateTime) | (Val::Ts(n), _) => Json::String(format_datetime(n)),
        (Val::I64(n), _) => Json::from(n),
        (Val::F64(f), _) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
    }
}

/// Converts a value of KQL type `from` to KQL type `to` as Kusto's `to*()` functions do.
pub(crate) fn convert_val(v: Val, from: KqlType, to: KqlType) -> Out {
    if v.is_null() {
        return if to == KqlType::String {
            Out::Str(String::new())
        } else {
            Out::Null
        };
    }
    if from == KqlType::Dynamic {
        let j = parse_dyn(v.text());
        return match to {
            KqlType::String | KqlType::Guid => Out::Str(json_to_string(&j)),
            KqlType::Int | KqlType::Long => json_to_i64(&j).map_or(Out::Null, Out::I64),
            KqlType::Real | KqlType::Decimal => json_to_f64(&j).map_or(Out::Null, Out::F64),
            KqlType::Bool => json_to_bool(&j).map_or(Out::Null, Out::Bool),
            KqlType::DateTime => match &j {
                Json::String(s) => parse_datetime(s).map_or(Out::Null, Out::Ts),
                _ => Out::Null,
            },
            KqlType::TimeSpan => match &j {
                Json::String(s) => parse_timespan(s).map_or(Out::Null, Out::I64),
                Json::Number(n) => n.as_i64().map_or(Out::Null, |t| Out::I64(t * 100)),
                _ => Out::Null,
            },
            KqlType::Dynamic => dyn_out(j),
        };
    }
    match to {
        KqlType::String | KqlType::Guid => Out::Str(match (v, from) {
            (Val::Str(s), _) => s.to_string(),
            (Val::Bool(b), _) => b.to_string(),
            (Val::I64(n), KqlType::TimeSpan) => format_timespan(n),
            (Val::I64(n), KqlType::DateTime) | (Val::Ts(n), _) => format_datetime(n),
            (Val::I64(n), _) => n.to_string(),
            (Val::F64(f), _) => f.to_string(),
            (Val::Null, _) => String::new(),
        }),
        KqlType::Dynamic => dyn_out(val_to_json(v, from)),
        KqlType::Int | KqlType::Long => match v {
            Val::Str(s) => str_to_i64(s).map_or(Out::Null, Out::I64),
            other => other.i64().map_or(Out::Null, Out::I64),
        },
        KqlType::Real | KqlType::Decimal => match v {
            Val::Str(s) => s.trim().parse().map_or(Out::Null, Out::F64),
            other => other.f64().map_or(Out::Null, Out::F64),
        },
        KqlType::Bool => match v {
            Val::Str(s) => str_to_bool(s).map_or(Out::Null, Out::Bool),
            Val::Bool(b) => Out::Bool(b),
            other => other.f64().map_or(Out::Null, |f| Out::Bool(f != 0.0)),
        },
        KqlType::DateTime => match v {
            Val::Str(s) => parse_datetime(s).map_or(Out::Null, Out::Ts),
            Val::Ts(n) => Out::Ts(n),
            Val::I64(n) if from == KqlType::DateTime => Out::Ts(n),
            _ => Out::Null,
        },
        KqlType::TimeSpan => match v {
            Val::Str(s) => parse_timespan(s).map_or(Out::Null, Out::I64),
            Val::I64(n) if from == KqlType::TimeSpan => Out::I64(n),
            // A number converts as ticks (100 ns), as in Kusto.
            other => other
                .i64()
                .map_or(Out::Null, |t| Out::I64(t.saturating_mul(100))),
        },
    }
}

/// A UDF converting from `from` to `to`.
pub(crate) fn convert_udf(from: KqlType, to: KqlType) -> ScalarUDF {
    row_udf(
        format!("kql_convert_{}_to_{}", from.name(), to.name()),
        arrow_type(to),
        move |a| convert_val(a[0], from, to),
    )
}

// ---------------------------------------------------------------------------------------------
// Aggregates

/// What a JSON-collecting aggregate builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collect {
    List,
    Set,
    Bag,
}

#[derive(Debug)]
struct CollectAcc {
    kind: Collect,
    max: usize,
    items: Vec<Json>,
    /// `make_set` keys of non-string values (their JSON text).
    seen: std::collections::HashSet<String>,
    /// `make_set` keys of string values (the text itself), so a repeated string costs one
    /// hash lookup and no allocation.
    seen_text: std::collections::HashSet<String>,
    bag: serde_json::Map<String, Json>,
    ty: KqlType,
}

impl CollectAcc {
    fn add(&mut self, v: Json) {
        match self.kind {
            Collect::List => {
                if self.items.len() < self.max && !v.is_null() {
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
                        self.items.push(Json::String(strs.value(i).to_string()));
                    }
                }
                return Ok(());
            }
        }
        for i in 0..a.len() {
            let v = val_at(a.as_ref(), i)?;
            if !v.is_null() {
                let j = val_to_json(v, self.ty);
                self.add(j);
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Utf8(Some(self.result().to_string())))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.items.len() * 64 + self.bag.len() * 96
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
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_semantics() {
        assert!(str_predicate(
            StrPred::Has,
            "cmd.exe /c whoami",
            "cmd",
            false
        ));
        assert!(str_predicate(
            StrPred::Has,
            "C:\\Windows\\cmd.exe",
            "CMD.EXE",
            false
        ));
        assert!(!str_predicate(StrPred::Has, "cmdline", "cmd", false));
        assert!(!str_predicate(StrPred::Has, "Cmd x", "cmd", true));
        assert!(str_predicate(
            StrPred::HasPrefix,
            "powershell -enc",
            "power",
            false
        ));
        assert!(!str_predicate(
            StrPred::HasPrefix,
            "xpowershell",
            "power",
            false
        ));
        assert!(str_predicate(StrPred::HasSuffix, "evil.ps1", "ps1", false));
        assert!(str_predicate(StrPred::Contains, "PowerShell", "rsh", false));
        assert!(!str_predicate(StrPred::Contains, "PowerShell", "rsh", true));
    }

    #[test]
    fn formats() {
        assert_eq!(
            format_datetime(1_598_769_515_766_435_600),
            "2020-08-30T06:38:35.7664356Z"
        );
        assert_eq!(format_timespan(90 * 60 * 1_000_000_000), "01:30:00");
        assert_eq!(
            format_timespan(86_400_000_000_000 + 1_500_000_000),
            "1.00:00:01.5000000"
        );
        assert_eq!(
            parse_timespan("1.02:00:00"),
            Some(26 * 3600 * 1_000_000_000)
        );
        assert_eq!(
            parse_datetime("2020-08-30T06:38:35Z"),
            Some(1_598_769_515_000_000_000)
        );
    }
}
