//! Kusto's string predicates (`has`, `contains`, `startswith`, … with their term and case
//! rules: the reference implementation the vectorised matcher is checked against), and the
//! regex and term-list operators.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::logical_expr::ScalarUDF;
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
