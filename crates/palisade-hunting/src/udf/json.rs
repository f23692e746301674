//! Conversions between KQL types as Kusto's `to*()` functions define them, and `dynamic`
//! values as JSON text.

use datafusion::logical_expr::ScalarUDF;
use palisade_kql::value::{
    format_datetime, format_timespan, parse_bool, parse_datetime, parse_long, parse_timespan,
};
use palisade_kql::KqlType;
use serde_json::Value as Json;

use super::{arrow_type, row_udf, Out, Val};

/// Parses dynamic JSON text; text that is not JSON is a JSON string.
pub(crate) fn parse_dyn(s: &str) -> Json {
    serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_string()))
}

/// The value of a JSON string literal that needs no unescaping (`"abc"`), which is what
/// [`parse_dyn`] would give for it, without parsing; `None` for any other text. Such a
/// literal is also exactly how `serde_json` writes its value.
pub(crate) fn plain_json_string(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)).then_some(inner)
}

/// Serialises a dynamic value (JSON `null` as SQL null).
pub(crate) fn dyn_out(v: Json) -> Out {
    if v.is_null() {
        Out::Null
    } else {
        Out::Str(v.to_string())
    }
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
        Json::String(s) => parse_long(s),
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
        Json::String(s) => parse_bool(s),
        _ => None,
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
        if let (KqlType::String | KqlType::Guid, Some(s)) = (to, plain_json_string(v.text())) {
            return Out::Str(s.to_string());
        }
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
            Val::Str(s) => parse_long(s).map_or(Out::Null, Out::I64),
            other => other.i64().map_or(Out::Null, Out::I64),
        },
        KqlType::Real | KqlType::Decimal => match v {
            Val::Str(s) => s.trim().parse().map_or(Out::Null, Out::F64),
            other => other.f64().map_or(Out::Null, Out::F64),
        },
        KqlType::Bool => match v {
            Val::Str(s) => parse_bool(s).map_or(Out::Null, Out::Bool),
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

/// Kusto's `gettype()` of a dynamic value.
pub(crate) fn gettype_json(v: &Json) -> &'static str {
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
