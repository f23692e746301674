//! Vectorised Kusto string predicates (`has`, `contains`, `=~`, `startswith`, … and their
//! `_cs` forms) for the common shape "string column OP constant".
//!
//! The needle is prepared once per batch (a SIMD `memmem` finder; for case-insensitive
//! matching, of the lower-cased needle over the lower-cased text in a reused buffer) and the
//! column's values are scanned in place, without per-row conversions. Only ASCII values take
//! the fast path when matching is case-insensitive; any other value, and any other argument
//! shape, goes through [`str_predicate`], so the results are identical by construction (a test
//! compares both on every predicate).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, BooleanBuilder, StringArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use memchr::memmem;

use super::text::{str_predicate, StrPred};

/// `kql_<pred>[_cs](text, needle)`, vectorised for a constant needle.
pub(crate) fn str_pred_udf(kind: StrPred, cs: bool) -> ScalarUDF {
    ScalarUDF::new_from_impl(StrPredUdf {
        name: format!("kql_{kind:?}{}", if cs { "_cs" } else { "" }).to_lowercase(),
        sig: Signature::variadic_any(Volatility::Immutable),
        kind,
        cs,
    })
}

/// Equal when the name is (the name encodes the predicate and the case mode).
#[derive(Debug)]
struct StrPredUdf {
    name: String,
    sig: Signature,
    kind: StrPred,
    cs: bool,
}

/// The text of a string scalar (Kusto strings are never null: null reads as "").
fn scalar_text(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            Some(s.as_deref().unwrap_or(""))
        }
        _ => None,
    }
}

impl PartialEq for StrPredUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for StrPredUdf {}

impl std::hash::Hash for StrPredUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for StrPredUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.sig
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [hay, needle] = args.args.as_slice() else {
            return Err(datafusion::error::DataFusionError::Internal(format!(
                "{} takes two arguments",
                self.name
            )));
        };
        match (hay, needle) {
            (ColumnarValue::Scalar(h), ColumnarValue::Scalar(n)) => {
                let (Some(h), Some(n)) = (scalar_text(h), scalar_text(n)) else {
                    return slow(self.kind, self.cs, hay, needle, args.number_rows);
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(
                    str_predicate(self.kind, h, n, self.cs),
                ))))
            }
            (ColumnarValue::Array(a), ColumnarValue::Scalar(n))
                if a.data_type() == &DataType::Utf8 =>
            {
                let Some(n) = scalar_text(n) else {
                    return slow(self.kind, self.cs, hay, needle, args.number_rows);
                };
                let out = match_array(self.kind, self.cs, a.as_string::<i32>(), n);
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            _ => slow(self.kind, self.cs, hay, needle, args.number_rows),
        }
    }
}

/// The predicate over a string column and a constant needle: the fast path.
fn match_array(kind: StrPred, cs: bool, a: &StringArray, needle: &str) -> BooleanArray {
    let mut m = Matcher::new(kind, needle, cs);
    // One check of the whole value buffer spares the per-value ASCII test of the
    // case-insensitive fast path.
    let offsets = a.value_offsets();
    let (first, last) = (offsets[0] as usize, offsets[a.len()] as usize);
    m.all_ascii = a.value_data()[first..last].is_ascii();
    // Bits set 64 at a time; Kusto strings are never null, so neither is the answer.
    let bits = if a.null_count() == 0 {
        BooleanBuffer::collect_bool(a.len(), |i| m.matches(a.value(i)))
    } else {
        BooleanBuffer::collect_bool(a.len(), |i| {
            m.matches(if a.is_null(i) { "" } else { a.value(i) })
        })
    };
    BooleanArray::new(bits, None)
}

