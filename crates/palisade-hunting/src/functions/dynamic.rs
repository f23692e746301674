//! `dynamic` (JSON) values: parsing, arrays, property bags, sets, and the parsers that build them.

use super::string::url_decode;
use super::*;
use palisade_kql::functions::DynamicFn as F;

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

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let ty = c.ty;
    Ok(match f {
        F::ArrayReverse
        | F::ArrayIff
        | F::ArraySplit
        | F::ArrayShiftLeft
        | F::ArrayShiftRight
        | F::ArrayRotateLeft
        | F::ArrayRotateRight
        | F::Repeat
        | F::SetEquals
        | F::JaccardIndex
        | F::BagZip
        | F::DynamicToJson => super::arrays::plan(p, f, c)?,
        F::ParseJson => c.arg_as(p, 0, KqlType::Dynamic)?,
        F::ExtractJson => {
            let target = match c.args.get(2).map(|a| &a.node) {
                Some(ExprNode::TypeOf(t)) => *t,
                _ => KqlType::String,
            };
            let e = c
                .row(
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
                    c.arg_as(p, 0, KqlType::String)?,
                    c.arg_as(p, 1, KqlType::String)?,
                ]);
            p.conv(e, KqlType::Dynamic, target)?
        }
        F::ParseUrl | F::ParsePath | F::ParseCommandLine | F::ParseCsv | F::ParseUrlQuery => {
            let which = c.name.to_string();
            let e = c
                .row(
                    c.name,
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
                .call(vec![c.arg_as(p, 0, KqlType::String)?]);
            p.conv(e, KqlType::Dynamic, ty)?
        }
        F::ArrayLength => c
            .row(
                c.name,
                KqlType::Long,
                Box::new(|a| match a[0] {
                    Val::Str(s) => match parse_dyn(s) {
                        Json::Array(v) => Out::I64(v.len() as i64),
                        _ => Out::Null,
                    },
                    _ => Out::Null,
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Dynamic)?]),
        F::PackArray => c.json_fn(p, Box::new(Json::Array))?,
        // `bag_pack_nonempty` is `pack_all(true)`: null and "" values are left out.
        F::BagPack | F::BagPackNonEmpty => {
            let skip_empty = f == F::BagPackNonEmpty;
            c.json_fn(
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
        F::StrcatArray => {
            let e = c.json_fn(
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
            fx::coalesce(vec![e, lit("")])
        }
        F::ArrayConcat => c.json_fn(
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
        F::ArraySlice => c.json_fn(
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
        F::ArraySortAsc | F::ArraySortDesc => {
            let asc = f == F::ArraySortAsc;
            c.json_fn(
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
        F::ArraySum => c.json_fn(
            p,
            Box::new(|v| match v.first() {
                Some(Json::Array(a)) => {
                    serde_json::Number::from_f64(a.iter().filter_map(Json::as_f64).sum())
                        .map_or(Json::Null, Json::Number)
                }
                _ => Json::Null,
            }),
        )?,
        F::ArrayIndexOf => c.json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Array(a)), Some(x)) => {
                    Json::from(a.iter().position(|i| i == x).map_or(-1, |i| i as i64))
                }
                _ => Json::Null,
            }),
        )?,
        F::SetHasElement => c.json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Array(a)), Some(x)) => Json::Bool(a.contains(x)),
                _ => Json::Null,
            }),
        )?,
        F::SetUnion | F::SetIntersect | F::SetDifference => {
            let which = c.name.to_string();
            c.json_fn(
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
        F::BagKeys => c.json_fn(
            p,
            Box::new(|v| match v.first() {
                Some(Json::Object(m)) => {
                    Json::Array(m.keys().map(|k| Json::String(k.clone())).collect())
                }
                _ => Json::Null,
            }),
        )?,
        F::BagHasKey => c.json_fn(
            p,
            Box::new(|v| match (v.first(), v.get(1)) {
                (Some(Json::Object(m)), Some(k)) => Json::Bool(m.contains_key(&json_to_string(k))),
                _ => Json::Bool(false),
            }),
        )?,
        F::BagMerge => c.json_fn(
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
        F::BagRemoveKeys => c.json_fn(
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
        F::Zip => c.json_fn(
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
        F::Range => c.json_fn(
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
    })
}
