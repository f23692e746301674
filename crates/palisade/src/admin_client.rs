//! A small client of the admin API, used by `palisade admin …`.

use crate::output::field;
use crate::trust::Trust;
use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// An authenticated connection to a Palisade server's admin API.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl AdminClient {
    /// A client for `base` (e.g. `https://localhost:8443`) with the CLI's trust decision.
    pub fn new(base: &str, key: String, trust: &Trust) -> Result<Self> {
        let http = trust
            .http_config()?
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let url = format!("{}{}", self.base, path);
        let mut request = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let text = response.text().await?;
        let value: Value = serde_json::from_str(&text).map_err(|_| anyhow!("{status}: {text}"))?;
        if !status.is_success() {
            let code = value["error"]["code"].as_str().unwrap_or("Error");
            let message = value["error"]["message"].as_str().unwrap_or(&text);
            if status == StatusCode::UNAUTHORIZED {
                bail!("{code}: {message} (check the admin key: --admin-key, PALISADE_ADMIN_KEY or <data-dir>/admin-key)");
            }
            bail!("{code}: {message}");
        }
        Ok(Some(value))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None)
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, path, Some(body))
            .await
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// PATCH with a JSON body (Graph answers 204).
    pub async fn patch(&self, path: &str, body: &Value) -> Result<()> {
        self.call(Method::PATCH, path, Some(body)).await.map(|_| ())
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::PUT, path, Some(body))
            .await
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, None).await.map(|_| ())
    }
}

/// Finds an app by client id, object id or display name.
pub async fn find_app(client: &AdminClient, tenant: &str, app: &str) -> Result<Value> {
    let apps = client
        .get(&format!("/admin/{tenant}/v1.0/applications"))
        .await?;
    let list = apps["value"].as_array().cloned().unwrap_or_default();
    let matches: Vec<&Value> = list
        .iter()
        .filter(|a| {
            field(a, "/appId").eq_ignore_ascii_case(app)
                || field(a, "/id").eq_ignore_ascii_case(app)
                || field(a, "/displayName") == app
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no application '{app}' in tenant {tenant}"),
        _ => bail!(
            "{} applications are named '{app}': use the client id",
            matches.len()
        ),
    }
}

/// Whether the tenant `t` (admin API JSON) is the one `wanted` names: its id, one of its
/// domains, or its display name (case-insensitive).
fn tenant_matches(t: &Value, wanted: &str) -> bool {
    field(t, "/id").eq_ignore_ascii_case(wanted)
        || field(t, "/displayName").eq_ignore_ascii_case(wanted)
        || t["verifiedDomains"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| field(d, "/name").eq_ignore_ascii_case(wanted))
}

/// The tenant id for `wanted` (an id, domain or display name); with none, the only tenant.
/// `origin` says where `wanted` came from, for the error messages.
pub async fn resolve_tenant(
    client: &AdminClient,
    wanted: Option<&str>,
    origin: &str,
) -> Result<String> {
    let tenants = client.get("/admin/tenants").await?;
    let list = tenants["value"].as_array().cloned().unwrap_or_default();
    if let Some(wanted) = wanted {
        let matches: Vec<&Value> = list.iter().filter(|t| tenant_matches(t, wanted)).collect();
        return match matches.as_slice() {
            [one] => Ok(field(one, "/id")),
            [] => bail!("no tenant '{wanted}' (from {origin}): palisade admin tenant list"),
            _ => bail!(
                "{} tenants match '{wanted}' (from {origin}): use the tenant id or domain",
                matches.len()
            ),
        };
    }
    match list.as_slice() {
        [only] => Ok(field(only, "/id")),
        [] => bail!("no tenant exists yet: palisade admin tenant create NAME"),
        _ => bail!(
            "{} tenants exist: choose one with -t/--tenant NAME (id, domain or name), PALISADE_TENANT, \
             or a context (palisade context use NAME)",
            list.len()
        ),
    }
}
