//! A browser flow's state: the request it serves (an authorization code, an admin
//! consent or a device sign-in) and its progress, stored as JSON with the flow row, and
//! the request context every page step runs in.

use crate::error::{internal, AadError};
use crate::request::EndpointVersion;
use crate::resource::ScopeRequest;
use crate::user_tokens::secret_hash;
use crate::web::cookies::SESSION_COOKIE;
use crate::web::respond::{AppRedirect, ResponseMode};
use crate::Authority;
use axum::http::HeaderMap;
use axum::response::Response;
use palisade_store::{FlowRow, SessionRow};
use serde::{Deserialize, Serialize};

/// Flows expire 30 minutes after they start.
pub const FLOW_LIFETIME_SECS: i64 = 1800;
/// Sessions end after 24 hours without use.
pub const SESSION_IDLE_SECS: i64 = 86_400;

/// An authorization-code request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCodeRequest {
    /// Validated redirect URI.
    pub redirect_uri: String,
    /// It is registered as a single-page app's.
    pub spa: bool,
    /// Response mode.
    pub response_mode: ResponseMode,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
}

impl AuthCodeRequest {
    /// Where the code (or the error) goes back to the app.
    pub fn redirect(&self, version: EndpointVersion) -> AppRedirect {
        AppRedirect {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            state: self.state.clone(),
            version,
        }
    }
}

/// Which entry point started the flow (it decides the redirect's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminConsentStyle {
    /// `/{tenant}/adminconsent`, or the partner link on v1 authorize.
    V1,
    /// `/{tenant}/v2.0/adminconsent`, with the `scope` to echo.
    V2 {
        /// The scope as requested.
        scope: String,
    },
}

/// An admin consent request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminConsentRequest {
    /// Validated redirect URI.
    pub redirect_uri: String,
    /// `state`.
    pub state: Option<String>,
    /// The redirect's shape.
    pub style: AdminConsentStyle,
}

impl AdminConsentRequest {
    /// Where the answer goes.
    pub fn redirect(&self) -> AppRedirect {
        AppRedirect {
            redirect_uri: self.redirect_uri.clone(),
            mode: ResponseMode::Query,
            state: self.state.clone(),
            version: EndpointVersion::V1,
        }
    }

    pub(crate) fn success(&self, tenant_id: &str) -> Response {
        let mut fields = vec![
            ("admin_consent".to_string(), "True".to_string()),
            ("tenant".to_string(), tenant_id.to_string()),
        ];
        if let AdminConsentStyle::V2 { scope } = &self.style {
            fields.push(("scope".into(), scope.clone()));
        }
        self.redirect().send(fields)
    }

    /// The redirect of a cancelled consent.
    pub fn cancelled(&self) -> Response {
        let fields = match &self.style {
            AdminConsentStyle::V1 => vec![
                ("error".to_string(), "permission_denied".to_string()),
                (
                    "error_description".to_string(),
                    "The admin canceled the request".to_string(),
                ),
            ],
            AdminConsentStyle::V2 { .. } => vec![
                ("error".to_string(), "access_denied".to_string()),
                (
                    "error_description".to_string(),
                    "AADSTS65004: User declined to consent to access the app.".to_string(),
                ),
            ],
        };
        self.redirect().send(fields)
    }
}

/// What the flow ends in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FlowKind {
    /// A code sent to the app.
    AuthCode(AuthCodeRequest),
    /// Tenant-wide admin consent, answered with `admin_consent=True`.
    AdminConsent(AdminConsentRequest),
    /// A device code approved.
    Device {
        /// The device code row.
        device_code_id: String,
        /// Its user code.
        user_code: String,
    },
}

/// A flow's request and progress, stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRequest {
    /// What it ends in.
    pub kind: FlowKind,
    /// Endpoint version (ID token shape).
    pub version: EndpointVersion,
    /// The tenant path segment.
    pub tenant_segment: String,
    /// The client's app id.
    pub client_id: String,
    /// Scopes asked for.
    pub scopes: ScopeRequest,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// The user entered credentials in this flow.
    pub fresh_sign_in: bool,
    /// The user picked the session's account (`prompt=select_account`).
    pub account_chosen: bool,
    /// The user accepted the consent page.
    pub consented: bool,
    /// The user confirmed the device sign-in.
    pub device_confirmed: bool,
    /// The session the flow signs in with.
    pub session_id: Option<String>,
    /// When the user authenticated.
    pub auth_time: Option<i64>,
    /// The tenant of the user who signed in within this flow.
    pub user_tenant_id: Option<String>,
}

/// The request context of a page step.
pub struct Ctx<'a> {
    /// The token service.
    pub authority: &'a Authority,
    /// Request headers (cookies, host).
    pub headers: &'a HeaderMap,
    /// The browser id.
    pub browser: &'a str,
}

impl Ctx<'_> {
    /// The live session of the cookie, if any.
    pub async fn session(&self) -> Result<Option<SessionRow>, AadError> {
        let Some(secret) = crate::web::cookies::cookie(self.headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let now = self.authority.clock().now().unix_timestamp();
        self.authority
            .directory()
            .store()
            .find_session(&secret_hash(&secret), now)
            .await
            .map_err(internal)
    }
}

/// A loaded flow.
pub struct Flow {
    /// The stored row.
    pub row: FlowRow,
    /// Its request.
    pub request: FlowRequest,
}

impl Flow {
    /// Saves the request and user.
    pub async fn save(&self, authority: &Authority) -> Result<(), AadError> {
        authority
            .directory()
            .store()
            .update_flow(
                &self.row.id,
                self.row.user_id.as_deref(),
                &serde_json::to_string(&self.request).map_err(internal)?,
            )
            .await
            .map_err(internal)
    }
}
