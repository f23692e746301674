//! Certificate credentials on the admin API, as Graph shapes them:
//! `POST …/applications/{id}/addKey` (with the proof of possession Graph requires),
//! `POST …/applications/{id}/removeKey`, and the `keyCredentials` of
//! `PATCH …/applications/{id}` (the way to add the first certificate; the handler is in
//! `routes.rs`). Entries of a PATCH that carry
//! only a `keyId` keep that credential; entries with a `key` add one; the rest go.
//!
//! [inferred] `customKeyIdentifier` is the certificate's SHA-1 thumbprint in upper-case hex,
//! as Graph shows certificates uploaded through the portal; `key` is returned as `null`
//! (Graph returns it only on `$select`).

use crate::graph::{unix, GraphError};
use crate::state::{AdminState, GraphJson, PathTenant};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use palisade_authority::assertion::{parse_jws, verify_signed_by_application};
use palisade_directory::certificates::thumbprint_hex;
use palisade_directory::{parse_certificate, KeyCredentialPatch, NewKeyCredential};
use palisade_store::KeyCredentialRow;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The audience of an `addKey`/`removeKey` proof (Azure AD Graph's app id).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// Longest lifetime of a proof, seconds (Graph: `exp` = `nbf` + 10 minutes).
const PROOF_LIFETIME: i64 = 600;

/// A key credential as Graph returns it.
pub fn key_credential_json(k: &KeyCredentialRow) -> Value {
    json!({
        "customKeyIdentifier": thumbprint_hex(&k.thumbprint_sha1),
        "displayName": k.display_name,
        "endDateTime": unix(k.end_at),
        "key": null,
        "keyId": k.key_id,
        "startDateTime": unix(k.start_at),
        "type": k.key_type,
        "usage": k.key_usage,
    })
}

/// One `keyCredential` of a request body.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredentialInput {
    pub key_id: Option<String>,
    /// Base64 DER (or PEM) certificate.
    pub key: Option<String>,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub usage: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// Ignored: computed from the certificate.
    #[serde(rename = "customKeyIdentifier")]
    pub _custom_key_identifier: Option<Value>,
    /// The Graph SDKs send it; ignored.
    #[serde(rename = "@odata.type")]
    pub _odata_type: Option<String>,
}

