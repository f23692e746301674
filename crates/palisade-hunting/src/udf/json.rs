//! Conversions between KQL types as Kusto's `to*()` functions define them, and `dynamic`
//! values as JSON text.

use std::borrow::Cow;

use datafusion::logical_expr::ScalarUDF;
use palisade_kql::value::{
    format_datetime, format_timespan, parse_bool, parse_datetime, parse_long, parse_timespan,
};
use palisade_kql::KqlType;

use serde_json::value::RawValue;
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

/// A dynamic array's elements as JSON texts (`None` for a JSON `null`), listed from the
/// text without building its value tree: an element that is a string needing no unescaping
/// is its own text, any other element is parsed and written back, exactly as its
/// value tree would be written. `None` when the text is not a JSON array (bags, scalars and
/// text that is not JSON are for the caller's value-tree path).
pub(crate) fn array_items(text: &str) -> Option<Vec<Option<Cow<'_, str>>>> {
    let raw: Vec<&RawValue> = serde_json::from_str(text).ok()?;
    raw.into_iter()
        .map(|r| {
            let t = r.get();
            if t == "null" {
                Some(None)
            } else if plain_json_string(t).is_some() {
                Some(Some(Cow::Borrowed(t)))
            } else {
                let v: Json = serde_json::from_str(t).ok()?;
                Some(Some(Cow::Owned(v.to_string())))
            }
        })
        .collect()
}

/// The compact JSON text of an array of element texts, as `serde_json` writes it.
pub(crate) fn array_text(items: &[Option<Cow<'_, str>>]) -> String {
    let mut out =
        String::with_capacity(2 + items.iter().flatten().map(|t| t.len() + 1).sum::<usize>());
    out.push('[');
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(item.as_deref().unwrap_or("null"));
    }
    out.push(']');
    out
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
        if matches!(to, KqlType::String | KqlType::Guid) {
            // The two common shapes read without a value tree: a plain string and an array.
            let text = v.text();
            if let Some(s) = plain_json_string(text) {
                return Out::Str(s.to_string());
            }
            if let Some(items) = text.starts_with('[').then(|| array_items(text)).flatten() {
                return Out::Str(array_text(&items));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Listing from the text gives exactly the texts the value-tree path writes, for every
    /// kind of element (numbers in other spellings, escapes, bags with spaces, nesting,
    /// nulls), and declines what is not an array.
    #[test]
    fn array_items_are_the_value_tree_texts() {
        let arrays = [
            r#"["a", "b c", "", "x\"y", "\u00e9", "é", "a\\b", "tab\there"]"#,
            r#"[1, 1.50, 1e5, -0, 12345678901234567890, 0.1, -7]"#,
            r#" [ {"b": 1, "a": [2, 3]} , [1, [2, "z"]], true, false, null ] "#,
            "[]",
            r#"["\u2028", "emoji 😀", "\ud83d\ude00"]"#,
        ];
        for text in arrays {
            let got = array_items(text).unwrap_or_else(|| panic!("not listed: {text}"));
            // `parse_json`'s array text is serde_json's own.
            let parsed: Json = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(array_text(&got), parsed.to_string(), "{text}");
            let Json::Array(elements) = parse_dyn(text) else {
                panic!("not an array: {text}");
            };
            let want: Vec<Option<String>> = elements
                .into_iter()
                .map(|v| (!v.is_null()).then(|| v.to_string()))
                .collect();
            let got: Vec<Option<String>> =
                got.into_iter().map(|t| t.map(|t| t.into_owned())).collect();
            assert_eq!(got, want, "{text}");
        }
        for not_an_array in [r#"{"a": 1}"#, r#""[1]""#, "42", "[1, 2", "not json", ""] {
            assert!(array_items(not_an_array).is_none(), "{not_an_array}");
        }
    }

    /// The plain-string shortcut agrees with parsing, and declines what it cannot read as is.
    #[test]
    fn plain_json_strings_read_as_parsing_does() {
        for text in [r#""abc""#, r#""""#, r#""é 😀""#, r#""a b""#] {
            let parsed = json_to_string(&parse_dyn(text));
            assert_eq!(plain_json_string(text), Some(parsed.as_str()), "{text}");
        }
        for text in [
            r#""a\"b""#,
            r#""a"b""#,
            "\"tab\there\"",
            r#"abc"#,
            r#"""#,
            r#" "a" "#,
        ] {
            assert_eq!(plain_json_string(text), None, "{text}");
        }
    }
}
