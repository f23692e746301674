//! The `$filter` language (grammar in the parent module's docs): a lexer, a recursive
//! descent parser with depth and size bounds, and the dialects (property names and enum
//! values) of the Defender API and of Graph's incidents and alerts.

use super::datetime::{looks_zoneless, parse_datetime};
use super::{err, ODataError};
use crate::model::{Classification, Determination, IncidentStatus, Severity};
use palisade_store::{FilterOp, FilterValue, IncidentField, IncidentFilter};
use time::OffsetDateTime;

const MAX_FILTER_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;
const MAX_COMPARISONS: usize = 64;

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
            Some((_, Tok::Word(w))) if w == "not" && self.dialect == FilterDialect::Defender => {
                err("- the 'not' operator is not supported")
            }
            Some((_, Tok::Word(w))) if w == "not" => {
                // Graph: `not` binds tighter than `and`/`or` and negates a parenthesised
                // expression or one comparison (OData 4.01 §5.1.1.3.1).
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return err(format!("- $filter nests deeper than {MAX_DEPTH}"));
                }
                let inner = self.primary()?;
                self.depth -= 1;
                Ok(IncidentFilter::Not(Box::new(inner)))
            }
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
