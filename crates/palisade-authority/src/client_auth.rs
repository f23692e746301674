//! Who is calling the token endpoint: the client id (form or HTTP Basic, which must
//! agree), the application behind it, and its authentication (a client secret for
//! confidential clients; nothing, and nothing allowed, for public clients).

use crate::assertion::{verify_client_assertion, JWT_BEARER};
use crate::error::{internal, AadError, ErrorCode};
use crate::form::{basic_credentials, Form};
use crate::request::TokenRequest;
use crate::Authority;
use axum::http::HeaderMap;
use palisade_directory::{AppDirectory, Application, SecretCheck, SignInAudience};
use uuid::Uuid;

/// How the client authenticated (`appidacr` / `azpacr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// A public client: no credential (`"0"`).
    Public,
    /// A client secret (`"1"`).
    Secret,
    /// A certificate: a signed client assertion (`"2"`).
    Certificate,
}

impl ClientAuthMethod {
    /// The `appidacr` value.
    pub fn acr(self) -> &'static str {
        match self {
            ClientAuthMethod::Public => "0",
            ClientAuthMethod::Secret => "1",
            ClientAuthMethod::Certificate => "2",
        }
    }
}

/// The client id and presented secret of a request.
pub fn client_identity(
    form: &Form,
    headers: &HeaderMap,
) -> Result<(String, Option<String>), AadError> {
    let basic = basic_credentials(headers)?;
    let client_id = match (&basic, form.get("client_id")) {
        (Some((id, _)), Some(f)) if !id.eq_ignore_ascii_case(f) => {
            return Err(AadError::malformed(
                "The client_id in the body differs from the one in the Authorization header.",
            ))
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(f)) => f.to_string(),
        (None, None) => return Err(AadError::missing("client_id")),
    };
    let secret = match (&basic, form.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(AadError::malformed(
                "The client secret was given both in the body and in the Authorization header.",
            ))
        }
        (Some((_, s)), None) => Some(s.clone()),
        (None, s) => s.map(str::to_string),
    };
    Ok((client_id, secret))
}

/// AADSTS700016 for a client unknown in `tenant_name`.
pub fn app_not_found(client_id: &str, tenant_name: &str) -> AadError {
    AadError::new(
        ErrorCode::ApplicationNotFound,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application \
             has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent \
             your authentication request to the wrong tenant."
        ),
    )
}

/// The registered (non built-in) application with this client id, its whole registration
/// (redirect URIs, `requiredResourceAccess`) read from the store: the user flows need it,
/// and they may name a client of any tenant (`/common`).
pub async fn find_client(
    authority: &Authority,
    client_id: &str,
    tenant_name: &str,
) -> Result<Application, AadError> {
    if Uuid::parse_str(client_id).is_err() {
        return Err(app_not_found(client_id, tenant_name));
    }
    authority
        .directory()
        .find_application_by_app_id(client_id)
        .await
        .map_err(internal)?
        .filter(|a| a.tenant_id.is_some())
        .ok_or_else(|| app_not_found(client_id, tenant_name))
}

/// [`find_client`] in a directory already read.
pub fn client_in<'d>(
    directory: &'d dyn AppDirectory,
    client_id: &str,
    tenant_name: &str,
) -> Result<&'d Application, AadError> {
    if Uuid::parse_str(client_id).is_err() {
        return Err(app_not_found(client_id, tenant_name));
    }
    directory
        .application(client_id)
        .filter(|a| a.tenant_id.is_some())
        .ok_or_else(|| app_not_found(client_id, tenant_name))
}

/// Whether users of `tenant_id` may sign in to `app`: its home tenant, or any tenant for a
/// multi-tenant app.
pub fn usable_in(app: &Application, tenant_id: &str) -> bool {
    app.tenant_id.as_deref() == Some(tenant_id)
        || app.sign_in_audience == SignInAudience::AzureADMultipleOrgs
}

/// Authenticates the client. A public client must present nothing. A confidential client
/// must present a valid secret or client assertion (certificate), unless `public_flow` (an
/// SPA redirect's code, which browsers redeem without a secret) lets it go without one.
pub async fn authenticate(
    request: &TokenRequest<'_>,
    app: &Application,
    secret: Option<&str>,
    public_flow: bool,
) -> Result<ClientAuthMethod, AadError> {
    let authority = request.authority;
    let form = &request.form;
    let public_with_credential = || {
        AadError::new(
            ErrorCode::PublicClientWithCredential,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )
    };
    let assertion = form.get("client_assertion");
    let assertion_type = form.get("client_assertion_type");
    if assertion.is_some() || assertion_type.is_some() {
        if app.is_public_client {
            return Err(public_with_credential());
        }
        if secret.is_some() {
            return Err(AadError::malformed(
                "Send either a client secret or a client assertion, not both.",
            ));
        }
        let assertion = assertion.ok_or_else(|| AadError::missing("client_assertion"))?;
        let kind = assertion_type.ok_or_else(|| AadError::missing("client_assertion_type"))?;
        if kind != JWT_BEARER {
            return Err(AadError::malformed(&format!(
                "client_assertion_type must be '{JWT_BEARER}'."
            )));
        }
        verify_client_assertion(request, app, assertion).await?;
        return Ok(ClientAuthMethod::Certificate);
    }
    if app.is_public_client {
        return match secret {
            Some(_) => Err(public_with_credential()),
            None => Ok(ClientAuthMethod::Public),
        };
    }
    let Some(secret) = secret else {
        if public_flow {
            return Ok(ClientAuthMethod::Public);
        }
        return Err(AadError::new(
            ErrorCode::MissingClientCredential,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    let now = authority.clock().now().unix_timestamp();
    let check = match request.directory.check_client_secret(app, secret, now) {
        Some(check) => check,
        None => authority
            .directory()
            .check_client_secret(app, secret)
            .await
            .map_err(internal)?,
    };
    match check {
        SecretCheck::Valid(_) => Ok(ClientAuthMethod::Secret),
        SecretCheck::Expired(_) => Err(AadError::new(
            ErrorCode::ClientSecretExpired,
            format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: \
                 https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                app.app_id
            ),
        )),
        SecretCheck::Invalid => Err(AadError::new(
            ErrorCode::InvalidClientSecret,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the \
                 client secret ID, for a secret added to app '{}'.",
                app.app_id
            ),
        )),
    }
}
