//! The protocol side of user sign-in for a public client (v2 endpoints): password,
//! device code (start and poll), authorization code + PKCE (URL and redemption) and
//! refresh, each answering [`UserTokens`] or a typed Entra error.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::credential::{parse_token_response, AccessToken, DEFAULT_AUTHORITY_HOST};
use crate::error::{ConfigError, CredentialError, EntraError};
use crate::http::{default_client, normalize_base};
use crate::retry::Sleeper;
use crate::user::cache::Account;

/// The tokens of a user sign-in.
#[derive(Clone, Debug)]
pub struct UserTokens {
    /// The access token.
    pub access: AccessToken,
    /// The refresh token (with `offline_access`).
    pub refresh_token: Option<String>,
    /// Who signed in (from the ID token, else `client_info`).
    pub account: Account,
}

/// What the user is told to do in the device code flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCodeInfo {
    /// The code to type.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// The server's sentence saying both.
    pub message: String,
    /// When the code expires.
    pub expires_on: OffsetDateTime,
    device_code: String,
    interval: Duration,
}

/// The v2 scope string of a resource (or its `.default` scope): `{resource}/.default`
/// (every permission consented for it) plus the OIDC scopes, for an ID token naming the
/// user and a refresh token.
pub fn user_scope(resource_or_scope: &str) -> String {
    format!(
        "{}/.default offline_access openid profile",
        resource_key(resource_or_scope)
    )
}

/// The cache key of a resource or scope: the resource, without `/.default`.
pub fn resource_key(resource_or_scope: &str) -> String {
    resource_or_scope
        .trim()
        .strip_suffix("/.default")
        .unwrap_or(resource_or_scope.trim())
        .trim_end_matches('/')
        .to_string()
}

/// A PKCE verifier (43 characters, 256 bits) and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()
}

/// A public client of an authority and tenant.
#[derive(Clone, Debug)]
pub struct PublicClient {
    authority: String,
    tenant: String,
    client_id: String,
    http: reqwest::Client,
    sleeper: Sleeper,
}

