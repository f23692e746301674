//! Tenant-wide admin consent to an application (the partner context): what a customer's
//! administrator grants on the admin consent page, from the admin consent endpoints or the
//! `prompt=consent` link of the Defender partner walkthrough (identity.md §8, §11).
//!
//! Consenting creates the app's service principal in the consenting tenant, an app-role
//! assignment for every application permission (`Role`) of its `requiredResourceAccess`,
//! and an `AllPrincipals` grant for its delegated permissions (`Scope`). Consenting again
//! adds what the app asks for since; nothing is removed. Removing the service principal
//! revokes it all: new tokens for that tenant are refused (AADSTS700016).

use crate::consent::ConsentType;
use crate::directory::Directory;
use crate::error::DirectoryError;
use crate::model::{AppRole, Application, PermissionScope};
use crate::roles::APP_CONSENT_ROLES;
use palisade_store::ServicePrincipalRow;

type Result<T> = std::result::Result<T, DirectoryError>;

/// One permission an application asks for in its `requiredResourceAccess`.
#[derive(Debug, Clone)]
pub enum RequiredPermission {
    /// An application permission (app role) of a resource.
    Application {
        /// The resource app.
        resource: Application,
        /// The role.
        role: AppRole,
    },
    /// A delegated permission (scope) of a resource.
    Delegated {
        /// The resource app.
        resource: Application,
        /// The scope.
        scope: PermissionScope,
    },
}

/// What an admin consent did.
#[derive(Debug, Clone)]
pub struct AdminConsentOutcome {
    /// The app's service principal in the consenting tenant.
    pub service_principal: ServicePrincipalRow,
    /// Application permissions now granted (`resource app id`, role value).
    pub roles: Vec<(String, String)>,
    /// Delegated permissions now granted for every user.
    pub scopes: Vec<(String, String)>,
}

impl Directory {
    /// The permissions `client` asks for, resolved against the resource apps; entries
    /// naming unknown resources, roles or scopes are skipped (Entra ignores them too).
    pub async fn required_permissions(
        &self,
        client: &Application,
    ) -> Result<Vec<RequiredPermission>> {
        let mut out = Vec::new();
        for rra in &client.definition.required_resource_access {
            let Some(resource) = self
                .find_application_by_app_id(&rra.resource_app_id)
                .await?
            else {
                continue;
            };
            for access in &rra.resource_access {
                if access.kind.eq_ignore_ascii_case("Role") {
                    if let Some(role) = resource.app_role_by_id(&access.id).filter(|r| r.is_enabled)
                    {
                        out.push(RequiredPermission::Application {
                            resource: resource.clone(),
                            role: role.clone(),
                        });
                    }
                } else if let Some(scope) = resource
                    .definition
                    .oauth2_permission_scopes
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(&access.id) && s.is_enabled)
                {
                    out.push(RequiredPermission::Delegated {
                        resource: resource.clone(),
                        scope: scope.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Whether the user holds a role that may grant tenant-wide consent to application
    /// permissions (Global, Privileged Role, Cloud Application or Application
    /// Administrator).
    pub async fn may_grant_admin_consent(&self, tenant_id: &str, user_id: &str) -> Result<bool> {
        Ok(self
            .user_role_ids(tenant_id, user_id)
            .await?
            .iter()
            .any(|r| APP_CONSENT_ROLES.iter().any(|a| a.eq_ignore_ascii_case(r))))
    }

    /// Grants tenant-wide consent to everything `client_app_id` asks for in `tenant_id`.
    /// The app must be the tenant's own or multi-tenant.
    pub async fn grant_admin_consent(
        &self,
        tenant_id: &str,
        client_app_id: &str,
    ) -> Result<AdminConsentOutcome> {
        self.require_tenant(tenant_id).await?;
        let client = self.consentable_client(tenant_id, client_app_id).await?;
        let service_principal = self
            .ensure_service_principal(tenant_id, &client.app_id)
            .await?;
        let mut roles = Vec::new();
        let mut scopes: Vec<(String, Vec<String>)> = Vec::new();
        for p in self.required_permissions(&client).await? {
            match p {
                RequiredPermission::Application { resource, role } => {
                    let resource_sp = self
                        .ensure_service_principal(tenant_id, &resource.app_id)
                        .await?;
                    self.assign_app_role(
                        tenant_id,
                        &service_principal.id,
                        &resource_sp.id,
                        &role.id,
                    )
                    .await?;
                    roles.push((resource.app_id.clone(), role.value.clone()));
                }
                RequiredPermission::Delegated { resource, scope } => {
                    match scopes.iter_mut().find(|(r, _)| *r == resource.app_id) {
                        Some((_, list)) => list.push(scope.value.clone()),
                        None => scopes.push((resource.app_id.clone(), vec![scope.value.clone()])),
                    }
                }
            }
        }
        let mut granted_scopes = Vec::new();
        for (resource, list) in scopes {
            self.grant_delegated(
                tenant_id,
                &client.app_id,
                &resource,
                &list,
                ConsentType::AllPrincipals,
            )
            .await?;
            granted_scopes.extend(list.into_iter().map(|s| (resource.clone(), s)));
        }
        Ok(AdminConsentOutcome {
            service_principal,
            roles,
            scopes: granted_scopes,
        })
    }
}
