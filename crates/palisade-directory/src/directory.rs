//! The directory service: the operations an admin (or the portal) performs, with Entra's
//! rules, on top of the store.

use crate::builtin::builtin_apps;
use crate::model::{
    normalize_identifier_uri, Application, ApplicationDefinition, RequiredResourceAccess,
    ResourceAccess, SignInAudience,
};
use crate::secret::generate_secret;
use crate::snapshot::{check_secret, DirectorySnapshot, Snapshots};
use palisade_clock::SharedClock;
use palisade_store::{
    AppRoleAssignmentRow, ApplicationRow, PasswordCredentialRow, ServicePrincipalRow, Store,
    TenantRow,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{DirectoryError, Result};
use crate::registration::{check_registration, definition_json, is_guid, to_app};
use crate::secret::SecretCheck;

/// What to register.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Display name (required).
    pub display_name: String,
    /// Who may sign in.
    pub sign_in_audience: SignInAudience,
    /// Public client.
    pub is_public_client: bool,
    /// Identifier URIs (App ID URIs) this app exposes, if it is an API.
    pub identifier_uris: Vec<String>,
    /// Redirect URIs, roles, scopes, required access.
    pub definition: ApplicationDefinition,
}

/// What `grant_permissions` did.
#[derive(Debug, Clone)]
pub struct GrantOutcome {
    /// The client's service principal in the tenant.
    pub client_service_principal: ServicePrincipalRow,
    /// The resource's service principal in the tenant.
    pub resource_service_principal: ServicePrincipalRow,
    /// The role values now granted by this call (including ones granted before).
    pub granted: Vec<(String, AppRoleAssignmentRow)>,
}

/// The directory service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Directory {
    store: Store,
    clock: SharedClock,
    snapshots: Snapshots,
}

pub(crate) fn now_secs(clock: &SharedClock) -> i64 {
    clock.now().unix_timestamp()
}

pub(crate) fn new_guid() -> String {
    Uuid::new_v4().to_string()
}