/// Row by row through [`str_predicate`], for shapes the fast path does not cover.
fn slow(
    kind: StrPred,
    cs: bool,
    hay: &ColumnarValue,
    needle: &ColumnarValue,
    n: usize,
) -> DfResult<ColumnarValue> {
    let h = hay.to_array(n)?;
    let nd = needle.to_array(n)?;
    let h = arrow::compute::cast(&h, &DataType::Utf8)?;
    let nd = arrow::compute::cast(&nd, &DataType::Utf8)?;
    let (h, nd) = (h.as_string::<i32>(), nd.as_string::<i32>());
    fn text(a: &arrow::array::StringArray, i: usize) -> &str {
        if a.is_null(i) {
            ""
        } else {
            a.value(i)
        }
    }
    let mut b = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        b.append_value(str_predicate(kind, text(h, i), text(nd, i), cs));
    }
    Ok(ColumnarValue::Array(Arc::new(b.finish())))
}

/// A needle prepared for one predicate.
struct Matcher<'n> {
    kind: StrPred,
    cs: bool,
    needle: &'n str,
    /// Substring finder: for the needle as written (case-sensitive), or for its ASCII
    /// lower-case form, searched in the lower-cased text (case-insensitive, ASCII needle).
    finder: Option<memmem::Finder<'static>>,
    /// Reused buffer for the lower-cased text.
    lowered: Vec<u8>,
    /// Every text this matcher will see is known to be ASCII (checked by the caller).
    all_ascii: bool,
    first_term: bool,
    last_term: bool,
}

