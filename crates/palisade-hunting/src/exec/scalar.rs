//! Kusto scalar built-ins → DataFusion expressions (built-ins where their semantics match,
//! row-wise UDFs otherwise). Functions not listed here are rejected by name.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use chrono::{Datelike, Timelike};
use datafusion::common::Result as DfResult;
use datafusion::functions::expr_fn as f;
use datafusion::logical_expr::{
    cast, create_udf, lit, when, ColumnarValue, Expr, ScalarUDF, Volatility,
};
use serde_json::Value as Json;

use super::planner::{const_eval, ts_lit, unsupported, PResult, PlanError, Planner};
use super::udf::{
    arrow_type, cached_regex, convert_val, dyn_out, format_datetime, format_timespan,
    json_to_string, parse_dyn, row_udf, str_predicate, val_to_json, Out, StrPred, Val,
};
use crate::ast::Literal;
use crate::bound::{BoundExpr, ExprNode};
use crate::types::KqlType;

const NS_DAY: i64 = 86_400_000_000_000;

/// A boxed row-wise function body.
type BoxedRowFn = Box<dyn Fn(&[Val]) -> Out + Send + Sync>;

pub(crate) use super::strmatch::str_pred_udf;

/// `text has_any (dynamic array)` / `has_all` with a non-constant array.
pub(crate) fn has_list_udf(all: bool) -> ScalarUDF {
    row_udf(
        if all {
            "kql_has_all_dyn"
        } else {
            "kql_has_any_dyn"
        },
        DataType::Boolean,
        move |a| {
            let text = a[0].text();
            let terms: Vec<String> = match a[1] {
                Val::Str(s) => match parse_dyn(s) {
                    Json::Array(v) => v.iter().map(json_to_string).collect(),
                    other => vec![json_to_string(&other)],
                },
                _ => vec![],
            };
            let hit = |t: &String| str_predicate(StrPred::Has, text, t, false);
            Out::Bool(if all {
                terms.iter().all(hit)
            } else {
                terms.iter().any(hit)
            })
        },
    )
}

/// `text matches regex pattern`.
pub(crate) fn regex_match_udf() -> ScalarUDF {
    row_udf(
        "kql_matches_regex",
        DataType::Boolean,
        |a| match cached_regex(a[1].text()) {
            Some(re) => Out::Bool(re.is_match(a[0].text())),
            None => Out::Null,
        },
    )
}

/// Group `g` of the first match of `re` (empty string when there is no match). The name
/// carries a hash of the pattern: DataFusion treats UDFs of the same name and signature as
/// the same function, and two `parse` patterns must not be merged.
pub(crate) fn regex_group_udf(re: Arc<regex::Regex>, g: usize) -> ScalarUDF {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    re.as_str().hash(&mut h);
    let name = format!("kql_parse_group_{g}_{:016x}", h.finish());
    row_udf(name, DataType::Utf8, move |a| {
        match re.captures(a[0].text()).and_then(|c| c.get(g)) {
            Some(m) => Out::Str(m.as_str().to_string()),
            None => Out::Str(String::new()),
        }
    })
}

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

fn dt(ns: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

fn to_ns(d: chrono::DateTime<chrono::Utc>) -> Out {
    d.timestamp_nanos_opt().map_or(Out::Null, Out::Ts)
}

fn naive_ns(d: chrono::NaiveDateTime) -> Out {
    to_ns(d.and_utc())
}

fn add_months(ns: i64, months: i64) -> Option<i64> {
    let d = dt(ns)?;
    let total = d.year() as i64 * 12 + d.month0() as i64 + months;
    let (y, m0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32);
    let mut day = d.day();
    loop {
        if let Some(nd) = chrono::NaiveDate::from_ymd_opt(y, m0 + 1, day) {
            return nd.and_time(d.time()).and_utc().timestamp_nanos_opt();
        }
        day -= 1;
        if day == 0 {
            return None;
        }
    }
}

fn start_of(unit: &str, ns: i64, offset: i64) -> Option<i64> {
    let d = dt(ns)?.date_naive();
    let base = match unit {
        "day" => d,
        "week" => d - chrono::Duration::days(d.weekday().num_days_from_sunday() as i64),
        "month" => d.with_day(1)?,
        "year" => chrono::NaiveDate::from_ymd_opt(d.year(), 1, 1)?,
        _ => return None,
    };
    let start = base.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()?;
    match unit {
        "day" => Some(start + offset * NS_DAY),
        "week" => Some(start + offset * 7 * NS_DAY),
        "month" => add_months(start, offset),
        _ => add_months(start, offset * 12),
    }
}

fn end_of(unit: &str, ns: i64, offset: i64) -> Option<i64> {
    let next = start_of(unit, ns, offset + 1)?;
    Some(next - 100)
}

fn part_ns(part: &str) -> Option<i64> {
    Some(match part.to_lowercase().as_str() {
        "day" | "days" => NS_DAY,
        "hour" | "hours" => 3_600_000_000_000,
        "minute" | "minutes" => 60_000_000_000,
        "second" | "seconds" => 1_000_000_000,
        "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "nanosecond" | "nanoseconds" => 1,
        "week" | "weeks" => 7 * NS_DAY,
        _ => return None,
    })
}

/// .NET-style datetime format string → chrono format string.
fn dotnet_format(fmt: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('y', 4) => "%Y".to_string(),
            ('y', 2) => "%y".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('d', 2) => "%d".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('H', 2) => "%H".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('h', 2) => "%I".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('m', 2) => "%M".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('s', 2) => "%S".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('t', 2) => "%p".to_string(),
            ('f' | 'F', k) => format!("%{}f", k.min(9)).replace("%3f", "%3f"),
            (other, k) => {
                let s: String = std::iter::repeat_n(other, k).collect();
                s.replace('%', "%%")
            }
        };
        // chrono's fractional seconds are %3f/%6f/%9f; map other widths to the closest.
        let piece = match piece.as_str() {
            "%1f" | "%2f" | "%3f" => "%3f".to_string(),
            "%4f" | "%5f" | "%6f" => "%6f".to_string(),
            "%7f" | "%8f" | "%9f" => "%9f".to_string(),
            _ => piece,
        };
        out.push_str(&piece);
        i += n;
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' | b' ' => continue,
            _ => return None,
        } as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= n {
                out.push(T[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_ipv4(s: &str) -> Option<(u32, u32)> {
    let (ip, bits) = match s.trim().split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok().filter(|b| *b <= 32)?),
        None => (s.trim(), 32),
    };
    let addr: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(addr), bits))
}

fn mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

