//! The OData query options of Graph's security collections (graph.md §2.3, policy
//! [inferred] there): `$filter` (`eq ne gt ge lt le and or ()` on the documented
//! properties), `$top` (default 50, silently clamped to 1,000), `$skip`, `$count`,
//! `$orderby` (`createdDateTime`/`lastUpdateDateTime`, `asc`/`desc`; default
//! `createdDateTime desc`), `$expand=alerts` (incidents; nested options are accepted and
//! ignored), `$select`. Anything else starting with `$` is a 400.

use super::error::GraphError;
use crate::odata::{parse_filter_in, split_query, FilterDialect};
use palisade_store::IncidentFilter;
use serde_json::{Map, Value};

/// Default page size.
pub const DEFAULT_TOP: i64 = 50;
/// Largest page; a bigger `$top` is clamped.
pub const MAX_TOP: i64 = 1000;

/// Sort key and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Order {
    #[default]
    CreatedDesc,
    CreatedAsc,
    LastUpdateAsc,
    LastUpdateDesc,
}

/// Parsed options.
#[derive(Debug, Clone, Default)]
pub(crate) struct GraphQuery {
    pub filter: Option<IncidentFilter>,
    pub top: i64,
    pub skip: i64,
    pub count: bool,
    pub order: Order,
    pub expand_alerts: bool,
    pub select: Option<Vec<String>>,
}

fn bad(msg: impl Into<String>) -> GraphError {
    GraphError::bad_request(msg)
}

/// Parses a request's query string. `collection`: list options are allowed (else only
/// `$expand`/`$select`); `expandable`: `$expand=alerts` is allowed.
pub(crate) fn parse(
    raw: Option<&str>,
    dialect: FilterDialect,
    collection: bool,
    expandable: bool,
) -> Result<GraphQuery, GraphError> {
    let mut q = GraphQuery {
        top: DEFAULT_TOP,
        ..GraphQuery::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value, _) in split_query(raw.unwrap_or("")).map_err(|e| bad(e.0))? {
        if !name.starts_with('$') {
            continue;
        }
        let lname = name.to_ascii_lowercase();
        if seen.contains(&lname) {
            return Err(bad(format!(
                "Query option '{name}' was specified more than once, but it must be specified at most once."
            )));
        }
        seen.push(lname.clone());
        match lname.as_str() {
            "$filter" if collection => {
                q.filter = Some(
                    parse_filter_in(dialect, &value)
                        .map_err(|e| bad(format!("Invalid filter clause {}", e.0)))?,
                );
            }
            "$top" if collection => q.top = number(&name, &value)?.min(MAX_TOP),
            "$skip" if collection => q.skip = number(&name, &value)?,
            "$count" if collection => {
                q.count = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(bad(format!(
                            "Invalid value '{value}' for $count query option found. Valid values are 'true', 'false'."
                        )))
                    }
                }
            }
            "$orderby" if collection => q.order = order(&value)?,
            "$expand" => {
                let v = value.trim();
                let base = v.split('(').next().unwrap_or("").trim();
                if expandable && base == "alerts" && (v == "alerts" || v.ends_with(')')) {
                    q.expand_alerts = true;
                } else {
                    return Err(bad(format!(
                        "Could not find a property named '{base}' on type 'microsoft.graph.security.{}' to expand.",
                        if dialect == FilterDialect::GraphAlerts { "alert" } else { "incident" }
                    )));
                }
            }
            "$select" => {
                let fields: Vec<String> = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if fields.is_empty() {
                    return Err(bad("The $select query option is empty."));
                }
                q.select = Some(fields);
            }
            _ => {
                return Err(bad(format!(
                    "Query option '{name}' is not supported on this resource."
                )))
            }
        }
    }
    Ok(q)
}

fn number(name: &str, value: &str) -> Result<i64, GraphError> {
    let v = value.trim();
    if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!(
            "Invalid value '{value}' for {name} query option found. The {name} query option requires a non-negative integer value."
        )));
    }
    v.parse::<i64>().map_err(|_| bad(format!("Invalid {name}")))
}

