//! The interactive endpoints and their server-rendered pages: authorize (v1 and v2, with
//! sign-in, account picker and consent), `/devicelogin`, and logout.
//!
//! Every form carries the flow id and a CSRF token bound to the browser cookie; every
//! page sends a strict CSP and `X-Frame-Options: DENY`. No JavaScript is needed (the only
//! script is the one line that auto-submits a `form_post` response).
//!
//! Choices [inferred]: the username and password are asked on two pages, as Entra does;
//! Defender's delegated scopes may be consented by users for themselves; a Global
//! Administrator may also consent for the organization; `prompt=admin_consent` (v1)
//! shows the consent page like `prompt=consent`.

pub mod admin_consent;
pub mod cookies;
pub mod device;
pub mod flow;
pub mod logout;
pub mod pages;
pub mod respond;
pub mod state;

use crate::client_auth::{app_not_found, find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::form::Form;
use crate::request::{resolve_segment, EndpointVersion};
use crate::resource::ScopeRequest;
use crate::response::opaque;
use crate::signin::{sign_in_code, sign_in_message};
use crate::user_tokens::secret_hash;
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use cookies::{browser_hash, browser_id, csrf_ok, set_cookie, BROWSER_COOKIE, SESSION_COOKIE};
use flow::{advance, password_page, sign_in_page};
use pages::{page, Branding, MessagePage};
use palisade_directory::{ConsentType, RedirectKind};
use palisade_store::{FlowRow, SessionRow};
use respond::{error_page, redirect_to_app, ResponseMode};
use state::{AuthCodeRequest, Ctx, Flow, FlowKind, FlowRequest};
use subtle::ConstantTimeEq;

/// Adds the browser cookie when it is new.
pub(crate) fn with_browser_cookie(
    mut r: Response,
    authority: &Authority,
    browser: &str,
    new: bool,
) -> Response {
    if new {
        let secure = authority.settings().scheme == "https";
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(BROWSER_COOKIE, browser, secure, None),
        );
    }
    r
}

/// The parameters of a GET (query) or POST (form) request.
pub(crate) fn params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Form, AadError> {
    if method == Method::POST {
        Form::parse(headers, body)
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
            .map_err(|_| AadError::malformed("The query string is not valid."))?;
        Form::from_pairs(pairs)
    }
}

/// `GET|POST /{tenant}/oauth2/authorize`.
pub async fn authorize_v1(
    state: State<Authority>,
    tenant: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    authorize(
        state,
        tenant,
        method,
        uri,
        headers,
        body,
        EndpointVersion::V1,
    )
    .await
}

