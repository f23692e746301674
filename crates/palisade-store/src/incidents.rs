//! Defender XDR incidents: rows, comments, filtered paging and transactional updates.
//!
//! Every method takes the tenant id and names it in every statement. Timestamps are stored
//! as fixed-width ISO-8601 UTC text with seven fractional digits
//! (`2021-01-26T01:00:37.8404534Z`), which sorts in time order.

use crate::incident_time::{format_incident_time, parse_incident_time};
use crate::{map_unique, Result, Store, StoreError};
use sqlx::Row;
use time::OffsetDateTime;

fn read_time(row: &sqlx::sqlite::SqliteRow, column: &str) -> Result<OffsetDateTime> {
    let text: String = row.try_get(column)?;
    parse_incident_time(&text).ok_or_else(|| StoreError::Corrupt(format!("{column}: {text}")))
}

/// One comment on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IncidentCommentRow {
    /// The text.
    pub comment: String,
    /// Author: the caller's UPN or application id.
    pub created_by: String,
    /// When it was written.
    pub created_time: OffsetDateTime,
}

/// A stored incident. Enum-valued fields hold their canonical wire spelling; the alerts
/// (with their devices and entities) are one JSON document owned by `palisade-defender`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IncidentRow {
    /// Owning tenant.
    pub tenant_id: String,
    /// `incidentId`, unique within the tenant.
    pub incident_id: i64,
    /// `incidentName`.
    pub incident_name: String,
    /// `createdTime`.
    pub created_time: OffsetDateTime,
    /// `lastUpdateTime`.
    pub last_update_time: OffsetDateTime,
    /// `status`.
    pub status: String,
    /// `severity`.
    pub severity: String,
    /// `assignedTo`; `None` when unassigned.
    pub assigned_to: Option<String>,
    /// `classification`.
    pub classification: String,
    /// `determination`.
    pub determination: String,
    /// `detectionSource`.
    pub detection_source: Option<String>,
    /// `redirectIncidentId`.
    pub redirect_incident_id: Option<i64>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `comments`, oldest first.
    pub comments: Vec<IncidentCommentRow>,
    /// `alerts` as a JSON array.
    pub alerts_json: String,
    /// Graph `description`.
    pub description: Option<String>,
    /// Graph `summary`.
    pub summary: Option<String>,
    /// Graph `resolvingComment`.
    pub resolving_comment: Option<String>,
    /// Graph `lastModifiedBy` (who last changed the incident through either API).
    pub last_modified_by: Option<String>,
    /// Graph `systemTags`.
    pub system_tags: Vec<String>,
    /// Graph `priorityScore` (0–100; `None`: not computed).
    pub priority_score: Option<i64>,
}

/// A new incident; its id is allocated by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// `incidentName`.
    pub incident_name: String,
    /// `createdTime`.
    pub created_time: OffsetDateTime,
    /// `lastUpdateTime`.
    pub last_update_time: OffsetDateTime,
    /// `status`.
    pub status: String,
    /// `severity`.
    pub severity: String,
    /// `assignedTo`.
    pub assigned_to: Option<String>,
    /// `classification`.
    pub classification: String,
    /// `determination`.
    pub determination: String,
    /// `detectionSource`.
    pub detection_source: Option<String>,
    /// `redirectIncidentId`.
    pub redirect_incident_id: Option<i64>,
    /// `tags`.
    pub tags: Vec<String>,
    /// Initial comments, oldest first.
    pub comments: Vec<IncidentCommentRow>,
    /// `alerts` as a JSON array. The string `{incidentId}` is NOT substituted; the resource
    /// server fills each alert's `incidentId` when it renders.
    pub alerts_json: String,
    /// Demo-data key: an incident with the same key in the same tenant is never inserted
    /// twice (see [`Store::insert_incidents_if_absent`]).
    pub demo_key: Option<String>,
    /// The MDE device ids the alerts name (device-group scoping reads these).
    pub device_ids: Vec<String>,
}

/// Which incidents a caller sees beyond its tenant: all of them, or (a user scoped to
/// Defender device groups) those naming a device of one of `groups`, plus those that name
/// no device at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentVisibility<'a> {
    /// Every incident of the tenant.
    All,
    /// Incidents with a device in one of these groups, or with no device.
    DeviceGroups(&'a [i64]),
}