fn parse_url(s: &str) -> Json {
    let mut m = serde_json::Map::new();
    let (scheme, rest) = match s.split_once("://") {
        Some((a, b)) => (a.to_string(), b),
        None => return Json::Object(m),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((a, b)) => (a, b.to_string()),
        None => (rest, String::new()),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((a, b)) => (a, b.to_string()),
        None => (rest, String::new()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, String::new()),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (u, h),
        None => ("", authority),
    };
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    };
    let mut params = serde_json::Map::new();
    for kv in query.split('&').filter(|x| !x.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        params.insert(k.to_string(), Json::String(url_decode(v)));
    }
    m.insert("Scheme".into(), Json::String(scheme));
    m.insert("Host".into(), Json::String(host.into()));
    m.insert("Port".into(), Json::String(port.into()));
    m.insert("Path".into(), Json::String(path));
    m.insert("Username".into(), Json::String(user.into()));
    m.insert("Password".into(), Json::String(pass.into()));
    m.insert("Query Parameters".into(), Json::Object(params));
    m.insert("Fragment".into(), Json::String(fragment));
    Json::Object(m)
}

fn parse_path(s: &str) -> Json {
    let norm = s.replace('/', "\\");
    let (dir, file) = match norm.rfind('\\') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => ("", s),
    };
    let ext = file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let dirname = dir.rsplit(['\\', '/']).next().unwrap_or("");
    let root = if s.len() >= 2 && s.as_bytes()[1] == b':' {
        s[..2].to_string() + "\\"
    } else {
        String::new()
    };
    serde_json::json!({
        "Scheme": "", "RootPath": root, "DirectoryPath": dir, "DirectoryName": dirname,
        "Filename": file, "Extension": ext, "AlternateDataStreamName": ""
    })
}

fn parse_command_line(s: &str) -> Json {
    // Windows rules: whitespace separates, double quotes group, backslashes escape quotes.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut have = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let mut n = 0;
            while i < chars.len() && chars[i] == '\\' {
                n += 1;
                i += 1;
            }
            if i < chars.len() && chars[i] == '"' {
                cur.extend(std::iter::repeat_n('\\', n / 2));
                if n % 2 == 1 {
                    cur.push('"');
                    i += 1;
                }
            } else {
                cur.extend(std::iter::repeat_n('\\', n));
            }
            have = true;
            continue;
        }
        if c == '"' {
            in_q = !in_q;
            have = true;
        } else if c.is_whitespace() && !in_q {
            if have {
                out.push(Json::String(std::mem::take(&mut cur)));
                have = false;
            }
        } else {
            cur.push(c);
            have = true;
        }
        i += 1;
    }
    if have {
        out.push(Json::String(cur));
    }
    Json::Array(out)
}

fn json_sort(v: &mut [Json], asc: bool) {
    v.sort_by(|a, b| {
        let o = match (a, b) {
            (Json::Number(x), Json::Number(y)) => x
                .as_f64()
                .unwrap_or_default()
                .total_cmp(&y.as_f64().unwrap_or_default()),
            _ => json_to_string(a).cmp(&json_to_string(b)),
        };
        if asc {
            o
        } else {
            o.reverse()
        }
    });
}

fn gettype_json(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_i64() => "long",
        Json::Number(_) => "real",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "dictionary",
    }
}

