//! The pages, rendered on the server from `templates/` (askama, auto-escaped), and the
//! headers every page carries: a strict Content-Security-Policy (no script except the
//! form_post page's one nonce'd line), `X-Frame-Options: DENY`, no caching, no referrer.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Who the page is for: the tenant's and the app's names, shown on every card.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    /// The tenant (organization) name, when known.
    pub tenant_name: Option<String>,
    /// The app's display name.
    pub app_name: Option<String>,
}

/// The username step.
#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// Prefilled username.
    pub login: &'a str,
    /// Error to show.
    pub error: Option<&'a str>,
    /// Its AADSTS code.
    pub error_code: Option<u32>,
}

/// The password step.
#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The username entered.
    pub login: &'a str,
    /// Error to show.
    pub error: Option<&'a str>,
    /// Its AADSTS code.
    pub error_code: Option<u32>,
}

/// One account on the account picker.
pub struct AccountChoice {
    /// Display name.
    pub name: String,
    /// UPN.
    pub upn: String,
}

/// `prompt=select_account`.
#[derive(Template)]
#[template(path = "pick_account.html")]
pub struct PickAccountPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The signed-in account.
    pub account: &'a AccountChoice,
}

/// A permission on the consent page.
pub struct PermissionLine {
    /// Display name ("Read incidents").
    pub title: String,
    /// Description.
    pub description: String,
    /// Scope value and resource.
    pub detail: String,
}

/// The consent page.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The signed-in user's UPN.
    pub upn: &'a str,
    /// Where the app is registered (this organization, or another: unverified).
    pub publisher: &'a str,
    /// The permissions asked for.
    pub permissions: &'a [PermissionLine],
    /// An administrator may consent for the whole organization.
    pub offer_org_consent: bool,
    /// The app asked for offline access (refresh tokens).
    pub offline: bool,
}

/// The admin consent page: an administrator grants an app's application and delegated
/// permissions for the whole organization.
#[derive(Template)]
#[template(path = "admin_consent.html")]
pub struct AdminConsentPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The signed-in administrator's UPN.
    pub upn: &'a str,
    /// The app's publisher (home) organization.
    pub publisher: &'a str,
    /// The consenting organization.
    pub organization: &'a str,
    /// The permissions asked for.
    pub permissions: &'a [PermissionLine],
}

/// `AADSTS90094`: the user may not consent.
#[derive(Template)]
#[template(path = "admin_approval.html")]
pub struct AdminApprovalPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
    /// The signed-in user's UPN.
    pub upn: &'a str,
    /// The permissions asked for.
    pub permissions: &'a [PermissionLine],
}

/// `/devicelogin`: enter the code.
#[derive(Template)]
#[template(path = "device_code.html")]
pub struct DeviceCodePage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// CSRF token.
    pub csrf: &'a str,
    /// The code typed so far.
    pub code: &'a str,
    /// Error to show.
    pub error: Option<&'a str>,
}

/// "Are you trying to sign in to …?"
#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Flow id.
    pub flow: &'a str,
    /// CSRF token.
    pub csrf: &'a str,
}

/// A page with a title and a message (device sign-in done, declined, signed out).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// Title.
    pub title: &'a str,
    /// Message.
    pub message: &'a str,
}

/// Entra's error page: the message, the AADSTS code and the ids support needs.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Branding.
    pub brand: &'a Branding,
    /// `AADSTSnnnn: …`.
    pub message: &'a str,
    /// Request id.
    pub request_id: &'a str,
    /// Correlation id.
    pub correlation_id: &'a str,
    /// Timestamp.
    pub timestamp: &'a str,
}

/// `response_mode=form_post`: posts the result to the app.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    /// The redirect URI.
    pub action: &'a str,
    /// The fields.
    pub fields: &'a [(String, String)],
    /// The script nonce.
    pub nonce: &'a str,
}

/// The stylesheet every page links.
pub const STYLESHEET: &str = include_str!("../../templates/palisade.css");

/// The content security policy of the pages.
pub fn csp(form_action: Option<&str>, script_nonce: Option<&str>) -> String {
    let mut p = String::from(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    );
    match form_action {
        Some(a) => p.push_str(&format!("; form-action {a}")),
        None => p.push_str("; form-action 'self'"),
    }
    if let Some(n) = script_nonce {
        p.push_str(&format!("; script-src 'nonce-{n}'"));
    }
    p
}

/// An HTML response with the pages' security headers.
pub fn html(status: StatusCode, body: String, csp_value: &str) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(csp_value) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// Renders a template into a page with the default policy.
pub fn page(status: StatusCode, t: &impl Template) -> Response {
    page_posting_to(status, t, None)
}

/// The origin a redirect URI's form posts may end at (`scheme://host:port`, or `scheme:`
/// for custom schemes), for CSP `form-action`.
pub fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    Some(match u.origin() {
        url::Origin::Tuple(..) => u.origin().ascii_serialization(),
        url::Origin::Opaque(_) => format!("{}:", u.scheme()),
    })
}

/// A page whose forms may end in a redirect to `app_origin` (the sign-in and consent
/// pages of an authorize request: browsers apply `form-action` to the redirect that
/// follows a form post too).
pub fn page_posting_to(
    status: StatusCode,
    t: &impl Template,
    app_origin: Option<&str>,
) -> Response {
    let form_action = app_origin.map(|o| format!("'self' {o}"));
    match t.render() {
        Ok(body) => html(status, body, &csp(form_action.as_deref(), None)),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `GET /_palisade/sign-in.css`.
pub async fn stylesheet() -> Response {
    let mut r = STYLESHEET.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}