impl Directory {
    /// A directory over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self {
            snapshots: Snapshots::new(store.clone()),
            store,
            clock,
        }
    }

    /// The app-only directory in memory as of now (see [`crate::snapshot`]) for a request
    /// to tenant path segment `tenant_segment` naming the applications `names` (client
    /// ids, resources as sent): every write committed before this call, by any process,
    /// is in it.
    pub async fn app_directory(
        &self,
        tenant_segment: &str,
        names: &[&str],
    ) -> Result<Arc<DirectorySnapshot>> {
        self.snapshots.view(tenant_segment, names).await
    }

    /// The in-memory directory's parts held now and the applications in them.
    pub fn app_directory_held(&self) -> (usize, usize) {
        self.snapshots.held()
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Installs or refreshes the built-in resource apps and makes sure every tenant has
    /// their service principals. Run at start.
    pub async fn ensure_builtins(&self) -> Result<()> {
        let now = now_secs(&self.clock);
        for b in builtin_apps() {
            self.store
                .upsert_builtin_application(&ApplicationRow {
                    id: b.object_id.into(),
                    app_id: b.app_id.into(),
                    tenant_id: None,
                    display_name: b.display_name.into(),
                    sign_in_audience: SignInAudience::AzureADMultipleOrgs.as_str().into(),
                    is_public_client: false,
                    definition_json: definition_json(&b.definition)?,
                    identifier_uris: b
                        .identifier_uris
                        .iter()
                        .map(|u| normalize_identifier_uri(u))
                        .collect(),
                    created_at: 0,
                })
                .await?;
        }
        for t in self.store.list_tenants().await? {
            self.ensure_builtin_principals(&t.id, now).await?;
        }
        self.ensure_roles().await
    }

    async fn ensure_builtin_principals(&self, tenant_id: &str, now: i64) -> Result<()> {
        for b in builtin_apps() {
            if self
                .store
                .find_service_principal(tenant_id, b.app_id)
                .await?
                .is_none()
            {
                self.store
                    .insert_service_principal(&ServicePrincipalRow {
                        id: new_guid(),
                        tenant_id: tenant_id.into(),
                        app_id: b.app_id.into(),
                        created_at: now,
                    })
                    .await?;
            }
        }
        Ok(())
    }

    // ----- tenants -------------------------------------------------------------------

    /// Creates a tenant. `domain_label` is the `<label>` of `<label>.onmicrosoft.com`;
    /// derived from the display name when absent. `id` may be fixed (demo data).
    pub async fn create_tenant(
        &self,
        display_name: &str,
        domain_label: Option<&str>,
        id: Option<&str>,
    ) -> Result<TenantRow> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(DirectoryError::Invalid("displayName is required".into()));
        }
        let label = match domain_label {
            Some(l) => l.trim().to_ascii_lowercase(),
            None => display_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase(),
        };
        let label = label
            .strip_suffix(".onmicrosoft.com")
            .unwrap_or(&label)
            .to_string();
        if label.is_empty() || label.len() > 27 || !label.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(DirectoryError::Invalid(format!(
                "domain label '{label}' must be 1 to 27 letters or digits"
            )));
        }
        let id = match id {
            Some(id) if is_guid(id) => id.to_ascii_lowercase(),
            Some(id) => {
                return Err(DirectoryError::Invalid(format!(
                    "tenant id '{id}' is not a GUID"
                )))
            }
            None => new_guid(),
        };
        let tenant = TenantRow {
            id,
            display_name: display_name.into(),
            initial_domain: format!("{label}.onmicrosoft.com"),
            created_at: now_secs(&self.clock),
        };
        self.store.create_tenant(&tenant).await?;
        self.ensure_builtin_principals(&tenant.id, tenant.created_at)
            .await?;
        Ok(tenant)
    }

    /// Resolves a tenant path segment: a GUID or a verified domain. Aliases such as
    /// `common` are not tenants and resolve to `None`.
    pub async fn resolve_tenant(&self, segment: &str) -> Result<Option<TenantRow>> {
        if is_guid(segment) {
            Ok(self.store.get_tenant(segment).await?)
        } else if segment.contains('.') {
            Ok(self.store.find_tenant_by_domain(segment).await?)
        } else {
            Ok(None)
        }
    }

    /// All tenants.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        Ok(self.store.list_tenants().await?)
    }

    // ----- applications ----------------------------------------------------------------

    /// Registers an application in `tenant_id`.
    pub async fn create_application(
        &self,
        tenant_id: &str,
        new: NewApplication,
    ) -> Result<Application> {
        if new.display_name.trim().is_empty() {
            return Err(DirectoryError::Invalid("displayName is required".into()));
        }
        self.require_tenant(tenant_id).await?;
        let uris = check_registration(&new.identifier_uris, &new.definition)?;
        let row = ApplicationRow {
            id: new_guid(),
            app_id: new_guid(),
            tenant_id: Some(tenant_id.into()),
            display_name: new.display_name.trim().into(),
            sign_in_audience: new.sign_in_audience.as_str().into(),
            is_public_client: new.is_public_client,
            definition_json: definition_json(&new.definition)?,
            identifier_uris: uris,
            created_at: now_secs(&self.clock),
        };
        self.store.insert_application(&row).await?;
        to_app(row)
    }

    pub(crate) async fn require_tenant(&self, tenant_id: &str) -> Result<TenantRow> {
        self.store
            .get_tenant(tenant_id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("tenant {tenant_id}")))
    }

    /// An application of `tenant_id` by object id or client id.
    pub async fn get_application(
        &self,
        tenant_id: &str,
        id_or_app_id: &str,
    ) -> Result<Application> {
        if let Some(row) = self.store.get_application(tenant_id, id_or_app_id).await? {
            return to_app(row);
        }
        match self.store.find_application_by_app_id(id_or_app_id).await? {
            Some(row) if row.tenant_id.as_deref() == Some(tenant_id) => to_app(row),
            _ => Err(DirectoryError::NotFound(format!(
                "application {id_or_app_id}"
            ))),
        }
    }

    /// Any application by client id, in any tenant or built in.
    pub async fn find_application_by_app_id(&self, app_id: &str) -> Result<Option<Application>> {
        self.store
            .find_application_by_app_id(app_id)
            .await?
            .map(to_app)
            .transpose()
    }

    /// The resource app a `resource` string names: an identifier URI (any case, with or
    /// without trailing slash), a client id GUID, or `api://{client id}`.
    pub async fn find_resource(&self, resource: &str) -> Result<Option<Application>> {
        let n = normalize_identifier_uri(resource);
        if let Some(row) = self.store.find_application_by_identifier_uri(&n).await? {
            return to_app(row).map(Some);
        }
        let guid = n.strip_prefix("api://").unwrap_or(&n);
        if is_guid(guid) {
            return self.find_application_by_app_id(guid).await;
        }
        Ok(None)
    }

    /// The applications registered in a tenant.
    pub async fn list_applications(&self, tenant_id: &str) -> Result<Vec<Application>> {
        self.store
            .list_applications(tenant_id)
            .await?
            .into_iter()
            .map(to_app)
            .collect()
    }

    /// Deletes an application registration (and with it its secrets, service principals and
    /// grants in every tenant).
    pub async fn delete_application(&self, tenant_id: &str, id_or_app_id: &str) -> Result<()> {
        let app = self.get_application(tenant_id, id_or_app_id).await?;
        if self.store.delete_application(tenant_id, &app.id).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!(
                "application {id_or_app_id}"
            )))
        }
    }

    // ----- secrets -----------------------------------------------------------------------

    /// Adds a client secret (`addPassword`). Returns the credential and the secret text,
    /// which is never retrievable again. Default lifetime: 2 years, Entra's maximum
    /// recommended; `end` must be after `start`.
    pub async fn add_password(
        &self,
        tenant_id: &str,
        app: &str,
        display_name: Option<String>,
        start: Option<OffsetDateTime>,
        end: Option<OffsetDateTime>,
    ) -> Result<(PasswordCredentialRow, String)> {
        let app = self.get_application(tenant_id, app).await?;
        if app.is_public_client {
            return Err(DirectoryError::Invalid(
                "a public client application cannot have client secrets".into(),
            ));
        }
        let now = self.clock.now();
        let start = start.unwrap_or(now);
        let end = end.unwrap_or(start + Duration::days(730));
        if end <= start {
            return Err(DirectoryError::Invalid(
                "endDateTime must be after startDateTime".into(),
            ));
        }
        let secret = generate_secret();
        let row = PasswordCredentialRow {
            key_id: new_guid(),
            application_id: app.id,
            display_name,
            hint: secret.hint.clone(),
            secret_hash: secret.hash.clone(),
            start_at: start.unix_timestamp(),
            end_at: end.unix_timestamp(),
            created_at: now.unix_timestamp(),
        };
        self.store.insert_password_credential(&row).await?;
        Ok((row, secret.text))
    }

    /// The secrets (metadata only) of an application.
    pub async fn list_passwords(
        &self,
        tenant_id: &str,
        app: &str,
    ) -> Result<Vec<PasswordCredentialRow>> {
        let app = self.get_application(tenant_id, app).await?;
        Ok(self.store.list_password_credentials(&app.id).await?)
    }

    /// Removes a secret (`removePassword`).
    pub async fn remove_password(&self, tenant_id: &str, app: &str, key_id: &str) -> Result<()> {
        let app = self.get_application(tenant_id, app).await?;
        if self
            .store
            .delete_password_credential(&app.id, key_id)
            .await?
        {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!(
                "password credential {key_id}"
            )))
        }
    }

    /// Checks a presented secret against every secret of the application. Every stored
    /// hash is compared (in constant time), whatever matched first.
    pub async fn check_client_secret(
        &self,
        app: &Application,
        presented: &str,
    ) -> Result<SecretCheck> {
        let credentials = self.store.list_password_credentials(&app.id).await?;
        Ok(check_secret(&credentials, presented, now_secs(&self.clock)))
    }

    // ----- service principals and consent ----------------------------------------------

    /// Creates the service principal of `app_id` in `tenant_id`. Single-tenant apps may
    /// only have one in their home tenant.
    pub async fn create_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<ServicePrincipalRow> {
        self.require_tenant(tenant_id).await?;
        let app = self
            .find_application_by_app_id(app_id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("application with appId {app_id}")))?;
        if app.sign_in_audience == SignInAudience::AzureADMyOrg
            && app.tenant_id.as_deref() != Some(tenant_id)
        {
            return Err(DirectoryError::Invalid(format!(
                "application {app_id} is single-tenant (AzureADMyOrg): it cannot be provisioned outside its home tenant"
            )));
        }
        let sp = ServicePrincipalRow {
            id: new_guid(),
            tenant_id: tenant_id.into(),
            app_id: app.app_id,
            created_at: now_secs(&self.clock),
        };
        self.store.insert_service_principal(&sp).await?;
        Ok(sp)
    }

    /// The service principal of `app_id` in `tenant_id`, creating it if absent.
    pub async fn ensure_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<ServicePrincipalRow> {
        match self.store.find_service_principal(tenant_id, app_id).await? {
            Some(sp) => Ok(sp),
            None => self.create_service_principal(tenant_id, app_id).await,
        }
    }

    /// A service principal of `tenant_id` by object id.
    pub async fn get_service_principal(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<ServicePrincipalRow> {
        self.store
            .get_service_principal(tenant_id, id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("service principal {id}")))
    }

    /// The service principal of `app_id` in `tenant_id`, if any.
    pub async fn find_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<Option<ServicePrincipalRow>> {
        Ok(self.store.find_service_principal(tenant_id, app_id).await?)
    }

    /// Grants an app role of the resource (by its service principal) to a client service
    /// principal: one row of "Grant admin consent".
    pub async fn assign_app_role(
        &self,
        tenant_id: &str,
        principal_id: &str,
        resource_id: &str,
        app_role_id: &str,
    ) -> Result<AppRoleAssignmentRow> {
        let principal = self.get_service_principal(tenant_id, principal_id).await?;
        let resource_sp = self.get_service_principal(tenant_id, resource_id).await?;
        let resource = self
            .find_application_by_app_id(&resource_sp.app_id)
            .await?
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("application {}", resource_sp.app_id))
            })?;
        let role = resource.app_role_by_id(app_role_id).ok_or_else(|| {
            DirectoryError::Invalid(format!(
                "appRoleId {app_role_id} is not a role of {}",
                resource.display_name
            ))
        })?;
        Ok(self
            .store
            .insert_app_role_assignment(&AppRoleAssignmentRow {
                id: new_guid(),
                tenant_id: tenant_id.into(),
                principal_id: principal.id,
                resource_id: resource_sp.id,
                app_role_id: role.id.clone(),
                created_at: now_secs(&self.clock),
            })
            .await?)
    }

    /// The grants a client service principal holds.
    pub async fn list_app_role_assignments(
        &self,
        tenant_id: &str,
        principal_id: &str,
    ) -> Result<Vec<AppRoleAssignmentRow>> {
        self.get_service_principal(tenant_id, principal_id).await?;
        Ok(self
            .store
            .list_app_role_assignments(tenant_id, principal_id)
            .await?)
    }

    /// The app-role assignments made on a resource service principal: Graph's
    /// `servicePrincipals/{id}/appRoleAssignedTo`.
    pub async fn list_app_role_assignments_to(
        &self,
        tenant_id: &str,
        resource_id: &str,
    ) -> Result<Vec<AppRoleAssignmentRow>> {
        let sp = self.get_service_principal(tenant_id, resource_id).await?;
        Ok(self
            .store
            .list_app_role_assignments_to(tenant_id, &sp.id)
            .await?)
    }

    /// The role values granted to a client service principal on a resource app.
    pub async fn granted_roles(
        &self,
        tenant_id: &str,
        principal_id: &str,
        resource: &Application,
    ) -> Result<Vec<String>> {
        let Some(resource_sp) = self
            .store
            .find_service_principal(tenant_id, &resource.app_id)
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut roles: Vec<String> = self
            .store
            .list_app_role_assignments(tenant_id, principal_id)
            .await?
            .into_iter()
            .filter(|a| a.resource_id == resource_sp.id)
            .filter_map(|a| {
                resource
                    .app_role_by_id(&a.app_role_id)
                    .filter(|r| r.is_enabled)
                    .map(|r| r.value.clone())
            })
            .collect();
        roles.sort();
        roles.dedup();
        Ok(roles)
    }

    /// Adds application permissions of `resource` (a resource string or display name) to
    /// the app's required access and grants admin consent for them in `tenant_id`: what
    /// "API permissions → Add → Grant admin consent" does in the portal.
    pub async fn grant_permissions(
        &self,
        tenant_id: &str,
        app: &str,
        resource: &str,
        permissions: &[String],
    ) -> Result<GrantOutcome> {
        // An app of this tenant, or (admin consent in a customer tenant) any multi-tenant
        // app by its client id.
        let mut client = self.consentable_client(tenant_id, app).await?;
        let resource_app = self.resolve_resource_app(resource).await?;
        if permissions.is_empty() {
            return Err(DirectoryError::Invalid(
                "name at least one permission".into(),
            ));
        }
        let mut roles = Vec::new();
        for p in permissions {
            let role = resource_app.app_role_by_value(p).cloned().ok_or_else(|| {
                let known: Vec<_> = resource_app
                    .definition
                    .app_roles
                    .iter()
                    .map(|r| r.value.as_str())
                    .collect();
                DirectoryError::Invalid(format!(
                    "'{p}' is not an application permission of {} (known: {})",
                    resource_app.display_name,
                    known.join(", ")
                ))
            })?;
            roles.push(role);
        }
        // requiredResourceAccess
        let entry = match client
            .definition
            .required_resource_access
            .iter_mut()
            .find(|r| r.resource_app_id == resource_app.app_id)
        {
            Some(e) => e,
            None => {
                client
                    .definition
                    .required_resource_access
                    .push(RequiredResourceAccess {
                        resource_app_id: resource_app.app_id.clone(),
                        resource_access: Vec::new(),
                    });
                client
                    .definition
                    .required_resource_access
                    .last_mut()
                    .ok_or_else(|| DirectoryError::Invalid("requiredResourceAccess".into()))?
            }
        };
        for role in &roles {
            if !entry.resource_access.iter().any(|a| a.id == role.id) {
                entry.resource_access.push(ResourceAccess {
                    id: role.id.clone(),
                    kind: "Role".into(),
                });
            }
        }
        // Consent in `tenant_id`: service principals on both sides, then the assignments.
        let client_sp = self
            .ensure_service_principal(tenant_id, &client.app_id)
            .await?;
        let resource_sp = self
            .ensure_service_principal(tenant_id, &resource_app.app_id)
            .await?;
        if client.tenant_id.as_deref() == Some(tenant_id) {
            self.store
                .update_application_definition(
                    tenant_id,
                    &client.id,
                    &definition_json(&client.definition)?,
                )
                .await?;
        }
        let mut granted = Vec::new();
        for role in roles {
            let a = self
                .assign_app_role(tenant_id, &client_sp.id, &resource_sp.id, &role.id)
                .await?;
            granted.push((role.value, a));
        }
        Ok(GrantOutcome {
            client_service_principal: client_sp,
            resource_service_principal: resource_sp,
            granted,
        })
    }
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
