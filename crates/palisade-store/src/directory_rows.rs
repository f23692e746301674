//! One tenant's app-only slice of the directory in one read, for an in-memory snapshot
//! part, and the change counters that say when such a part is stale: the global
//! `directory_version` (migration 0006) and the per-tenant `tenant_directory_versions`
//! (0008), both bumped by triggers on every write to those tables, by any process.

use crate::{AppRoleAssignmentRow, ApplicationRow, PasswordCredentialRow, Result, Store};
use crate::{ServicePrincipalRow, TenantRow};
use sqlx::Row;
use std::collections::HashMap;

/// The key of the built-in (Microsoft-owned) applications' slice: they have no tenant.
pub const BUILTIN_SLICE: &str = "";

/// Every row of one tenant that issuing an app-only token reads, as of one `version` of
/// the directory. The built-in slice ([`BUILTIN_SLICE`]) has no tenant, domains,
/// principals or assignments: only the built-in applications.
#[derive(Debug, Clone, Default)]
pub struct TenantDirectoryRows {
    /// The `directory_version` these rows were read at (same read transaction).
    pub version: i64,
    /// The tenant; `None` if it does not exist (or for the built-in slice).
    pub tenant: Option<TenantRow>,
    /// Its verified domains (lower case).
    pub verified_domains: Vec<String>,
    /// Its applications (registered in it), with their identifier URIs.
    pub applications: Vec<ApplicationRow>,
    /// The client secrets of those applications (hashes only), oldest first.
    pub password_credentials: Vec<PasswordCredentialRow>,
    /// The service principals in the tenant (of its own apps, consented multi-tenant apps
    /// and built-ins).
    pub service_principals: Vec<ServicePrincipalRow>,
    /// The app-role assignments in the tenant, oldest first.
    pub app_role_assignments: Vec<AppRoleAssignmentRow>,
}

/// What changed in the directory since a version: the current version and the tenant
/// slices written after the one given.
#[derive(Debug, Clone, Default)]
pub struct DirectoryChanges {
    /// The `directory_version` now.
    pub version: i64,
    /// Slices ([`BUILTIN_SLICE`] for the built-ins) whose last write is newer than the
    /// version asked about.
    pub tenants: Vec<String>,
}

impl Store {
    /// The directory's change counter: moves on every write to the tables in
    /// [`TenantDirectoryRows`], whichever process or connection wrote.
    pub async fn directory_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The current version and the slices written after `since`, in one read.
    pub async fn directory_changes_since(&self, since: i64) -> Result<DirectoryChanges> {
        let mut tx = self.pool().begin().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let tenants: Vec<String> = sqlx::query_scalar(
            "SELECT tenant_id FROM tenant_directory_versions WHERE version > $1",
        )
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DirectoryChanges { version, tenants })
    }

    /// The slice holding the application a token request names: by client id (any case)
    /// or by normalised identifier URI. `None` if no application has that name.
    pub async fn directory_slice_of(&self, app_id: &str, uri: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(tenant_id, '') FROM applications WHERE app_id = $1 \
             UNION ALL SELECT COALESCE(a.tenant_id, '') FROM identifier_uris u \
             JOIN applications a ON a.app_id = u.app_id WHERE u.uri = $2 LIMIT 1",
        )
        .bind(app_id.to_ascii_lowercase())
        .bind(uri)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The tenant id owning a verified domain (lower case), if any.
    pub async fn tenant_of_verified_domain(&self, domain: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT tenant_id FROM domains WHERE name = $1 AND is_verified = 1")
                .bind(domain.to_ascii_lowercase())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Reads every row of one slice (a tenant id, or [`BUILTIN_SLICE`]) and the version
    /// they belong to in one read transaction, so the rows and the version agree. A tenant
    /// that does not exist reads as no rows.
    pub async fn load_tenant_directory_rows(&self, slice: &str) -> Result<TenantDirectoryRows> {
        let builtin = slice == BUILTIN_SLICE;
        // The applications of the slice, as a condition on `applications a`.
        let owned = if builtin {
            "a.tenant_id IS NULL AND $1 = ''"
        } else {
            "a.tenant_id = $1"
        };
        let mut tx = self.pool().begin().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let mut rows = TenantDirectoryRows {
            version,
            ..TenantDirectoryRows::default()
        };
        if !builtin {
            rows.tenant = sqlx::query(&format!("{} WHERE t.id = $1", Self::TENANT_SELECT))
                .bind(slice)
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(Self::tenant_from_row)
                .transpose()?;
            if rows.tenant.is_none() {
                tx.commit().await?;
                return Ok(rows);
            }
            rows.verified_domains = sqlx::query_scalar(
                "SELECT name FROM domains WHERE tenant_id = $1 AND is_verified = 1 ORDER BY name",
            )
            .bind(slice)
            .fetch_all(&mut *tx)
            .await?;
        }
        let mut uris: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query(&format!(
            "SELECT u.uri, u.app_id FROM identifier_uris u JOIN applications a \
             ON a.app_id = u.app_id WHERE {owned} ORDER BY u.uri"
        ))
        .bind(slice)
        .fetch_all(&mut *tx)
        .await?
        {
            uris.entry(r.try_get("app_id")?)
                .or_default()
                .push(r.try_get("uri")?);
        }
        let columns = crate::directory::APP_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.applications = sqlx::query(&format!(
            "SELECT {columns} FROM applications a WHERE {owned}"
        ))
        .bind(slice)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let app_id: String = r.try_get("app_id")?;
            let own = uris.remove(&app_id).unwrap_or_default();
            Self::app_from_row(r, own)
        })
        .collect::<Result<Vec<_>>>()?;
        rows.password_credentials = sqlx::query(&format!(
            "SELECT {} FROM password_credentials WHERE application_id IN \
             (SELECT a.id FROM applications a WHERE {owned}) ORDER BY created_at, key_id",
            crate::directory::PASSWORD_COLUMNS
        ))
        .bind(slice)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Self::password_from_row)
        .collect::<Result<Vec<_>>>()?;
        if !builtin {
            rows.service_principals = sqlx::query(
                "SELECT id, tenant_id, app_id, created_at FROM service_principals WHERE tenant_id = $1",
            )
            .bind(slice)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(Self::sp_from_row)
            .collect::<Result<Vec<_>>>()?;
            rows.app_role_assignments = sqlx::query(&format!(
                "SELECT {} FROM app_role_assignments WHERE tenant_id = $1 ORDER BY created_at, id",
                crate::directory::ASSIGNMENT_COLUMNS
            ))
            .bind(slice)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(Self::assignment_from_row)
            .collect::<Result<Vec<_>>>()?;
        }
        tx.commit().await?;
        Ok(rows)
    }
}
