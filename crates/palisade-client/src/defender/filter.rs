//! OData `$filter` building for `GET /api/incidents`, and the list query.
//!
//! ```
//! use palisade_client::{IncidentFilter, IncidentStatus};
//! use time::macros::datetime;
//! let f = IncidentFilter::last_update_time_ge(datetime!(2021-01-26 01:00:37.8404534 UTC))
//!     .and(IncidentFilter::status_eq(IncidentStatus::Active)
//!         .or(IncidentFilter::status_eq(IncidentStatus::InProgress)));
//! assert_eq!(f.to_string(),
//!     "lastUpdateTime ge 2021-01-26T01:00:37.8404534Z and (status eq 'Active' or status eq 'InProgress')");
//! ```

use std::fmt;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::defender::models::IncidentStatus;

/// OData comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A literal on the right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterValue {
    /// A string, rendered quoted with `'` doubled.
    String(String),
    /// A DateTimeOffset, rendered unquoted in UTC with 7 fractional digits
    /// (`2021-01-26T01:00:37.8404534Z`, like .NET's `ToString("o")`).
    DateTime(OffsetDateTime),
    /// An integer.
    Int(i64),
    /// `null`.
    Null,
}

const ODATA_DATETIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");

/// Formats a time as an OData DateTimeOffset literal in UTC with 7 fractional digits.
pub fn odata_datetime(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(ODATA_DATETIME)
        // Only years outside 0..=9999 fail to format; fall back to RFC 3339.
        .unwrap_or_else(|_| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        })
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            FilterValue::DateTime(t) => f.write_str(&odata_datetime(*t)),
            FilterValue::Int(n) => write!(f, "{n}"),
            FilterValue::Null => f.write_str("null"),
        }
    }
}

/// An OData filter expression over incident properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentFilter {
    /// `property op value`.
    Compare {
        /// Property name (`lastUpdateTime`, `createdTime`, `status`, `assignedTo`, …).
        property: String,
        /// Operator.
        op: CompareOp,
        /// Right-hand side.
        value: FilterValue,
    },
    /// All must hold.
    And(Vec<IncidentFilter>),
    /// Any must hold.
    Or(Vec<IncidentFilter>),
    /// Negation.
    Not(Box<IncidentFilter>),
    /// A filter string sent as is.
    Raw(String),
}

macro_rules! time_filters {
    ($( $fn:ident, $prop:literal, $op:ident; )+) => {
        $(
            #[doc = concat!("`", $prop, " ", stringify!($op), " <time>`.")]
            pub fn $fn(t: OffsetDateTime) -> Self {
                Self::compare($prop, CompareOp::$op, FilterValue::DateTime(t))
            }
        )+
    };
}

impl IncidentFilter {
    /// `property op value`.
    pub fn compare(property: impl Into<String>, op: CompareOp, value: FilterValue) -> Self {
        IncidentFilter::Compare {
            property: property.into(),
            op,
            value,
        }
    }

    /// A raw filter string (e.g. `"status eq 'Active'"`), parenthesised when combined.
    pub fn raw(filter: impl Into<String>) -> Self {
        IncidentFilter::Raw(filter.into())
    }

    time_filters! {
        last_update_time_ge, "lastUpdateTime", Ge;
        last_update_time_gt, "lastUpdateTime", Gt;
        last_update_time_le, "lastUpdateTime", Le;
        last_update_time_lt, "lastUpdateTime", Lt;
        created_time_ge, "createdTime", Ge;
        created_time_gt, "createdTime", Gt;
        created_time_le, "createdTime", Le;
        created_time_lt, "createdTime", Lt;
    }

    /// `status eq '<status>'`.
    pub fn status_eq(status: IncidentStatus) -> Self {
        Self::compare(
            "status",
            CompareOp::Eq,
            FilterValue::String(status.as_str().to_string()),
        )
    }

    /// `status ne '<status>'`.
    pub fn status_ne(status: IncidentStatus) -> Self {
        Self::compare(
            "status",
            CompareOp::Ne,
            FilterValue::String(status.as_str().to_string()),
        )
    }

    /// `assignedTo eq '<owner>'`.
    pub fn assigned_to_eq(owner: impl Into<String>) -> Self {
        Self::compare(
            "assignedTo",
            CompareOp::Eq,
            FilterValue::String(owner.into()),
        )
    }

    /// `assignedTo ne '<owner>'`.
    pub fn assigned_to_ne(owner: impl Into<String>) -> Self {
        Self::compare(
            "assignedTo",
            CompareOp::Ne,
            FilterValue::String(owner.into()),
        )
    }

    /// `self and other` (flattens nested `and`s).
    pub fn and(self, other: IncidentFilter) -> Self {
        let mut parts = match self {
            IncidentFilter::And(v) => v,
            f => vec![f],
        };
        match other {
            IncidentFilter::And(v) => parts.extend(v),
            f => parts.push(f),
        }
        IncidentFilter::And(parts)
    }

    /// `self or other` (flattens nested `or`s).
    pub fn or(self, other: IncidentFilter) -> Self {
        let mut parts = match self {
            IncidentFilter::Or(v) => v,
            f => vec![f],
        };
        match other {
            IncidentFilter::Or(v) => parts.extend(v),
            f => parts.push(f),
        }
        IncidentFilter::Or(parts)
    }

    /// `not (self)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        IncidentFilter::Not(Box::new(self))
    }

    fn is_atomic(&self) -> bool {
        match self {
            IncidentFilter::Compare { .. } | IncidentFilter::Not(_) => true,
            IncidentFilter::And(v) | IncidentFilter::Or(v) => {
                v.len() == 1 && v.first().is_some_and(IncidentFilter::is_atomic)
            }
            IncidentFilter::Raw(_) => false,
        }
    }

    fn write_operand(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_atomic() {
            write!(f, "{self}")
        } else {
            write!(f, "({self})")
        }
    }
}

