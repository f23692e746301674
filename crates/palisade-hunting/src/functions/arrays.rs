//! Dynamic-array and bag functions added with the reference's coverage: reversing, shifting,
//! rotating and splitting arrays, `array_iff`, `repeat`, set equality and the Jaccard index,
//! `bag_zip` and `dynamic_to_json`. Each works on JSON values (see [`Call::json_fn`]); a
//! non-array argument where an array is expected gives null, as in Kusto.

use super::*;
use palisade_kql::functions::DynamicFn as F;

/// Longest array `repeat` builds (Kusto's documented limit for `range`, the same here).
const MAX_ITEMS: usize = 1_048_576;

/// Plans the functions of this module (the others belong to [`super::dynamic`]).
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let g: fn(Vec<Json>) -> Json = match f {
        F::ArrayReverse => |v| match v.into_iter().next() {
            Some(Json::Array(mut a)) => {
                a.reverse();
                Json::Array(a)
            }
            _ => Json::Null,
        },
        F::ArrayIff => array_iff,
        F::ArraySplit => array_split,
        F::ArrayShiftLeft => |v| shift(v, false),
        F::ArrayShiftRight => |v| shift(v, true),
        F::ArrayRotateLeft => |v| rotate(v, false),
        F::ArrayRotateRight => |v| rotate(v, true),
        F::Repeat => |v| {
            let n = v.get(1).and_then(Json::as_i64).unwrap_or(0);
            match v.into_iter().next() {
                Some(x) => Json::Array(vec![x; n.clamp(0, MAX_ITEMS as i64) as usize]),
                None => Json::Null,
            }
        },
        F::SetEquals => |v| match (v.first(), v.get(1)) {
            (Some(Json::Array(a)), Some(Json::Array(b))) => {
                Json::Bool(a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)))
            }
            _ => Json::Null,
        },
        F::JaccardIndex => jaccard_index,
        F::BagZip => bag_zip,
        F::DynamicToJson => |v| match v.into_iter().next() {
            Some(x) => Json::String(sorted_json(&x)),
            None => Json::Null,
        },
        other => {
            return Err(PlanError::Invalid(format!(
                "{other} is planned by the dynamic module"
            )))
        }
    };
    c.json_fn(p, Box::new(g))
}

/// `array_iff(conditions, when_true, when_false)`: element-wise choice; `when_true` and
/// `when_false` are arrays (a missing element is null) or scalars used for every element; a
/// condition that is not a bool gives null. The result is as long as `conditions`.
fn array_iff(v: Vec<Json>) -> Json {
    let Some(Json::Array(cond)) = v.first() else {
        return Json::Null;
    };
    let pick = |x: Option<&Json>, i: usize| match x {
        Some(Json::Array(a)) => a.get(i).cloned().unwrap_or(Json::Null),
        Some(other) => other.clone(),
        None => Json::Null,
    };
    Json::Array(
        cond.iter()
            .enumerate()
            .map(|(i, c)| match c {
                Json::Bool(true) => pick(v.get(1), i),
                Json::Bool(false) => pick(v.get(2), i),
                _ => Json::Null,
            })
            .collect(),
    )
}

/// `array_split(array, indices)`: the array cut before each index (one integer or an array of
/// them; a negative index counts from the end; indices are clamped to the array).
fn array_split(v: Vec<Json>) -> Json {
    let Some(Json::Array(a)) = v.first() else {
        return Json::Null;
    };
    let len = a.len() as i64;
    let raw: Vec<i64> = match v.get(1) {
        Some(Json::Array(ix)) => ix.iter().filter_map(Json::as_i64).collect(),
        Some(x) => x.as_i64().into_iter().collect(),
        None => Vec::new(),
    };
    let mut cuts: Vec<usize> = raw
        .into_iter()
        .map(|i| (if i < 0 { len + i } else { i }).clamp(0, len) as usize)
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts {
        out.push(Json::Array(a[from..cut.max(from)].to_vec()));
        from = cut.max(from);
    }
    out.push(Json::Array(a[from..].to_vec()));
    Json::Array(out)
}

