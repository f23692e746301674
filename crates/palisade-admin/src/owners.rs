//! Owners of applications and service principals at Graph's paths:
//! `GET …/{applications|servicePrincipals}/{id}/owners` (a `directoryObject` collection,
//! each with its `@odata.type`), `POST …/owners/$ref` with
//! `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{id}"}` → 204, and
//! `DELETE …/owners/{ownerId}/$ref` → 204. Who may call them is decided before (the admin
//! key, or the Graph front's permissions and ownership rules).

use crate::graph::{collection, GraphError};
use crate::state::{AdminState, ApiResult, GraphJson, PathTenant};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use palisade_directory::{OwnedKind, Owner};
use serde::Deserialize;
use serde_json::{json, Value};

/// The owners routes for applications and service principals (relative to `…/v1.0`).
pub(crate) fn routes() -> Router<AdminState> {
    Router::new()
        .route("/applications/{id}/owners", get(list_app_owners))
        .route("/applications/{id}/owners/$ref", post(add_app_owner))
        .route(
            "/applications/{id}/owners/{owner}/$ref",
            delete(remove_app_owner),
        )
        .route("/servicePrincipals/{id}/owners", get(list_sp_owners))
        .route("/servicePrincipals/{id}/owners/$ref", post(add_sp_owner))
        .route(
            "/servicePrincipals/{id}/owners/{owner}/$ref",
            delete(remove_sp_owner),
        )
}

/// A `$ref` body: the directory object to add, as an OData id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reference {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

/// The object id an `@odata.id` names: an absolute URL whose path is
/// `/{v1.0|beta}/{directoryObjects|users|servicePrincipals}/{guid}` (any host, so that
/// clients pointed at Palisade may use its own). Anything else is Graph's 400.
pub(crate) fn referenced_id(odata_id: &str) -> Result<String, GraphError> {
    let invalid = || GraphError::bad_request("Invalid URL format specified in @odata.id.");
    let rest = odata_id
        .strip_prefix("https://")
        .or_else(|| odata_id.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let path = rest.split_once('/').map(|(_, p)| p).ok_or_else(invalid)?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let id = match segments.as_slice() {
        ["v1.0" | "beta", "directoryObjects" | "users" | "servicePrincipals", id] => *id,
        _ => return Err(invalid()),
    };
    let id = id.trim_start_matches('{').trim_end_matches('}');
    if uuid::Uuid::try_parse(id).is_err() {
        return Err(GraphError::bad_request(format!(
            "Invalid object identifier '{id}'."
        )));
    }
    Ok(id.to_ascii_lowercase())
}

/// An owner as Graph's `directoryObject` with its `@odata.type`.
pub(crate) fn owner_json(owner: &Owner) -> Value {
    match owner {
        Owner::User(u) => json!({
            "@odata.type": "#microsoft.graph.user",
            "id": u.id,
            "displayName": u.display_name,
            "userPrincipalName": u.user_principal_name,
            "accountEnabled": u.account_enabled,
        }),
        Owner::ServicePrincipal(sp, name) => json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": sp.id,
            "appId": sp.app_id,
            "displayName": name,
            "servicePrincipalType": "Application",
        }),
    }
}

async fn list(s: &AdminState, tenant: &str, kind: OwnedKind, id: &str) -> ApiResult {
    let target = s.directory.owned(tenant, kind, id).await?;
    let owners = s.directory.owners(tenant, &target).await?;
    Ok(Json(collection(
        "directoryObjects",
        owners.iter().map(owner_json).collect(),
    ))
    .into_response())
}

async fn add(s: &AdminState, tenant: &str, kind: OwnedKind, id: &str, r: &Reference) -> ApiResult {
    let owner = referenced_id(&r.odata_id)?;
    let target = s.directory.owned(tenant, kind, id).await?;
    s.directory.add_owner(tenant, &target, &owner).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove(s: &AdminState, tenant: &str, kind: OwnedKind, id: &str, owner: &str) -> ApiResult {
    let target = s.directory.owned(tenant, kind, id).await?;
    s.directory.remove_owner(tenant, &target, owner).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_app_owners(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    list(&s, &t.id, OwnedKind::Application, &id).await
}

async fn add_app_owner(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(r): GraphJson<Reference>,
) -> ApiResult {
    add(&s, &t.id, OwnedKind::Application, &id, &r).await
}

async fn remove_app_owner(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id, owner)): Path<(String, String, String)>,
) -> ApiResult {
    remove(&s, &t.id, OwnedKind::Application, &id, &owner).await
}

async fn list_sp_owners(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    list(&s, &t.id, OwnedKind::ServicePrincipal, &id).await
}

async fn add_sp_owner(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(r): GraphJson<Reference>,
) -> ApiResult {
    add(&s, &t.id, OwnedKind::ServicePrincipal, &id, &r).await
}

async fn remove_sp_owner(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id, owner)): Path<(String, String, String)>,
) -> ApiResult {
    remove(&s, &t.id, OwnedKind::ServicePrincipal, &id, &owner).await
}

#[cfg(test)]
mod tests {
    use super::referenced_id;

    #[test]
    fn odata_ids() {
        let id = "075b32dd-edb7-47cf-89ef-f3f733683a3f";
        for good in [
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}"),
            format!("https://localhost:8443/beta/users/{id}"),
            format!(
                "https://graph.microsoft.com/v1.0/directoryObjects/{{{}}}",
                id.to_uppercase()
            ),
        ] {
            assert_eq!(referenced_id(&good).unwrap(), id, "{good}");
        }
        for bad in [
            id.to_string(),
            format!("https://graph.microsoft.com/v1.0/applications/{id}"),
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}/x"),
            "https://graph.microsoft.com/v1.0/directoryObjects/not-a-guid".into(),
            format!("ftp://graph.microsoft.com/v1.0/directoryObjects/{id}"),
        ] {
            assert!(referenced_id(&bad).is_err(), "{bad}");
        }
    }
}