fn order(value: &str) -> Result<Order, GraphError> {
    let mut parts = value.split_whitespace();
    let (Some(prop), dir, None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(format!("Invalid $orderby '{value}'.")));
    };
    let desc = match dir.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(bad(format!("Invalid $orderby direction '{other}'."))),
    };
    match (prop.to_ascii_lowercase().as_str(), desc) {
        ("createddatetime", false) => Ok(Order::CreatedAsc),
        ("createddatetime", true) => Ok(Order::CreatedDesc),
        ("lastupdatedatetime", false) => Ok(Order::LastUpdateAsc),
        ("lastupdatedatetime", true) => Ok(Order::LastUpdateDesc),
        _ => Err(bad(format!(
            "$orderby is not supported on '{prop}'; supported: createdDateTime, lastUpdateDateTime."
        ))),
    }
}

/// Keeps only the `$select`ed properties (and `id`, and annotations) of an entity.
pub(crate) fn select(entity: Value, fields: Option<&[String]>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &entity) else {
        return entity;
    };
    let kept: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| {
            k.as_str() == "id"
                || k.starts_with('@')
                || k.as_str() == "alerts"
                || fields.iter().any(|f| f.eq_ignore_ascii_case(k))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// A collection page as Graph sends it: `@odata.context`, `@odata.count` when `$count`
/// asked for it, `@odata.nextLink` when more rows follow, then `value`.
pub(crate) fn collection_page(
    context: String,
    count: Option<i64>,
    next_link: Option<String>,
    value: Vec<Value>,
) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    if let Some(n) = count {
        body.insert("@odata.count".into(), Value::from(n));
    }
    if let Some(link) = next_link {
        body.insert("@odata.nextLink".into(), Value::String(link));
    }
    body.insert("value".into(), Value::Array(value));
    Value::Object(body)
}

/// The absolute `@odata.nextLink`: every original option but `$skip`, then the next
/// `$skip`.
pub(crate) fn next_link(
    base: &str,
    raw: Option<&str>,
    next_skip: i64,
) -> Result<String, GraphError> {
    let mut parts: Vec<String> = split_query(raw.unwrap_or(""))
        .map_err(|e| bad(e.0))?
        .into_iter()
        .filter(|(name, _, _)| !name.eq_ignore_ascii_case("$skip"))
        .map(|(_, _, raw)| raw.to_string())
        .collect();
    parts.push(format!("$skip={next_skip}"));
    Ok(format!("{base}?{}", parts.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let q = parse(
            Some("$top=5000&$skip=10&$count=true&$orderby=createdDateTime%20asc&$expand=alerts($select=id,severity)&$filter=severity%20eq%20'high'%20or%20severity%20eq%20'medium'"),
            FilterDialect::GraphIncidents,
            true,
            true,
        )
        .unwrap();
        assert_eq!(q.top, MAX_TOP);
        assert_eq!(q.skip, 10);
        assert!(q.count && q.expand_alerts);
        assert_eq!(q.order, Order::CreatedAsc);
        assert!(q.filter.is_some());
        for bad_q in [
            "$orderby=severity desc",
            "$top=-1",
            "$search=x",
            "$expand=evidence",
            "$filter=investigationState eq 'running'",
            "$filter=status eq 'awaitingAction'",
            "$count=maybe",
            "$top=1&$top=2",
        ] {
            assert!(
                parse(Some(bad_q), FilterDialect::GraphIncidents, true, true).is_err(),
                "{bad_q}"
            );
        }
        assert!(parse(
            Some("$expand=alerts"),
            FilterDialect::GraphAlerts,
            true,
            false
        )
        .is_err());
        assert!(parse(
            Some(
                "$filter=serviceSource eq 'microsoftDefenderForEndpoint' and status ne 'resolved'"
            ),
            FilterDialect::GraphAlerts,
            true,
            false
        )
        .is_ok());
        assert!(parse(
            Some("$filter=status eq 'active'"),
            FilterDialect::GraphAlerts,
            true,
            false
        )
        .is_err());
    }

    #[test]
    fn next_link_replaces_skip() {
        let l = next_link(
            "https://h/v1.0/security/incidents",
            Some("$top=2&$skip=2&$filter=x"),
            4,
        )
        .unwrap();
        assert_eq!(
            l,
            "https://h/v1.0/security/incidents?$top=2&$filter=x&$skip=4"
        );
    }
}
