//! The directory in memory for token issuance: [`AppDirectory`] is what an app-only token
//! reads (tenant, client application, its secrets, service principals, the resource and the
//! roles granted on it), and [`Snapshots`] serves it from memory as [`DirectorySnapshot`]
//! views over per-tenant [`TenantPart`]s.
//!
//! **Parts.** The directory is held per slice: one [`TenantPart`] per tenant (its row,
//! verified domains, the applications registered in it with their secrets, the service
//! principals and app-role assignments in it) and one for the built-in applications. A
//! part is loaded on first use, not at startup, so a directory of 100,000 applications
//! costs only the tenants that request tokens, and it holds only what a token needs
//! (ids, audience, identifier URIs, app roles and scopes, secret hashes and validity,
//! principal and grant ids as [`Uuid`]s in sorted slices): redirect URIs and
//! `requiredResourceAccess` are left out — read [`crate::Directory`] for a full
//! registration. Certificates (`keyCredentials`) are not held: a client assertion writes
//! its `jti` anyway.
//!
//! **Visibility** [inferred from Entra's rules]: a view for tenant T holds T's part, the
//! built-ins, and the parts of the other applications the request names (a multi-tenant
//! client, a resource registered elsewhere). A single-tenant application can have a
//! service principal only in its home tenant, so nothing else is needed.
//!
//! **Consistency.** Triggers bump the global `directory_version` on every write to those
//! tables — by this process, by another process on the same database (the CLI's admin
//! commands), or by a foreign-key cascade — and record the written tenant's slice in
//! `tenant_directory_versions` (migration 0008). [`Snapshots::view`] reads the global
//! counter (one indexed row) on every call; when it moved, it reads which slices changed
//! and drops just those parts, which reload on their next use. So the next token request
//! after any committed write sees it, and a write costs one tenant's reload, not the
//! whole directory's. Callers that miss wait on one loader.
//!
//! Names a request gives that no held part knows (an unknown client id, a resource of
//! another tenant) cost one indexed query; positive answers are remembered as hints, always
//! checked against the part they point to.

use crate::error::DirectoryError;
use crate::model::{normalize_identifier_uri, Application, ApplicationDefinition, SignInAudience};
use crate::registration::{is_guid, to_app};
use crate::secret::verify_secret_hash;
use crate::secret::SecretCheck;
use palisade_store::BUILTIN_SLICE;
use palisade_store::{PasswordCredentialRow, Store, StoreError, TenantDirectoryRows, TenantRow};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use uuid::Uuid;

/// What issuing an app-only (client-credentials) token reads from the directory: one
/// consistent view, read without I/O. Every lookup that belongs to a tenant takes it.
pub trait AppDirectory: Send + Sync {
    /// The tenant a path segment names: its id (any case) or a verified domain. Aliases
    /// (`common`, …) name none.
    fn tenant(&self, segment: &str) -> Option<&TenantRow>;
    /// An application by client id, any case: the tenant's own, a multi-tenant one the
    /// view was asked for, or a built-in. Its registration is trimmed to what a token
    /// needs (no redirect URIs, no `requiredResourceAccess`).
    fn application(&self, app_id: &str) -> Option<&Application>;
    /// The application a `resource` names: an identifier URI (any case, trailing slash or
    /// not), a client id, or `api://{client id}`.
    fn resource(&self, resource: &str) -> Option<&Application>;
    /// The object id of the service principal of `app_id` in `tenant_id`.
    fn service_principal_id(&self, tenant_id: &str, app_id: &str) -> Option<Uuid>;
    /// Checks a presented client secret against every secret of `app` at `now` (unix s);
    /// `None` if the view does not hold `app`'s secrets (ask [`crate::Directory`]).
    fn check_client_secret(
        &self,
        app: &Application,
        presented: &str,
        now: i64,
    ) -> Option<SecretCheck>;
    /// The enabled role values granted in `tenant_id` to the client principal on
    /// `resource`, sorted and unique.
    fn granted_roles(
        &self,
        tenant_id: &str,
        principal_id: Uuid,
        resource: &Application,
    ) -> Vec<String>;
}