impl IncidentVisibility<'_> {
    /// The SQL condition on `incidents` (aliased `i`), with placeholders from `$first`;
    /// pushes the group ids to bind.
    pub(crate) fn sql(&self, first: usize, binds: &mut Vec<i64>) -> String {
        match self {
            IncidentVisibility::All => String::new(),
            IncidentVisibility::DeviceGroups(groups) => {
                let list: Vec<String> = groups
                    .iter()
                    .enumerate()
                    .map(|(k, g)| {
                        binds.push(*g);
                        format!("${}", first + k)
                    })
                    .collect();
                let in_groups = if list.is_empty() {
                    "0 = 1".to_string()
                } else {
                    format!("v.group_id IN ({})", list.join(", "))
                };
                format!(
                    " AND (NOT EXISTS (SELECT 1 FROM incident_devices d WHERE d.tenant_id = i.tenant_id AND d.incident_id = i.incident_id) \
                     OR EXISTS (SELECT 1 FROM incident_devices d JOIN devices v ON v.tenant_id = d.tenant_id AND v.device_id = d.device_id \
                     WHERE d.tenant_id = i.tenant_id AND d.incident_id = i.incident_id AND {in_groups}))"
                )
            }
        }
    }
}

/// A change to an incident, applied in one transaction. `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// New `status`.
    pub status: Option<String>,
    /// New `assignedTo`: `Some(None)` unassigns.
    pub assigned_to: Option<Option<String>>,
    /// New `classification`.
    pub classification: Option<String>,
    /// New `determination`.
    pub determination: Option<String>,
    /// New `tags` (replaces the list).
    pub tags: Option<Vec<String>>,
    /// A comment to append.
    pub comment: Option<IncidentCommentRow>,
    /// New `lastUpdateTime` (always written).
    pub last_update_time: Option<OffsetDateTime>,
    /// New `severity`.
    pub severity: Option<String>,
    /// New `incidentName` / Graph `displayName`.
    pub incident_name: Option<String>,
    /// New Graph `description`: `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New Graph `resolvingComment`: `Some(None)` clears it.
    pub resolving_comment: Option<Option<String>>,
    /// New Graph `lastModifiedBy`.
    pub last_modified_by: Option<String>,
    /// New `alerts` document (a JSON array), e.g. after an alert was updated.
    pub alerts_json: Option<String>,
}

/// The outcome of [`Store::update_incident_with`].
#[derive(Debug)]
pub enum IncidentUpdateOutcome<E> {
    /// The update was applied; the incident as now stored.
    Updated(Box<IncidentRow>),
    /// No such incident in the tenant.
    NotFound,
    /// The caller's check refused the update; nothing was written.
    Rejected(E),
}

use crate::incident_query::compile_filter;
pub(crate) use crate::incident_query::{compile_filter_for, Bind, FilterTarget};
pub use crate::incident_query::{
    FilterOp, FilterValue, IncidentField, IncidentFilter, IncidentOrder,
};

const INCIDENT_COLUMNS: &str = "tenant_id, incident_id, incident_name, created_time, last_update_time, status, severity, \
     assigned_to, classification, determination, detection_source, redirect_incident_id, tags, alerts, \
     description, summary, resolving_comment, last_modified_by, system_tags, priority_score";

fn incident_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<IncidentRow> {
    let tags_json: String = row.try_get("tags")?;
    let tags: Vec<String> = serde_json::from_str(&tags_json)
        .map_err(|e| StoreError::Corrupt(format!("incident tags: {e}")))?;
    Ok(IncidentRow {
        tenant_id: row.try_get("tenant_id")?,
        incident_id: row.try_get("incident_id")?,
        incident_name: row.try_get("incident_name")?,
        created_time: read_time(row, "created_time")?,
        last_update_time: read_time(row, "last_update_time")?,
        status: row.try_get("status")?,
        severity: row.try_get("severity")?,
        assigned_to: row.try_get("assigned_to")?,
        classification: row.try_get("classification")?,
        determination: row.try_get("determination")?,
        detection_source: row.try_get("detection_source")?,
        redirect_incident_id: row.try_get("redirect_incident_id")?,
        tags,
        comments: Vec::new(),
        alerts_json: row.try_get("alerts")?,
        description: row.try_get("description")?,
        summary: row.try_get("summary")?,
        resolving_comment: row.try_get("resolving_comment")?,
        last_modified_by: row.try_get("last_modified_by")?,
        system_tags: serde_json::from_str(&row.try_get::<String, _>("system_tags")?)
            .map_err(|e| StoreError::Corrupt(format!("incident system tags: {e}")))?,
        priority_score: row.try_get("priority_score")?,
    })
}