/// `GET|POST /{tenant}/oauth2/v2.0/authorize`.
pub async fn authorize_v2(
    state: State<Authority>,
    tenant: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    authorize(
        state,
        tenant,
        method,
        uri,
        headers,
        body,
        EndpointVersion::V2,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn authorize(
    State(authority): State<Authority>,
    Path(segment): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
    version: EndpointVersion,
) -> Response {
    let (browser, new_browser) = browser_id(&headers);
    let r = authorize_inner(
        &authority, &segment, &method, &uri, &headers, &body, version, &browser,
    )
    .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => error_page(&authority, &Branding::default(), &e),
    };
    with_browser_cookie(r, &authority, &browser, new_browser)
}

#[allow(clippy::too_many_arguments)]
async fn authorize_inner(
    authority: &Authority,
    segment: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    version: EndpointVersion,
    browser: &str,
) -> Result<Response, AadError> {
    // Errors before the redirect URI is known to be the app's are shown, never redirected.
    let tenant = resolve_segment(authority, segment).await?;
    if segment.eq_ignore_ascii_case("consumers") {
        return Err(AadError::tenant_not_found(segment));
    }
    let form = params(method, uri, headers, body)?;
    let client_id = form.require("client_id")?;
    let tenant_name = tenant
        .as_ref()
        .map(|t| t.display_name.clone())
        .unwrap_or_else(|| segment.to_string());
    let app = find_client(authority, client_id, &tenant_name).await?;
    if let Some(t) = &tenant {
        if !usable_in(&app, &t.id) {
            return Err(app_not_found(client_id, &t.display_name));
        }
    }
    let brand = Branding {
        tenant_name: tenant.as_ref().map(|t| t.display_name.clone()),
        app_name: Some(app.display_name.clone()),
    };
    // The Defender partner link: v1 authorize with `prompt=consent` (or `admin_consent`) and
    // no `resource` is tenant-wide admin consent.
    if version == EndpointVersion::V1
        && form.get("resource").is_none()
        && matches!(form.get("prompt"), Some("consent") | Some("admin_consent"))
    {
        return admin_consent::start(authority, segment, &form, headers, browser, version).await;
    }
    let redirect_uri = match (form.get("redirect_uri"), version) {
        (Some(u), _) => u.to_string(),
        (None, EndpointVersion::V1) => app
            .default_redirect_uri()
            .map(str::to_string)
            .ok_or_else(|| AadError::missing("redirect_uri"))?,
        (None, EndpointVersion::V2) => return Err(AadError::missing("redirect_uri")),
    };
    let Some(kind) = app.redirect_kind(&redirect_uri) else {
        return Ok(error_page(
            authority,
            &brand,
            &AadError::new(
                ErrorCode::RedirectUriMismatch,
                format!(
                    "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the \
                     application '{}'. Make sure the redirect URI sent in the request matches one added to your application in the \
                     Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
                    app.app_id
                ),
            ),
        ));
    };

    // From here on, errors go back to the app.
    let response_mode = match form.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => ResponseMode::Query,
    };
    let auth = AuthCodeRequest {
        redirect_uri,
        spa: kind == RedirectKind::Spa,
        response_mode,
        state: form.get("state").map(str::to_string),
        nonce: form.get("nonce").map(str::to_string),
        code_challenge: form.get("code_challenge").map(str::to_string),
        code_challenge_method: form.get("code_challenge").map(|_| {
            form.get("code_challenge_method")
                .unwrap_or("plain")
                .to_string()
        }),
    };
    let back = auth.redirect(version);
    let fail = |e: AadError| {
        Ok(redirect_to_app(
            &back,
            &e.with_context(None, authority.clock().now()),
        ))
    };
    if let Some(m) = form.get("response_mode") {
        if !["query", "fragment", "form_post"].contains(&m) {
            return fail(AadError::malformed(&format!(
                "response_mode '{m}' is not supported."
            )));
        }
    }
    match form.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return fail(AadError::new(
                ErrorCode::UnsupportedResponseType,
                format!(
                    "The provided value for the input parameter 'response_type' is not allowed for this client: '{other}'. Expected \
                     value is 'code' (the implicit grant is not enabled for this application)."
                ),
            ))
        }
        None => return fail(AadError::missing("response_type")),
    }
    let scopes = match version {
        EndpointVersion::V1 => match form.get("resource") {
            Some(r) => ScopeRequest::v1(r),
            None => return fail(AadError::missing("resource")),
        },
        EndpointVersion::V2 => match form.get("scope").map(ScopeRequest::parse_v2) {
            Some(Ok(s)) => s,
            Some(Err(e)) => return fail(e),
            None => return fail(AadError::missing("scope")),
        },
    };
    if scopes.resources.is_empty() {
        return fail(AadError::new(
            ErrorCode::InvalidScope,
            "The provided value for the input parameter 'scope' is not valid: name the API, e.g. \
             https://api.security.microsoft.com/Incident.Read.",
        ));
    }
    if let Some(challenge) = &auth.code_challenge {
        let method = auth.code_challenge_method.as_deref().unwrap_or("plain");
        let ok = match method {
            "S256" => {
                challenge.len() == 43
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }
            "plain" => {
                (43..=128).contains(&challenge.len())
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            }
            _ => false,
        };
        if !ok {
            return fail(AadError::new(
                ErrorCode::PkceChallengeInvalid,
                "The code_challenge or code_challenge_method is not valid: S256 needs a 43-character base64url SHA-256 value, \
                 plain a 43 to 128 character verifier.",
            ));
        }
    } else if auth.spa {
        return fail(AadError::new(
            ErrorCode::PkceChallengeInvalid,
            "Proof Key for Code Exchange is required for cross-origin authorization code redemption (single-page applications).",
        ));
    }
    let prompt = form.get("prompt").map(str::to_string);
    if let Some(p) = &prompt {
        let allowed = ["login", "none", "consent", "select_account"];
        let v1_admin_consent = version == EndpointVersion::V1 && p == "admin_consent";
        if !(allowed.contains(&p.as_str()) || v1_admin_consent) {
            return fail(AadError::malformed(&format!(
                "Invalid value for the parameter 'prompt': '{p}'."
            )));
        }
    }
    let request = FlowRequest {
        kind: FlowKind::AuthCode(auth),
        version,
        tenant_segment: segment.to_string(),
        client_id: app.app_id.clone(),
        scopes,
        prompt,
        login_hint: form.get("login_hint").map(str::to_string),
        fresh_sign_in: false,
        account_chosen: false,
        consented: false,
        device_confirmed: false,
        session_id: None,
        auth_time: None,
        user_tenant_id: None,
    };
    let flow = start_flow(authority, browser, request).await?;
    advance(
        &Ctx {
            authority,
            headers,
            browser,
        },
        flow,
    )
    .await
}

