//! Typed filters and orders of incident lists (the store's form of OData `$filter` and
//! `$orderby`), compiled to SQL with bound values; over incident columns, or over the
//! alert documents inside an incident (Graph's alerts).

use crate::incident_time::format_incident_time;
use time::OffsetDateTime;

/// A filterable incident property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentField {
    /// `lastUpdateTime`.
    LastUpdateTime,
    /// `createdTime`.
    CreatedTime,
    /// `status`.
    Status,
    /// `assignedTo` (compared case-insensitively).
    AssignedTo,
    /// `severity`.
    Severity,
    /// `classification`.
    Classification,
    /// `determination`.
    Determination,
    /// An alert's `serviceSource` (on incidents: one of its alerts has it).
    ServiceSource,
}

/// The order of a list of incidents; ties are broken by incident id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncidentOrder {
    /// Newest first (the Defender API's order and the default).
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Least recently updated first.
    LastUpdateAsc,
    /// Most recently updated first.
    LastUpdateDesc,
}

impl IncidentOrder {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            IncidentOrder::CreatedDesc => "created_time DESC, incident_id DESC",
            IncidentOrder::CreatedAsc => "created_time ASC, incident_id ASC",
            IncidentOrder::LastUpdateAsc => "last_update_time ASC, incident_id ASC",
            IncidentOrder::LastUpdateDesc => "last_update_time DESC, incident_id DESC",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
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

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// A point in time.
    Time(OffsetDateTime),
    /// A string.
    Text(String),
    /// `null`.
    Null,
}

/// A boolean filter over incidents (the typed form of an OData `$filter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentFilter {
    /// Both hold.
    And(Box<IncidentFilter>, Box<IncidentFilter>),
    /// Either holds.
    Or(Box<IncidentFilter>, Box<IncidentFilter>),
    /// The inner filter does not hold (a comparison with a null operand does not hold, so
    /// its negation does).
    Not(Box<IncidentFilter>),
    /// `field op value`.
    Compare {
        /// The property.
        field: IncidentField,
        /// The operator.
        op: FilterOp,
        /// The literal.
        value: FilterValue,
    },
}

/// Bind values collected while compiling a filter.
pub(crate) enum Bind {
    Text(String),
}

/// What a filter's fields name: incident columns, or the properties of one alert document
/// (`a.value` of `json_each(i.alerts) a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterTarget {
    Incident,
    Alert,
}

/// `(SQL expression, nullable, compared case-folded)` of a field.
fn field_sql(field: IncidentField, target: FilterTarget) -> (&'static str, bool, bool) {
    match (target, field) {
        (FilterTarget::Incident, IncidentField::LastUpdateTime) => {
            ("last_update_time", false, false)
        }
        (FilterTarget::Incident, IncidentField::CreatedTime) => ("created_time", false, false),
        (FilterTarget::Incident, IncidentField::Status) => ("status", false, false),
        (FilterTarget::Incident, IncidentField::AssignedTo) => ("assigned_to", true, true),
        (FilterTarget::Incident, IncidentField::Severity) => ("severity", false, false),
        (FilterTarget::Incident, IncidentField::Classification) => ("classification", false, false),
        (FilterTarget::Incident, IncidentField::Determination) => ("determination", false, false),
        (FilterTarget::Incident, IncidentField::ServiceSource) => (
            "(SELECT json_extract(x.value, '$.serviceSource') FROM json_each(i.alerts) x LIMIT 1)",
            true,
            false,
        ),
        (FilterTarget::Alert, IncidentField::LastUpdateTime) => {
            ("json_extract(a.value, '$.lastUpdatedTime')", false, false)
        }
        (FilterTarget::Alert, IncidentField::CreatedTime) => {
            ("json_extract(a.value, '$.creationTime')", false, false)
        }
        (FilterTarget::Alert, IncidentField::Status) => {
            ("json_extract(a.value, '$.status')", false, false)
        }
        (FilterTarget::Alert, IncidentField::AssignedTo) => {
            ("json_extract(a.value, '$.assignedTo')", true, true)
        }
        (FilterTarget::Alert, IncidentField::Severity) => {
            ("json_extract(a.value, '$.severity')", false, false)
        }
        (FilterTarget::Alert, IncidentField::Classification) => {
            ("json_extract(a.value, '$.classification')", true, false)
        }
        (FilterTarget::Alert, IncidentField::Determination) => {
            ("json_extract(a.value, '$.determination')", true, false)
        }
        (FilterTarget::Alert, IncidentField::ServiceSource) => {
            ("json_extract(a.value, '$.serviceSource')", false, false)
        }
    }
}

/// Compiles a filter to SQL; placeholders continue from `binds.len() + 1`.
pub(crate) fn compile_filter(filter: &IncidentFilter, binds: &mut Vec<Bind>) -> String {
    compile_filter_for(filter, FilterTarget::Incident, binds)
}

/// [`compile_filter`] over `target`'s fields.
pub(crate) fn compile_filter_for(
    filter: &IncidentFilter,
    target: FilterTarget,
    binds: &mut Vec<Bind>,
) -> String {
    match filter {
        IncidentFilter::And(a, b) => {
            format!(
                "({} AND {})",
                compile_filter_for(a, target, binds),
                compile_filter_for(b, target, binds)
            )
        }
        IncidentFilter::Or(a, b) => {
            format!(
                "({} OR {})",
                compile_filter_for(a, target, binds),
                compile_filter_for(b, target, binds)
            )
        }
        // SQL's NOT keeps an unknown (NULL) unknown; OData's `not` of a comparison that
        // does not hold is true, so an unknown counts as false before negating.
        IncidentFilter::Not(inner) => {
            format!(
                "(NOT COALESCE({}, 0))",
                compile_filter_for(inner, target, binds)
            )
        }
        IncidentFilter::Compare { field, op, value } => {
            let (column, nullable, folded) = field_sql(*field, target);
            let text = match value {
                FilterValue::Null => {
                    return match op {
                        FilterOp::Eq => format!("({column} IS NULL)"),
                        FilterOp::Ne => format!("({column} IS NOT NULL)"),
                        // Ordering against null is never true.
                        _ => "(1 = 0)".to_string(),
                    };
                }
                FilterValue::Time(t) => format_incident_time(*t),
                FilterValue::Text(s) => s.clone(),
            };
            binds.push(Bind::Text(if folded { text.to_lowercase() } else { text }));
            let n = binds.len();
            let lhs = if folded {
                format!("LOWER({column})")
            } else {
                column.to_string()
            };
            let sql_op = match op {
                FilterOp::Eq => "=",
                FilterOp::Ne => "<>",
                FilterOp::Gt => ">",
                FilterOp::Ge => ">=",
                FilterOp::Lt => "<",
                FilterOp::Le => "<=",
            };
            if nullable && *op == FilterOp::Ne {
                format!("({column} IS NULL OR {lhs} <> ${n})")
            } else {
                format!("({lhs} {sql_op} ${n})")
            }
        }
    }
}