/// One stored client secret, as far as checking it goes.
pub(crate) trait StoredSecret {
    /// Key id.
    fn key_id(&self) -> &str;
    /// SHA-256 of the secret.
    fn hash(&self) -> &[u8];
    /// Validity, unix seconds: `[start, end)`.
    fn validity(&self) -> (i64, i64);
}

impl StoredSecret for PasswordCredentialRow {
    fn key_id(&self) -> &str {
        &self.key_id
    }
    fn hash(&self) -> &[u8] {
        &self.secret_hash
    }
    fn validity(&self) -> (i64, i64) {
        (self.start_at, self.end_at)
    }
}

/// Checks `presented` against every one of `credentials`, each compared in constant time
/// whatever matched first; the first match decides valid or expired.
pub(crate) fn check_secret<'a, S: StoredSecret + 'a>(
    credentials: impl IntoIterator<Item = &'a S>,
    presented: &str,
    now: i64,
) -> SecretCheck {
    let mut result = SecretCheck::Invalid;
    for cred in credentials {
        if verify_secret_hash(presented, cred.hash()) && result == SecretCheck::Invalid {
            let (start, end) = cred.validity();
            result = if now < start || now >= end {
                SecretCheck::Expired(cred.key_id().to_string())
            } else {
                SecretCheck::Valid(cred.key_id().to_string())
            };
        }
    }
    result
}

/// A client secret as a part holds it.
#[derive(Debug)]
struct HeldSecret {
    key_id: Box<str>,
    hash: Box<[u8]>,
    start_at: i64,
    end_at: i64,
}

impl StoredSecret for HeldSecret {
    fn key_id(&self) -> &str {
        &self.key_id
    }
    fn hash(&self) -> &[u8] {
        &self.hash
    }
    fn validity(&self) -> (i64, i64) {
        (self.start_at, self.end_at)
    }
}

/// An application as a part holds it: the trimmed registration and its secrets.
#[derive(Debug)]
struct HeldApp {
    app: Application,
    secrets: Box<[HeldSecret]>,
}

/// One slice of the directory (a tenant, or the built-ins) at one version, compact and
/// sorted for binary search.
#[derive(Debug, Default)]
pub struct TenantPart {
    version: i64,
    /// The slice key: a tenant id, or `""` for the built-ins.
    slice: Box<str>,
    tenant: Option<TenantRow>,
    /// Verified domains, lower case, sorted.
    domains: Box<[Box<str>]>,
    /// Client id → application, sorted by client id.
    apps: Box<[(Uuid, HeldApp)]>,
    /// Normalised identifier URI → client id, sorted by URI.
    uris: Box<[(Box<str>, Uuid)]>,
    /// Client id → service principal id in this tenant, sorted.
    principals: Box<[(Uuid, Uuid)]>,
    /// Client principal id → (resource principal id, app role id), sorted.
    assignments: Box<[(Uuid, Uuid, Uuid)]>,
}

fn guid(field: &str, s: &str) -> Result<Uuid, DirectoryError> {
    Uuid::parse_str(s).map_err(|_| {
        DirectoryError::Store(StoreError::Corrupt(format!("{field} '{s}' is not a GUID")))
    })
}

/// Only what a token reads of a registration: the rest stays in the store.
fn trimmed(mut app: Application) -> Application {
    let def = std::mem::take(&mut app.definition);
    app.definition = ApplicationDefinition {
        app_roles: def.app_roles,
        oauth2_permission_scopes: def.oauth2_permission_scopes,
        requested_access_token_version: def.requested_access_token_version,
        ..ApplicationDefinition::default()
    };
    app
}

