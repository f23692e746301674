//! Alerts as a collection of their own (the Graph security API's `alerts_v2`): the alert
//! documents inside each incident's `alerts` array, filtered, ordered and paged in SQL
//! (SQLite JSON1 `json_each`; a PostgreSQL backend would use `jsonb_array_elements`).
//! Device-group visibility is the parent incident's, so both views agree on what a user
//! sees.

use crate::incidents::{compile_filter_for, Bind, FilterTarget};
use crate::{IncidentFilter, IncidentVisibility, Result, Store};
use sqlx::Row;

/// One alert document and the incident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// The parent incident's id.
    pub incident_id: i64,
    /// The alert document (a JSON object, as stored in the incident's `alerts`).
    pub alert_json: String,
}

/// The order of a list of alerts; ties are broken by incident and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertOrder {
    /// Newest first (default).
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Least recently updated first.
    LastUpdateAsc,
    /// Most recently updated first.
    LastUpdateDesc,
}

impl AlertOrder {
    fn sql(self) -> &'static str {
        match self {
            AlertOrder::CreatedDesc => {
                "json_extract(a.value, '$.creationTime') DESC, i.incident_id DESC, a.key DESC"
            }
            AlertOrder::CreatedAsc => {
                "json_extract(a.value, '$.creationTime') ASC, i.incident_id ASC, a.key ASC"
            }
            AlertOrder::LastUpdateAsc => {
                "json_extract(a.value, '$.lastUpdatedTime') ASC, i.incident_id ASC, a.key ASC"
            }
            AlertOrder::LastUpdateDesc => {
                "json_extract(a.value, '$.lastUpdatedTime') DESC, i.incident_id DESC, a.key DESC"
            }
        }
    }
}

/// The `WHERE` clause (after `i.tenant_id = $1`) and its binds.
fn conditions(
    tenant_id: &str,
    visibility: IncidentVisibility<'_>,
    filter: Option<&IncidentFilter>,
) -> (String, Vec<Bind>, Vec<i64>) {
    let mut binds = vec![Bind::Text(tenant_id.to_string())];
    let mut sql = match filter {
        Some(f) => format!(
            " AND {}",
            compile_filter_for(f, FilterTarget::Alert, &mut binds)
        ),
        None => String::new(),
    };
    let mut groups = Vec::new();
    sql.push_str(&visibility.sql(binds.len() + 1, &mut groups));
    (sql, binds, groups)
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    binds: Vec<Bind>,
    groups: Vec<i64>,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for b in binds {
        match b {
            Bind::Text(s) => query = query.bind(s),
        }
    }
    for g in groups {
        query = query.bind(g);
    }
    query
}

fn alert_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<AlertRow> {
    Ok(AlertRow {
        incident_id: row.try_get("incident_id")?,
        alert_json: row.try_get("alert")?,
    })
}

impl Store {
    /// One page of the tenant's alerts matching `filter` (over alert properties) that
    /// `visibility` lets the caller see.
    pub async fn list_visible_alerts(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        filter: Option<&IncidentFilter>,
        order: AlertOrder,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<AlertRow>> {
        let (cond, binds, groups) = conditions(tenant_id, visibility, filter);
        let n = binds.len() + groups.len();
        let sql = format!(
            "SELECT i.incident_id AS incident_id, a.value AS alert FROM incidents i, json_each(i.alerts) a \
             WHERE i.tenant_id = $1{cond} ORDER BY {} LIMIT ${} OFFSET ${}",
            order.sql(),
            n + 1,
            n + 2
        );
        let rows = bind_all(sqlx::query(&sql), binds, groups)
            .bind(limit.max(0))
            .bind(skip.max(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// How many of the tenant's alerts match `filter` and `visibility`.
    pub async fn count_visible_alerts(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        filter: Option<&IncidentFilter>,
    ) -> Result<i64> {
        let (cond, binds, groups) = conditions(tenant_id, visibility, filter);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM incidents i, json_each(i.alerts) a WHERE i.tenant_id = $1{cond}"
        );
        Ok(bind_all(sqlx::query(&sql), binds, groups)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// The alert with `alertId` = `alert_id` (exact), if the caller may see it.
    pub async fn find_visible_alert(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        alert_id: &str,
    ) -> Result<Option<AlertRow>> {
        let (cond, binds, groups) = conditions(tenant_id, visibility, None);
        let n = binds.len() + groups.len();
        let sql = format!(
            "SELECT i.incident_id AS incident_id, a.value AS alert FROM incidents i, json_each(i.alerts) a \
             WHERE i.tenant_id = $1{cond} AND json_extract(a.value, '$.alertId') = ${} LIMIT 1",
            n + 1
        );
        let row = bind_all(sqlx::query(&sql), binds, groups)
            .bind(alert_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }
}
