//! The OData subset of `GET /api/incidents`: `$filter` (a small real parser), `$top`,
//! `$skip`.
//!
//! Filter grammar (operators are lower case; property names match case-insensitively):
//!
//! ```text
//! expr       := and_expr ( "or" and_expr )*
//! and_expr   := primary ( "and" primary )*
//! primary    := "(" expr ")" | comparison
//! comparison := property op literal
//! property   := lastUpdateTime | createdTime | status | assignedTo
//! op         := eq | ne | gt | ge | lt | le
//! literal    := 'string' ('' escapes a quote) | DateTimeOffset (unquoted) | null
//! ```
//!
//! DateTimeOffset literals are ISO-8601 (`2021-01-26T01:00:37.8404534Z`, any number of
//! fractional digits, `Z` or `±hh:mm`, no zone = UTC, or a bare date). Because form
//! decoding turns an unencoded `+` into a space, `…T10:00:00 02:00` is read as `+02:00`.

use crate::model::{Classification, Determination, IncidentStatus, Severity};
use palisade_store::{FilterOp, FilterValue, IncidentField, IncidentFilter};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Default and maximum `$top`.
pub const MAX_TOP: i64 = 100;
const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;
const MAX_COMPARISONS: usize = 64;

/// A malformed OData query; the text is the detail of `Invalid OData URI query <detail>.`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ODataError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ODataError> {
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Str(String),
    Time(OffsetDateTime),
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Time(_) => "a date-time literal".into(),
    }
}

fn lex(input: &str) -> Result<Vec<(usize, Tok)>, ODataError> {
    let chars: Vec<char> = input.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            toks.push((i, Tok::LParen));
            i += 1;
        } else if c == ')' {
            toks.push((i, Tok::RParen));
            i += 1;
        } else if c == '\'' {
            let start = i;
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return err(format!("- unterminated string literal at position {start}"))
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            toks.push((start, Tok::Str(s)));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], ':' | '.' | '-' | '+'))
            {
                i += 1;
            }
            let mut text: String = chars[start..i].iter().collect();
            // `+hh:mm` decoded to ` hh:mm` from an unencoded query string.
            if looks_zoneless(&text) {
                let tail: String = chars.iter().skip(i).take(7).collect();
                let b = tail.as_bytes();
                if b.len() >= 6
                    && b[0] == b' '
                    && b[1].is_ascii_digit()
                    && b[2].is_ascii_digit()
                    && b[3] == b':'
                    && b[4].is_ascii_digit()
                    && b[5].is_ascii_digit()
                    && (b.len() == 6 || b[6] == b' ' || b[6] == b')')
                {
                    text.push('+');
                    text.push_str(&tail[1..6]);
                    i += 6;
                }
            }
            match parse_datetime(&text) {
                Some(t) => toks.push((start, Tok::Time(t))),
                None => {
                    return err(format!(
                        "- '{text}' at position {start} is not a valid DateTimeOffset literal"
                    ))
                }
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.' | '/'))
            {
                i += 1;
            }
            toks.push((start, Tok::Word(chars[start..i].iter().collect())));
        } else {
            return err(format!("- unexpected character '{c}' at position {i}"));
        }
    }
    Ok(toks)
}