impl TenantPart {
    /// Indexes the rows of one slice.
    pub fn build(slice: &str, rows: TenantDirectoryRows) -> Result<Self, DirectoryError> {
        let mut secrets: HashMap<String, Vec<HeldSecret>> = HashMap::new();
        for c in rows.password_credentials {
            secrets
                .entry(c.application_id)
                .or_default()
                .push(HeldSecret {
                    key_id: c.key_id.into(),
                    hash: c.secret_hash.into(),
                    start_at: c.start_at,
                    end_at: c.end_at,
                });
        }
        let mut apps = Vec::with_capacity(rows.applications.len());
        let mut uris: Vec<(Box<str>, Uuid)> = Vec::new();
        for row in rows.applications {
            let app = trimmed(to_app(row)?);
            let id = guid("application appId", &app.app_id)?;
            uris.extend(app.identifier_uris.iter().map(|u| (u.as_str().into(), id)));
            let held = secrets
                .remove(&app.id)
                .unwrap_or_default()
                .into_boxed_slice();
            apps.push((id, HeldApp { app, secrets: held }));
        }
        apps.sort_unstable_by_key(|(id, _)| *id);
        uris.sort_unstable();
        let mut principals = rows
            .service_principals
            .iter()
            .map(|sp| {
                Ok((
                    guid("appId", &sp.app_id)?,
                    guid("servicePrincipal id", &sp.id)?,
                ))
            })
            .collect::<Result<Vec<_>, DirectoryError>>()?;
        principals.sort_unstable();
        let mut assignments = rows
            .app_role_assignments
            .iter()
            .map(|a| {
                Ok((
                    guid("principalId", &a.principal_id)?,
                    guid("resourceId", &a.resource_id)?,
                    guid("appRoleId", &a.app_role_id)?,
                ))
            })
            .collect::<Result<Vec<_>, DirectoryError>>()?;
        assignments.sort_unstable();
        let mut domains: Vec<Box<str>> =
            rows.verified_domains.into_iter().map(Into::into).collect();
        domains.sort_unstable();
        Ok(Self {
            version: rows.version,
            slice: slice.into(),
            tenant: rows.tenant,
            domains: domains.into(),
            apps: apps.into(),
            uris: uris.into(),
            principals: principals.into(),
            assignments: assignments.into(),
        })
    }

    /// The `directory_version` this part was read at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Number of applications held.
    pub fn application_count(&self) -> usize {
        self.apps.len()
    }

    fn held_app(&self, app_id: Uuid) -> Option<&HeldApp> {
        self.apps
            .binary_search_by_key(&app_id, |(id, _)| *id)
            .ok()
            .map(|i| &self.apps[i].1)
    }

    fn by_uri(&self, normalized: &str) -> Option<&Application> {
        let i = self
            .uris
            .binary_search_by(|(u, _)| (**u).cmp(normalized))
            .ok()?;
        self.held_app(self.uris[i].1).map(|h| &h.app)
    }

    fn has_domain(&self, domain: &str) -> bool {
        self.domains.binary_search_by(|d| (**d).cmp(domain)).is_ok()
    }

    /// The application `name` (a client id, identifier URI or `api://{client id}`) names
    /// in this part.
    fn named(&self, name: &str) -> Option<&Application> {
        let n = normalize_identifier_uri(name);
        if let Some(app) = self.by_uri(&n) {
            return Some(app);
        }
        let id = Uuid::parse_str(n.strip_prefix("api://").unwrap_or(&n)).ok()?;
        self.held_app(id).map(|h| &h.app)
    }

    /// The multi-tenant application `name` names in this part: what a request to another
    /// tenant may see of it.
    fn named_for_others(&self, name: &str) -> Option<&Application> {
        self.named(name)
            .filter(|a| a.sign_in_audience == SignInAudience::AzureADMultipleOrgs)
    }

