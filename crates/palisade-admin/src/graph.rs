//! Microsoft Graph JSON shapes and errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_directory::{
    AppRole, Application, DirectoryError, PermissionScope, RequiredResourceAccess,
};
use palisade_store::{AppRoleAssignmentRow, PasswordCredentialRow, ServicePrincipalRow, TenantRow};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A Graph error: `{"error":{"code","message","innerError":{"date","request-id"}}}`.
#[derive(Debug)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "Request_BadRequest",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "Request_ResourceNotFound",
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken",
            message: "Access token is empty or invalid.".into(),
        }
    }
}

impl From<DirectoryError> for GraphError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::NotFound(what) => Self::not_found(format!(
                "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
            )),
            DirectoryError::Conflict(m) => {
                Self { status: StatusCode::CONFLICT, code: "Request_MultipleObjectsWithSameKeyValue", message: m }
            }
            DirectoryError::Invalid(m) => Self::bad_request(m),
            DirectoryError::Store(e) => {
                tracing::error!(error = %e, "admin API store failure");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "Service_InternalServerError",
                    message: "Encountered an internal server error.".into(),
                }
            }
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let date = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {"date": rfc3339(date), "request-id": uuid::Uuid::new_v4().to_string()}
        }});
        (self.status, axum::Json(body)).into_response()
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .map(rfc3339)
        .unwrap_or_default()
}

const CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata";

pub fn collection(entity_set: &str, values: Vec<Value>) -> Value {
    json!({"@odata.context": format!("{CONTEXT}#{entity_set}"), "value": values})
}

pub fn entity(entity_set: &str, mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        let mut out = serde_json::Map::new();
        out.insert(
            "@odata.context".into(),
            json!(format!("{CONTEXT}#{entity_set}/$entity")),
        );
        out.extend(std::mem::take(o));
        return Value::Object(out);
    }
    v
}

pub fn tenant_json(t: &TenantRow) -> Value {
    json!({
        "id": t.id,
        "displayName": t.display_name,
        "createdDateTime": unix(t.created_at),
        "verifiedDomains": [{"name": t.initial_domain, "isInitial": true, "isDefault": true, "type": "Managed"}],
    })
}

pub fn password_json(p: &PasswordCredentialRow, secret_text: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": p.display_name,
        "endDateTime": unix(p.end_at),
        "hint": p.hint,
        "keyId": p.key_id,
        "secretText": secret_text,
        "startDateTime": unix(p.start_at),
    })
}

pub fn application_json(
    app: &Application,
    passwords: &[PasswordCredentialRow],
    publisher_domain: &str,
) -> Value {
    json!({
        "id": app.id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "createdDateTime": unix(app.created_at),
        "publisherDomain": publisher_domain,
        "signInAudience": app.sign_in_audience.as_str(),
        "identifierUris": app.identifier_uris,
        "isFallbackPublicClient": app.is_public_client,
        "web": {"redirectUris": app.definition.web_redirect_uris},
        "spa": {"redirectUris": app.definition.spa_redirect_uris},
        "publicClient": {"redirectUris": app.definition.public_client_redirect_uris},
        "requiredResourceAccess": app.definition.required_resource_access,
        "appRoles": app.definition.app_roles,
        "api": {
            "requestedAccessTokenVersion": app.definition.requested_access_token_version,
            "oauth2PermissionScopes": app.definition.oauth2_permission_scopes,
        },
        "passwordCredentials": passwords.iter().map(|p| password_json(p, None)).collect::<Vec<_>>(),
        "keyCredentials": [],
    })
}

pub fn service_principal_json(sp: &ServicePrincipalRow, app: Option<&Application>) -> Value {
    json!({
        "id": sp.id,
        "appId": sp.app_id,
        "displayName": app.map(|a| a.display_name.as_str()),
        "appOwnerOrganizationId": app.map(|a| a.tenant_id.clone().unwrap_or_else(|| palisade_directory::MICROSOFT_SERVICES_TENANT_ID.into())),
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "createdDateTime": unix(sp.created_at),
        "appRoles": app.map(|a| a.definition.app_roles.clone()).unwrap_or_default(),
        "oauth2PermissionScopes": app.map(|a| a.definition.oauth2_permission_scopes.clone()).unwrap_or_default(),
        "servicePrincipalNames": app.map(|a| {
            let mut names = vec![a.app_id.clone()];
            names.extend(a.identifier_uris.iter().cloned());
            names
        }).unwrap_or_default(),
    })
}

pub fn assignment_json(
    a: &AppRoleAssignmentRow,
    principal_name: Option<&str>,
    resource_name: Option<&str>,
) -> Value {
    json!({
        "id": a.id,
        "appRoleId": a.app_role_id,
        "createdDateTime": unix(a.created_at),
        "principalId": a.principal_id,
        "principalType": "ServicePrincipal",
        "principalDisplayName": principal_name,
        "resourceId": a.resource_id,
        "resourceDisplayName": resource_name,
    })
}

/// `POST /applications` body (unknown properties are refused, as Graph does).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApplication {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub display_name: Option<String>,
    pub sign_in_audience: Option<String>,
    pub is_fallback_public_client: Option<bool>,
    pub identifier_uris: Option<Vec<String>>,
    pub web: Option<RedirectUris>,
    pub spa: Option<RedirectUris>,
    pub public_client: Option<RedirectUris>,
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    pub app_roles: Option<Vec<AppRole>>,
    pub api: Option<ApiSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectUris {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiSettings {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub requested_access_token_version: Option<u8>,
    pub oauth2_permission_scopes: Option<Vec<PermissionScope>>,
}

/// `addPassword` body.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassword {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub password_credential: Option<PasswordCredentialInput>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordCredentialInput {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_date_time: Option<OffsetDateTime>,
}

/// `removePassword` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovePassword {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub key_id: String,
}

/// `POST /servicePrincipals` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateServicePrincipal {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub app_id: String,
}

/// `POST /servicePrincipals/{id}/appRoleAssignments` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAssignment {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
}

/// `POST /admin/tenants` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub display_name: String,
    pub domain: Option<String>,
    pub id: Option<String>,
}

/// `POST /admin/{tenant}/grants` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGrant {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    pub app_id: String,
    pub resource: Option<String>,
    pub permissions: Vec<String>,
    /// `Application` (app roles, the default) or `Delegated` (an AllPrincipals
    /// oauth2PermissionGrant).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}