/// Starts a flow bound to the browser and takes its first step.
pub(crate) async fn begin(
    authority: &Authority,
    headers: &HeaderMap,
    browser: &str,
    request: FlowRequest,
) -> Result<Response, AadError> {
    let flow = start_flow(authority, browser, request).await?;
    advance(
        &Ctx {
            authority,
            headers,
            browser,
        },
        flow,
    )
    .await
}

/// Stores a new flow bound to the browser.
pub(crate) async fn start_flow(
    authority: &Authority,
    browser: &str,
    request: FlowRequest,
) -> Result<Flow, AadError> {
    let now = authority.clock().now().unix_timestamp();
    let row = FlowRow {
        id: opaque(24),
        browser_hash: browser_hash(browser),
        request_json: serde_json::to_string(&request).map_err(internal)?,
        user_id: None,
        created_at: now,
        expires_at: now + state::FLOW_LIFETIME_SECS,
    };
    authority
        .directory()
        .store()
        .insert_flow(&row)
        .await
        .map_err(internal)?;
    Ok(Flow { row, request })
}

/// A form post of a flow page: the flow, checked against the browser and the CSRF token.
async fn posted_flow(
    authority: &Authority,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(String, Flow), AadError> {
    let expired = || {
        AadError::new(
            ErrorCode::InvalidGrant,
            "This sign-in request is no longer valid: it expired, was completed, or was started in another browser. Go back to the \
             application and sign in again.",
        )
    };
    let browser = cookies::cookie(headers, BROWSER_COOKIE).ok_or_else(expired)?;
    let flow_id = form.require("flow")?;
    let csrf = form.get("csrf").unwrap_or("");
    let now = authority.clock().now().unix_timestamp();
    let row = authority
        .directory()
        .store()
        .get_flow(flow_id, now)
        .await
        .map_err(internal)?
        .ok_or_else(expired)?;
    let bound: bool = row.browser_hash.ct_eq(&browser_hash(&browser)).into();
    if !bound || !csrf_ok(&browser, flow_id, csrf) {
        return Err(expired());
    }
    let request: FlowRequest = serde_json::from_str(&row.request_json).map_err(internal)?;
    Ok((browser, Flow { row, request }))
}

pub(crate) fn finish(authority: &Authority, r: Result<Response, AadError>) -> Response {
    r.unwrap_or_else(|e| error_page(authority, &Branding::default(), &e))
}

/// `POST /login`: the username step, then the password step.
pub async fn login(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let form = Form::parse(&headers, &body)?;
        let (browser, mut flow) = posted_flow(&authority, &headers, &form).await?;
        let ctx = Ctx {
            authority: &authority,
            headers: &headers,
            browser: &browser,
        };
        let login = form.get("login").unwrap_or("").trim().to_string();
        if form.get("back").is_some() {
            return Ok(sign_in_page(&ctx, &flow, &login, None).await);
        }
        let directory = authority.directory();
        // The user's home tenant: the flow's, or from the UPN's domain on common/organizations.
        let segment_tenant = directory
            .resolve_tenant(&flow.request.tenant_segment)
            .await
            .map_err(internal)?;
        let domain = login.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let tenant = match segment_tenant {
            Some(t) => Some(t),
            None if domain.contains('.') => {
                directory.resolve_tenant(domain).await.map_err(internal)?
            }
            None => None,
        };
        let unknown = palisade_directory::SignInFailure::UnknownUser;
        let Some(tenant) = tenant else {
            return Ok(sign_in_page(
                &ctx,
                &flow,
                &login,
                Some((sign_in_message(&unknown), sign_in_code(&unknown))),
            )
            .await);
        };
        if form.get("step") != Some("password") {
            if directory
                .store()
                .find_user_by_upn(&tenant.id, &login)
                .await
                .map_err(internal)?
                .is_none()
            {
                return Ok(sign_in_page(
                    &ctx,
                    &flow,
                    &login,
                    Some((sign_in_message(&unknown), sign_in_code(&unknown))),
                )
                .await);
            }
            return Ok(password_page(&ctx, &flow, &login, None).await);
        }
        let password = form.get("passwd").unwrap_or("");
        let user = match directory
            .verify_user_password(&tenant.id, &login, password)
            .await
            .map_err(internal)?
        {
            Ok(u) => u,
            Err(f) => {
                return Ok(password_page(
                    &ctx,
                    &flow,
                    &login,
                    Some((sign_in_message(&f), sign_in_code(&f))),
                )
                .await)
            }
        };
        // A new session for this browser (any older one of this browser ends).
        let now = authority.clock().now().unix_timestamp();
        let store = directory.store();
        if let Some(old) = ctx.session().await? {
            store.delete_session(&old.id).await.map_err(internal)?;
        }
        let secret = opaque(32);
        let session = SessionRow {
            id: uuid::Uuid::new_v4().to_string(),
            secret_hash: secret_hash(&secret),
            tenant_id: tenant.id.clone(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + state::SESSION_IDLE_SECS,
            client_ids: Vec::new(),
        };
        store.insert_session(&session).await.map_err(internal)?;
        flow.row.user_id = Some(user.id.clone());
        flow.request.fresh_sign_in = true;
        flow.request.session_id = Some(session.id.clone());
        flow.request.auth_time = Some(now);
        flow.request.user_tenant_id = Some(tenant.id.clone());
        flow.save(&authority).await?;
        let mut r = advance(&ctx, flow).await?;
        let secure = authority.settings().scheme == "https";
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &secret, secure, None),
        );
        Ok(r)
    }
    .await;
    finish(&authority, r)
}