    fn is_tenant(&self, tenant_id: &str) -> bool {
        self.tenant.is_some() && self.slice.eq_ignore_ascii_case(tenant_id)
    }
}

/// The app-only directory as one request sees it: the parts it needs, each consistent
/// with every write committed before the view was taken.
#[derive(Debug)]
pub struct DirectorySnapshot {
    version: i64,
    /// Built-ins first, then the request's tenant, then the slices of other names.
    parts: Vec<Arc<TenantPart>>,
}

impl DirectorySnapshot {
    /// The `directory_version` this view was checked at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Whether this view holds the very part objects of `other` for every slice both have:
    /// true when nothing in them was reloaded between the two.
    pub fn shares_parts_with(&self, other: &DirectorySnapshot) -> bool {
        self.parts.iter().all(|p| {
            other
                .parts
                .iter()
                .filter(|o| o.slice == p.slice)
                .all(|o| Arc::ptr_eq(o, p))
        })
    }

    fn part_of_tenant(&self, tenant_id: &str) -> Option<&TenantPart> {
        self.parts
            .iter()
            .map(|p| &**p)
            .find(|p| p.is_tenant(tenant_id))
    }

    fn held_app(&self, app_id: &str) -> Option<&HeldApp> {
        let id = Uuid::parse_str(app_id).ok()?;
        self.parts.iter().find_map(|p| p.held_app(id))
    }
}

impl AppDirectory for DirectorySnapshot {
    fn tenant(&self, segment: &str) -> Option<&TenantRow> {
        if is_guid(segment) {
            self.part_of_tenant(segment)?.tenant.as_ref()
        } else if segment.contains('.') {
            let domain = segment.to_ascii_lowercase();
            self.parts
                .iter()
                .find(|p| p.has_domain(&domain))?
                .tenant
                .as_ref()
        } else {
            None
        }
    }

    fn application(&self, app_id: &str) -> Option<&Application> {
        self.held_app(app_id).map(|h| &h.app)
    }

    fn resource(&self, resource: &str) -> Option<&Application> {
        let n = normalize_identifier_uri(resource);
        if let Some(app) = self.parts.iter().find_map(|p| p.by_uri(&n)) {
            return Some(app);
        }
        let guid = n.strip_prefix("api://").unwrap_or(&n);
        if is_guid(guid) {
            return self.application(guid);
        }
        None
    }

    fn service_principal_id(&self, tenant_id: &str, app_id: &str) -> Option<Uuid> {
        let app_id = Uuid::parse_str(app_id).ok()?;
        let part = self.part_of_tenant(tenant_id)?;
        let i = part
            .principals
            .binary_search_by_key(&app_id, |(a, _)| *a)
            .ok()?;
        Some(part.principals[i].1)
    }

    fn check_client_secret(
        &self,
        app: &Application,
        presented: &str,
        now: i64,
    ) -> Option<SecretCheck> {
        let held = self.held_app(&app.app_id).filter(|h| h.app.id == app.id)?;
        Some(check_secret(held.secrets.iter(), presented, now))
    }

