//! Kusto's string predicates (`has`, `contains`, `startswith`, … with their term and case
//! rules: the reference implementation the vectorised matcher is checked against), and the
//! regex and term-list operators.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::budget::{Budget, Charge};
use serde_json::Value as Json;

use super::json::{json_to_string, parse_dyn};
use super::{cached_regex, row_udf, Out, Val};

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

/// The groups `groups` of the first match of `re` in each row, as a struct of text fields
/// `g0`, `g1`, … in that order (empty text when the row does not match or the group took no
/// part): `parse` runs its pattern once per row for all the columns it extracts. The name
/// carries a hash of the pattern and the groups: DataFusion treats UDFs of the same name and
/// signature as the same function, and two `parse` patterns must not be merged.
pub(crate) fn regex_groups_udf(re: Arc<regex::Regex>, groups: Vec<usize>) -> ScalarUDF {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (re.as_str(), &groups).hash(&mut h);
    let fields: Fields = (0..groups.len())
        .map(|k| Field::new(format!("g{k}"), DataType::Utf8, false))
        .collect();
    ScalarUDF::new_from_impl(RegexGroups {
        name: format!("kql_parse_groups_{:016x}", h.finish()),
        sig: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        fields,
        re,
        groups,
        budget: crate::budget::current(),
    })
}

/// See [`regex_groups_udf`].
#[derive(Debug)]
struct RegexGroups {
    name: String,
    sig: Signature,
    /// The struct's fields, one per group.
    fields: Fields,
    re: Arc<regex::Regex>,
    groups: Vec<usize>,
    budget: Option<Budget>,
}

impl PartialEq for RegexGroups {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, self.re.as_str(), &self.groups)
            == (&other.name, other.re.as_str(), &other.groups)
    }
}

impl Eq for RegexGroups {}

impl std::hash::Hash for RegexGroups {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for RegexGroups {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.sig
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(self.fields.clone()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let [arg] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("parse: one argument".into()));
        };
        let scalar = matches!(arg, ColumnarValue::Scalar(_));
        let texts = arrow::compute::cast(
            &arg.to_array(if scalar { 1 } else { rows })?,
            &DataType::Utf8,
        )?;
        let texts = texts.as_string::<i32>();
        let mut out: Vec<StringBuilder> = self
            .groups
            .iter()
            .map(|_| StringBuilder::with_capacity(rows, 0))
            .collect();
        let mut charge = Charge::new(&self.name, self.budget.as_ref());
        let mut locs = self.re.capture_locations();
        for i in 0..rows {
            let at = if scalar { 0 } else { i };
            // A missing value is Kusto's empty string.
            let text = if texts.is_null(at) {
                ""
            } else {
                texts.value(at)
            };
            let matched = self.re.captures_read(&mut locs, text).is_some();
            for (b, g) in out.iter_mut().zip(&self.groups) {
                let part = match locs.get(*g) {
                    Some((from, to)) if matched => &text[from..to],
                    _ => "",
                };
                charge.add(part.len() + 4)?;
                b.append_value(part);
            }
        }
        let columns: Vec<ArrayRef> = out
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            self.fields.clone(),
            columns,
            None,
        )?)))
    }
}

/// Field `g{k}` of [`regex_groups_udf`]'s struct, without a copy. Not DataFusion's
/// `get_field`: the optimiser moves that one towards the scan, which would put the regex
/// call back into every column that reads a capture.
pub(crate) fn capture_udf(k: usize) -> ScalarUDF {
    ScalarUDF::new_from_impl(Capture {
        name: format!("kql_parse_capture_{k}"),
        sig: Signature::any(1, Volatility::Immutable),
        k,
    })
}

/// See [`capture_udf`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct Capture {
    name: String,
    sig: Signature,
    k: usize,
}

impl ScalarUDFImpl for Capture {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.sig
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(
                "parse capture: one argument".into(),
            ));
        };
        let field = |a: &ArrayRef| -> DfResult<ArrayRef> {
            a.as_struct_opt()
                .and_then(|s| s.columns().get(self.k).cloned())
                .ok_or_else(|| DataFusionError::Internal("parse capture: not a capture".into()))
        };
        Ok(match arg {
            ColumnarValue::Array(a) => ColumnarValue::Array(field(a)?),
            ColumnarValue::Scalar(v) => ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&field(&v.to_array()?)?, 0)?,
            ),
        })
    }
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
}
