//! Updating an application registration (Graph's `PATCH /applications/{id}` for every
//! property but `keyCredentials`, which `certificates.rs` owns).

use crate::directory::Directory;
use crate::error::{DirectoryError, Result};
use crate::model::{AppRole, Application, PermissionScope, RequiredResourceAccess, SignInAudience};
use crate::registration::{check_registration, definition_json, to_app};
use palisade_store::ApplicationRow;

/// The properties a PATCH sets; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    /// `displayName` (not blank).
    pub display_name: Option<String>,
    /// `signInAudience`.
    pub sign_in_audience: Option<SignInAudience>,
    /// `isFallbackPublicClient`.
    pub is_public_client: Option<bool>,
    /// `identifierUris` (the whole list).
    pub identifier_uris: Option<Vec<String>>,
    /// `web.redirectUris`.
    pub web_redirect_uris: Option<Vec<String>>,
    /// `publicClient.redirectUris`.
    pub public_client_redirect_uris: Option<Vec<String>>,
    /// `spa.redirectUris`.
    pub spa_redirect_uris: Option<Vec<String>>,
    /// `requiredResourceAccess`.
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    /// `appRoles`.
    pub app_roles: Option<Vec<AppRole>>,
    /// `api.oauth2PermissionScopes`.
    pub oauth2_permission_scopes: Option<Vec<PermissionScope>>,
    /// `api.requestedAccessTokenVersion` (1 or 2).
    pub requested_access_token_version: Option<u8>,
}

impl Directory {
    /// Applies `patch` to an application registered in `tenant_id` (object id or appId),
    /// all or nothing: every rule of a new registration is checked again, identifier URIs
    /// stay unique across the directory, built-in Microsoft apps cannot be changed.
    pub async fn update_application(
        &self,
        tenant_id: &str,
        id: &str,
        patch: ApplicationPatch,
    ) -> Result<Application> {
        let mut app = self.get_application(tenant_id, id).await?;
        if app.tenant_id.as_deref() != Some(tenant_id) {
            return Err(DirectoryError::Invalid(
                "built-in Microsoft applications cannot be changed".into(),
            ));
        }
        if let Some(name) = patch.display_name {
            if name.trim().is_empty() {
                return Err(DirectoryError::Invalid(
                    "displayName cannot be empty".into(),
                ));
            }
            app.display_name = name.trim().to_string();
        }
        if let Some(a) = patch.sign_in_audience {
            app.sign_in_audience = a;
        }
        if let Some(p) = patch.is_public_client {
            app.is_public_client = p;
        }
        let d = &mut app.definition;
        let set = |target: &mut Vec<String>, v: Option<Vec<String>>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut d.web_redirect_uris, patch.web_redirect_uris);
        set(&mut d.spa_redirect_uris, patch.spa_redirect_uris);
        set(
            &mut d.public_client_redirect_uris,
            patch.public_client_redirect_uris,
        );
        if let Some(r) = patch.required_resource_access {
            d.required_resource_access = r;
        }
        if let Some(r) = patch.app_roles {
            d.app_roles = r;
        }
        if let Some(s) = patch.oauth2_permission_scopes {
            d.oauth2_permission_scopes = s;
        }
        if let Some(v) = patch.requested_access_token_version {
            d.requested_access_token_version = Some(v);
        }
        let identifier_uris = patch.identifier_uris.unwrap_or(app.identifier_uris);
        let uris = check_registration(&identifier_uris, &app.definition)?;
        let row = ApplicationRow {
            id: app.id.clone(),
            app_id: app.app_id.clone(),
            tenant_id: app.tenant_id.clone(),
            display_name: app.display_name.clone(),
            sign_in_audience: app.sign_in_audience.as_str().into(),
            is_public_client: app.is_public_client,
            definition_json: definition_json(&app.definition)?,
            identifier_uris: uris,
            created_at: app.created_at,
        };
        if !self.store().update_application(&row).await? {
            return Err(DirectoryError::NotFound(format!("application {id}")));
        }
        to_app(row)
    }
}
