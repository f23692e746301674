//! The whole app-only slice of the directory in one read, for an in-memory snapshot, and
//! the change counter (`directory_version`, bumped by triggers on every write to those
//! tables, by any process) that says when such a snapshot is stale.

use crate::{AppRoleAssignmentRow, ApplicationRow, PasswordCredentialRow, Result, Store};
use crate::{ServicePrincipalRow, TenantRow};
use sqlx::Row;
use std::collections::HashMap;

/// Every row issuing an app-only token reads, as of one `version` of the directory.
#[derive(Debug, Clone, Default)]
pub struct DirectoryRows {
    /// The `directory_version` these rows were read at (same read transaction).
    pub version: i64,
    /// Every tenant.
    pub tenants: Vec<TenantRow>,
    /// Every verified domain (lower case) with its tenant id.
    pub verified_domains: Vec<(String, String)>,
    /// Every application, built-ins included, with its identifier URIs.
    pub applications: Vec<ApplicationRow>,
    /// Every client secret (hashes only).
    pub password_credentials: Vec<PasswordCredentialRow>,
    /// Every service principal.
    pub service_principals: Vec<ServicePrincipalRow>,
    /// Every app-role assignment.
    pub app_role_assignments: Vec<AppRoleAssignmentRow>,
}

impl Store {
    /// The directory's change counter: moves on every write to the tables in
    /// [`DirectoryRows`], whichever process or connection wrote.
    pub async fn directory_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Reads every row of [`DirectoryRows`] and the version they belong to in one read
    /// transaction, so the rows and the version agree.
    pub async fn load_directory_rows(&self) -> Result<DirectoryRows> {
        let mut tx = self.pool().begin().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let tenants = sqlx::query(&format!(
            "{} ORDER BY t.created_at, t.id",
            Self::TENANT_SELECT
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Self::tenant_from_row)
        .collect::<Result<Vec<_>>>()?;
        let verified_domains =
            sqlx::query("SELECT name, tenant_id FROM domains WHERE is_verified = 1")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("name")?, r.try_get("tenant_id")?)))
                .collect::<Result<Vec<(String, String)>>>()?;
        let mut uris: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query("SELECT uri, app_id FROM identifier_uris ORDER BY uri")
            .fetch_all(&mut *tx)
            .await?
        {
            uris.entry(r.try_get("app_id")?)
                .or_default()
                .push(r.try_get("uri")?);
        }
        let applications = sqlx::query(&format!(
            "SELECT {} FROM applications",
            crate::directory::APP_COLUMNS
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let app_id: String = r.try_get("app_id")?;
            let own = uris.remove(&app_id).unwrap_or_default();
            Self::app_from_row(r, own)
        })
        .collect::<Result<Vec<_>>>()?;
        let password_credentials = sqlx::query(&format!(
            "SELECT {} FROM password_credentials ORDER BY created_at, key_id",
            crate::directory::PASSWORD_COLUMNS
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Self::password_from_row)
        .collect::<Result<Vec<_>>>()?;
        let service_principals =
            sqlx::query("SELECT id, tenant_id, app_id, created_at FROM service_principals")
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(Self::sp_from_row)
                .collect::<Result<Vec<_>>>()?;
        let app_role_assignments = sqlx::query(&format!(
            "SELECT {} FROM app_role_assignments ORDER BY created_at, id",
            crate::directory::ASSIGNMENT_COLUMNS
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Self::assignment_from_row)
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(DirectoryRows {
            version,
            tenants,
            verified_domains,
            applications,
            password_credentials,
            service_principals,
            app_role_assignments,
        })
    }
}