impl<'n> Matcher<'n> {
    fn new(kind: StrPred, needle: &'n str, cs: bool) -> Matcher<'n> {
        let finder = if cs {
            Some(memmem::Finder::new(needle.as_bytes()).into_owned())
        } else if needle.is_ascii() && !needle.is_empty() {
            Some(memmem::Finder::new(needle.to_ascii_lowercase().as_bytes()).into_owned())
        } else {
            None
        };
        Matcher {
            kind,
            cs,
            needle,
            finder,
            lowered: Vec::new(),
            all_ascii: false,
            first_term: needle
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric()),
            last_term: needle
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric()),
        }
    }

    fn matches(&mut self, hay: &str) -> bool {
        // Fast path: case-sensitive (byte positions are exact for any UTF-8), or ASCII on both
        // sides with a prepared case-insensitive finder. Everything else: the reference.
        let Some(finder) = self.finder.as_ref() else {
            return str_predicate(self.kind, hay, self.needle, self.cs);
        };
        if !self.cs && !self.all_ascii && !hay.is_ascii() {
            return str_predicate(self.kind, hay, self.needle, self.cs);
        }
        let (h, n) = (hay.as_bytes(), self.needle.as_bytes());
        // The text substring searches run on: as written, or lower-cased (same length, so
        // positions carry over).
        let text: &[u8] = if self.cs {
            h
        } else if matches!(
            self.kind,
            StrPred::Contains | StrPred::Has | StrPred::HasPrefix | StrPred::HasSuffix
        ) {
            self.lowered.clear();
            self.lowered.extend(h.iter().map(u8::to_ascii_lowercase));
            &self.lowered
        } else {
            h
        };
        match self.kind {
            StrPred::Equals => {
                if self.cs {
                    h == n
                } else {
                    h.eq_ignore_ascii_case(n)
                }
            }
            StrPred::Contains => n.is_empty() || finder.find(text).is_some(),
            StrPred::StartsWith => {
                h.len() >= n.len()
                    && if self.cs {
                        h.starts_with(n)
                    } else {
                        h[..n.len()].eq_ignore_ascii_case(n)
                    }
            }
            StrPred::EndsWith => {
                h.len() >= n.len()
                    && if self.cs {
                        h.ends_with(n)
                    } else {
                        h[h.len() - n.len()..].eq_ignore_ascii_case(n)
                    }
            }
            StrPred::Has | StrPred::HasPrefix | StrPred::HasSuffix => {
                if n.is_empty() {
                    return true;
                }
                // Term boundaries are checked on bytes, so non-ASCII text goes to the reference.
                // Case-insensitive matching got here only with ASCII on both sides (checked
                // above), so only the case-sensitive path still needs the scan.
                if self.cs && (!self.needle.is_ascii() || !hay.is_ascii()) {
                    return str_predicate(self.kind, hay, self.needle, self.cs);
                }
                let check_start = self.kind != StrPred::HasSuffix && self.first_term;
                let check_end = self.kind != StrPred::HasPrefix && self.last_term;
                let mut from = 0;
                while let Some(p) = text.get(from..).and_then(|t| finder.find(t)) {
                    let pos = from + p;
                    let before_ok = !check_start || pos == 0 || !h[pos - 1].is_ascii_alphanumeric();
                    let end = pos + n.len();
                    let after_ok = !check_end || end >= h.len() || !h[end].is_ascii_alphanumeric();
                    if before_ok && after_ok {
                        return true;
                    }
                    from = pos + 1;
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [StrPred; 7] = [
        StrPred::Equals,
        StrPred::Has,
        StrPred::HasPrefix,
        StrPred::HasSuffix,
        StrPred::Contains,
        StrPred::StartsWith,
        StrPred::EndsWith,
    ];

    /// The fast path agrees with the reference on every predicate, case mode and a set of
    /// tricky texts (boundaries, repeats, overlaps, case, non-ASCII, empty strings).
    #[test]
    fn fast_path_matches_the_reference() {
        let hays = [
            "",
            "cmd.exe /c whoami",
            "C:\\Windows\\System32\\CMD.EXE",
            "cmdline",
            "xcmd cmd",
            "aaa",
            "a a a",
            "powershell -enc AAAA",
            "PowerShell.exe",
            "vssadmin delete shadows /all",
            "shadowsx shadows",
            "Ünïcödé cmd Straße",
            "\u{212A}elvin",
            "ab-ab-ab",
            "-enc",
        ];
        let needles = [
            "",
            "cmd",
            "CMD",
            "cmd.exe",
            "a",
            "aa",
            "a a",
            "-enc",
            "enc",
            "shadows",
            "exe",
            "powershell",
            "ab-ab",
            "ü",
            "kelvin",
            "strasse",
            "straße",
            " ",
        ];
        for kind in KINDS {
            for cs in [false, true] {
                for n in needles {
                    let mut m = Matcher::new(kind, n, cs);
                    for h in hays {
                        assert_eq!(
                            m.matches(h),
                            str_predicate(kind, h, n, cs),
                            "{kind:?} cs={cs} hay={h:?} needle={n:?}"
                        );
                    }
                }
            }
        }
    }

    /// Whole columns agree with the reference too: all-ASCII ones (the buffer checked once),
    /// mixed ones, sliced ones (offsets not starting at 0) and ones with nulls (read as "").
    #[test]
    fn array_path_matches_the_reference() {
        let ascii: Vec<Option<&str>> = vec![
            Some("cmd.exe /c whoami"),
            Some("CMD.EXE"),
            Some(""),
            Some("a a a"),
            Some("powershell -enc AAAA"),
        ];
        let mut mixed = ascii.clone();
        mixed.extend([Some("\u{212A}elvin"), None, Some("Straße cmd"), Some("ünï")]);
        let mixed_array = StringArray::from(mixed.clone());
        let columns = [
            (StringArray::from(ascii.clone()), ascii.clone()),
            (mixed_array.clone(), mixed.clone()),
            // The ASCII head of the mixed column: its buffer holds non-ASCII after it.
            (mixed_array.slice(0, 5), mixed[..5].to_vec()),
            // Its non-ASCII tail, with the null: offsets not starting at 0.
            (mixed_array.slice(5, 4), mixed[5..].to_vec()),
        ];
        for (array, values) in &columns {
            for kind in KINDS {
                for cs in [false, true] {
                    for n in ["", "cmd", "CMD.exe", "kelvin", "straße", "a a", "enc"] {
                        let got = match_array(kind, cs, array, n);
                        assert_eq!(got.null_count(), 0);
                        let got: Vec<bool> = got.iter().map(|b| b == Some(true)).collect();
                        let want: Vec<bool> = values
                            .iter()
                            .map(|h| str_predicate(kind, h.unwrap_or(""), n, cs))
                            .collect();
                        assert_eq!(got, want, "{kind:?} cs={cs} needle={n:?} {values:?}");
                    }
                }
            }
        }
    }
}