/// Translates a call of built-in `func` with result type `ty`.
pub(crate) fn call(p: &mut Planner, func: &str, args: &[BoundExpr], ty: KqlType) -> PResult<Expr> {
    let n = args.len();
    let mut xs = Vec::with_capacity(n);
    for a in args {
        xs.push(match &a.node {
            ExprNode::TypeOf(_) => lit(""),
            _ => p.expr(a)?,
        });
    }
    let t = |i: usize| args.get(i).map_or(KqlType::String, |a| a.ty);
    let arg = |i: usize| -> PResult<Expr> {
        xs.get(i)
            .cloned()
            .ok_or_else(|| PlanError::Invalid(format!("{func}: missing argument {}", i + 1)))
    };
    // Argument i as KQL type `to`.
    let a_as = |p: &Planner, i: usize, to: KqlType| -> PResult<Expr> { p.conv(arg(i)?, t(i), to) };
    let row = |name: &str, ret: KqlType, f: BoxedRowFn| {
        row_udf(format!("kql_{name}"), arrow_type(ret), f)
    };
    let all = |p: &Planner, to: KqlType| -> PResult<Vec<Expr>> {
        (0..n).map(|i| p.conv(xs[i].clone(), t(i), to)).collect()
    };
    // A JSON-level function over all arguments converted to dynamic.
    let json_fn = |p: &Planner, f: Box<dyn Fn(Vec<Json>) -> Json + Send + Sync>| -> PResult<Expr> {
        let types: Vec<KqlType> = (0..n).map(t).collect();
        let u = row_udf(format!("kql_{func}"), DataType::Utf8, move |a| {
            let vals: Vec<Json> = a
                .iter()
                .zip(types.iter())
                .map(|(v, ty)| val_to_json(*v, *ty))
                .collect();
            dyn_out(f(vals))
        });
        let e = u.call(xs.clone());
        p.conv(e, KqlType::Dynamic, ty)
    };
    let now = p.now;
    Ok(match func {
        "ago" => match const_eval(&args[0], now) {
            Some(Literal::TimeSpan(v)) => ts_lit(now - v),
            _ => cast(
                lit(now) - a_as(p, 0, KqlType::TimeSpan)?,
                arrow_type(KqlType::DateTime),
            ),
        },
        "now" => match args.first() {
            None => ts_lit(now),
            Some(_) => cast(
                lit(now) + a_as(p, 0, KqlType::TimeSpan)?,
                arrow_type(KqlType::DateTime),
            ),
        },
        "todatetime" | "tostring" | "toint" | "tolong" | "todouble" | "todecimal" | "tobool"
        | "toguid" | "totimespan" => a_as(p, 0, ty)?,
        "parse_json" => a_as(p, 0, KqlType::Dynamic)?,
        "bin" | "bin_at" => {
            let x = arg(0)?;
            let at = if func == "bin_at" {
                Some(arg(2)?)
            } else {
                None
            };
            match t(0) {
                KqlType::DateTime | KqlType::TimeSpan => {
                    let v = cast(x, DataType::Int64);
                    let size = a_as(p, 1, KqlType::TimeSpan)?;
                    let off = match at {
                        Some(a) => cast(p.conv(a, t(2), t(0))?, DataType::Int64),
                        None => lit(0i64),
                    };
                    let shifted = v - off.clone();
                    let floored =
                        shifted.clone() - ((shifted % size.clone()) + size.clone()) % size;
                    cast(floored + off, arrow_type(t(0)))
                }
                KqlType::Int | KqlType::Long => {
                    let size = a_as(p, 1, KqlType::Long)?;
                    let v = cast(x, DataType::Int64);
                    let off = match at {
                        Some(a) => cast(a, DataType::Int64),
                        None => lit(0i64),
                    };
                    let s = v - off.clone();
                    let r = s.clone() - ((s % size.clone()) + size.clone()) % size;
                    cast(r + off, arrow_type(t(0)))
                }
                KqlType::Real | KqlType::Decimal => {
                    let size = a_as(p, 1, KqlType::Real)?;
                    let off = match at {
                        Some(a) => cast(a, DataType::Float64),
                        None => lit(0f64),
                    };
                    f::floor((cast(x, DataType::Float64) - off.clone()) / size.clone()) * size + off
                }
                other => return unsupported(format!("{func} on {other}")),
            }
        }
        "floor" => f::floor(a_as(p, 0, KqlType::Real)?),
        "strcat" => f::concat(all(p, KqlType::String)?),
        "strcat_delim" => {
            let v = all(p, KqlType::String)?;
            f::concat_ws(v[0].clone(), v[1..].to_vec())
        }
        "strlen" => cast(
            f::character_length(a_as(p, 0, KqlType::String)?),
            DataType::Int64,
        ),
        "tolower" => f::lower(a_as(p, 0, KqlType::String)?),
        "toupper" => f::upper(a_as(p, 0, KqlType::String)?),
        "substring" => {
            let v = all_typed(
                p,
                &xs,
                args,
                &[KqlType::String, KqlType::Long, KqlType::Long],
            )?;
            row(
                "substring",
                KqlType::String,
                Box::new(|a| {
                    let s: Vec<char> = a[0].text().chars().collect();
                    let start = a[1].i64().unwrap_or(0).max(0) as usize;
                    let len = a
                        .get(2)
                        .and_then(|x| x.i64())
                        .map_or(usize::MAX, |l| l.max(0) as usize);
                    if start >= s.len() {
                        return Out::Str(String::new());
                    }
                    Out::Str(s[start..].iter().take(len).collect())
                }),
            )
            .call(v)
        }
        "split" => {
            let v = all_typed(
                p,
                &xs,
                args,
                &[KqlType::String, KqlType::String, KqlType::Long],
            )?;
            let e = row(
                "split",
                KqlType::Dynamic,
                Box::new(|a| {
                    let s = a[0].text();
                    let d = a[1].text();
                    let parts: Vec<Json> = if d.is_empty() {
                        vec![Json::String(s.to_string())]
                    } else {
                        s.split(d).map(|x| Json::String(x.to_string())).collect()
                    };
                    match a.get(2) {
                        Some(i) => {
                            let idx = i.i64().unwrap_or(0);
                            match parts.get(idx.max(0) as usize) {
                                Some(x) if idx >= 0 => dyn_out(Json::Array(vec![x.clone()])),
                                _ => dyn_out(Json::Array(vec![])),
                            }
                        }
                        None => dyn_out(Json::Array(parts)),
                    }
                }),
            )
            .call(v);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        "trim" | "trim_start" | "trim_end" => {
            let v = all(p, KqlType::String)?;
            let which = func.to_string();
            row(
                func,
                KqlType::String,
                Box::new(move |a| {
                    let re = a[0].text();
                    let s = a[1].text();
                    let pat = match which.as_str() {
                        "trim" => format!("^(?:{re})+|(?:{re})+$"),
                        "trim_start" => format!("^(?:{re})+"),
                        _ => format!("(?:{re})+$"),
                    };
                    match cached_regex(&pat) {
                        Some(r) => Out::Str(r.replace_all(s, "").into_owned()),
                        None => Out::Null,
                    }
                }),
            )
            .call(v)
        }
        "reverse" => row(
            "reverse",
            KqlType::String,
            Box::new(|a| Out::Str(a[0].text().chars().rev().collect())),
        )
        .call(all(p, KqlType::String)?),
        "replace_string" => row(
            "replace_string",
            KqlType::String,
            Box::new(|a| {
                let (s, from, to) = (a[0].text(), a[1].text(), a[2].text());
                Out::Str(if from.is_empty() {
                    s.to_string()
                } else {
                    s.replace(from, to)
                })
            }),
        )
        .call(all(p, KqlType::String)?),
        "replace_regex" => row(
            "replace_regex",
            KqlType::String,
            Box::new(|a| {
                let (re, rep, s) = (a[0].text(), a[1].text(), a[2].text());
                let Some(r) = cached_regex(re) else {
                    return Out::Null;
                };
                // Kusto writes group references as \1; the regex crate as ${1}.
                let rep = cached_regex(r"\\(\d)")
                    .map(|g| {
                        g.replace_all(&rep.replace('$', "$$"), "$${$1}")
                            .into_owned()
                    })
                    .unwrap_or_else(|| rep.to_string());
                Out::Str(r.replace_all(s, rep.as_str()).into_owned())
            }),
        )
        .call(vec![
            a_as(p, 0, KqlType::String)?,
            a_as(p, 1, KqlType::String)?,
            a_as(p, 2, KqlType::String)?,
        ]),
        "extract" => {
            let target = match args.get(3).map(|a| &a.node) {
                Some(ExprNode::TypeOf(t)) => *t,
                _ => KqlType::String,
            };
            let e = row(
                "extract",
                KqlType::String,
                Box::new(|a| {
                    let Some(r) = cached_regex(a[0].text()) else {
                        return Out::Null;
                    };
                    let g = a[1].i64().unwrap_or(0).max(0) as usize;
                    match r.captures(a[2].text()).and_then(|c| c.get(g)) {
                        Some(m) => Out::Str(m.as_str().to_string()),
                        None => Out::Null,
                    }
                }),
            )
            .call(vec![
                a_as(p, 0, KqlType::String)?,
                a_as(p, 1, KqlType::Long)?,
                a_as(p, 2, KqlType::String)?,
            ]);
            if target == KqlType::String {
                f::coalesce(vec![e, lit("")])
            } else {
                p.conv(e, KqlType::String, target)?
            }
        }
        "extract_all" => {
            let e = if n == 2 {
                vec![a_as(p, 0, KqlType::String)?, a_as(p, 1, KqlType::String)?]
            } else {
                vec![
                    a_as(p, 0, KqlType::String)?,
                    a_as(p, 2, KqlType::String)?,
                    a_as(p, 1, KqlType::Dynamic)?,
                ]
            };
            let x = row(
                "extract_all",
                KqlType::Dynamic,
                Box::new(|a| {
                    let Some(r) = cached_regex(a[0].text()) else {
                        return Out::Null;
                    };
                    let groups: Option<Vec<usize>> = a.get(2).map(|g| match parse_dyn(g.text()) {
                        Json::Array(v) => v
                            .iter()
                            .filter_map(|x| x.as_u64().map(|u| u as usize))
                            .collect(),
                        _ => vec![],
                    });
                    let mut out = Vec::new();
                    for c in r.captures_iter(a[1].text()) {
                        let ng = c.len() - 1;
                        let pick = |g: usize| {
                            Json::String(c.get(g).map_or("", |m| m.as_str()).to_string())
                        };
                        match (&groups, ng) {
                            (Some(gs), _) => {
                                out.push(Json::Array(gs.iter().map(|g| pick(*g)).collect()))
                            }
                            (None, 0) => out.push(pick(0)),
                            (None, 1) => out.push(pick(1)),
                            (None, k) => out.push(Json::Array((1..=k).map(pick).collect())),
                        }
                    }
                    if out.is_empty() {
                        Out::Null
                    } else {
                        dyn_out(Json::Array(out))
                    }
                }),
            )
            .call(e);
            p.conv(x, KqlType::Dynamic, ty)?
        }
        "extract_json" => {
            let target = match args.get(2).map(|a| &a.node) {
                Some(ExprNode::TypeOf(t)) => *t,
                _ => KqlType::String,
            };
            let e = row(
                "extract_json",
                KqlType::Dynamic,
                Box::new(|a| {
                    let path = a[0].text();
                    let mut v = parse_dyn(a[1].text());
                    let mut rest = path.trim_start_matches('$');
                    while !rest.is_empty() {
                        if let Some(r) = rest.strip_prefix('.') {
                            let end = r.find(['.', '[']).unwrap_or(r.len());
                            v = v.get(&r[..end]).cloned().unwrap_or(Json::Null);
                            rest = &r[end..];
                        } else if let Some(r) = rest.strip_prefix('[') {
                            let end = r.find(']').unwrap_or(r.len());
                            let key = r[..end].trim_matches(|c| c == '\'' || c == '"');
                            v = match key.parse::<usize>() {
                                Ok(i) => v.get(i).cloned().unwrap_or(Json::Null),
                                Err(_) => v.get(key).cloned().unwrap_or(Json::Null),
                            };
                            rest = r.get(end + 1..).unwrap_or("");
                        } else {
                            return Out::Null;
                        }
                    }
                    dyn_out(v)
                }),
            )
            .call(vec![
                a_as(p, 0, KqlType::String)?,
                a_as(p, 1, KqlType::String)?,
            ]);
            p.conv(e, KqlType::Dynamic, target)?
        }
        "iff" => {
            let c = a_as(p, 0, KqlType::Bool)?;
            when(c, a_as(p, 1, ty)?).otherwise(a_as(p, 2, ty)?)?
        }
        "case" => {
            let mut b: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> =
                None;
            let mut i = 0;
            while i + 1 < n {
                let c = a_as(p, i, KqlType::Bool)?;
                let v = a_as(p, i + 1, ty)?;
                b = Some(match b {
                    None => when(c, v),
                    Some(mut b) => b.when(c, v),
                });
                i += 2;
            }
            let other = a_as(p, n - 1, ty)?;
            match b {
                Some(mut b) => b.otherwise(other)?,
                None => other,
            }
        }
        "coalesce" => {
            let mut v = Vec::new();
            for i in 0..n {
                let x = a_as(p, i, ty)?;
                v.push(if matches!(ty, KqlType::String | KqlType::Guid) {
                    f::nullif(x, lit(""))
                } else {
                    x
                });
            }
            if matches!(ty, KqlType::String | KqlType::Guid) {
                v.push(lit(""));
            }
            f::coalesce(v)
        }
        "max_of" | "min_of" => {
            let v: Vec<Expr> = (0..n).map(|i| a_as(p, i, ty)).collect::<PResult<_>>()?;
            if func == "max_of" {
                f::greatest(v)
            } else {
                f::least(v)
            }
        }
        "isempty" | "isnotempty" => {
            let x = arg(0)?;
            let empty = if matches!(t(0), KqlType::String | KqlType::Guid | KqlType::Dynamic) {
                x.clone().is_null().or(x.eq(lit("")))
            } else {
                x.is_null()
            };
            if func == "isempty" {
                empty
            } else {
                Expr::Not(Box::new(empty))
            }
        }
        "isnull" => arg(0)?.is_null(),
        "isnotnull" => arg(0)?.is_not_null(),
        "isnan" => row(
            "isnan",
            KqlType::Bool,
            Box::new(|a| {
                a[0].f64()
                    .map_or(Out::Bool(false), |v| Out::Bool(v.is_nan()))
            }),
        )
        .call(vec![a_as(p, 0, KqlType::Real)?]),
        "isinf" => row(
            "isinf",
            KqlType::Bool,
            Box::new(|a| {
                a[0].f64()
                    .map_or(Out::Bool(false), |v| Out::Bool(v.is_infinite()))
            }),
        )
        .call(vec![a_as(p, 0, KqlType::Real)?]),
        "not" => Expr::Not(Box::new(a_as(p, 0, KqlType::Bool)?)),
        "gettype" => {
            if t(0) == KqlType::Dynamic {
                row(
                    "gettype",
                    KqlType::String,
                    Box::new(|a| match a[0] {
                        Val::Str(s) => Out::Str(gettype_json(&parse_dyn(s)).into()),
                        _ => Out::Str("null".into()),
                    }),
                )
                .call(vec![arg(0)?])
            } else {
                lit(match t(0) {
                    KqlType::Real => "real",
                    KqlType::Guid => "guid",
                    other => other.name(),
                })
            }
        }
        "format_datetime" => row(
            "format_datetime",
            KqlType::String,
            Box::new(|a| {
                let (Some(ns), fmt) = (a[0].i64(), a[1].text()) else {
                    return Out::Str(String::new());
                };
                match dt(ns) {
                    Some(d) => Out::Str(d.format(&dotnet_format(fmt)).to_string()),
                    None => Out::Str(String::new()),
                }
            }),
        )
        .call(vec![arg(0)?, a_as(p, 1, KqlType::String)?]),
        "format_timespan" => row(
            "format_timespan",
            KqlType::String,
            Box::new(|a| {
                a[0].i64()
                    .map_or(Out::Str(String::new()), |v| Out::Str(format_timespan(v)))
            }),
        )
        .call(vec![
            a_as(p, 0, KqlType::TimeSpan)?,
            a_as(p, 1, KqlType::String)?,
        ]),
        "datetime_diff" => row(
            "datetime_diff",
            KqlType::Long,
            Box::new(|a| {
                let (part, Some(x), Some(y)) = (a[0].text().to_lowercase(), a[1].i64(), a[2].i64())
                else {
                    return Out::Null;
                };
                let (Some(dx), Some(dy)) = (dt(x), dt(y)) else {
                    return Out::Null;
                };
                Out::I64(match part.as_str() {
                    "year" => (dx.year() - dy.year()) as i64,
                    "quarter" => {
                        ((dx.year() * 12 + dx.month0() as i32) / 3
                            - (dy.year() * 12 + dy.month0() as i32) / 3)
                            as i64
                    }
                    "month" => {
                        ((dx.year() * 12 + dx.month0() as i32)
                            - (dy.year() * 12 + dy.month0() as i32)) as i64
                    }
                    "week" => {
                        let sx = start_of("week", x, 0).unwrap_or(x);
                        let sy = start_of("week", y, 0).unwrap_or(y);
                        (sx - sy) / (7 * NS_DAY)
                    }
                    "day" => x.div_euclid(NS_DAY) - y.div_euclid(NS_DAY),
                    other => match part_ns(other) {
                        Some(u) => x.div_euclid(u) - y.div_euclid(u),
                        None => return Out::Null,
                    },
                })
            }),
        )
        .call(vec![
            a_as(p, 0, KqlType::String)?,
            a_as(p, 1, KqlType::DateTime)?,
            a_as(p, 2, KqlType::DateTime)?,
        ]),
        "datetime_add" => row(
            "datetime_add",
            KqlType::DateTime,
            Box::new(|a| {
                let (part, Some(k), Some(x)) = (a[0].text().to_lowercase(), a[1].i64(), a[2].i64())
                else {
                    return Out::Null;
                };
                match part.as_str() {
                    "year" => add_months(x, k * 12).map_or(Out::Null, Out::Ts),
                    "quarter" => add_months(x, k * 3).map_or(Out::Null, Out::Ts),
                    "month" => add_months(x, k).map_or(Out::Null, Out::Ts),
                    other => part_ns(other).map_or(Out::Null, |u| Out::Ts(x + k * u)),
                }
            }),
        )
        .call(vec![
            a_as(p, 0, KqlType::String)?,
            a_as(p, 1, KqlType::Long)?,
            a_as(p, 2, KqlType::DateTime)?,
        ]),
        "datetime_part" => row(
            "datetime_part",
            KqlType::Int,
            Box::new(|a| {
                let (part, Some(x)) = (a[0].text().to_lowercase(), a[1].i64()) else {
                    return Out::Null;
                };
                let Some(d) = dt(x) else { return Out::Null };
                Out::I64(match part.as_str() {
                    "year" => d.year() as i64,
                    "quarter" => (d.month0() / 3 + 1) as i64,
                    "month" => d.month() as i64,
                    "weekofyear" | "week_of_year" => d.iso_week().week() as i64,
                    "day" => d.day() as i64,
                    "dayofyear" => d.ordinal() as i64,
                    "hour" => d.hour() as i64,
                    "minute" => d.minute() as i64,
                    "second" => d.second() as i64,
                    "millisecond" => (d.nanosecond() / 1_000_000) as i64,
                    "microsecond" => (d.nanosecond() / 1_000) as i64,
                    "nanosecond" => d.nanosecond() as i64,
                    _ => return Out::Null,
                })
            }),
        )
        .call(vec![
            a_as(p, 0, KqlType::String)?,
            a_as(p, 1, KqlType::DateTime)?,
        ]),
        "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
        | "endofweek" | "endofmonth" => {
            let unit = func
                .trim_start_matches("startof")
                .trim_start_matches("endof")
                .to_string();
            let end = func.starts_with("end");
            let mut v = vec![a_as(p, 0, KqlType::DateTime)?];
            if n > 1 {
                v.push(a_as(p, 1, KqlType::Long)?);
            }
            row(
                func,
                KqlType::DateTime,
                Box::new(move |a| {
                    let (Some(x), off) = (a[0].i64(), a.get(1).and_then(|o| o.i64()).unwrap_or(0))
                    else {
                        return Out::Null;
                    };
                    let r = if end {
                        end_of(&unit, x, off)
                    } else {
                        start_of(&unit, x, off)
                    };
                    r.map_or(Out::Null, Out::Ts)
                }),
            )
            .call(v)
        }
        "dayofweek" | "dayofmonth" | "dayofyear" | "hourofday" | "getmonth" | "getyear"
        | "week_of_year" => {
            let which = func.to_string();
            row(
                func,
                ty,
                Box::new(move |a| {
                    let Some(d) = a[0].i64().and_then(dt) else {
                        return Out::Null;
                    };
                    Out::I64(match which.as_str() {
                        "dayofweek" => d.weekday().num_days_from_sunday() as i64 * NS_DAY,
                        "dayofmonth" => d.day() as i64,
                        "dayofyear" => d.ordinal() as i64,
                        "hourofday" => d.hour() as i64,
                        "getmonth" => d.month() as i64,
                        "getyear" => d.year() as i64,
                        _ => d.iso_week().week() as i64,
                    })
                }),
            )
            .call(vec![a_as(p, 0, KqlType::DateTime)?])
        }
        "make_datetime" => row(
            "make_datetime",
            KqlType::DateTime,
            Box::new(|a| {
                let g = |i: usize, d: i64| a.get(i).and_then(|v| v.i64()).unwrap_or(d);
                let secs = a.get(5).and_then(|v| v.f64()).unwrap_or(0.0);
                let Some(date) = chrono::NaiveDate::from_ymd_opt(
                    g(0, 1970) as i32,
                    g(1, 1) as u32,
                    g(2, 1) as u32,
                ) else {
                    return Out::Null;
                };
                let Some(t) = date.and_hms_opt(g(3, 0) as u32, g(4, 0) as u32, 0) else {
                    return Out::Null;
                };
                match naive_ns(t) {
                    Out::Ts(v) => Out::Ts(v + (secs * 1e9) as i64),
                    o => o,
                }
            }),
        )
        .call(all(p, KqlType::Real)?),
        "make_timespan" => row(
            "make_timespan",
            KqlType::TimeSpan,
            Box::new(|a| {
                let v: Vec<f64> = a.iter().map(|x| x.f64().unwrap_or(0.0)).collect();
                let (d, h, m, s) = match v.len() {
                    2 => (0.0, v[0], v[1], 0.0),
                    3 => (0.0, v[0], v[1], v[2]),
                    _ => (v[0], v[1], v[2], v[3]),
                };
                Out::I64((((d * 24.0 + h) * 60.0 + m) * 60.0 + s) as i64 * 1_000_000_000)
            }),
        )
        .call(all(p, KqlType::Real)?),
        "unixtime_seconds_todatetime" | "unixtime_milliseconds_todatetime" => {
            let mult = if func.contains("milli") { 1e6 } else { 1e9 };
            row(
                func,
                KqlType::DateTime,
                Box::new(move |a| a[0].f64().map_or(Out::Null, |v| Out::Ts((v * mult) as i64))),
            )
            .call(vec![a_as(p, 0, KqlType::Real)?])
        }
        "base64_decode_tostring" => row(
            func,
            KqlType::String,
            Box::new(|a| match base64_decode(a[0].text()) {
                Some(b) => match String::from_utf8(b) {
                    Ok(s) => Out::Str(s),
                    Err(_) => Out::Str(String::new()),
                },
                None => Out::Str(String::new()),
            }),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "base64_encode_tostring" => row(
            func,
            KqlType::String,
            Box::new(|a| Out::Str(base64_encode(a[0].text().as_bytes()))),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "base64_decode_toarray" => {
            let e = row(
                func,
                KqlType::Dynamic,
                Box::new(|a| match base64_decode(a[0].text()) {
                    Some(b) => dyn_out(Json::Array(b.into_iter().map(Json::from).collect())),
                    None => Out::Null,
                }),
            )
            .call(vec![a_as(p, 0, KqlType::String)?]);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        "hash_sha256" | "hash_sha1" | "hash_md5" => {
            // Kusto hashes the value's string form (`tostring`): `hash_sha256(datetime(2020-01-01))`
            // is the digest of "2020-01-01T00:00:00.0000000Z". A null non-string value gives
            // Kusto's null string "" (strings themselves are never null: "" is hashed).
            let algo = match func {
                "hash_sha256" => Digest::Sha256,
                "hash_sha1" => Digest::Sha1,
                _ => Digest::Md5,
            };
            let is_string = matches!(t(0), KqlType::String | KqlType::Guid);
            row(
                func,
                KqlType::String,
                Box::new(move |a| {
                    if !is_string && a[0].is_null() {
                        Out::Str(String::new())
                    } else {
                        Out::Str(algo.hex(a[1].text().as_bytes()))
                    }
                }),
            )
            .call(vec![arg(0)?, a_as(p, 0, KqlType::String)?])
        }
        "hash" => {
            // xxHash64 (seed 0) of the value's bytes, as in Kusto: a string's UTF-8 bytes, and a
            // datetime's .NET ticks (100 ns since 0001-01-01) as a little-endian i64. Both are
            // verified by the Kusto docs' examples (`hash("World")`, `hash(datetime(2015-01-01))`).
            // [inferred] A timespan hashes its ticks the same way (.NET keeps both as ticks).
            // Other types' encodings are undocumented, so they are rejected by name. The 64-bit
            // hash is returned as a (signed) long; with `mod` it is the unsigned hash modulo
            // `mod`, so the result is in 0..mod-1 as the docs state; `mod` <= 0 gives null.
            let kind = t(0);
            if !matches!(
                kind,
                KqlType::String | KqlType::DateTime | KqlType::TimeSpan
            ) {
                return unsupported(format!("{func} of {kind}"));
            }
            let mut call_args = vec![arg(0)?];
            if n > 1 {
                call_args.push(a_as(p, 1, KqlType::Long)?);
            }
            row(
                func,
                KqlType::Long,
                Box::new(move |a| {
                    let h = match (kind, a[0]) {
                        (KqlType::String, v) => xxh64(v.text().as_bytes()),
                        (KqlType::DateTime, Val::Ts(ns)) => {
                            xxh64(&(ns.div_euclid(100) + DOTNET_EPOCH_TICKS).to_le_bytes())
                        }
                        (KqlType::TimeSpan, Val::I64(ns)) => xxh64(&(ns / 100).to_le_bytes()),
                        _ => return Out::Null,
                    };
                    match a.get(1) {
                        None => Out::I64(h as i64),
                        Some(m) => match m.i64() {
                            Some(m) if m > 0 => Out::I64((h % m as u64) as i64),
                            _ => Out::Null,
                        },
                    }
                }),
            )
            .call(call_args)
        }
        "url_decode" => row(
            func,
            KqlType::String,
            Box::new(|a| Out::Str(url_decode(a[0].text()))),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "url_encode" => row(
            func,
            KqlType::String,
            Box::new(|a| Out::Str(url_encode(a[0].text()))),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "parse_url" | "parse_path" | "parse_command_line" | "parse_csv" | "parse_urlquery" => {
            let which = func.to_string();
            let e = row(
                func,
                KqlType::Dynamic,
                Box::new(move |a| {
                    let s = a[0].text();
                    dyn_out(match which.as_str() {
                        "parse_url" => parse_url(s),
                        "parse_path" => parse_path(s),
                        "parse_command_line" => parse_command_line(s),
                        "parse_urlquery" => {
                            let mut params = serde_json::Map::new();
                            for kv in s
                                .trim_start_matches('?')
                                .split('&')
                                .filter(|x| !x.is_empty())
                            {
                                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                                params.insert(k.to_string(), Json::String(url_decode(v)));
                            }
                            serde_json::json!({ "Query Parameters": params })
                        }
                        _ => Json::Array(
                            s.split(',')
                                .map(|x| Json::String(x.trim_matches('"').to_string()))
                                .collect(),
                        ),
                    })
                }),
            )
            .call(vec![a_as(p, 0, KqlType::String)?]);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        "parse_ipv4" => row(
            func,
            KqlType::Long,
            Box::new(|a| match parse_ipv4(a[0].text()) {
                Some((ip, bits)) => Out::I64((ip & mask(bits)) as i64),
                None => Out::Null,
            }),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "ipv4_is_private" => row(
            func,
            KqlType::Bool,
            Box::new(|a| match parse_ipv4(a[0].text()) {
                Some((ip, _)) => {
                    let a8 = ip >> 24;
                    let b8 = (ip >> 16) & 0xff;
                    Out::Bool(
                        a8 == 10
                            || (a8 == 172 && (16..32).contains(&b8))
                            || (a8 == 192 && b8 == 168),
                    )
                }
                None => Out::Null,
            }),
        )
        .call(vec![a_as(p, 0, KqlType::String)?]),
        "ipv4_is_in_range" | "ipv4_is_match" => row(
            func,
            KqlType::Bool,
            Box::new(
                |a| match (parse_ipv4(a[0].text()), parse_ipv4(a[1].text())) {
                    (Some((x, bx)), Some((y, by))) => {
                        let bits = a
                            .get(2)
                            .and_then(|v| v.i64())
                            .map_or(bx.min(by), |b| b.clamp(0, 32) as u32);
                        Out::Bool(x & mask(bits) == y & mask(bits))
                    }
                    _ => Out::Null,
                },
            ),
        )
        .call(all(p, KqlType::String)?),
        "ipv4_compare" => row(
            func,
            KqlType::Int,
            Box::new(
                |a| match (parse_ipv4(a[0].text()), parse_ipv4(a[1].text())) {
                    (Some((x, bx)), Some((y, by))) => {
                        let bits = a
                            .get(2)
                            .and_then(|v| v.i64())
                            .map_or(bx.min(by), |b| b.clamp(0, 32) as u32);
                        Out::I64(((x & mask(bits)).cmp(&(y & mask(bits)))) as i64)
                    }
                    _ => Out::Null,
                },
            ),
        )
        .call(all(p, KqlType::String)?),
        "countof" => row(
            func,
            KqlType::Long,
            Box::new(|a| {
                let (s, needle) = (a[0].text(), a[1].text());
                if needle.is_empty() {
                    return Out::I64(0);
                }
                if a.get(2).map(|k| k.text()) == Some("regex") {
                    return cached_regex(needle)
                        .map_or(Out::Null, |r| Out::I64(r.find_iter(s).count() as i64));
                }
                let mut c = 0;
                let mut i = 0;
                while let Some(k) = s.get(i..).and_then(|r| r.find(needle)) {
                    c += 1;
                    i += k + needle.chars().next().map_or(1, |ch| ch.len_utf8());
                }
                Out::I64(c)
            }),
        )
        .call(all(p, KqlType::String)?),
        "indexof" => {
            let mut v = vec![a_as(p, 0, KqlType::String)?, a_as(p, 1, KqlType::String)?];
            for i in 2..n {
                v.push(a_as(p, i, KqlType::Long)?);
            }
            row(
                func,
                KqlType::Long,
                Box::new(|a| {
                    let s: Vec<char> = a[0].text().chars().collect();
                    let needle: Vec<char> = a[1].text().chars().collect();
                    let start = a.get(2).and_then(|x| x.i64()).unwrap_or(0);
                    let start = if start < 0 {
                        (s.len() as i64 + start).max(0)
                    } else {
                        start
                    } as usize;
                    let len = a
                        .get(3)
                        .and_then(|x| x.i64())
                        .filter(|l| *l >= 0)
                        .map_or(s.len(), |l| l as usize);
                    let occ = a.get(4).and_then(|x| x.i64()).unwrap_or(1).max(1);
                    if start > s.len() {
                        return Out::I64(-1);
                    }
                    let end = (start + len).min(s.len());
                    let mut seen = 0;
                    let mut i = start;
                    while i + needle.len() <= end {
                        if s[i..i + needle.len()] == needle[..] {
                            seen += 1;
                            if seen == occ {
                                return Out::I64(i as i64);
                            }
                        }
                        i += 1;
                    }
                    Out::I64(-1)
                }),
            )
            .call(v)
        }
        "strcmp" => row(
            func,
            KqlType::Int,
            Box::new(|a| Out::I64(a[0].text().cmp(a[1].text()) as i64)),
        )
        .call(all(p, KqlType::String)?),
        "tohex" => row(
            func,
            KqlType::String,
            Box::new(|a| {
                let v = a[0].i64().unwrap_or(0);
                let w = a.get(1).and_then(|x| x.i64()).unwrap_or(0).max(0) as usize;
                Out::Str(format!("{v:0w$x}"))
            }),
        )
        .call(all(p, KqlType::Long)?),
        "abs" => f::abs(arg(0)?),
        "round" => {
            let d = if n > 1 {
                a_as(p, 1, KqlType::Long)?
            } else {
                lit(0i64)
            };
            let r = f::round(vec![a_as(p, 0, KqlType::Real)?, d]);
            cast(r, arrow_type(ty))
        }
        "ceiling" => cast(f::ceil(a_as(p, 0, KqlType::Real)?), arrow_type(ty)),
        "sign" => cast(f::signum(a_as(p, 0, KqlType::Real)?), arrow_type(ty)),
        "sqrt" => f::sqrt(a_as(p, 0, KqlType::Real)?),
        "exp" => f::exp(a_as(p, 0, KqlType::Real)?),
        "log" => f::ln(a_as(p, 0, KqlType::Real)?),
        "log10" => f::log10(a_as(p, 0, KqlType::Real)?),
        "log2" => f::log2(a_as(p, 0, KqlType::Real)?),
        "pow" => f::power(a_as(p, 0, KqlType::Real)?, a_as(p, 1, KqlType::Real)?),
        "rand" => {
            if n == 0 {
                f::random()
            } else {
                cast(
                    f::floor(f::random() * a_as(p, 0, KqlType::Real)?),
                    DataType::Float64,
                )
            }
        }
        "new_guid" => f::uuid(),
        "array_length" => row(
            func,
            KqlType::Long,
            Box::new(|a| match a[0] {
                Val::Str(s) => match parse_dyn(s) {
                    Json::Array(v) => Out::I64(v.len() as i64),
                    _ => Out::Null,
                },
                _ => Out::Null,
            }),
        )
        .call(vec![a_as(p, 0, KqlType::Dynamic)?]),
        "pack_array" => json_fn(p, Box::new(Json::Array))?,
        // `bag_pack_nonempty` is `pack_all(true)`: null and "" values are left out.
        "bag_pack" | "bag_pack_nonempty" => {
            let skip_empty = func == "bag_pack_nonempty";
            json_fn(
                p,
                Box::new(move |v| {
                    let mut m = serde_json::Map::new();
                    for kv in v.chunks(2) {
                        if let [k, val] = kv {
                            let empty = matches!(val, Json::Null)
                                || matches!(val, Json::String(s) if s.is_empty());
                            if !(skip_empty && empty) {
                                m.insert(json_to_string(k), val.clone());
                            }
                        }
                    }
                    Json::Object(m)
                }),
            )?
        }
        "make_string" => {
            let e = json_fn(
                p,
                Box::new(|v| {
                    let mut out = String::new();
                    for x in v {
                        let items = match x {
                            Json::Array(a) => a,
                            other => vec![other],
                        };
                        for i in items {
                            if let Some(c) = i.as_u64().and_then(|c| char::from_u32(c as u32)) {
                                out.push(c);
                            }
                        }
                    }
                    Json::String(out)
                }),
            )?;
            f::coalesce(vec![e, lit("")])
        }
        "strcat_array" => {
            let e = json_fn(
                p,
                Box::new(|v| {
                    let delim = v.get(1).map(json_to_string).unwrap_or_default();
                    match v.first() {
                        Some(Json::Array(a)) => Json::String(
                            a.iter()
                                .map(json_to_string)
                                .collect::<Vec<_>>()
                                .join(&delim),
                        ),
                        _ => Json::String(String::new()),
                    }
                }),
            )?;
            f::coalesce(vec![e, lit("")])
        }
        "array_concat" => json_fn(
            p,
            Box::new(|v| {
                Json::Array(
                    v.into_iter()
                        .flat_map(|x| match x {
                            Json::Array(a) => a,
                            _ => vec![],
                        })
                        .collect(),
                )
            }),
        )?,
        "array_slice" => json_fn(
            p,
            Box::new(|v| {
                let Some(Json::Array(a)) = v.first() else {
                    return Json::Null;
                };
                let len = a.len() as i64;
                let norm = |x: Option<&Json>| {
                    let i = x.and_then(Json::as_i64).unwrap_or(0);
                    if i < 0 {
                        (len + i).max(0)
                    } else {
                        i.min(len)
                    }
                };
                let (s, e) = (norm(v.get(1)), norm(v.get(2)));
                if s > e {
                    return Json::Array(vec![]);
                }
                Json::Array(a[s as usize..((e + 1).min(len)) as usize].to_vec())
            }),
        )?,
        "array_sort_asc" | "array_sort_desc" => {
            let asc = func == "array_sort_asc";
            json_fn(
                p,
                Box::new(move |v| match v.into_iter().next() {
                    Some(Json::Array(mut a)) => {
                        json_sort(&mut a, asc);
                        Json::Array(a)
                    }
                    _ => Json::Null,
                }),
            )?
        }
        "array_sum" => json_fn(
            p,
            Box::new(|v| match v.first() {
                Some(Json::Array(a)) => {
                    serde_json::Number::from_f64(a.iter().filter_map(Json::as_f64).sum())
                        .map_or(Json::Null, Json::Number)
                }
                _ => Json::Null,
            }),
        )?,
        "array_index_of" => json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Array(a)), Some(x)) => {
                    Json::from(a.iter().position(|i| i == x).map_or(-1, |i| i as i64))
                }
                _ => Json::Null,
            }),
        )?,
        "set_has_element" => json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Array(a)), Some(x)) => Json::Bool(a.contains(x)),
                _ => Json::Null,
            }),
        )?,
        "set_union" | "set_intersect" | "set_difference" => {
            let which = func.to_string();
            json_fn(
                p,
                Box::new(move |v| {
                    let arrays: Vec<Vec<Json>> = v
                        .into_iter()
                        .map(|x| match x {
                            Json::Array(a) => a,
                            _ => vec![],
                        })
                        .collect();
                    let mut out: Vec<Json> = Vec::new();
                    let push = |out: &mut Vec<Json>, x: &Json| {
                        if !out.contains(x) {
                            out.push(x.clone());
                        }
                    };
                    match which.as_str() {
                        "set_union" => arrays.iter().flatten().for_each(|x| push(&mut out, x)),
                        "set_intersect" => {
                            for x in arrays.first().into_iter().flatten() {
                                if arrays[1..].iter().all(|a| a.contains(x)) {
                                    push(&mut out, x);
                                }
                            }
                        }
                        _ => {
                            for x in arrays.first().into_iter().flatten() {
                                if !arrays[1..].iter().any(|a| a.contains(x)) {
                                    push(&mut out, x);
                                }
                            }
                        }
                    }
                    Json::Array(out)
                }),
            )?
        }
        "bag_keys" => json_fn(
            p,
            Box::new(|v| match v.first() {
                Some(Json::Object(m)) => {
                    Json::Array(m.keys().map(|k| Json::String(k.clone())).collect())
                }
                _ => Json::Null,
            }),
        )?,
        "bag_has_key" => json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Object(m)), Some(k)) => Json::Bool(m.contains_key(&json_to_string(k))),
                _ => Json::Bool(false),
            }),
        )?,
        "bag_merge" => json_fn(
            p,
            Box::new(|v| {
                let mut m = serde_json::Map::new();
                for x in v {
                    if let Json::Object(o) = x {
                        for (k, val) in o {
                            m.entry(k).or_insert(val);
                        }
                    }
                }
                Json::Object(m)
            }),
        )?,
        "bag_remove_keys" => json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Object(m)), Some(Json::Array(keys))) => {
                    let mut m = m.clone();
                    for k in keys {
                        m.remove(&json_to_string(k));
                    }
                    Json::Object(m)
                }
                (Some(o), _) => o.clone(),
                _ => Json::Null,
            }),
        )?,
        "zip" => json_fn(
            p,
            Box::new(|v| {
                let arrays: Vec<Vec<Json>> = v
                    .into_iter()
                    .map(|x| match x {
                        Json::Array(a) => a,
                        _ => vec![],
                    })
                    .collect();
                let len = arrays.iter().map(Vec::len).max().unwrap_or(0);
                Json::Array(
                    (0..len)
                        .map(|i| {
                            Json::Array(
                                arrays
                                    .iter()
                                    .map(|a| a.get(i).cloned().unwrap_or(Json::Null))
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            }),
        )?,
        "range" => json_fn(
            p,
            Box::new(|v| {
                let (a, b) = (
                    v.first().and_then(Json::as_f64),
                    v.get(1).and_then(Json::as_f64),
                );
                let s = v.get(2).and_then(Json::as_f64).unwrap_or(1.0);
                let (Some(a), Some(b)) = (a, b) else {
                    return Json::Null;
                };
                if s == 0.0 {
                    return Json::Null;
                }
                let ints = v.iter().all(|x| x.is_i64() || x.is_null());
                let mut out = Vec::new();
                let mut x = a;
                while ((s > 0.0 && x <= b) || (s < 0.0 && x >= b)) && out.len() < 1_048_576 {
                    out.push(if ints {
                        Json::from(x as i64)
                    } else {
                        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
                    });
                    x += s;
                }
                Json::Array(out)
            }),
        )?,
        other => {
            let _ = (
                convert_val as fn(Val, KqlType, KqlType) -> Out,
                format_datetime as fn(i64) -> String,
            );
            return unsupported(other);
        }
    })
}

/// .NET ticks (100 ns) from 0001-01-01 to the Unix epoch.
const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// xxHash64 with seed 0, Kusto's `hash()`.
fn xxh64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// The digests behind `hash_sha256`, `hash_sha1` and `hash_md5`.
#[derive(Debug, Clone, Copy)]
enum Digest {
    Sha256,
    Sha1,
    Md5,
}

impl Digest {
    /// Lowercase hex digest of `bytes`.
    fn hex(self, bytes: &[u8]) -> String {
        use sha2::Digest as _;
        let raw: Vec<u8> = match self {
            Digest::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Digest::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            Digest::Md5 => md5::Md5::digest(bytes).to_vec(),
        };
        let mut out = String::with_capacity(raw.len() * 2);
        for b in raw {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// Converts arguments to the given types (missing trailing types default to the last).
fn all_typed(
    p: &Planner,
    xs: &[Expr],
    args: &[BoundExpr],
    types: &[KqlType],
) -> PResult<Vec<Expr>> {
    xs.iter()
        .zip(args)
        .enumerate()
        .map(|(i, (x, a))| {
            let to = types
                .get(i)
                .or(types.last())
                .copied()
                .unwrap_or(KqlType::String);
            p.conv(x.clone(), a.ty, to)
        })
        .collect()
}