fn tags_to_json(tags: &[String]) -> Result<String> {
    serde_json::to_string(tags).map_err(|e| StoreError::Corrupt(format!("incident tags: {e}")))
}

async fn insert_comment(
    conn: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    incident_id: i64,
    c: &IncidentCommentRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incident_comments (tenant_id, incident_id, seq, comment, created_by, created_time) \
         SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5 FROM incident_comments \
         WHERE tenant_id = $1 AND incident_id = $2",
    )
    .bind(tenant_id)
    .bind(incident_id)
    .bind(&c.comment)
    .bind(&c.created_by)
    .bind(format_incident_time(c.created_time))
    .execute(&mut *conn)
    .await
    .map_err(|e| map_unique(e, "incident comment"))?;
    Ok(())
}

/// Inserts one incident (allocating the tenant's next id) unless its `demo_key` is already
/// present in the tenant. Returns the new id, if inserted.
async fn insert_one(
    conn: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    inc: &NewIncident,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO incidents (tenant_id, incident_id, incident_name, created_time, last_update_time, status, \
         severity, assigned_to, classification, determination, detection_source, redirect_incident_id, tags, alerts, demo_key) \
         SELECT $1, n.next_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
         FROM (SELECT COALESCE(MAX(incident_id), 0) + 1 AS next_id FROM incidents WHERE tenant_id = $1) n \
         WHERE NOT EXISTS (SELECT 1 FROM incidents WHERE tenant_id = $1 AND demo_key IS NOT NULL AND demo_key = $14) \
         RETURNING incident_id",
    )
    .bind(tenant_id)
    .bind(&inc.incident_name)
    .bind(format_incident_time(inc.created_time))
    .bind(format_incident_time(inc.last_update_time))
    .bind(&inc.status)
    .bind(&inc.severity)
    .bind(&inc.assigned_to)
    .bind(&inc.classification)
    .bind(&inc.determination)
    .bind(&inc.detection_source)
    .bind(inc.redirect_incident_id)
    .bind(tags_to_json(&inc.tags)?)
    .bind(&inc.alerts_json)
    .bind(&inc.demo_key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| map_unique(e, "incident"))?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get("incident_id")?;
    for c in &inc.comments {
        insert_comment(&mut *conn, tenant_id, id, c).await?;
    }
    for device in &inc.device_ids {
        sqlx::query(
            "INSERT INTO incident_devices (tenant_id, incident_id, device_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(device.to_lowercase())
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(id))
}

impl Store {
    /// Inserts an incident in the tenant, allocating the next incident id. Returns the id.
    /// (With a `demo_key` already present the insert is refused as a conflict.)
    pub async fn insert_incident(&self, tenant_id: &str, incident: &NewIncident) -> Result<i64> {
        let mut tx = self.pool().begin().await?;
        let id = insert_one(&mut tx, tenant_id, incident)
            .await?
            .ok_or_else(|| StoreError::Conflict("incident demo key".to_string()))?;
        tx.commit().await?;
        Ok(id)
    }