/// `POST /select`: the account picker.
pub async fn select(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let form = Form::parse(&headers, &body)?;
        let (browser, mut flow) = posted_flow(&authority, &headers, &form).await?;
        let ctx = Ctx {
            authority: &authority,
            headers: &headers,
            browser: &browser,
        };
        if form.get("choice") == Some("session") {
            flow.request.account_chosen = true;
            flow.save(&authority).await?;
            advance(&ctx, flow).await
        } else {
            flow.request.prompt = Some("login".into());
            flow.save(&authority).await?;
            Ok(sign_in_page(&ctx, &flow, "", None).await)
        }
    }
    .await;
    finish(&authority, r)
}

/// `POST /consent`: accept (for oneself, or for the organization) or cancel.
pub async fn consent(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let form = Form::parse(&headers, &body)?;
        if form.get("action") != Some("accept") {
            return posted_cancel(&authority, &headers, &form).await;
        }
        let (browser, mut flow) = posted_flow(&authority, &headers, &form).await?;
        let ctx = Ctx {
            authority: &authority,
            headers: &headers,
            browser: &browser,
        };
        // The user who signed in within the flow, else the session's.
        let who = match (
            flow.row.user_id.clone(),
            flow.request.user_tenant_id.clone(),
        ) {
            (Some(u), Some(t)) => Some((t, u)),
            _ => ctx.session().await?.map(|s| (s.tenant_id, s.user_id)),
        };
        let Some((tenant_id, user_id)) = who else {
            return Ok(sign_in_page(&ctx, &flow, "", None).await);
        };
        if matches!(flow.request.kind, FlowKind::AdminConsent(_)) {
            admin_consent::accept(&authority, &mut flow, &tenant_id, &user_id).await?;
        } else {
            decide_consent(&ctx, &mut flow, &form, &tenant_id, &user_id).await?;
        }
        advance(&ctx, flow).await
    }
    .await;
    finish(&authority, r)
}

