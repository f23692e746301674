//! Directory rows: tenants, domains, applications, credentials, service principals and
//! app-role assignments.

use crate::{map_unique, Result, Store, StoreError};
use sqlx::Row;

/// A tenant (directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// Tenant id (GUID, lower case).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// The initial `<name>.onmicrosoft.com` domain.
    pub initial_domain: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An application registration (or a built-in, Microsoft-owned resource app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    /// Object id.
    pub id: String,
    /// Application (client) id.
    pub app_id: String,
    /// Home tenant; `None` for built-in resource apps.
    pub tenant_id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// `AzureADMyOrg` or `AzureADMultipleOrgs`.
    pub sign_in_audience: String,
    /// Public client (no secret) or confidential.
    pub is_public_client: bool,
    /// The rest of the registration as JSON (owned by `palisade-directory`).
    pub definition_json: String,
    /// Identifier URIs (normalised: lower case, no trailing slash).
    pub identifier_uris: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A client secret; the secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCredentialRow {
    /// Key id (GUID).
    pub key_id: String,
    /// Object id of the application.
    pub application_id: String,
    /// Description.
    pub display_name: Option<String>,
    /// First three characters of the secret.
    pub hint: String,
    /// Hash of the secret.
    pub secret_hash: Vec<u8>,
    /// Unix seconds.
    pub start_at: i64,
    /// Unix seconds.
    pub end_at: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A service principal: an application's instance in one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrincipalRow {
    /// Object id (GUID).
    pub id: String,
    /// Tenant the principal lives in.
    pub tenant_id: String,
    /// The application's client id.
    pub app_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An app-role assignment: an application permission granted (admin consent) to a
/// client's service principal on a resource's service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoleAssignmentRow {
    /// Assignment id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Client service principal.
    pub principal_id: String,
    /// Resource service principal.
    pub resource_id: String,
    /// App role id (GUID from the resource app).
    pub app_role_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

pub(crate) const APP_COLUMNS: &str = "id, app_id, tenant_id, display_name, sign_in_audience, is_public_client, definition, created_at";

pub(crate) const PASSWORD_COLUMNS: &str =
    "key_id, application_id, display_name, hint, secret_hash, start_at, end_at, created_at";

pub(crate) const ASSIGNMENT_COLUMNS: &str =
    "id, tenant_id, principal_id, resource_id, app_role_id, created_at";

impl Store {
    // ----- tenants -------------------------------------------------------------------

    /// Creates a tenant with its initial, verified domain, in one transaction.
    pub async fn create_tenant(&self, tenant: &TenantRow) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.display_name)
            .bind(tenant.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "tenant id"))?;
        sqlx::query(
            "INSERT INTO domains (name, tenant_id, is_initial, is_verified) VALUES ($1, $2, 1, 1)",
        )
        .bind(tenant.initial_domain.to_ascii_lowercase())
        .bind(&tenant.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, "domain"))?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) fn tenant_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<TenantRow> {
        Ok(TenantRow {
            id: row.try_get("id")?,
            display_name: row.try_get("display_name")?,
            initial_domain: row.try_get("initial_domain")?,
            created_at: row.try_get("created_at")?,
        })
    }

    pub(crate) const TENANT_SELECT: &'static str =
        "SELECT t.id, t.display_name, t.created_at, d.name AS initial_domain \
         FROM tenants t JOIN domains d ON d.tenant_id = t.id AND d.is_initial = 1";

    /// A tenant by id.
    pub async fn get_tenant(&self, id: &str) -> Result<Option<TenantRow>> {
        let row = sqlx::query(&format!("{} WHERE t.id = $1", Self::TENANT_SELECT))
            .bind(id.to_ascii_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(Self::tenant_from_row).transpose()
    }

    /// The tenant that owns a verified domain.
    pub async fn find_tenant_by_domain(&self, domain: &str) -> Result<Option<TenantRow>> {
        let row = sqlx::query(&format!(
            "{} WHERE t.id = (SELECT tenant_id FROM domains WHERE name = $1 AND is_verified = 1)",
            Self::TENANT_SELECT
        ))
        .bind(domain.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(Self::tenant_from_row).transpose()
    }

    /// All tenants, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        let rows = sqlx::query(&format!(
            "{} ORDER BY t.created_at, t.id",
            Self::TENANT_SELECT
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Self::tenant_from_row).collect()
    }

    // ----- applications ----------------------------------------------------------------

    pub(crate) fn app_from_row(
        row: &sqlx::sqlite::SqliteRow,
        uris: Vec<String>,
    ) -> Result<ApplicationRow> {
        Ok(ApplicationRow {
            id: row.try_get("id")?,
            app_id: row.try_get("app_id")?,
            tenant_id: row.try_get("tenant_id")?,
            display_name: row.try_get("display_name")?,
            sign_in_audience: row.try_get("sign_in_audience")?,
            is_public_client: row.try_get::<i64, _>("is_public_client")? != 0,
            definition_json: row.try_get("definition")?,
            identifier_uris: uris,
            created_at: row.try_get("created_at")?,
        })
    }

    async fn identifier_uris_of(&self, app_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT uri FROM identifier_uris WHERE app_id = $1 ORDER BY uri")
            .bind(app_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("uri")?)).collect()
    }

    async fn apps_from_rows(
        &self,
        rows: Vec<sqlx::sqlite::SqliteRow>,
    ) -> Result<Vec<ApplicationRow>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let app_id: String = row.try_get("app_id")?;
            let uris = self.identifier_uris_of(&app_id).await?;
            out.push(Self::app_from_row(row, uris)?);
        }
        Ok(out)
    }

    /// Inserts an application and its identifier URIs in one transaction.
    pub async fn insert_application(&self, app: &ApplicationRow) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO applications ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&app.id)
        .bind(&app.app_id)
        .bind(&app.tenant_id)
        .bind(&app.display_name)
        .bind(&app.sign_in_audience)
        .bind(app.is_public_client as i64)
        .bind(&app.definition_json)
        .bind(app.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, "application id"))?;
        for uri in &app.identifier_uris {
            sqlx::query("INSERT INTO identifier_uris (uri, app_id) VALUES ($1, $2)")
                .bind(uri)
                .bind(&app.app_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, &format!("identifier URI {uri}")))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts or refreshes a built-in (Microsoft-owned) resource application, keeping its
    /// ids; used at start so every release's catalogue of roles and scopes is current.
    pub async fn upsert_builtin_application(&self, app: &ApplicationRow) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO applications ({APP_COLUMNS}) VALUES ($1, $2, NULL, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, \
             sign_in_audience = excluded.sign_in_audience, definition = excluded.definition"
        ))
        .bind(&app.id)
        .bind(&app.app_id)
        .bind(&app.display_name)
        .bind(&app.sign_in_audience)
        .bind(app.is_public_client as i64)
        .bind(&app.definition_json)
        .bind(app.created_at)
        .execute(&mut *tx)
        .await?;
        for uri in &app.identifier_uris {
            sqlx::query("INSERT INTO identifier_uris (uri, app_id) VALUES ($1, $2) ON CONFLICT (uri) DO NOTHING")
                .bind(uri)
                .bind(&app.app_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An application of `tenant_id` by object id.
    pub async fn get_application(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ApplicationRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_ascii_lowercase())
        .fetch_all(self.pool())
        .await?;
        Ok(self.apps_from_rows(rows).await?.pop())
    }

    /// Any application (of any tenant, or built-in) by client id. The token service uses
    /// this: a client id is global, its home tenant decides where it may sign in.
    pub async fn find_application_by_app_id(&self, app_id: &str) -> Result<Option<ApplicationRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE app_id = $1"
        ))
        .bind(app_id.to_ascii_lowercase())
        .fetch_all(self.pool())
        .await?;
        Ok(self.apps_from_rows(rows).await?.pop())
    }

    /// The application that owns a (normalised) identifier URI.
    pub async fn find_application_by_identifier_uri(
        &self,
        uri: &str,
    ) -> Result<Option<ApplicationRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE app_id = (SELECT app_id FROM identifier_uris WHERE uri = $1)"
        ))
        .bind(uri)
        .fetch_all(self.pool())
        .await?;
        Ok(self.apps_from_rows(rows).await?.pop())
    }

    /// The applications registered in a tenant, oldest first.
    pub async fn list_applications(&self, tenant_id: &str) -> Result<Vec<ApplicationRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        self.apps_from_rows(rows).await
    }

    /// Rewrites an application's properties and identifier URIs (not its ids, tenant or
    /// creation time) in one transaction. Returns false if absent; an identifier URI
    /// another application holds is a [`crate::StoreError::Conflict`].
    pub async fn update_application(&self, app: &ApplicationRow) -> Result<bool> {
        let tenant_id = app
            .tenant_id
            .as_deref()
            .ok_or_else(|| StoreError::NotFound("application".into()))?;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE applications SET display_name = $1, sign_in_audience = $2, is_public_client = $3, \
             definition = $4 WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&app.display_name)
        .bind(&app.sign_in_audience)
        .bind(app.is_public_client as i64)
        .bind(&app.definition_json)
        .bind(tenant_id)
        .bind(&app.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM identifier_uris WHERE app_id = $1")
            .bind(&app.app_id)
            .execute(&mut *tx)
            .await?;
        for uri in &app.identifier_uris {
            sqlx::query("INSERT INTO identifier_uris (uri, app_id) VALUES ($1, $2)")
                .bind(uri)
                .bind(&app.app_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_unique(e, &format!("identifier URI {uri}")))?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces an application's registration document. Returns false if absent.
    pub async fn update_application_definition(
        &self,
        tenant_id: &str,
        id: &str,
        definition_json: &str,
    ) -> Result<bool> {
        let done =
            sqlx::query("UPDATE applications SET definition = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(definition_json)
                .bind(tenant_id)
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an application with its credentials, and its service principals and grants
    /// in every tenant (as deleting the registration does in Entra). Returns false if absent.
    pub async fn delete_application(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM applications WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id.to_ascii_lowercase())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ----- password credentials --------------------------------------------------------

    /// Stores a new secret's metadata and hash.
    pub async fn insert_password_credential(&self, cred: &PasswordCredentialRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO password_credentials (key_id, application_id, display_name, hint, secret_hash, start_at, end_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&cred.key_id)
        .bind(&cred.application_id)
        .bind(&cred.display_name)
        .bind(&cred.hint)
        .bind(&cred.secret_hash)
        .bind(cred.start_at)
        .bind(cred.end_at)
        .bind(cred.created_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "password credential"))?;
        Ok(())
    }

    /// The secrets of an application (by object id), oldest first.
    pub async fn list_password_credentials(
        &self,
        application_id: &str,
    ) -> Result<Vec<PasswordCredentialRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {PASSWORD_COLUMNS} FROM password_credentials WHERE application_id = $1 \
             ORDER BY created_at, key_id"
        ))
        .bind(application_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Self::password_from_row).collect()
    }

    pub(crate) fn password_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<PasswordCredentialRow> {
        Ok(PasswordCredentialRow {
            key_id: r.try_get("key_id")?,
            application_id: r.try_get("application_id")?,
            display_name: r.try_get("display_name")?,
            hint: r.try_get("hint")?,
            secret_hash: r.try_get("secret_hash")?,
            start_at: r.try_get("start_at")?,
            end_at: r.try_get("end_at")?,
            created_at: r.try_get("created_at")?,
        })
    }

    /// Removes one secret. Returns false if the application has no such key.
    pub async fn delete_password_credential(
        &self,
        application_id: &str,
        key_id: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM password_credentials WHERE application_id = $1 AND key_id = $2",
        )
        .bind(application_id)
        .bind(key_id.to_ascii_lowercase())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ----- service principals ----------------------------------------------------------

    pub(crate) fn sp_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ServicePrincipalRow> {
        Ok(ServicePrincipalRow {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            app_id: r.try_get("app_id")?,
            created_at: r.try_get("created_at")?,
        })
    }

    /// Creates a service principal. A second one for the same app in the same tenant is a
    /// [`StoreError::Conflict`].
    pub async fn insert_service_principal(&self, sp: &ServicePrincipalRow) -> Result<()> {
        sqlx::query("INSERT INTO service_principals (id, tenant_id, app_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&sp.id)
            .bind(&sp.tenant_id)
            .bind(&sp.app_id)
            .bind(sp.created_at)
            .execute(self.pool())
            .await
            .map_err(|e| map_unique(e, "service principal for this application"))?;
        Ok(())
    }

    /// A service principal of `tenant_id` by object id.
    pub async fn get_service_principal(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ServicePrincipalRow>> {
        let row = sqlx::query("SELECT id, tenant_id, app_id, created_at FROM service_principals WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id.to_ascii_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(Self::sp_from_row).transpose()
    }

    /// The service principal of an application in `tenant_id`, if consented there.
    pub async fn find_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<Option<ServicePrincipalRow>> {
        let row = sqlx::query("SELECT id, tenant_id, app_id, created_at FROM service_principals WHERE tenant_id = $1 AND app_id = $2")
            .bind(tenant_id)
            .bind(app_id.to_ascii_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(Self::sp_from_row).transpose()
    }

    /// The service principals of a tenant, oldest first.
    pub async fn list_service_principals(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<ServicePrincipalRow>> {
        let rows = sqlx::query("SELECT id, tenant_id, app_id, created_at FROM service_principals WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(Self::sp_from_row).collect()
    }

    /// Deletes a service principal and every grant it holds or receives.
    pub async fn delete_service_principal(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM service_principals WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id.to_ascii_lowercase())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ----- app-role assignments --------------------------------------------------------

    /// Records a grant. An identical existing grant is returned instead of a duplicate.
    pub async fn insert_app_role_assignment(
        &self,
        a: &AppRoleAssignmentRow,
    ) -> Result<AppRoleAssignmentRow> {
        sqlx::query(
            "INSERT INTO app_role_assignments (id, tenant_id, principal_id, resource_id, app_role_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal_id, resource_id, app_role_id) DO NOTHING",
        )
        .bind(&a.id)
        .bind(&a.tenant_id)
        .bind(&a.principal_id)
        .bind(&a.resource_id)
        .bind(&a.app_role_id)
        .bind(a.created_at)
        .execute(self.pool())
        .await
        .map_err(|e| map_unique(e, "service principal"))?;
        let existing = self
            .list_app_role_assignments(&a.tenant_id, &a.principal_id)
            .await?
            .into_iter()
            .find(|x| x.resource_id == a.resource_id && x.app_role_id == a.app_role_id);
        existing.ok_or_else(|| StoreError::NotFound("app role assignment".into()))
    }

    /// The grants a client service principal holds in `tenant_id`.
    pub async fn list_app_role_assignments(
        &self,
        tenant_id: &str,
        principal_id: &str,
    ) -> Result<Vec<AppRoleAssignmentRow>> {
        self.app_role_assignments_by(tenant_id, "principal_id", principal_id)
            .await
    }

    /// The grants made on a resource service principal in `tenant_id` (Graph's
    /// `appRoleAssignedTo`).
    pub async fn list_app_role_assignments_to(
        &self,
        tenant_id: &str,
        resource_id: &str,
    ) -> Result<Vec<AppRoleAssignmentRow>> {
        self.app_role_assignments_by(tenant_id, "resource_id", resource_id)
            .await
    }

    /// `column` is one of two constants above, never input.
    async fn app_role_assignments_by(
        &self,
        tenant_id: &str,
        column: &'static str,
        id: &str,
    ) -> Result<Vec<AppRoleAssignmentRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM app_role_assignments \
             WHERE tenant_id = $1 AND {column} = $2 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Self::assignment_from_row).collect()
    }

    pub(crate) fn assignment_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<AppRoleAssignmentRow> {
        Ok(AppRoleAssignmentRow {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            principal_id: r.try_get("principal_id")?,
            resource_id: r.try_get("resource_id")?,
            app_role_id: r.try_get("app_role_id")?,
            created_at: r.try_get("created_at")?,
        })
    }

    /// Removes a grant. Returns false if absent.
    pub async fn delete_app_role_assignment(
        &self,
        tenant_id: &str,
        principal_id: &str,
        id: &str,
    ) -> Result<bool> {
        let done = sqlx::query("DELETE FROM app_role_assignments WHERE tenant_id = $1 AND principal_id = $2 AND id = $3")
            .bind(tenant_id)
            .bind(principal_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
