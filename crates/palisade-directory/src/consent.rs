//! Delegated permissions and consent, for any resource app (the Defender API today,
//! Microsoft Graph tomorrow): Graph's `oauth2PermissionGrant` model.
//!
//! A grant lets a client use some delegated scopes of one resource, either for every user
//! of the tenant (`AllPrincipals`, admin consent: `palisade admin grant APP --delegated …`
//! or an administrator ticking "Consent on behalf of your organization") or for one user
//! (`Principal`, the user's own consent on the consent page). The scopes a token may carry
//! for a user are the union of both kinds of grant.
//!
//! Who may consent: a user for themselves to scopes whose `type` is `User`; a Global
//! Administrator to any scope, for themselves or for the organization, on the delegated
//! consent page [inferred: Entra also lets application administrators do it there]. Tenant-
//! wide admin consent to an application (app roles) is `admin_consent.rs`, which accepts the
//! four roles of `roles::APP_CONSENT_ROLES`.

use crate::directory::{new_guid, now_secs, Directory};
use crate::error::DirectoryError;
use crate::model::{Application, RequiredResourceAccess, ResourceAccess, SignInAudience};
use crate::registration::definition_json;
use crate::roles::GLOBAL_ADMINISTRATOR;
use palisade_store::{PermissionGrantRow, ServicePrincipalRow};

type Result<T> = std::result::Result<T, DirectoryError>;

/// `AllPrincipals`: admin consent for every user.
pub const ALL_PRINCIPALS: &str = "AllPrincipals";
/// `Principal`: one user's consent.
pub const PRINCIPAL: &str = "Principal";

/// Whose consent a grant records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentType {
    /// Every user of the tenant.
    AllPrincipals,
    /// One user (object id).
    Principal(String),
}

impl Directory {
    /// The client app a tenant may consent for: its own app, or a multi-tenant app of
    /// another tenant (by client id).
    pub(crate) async fn consentable_client(
        &self,
        tenant_id: &str,
        app: &str,
    ) -> Result<Application> {
        match self.get_application(tenant_id, app).await {
            Ok(a) => Ok(a),
            Err(DirectoryError::NotFound(what)) => match self.find_application_by_app_id(app).await? {
                Some(a)
                    if a.tenant_id.is_some()
                        && a.sign_in_audience == SignInAudience::AzureADMultipleOrgs =>
                {
                    Ok(a)
                }
                Some(a) if a.tenant_id.is_some() => Err(DirectoryError::Invalid(format!(
                    "application {app} is single-tenant (AzureADMyOrg): it cannot be consented to outside its home tenant"
                ))),
                _ => Err(DirectoryError::NotFound(what)),
            },
            Err(e) => Err(e),
        }
    }

    /// A resource app by resource string, client id or built-in display name.
    pub async fn resolve_resource_app(&self, resource: &str) -> Result<Application> {
        if let Some(r) = self.find_resource(resource).await? {
            return Ok(r);
        }
        for b in crate::builtin::builtin_apps() {
            if b.display_name.eq_ignore_ascii_case(resource) {
                if let Some(a) = self.find_application_by_app_id(b.app_id).await? {
                    return Ok(a);
                }
            }
        }
        Err(DirectoryError::NotFound(format!("resource {resource}")))
    }