impl PublicClient {
    /// A client of `tenant` (a GUID, a domain, `organizations` or `common`) at `authority`
    /// (default: the Microsoft cloud).
    pub fn new(
        authority: Option<&str>,
        tenant: &str,
        client_id: &str,
        http: Option<reqwest::Client>,
    ) -> Result<Self, ConfigError> {
        let authority = normalize_base(authority.unwrap_or(DEFAULT_AUTHORITY_HOST))?;
        if tenant.is_empty()
            || !tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(ConfigError::InvalidSetting {
                name: "tenant id",
                reason: "must be a GUID, a domain name, organizations or common",
            });
        }
        if client_id.trim().is_empty() {
            return Err(ConfigError::InvalidSetting {
                name: "client id",
                reason: "empty",
            });
        }
        Ok(PublicClient {
            authority,
            tenant: tenant.to_string(),
            client_id: client_id.trim().to_string(),
            http: match http {
                Some(h) => h,
                None => default_client()?,
            },
            sleeper: Sleeper::default(),
        })
    }

    /// Replaces how the device code flow waits between polls (tests).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The authority host.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The tenant segment.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn url(&self, tenant: &str, path: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/{path}", self.authority)
    }

    async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>, OffsetDateTime), CredentialError> {
        let started = OffsetDateTime::now_utc();
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| CredentialError::InvalidResponse(format!("cannot encode form: {e}")))?;
        let resp = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(CredentialError::Http)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(CredentialError::Http)?;
        Ok((status, bytes.to_vec(), started))
    }

    /// Posts to the token endpoint (`tenant` overrides the client's, e.g. the user's own
    /// tenant for refreshes) and reads the tokens.
    async fn token(
        &self,
        tenant: Option<&str>,
        form: &[(&str, &str)],
    ) -> Result<UserTokens, CredentialError> {
        let url = self.url(tenant.unwrap_or(&self.tenant), "token");
        let (status, body, started) = self.post(&url, form).await?;
        let access = parse_token_response(status, &body, started)?;
        #[derive(Deserialize)]
        struct Extra {
            refresh_token: Option<String>,
            id_token: Option<String>,
            client_info: Option<String>,
        }
        let extra: Extra = serde_json::from_slice(&body)
            .map_err(|e| CredentialError::InvalidResponse(e.to_string()))?;
        let id = extra.id_token.as_deref().and_then(claims);
        let info: Option<Value> = extra
            .client_info
            .as_deref()
            .and_then(|c| URL_SAFE_NO_PAD.decode(c.trim_end_matches('=')).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let at = claims(&access.token);
        let pick = |keys: &[&str]| -> String {
            for c in [&id, &at].into_iter().flatten() {
                for k in keys {
                    if let Some(v) = c[*k].as_str() {
                        return v.to_string();
                    }
                }
            }
            String::new()
        };
        let mut object_id = pick(&["oid"]);
        let mut tenant_id = pick(&["tid"]);
        if let Some(i) = &info {
            if object_id.is_empty() {
                object_id = i["uid"].as_str().unwrap_or_default().to_string();
            }
            if tenant_id.is_empty() {
                tenant_id = i["utid"].as_str().unwrap_or_default().to_string();
            }
        }
        Ok(UserTokens {
            access,
            refresh_token: extra.refresh_token,
            account: Account {
                authority: self.authority.clone(),
                client_id: self.client_id.clone(),
                tenant_id,
                username: pick(&["preferred_username", "upn", "unique_name"]),
                object_id,
            },
        })
    }

    /// Resource owner password credentials (ROPC).
    pub async fn sign_in_with_password(
        &self,
        username: &str,
        password: &str,
        resource: &str,
    ) -> Result<UserTokens, CredentialError> {
        let scope = user_scope(resource);
        self.token(
            None,
            &[
                ("grant_type", "password"),
                ("client_id", &self.client_id),
                ("username", username),
                ("password", password),
                ("scope", &scope),
                ("client_info", "1"),
            ],
        )
        .await
    }

    /// Exchanges a refresh token, in the account's own tenant.
    pub async fn refresh(
        &self,
        account: &Account,
        refresh_token: &str,
        resource: &str,
    ) -> Result<UserTokens, CredentialError> {
        let scope = user_scope(resource);
        let tenant = if account.tenant_id.is_empty() {
            None
        } else {
            Some(account.tenant_id.as_str())
        };
        self.token(
            tenant,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &self.client_id),
                ("refresh_token", refresh_token),
                ("scope", &scope),
                ("client_info", "1"),
            ],
        )
        .await
    }

    /// Starts the device code flow.
    pub async fn start_device_code(
        &self,
        resource: &str,
    ) -> Result<DeviceCodeInfo, CredentialError> {
        let scope = user_scope(resource);
        let (status, body, started) = self
            .post(
                &self.url(&self.tenant, "devicecode"),
                &[("client_id", &self.client_id), ("scope", &scope)],
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(match serde_json::from_slice::<EntraError>(&body) {
                Ok(mut e) => {
                    e.status = status;
                    CredentialError::Entra(Box::new(e))
                }
                Err(_) => CredentialError::UnexpectedResponse {
                    status,
                    body: String::from_utf8_lossy(&body).chars().take(200).collect(),
                },
            });
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| CredentialError::InvalidResponse(e.to_string()))?;
        let num = |k: &str, default: u64| {
            v[k].as_u64()
                .or_else(|| v[k].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(default)
        };
        let text = |k: &str| v[k].as_str().map(str::to_string);
        Ok(DeviceCodeInfo {
            user_code: text("user_code")
                .ok_or_else(|| CredentialError::InvalidResponse("no user_code".into()))?,
            verification_uri: text("verification_uri")
                .or_else(|| text("verification_url"))
                .unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            expires_on: started + Duration::from_secs(num("expires_in", 900)),
            device_code: text("device_code")
                .ok_or_else(|| CredentialError::InvalidResponse("no device_code".into()))?,
            interval: Duration::from_secs(num("interval", 5).max(1)),
        })
    }

    /// Polls until the user finished (or declined, or the code expired), honouring the
    /// interval and `slow_down`.
    pub async fn finish_device_code(
        &self,
        info: &DeviceCodeInfo,
    ) -> Result<UserTokens, CredentialError> {
        let mut interval = info.interval;
        loop {
            let result = self
                .token(
                    None,
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("client_id", &self.client_id),
                        ("device_code", &info.device_code),
                        ("client_info", "1"),
                    ],
                )
                .await;
            match result {
                Err(CredentialError::Entra(e)) if e.error == "authorization_pending" => {}
                Err(CredentialError::Entra(e)) if e.error == "slow_down" => {
                    interval += Duration::from_secs(5);
                }
                other => return other,
            }
            if OffsetDateTime::now_utc() >= info.expires_on {
                return Err(CredentialError::Interaction(
                    "the device code expired before the sign-in was completed".into(),
                ));
            }
            self.sleeper.sleep(interval).await;
        }
    }

    /// The authorize URL of an authorization-code request with PKCE.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        resource: &str,
        state: &str,
        challenge: &str,
        login_hint: Option<&str>,
    ) -> String {
        let scope = user_scope(resource);
        let mut q = vec![
            ("client_id", self.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", scope.as_str()),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("response_mode", "query"),
        ];
        if let Some(h) = login_hint {
            q.push(("login_hint", h));
        }
        format!(
            "{}?{}",
            self.url(&self.tenant, "authorize"),
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    }

    /// Redeems an authorization code.
    pub async fn redeem_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
        client_secret: Option<&str>,
        resource: &str,
    ) -> Result<UserTokens, CredentialError> {
        let scope = user_scope(resource);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", self.client_id.as_str()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("scope", scope.as_str()),
            ("client_info", "1"),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        if let Some(s) = client_secret {
            form.push(("client_secret", s));
        }
        self.token(None, &form).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_keys() {
        assert_eq!(
            user_scope("https://api.security.microsoft.com"),
            "https://api.security.microsoft.com/.default offline_access openid profile"
        );
        assert_eq!(
            user_scope("https://api.security.microsoft.com/.default"),
            "https://api.security.microsoft.com/.default offline_access openid profile"
        );
        assert_eq!(
            user_scope("https://security.microsoft.com/mtp/"),
            "https://security.microsoft.com/mtp/.default offline_access openid profile"
        );
        assert_eq!(
            resource_key("https://api.security.microsoft.com/.default"),
            "https://api.security.microsoft.com"
        );
        let (v, c) = pkce_pair();
        assert_eq!(v.len(), 43);
        assert_eq!(c.len(), 43);
        assert!(PublicClient::new(None, "a/b", "c", None).is_err());
    }
}
