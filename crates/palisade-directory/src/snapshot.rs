//! The directory in memory for token issuance: [`AppDirectory`] is what an app-only token
//! reads (tenant, client application, its secrets, service principals, the resource and the
//! roles granted on it), and [`DirectorySnapshot`] serves it from memory.
//!
//! Consistency: a snapshot is the store's [`DirectoryRows`] at one `directory_version`,
//! the counter that SQL triggers bump on every write to those tables — by this process, by
//! another process on the same database (the CLI's admin commands), or by a foreign-key
//! cascade. [`Snapshots::current`] reads the counter (one indexed row) on every call and
//! rebuilds the snapshot when it moved, so the next token request after any committed
//! write sees it. Concurrent callers that find it stale wait for one rebuild.
//!
//! A rebuild reads the whole app-only directory (about 1 s per 100,000 applications on
//! the project's machine): writes are rare next to token requests. Certificates
//! (`keyCredentials`) are not held here: a client assertion writes its `jti` anyway.

use crate::error::DirectoryError;
use crate::model::{normalize_identifier_uri, Application};
use crate::registration::{is_guid, to_app};
use crate::secret::verify_secret_hash;
use crate::secret::SecretCheck;
use palisade_store::{
    AppRoleAssignmentRow, DirectoryRows, PasswordCredentialRow, ServicePrincipalRow, Store,
    TenantRow,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What issuing an app-only (client-credentials) token reads from the directory: one
/// consistent view, read without I/O. Every lookup that belongs to a tenant takes it.
pub trait AppDirectory: Send + Sync {
    /// The tenant a path segment names: its id (any case) or a verified domain. Aliases
    /// (`common`, …) name none.
    fn tenant(&self, segment: &str) -> Option<&TenantRow>;
    /// Any application (of any tenant, or built in) by client id, any case.
    fn application(&self, app_id: &str) -> Option<&Application>;
    /// The application a `resource` names: an identifier URI (any case, trailing slash or
    /// not), a client id, or `api://{client id}`.
    fn resource(&self, resource: &str) -> Option<&Application>;
    /// The service principal of `app_id` in `tenant_id`.
    fn service_principal(&self, tenant_id: &str, app_id: &str) -> Option<&ServicePrincipalRow>;
    /// Checks a presented client secret against every secret of `app` at `now` (unix s).
    fn check_client_secret(&self, app: &Application, presented: &str, now: i64) -> SecretCheck;
    /// The enabled role values granted in `tenant_id` to the client principal on
    /// `resource`, sorted and unique.
    fn granted_roles(
        &self,
        tenant_id: &str,
        principal_id: &str,
        resource: &Application,
    ) -> Vec<String>;
}

/// Checks `presented` against every one of `credentials`, each compared in constant time
/// whatever matched first; the first match decides valid or expired.
pub(crate) fn check_secret<'a>(
    credentials: impl IntoIterator<Item = &'a PasswordCredentialRow>,
    presented: &str,
    now: i64,
) -> SecretCheck {
    let mut result = SecretCheck::Invalid;
    for cred in credentials {
        if verify_secret_hash(presented, &cred.secret_hash) && result == SecretCheck::Invalid {
            result = if now < cred.start_at || now >= cred.end_at {
                SecretCheck::Expired(cred.key_id.clone())
            } else {
                SecretCheck::Valid(cred.key_id.clone())
            };
        }
    }
    result
}

/// The app-only directory at one version, indexed for the token path.
#[derive(Debug, Default)]
pub struct DirectorySnapshot {
    version: i64,
    tenants: HashMap<String, TenantRow>,
    /// Verified domain (lower case) → tenant id.
    domains: HashMap<String, String>,
    /// Client id → application.
    applications: HashMap<String, Application>,
    /// Normalised identifier URI → client id.
    identifier_uris: HashMap<String, String>,
    /// Application object id → its secrets, oldest first.
    secrets: HashMap<String, Vec<PasswordCredentialRow>>,
    /// (tenant id, client id) → service principal.
    principals: HashMap<(String, String), ServicePrincipalRow>,
    /// (tenant id, client principal id) → its assignments.
    assignments: HashMap<(String, String), Vec<AppRoleAssignmentRow>>,
}