    /// The canonical values of delegated scopes of `resource` (case-insensitive match);
    /// an unknown or disabled scope is an error naming the known ones.
    pub fn canonical_scopes(resource: &Application, scopes: &[String]) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for s in scopes {
            let found = resource
                .definition
                .oauth2_permission_scopes
                .iter()
                .find(|p| p.is_enabled && p.value.eq_ignore_ascii_case(s.trim()))
                .ok_or_else(|| {
                    let known: Vec<_> = resource
                        .definition
                        .oauth2_permission_scopes
                        .iter()
                        .map(|p| p.value.as_str())
                        .collect();
                    DirectoryError::Invalid(format!(
                        "'{s}' is not a delegated permission of {} (known: {})",
                        resource.display_name,
                        known.join(", ")
                    ))
                })?;
            if !out.contains(&found.value) {
                out.push(found.value.clone());
            }
        }
        Ok(out)
    }

    /// Records consent for delegated `scopes` of `resource` to `client` in `tenant_id`,
    /// creating both service principals when missing. Admin consent (`AllPrincipals`) also
    /// adds the scopes to the client's required permissions, as the portal's "Add a
    /// permission → Grant admin consent" does. Returns the grant as stored (widened, if
    /// one existed).
    pub async fn grant_delegated(
        &self,
        tenant_id: &str,
        client: &str,
        resource: &str,
        scopes: &[String],
        consent: ConsentType,
    ) -> Result<PermissionGrantRow> {
        self.require_tenant(tenant_id).await?;
        let mut client = self.consentable_client(tenant_id, client).await?;
        let resource = self.resolve_resource_app(resource).await?;
        if scopes.is_empty() {
            return Err(DirectoryError::Invalid(
                "name at least one permission".into(),
            ));
        }
        let scopes = Self::canonical_scopes(&resource, scopes)?;
        let client_sp = self
            .ensure_service_principal(tenant_id, &client.app_id)
            .await?;
        let resource_sp = self
            .ensure_service_principal(tenant_id, &resource.app_id)
            .await?;
        let (consent_type, principal) = match &consent {
            ConsentType::AllPrincipals => (ALL_PRINCIPALS, None),
            ConsentType::Principal(user) => {
                let u = self.get_user(tenant_id, user).await?;
                (PRINCIPAL, Some(u.id))
            }
        };
        if consent == ConsentType::AllPrincipals && client.tenant_id.as_deref() == Some(tenant_id) {
            add_required_scopes(&mut client, &resource, &scopes);
            self.store()
                .update_application_definition(
                    tenant_id,
                    &client.id,
                    &definition_json(&client.definition)?,
                )
                .await?;
        }
        Ok(self
            .store()
            .upsert_permission_grant(&PermissionGrantRow {
                id: new_guid(),
                tenant_id: tenant_id.into(),
                client_id: client_sp.id,
                consent_type: consent_type.into(),
                principal_id: principal,
                resource_id: resource_sp.id,
                scope: scopes.join(" "),
                created_at: now_secs(self.clock()),
            })
            .await?)
    }

    /// The delegated scopes of `resource` that `client_app_id` may use for `user_id` in
    /// `tenant_id` (its own and tenant-wide grants), in the resource's catalogue order.
    pub async fn consented_scopes(
        &self,
        tenant_id: &str,
        client_app_id: &str,
        resource: &Application,
        user_id: &str,
    ) -> Result<Vec<String>> {
        let store = self.store();
        let (Some(client_sp), Some(resource_sp)) = (
            store
                .find_service_principal(tenant_id, client_app_id)
                .await?,
            store
                .find_service_principal(tenant_id, &resource.app_id)
                .await?,
        ) else {
            return Ok(Vec::new());
        };
        let grants = store
            .grants_for_user(tenant_id, &client_sp.id, &resource_sp.id, user_id)
            .await?;
        Ok(resource
            .definition
            .oauth2_permission_scopes
            .iter()
            .filter(|p| p.is_enabled)
            .filter(|p| {
                grants
                    .iter()
                    .any(|g| g.scope.split(' ').any(|s| s.eq_ignore_ascii_case(&p.value)))
            })
            .map(|p| p.value.clone())
            .collect())
    }

    /// The delegated scopes of `resource` the client's registration asks for
    /// (`requiredResourceAccess` entries of type `Scope`): what `.default` and v1's
    /// `resource=` ask consent for when nothing is granted yet.
    pub fn required_scopes(client: &Application, resource: &Application) -> Vec<String> {
        let wanted: Vec<&ResourceAccess> = client
            .definition
            .required_resource_access
            .iter()
            .filter(|r| r.resource_app_id.eq_ignore_ascii_case(&resource.app_id))
            .flat_map(|r| r.resource_access.iter())
            .filter(|a| a.kind == "Scope")
            .collect();
        resource
            .definition
            .oauth2_permission_scopes
            .iter()
            .filter(|p| p.is_enabled && wanted.iter().any(|a| a.id.eq_ignore_ascii_case(&p.id)))
            .map(|p| p.value.clone())
            .collect()
    }

    /// Whether the user may consent to `scopes` of `resource` for themselves (every scope
    /// is of type `User`, or the user is a Global Administrator), and whether they may
    /// consent for the whole organization.
    pub async fn consent_rights(
        &self,
        tenant_id: &str,
        user_id: &str,
        resource: &Application,
        scopes: &[String],
    ) -> Result<(bool, bool)> {
        let admin = self
            .user_role_ids(tenant_id, user_id)
            .await?
            .iter()
            .any(|r| r == GLOBAL_ADMINISTRATOR);
        let user_consentable = scopes.iter().all(|s| {
            resource
                .definition
                .oauth2_permission_scopes
                .iter()
                .any(|p| p.value.eq_ignore_ascii_case(s) && p.kind.eq_ignore_ascii_case("User"))
        });
        Ok((admin || user_consentable, admin))
    }

    // ----- Graph oauth2PermissionGrants -------------------------------------------------

    /// `POST /oauth2PermissionGrants`: by service principal ids, as Graph takes them.
    pub async fn create_permission_grant(
        &self,
        tenant_id: &str,
        client_sp_id: &str,
        consent_type: &str,
        principal_id: Option<&str>,
        resource_sp_id: &str,
        scope: &str,
    ) -> Result<PermissionGrantRow> {
        let client_sp = self.get_service_principal(tenant_id, client_sp_id).await?;
        let resource_sp = self
            .get_service_principal(tenant_id, resource_sp_id)
            .await?;
        let scopes: Vec<String> = scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let consent = match (consent_type, principal_id) {
            (c, None) if c.eq_ignore_ascii_case(ALL_PRINCIPALS) => ConsentType::AllPrincipals,
            (c, Some(p)) if c.eq_ignore_ascii_case(PRINCIPAL) => ConsentType::Principal(p.to_string()),
            _ => {
                return Err(DirectoryError::Invalid(
                    "consentType must be AllPrincipals (without principalId) or Principal (with principalId)".into(),
                ))
            }
        };
        self.grant_delegated(
            tenant_id,
            &client_sp.app_id,
            &resource_sp.app_id,
            &scopes,
            consent,
        )
        .await
    }

    /// The tenant's grants, optionally of one client service principal.
    pub async fn list_permission_grants(
        &self,
        tenant_id: &str,
        client_sp_id: Option<&str>,
    ) -> Result<Vec<PermissionGrantRow>> {
        Ok(self
            .store()
            .list_permission_grants(tenant_id, client_sp_id)
            .await?)
    }

    /// A grant by id.
    pub async fn get_permission_grant(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<PermissionGrantRow> {
        self.store()
            .get_permission_grant(tenant_id, id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("oauth2PermissionGrant {id}")))
    }

    /// `PATCH /oauth2PermissionGrants/{id}`: replaces the scope list (validated).
    pub async fn update_permission_grant(
        &self,
        tenant_id: &str,
        id: &str,
        scope: &str,
    ) -> Result<PermissionGrantRow> {
        let grant = self.get_permission_grant(tenant_id, id).await?;
        let resource_sp: ServicePrincipalRow = self
            .get_service_principal(tenant_id, &grant.resource_id)
            .await?;
        let resource = self.resolve_resource_app(&resource_sp.app_id).await?;
        let scopes: Vec<String> = scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let scopes = Self::canonical_scopes(&resource, &scopes)?;
        self.store()
            .set_permission_grant_scope(tenant_id, id, &scopes.join(" "))
            .await?;
        self.get_permission_grant(tenant_id, id).await
    }

    /// Deletes a grant (revokes consent).
    pub async fn delete_permission_grant(&self, tenant_id: &str, id: &str) -> Result<()> {
        if self.store().delete_permission_grant(tenant_id, id).await? {
            Ok(())
        } else {
            Err(DirectoryError::NotFound(format!(
                "oauth2PermissionGrant {id}"
            )))
        }
    }
}

fn add_required_scopes(client: &mut Application, resource: &Application, scopes: &[String]) {
    let entries = &mut client.definition.required_resource_access;
    let pos = match entries
        .iter()
        .position(|r| r.resource_app_id.eq_ignore_ascii_case(&resource.app_id))
    {
        Some(p) => p,
        None => {
            entries.push(RequiredResourceAccess {
                resource_app_id: resource.app_id.clone(),
                resource_access: Vec::new(),
            });
            entries.len() - 1
        }
    };
    for s in scopes {
        if let Some(p) = resource
            .definition
            .oauth2_permission_scopes
            .iter()
            .find(|p| &p.value == s)
        {
            let access = &mut entries[pos].resource_access;
            if !access.iter().any(|a| a.id == p.id) {
                access.push(ResourceAccess {
                    id: p.id.clone(),
                    kind: "Scope".into(),
                });
            }
        }
    }
}