    fn granted_roles(
        &self,
        tenant_id: &str,
        principal_id: Uuid,
        resource: &Application,
    ) -> Vec<String> {
        let Some(resource_sp) = self.service_principal_id(tenant_id, &resource.app_id) else {
            return Vec::new();
        };
        let Some(part) = self.part_of_tenant(tenant_id) else {
            return Vec::new();
        };
        let from = part.assignments.partition_point(|a| a.0 < principal_id);
        let mut roles: Vec<String> = part.assignments[from..]
            .iter()
            .take_while(|a| a.0 == principal_id)
            .filter(|a| a.1 == resource_sp)
            .filter_map(|a| {
                resource
                    .definition
                    .app_roles
                    .iter()
                    .find(|r| Uuid::parse_str(&r.id).ok() == Some(a.2))
                    .filter(|r| r.is_enabled)
                    .map(|r| r.value.clone())
            })
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// The parts held, and what has been applied of the change log.
#[derive(Debug, Default)]
struct Held {
    /// Every change up to this `directory_version` has dropped the parts it touched.
    seen: i64,
    parts: HashMap<Box<str>, Arc<TenantPart>>,
    /// A name (client id or normalised URI, lower case; a verified domain) → the slice it
    /// was last found in. Only a hint: checked against that part before use.
    hints: HashMap<Box<str>, Arc<str>>,
    /// Names and tenant ids found nowhere as of `seen` (cleared when it moves, bounded by
    /// [`MAX_MISSES`]), so repeated requests naming them do not queue for the loader.
    misses: HashSet<Box<str>>,
}

/// The most names remembered as absent at once.
const MAX_MISSES: usize = 10_000;

impl Held {
    fn remember_miss(&mut self, key: &str) {
        if self.misses.len() >= MAX_MISSES {
            self.misses.clear();
        }
        self.misses.insert(key.into());
    }
}

impl Held {
    /// The slice a tenant segment names, if it can be told without I/O: `Ok(None)` for
    /// an alias, `Err(())` when it needs the store.
    fn slice_of_segment(&self, segment: &str) -> Result<Option<Arc<str>>, ()> {
        if is_guid(segment) {
            Ok(Some(segment.to_ascii_lowercase().into()))
        } else if segment.contains('.') {
            let domain = segment.to_ascii_lowercase();
            match self.hints.get(domain.as_str()) {
                Some(slice)
                    if self
                        .parts
                        .get(&**slice)
                        .is_some_and(|p| p.has_domain(&domain)) =>
                {
                    Ok(Some(slice.clone()))
                }
                _ => Err(()),
            }
        } else {
            Ok(None)
        }
    }

    /// The held part that holds `name`: among `parts` (the built-ins and the request's
    /// tenant) first, then, by hint, another tenant's part if `name` is multi-tenant there.
    fn part_naming(&self, parts: &[Arc<TenantPart>], name: &str) -> Option<Arc<TenantPart>> {
        if let Some(p) = parts.iter().find(|p| p.named(name).is_some()) {
            return Some(p.clone());
        }
        let slice = self.hints.get(hint_key(name).as_str())?;
        self.parts
            .get(&**slice)
            .filter(|p| p.named_for_others(name).is_some())
            .cloned()
    }
}

fn hint_key(name: &str) -> String {
    normalize_identifier_uri(name)
}

/// The parts a view needs, found among the held ones; `None` if one is missing.
fn view_from(
    held: &RwLockReadGuard<'_, Held>,
    version: i64,
    segment: &str,
    names: &[&str],
) -> Option<DirectorySnapshot> {
    if held.seen < version {
        return None;
    }
    let mut parts = vec![held.parts.get(BUILTIN_SLICE)?.clone()];
    let slice = match held.slice_of_segment(segment) {
        Ok(slice) => slice,
        Err(()) if held.misses.contains(segment.to_ascii_lowercase().as_str()) => None,
        Err(()) => return None,
    };
    if let Some(slice) = slice {
        match held.parts.get(&*slice) {
            Some(part) => parts.push(part.clone()),
            None if held.misses.contains(&*slice) => {}
            None => return None,
        }
    }
    for name in names {
        let Some(part) = held.part_naming(&parts, name) else {
            if held.misses.contains(hint_key(name).as_str()) {
                continue;
            }
            return None;
        };
        if !parts.iter().any(|p| Arc::ptr_eq(p, &part)) {
            parts.push(part);
        }
    }
    Some(DirectorySnapshot { version, parts })
}

/// The directory in memory for a store: parts loaded on use and dropped when their
/// tenant is written. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Snapshots {
    store: Store,
    held: Arc<RwLock<Held>>,
    loader: Arc<tokio::sync::Mutex<()>>,
}

impl Snapshots {
    /// Snapshots of `store`; nothing is loaded until the first [`Snapshots::view`].
    pub fn new(store: Store) -> Self {
        Self {
            store,
            held: Arc::new(RwLock::new(Held {
                seen: -1,
                ..Held::default()
            })),
            loader: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Held> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Held> {
        self.held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The directory as of now for a request to tenant path segment `segment` that names
    /// the applications `names` (client ids, resources as sent): every write committed
    /// before this call is in it. Names that exist nowhere are simply absent.
    pub async fn view(
        &self,
        segment: &str,
        names: &[&str],
    ) -> Result<Arc<DirectorySnapshot>, DirectoryError> {
        let version = self.store.directory_version().await?;
        if let Some(view) = view_from(&self.read(), version, segment, names) {
            return Ok(Arc::new(view));
        }
        let _one_loader = self.loader.lock().await;
        let seen = self.read().seen;
        if seen < version {
            let changes = if seen < 0 {
                palisade_store::DirectoryChanges {
                    version: self.store.directory_version().await?,
                    tenants: Vec::new(),
                }
            } else {
                self.store.directory_changes_since(seen).await?
            };
            let mut held = self.write();
            for slice in &changes.tenants {
                held.parts.remove(slice.as_str());
            }
            held.seen = changes.version;
            held.misses.clear();
        }
        let version = self.read().seen;
        let mut parts = vec![self.part(BUILTIN_SLICE).await?];
        let cached = self.read().slice_of_segment(segment);
        let slice = match cached {
            Ok(slice) => slice,
            Err(()) => {
                let domain = segment.to_ascii_lowercase();
                let found = self.store.tenant_of_verified_domain(&domain).await?;
                match &found {
                    Some(t) => {
                        self.write().hints.insert(domain.into(), t.as_str().into());
                    }
                    None => self.write().remember_miss(&domain),
                }
                found.map(Into::into)
            }
        };
        if let Some(slice) = slice {
            let part = self.part(&slice).await?;
            if part.tenant.is_some() {
                parts.push(part);
            } else {
                self.write().remember_miss(&slice);
            }
        }
        for name in names {
            let found = self.read().part_naming(&parts, name);
            let part = match found {
                Some(part) => part,
                None => {
                    let n = hint_key(name);
                    let id = n.strip_prefix("api://").unwrap_or(&n);
                    let Some(slice) = self.store.directory_slice_of(id, &n).await? else {
                        self.write().remember_miss(&n);
                        continue;
                    };
                    let part = self.part(&slice).await?;
                    if part.named_for_others(name).is_none() {
                        self.write().remember_miss(&n);
                        continue;
                    }
                    self.write().hints.insert(n.into(), slice.as_str().into());
                    part
                }
            };
            if !parts.iter().any(|p| Arc::ptr_eq(p, &part)) {
                parts.push(part);
            }
        }
        Ok(Arc::new(DirectorySnapshot { version, parts }))
    }

    /// The part of `slice`, loaded if not held. Parts of tenants that do not exist are not
    /// kept (a stream of unknown ids must not grow memory).
    async fn part(&self, slice: &str) -> Result<Arc<TenantPart>, DirectoryError> {
        if let Some(part) = self.read().parts.get(slice) {
            return Ok(part.clone());
        }
        let started = std::time::Instant::now();
        let part = Arc::new(TenantPart::build(
            slice,
            self.store.load_tenant_directory_rows(slice).await?,
        )?);
        tracing::debug!(
            slice,
            version = part.version,
            applications = part.apps.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "directory part loaded"
        );
        if part.tenant.is_some() || slice == BUILTIN_SLICE {
            self.write().parts.insert(slice.into(), part.clone());
        }
        Ok(part)
    }

    /// Number of parts held and applications in them.
    pub fn held(&self) -> (usize, usize) {
        let held = self.read();
        (
            held.parts.len(),
            held.parts.values().map(|p| p.apps.len()).sum(),
        )
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
