//! The OData subset of `GET /api/incidents` (and of Graph's security collections):
//! `$filter` (a small real parser), `$top`, `$skip`.
//!
//! Filter grammar (operators are lower case; property names match case-insensitively):
//!
//! ```text
//! expr       := and_expr ( "or" and_expr )*
//! and_expr   := primary ( "and" primary )*
//! primary    := "(" expr ")" | "not" primary | comparison    ("not": Graph dialects only)
//! comparison := property op literal
//! property   := lastUpdateTime | createdTime | status | assignedTo
//! op         := eq | ne | gt | ge | lt | le
//! literal    := 'string' ('' escapes a quote) | DateTimeOffset (unquoted) | null
//! ```
//!
//! DateTimeOffset literals are ISO-8601 (`2021-01-26T01:00:37.8404534Z`, any number of
//! fractional digits, `Z` or `±hh:mm`, no zone = UTC, or a bare date). Because form
//! decoding turns an unencoded `+` into a space, `…T10:00:00 02:00` is read as `+02:00`.
//!
//! Graph's dialects (`graph/query.rs`) name Graph's properties and camelCase enum values.
//! The parts: this module (query options, errors), `filter.rs` (the `$filter` lexer,
//! parser and the dialects of the Defender API and Graph), `datetime.rs` (the
//! DateTimeOffset literal).

mod datetime;
mod filter;
#[cfg(test)]
mod tests;

pub use datetime::parse_datetime;
pub use filter::{parse_filter, parse_filter_in, FilterDialect};
use palisade_store::IncidentFilter;

/// Default and maximum `$top`.
pub const MAX_TOP: i64 = 100;

/// A malformed OData query; the text is the detail of `Invalid OData URI query <detail>.`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ODataError(pub String);

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ODataError> {
    Err(ODataError(msg.into()))
}

/// The parsed query options of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// `$filter`.
    pub filter: Option<IncidentFilter>,
    /// `$top` (default and maximum 100).
    pub top: i64,
    /// `$skip` (default 0).
    pub skip: i64,
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn form_decode(s: &str) -> Result<String, ODataError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => out.push(b),
                    None => return err("- malformed percent-encoding"),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).or_else(|_| err("- query is not UTF-8"))
}

/// Splits a raw query string into decoded `(name, value)` pairs, keeping each pair's raw
/// text (for rebuilding links).
pub fn split_query(raw: &str) -> Result<Vec<(String, String, &str)>, ODataError> {
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((form_decode(k)?, form_decode(v)?, part));
    }
    Ok(out)
}

/// Parses the query string of `GET /api/incidents`.
pub fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, ODataError> {
    let mut q = ListQuery {
        filter: None,
        top: MAX_TOP,
        skip: 0,
    };
    let (mut seen_filter, mut seen_top, mut seen_skip) = (false, false, false);
    for (name, value, _) in split_query(raw.unwrap_or(""))? {
        let dup = |seen: &mut bool| {
            if std::mem::replace(seen, true) {
                err(format!("- query option {name} is specified more than once"))
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "$filter" => {
                dup(&mut seen_filter)?;
                q.filter = Some(parse_filter(&value)?);
            }
            "$top" => {
                dup(&mut seen_top)?;
                let top = parse_count("$top", &value)?;
                if top > MAX_TOP {
                    return err(format!(
                        "- $top value {top} exceeds the maximum page size of {MAX_TOP}"
                    ));
                }
                q.top = top;
            }
            "$skip" => {
                dup(&mut seen_skip)?;
                q.skip = parse_count("$skip", &value)?;
            }
            other if other.starts_with('$') => {
                return err(format!(
                    "- query option {other} is not supported; supported: $filter, $top, $skip"
                ));
            }
            _ => {}
        }
    }
    Ok(q)
}

fn parse_count(name: &str, value: &str) -> Result<i64, ODataError> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!(
            "- {name} must be a non-negative integer, got '{value}'"
        ));
    }
    v.parse::<i64>()
        .or_else(|_| err(format!("- {name} value '{value}' is too large")))
}