impl fmt::Display for IncidentFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentFilter::Compare {
                property,
                op,
                value,
            } => write!(f, "{property} {} {value}", op.as_str()),
            IncidentFilter::Raw(s) => f.write_str(s),
            IncidentFilter::Not(inner) => {
                f.write_str("not ")?;
                if matches!(**inner, IncidentFilter::Compare { .. }) {
                    write!(f, "({inner})")
                } else {
                    inner.write_operand(f)
                }
            }
            IncidentFilter::And(parts) | IncidentFilter::Or(parts) => {
                let sep = if matches!(self, IncidentFilter::And(_)) {
                    " and "
                } else {
                    " or "
                };
                if let [only] = parts.as_slice() {
                    return write!(f, "{only}");
                }
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    part.write_operand(f)?;
                }
                Ok(())
            }
        }
    }
}

impl From<&str> for IncidentFilter {
    fn from(s: &str) -> Self {
        IncidentFilter::raw(s)
    }
}

impl From<String> for IncidentFilter {
    fn from(s: String) -> Self {
        IncidentFilter::Raw(s)
    }
}

/// Maximum `$top` the incidents API accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Parameters of [`crate::DefenderClient::list_incidents`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentQuery {
    /// `$filter`, if any.
    pub filter: Option<IncidentFilter>,
    /// `$top` per page (1..=100, default 100).
    pub page_size: u32,
    /// Initial `$skip` (default 0).
    pub skip: u64,
    /// Stop after this many incidents (default: all).
    pub limit: Option<u64>,
}

impl Default for IncidentQuery {
    fn default() -> Self {
        Self {
            filter: None,
            page_size: MAX_PAGE_SIZE,
            skip: 0,
            limit: None,
        }
    }
}

impl IncidentQuery {
    /// All incidents, 100 per page.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `$filter`.
    pub fn filter(mut self, filter: impl Into<IncidentFilter>) -> Self {
        self.filter = Some(filter.into());
        self
    }
    /// Sets `$top`, clamped to 1..=100.
    pub fn page_size(mut self, top: u32) -> Self {
        self.page_size = top.clamp(1, MAX_PAGE_SIZE);
        self
    }
    /// Sets the initial `$skip`.
    pub fn skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }
    /// Stops the stream after `limit` incidents.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The query string (without `?`) for a page starting at `skip`.
    pub(crate) fn query_string(&self, skip: u64) -> String {
        let mut q = Vec::new();
        if let Some(filter) = &self.filter {
            q.push(format!(
                "$filter={}",
                crate::http::encode_query_value(&filter.to_string())
            ));
        }
        q.push(format!("$top={}", self.page_size.clamp(1, MAX_PAGE_SIZE)));
        if skip > 0 {
            q.push(format!("$skip={skip}"));
        }
        q.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn datetime_literal_has_seven_digits_utc() {
        assert_eq!(
            odata_datetime(datetime!(2021-01-26 01:00:37.8404534 UTC)),
            "2021-01-26T01:00:37.8404534Z"
        );
        assert_eq!(
            odata_datetime(datetime!(2021-01-01 02:00:00 +02:00)),
            "2021-01-01T00:00:00.0000000Z"
        );
    }

    #[test]
    fn simple_filters() {
        assert_eq!(
            IncidentFilter::last_update_time_ge(datetime!(2021-01-26 01:00:37.8404534 UTC))
                .to_string(),
            "lastUpdateTime ge 2021-01-26T01:00:37.8404534Z"
        );
        assert_eq!(
            IncidentFilter::status_eq(IncidentStatus::Active).to_string(),
            "status eq 'Active'"
        );
        assert_eq!(
            IncidentFilter::assigned_to_eq("o'brien@contoso.com").to_string(),
            "assignedTo eq 'o''brien@contoso.com'"
        );
        assert_eq!(
            IncidentFilter::created_time_lt(datetime!(2021-01-01 0:00 UTC)).to_string(),
            "createdTime lt 2021-01-01T00:00:00.0000000Z"
        );
    }

    #[test]
    fn combinators_parenthesise() {
        let t = datetime!(2021-01-01 0:00 UTC);
        let f = IncidentFilter::created_time_gt(t)
            .and(IncidentFilter::status_eq(IncidentStatus::Active))
            .and(IncidentFilter::assigned_to_eq("a").or(IncidentFilter::raw("assignedTo eq null")));
        assert_eq!(
            f.to_string(),
            "createdTime gt 2021-01-01T00:00:00.0000000Z and status eq 'Active' and (assignedTo eq 'a' or (assignedTo eq null))"
        );
        let g = IncidentFilter::status_eq(IncidentStatus::Resolved)
            .not()
            .or(IncidentFilter::status_eq(IncidentStatus::Active)
                .and(IncidentFilter::assigned_to_ne("b")));
        assert_eq!(
            g.to_string(),
            "not (status eq 'Resolved') or (status eq 'Active' and assignedTo ne 'b')"
        );
    }

    #[test]
    fn query_string() {
        let q = IncidentQuery::new()
            .filter("status eq 'Active'")
            .page_size(500);
        assert_eq!(q.page_size, 100);
        assert_eq!(
            q.query_string(200),
            "$filter=status%20eq%20%27Active%27&$top=100&$skip=200"
        );
        assert_eq!(IncidentQuery::new().page_size(0).query_string(0), "$top=1");
    }
}
