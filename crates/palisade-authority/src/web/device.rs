//! `/devicelogin`: the page where a user types the device code shown by an app, which
//! then continues as a flow (confirmation, sign-in, consent) ending in the device code's
//! approval.

use crate::error::internal;
use crate::form::Form;
use crate::grants::device::normalize_user_code;
use crate::web::cookies::{self, browser_id, csrf_ok, csrf_token, BROWSER_COOKIE};
use crate::web::flow::advance;
use crate::web::pages::{page, Branding, DeviceCodePage};
use crate::web::state::{Ctx, FlowKind, FlowRequest};
use crate::web::{finish, start_flow, with_browser_cookie};
use crate::Authority;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The flow id the device-code page's CSRF token is bound to (there is no flow yet).
const DEVICE_ENTRY: &str = "devicelogin";

/// `GET /devicelogin`.
pub async fn devicelogin_page(State(authority): State<Authority>, headers: HeaderMap) -> Response {
    let (browser, new) = browser_id(&headers);
    let csrf = csrf_token(&browser, DEVICE_ENTRY);
    let r = page(
        StatusCode::OK,
        &DeviceCodePage {
            brand: &Branding::default(),
            csrf: &csrf,
            code: "",
            error: None,
        },
    );
    with_browser_cookie(r, &authority, &browser, new)
}

/// `POST /devicelogin`: the code typed.
pub async fn devicelogin_submit(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let r = async {
        let form = Form::parse(&headers, &body)?;
        let browser = cookies::cookie(&headers, BROWSER_COOKIE).unwrap_or_default();
        let typed = form.get("otc").unwrap_or("").to_string();
        let csrf = csrf_token(&browser, DEVICE_ENTRY);
        let again = |message: &str| {
            page(
                StatusCode::OK,
                &DeviceCodePage {
                    brand: &Branding::default(),
                    csrf: &csrf,
                    code: &typed,
                    error: Some(message),
                },
            )
        };
        if browser.is_empty() || !csrf_ok(&browser, DEVICE_ENTRY, form.get("csrf").unwrap_or("")) {
            return Ok(again("Your session timed out. Enter the code again."));
        }
        let code = normalize_user_code(&typed);
        let now = authority.clock().now().unix_timestamp();
        let row = authority
            .directory()
            .store()
            .find_device_code_by_user_code(&code)
            .await
            .map_err(internal)?;
        let Some(row) = row.filter(|r| r.status == "pending" && r.expires_at > now) else {
            return Ok(again(
                "That code didn't work. Check the code and try again. (AADSTS70018)",
            ));
        };
        let stored: crate::grants::device::DeviceRequest =
            serde_json::from_str(&row.request_json).map_err(internal)?;
        let request = FlowRequest {
            kind: FlowKind::Device {
                device_code_id: row.id.clone(),
                user_code: row.user_code.clone(),
            },
            version: stored.version,
            tenant_segment: stored.tenant_segment,
            client_id: row.client_id.clone(),
            scopes: stored.scopes,
            prompt: None,
            login_hint: None,
            fresh_sign_in: false,
            account_chosen: false,
            consented: false,
            device_confirmed: false,
            session_id: None,
            auth_time: None,
            user_tenant_id: None,
        };
        let flow = start_flow(&authority, &browser, request).await?;
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
