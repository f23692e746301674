//! Text functions added with the reference's coverage: byte sizes and code points, regex
//! helpers (`regex_quote`, `indexof_regex`), term and multi-string search and replace, ASCII and
//! UTF-8 tests, and base64 of byte arrays and GUIDs.

use super::*;
use palisade_kql::functions::StringFn as F;

use super::base64::{base64_decode, base64_encode};
use crate::udf::text::{str_predicate, StrPred};

/// Plans the functions of this module (the others belong to [`super::string`]).
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let ty = c.ty;
    Ok(match f {
        F::StringSize => c
            .row(
                c.name,
                KqlType::Long,
                Box::new(|a| match a[0] {
                    Val::Null => Out::Null,
                    v => Out::I64(v.text().len() as i64),
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::UnicodeCodepointsFromString => {
            let e = c
                .row(
                    c.name,
                    KqlType::Dynamic,
                    Box::new(|a| {
                        dyn_out(Json::Array(
                            a[0].text()
                                .chars()
                                .map(|ch| Json::from(ch as u32))
                                .collect(),
                        ))
                    }),
                )
                .call(vec![c.arg_as(p, 0, KqlType::String)?]);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        F::RegexQuote => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| Out::Str(regex::escape(a[0].text()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::IndexOfRegex => {
            let v = all_typed(
                p,
                c,
                &[
                    KqlType::String,
                    KqlType::String,
                    KqlType::Long,
                    KqlType::Long,
                    KqlType::Long,
                ],
            )?;
            c.row(c.name, KqlType::Long, Box::new(indexof_regex))
                .call(v)
        }
        F::HasAnyIndex => c.json_fn(
            p,
            Box::new(|v| {
                // The index of the first term of the array that the text `has` (whole-term,
                // case-insensitive match, as the `has` operator); -1 when none is.
                let text = v.first().map(json_to_string).unwrap_or_default();
                let Some(Json::Array(terms)) = v.get(1) else {
                    return Json::from(-1);
                };
                let idx = terms.iter().position(|t| {
                    let t = json_to_string(t);
                    !t.is_empty() && str_predicate(StrPred::Has, &text, &t, false)
                });
                Json::from(idx.map_or(-1, |i| i as i64))
            }),
        )?,
        F::ReplaceStrings => c.json_fn(
            p,
            Box::new(|v| {
                let text = v.first().map(json_to_string).unwrap_or_default();
                let list = |i: usize| match v.get(i) {
                    Some(Json::Array(a)) => a.iter().map(json_to_string).collect(),
                    _ => Vec::new(),
                };
                Json::String(replace_strings(&text, &list(1), &list(2)))
            }),
        )?,
        F::IsAscii => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(|a| match a[0] {
                    Val::Null => Out::Null,
                    v => Out::Bool(v.text().is_ascii()),
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        // Strings are UTF-8 by construction here (ingestion decodes them), so every non-null
        // string is valid UTF-8.
        F::IsUtf8 => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(|a| match a[0] {
                    Val::Null => Out::Null,
                    _ => Out::Bool(true),
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Base64EncodeFromArray => c.json_fn(
            p,
            Box::new(|v| match v.first() {
                Some(Json::Array(items)) => {
                    let bytes: Option<Vec<u8>> = items
                        .iter()
                        .map(|x| x.as_u64().and_then(|b| u8::try_from(b).ok()))
                        .collect();
                    bytes.map_or(Json::Null, |b| Json::String(base64_encode(&b)))
                }
                _ => Json::Null,
            }),
        )?,
        F::Base64EncodeFromGuid => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| match guid_bytes(a[0].text()) {
                    Some(b) => Out::Str(base64_encode(&b)),
                    None => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Base64DecodeToGuid => c
            .row(
                c.name,
                KqlType::Guid,
                Box::new(|a| match base64_decode(a[0].text()) {
                    Some(b) if b.len() == 16 => Out::Str(guid_from_bytes(&b)),
                    _ => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::FormatBytes => {
            let v = all_typed(
                p,
                c,
                &[KqlType::Real, KqlType::Long, KqlType::String, KqlType::Long],
            )?;
            c.row(c.name, KqlType::String, Box::new(format_bytes))
                .call(v)
        }
        other => {
            return Err(PlanError::Invalid(format!(
                "{other} is planned by the string module"
            )))
        }
    })
}

/// `indexof_regex(string, match [, start [, length [, occurrence]]])`: the character index of
/// the `occurrence`-th non-overlapping match starting at or after `start` and ending within
/// `length` characters of it (-1 = unlimited); -1 when there is none; null for a negative
/// `start` or `occurrence`, a `length` below -1, or an invalid pattern (the docs' rules).
fn indexof_regex(a: &[Val]) -> Out {
    let s = a[0].text();
    let Some(re) = cached_regex(a[1].text()) else {
        return Out::Null;
    };
    let start = a.get(2).and_then(|x| x.i64()).unwrap_or(0);
    let len = a.get(3).and_then(|x| x.i64()).unwrap_or(-1);
    let occ = a.get(4).and_then(|x| x.i64()).unwrap_or(1);
    if start < 0 || occ < 0 || len < -1 {
        return Out::Null;
    }
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let start = (start as usize).min(n);
    let end = if len == -1 {
        n
    } else {
        (start + len as usize).min(n)
    };
    let byte = |i: usize| chars.get(i).map_or(s.len(), |(b, _)| *b);
    let window = &s[byte(start)..byte(end)];
    let found = re.find_iter(window).nth(occ.max(1) as usize - 1);
    match found {
        Some(m) => Out::I64((start + window[..m.start()].chars().count()) as i64),
        None => Out::I64(-1),
    }
}

/// `format_bytes(size [, precision [, units [, base]]])`: the size in the largest unit it
/// reaches (or the given one: `Bytes`, `KB`, `MB`, `GB`, `TB`, `PB`, `EB`, any case), with
/// `precision` decimals (0 by default); `base` is 2 (1 KB = 1024 bytes, the default) or 10.
/// Null for a null size, an unknown unit or another base.
fn format_bytes(a: &[Val]) -> Out {
    const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let Some(size) = a[0].f64() else {
        return Out::Null;
    };
    let precision = a.get(1).and_then(|p| p.i64()).unwrap_or(0).clamp(0, 15) as usize;
    let base = match a.get(3).and_then(|b| b.i64()).unwrap_or(2) {
        2 => 1024f64,
        10 => 1000f64,
        _ => return Out::Null,
    };
    let unit = match a.get(2).map(|u| u.text()).filter(|u| !u.is_empty()) {
        Some(u) => match UNITS.iter().position(|x| x.eq_ignore_ascii_case(u)) {
            Some(i) => i,
            None => return Out::Null,
        },
        None => {
            let mut i = 0;
            while i + 1 < UNITS.len() && size.abs() >= base.powi(i as i32 + 1) {
                i += 1;
            }
            i
        }
    };
    let value = size / base.powi(unit as i32);
    Out::Str(format!("{value:.precision$} {}", UNITS[unit]))
}

/// `replace_strings(text, lookups, rewrites)`: every lookup replaced by the rewrite at the same
/// position, in one left-to-right pass (replaced text is not searched again). At a position
/// where several lookups match, the longest wins [inferred: the docs do not say]; a lookup
/// without a rewrite is deleted, and empty lookups are ignored.
fn replace_strings(text: &str, lookups: &[String], rewrites: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        let rest = &text[i..];
        let best = lookups
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_empty() && rest.starts_with(l.as_str()))
            .max_by_key(|(k, l)| (l.len(), std::cmp::Reverse(*k)));
        if let Some((k, l)) = best {
            out.push_str(rewrites.get(k).map_or("", String::as_str));
            i += l.len();
            continue 'outer;
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

/// A GUID's 16 bytes in .NET's `Guid.ToByteArray()` order (the first three groups
/// little-endian), which is what Kusto's base64 GUID functions use.
fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

/// The inverse of [`guid_bytes`]: the lower-case hyphenated GUID of 16 bytes.
fn guid_from_bytes(b: &[u8]) -> String {
    let mut b: Vec<u8> = b.to_vec();
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_strings_is_one_pass_and_longest_first() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            replace_strings("aab", &l(&["a", "aa", "b"]), &l(&["1", "2", "a"])),
            "2a"
        );
        assert_eq!(replace_strings("abc", &l(&["b"]), &l(&[])), "ac");
    }

    #[test]
    fn guid_bytes_round_trip() {
        let g = "ae3133f2-6e22-49ae-b06a-16e6a9b212eb";
        let b = guid_bytes(g).unwrap();
        assert_eq!(b[0], 0xf2);
        assert_eq!(guid_from_bytes(&b), g);
    }
}