/// Records the user's decision on the consent page.
async fn decide_consent(
    ctx: &Ctx<'_>,
    flow: &mut Flow,
    form: &Form,
    tenant_id: &str,
    user_id: &str,
) -> Result<(), AadError> {
    let authority = ctx.authority;
    let directory = authority.directory();
    let tenant = directory
        .store()
        .get_tenant(tenant_id)
        .await
        .map_err(internal)?
        .ok_or_else(declined)?;
    let user = directory
        .active_user(tenant_id, user_id)
        .await
        .map_err(internal)?
        .ok_or_else(declined)?;
    let client = find_client(authority, &flow.request.client_id, &tenant.display_name).await?;
    let view = flow::consent_view(authority, &tenant, &client, &user, &flow.request.scopes).await?;
    let org = form.get("organization") == Some("1");
    for (r, scopes) in &view.requested {
        let (can, admin) = directory
            .consent_rights(&tenant.id, &user.id, &r.resource.app, scopes)
            .await
            .map_err(internal)?;
        if !can {
            return Err(AadError::new(
                ErrorCode::AdminConsentRequired,
                "The app needs access to a service that your organization has not subscribed to or enabled; an administrator must \
                 consent first.",
            ));
        }
        let kind = if org && admin {
            ConsentType::AllPrincipals
        } else {
            ConsentType::Principal(user.id.clone())
        };
        if !scopes.is_empty() {
            directory
                .grant_delegated(
                    &tenant.id,
                    &client.app_id,
                    &r.resource.app.app_id,
                    scopes,
                    kind,
                )
                .await
                .map_err(internal)?;
        }
    }
    flow.request.consented = true;
    flow.save(authority).await
}

fn declined() -> AadError {
    AadError::new(
        ErrorCode::ConsentDeclined,
        "The user has declined to consent to access the app.",
    )
}

/// What a cancelled consent answers: the app gets `access_denied`; a device login is
/// declined.
async fn cancel(ctx: &Ctx<'_>, flow: Flow) -> Result<Response, AadError> {
    let authority = ctx.authority;
    authority
        .directory()
        .store()
        .delete_flow(&flow.row.id)
        .await
        .map_err(internal)?;
    let brand = flow::branding(authority, &flow.request).await;
    match &flow.request.kind {
        FlowKind::AuthCode(a) => Ok(redirect_to_app(
            &a.redirect(flow.request.version),
            &declined().with_context(None, authority.clock().now()),
        )),
        FlowKind::AdminConsent(a) => Ok(a.cancelled()),
        FlowKind::Device { device_code_id, .. } => {
            authority
                .directory()
                .store()
                .decide_device_code(device_code_id, "declined", None, None, None)
                .await
                .map_err(internal)?;
            Ok(page(
                StatusCode::OK,
                &MessagePage {
                    brand: &brand,
                    title: "Sign-in cancelled",
                    message: "You declined to sign in on the other device. You may now close this window.",
                },
            ))
        }
    }
}

/// The consent or device-confirmation page's Cancel.
async fn posted_cancel(
    authority: &Authority,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, AadError> {
    let (browser, flow) = posted_flow(authority, headers, form).await?;
    cancel(
        &Ctx {
            authority,
            headers,
            browser: &browser,
        },
        flow,
    )
    .await
}

/// `POST /device-confirm`.
pub async fn device_confirm(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let form = Form::parse(&headers, &body)?;
        if form.get("action") != Some("continue") {
            return posted_cancel(&authority, &headers, &form).await;
        }
        let (browser, mut flow) = posted_flow(&authority, &headers, &form).await?;
        flow.request.device_confirmed = true;
        flow.save(&authority).await?;
        advance(
            &Ctx {
                authority: &authority,
                headers: &headers,
                browser: &browser,
            },
            flow,
        )
        .await
    }
    .await;
    finish(&authority, r)
}