    /// Inserts, in one transaction, every incident whose `demo_key` is not yet present in
    /// the tenant (incidents without a key are always inserted). Existing incidents are
    /// never touched. Returns how many were inserted.
    pub async fn insert_incidents_if_absent(
        &self,
        tenant_id: &str,
        incidents: &[NewIncident],
    ) -> Result<usize> {
        let mut tx = self.pool().begin().await?;
        let mut inserted = 0;
        for inc in incidents {
            if insert_one(&mut tx, tenant_id, inc).await?.is_some() {
                inserted += 1;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The tenant's incident version: it changes with every write to the tenant's incidents
    /// or their comments (by any process; migration 0010's triggers) and never repeats, so
    /// anything computed from those rows alone stays exact while it reads the same. `None`
    /// when the tenant's incidents were never written (nothing to keep).
    pub async fn incident_version(&self, tenant_id: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT version FROM tenant_incident_versions WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("version")).transpose()?)
    }

    /// Number of incidents in the tenant.
    pub async fn count_incidents(&self, tenant_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM incidents WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// One page of the tenant's incidents matching `filter`, newest first (`createdTime`
    /// desc, then `incidentId` desc), skipping `skip` and returning at most `limit`.
    pub async fn list_incidents(
        &self,
        tenant_id: &str,
        filter: Option<&IncidentFilter>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<IncidentRow>> {
        self.list_visible_incidents(tenant_id, IncidentVisibility::All, filter, skip, limit)
            .await
    }

    /// [`Store::list_incidents`] limited to what `visibility` lets the caller see; the
    /// limit is applied in SQL, so pages stay full and `$skip` stays exact.
    pub async fn list_visible_incidents(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        filter: Option<&IncidentFilter>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<IncidentRow>> {
        self.list_visible_incidents_ordered(
            tenant_id,
            visibility,
            filter,
            IncidentOrder::CreatedDesc,
            skip,
            limit,
        )
        .await
    }

    /// How many of the tenant's incidents match `filter` and `visibility`.
    pub async fn count_visible_incidents(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        filter: Option<&IncidentFilter>,
    ) -> Result<i64> {
        let mut binds = vec![Bind::Text(tenant_id.to_string())];
        let where_filter = match filter {
            Some(f) => format!(" AND {}", compile_filter(f, &mut binds)),
            None => String::new(),
        };
        let mut groups = Vec::new();
        let where_visible = visibility.sql(binds.len() + 1, &mut groups);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM incidents i WHERE tenant_id = $1{where_filter}{where_visible}"
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            match b {
                Bind::Text(s) => query = query.bind(s),
            }
        }
        for g in groups {
            query = query.bind(g);
        }
        Ok(query.fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// [`Store::list_visible_incidents`] in the given order.
    pub async fn list_visible_incidents_ordered(
        &self,
        tenant_id: &str,
        visibility: IncidentVisibility<'_>,
        filter: Option<&IncidentFilter>,
        order: IncidentOrder,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<IncidentRow>> {
        let mut binds = vec![Bind::Text(tenant_id.to_string())];
        let where_filter = match filter {
            Some(f) => format!(" AND {}", compile_filter(f, &mut binds)),
            None => String::new(),
        };
        let mut groups = Vec::new();
        let where_visible = visibility.sql(binds.len() + 1, &mut groups);
        let n = binds.len() + groups.len();
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE tenant_id = $1{where_filter}{where_visible} \
             ORDER BY {} LIMIT ${} OFFSET ${}",
            order.sql(),
            n + 1,
            n + 2
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            match b {
                Bind::Text(s) => query = query.bind(s),
            }
        }
        for g in groups {
            query = query.bind(g);
        }
        let rows = query
            .bind(limit.max(0))
            .bind(skip.max(0))
            .fetch_all(self.pool())
            .await?;
        let mut out = rows
            .iter()
            .map(incident_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.attach_comments(tenant_id, &mut out).await?;
        Ok(out)
    }

    /// Whether the tenant has the incident and `visibility` lets the caller see it.
    pub async fn incident_visible(
        &self,
        tenant_id: &str,
        incident_id: i64,
        visibility: IncidentVisibility<'_>,
    ) -> Result<bool> {
        let mut groups = Vec::new();
        let where_visible = visibility.sql(3, &mut groups);
        let sql = format!(
            "SELECT 1 FROM incidents i WHERE tenant_id = $1 AND incident_id = $2{where_visible}"
        );
        let mut query = sqlx::query(&sql).bind(tenant_id).bind(incident_id);
        for g in groups {
            query = query.bind(g);
        }
        Ok(query.fetch_optional(self.pool()).await?.is_some())
    }

    async fn attach_comments(&self, tenant_id: &str, incidents: &mut [IncidentRow]) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..incidents.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT incident_id, comment, created_by, created_time FROM incident_comments \
             WHERE tenant_id = $1 AND incident_id IN ({}) ORDER BY incident_id, seq",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(tenant_id);
        for inc in incidents.iter() {
            query = query.bind(inc.incident_id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        for row in &rows {
            let id: i64 = row.try_get("incident_id")?;
            let c = IncidentCommentRow {
                comment: row.try_get("comment")?,
                created_by: row.try_get("created_by")?,
                created_time: read_time(row, "created_time")?,
            };
            if let Some(inc) = incidents.iter_mut().find(|i| i.incident_id == id) {
                inc.comments.push(c);
            }
        }
        Ok(())
    }

    /// One incident of the tenant.
    pub async fn get_incident(
        &self,
        tenant_id: &str,
        incident_id: i64,
    ) -> Result<Option<IncidentRow>> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND incident_id = $2"
        ))
        .bind(tenant_id)
        .bind(incident_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut out = [incident_from_row(&row)?];
        self.attach_comments(tenant_id, &mut out).await?;
        let [inc] = out;
        Ok(Some(inc))
    }

    /// Updates one incident of the tenant in a single transaction: the row is locked, read,
    /// passed to `decide` (which validates against the current state and returns the
    /// change, or refuses it), and the change is written. Nothing is written when the
    /// incident does not exist or `decide` refuses.
    pub async fn update_incident_with<E, F>(
        &self,
        tenant_id: &str,
        incident_id: i64,
        decide: F,
    ) -> Result<IncidentUpdateOutcome<E>>
    where
        F: FnOnce(&IncidentRow) -> std::result::Result<IncidentUpdate, E>,
    {
        let mut tx = self.pool().begin().await?;
        // Take the write lock first (a row lock elsewhere) so read-validate-write is atomic.
        let locked = sqlx::query(
            "UPDATE incidents SET incident_id = incident_id WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant_id)
        .bind(incident_id)
        .execute(&mut *tx)
        .await?;
        if locked.rows_affected() == 0 {
            return Ok(IncidentUpdateOutcome::NotFound);
        }
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND incident_id = $2"
        ))
        .bind(tenant_id)
        .bind(incident_id)
        .fetch_one(&mut *tx)
        .await?;
        let current = incident_from_row(&row)?;
        let update = match decide(&current) {
            Ok(u) => u,
            Err(e) => return Ok(IncidentUpdateOutcome::Rejected(e)),
        };
        let assigned_set = update.assigned_to.is_some();
        let assigned_value = update.assigned_to.clone().flatten();
        let tags_json = update.tags.as_deref().map(tags_to_json).transpose()?;
        sqlx::query(
            "UPDATE incidents SET \
             status = COALESCE($3, status), \
             assigned_to = CASE WHEN $4 = 1 THEN $5 ELSE assigned_to END, \
             classification = COALESCE($6, classification), \
             determination = COALESCE($7, determination), \
             tags = COALESCE($8, tags), \
             last_update_time = COALESCE($9, last_update_time), \
             severity = COALESCE($10, severity), \
             incident_name = COALESCE($11, incident_name), \
             description = CASE WHEN $12 = 1 THEN $13 ELSE description END, \
             resolving_comment = CASE WHEN $14 = 1 THEN $15 ELSE resolving_comment END, \
             last_modified_by = COALESCE($16, last_modified_by), \
             alerts = COALESCE($17, alerts) \
             WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant_id)
        .bind(incident_id)
        .bind(&update.status)
        .bind(i64::from(assigned_set))
        .bind(assigned_value)
        .bind(&update.classification)
        .bind(&update.determination)
        .bind(tags_json)
        .bind(update.last_update_time.map(format_incident_time))
        .bind(&update.severity)
        .bind(&update.incident_name)
        .bind(i64::from(update.description.is_some()))
        .bind(update.description.clone().flatten())
        .bind(i64::from(update.resolving_comment.is_some()))
        .bind(update.resolving_comment.clone().flatten())
        .bind(&update.last_modified_by)
        .bind(&update.alerts_json)
        .execute(&mut *tx)
        .await?;
        if let Some(c) = &update.comment {
            insert_comment(&mut tx, tenant_id, incident_id, c).await?;
        }
        tx.commit().await?;
        match self.get_incident(tenant_id, incident_id).await? {
            Some(inc) => Ok(IncidentUpdateOutcome::Updated(Box::new(inc))),
            None => Ok(IncidentUpdateOutcome::NotFound),
        }
    }
}

#[cfg(test)]
#[path = "incidents_tests.rs"]
mod tests;
