//! Text functions, with the base64 and URL encodings.

use super::*;
use palisade_kql::functions::StringFn as F;

use super::base64::{base64_decode, base64_encode};
use crate::udf::capped::capped;
use crate::udf::dynamic::split_parts;

pub(super) fn url_decode(s: &str) -> String {
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

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let (n, ty) = (c.n, c.ty);
    Ok(match f {
        F::StringSize
        | F::UnicodeCodepointsFromString
        | F::RegexQuote
        | F::IndexOfRegex
        | F::HasAnyIndex
        | F::ReplaceStrings
        | F::IsAscii
        | F::IsUtf8
        | F::Base64EncodeFromArray
        | F::Base64EncodeFromGuid
        | F::Base64DecodeToGuid
        | F::FormatBytes => super::string_ext::plan(p, f, c)?,
        F::Strrep => {
            // More than 1024 repetitions repeat 1024 times (Kusto's documented cap); a count
            // below 1 gives the empty string [inferred: the docs only allow 1 and up].
            let mut v = vec![
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::Long)?,
            ];
            if c.n > 2 {
                v.push(c.arg_as(p, 2, KqlType::String)?);
            }
            c.row(
                "strrep",
                KqlType::String,
                Box::new(|a| {
                    let times = a[1].i64().unwrap_or(0).clamp(0, 1024) as usize;
                    let delimiter = a.get(2).map_or("", |d| d.text());
                    // Sized before it is built: 1024 copies of a large value are refused.
                    let bytes =
                        times * a[0].text().len() + times.saturating_sub(1) * delimiter.len();
                    if bytes > crate::budget::MAX_VALUE_BYTES {
                        return Out::TooLarge(bytes);
                    }
                    Out::Str(vec![a[0].text(); times].join(delimiter))
                }),
            )
            .call(v)
        }
        F::Translate => c
            .row(
                "translate",
                KqlType::String,
                Box::new(|a| {
                    // Each character of the search list maps to the replacement character at
                    // its position, or to the last one when the replacement list is shorter;
                    // an empty replacement list deletes the characters.
                    let search: Vec<char> = a[0].text().chars().collect();
                    let replace: Vec<char> = a[1].text().chars().collect();
                    Out::Str(
                        a[2].text()
                            .chars()
                            .filter_map(|ch| match search.iter().position(|s| *s == ch) {
                                None => Some(ch),
                                Some(_) if replace.is_empty() => None,
                                Some(i) => Some(replace[i.min(replace.len() - 1)]),
                            })
                            .collect(),
                    )
                }),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::Strcat => capped(fx::concat(c.all_as(p, KqlType::String)?)),
        F::StrcatDelim => {
            let v = c.all_as(p, KqlType::String)?;
            capped(fx::concat_ws(v[0].clone(), v[1..].to_vec()))
        }
        F::Strlen => cast(
            fx::character_length(c.arg_as(p, 0, KqlType::String)?),
            DataType::Int64,
        ),
        F::ToLower => fx::lower(c.arg_as(p, 0, KqlType::String)?),
        F::ToUpper => fx::upper(c.arg_as(p, 0, KqlType::String)?),
        F::Substring => {
            let v = all_typed(p, c, &[KqlType::String, KqlType::Long, KqlType::Long])?;
            c.row(
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
        F::Split => {
            let v = all_typed(p, c, &[KqlType::String, KqlType::String, KqlType::Long])?;
            let e = c
                .row(
                    "split",
                    KqlType::Dynamic,
                    Box::new(|a| {
                        let mut parts = Vec::new();
                        split_parts(a[0].text(), a[1].text(), |x| parts.push(x));
                        // The array written straight as JSON text, no value tree.
                        let chosen: &[&str] = match a.get(2).map(|i| i.i64().unwrap_or(0)) {
                            Some(idx) if idx >= 0 => parts
                                .get(idx as usize)
                                .map_or(&[][..], std::slice::from_ref),
                            Some(_) => &[],
                            None => &parts,
                        };
                        Out::Str(serde_json::to_string(chosen).unwrap_or_default())
                    }),
                )
                .call(v);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        F::Trim | F::TrimStart | F::TrimEnd => {
            let v = c.all_as(p, KqlType::String)?;
            let which = c.name.to_string();
            c.row(
                c.name,
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
        F::Reverse => c
            .row(
                "reverse",
                KqlType::String,
                Box::new(|a| Out::Str(a[0].text().chars().rev().collect())),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::ReplaceString => c
            .row(
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
            .call(c.all_as(p, KqlType::String)?),
        F::ReplaceRegex => c
            .row(
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
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::String)?,
                c.arg_as(p, 2, KqlType::String)?,
            ]),
        F::Extract => {
            let target = match c.args.get(3).map(|a| &a.node) {
                Some(ExprNode::TypeOf(t)) => *t,
                _ => KqlType::String,
            };
            let e = c
                .row(
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
                    c.arg_as(p, 0, KqlType::String)?,
                    c.arg_as(p, 1, KqlType::Long)?,
                    c.arg_as(p, 2, KqlType::String)?,
                ]);
            if target == KqlType::String {
                fx::coalesce(vec![e, lit("")])
            } else {
                p.conv(e, KqlType::String, target)?
            }
        }
        F::ExtractAll => {
            let e = if n == 2 {
                vec![
                    c.arg_as(p, 0, KqlType::String)?,
                    c.arg_as(p, 1, KqlType::String)?,
                ]
            } else {
                vec![
                    c.arg_as(p, 0, KqlType::String)?,
                    c.arg_as(p, 2, KqlType::String)?,
                    c.arg_as(p, 1, KqlType::Dynamic)?,
                ]
            };
            let x = c
                .row(
                    "extract_all",
                    KqlType::Dynamic,
                    Box::new(|a| {
                        let Some(r) = cached_regex(a[0].text()) else {
                            return Out::Null;
                        };
                        let groups: Option<Vec<usize>> =
                            a.get(2).map(|g| match parse_dyn(g.text()) {
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
        F::Base64DecodeToString => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| match base64_decode(a[0].text()) {
                    Some(b) => match String::from_utf8(b) {
                        Ok(s) => Out::Str(s),
                        Err(_) => Out::Str(String::new()),
                    },
                    None => Out::Str(String::new()),
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Base64EncodeToString => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| Out::Str(base64_encode(a[0].text().as_bytes()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::Base64DecodeToArray => {
            let e = c
                .row(
                    c.name,
                    KqlType::Dynamic,
                    Box::new(|a| match base64_decode(a[0].text()) {
                        Some(b) => dyn_out(Json::Array(b.into_iter().map(Json::from).collect())),
                        None => Out::Null,
                    }),
                )
                .call(vec![c.arg_as(p, 0, KqlType::String)?]);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        F::UrlDecode => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| Out::Str(url_decode(a[0].text()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::UrlEncode => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| Out::Str(url_encode(a[0].text()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::String)?]),
        F::CountOf => c
            .row(
                c.name,
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
            .call(c.all_as(p, KqlType::String)?),
        F::IndexOf => {
            let mut v = vec![
                c.arg_as(p, 0, KqlType::String)?,
                c.arg_as(p, 1, KqlType::String)?,
            ];
            for i in 2..n {
                v.push(c.arg_as(p, i, KqlType::Long)?);
            }
            c.row(
                c.name,
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
        F::Strcmp => c
            .row(
                c.name,
                KqlType::Int,
                Box::new(|a| Out::I64(a[0].text().cmp(a[1].text()) as i64)),
            )
            .call(c.all_as(p, KqlType::String)?),
        F::MakeString => {
            let e = c.json_fn(
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
            fx::coalesce(vec![e, lit("")])
        }
    })
}
