//! `grant_type=client_credentials` (identity.md §7.1): an application's own token, with
//! the app roles granted to its service principal in the tenant as `roles`.

use crate::client_auth::{app_not_found, authenticate, client_identity, client_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::request::{EndpointVersion, TokenRequest};
use crate::resource::{resource_from_scope, resource_in};
use crate::response::{opaque, token_json, LIFETIME_SECONDS};
use axum::response::Response;
use palisade_directory::AppDirectory;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Serialize)]
struct V2Response {
    token_type: &'static str,
    expires_in: i64,
    ext_expires_in: i64,
    access_token: String,
}

#[derive(Serialize)]
struct V1Response {
    token_type: &'static str,
    expires_in: String,
    ext_expires_in: String,
    expires_on: String,
    not_before: String,
    resource: String,
    access_token: String,
}

/// Issues an app-only token.
pub async fn issue(request: TokenRequest<'_>) -> Result<Response, AadError> {
    let authority = request.authority;
    let directory = request.directory.clone();
    let tenant_row = request.specific_tenant()?.clone();
    let form = &request.form;
    let version = request.version;
    let (client_id, presented_secret) = client_identity(form, request.headers)?;

    // The requested resource.
    let resource_param = form.get("resource");
    let resource_name = match version {
        EndpointVersion::V1 => resource_param
            .ok_or_else(|| AadError::missing("resource"))?
            .to_string(),
        EndpointVersion::V2 => {
            if resource_param.is_some() {
                return Err(AadError::new(
                    ErrorCode::ResourceNotSupported,
                    "The 'resource' request parameter is not supported.",
                ));
            }
            resource_from_scope(form.require("scope")?)?
        }
    };

    // The client, in this tenant: everything from the directory in memory.
    let app = client_in(&*directory, &client_id, &tenant_row.display_name)?;
    let client_sp = directory
        .service_principal_id(&tenant_row.id, &app.app_id)
        .ok_or_else(|| app_not_found(&client_id, &tenant_row.display_name))?;
    let auth_method = authenticate(&request, app, presented_secret.as_deref(), false).await?;

    let resource = resource_in(
        &*directory,
        &tenant_row.id,
        &tenant_row.display_name,
        &resource_name,
    )?;
    let roles = directory.granted_roles(&tenant_row.id, client_sp, &resource.app);
    let client_sp = client_sp.to_string();

    // Mint.
    let now = authority.clock().now().unix_timestamp();
    let lifetime = rand::thread_rng().gen_range(LIFETIME_SECONDS.0..=LIFETIME_SECONDS.1);
    let exp = now + lifetime;
    let tid = &tenant_row.id;
    let v2_token = resource.app.issues_v2_access_tokens();
    let mut claims = Map::new();
    if v2_token {
        claims.insert("aud".into(), json!(resource.app.app_id));
        claims.insert(
            "iss".into(),
            json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
        );
    } else {
        claims.insert("aud".into(), json!(resource.audience));
        claims.insert(
            "iss".into(),
            json!(format!("https://sts.windows.net/{tid}/")),
        );
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    claims.insert("aio".into(), json!(opaque(48)));
    if v2_token {
        claims.insert("azp".into(), json!(app.app_id));
        claims.insert("azpacr".into(), json!(auth_method.acr()));
    } else {
        claims.insert("appid".into(), json!(app.app_id));
        claims.insert("appidacr".into(), json!(auth_method.acr()));
        claims.insert(
            "idp".into(),
            json!(format!("https://sts.windows.net/{tid}/")),
        );
    }
    claims.insert("idtyp".into(), json!("app"));
    claims.insert("oid".into(), json!(client_sp));
    claims.insert("rh".into(), json!(format!("0.{}.", opaque(40))));
    if !roles.is_empty() {
        claims.insert("roles".into(), json!(roles));
    }
    claims.insert("sub".into(), json!(client_sp));
    claims.insert("tid".into(), json!(tid));
    claims.insert("uti".into(), json!(opaque(16)));
    claims.insert("ver".into(), json!(if v2_token { "2.0" } else { "1.0" }));
    let access_token = authority
        .keys()
        .sign(!v2_token, &Value::Object(claims))
        .map_err(internal)?;

    Ok(match version {
        EndpointVersion::V2 => token_json(V2Response {
            token_type: "Bearer",
            expires_in: lifetime,
            ext_expires_in: lifetime,
            access_token,
        }),
        EndpointVersion::V1 => token_json(V1Response {
            token_type: "Bearer",
            expires_in: lifetime.to_string(),
            ext_expires_in: lifetime.to_string(),
            expires_on: exp.to_string(),
            not_before: now.to_string(),
            resource: resource.as_requested,
            access_token,
        }),
    })
}
