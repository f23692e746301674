//! `GET|POST /{tenant}/oauth2/logout` and `/oauth2/v2.0/logout` (identity.md §7.7): ends
//! the browser's session and clears its cookie, then redirects to
//! `post_logout_redirect_uri` if one of the apps concerned registered it (the `client_id`
//! parameter, the `id_token_hint`'s audience, or the apps signed in through the session);
//! otherwise shows the signed-out page. An unregistered URI is never redirected to.

use crate::form::Form;
use crate::user_tokens::secret_hash;
use crate::web::cookies::{cookie, set_cookie, SESSION_COOKIE};
use crate::web::pages::{page, Branding, MessagePage};
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

fn hint_audience(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    claims["aud"].as_str().map(str::to_string)
}

/// Ends the session.
pub async fn logout(
    State(authority): State<Authority>,
    Path(_tenant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = super::params(&method, &uri, &headers, &body).unwrap_or_else(|_| Form::empty());
    let store = authority.directory().store();
    let now = authority.clock().now().unix_timestamp();
    let mut apps: Vec<String> = Vec::new();
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        if let Ok(Some(s)) = store.find_session(&secret_hash(&secret), now).await {
            apps.extend(s.client_ids.clone());
            if let Err(e) = store.delete_session(&s.id).await {
                tracing::error!(error = %e, "ending a session failed");
            }
        }
    }
    if let Some(c) = form.get("client_id") {
        apps.push(c.to_string());
    }
    if let Some(aud) = form.get("id_token_hint").and_then(hint_audience) {
        apps.push(aud);
    }
    let mut target = None;
    if let Some(uri) = form.get("post_logout_redirect_uri") {
        for app_id in &apps {
            if let Ok(Some(app)) = authority
                .directory()
                .find_application_by_app_id(app_id)
                .await
            {
                if app.redirect_kind(uri).is_some() {
                    target = Some(uri.to_string());
                    break;
                }
            }
        }
    }
    let secure = authority.settings().scheme == "https";
    let mut r = match target {
        Some(uri) => {
            let location = match form.get("state") {
                Some(state) => format!(
                    "{uri}{}{}",
                    if uri.contains('?') { "&" } else { "?" },
                    serde_urlencoded::to_string([("state", state)]).unwrap_or_default()
                ),
                None => uri,
            };
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        None => page(
            StatusCode::OK,
            &MessagePage {
                brand: &Branding::default(),
                title: "You signed out of your account",
                message: "It's a good idea to close all browser windows.",
            },
        ),
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", secure, Some(0)),
    );
    r
}
