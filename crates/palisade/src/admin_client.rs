//! A small client of the admin API, used by `palisade admin …`.

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::Path;

/// An authenticated connection to a Palisade server's admin API.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl AdminClient {
    /// A client for `base` (e.g. `https://localhost:8443`) trusting `ca_file` if given.
    pub fn new(base: &str, key: String, ca_file: Option<&Path>) -> Result<Self> {
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
        if let Some(ca) = ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("reading CA certificate {}", ca.display()))?;
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
        }
        Ok(Self {
            http: builder.build()?,
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
