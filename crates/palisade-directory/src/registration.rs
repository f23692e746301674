//! An application registration as stored and the rules it must satisfy: the row read
//! into the model, the definition written as JSON, the identifier-URI, redirect-URI and
//! token-version checks shared by creation and PATCH.

use crate::error::{DirectoryError, Result};
use crate::model::{normalize_identifier_uri, Application, ApplicationDefinition, SignInAudience};
use palisade_store::{ApplicationRow, StoreError};
use uuid::Uuid;

pub(crate) fn to_app(row: ApplicationRow) -> Result<Application> {
    let definition: ApplicationDefinition =
        serde_json::from_str(&row.definition_json).map_err(|e| {
            DirectoryError::Store(StoreError::Corrupt(format!("application {}: {e}", row.id)))
        })?;
    let sign_in_audience = SignInAudience::parse(&row.sign_in_audience).ok_or_else(|| {
        DirectoryError::Store(StoreError::Corrupt(format!(
            "application {}: signInAudience",
            row.id
        )))
    })?;
    Ok(Application {
        id: row.id,
        app_id: row.app_id,
        tenant_id: row.tenant_id,
        display_name: row.display_name,
        sign_in_audience,
        is_public_client: row.is_public_client,
        identifier_uris: row.identifier_uris,
        definition,
        created_at: row.created_at,
    })
}

pub(crate) fn definition_json(def: &ApplicationDefinition) -> Result<String> {
    serde_json::to_string(def).map_err(|e| DirectoryError::Invalid(e.to_string()))
}

/// Whether `s` is a GUID in any case.
pub(crate) fn is_guid(s: &str) -> bool {
    Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Checks a registration's URIs and token version; returns the normalised, deduplicated
/// identifier URIs.
pub(crate) fn check_registration(
    identifier_uris: &[String],
    definition: &ApplicationDefinition,
) -> Result<Vec<String>> {
    let mut uris = Vec::new();
    for uri in identifier_uris {
        let n = normalize_identifier_uri(uri);
        if !(n.starts_with("api://") || n.starts_with("https://") || n.starts_with("urn:")) {
            return Err(DirectoryError::Invalid(format!(
                "identifier URI '{uri}' must start with api://, https:// or urn:"
            )));
        }
        if !uris.contains(&n) {
            uris.push(n);
        }
    }
    for uri in definition
        .web_redirect_uris
        .iter()
        .chain(&definition.spa_redirect_uris)
    {
        crate::redirect::check_redirect_uri(uri, false).map_err(DirectoryError::Invalid)?;
    }
    for uri in &definition.public_client_redirect_uris {
        crate::redirect::check_redirect_uri(uri, true).map_err(DirectoryError::Invalid)?;
    }
    if let Some(v) = definition.requested_access_token_version {
        if v != 1 && v != 2 {
            return Err(DirectoryError::Invalid(
                "requestedAccessTokenVersion must be 1 or 2".into(),
            ));
        }
    }
    Ok(uris)
}