/// `array_shift_left/right(array, n [, fill])`: elements moved by `n` positions (a negative `n`
/// moves the other way), the vacated positions filled with `fill` (null by default).
fn shift(v: Vec<Json>, right: bool) -> Json {
    let Some(Json::Array(a)) = v.first() else {
        return Json::Null;
    };
    let n = v.get(1).and_then(Json::as_i64).unwrap_or(0);
    let fill = v.get(2).cloned().unwrap_or(Json::Null);
    let len = a.len() as i64;
    let by = if right { -n } else { n };
    Json::Array(
        (0..len)
            .map(|i| {
                let from = i + by;
                if (0..len).contains(&from) {
                    a[from as usize].clone()
                } else {
                    fill.clone()
                }
            })
            .collect(),
    )
}

/// `array_rotate_left/right(array, n)`: elements moved circularly by `n` positions (a negative
/// `n` rotates the other way).
fn rotate(v: Vec<Json>, right: bool) -> Json {
    let Some(Json::Array(a)) = v.first() else {
        return Json::Null;
    };
    if a.is_empty() {
        return Json::Array(Vec::new());
    }
    let n = v.get(1).and_then(Json::as_i64).unwrap_or(0);
    let len = a.len() as i64;
    let by = (if right { -n } else { n }).rem_euclid(len) as usize;
    let mut out = a.clone();
    out.rotate_left(by);
    Json::Array(out)
}

/// `jaccard_index(a, b)`: |distinct(a) ∩ distinct(b)| / |distinct(a) ∪ distinct(b)| (NaN, shown
/// as null, for two empty sets).
fn jaccard_index(v: Vec<Json>) -> Json {
    let (Some(Json::Array(a)), Some(Json::Array(b))) = (v.first(), v.get(1)) else {
        return Json::Null;
    };
    let mut union: Vec<&Json> = Vec::new();
    for x in a.iter().chain(b.iter()) {
        if !union.contains(&x) {
            union.push(x);
        }
    }
    let both = union
        .iter()
        .filter(|x| a.contains(x) && b.contains(x))
        .count();
    serde_json::Number::from_f64(both as f64 / union.len() as f64).map_or(Json::Null, Json::Number)
}

/// `bag_zip(keys, values)`: a bag of `keys[i]: values[i]`; non-string keys are skipped and a
/// key without a value gets null.
fn bag_zip(v: Vec<Json>) -> Json {
    let (Some(Json::Array(keys)), Some(Json::Array(values))) = (v.first(), v.get(1)) else {
        return Json::Null;
    };
    let mut m = serde_json::Map::new();
    for (i, k) in keys.iter().enumerate() {
        if let Json::String(k) = k {
            m.insert(k.clone(), values.get(i).cloned().unwrap_or(Json::Null));
        }
    }
    Json::Object(m)
}

/// Compact JSON text with every bag's keys sorted (what `dynamic_to_json` documents).
fn sorted_json(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Json::String(k.clone()), sorted_json(&m[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Json::Array(a) => format!(
            "[{}]",
            a.iter().map(sorted_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shifts_rotations_and_splits() {
        let a = || json!([1, 2, 3, 4, 5]);
        assert_eq!(
            shift(vec![a(), json!(2)], false),
            json!([3, 4, 5, null, null])
        );
        assert_eq!(
            shift(vec![a(), json!(2), json!(-1)], true),
            json!([-1, -1, 1, 2, 3])
        );
        assert_eq!(
            shift(vec![a(), json!(-2)], false),
            json!([null, null, 1, 2, 3])
        );
        assert_eq!(rotate(vec![a(), json!(2)], false), json!([3, 4, 5, 1, 2]));
        assert_eq!(rotate(vec![a(), json!(-2)], false), json!([4, 5, 1, 2, 3]));
        assert_eq!(rotate(vec![a(), json!(2)], true), json!([4, 5, 1, 2, 3]));
        assert_eq!(array_split(vec![a(), json!(2)]), json!([[1, 2], [3, 4, 5]]));
        assert_eq!(
            array_split(vec![a(), json!([1, 3])]),
            json!([[1], [2, 3], [4, 5]])
        );
    }
}