impl DirectorySnapshot {
    /// Indexes the rows of one directory version.
    pub fn build(rows: DirectoryRows) -> Result<Self, DirectoryError> {
        let mut snapshot = Self {
            version: rows.version,
            ..Self::default()
        };
        for t in rows.tenants {
            snapshot.tenants.insert(t.id.clone(), t);
        }
        for (domain, tenant_id) in rows.verified_domains {
            snapshot.domains.insert(domain, tenant_id);
        }
        for row in rows.applications {
            let app = to_app(row)?;
            for uri in &app.identifier_uris {
                snapshot
                    .identifier_uris
                    .insert(uri.clone(), app.app_id.clone());
            }
            snapshot.applications.insert(app.app_id.clone(), app);
        }
        for cred in rows.password_credentials {
            snapshot
                .secrets
                .entry(cred.application_id.clone())
                .or_default()
                .push(cred);
        }
        for sp in rows.service_principals {
            snapshot
                .principals
                .insert((sp.tenant_id.clone(), sp.app_id.clone()), sp);
        }
        for a in rows.app_role_assignments {
            snapshot
                .assignments
                .entry((a.tenant_id.clone(), a.principal_id.clone()))
                .or_default()
                .push(a);
        }
        Ok(snapshot)
    }

    /// The `directory_version` this snapshot was read at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Number of applications held (built-ins included).
    pub fn application_count(&self) -> usize {
        self.applications.len()
    }
}

impl AppDirectory for DirectorySnapshot {
    fn tenant(&self, segment: &str) -> Option<&TenantRow> {
        if is_guid(segment) {
            self.tenants.get(&segment.to_ascii_lowercase())
        } else if segment.contains('.') {
            self.domains
                .get(&segment.to_ascii_lowercase())
                .and_then(|id| self.tenants.get(id))
        } else {
            None
        }
    }

    fn application(&self, app_id: &str) -> Option<&Application> {
        self.applications.get(&app_id.to_ascii_lowercase())
    }

    fn resource(&self, resource: &str) -> Option<&Application> {
        let n = normalize_identifier_uri(resource);
        if let Some(app_id) = self.identifier_uris.get(&n) {
            return self.applications.get(app_id);
        }
        let guid = n.strip_prefix("api://").unwrap_or(&n);
        if is_guid(guid) {
            return self.application(guid);
        }
        None
    }

    fn service_principal(&self, tenant_id: &str, app_id: &str) -> Option<&ServicePrincipalRow> {
        self.principals
            .get(&(tenant_id.to_string(), app_id.to_ascii_lowercase()))
    }

    fn check_client_secret(&self, app: &Application, presented: &str, now: i64) -> SecretCheck {
        check_secret(
            self.secrets.get(&app.id).into_iter().flatten(),
            presented,
            now,
        )
    }

    fn granted_roles(
        &self,
        tenant_id: &str,
        principal_id: &str,
        resource: &Application,
    ) -> Vec<String> {
        let Some(resource_sp) = self.service_principal(tenant_id, &resource.app_id) else {
            return Vec::new();
        };
        let mut roles: Vec<String> = self
            .assignments
            .get(&(tenant_id.to_string(), principal_id.to_string()))
            .into_iter()
            .flatten()
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
        roles
    }
}

/// The current [`DirectorySnapshot`] of a store, rebuilt when the store's
/// `directory_version` moves. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Snapshots {
    store: Store,
    current: Arc<RwLock<Arc<DirectorySnapshot>>>,
    rebuild: Arc<tokio::sync::Mutex<()>>,
}

impl Snapshots {
    /// Snapshots of `store`; the first is built by the first [`Snapshots::current`].
    pub fn new(store: Store) -> Self {
        Self {
            store,
            current: Arc::new(RwLock::new(Arc::new(DirectorySnapshot {
                version: -1,
                ..DirectorySnapshot::default()
            }))),
            rebuild: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn held(&self, version: i64) -> Option<Arc<DirectorySnapshot>> {
        let held = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (held.version >= version).then(|| held.clone())
    }

    /// The snapshot as of now: every write committed before this call is in it.
    pub async fn current(&self) -> Result<Arc<DirectorySnapshot>, DirectoryError> {
        let version = self.store.directory_version().await?;
        if let Some(held) = self.held(version) {
            return Ok(held);
        }
        let _one_rebuild = self.rebuild.lock().await;
        if let Some(held) = self.held(version) {
            return Ok(held);
        }
        let started = std::time::Instant::now();
        let fresh = Arc::new(DirectorySnapshot::build(
            self.store.load_directory_rows().await?,
        )?);
        tracing::debug!(
            version = fresh.version,
            applications = fresh.applications.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "directory snapshot rebuilt"
        );
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