fn looks_zoneless(text: &str) -> bool {
    match text.split_once(['T', 't']) {
        Some((_, time)) => !time.ends_with(['Z', 'z']) && !time.contains(['+', '-']),
        None => false,
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses an ISO-8601 date-time (see the module docs). Returns UTC.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let (date_part, rest) = match s.find(['T', 't']) {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let mut dp = date_part.split('-');
    let year = digits(dp.next()?, 4)?;
    let month = digits(dp.next()?, 2)?;
    let day = digits(dp.next()?, 2)?;
    if dp.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let Some(rest) = rest else {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    };
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, UtcOffset::UTC)
    } else if let Some(p) = rest.find(['+', '-']) {
        let (c, o) = rest.split_at(p);
        let sign: i8 = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':')?;
        let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
        let offset = UtcOffset::from_hms(
            sign * i8::try_from(oh).ok()?,
            sign * i8::try_from(om).ok()?,
            0,
        )
        .ok()?;
        (c, offset)
    } else {
        (rest, UtcOffset::UTC)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let hour = digits(tp.next()?, 2)?;
    let minute = digits(tp.next()?, 2)?;
    let second = match tp.next() {
        Some(s) => digits(s, 2)?,
        None => 0,
    };
    if tp.next().is_some() {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut padded: String = f.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

struct Parser {
    dialect: FilterDialect,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
    comparisons: usize,
}

/// Which API's property names and values a `$filter` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDialect {
    /// The Defender API's incidents: `lastUpdateTime`, `createdTime`, `status`,
    /// `assignedTo`.
    Defender,
    /// Graph incidents: `createdDateTime`, `lastUpdateDateTime`, `status`, `assignedTo`,
    /// `severity`, `classification`, `determination` (camelCase enum values).
    GraphIncidents,
    /// Graph `alerts_v2`: the incident fields plus `serviceSource`; `status` is an
    /// alertStatus (`new`, `inProgress`, `resolved`, `unknown`).
    GraphAlerts,
}

impl FilterDialect {
    fn field(self, property: &str) -> Option<IncidentField> {
        let p = property.to_ascii_lowercase();
        match (self, p.as_str()) {
            (FilterDialect::Defender, "lastupdatetime") => Some(IncidentField::LastUpdateTime),
            (FilterDialect::Defender, "createdtime") => Some(IncidentField::CreatedTime),
            (FilterDialect::Defender, "status") => Some(IncidentField::Status),
            (FilterDialect::Defender, "assignedto") => Some(IncidentField::AssignedTo),
            (FilterDialect::Defender, _) => None,
            (_, "lastupdatedatetime") => Some(IncidentField::LastUpdateTime),
            (_, "createddatetime") => Some(IncidentField::CreatedTime),
            (_, "status") => Some(IncidentField::Status),
            (_, "assignedto") => Some(IncidentField::AssignedTo),
            (_, "severity") => Some(IncidentField::Severity),
            (_, "classification") => Some(IncidentField::Classification),
            (_, "determination") => Some(IncidentField::Determination),
            (FilterDialect::GraphAlerts, "servicesource") => Some(IncidentField::ServiceSource),
            _ => None,
        }
    }

    fn filterable(self) -> &'static str {
        match self {
            FilterDialect::Defender => "lastUpdateTime, createdTime, status, assignedTo",
            FilterDialect::GraphIncidents => "assignedTo, classification, createdDateTime, determination, lastUpdateDateTime, severity, status",
            FilterDialect::GraphAlerts => "assignedTo, classification, createdDateTime, determination, lastUpdateDateTime, serviceSource, severity, status",
        }
    }

    /// An enum literal in its stored spelling, or the error detail.
    fn enum_value(self, field: IncidentField, s: &str) -> Result<String, String> {
        let bad =
            |allowed: String| format!("- '{s}' is not a valid value; valid values: {allowed}");
        match field {
            IncidentField::Status if self == FilterDialect::GraphAlerts => {
                crate::graph::wire::alert_status_from_graph(s)
                    .map(str::to_string)
                    .ok_or_else(|| bad("unknown, new, inProgress, resolved".into()))
            }
            IncidentField::Status => IncidentStatus::parse(s)
                .filter(|_| {
                    self == FilterDialect::Defender || !s.eq_ignore_ascii_case("unknownFutureValue")
                })
                .map(|v| v.as_str().to_string())
                .ok_or_else(|| {
                    bad(if self == FilterDialect::Defender {
                        IncidentStatus::allowed()
                    } else {
                        "active, resolved, inProgress, redirected".into()
                    })
                }),
            IncidentField::Severity => Severity::parse(s)
                .map(|v| v.as_str().to_string())
                .ok_or_else(|| bad("unknown, informational, low, medium, high".into())),
            IncidentField::Classification => Classification::parse(s)
                .map(|v| v.as_str().to_string())
                .ok_or_else(|| {
                    bad(
                        "unknown, falsePositive, truePositive, informationalExpectedActivity"
                            .into(),
                    )
                }),
            IncidentField::Determination => Determination::parse(s)
                .map(|v| v.as_str().to_string())
                .ok_or_else(|| bad(crate::graph::wire::DETERMINATIONS.join(", "))),
            IncidentField::ServiceSource => crate::graph::wire::service_source_from_graph(s)
                .map(str::to_string)
                .ok_or_else(|| bad(crate::graph::wire::SERVICE_SOURCES.join(", "))),
            _ => Ok(s.to_string()),
        }
    }
}

/// Parses a `$filter` expression into the store's typed filter.
pub fn parse_filter(input: &str) -> Result<IncidentFilter, ODataError> {
    parse_filter_in(FilterDialect::Defender, input)
}