impl KeyCredentialInput {
    fn into_new(self) -> Result<NewKeyCredential, GraphError> {
        if let Some(kind) = &self.kind {
            if kind != "AsymmetricX509Cert" {
                return Err(GraphError::bad_request(format!(
                    "keyCredential type '{kind}' is not supported; use AsymmetricX509Cert."
                )));
            }
        }
        if let Some(usage) = &self.usage {
            if usage != "Verify" {
                return Err(GraphError::bad_request(format!(
                    "keyCredential usage '{usage}' is not supported; use Verify."
                )));
            }
        }
        let key = self
            .key
            .ok_or_else(|| GraphError::bad_request("keyCredential.key is required."))?;
        Ok(NewKeyCredential {
            certificate: key.into_bytes(),
            display_name: self.display_name,
            start: self.start_date_time,
            end: self.end_date_time,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AddKey {
    /// The Graph SDKs send it; ignored.
    #[serde(rename = "@odata.type")]
    _odata_type: Option<String>,
    key_credential: KeyCredentialInput,
    #[serde(default)]
    password_credential: Option<Value>,
    proof: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RemoveKey {
    /// The Graph SDKs send it; ignored.
    #[serde(rename = "@odata.type")]
    _odata_type: Option<String>,
    key_id: String,
    proof: Option<String>,
}

/// Checks an `addKey`/`removeKey` proof: a JWT signed by a current certificate of the
/// application, `aud` Azure AD Graph, `iss` the application's object id, `nbf`..`exp`
/// around now and at most 10 minutes long.
async fn check_proof(
    s: &AdminState,
    app: &palisade_directory::Application,
    proof: Option<&str>,
) -> Result<(), GraphError> {
    let proof = proof.ok_or_else(|| {
        GraphError::bad_request(
            "A proof signed by an existing certificate of the application is required. An application without a valid \
             certificate must add its first one with PATCH keyCredentials.",
        )
    })?;
    let jws =
        parse_jws(proof).map_err(|e| GraphError::bad_request(format!("Invalid proof: {e}")))?;
    let now = s.directory.clock().now().unix_timestamp();
    verify_signed_by_application(&s.directory, app, &jws, now)
        .await
        .map_err(|e| GraphError::bad_request(format!("Invalid proof: {}", e.message)))?;
    let c = &jws.claims;
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    let num = |k: &str| c.get(k).and_then(Value::as_f64).map(|f| f as i64);
    if text("aud") != Some(PROOF_AUDIENCE) {
        return Err(GraphError::bad_request(format!(
            "Invalid proof: 'aud' must be {PROOF_AUDIENCE}."
        )));
    }
    if !text("iss").is_some_and(|i| i.eq_ignore_ascii_case(&app.id)) {
        return Err(GraphError::bad_request(
            "Invalid proof: 'iss' must be the application's object id.",
        ));
    }
    match (num("nbf"), num("exp")) {
        (Some(nbf), Some(exp))
            if exp > nbf && exp - nbf <= PROOF_LIFETIME && nbf <= now + 300 && now <= exp + 300 =>
        {
            Ok(())
        }
        _ => Err(GraphError::bad_request(
            "Invalid proof: 'nbf' and 'exp' must bracket now, at most 10 minutes apart.",
        )),
    }
}

/// `POST …/applications/{id}/addKey`.
pub(crate) async fn add_key(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<AddKey>,
) -> Result<Response, GraphError> {
    if req
        .password_credential
        .as_ref()
        .is_some_and(|p| !p.is_null())
    {
        return Err(GraphError::bad_request(
            "passwordCredential must be null: add secrets with addPassword.",
        ));
    }
    let app = s.directory.get_application(&t.id, &id).await?;
    check_proof(&s, &app, req.proof.as_deref()).await?;
    let row = s
        .directory
        .add_key(&t.id, &app.id, req.key_credential.into_new()?)
        .await?;
    let mut v = key_credential_json(&row);
    v["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.keyCredential");
    Ok(Json(v).into_response())
}

/// `POST …/applications/{id}/removeKey`.
pub(crate) async fn remove_key(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<RemoveKey>,
) -> Result<Response, GraphError> {
    let app = s.directory.get_application(&t.id, &id).await?;
    check_proof(&s, &app, req.proof.as_deref()).await?;
    s.directory.remove_key(&t.id, &app.id, &req.key_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The entries of a PATCH of `keyCredentials`, checked before anything is stored (so a
/// PATCH that also changes other properties changes nothing when a certificate is bad):
/// entries with only a `keyId` keep that credential of `existing`, entries with a `key`
/// add a certificate.
pub(crate) fn key_credentials_patch(
    entries: Vec<KeyCredentialInput>,
    existing: &[KeyCredentialRow],
) -> Result<Vec<KeyCredentialPatch>, GraphError> {
    let mut patch = Vec::with_capacity(entries.len());
    for entry in entries {
        patch.push(match (&entry.key, &entry.key_id) {
            (None, Some(key_id)) => {
                if !existing.iter().any(|k| k.key_id.eq_ignore_ascii_case(key_id)) {
                    return Err(GraphError::bad_request(format!(
                        "keyCredential {key_id} does not exist; give its 'key' to add a certificate."
                    )));
                }
                KeyCredentialPatch::Keep(key_id.clone())
            }
            _ => {
                let new = entry.into_new()?;
                parse_certificate(&new.certificate)?;
                KeyCredentialPatch::Add(new)
            }
        });
    }
    Ok(patch)
}
