//! Delegated permission grants (Graph's `oauth2PermissionGrant`): which delegated scopes
//! of a resource a client may use, for every user of the tenant (`AllPrincipals`, admin
//! consent) or for one user (`Principal`, the user's own consent).

use crate::{map_unique, Result, Store};
use sqlx::Row;

/// One delegated permission grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGrantRow {
    /// Grant id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Client service principal.
    pub client_id: String,
    /// `AllPrincipals` or `Principal`.
    pub consent_type: String,
    /// The user, for `Principal` grants.
    pub principal_id: Option<String>,
    /// Resource service principal.
    pub resource_id: String,
    /// Space-separated scope values.
    pub scope: String,
    /// Unix seconds.
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, tenant_id, client_id, consent_type, principal_id, resource_id, scope, created_at";

fn from_row(r: &sqlx::sqlite::SqliteRow) -> Result<PermissionGrantRow> {
    Ok(PermissionGrantRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        client_id: r.try_get("client_id")?,
        consent_type: r.try_get("consent_type")?,
        principal_id: r.try_get("principal_id")?,
        resource_id: r.try_get("resource_id")?,
        scope: r.try_get("scope")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records a grant, or widens the existing grant with the same client, resource,
    /// consent type and principal to the union of both scope lists. Returns the grant as
    /// stored.
    pub async fn upsert_permission_grant(
        &self,
        g: &PermissionGrantRow,
    ) -> Result<PermissionGrantRow> {
        let mut tx = self.pool().begin().await?;
        let existing = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM oauth2_permission_grants WHERE tenant_id = $1 AND client_id = $2 AND resource_id = $3 \
             AND consent_type = $4 AND COALESCE(principal_id, '') = COALESCE($5, '')"
        ))
        .bind(&g.tenant_id)
        .bind(&g.client_id)
        .bind(&g.resource_id)
        .bind(&g.consent_type)
        .bind(&g.principal_id)
        .fetch_optional(&mut *tx)
        .await?;
        let stored = match existing {
            Some(row) => {
                let mut current = from_row(&row)?;
                for s in g.scope.split(' ').filter(|s| !s.is_empty()) {
                    if !current.scope.split(' ').any(|c| c.eq_ignore_ascii_case(s)) {
                        if !current.scope.is_empty() {
                            current.scope.push(' ');
                        }
                        current.scope.push_str(s);
                    }
                }
                sqlx::query("UPDATE oauth2_permission_grants SET scope = $2 WHERE id = $1")
                    .bind(&current.id)
                    .bind(&current.scope)
                    .execute(&mut *tx)
                    .await?;
                current
            }
            None => {
                sqlx::query(&format!(
                    "INSERT INTO oauth2_permission_grants ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(&g.id)
                .bind(&g.tenant_id)
                .bind(&g.client_id)
                .bind(&g.consent_type)
                .bind(&g.principal_id)
                .bind(&g.resource_id)
                .bind(&g.scope)
                .bind(g.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, "service principal or user of the grant"))?;
                g.clone()
            }
        };
        tx.commit().await?;
        Ok(stored)
    }

    /// The tenant's grants, optionally of one client service principal.
    pub async fn list_permission_grants(
        &self,
        tenant_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<PermissionGrantRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM oauth2_permission_grants WHERE tenant_id = $1 AND ($2 IS NULL OR client_id = $2) \
             ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The grants that apply to `user_id` (its own and the tenant-wide ones) for a client
    /// and resource.
    pub async fn grants_for_user(
        &self,
        tenant_id: &str,
        client_id: &str,
        resource_id: &str,
        user_id: &str,
    ) -> Result<Vec<PermissionGrantRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM oauth2_permission_grants WHERE tenant_id = $1 AND client_id = $2 AND resource_id = $3 \
             AND (consent_type = 'AllPrincipals' OR principal_id = $4)"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .bind(resource_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// A grant by id.
    pub async fn get_permission_grant(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<PermissionGrantRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM oauth2_permission_grants WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Replaces a grant's scope list. Returns false if absent.
    pub async fn set_permission_grant_scope(
        &self,
        tenant_id: &str,
        id: &str,
        scope: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE oauth2_permission_grants SET scope = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(scope)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a grant. Returns false if absent.
    pub async fn delete_permission_grant(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM oauth2_permission_grants WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