/// Parses a `$filter` expression of `dialect`.
pub fn parse_filter_in(dialect: FilterDialect, input: &str) -> Result<IncidentFilter, ODataError> {
    if input.len() > MAX_FILTER_LEN {
        return err(format!(
            "- $filter is longer than {MAX_FILTER_LEN} characters"
        ));
    }
    let toks = lex(input)?;
    if toks.is_empty() {
        return err("- $filter is empty");
    }
    let mut p = Parser {
        dialect,
        toks,
        pos: 0,
        depth: 0,
        comparisons: 0,
    };
    let f = p.expr()?;
    if let Some((at, t)) = p.toks.get(p.pos) {
        return err(format!(
            "- unexpected {} at position {at} in $filter",
            describe(t)
        ));
    }
    Ok(f)
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some((_, Tok::Word(x))) if x == w)
    }

    fn expr(&mut self) -> Result<IncidentFilter, ODataError> {
        let mut left = self.and_expr()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = IncidentFilter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<IncidentFilter, ODataError> {
        let mut left = self.primary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.primary()?;
            left = IncidentFilter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<IncidentFilter, ODataError> {
        match self.toks.get(self.pos).cloned() {
            Some((_, Tok::LParen)) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return err(format!(
                        "- $filter nests parentheses deeper than {MAX_DEPTH}"
                    ));
                }
                self.pos += 1;
                let inner = self.expr()?;
                match self.toks.get(self.pos) {
                    Some((_, Tok::RParen)) => {
                        self.pos += 1;
                        self.depth -= 1;
                        Ok(inner)
                    }
                    Some((at, t)) => err(format!(
                        "- expected ')' at position {at} but found {}",
                        describe(t)
                    )),
                    None => err("- missing ')' at end of $filter"),
                }
            }
            Some((_, Tok::Word(w))) if w == "not" => err("- the 'not' operator is not supported"),
            Some((at, Tok::Word(w))) => {
                self.pos += 1;
                self.comparison(at, &w)
            }
            Some((at, t)) => err(format!(
                "- expected a property name at position {at} but found {}",
                describe(&t)
            )),
            None => err("- $filter ends where a comparison was expected"),
        }
    }

    fn comparison(&mut self, at: usize, property: &str) -> Result<IncidentFilter, ODataError> {
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return err(format!(
                "- $filter has more than {MAX_COMPARISONS} comparisons"
            ));
        }
        let Some(field) = self.dialect.field(property) else {
            return err(format!(
                "- property '{property}' at position {at} cannot be filtered on; filterable properties: {}",
                self.dialect.filterable()
            ));
        };
        let op = match self.toks.get(self.pos) {
            Some((_, Tok::Word(w))) => match w.as_str() {
                "eq" => FilterOp::Eq,
                "ne" => FilterOp::Ne,
                "gt" => FilterOp::Gt,
                "ge" => FilterOp::Ge,
                "lt" => FilterOp::Lt,
                "le" => FilterOp::Le,
                other => {
                    return err(format!(
                        "- unknown operator '{other}' after '{property}'; supported: eq, ne, gt, ge, lt, le"
                    ))
                }
            },
            Some((opos, t)) => return err(format!("- expected an operator at position {opos} but found {}", describe(t))),
            None => return err(format!("- '{property}' is not followed by an operator")),
        };
        self.pos += 1;
        let (lat, lit) = match self.toks.get(self.pos).cloned() {
            Some(x) => x,
            None => return err(format!("- '{property}' comparison has no value")),
        };
        self.pos += 1;
        let value = match (field, lit) {
            (IncidentField::LastUpdateTime | IncidentField::CreatedTime, Tok::Time(t)) => {
                FilterValue::Time(t)
            }
            (IncidentField::LastUpdateTime | IncidentField::CreatedTime, Tok::Str(s)) => {
                match parse_datetime(&s) {
                    Some(t) => FilterValue::Time(t),
                    None => {
                        return err(format!(
                        "- '{s}' at position {lat} is not a valid DateTimeOffset for {property}"
                    ))
                    }
                }
            }
            (IncidentField::Status, Tok::Str(s)) if self.dialect == FilterDialect::Defender => {
                match IncidentStatus::parse(&s) {
                    Some(st) => FilterValue::Text(st.as_str().to_string()),
                    None => {
                        return err(format!(
                            "- '{s}' is not a valid status; valid values: {}",
                            IncidentStatus::allowed()
                        ))
                    }
                }
            }
            (
                IncidentField::Status
                | IncidentField::Severity
                | IncidentField::Classification
                | IncidentField::Determination
                | IncidentField::ServiceSource,
                Tok::Str(s),
            ) => FilterValue::Text(self.dialect.enum_value(field, &s).map_err(ODataError)?),
            (IncidentField::AssignedTo, Tok::Str(s)) => FilterValue::Text(s),
            (IncidentField::AssignedTo, Tok::Word(w)) if w == "null" => {
                if !matches!(op, FilterOp::Eq | FilterOp::Ne) {
                    return err(format!(
                        "- null can only be compared with eq or ne (position {lat})"
                    ));
                }
                FilterValue::Null
            }
            (_, t) => {
                return err(format!(
                    "- {} at position {lat} is not a valid value for {property}",
                    describe(&t)
                ))
            }
        };
        Ok(IncidentFilter::Compare { field, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn cmp(field: IncidentField, op: FilterOp, value: FilterValue) -> IncidentFilter {
        IncidentFilter::Compare { field, op, value }
    }

    fn and(a: IncidentFilter, b: IncidentFilter) -> IncidentFilter {
        IncidentFilter::And(Box::new(a), Box::new(b))
    }

    fn or(a: IncidentFilter, b: IncidentFilter) -> IncidentFilter {
        IncidentFilter::Or(Box::new(a), Box::new(b))
    }

    fn t(v: &str) -> FilterValue {
        FilterValue::Text(v.into())
    }

    #[test]
    fn docs_hello_world_raw_query() {
        let q = parse_list_query(Some(
            "$filter=lastUpdateTime+ge+2021-01-26T01:00:37.8404534Z",
        ))
        .expect("parse");
        assert_eq!(
            q.filter,
            Some(cmp(
                IncidentField::LastUpdateTime,
                FilterOp::Ge,
                FilterValue::Time(datetime!(2021-01-26 01:00:37.8404534 UTC))
            ))
        );
        assert_eq!((q.top, q.skip), (100, 0));
    }

    #[test]
    fn percent_encoded_query() {
        let q = parse_list_query(Some(
            "%24filter=status%20eq%20%27Active%27&%24top=10&%24skip=20",
        ))
        .expect("parse");
        assert_eq!(
            q.filter,
            Some(cmp(IncidentField::Status, FilterOp::Eq, t("Active")))
        );
        assert_eq!((q.top, q.skip), (10, 20));
    }

    #[test]
    fn every_operator() {
        for (s, op) in [
            ("eq", FilterOp::Eq),
            ("ne", FilterOp::Ne),
            ("gt", FilterOp::Gt),
            ("ge", FilterOp::Ge),
            ("lt", FilterOp::Lt),
            ("le", FilterOp::Le),
        ] {
            let f = parse_filter(&format!("createdTime {s} 2021-01-01T00:00:00Z")).expect("parse");
            assert_eq!(
                f,
                cmp(
                    IncidentField::CreatedTime,
                    op,
                    FilterValue::Time(datetime!(2021-01-01 0:00 UTC))
                )
            );
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses() {
        let a = cmp(IncidentField::Status, FilterOp::Eq, t("Active"));
        let b = cmp(IncidentField::Status, FilterOp::Eq, t("Resolved"));
        let c = cmp(
            IncidentField::AssignedTo,
            FilterOp::Eq,
            t("bob@contoso.com"),
        );
        let f = parse_filter(
            "status eq 'Active' or status eq 'Resolved' and assignedTo eq 'bob@contoso.com'",
        )
        .expect("parse");
        assert_eq!(f, or(a.clone(), and(b.clone(), c.clone())));
        let f = parse_filter(
            "(status eq 'Active' or status eq 'Resolved') and assignedTo eq 'bob@contoso.com'",
        )
        .expect("parse");
        assert_eq!(f, and(or(a.clone(), b.clone()), c.clone()));
        let f = parse_filter("((status eq 'active'))").expect("parse");
        assert_eq!(f, a);
    }

    #[test]
    fn literals() {
        // Status values are canonicalised; other spellings of properties are accepted.
        assert_eq!(
            parse_filter("Status eq 'inprogress'").expect("p"),
            cmp(IncidentField::Status, FilterOp::Eq, t("InProgress"))
        );
        assert_eq!(
            parse_filter("assignedTo eq 'O''Brien'").expect("p"),
            cmp(IncidentField::AssignedTo, FilterOp::Eq, t("O'Brien"))
        );
        assert_eq!(
            parse_filter("assignedTo eq null").expect("p"),
            cmp(IncidentField::AssignedTo, FilterOp::Eq, FilterValue::Null)
        );
        assert_eq!(
            parse_filter("assignedTo ne null").expect("p"),
            cmp(IncidentField::AssignedTo, FilterOp::Ne, FilterValue::Null)
        );
        // Quoted, offset, fractional and bare-date timestamps.
        let when = |s: &str| match parse_filter(&format!("lastUpdateTime gt {s}")).expect("p") {
            IncidentFilter::Compare {
                value: FilterValue::Time(t),
                ..
            } => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            when("'2021-01-26T01:00:37Z'"),
            datetime!(2021-01-26 01:00:37 UTC)
        );
        assert_eq!(
            when("2021-01-26T03:00:37.5+02:00"),
            datetime!(2021-01-26 01:00:37.5 UTC)
        );
        assert_eq!(
            when("2021-01-26T03:00:37-01:30"),
            datetime!(2021-01-26 04:30:37 UTC)
        );
        assert_eq!(when("2021-01-26"), datetime!(2021-01-26 0:00 UTC));
        assert_eq!(when("2021-01-26T01:00"), datetime!(2021-01-26 01:00 UTC));
        assert_eq!(
            when("2021-01-26T01:00:00.123456789123Z"),
            datetime!(2021-01-26 01:00:00.123456789 UTC)
        );
    }

    #[test]
    fn plus_offset_decoded_as_space() {
        let q = parse_list_query(Some(
            "$filter=createdTime+ge+2021-01-26T03:00:00+02:00+and+status+eq+'Active'",
        ))
        .expect("parse");
        assert_eq!(
            q.filter,
            Some(and(
                cmp(
                    IncidentField::CreatedTime,
                    FilterOp::Ge,
                    FilterValue::Time(datetime!(2021-01-26 01:00 UTC))
                ),
                cmp(IncidentField::Status, FilterOp::Eq, t("Active")),
            ))
        );
    }

    #[test]
    fn bad_filters() {
        for (bad, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("severity eq 'High'", "cannot be filtered"),
            ("status eq 'Closed'", "not a valid status"),
            ("status equals 'Active'", "unknown operator"),
            ("status 'Active'", "expected an operator"),
            ("status", "not followed by an operator"),
            ("status eq", "no value"),
            ("status eq 'Active", "unterminated"),
            ("(status eq 'Active'", "missing ')'"),
            ("status eq 'Active')", "unexpected ')'"),
            ("status eq 'Active' and", "ends where"),
            (
                "status eq 'Active' status eq 'Resolved'",
                "unexpected 'status'",
            ),
            (
                "lastUpdateTime ge 2021-13-01T00:00:00Z",
                "not a valid DateTimeOffset",
            ),
            (
                "lastUpdateTime ge 2021-01-01T25:00:00Z",
                "not a valid DateTimeOffset",
            ),
            ("lastUpdateTime ge 12345", "not a valid DateTimeOffset"),
            (
                "lastUpdateTime ge 'yesterday'",
                "not a valid DateTimeOffset",
            ),
            ("lastUpdateTime eq null", "not a valid value"),
            ("status eq 2021-01-01T00:00:00Z", "not a valid value"),
            ("assignedTo gt null", "null can only"),
            ("assignedTo eq bob", "not a valid value"),
            ("not status eq 'Active'", "'not' operator"),
            ("status eq 'Active' & x", "unexpected character"),
            (
                "status eq 'Active' AND status eq 'Resolved'",
                "unexpected 'AND'",
            ),
            ("(status eq 'Active') eq 'x'", "unexpected 'eq'"),
            ("() ", "expected a property name"),
        ] {
            let e = parse_filter(bad).expect_err(bad);
            assert!(e.0.contains(needle), "{bad:?}: {}", e.0);
        }
        let deep = format!("{}status eq 'Active'{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_filter(&deep).expect_err("deep").0.contains("deeper"));
        let many = vec!["status eq 'Active'"; 70].join(" or ");
        assert!(parse_filter(&many)
            .expect_err("many")
            .0
            .contains("more than"));
    }

    #[test]
    fn bad_query_options() {
        for (bad, needle) in [
            ("$top=101", "exceeds the maximum"),
            ("$top=-1", "non-negative"),
            ("$top=abc", "non-negative"),
            ("$skip=", "non-negative"),
            ("$skip=99999999999999999999", "too large"),
            ("$orderby=createdTime", "not supported"),
            ("$top=1&$top=2", "more than once"),
            ("$filter=status%2", "percent"),
            ("$filter=status+eq+'x'", "not a valid status"),
        ] {
            let e = parse_list_query(Some(bad)).expect_err(bad);
            assert!(e.0.contains(needle), "{bad:?}: {}", e.0);
        }
        // Unknown non-$ parameters are ignored; $top=0 and 100 are fine.
        assert_eq!(
            parse_list_query(Some("api-version=1&$top=0"))
                .expect("ok")
                .top,
            0
        );
        assert_eq!(parse_list_query(Some("$top=100")).expect("ok").top, 100);
        assert_eq!(parse_list_query(None).expect("ok").top, 100);
    }
}
