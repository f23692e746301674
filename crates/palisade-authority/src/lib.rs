//! Palisade's token service, speaking Microsoft Entra ID's v1 and v2 protocols.
//!
//! - [`keys`]: RS256 signing keys kept in the store, with rotation and the JWKS view.
//! - [`kek`]: the key-encryption key that seals the signing keys at rest.
//! - [`token`]: `POST /{tenant}/oauth2/token` and `/oauth2/v2.0/token`, handing each
//!   request to its grant in [`grants`]: client credentials, password (ROPC),
//!   authorization code (+ PKCE), device code, refresh token.
//! - [`assertion`]: certificate credentials (`client_assertion` JWTs).
//! - [`client_auth`], [`form`], [`resource`]: who calls, what they send, which API and
//!   scopes they name, and whether consent is in place.
//! - [`user_tokens`]: delegated access tokens, ID tokens and refresh tokens.
//! - [`web`]: the authorize endpoints, sign-in, consent and device-login pages, logout.
//! - [`realm`]: home realm discovery (`/common/userrealm/{upn}`).
//! - [`discovery`]: OpenID configuration (v1, v2), JWKS and instance discovery documents.
//! - [`error`]: Entra's error JSON with AADSTS codes.
//!
//! Tokens carry Entra's own issuers (`https://sts.windows.net/{tid}/` for v1,
//! `https://login.microsoftonline.com/{tid}/v2.0` for v2), so validators written for the
//! real cloud accept them unchanged once they trust Palisade's keys.

pub mod assertion;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod form;
pub mod grants;
pub mod kek;
pub mod keys;
pub mod realm;
pub mod request;
pub mod resource;
pub mod response;
pub mod signin;
pub mod token;
pub mod user_tokens;
pub mod web;

use axum::routing::{get, post};
use axum::Router;
use palisade_clock::SharedClock;
use palisade_directory::Directory;
use std::sync::Arc;

pub use error::{AadError, ErrorCode};
pub use kek::{Kek, KekError};
pub use keys::{KeyError, KeyManager, PublishedKey};

/// Shared state of the token service.
#[derive(Debug, Clone)]
pub struct Authority {
    inner: Arc<AuthorityInner>,
}

#[derive(Debug)]
struct AuthorityInner {
    directory: Directory,
    keys: Arc<KeyManager>,
    settings: AuthoritySettings,
}

/// How the authority presents itself.
#[derive(Debug, Clone)]
pub struct AuthoritySettings {
    /// `https` unless the server runs on plain HTTP.
    pub scheme: &'static str,
    /// Host names (with optional port) the server answers to, besides the request's own
    /// `Host`; instance discovery accepts these.
    pub known_hosts: Vec<String>,
}

impl Default for AuthoritySettings {
    fn default() -> Self {
        Self {
            scheme: "https",
            known_hosts: Vec::new(),
        }
    }
}

impl Authority {
    /// The token service over a directory and its key manager.
    pub fn new(directory: Directory, keys: Arc<KeyManager>, settings: AuthoritySettings) -> Self {
        Self {
            inner: Arc::new(AuthorityInner {
                directory,
                keys,
                settings,
            }),
        }
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<KeyManager> {
        &self.inner.keys
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        self.inner.directory.clock()
    }

    /// Presentation settings.
    pub fn settings(&self) -> &AuthoritySettings {
        &self.inner.settings
    }

    /// The routes of the token service.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/{tenant}/oauth2/token",
                post(token::token_v1).fallback(token::method_not_allowed),
            )
            .route(
                "/{tenant}/oauth2/v2.0/token",
                post(token::token_v2).fallback(token::method_not_allowed),
            )
            .route(
                "/{tenant}/oauth2/devicecode",
                post(grants::device::devicecode_v1).fallback(token::method_not_allowed),
            )
            .route(
                "/{tenant}/oauth2/v2.0/devicecode",
                post(grants::device::devicecode_v2).fallback(token::method_not_allowed),
            )
            .route(
                "/{tenant}/oauth2/authorize",
                get(web::authorize_v1).post(web::authorize_v1),
            )
            .route(
                "/{tenant}/oauth2/v2.0/authorize",
                get(web::authorize_v2).post(web::authorize_v2),
            )
            .route(
                "/{tenant}/adminconsent",
                get(web::admin_consent::adminconsent_v1),
            )
            .route(
                "/{tenant}/v2.0/adminconsent",
                get(web::admin_consent::adminconsent_v2),
            )
            .route(
                "/{tenant}/oauth2/logout",
                get(web::logout::logout).post(web::logout::logout),
            )
            .route(
                "/{tenant}/oauth2/v2.0/logout",
                get(web::logout::logout).post(web::logout::logout),
            )
            .route("/login", post(web::login))
            .route("/select", post(web::select))
            .route("/consent", post(web::consent))
            .route("/device-confirm", post(web::device_confirm))
            .route(
                "/devicelogin",
                get(web::device::devicelogin_page).post(web::device::devicelogin_submit),
            )
            .route("/_palisade/sign-in.css", get(web::pages::stylesheet))
            .route("/{tenant}/userrealm/{upn}", get(realm::user_realm))
            .route(
                "/{tenant}/.well-known/openid-configuration",
                get(discovery::openid_configuration_v1),
            )
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery::openid_configuration_v2),
            )
            .route("/{tenant}/discovery/keys", get(discovery::jwks_v1))
            .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks_v2))
            .route("/discovery/keys", get(discovery::jwks_v1_common))
            .route("/discovery/v2.0/keys", get(discovery::jwks_v2_common))
            .route(
                "/{tenant}/discovery/instance",
                get(discovery::instance_discovery),
            )
            .with_state(self.clone())
    }
}
