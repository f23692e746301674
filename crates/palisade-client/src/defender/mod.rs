//! The Microsoft Defender XDR REST API client: incidents and advanced hunting.

pub mod filter;
pub mod models;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::cache::TokenCache;
use crate::credential::TokenCredential;
use crate::error::{snippet, ApiError, ConfigError, Error};
use crate::http::{default_client, normalize_base};
use crate::retry::{
    is_retryable_status, is_transient_transport, parse_retry_after, RetryPolicy, Sleeper,
};

use filter::IncidentQuery;
use models::{HuntingResponse, Incident, IncidentPage, IncidentUpdate};

/// The public Defender XDR API base URL.
pub const DEFAULT_API_BASE: &str = "https://api.security.microsoft.com";
/// The resource (audience) tokens are requested for.
pub const DEFAULT_RESOURCE: &str = "https://api.security.microsoft.com";

/// Builder for [`DefenderClient`].
pub struct DefenderClientBuilder {
    credential: Arc<dyn TokenCredential>,
    api_base: String,
    resource: String,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    sleeper: Sleeper,
    cache_tokens: bool,
}

impl fmt::Debug for DefenderClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefenderClientBuilder")
            .field("api_base", &self.api_base)
            .field("resource", &self.resource)
            .field("retry", &self.retry)
            .field("cache_tokens", &self.cache_tokens)
            .finish_non_exhaustive()
    }
}

impl DefenderClientBuilder {
    /// API base URL, default `https://api.security.microsoft.com` (set Palisade's here).
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = url.into();
        self
    }

    /// Resource the token is requested for, default `https://api.security.microsoft.com`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// The HTTP client (see [`crate::HttpConfig`]); a default one otherwise.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Retry policy (default: 3 retries, at most 60 s of waiting).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the function used to wait between retries (for tests).
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Whether to wrap the credential in a [`TokenCache`] (default `true`). Turn it off
    /// when the credential given already is a cache you want to share.
    pub fn cache_tokens(mut self, cache: bool) -> Self {
        self.cache_tokens = cache;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<DefenderClient, ConfigError> {
        let api_base = normalize_base(&self.api_base)?;
        let base_url = Url::parse(&api_base).map_err(|_| ConfigError::InvalidUrl {
            url: api_base.clone(),
            reason: "not an absolute URL",
        })?;
        if self.resource.trim().is_empty() {
            return Err(ConfigError::InvalidSetting {
                name: "resource",
                reason: "empty",
            });
        }
        let http = match self.http {
            Some(h) => h,
            None => default_client()?,
        };
        let credential: Arc<dyn TokenCredential> = if self.cache_tokens {
            Arc::new(TokenCache::new(self.credential))
        } else {
            self.credential
        };
        Ok(DefenderClient {
            inner: Arc::new(Inner {
                http,
                api_base,
                base_url,
                resource: self.resource,
                credential,
                retry: self.retry,
                sleeper: self.sleeper,
            }),
        })
    }
}

struct Inner {
    http: reqwest::Client,
    api_base: String,
    base_url: Url,
    resource: String,
    credential: Arc<dyn TokenCredential>,
    retry: RetryPolicy,
    sleeper: Sleeper,
}

/// Client of the Defender XDR API (`/api/incidents`, `/api/advancedhunting/run`).
///
/// Cheap to clone; clones share the HTTP connection pool and the token cache.
#[derive(Clone)]
pub struct DefenderClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DefenderClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefenderClient")
            .field("api_base", &self.inner.api_base)
            .field("resource", &self.inner.resource)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    target: Option<String>,
    /// Graph's `innerError` (its `request-id` stands in for `target`).
    #[serde(default, rename = "innerError")]
    inner_error: Option<serde_json::Value>,
}

/// Builds an [`ApiError`] from a failed response.
fn api_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> ApiError {
    let mut err = ApiError {
        status,
        retry_after,
        ..ApiError::default()
    };
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(env) => {
            err.code = env.error.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            err.message = env.error.message;
            err.target = env.error.target.or_else(|| {
                env.error
                    .inner_error
                    .as_ref()
                    .and_then(|i| i.get("request-id"))
                    .and_then(|r| r.as_str())
                    .map(str::to_string)
            });
        }
        Err(_) if !body.is_empty() => err.message = Some(snippet(body)),
        Err(_) => {}
    }
    err
}

impl DefenderClient {
    /// Starts a builder for the public cloud with `credential`.
    pub fn builder(credential: impl TokenCredential + 'static) -> DefenderClientBuilder {
        DefenderClientBuilder {
            credential: Arc::new(credential),
            api_base: DEFAULT_API_BASE.to_string(),
            resource: DEFAULT_RESOURCE.to_string(),
            http: None,
            retry: RetryPolicy::default(),
            sleeper: Sleeper::default(),
            cache_tokens: true,
        }
    }

    /// A client for the public cloud with default settings.
    pub fn new(credential: impl TokenCredential + 'static) -> Result<Self, ConfigError> {
        Self::builder(credential).build()
    }

    /// The API base URL in use.
    pub fn api_base(&self) -> &str {
        &self.inner.api_base
    }

    /// Streams every incident matching `query`, fetching pages as needed.
    ///
    /// Follows `@odata.nextLink` when the server sends one; otherwise advances `$skip` by
    /// the page length until a page is shorter than `$top`. The first error ends the stream.
    pub fn list_incidents(
        &self,
        query: IncidentQuery,
    ) -> BoxStream<'static, Result<Incident, Error>> {
        let first = format!(
            "{}/api/incidents?{}",
            self.inner.api_base,
            query.query_string(query.skip)
        );
        let state = PagingState {
            client: self.clone(),
            offset: query.skip,
            yielded: 0,
            query,
            next: Some(Next::Url(first)),
        };
        stream::unfold(state, |mut state| async move {
            let url = match state.next.take()? {
                Next::Url(url) => url,
                Next::Fail(e) => return Some((Err(e), state)),
            };
            match state.fetch_page(&url).await {
                Ok(items) => Some((Ok(items), state)),
                Err(e) => Some((Err(e), state)),
            }
        })
        .flat_map(|page| match page {
            Ok(items) => stream::iter(items.into_iter().map(Ok)).boxed(),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        })
        .boxed()
    }

    /// Collects [`DefenderClient::list_incidents`] into a vector.
    pub async fn list_all_incidents(&self, query: IncidentQuery) -> Result<Vec<Incident>, Error> {
        let mut out = Vec::new();
        let mut s = self.list_incidents(query);
        while let Some(item) = s.next().await {
            out.push(item?);
        }
        Ok(out)
    }

    /// `GET /api/incidents/{id}`. A missing incident is an [`Error::Api`] with status 404.
    pub async fn get_incident(&self, id: i64) -> Result<Incident, Error> {
        let url = format!("{}/api/incidents/{id}", self.inner.api_base);
        self.call_json(Method::GET, &url, None, Replay::Safe).await
    }

    /// `PATCH /api/incidents/{id}` with only the fields set in `update`; returns the updated
    /// incident.
    ///
    /// Setting fields is idempotent, so it is retried like a read. Adding a comment is not: a
    /// 5xx may come after the server stored it, so an update with a comment is retried only
    /// when the request surely did not take effect (429, or no connection).
    pub async fn update_incident(
        &self,
        id: i64,
        update: &IncidentUpdate,
    ) -> Result<Incident, Error> {
        let url = format!("{}/api/incidents/{id}", self.inner.api_base);
        let body = serde_json::to_vec(update).map_err(|source| Error::Decode {
            url: url.clone(),
            source,
        })?;
        let replay = if update.comment.is_some() {
            Replay::OnlyIfRejected
        } else {
            Replay::Safe
        };
        self.call_json(Method::PATCH, &url, Some(body), replay)
            .await
    }

    /// `POST /api/advancedhunting/run` with `{"Query": query}`.
    pub async fn hunt(&self, query: &str) -> Result<HuntingResponse, Error> {
        let url = format!("{}/api/advancedhunting/run", self.inner.api_base);
        let body =
            serde_json::to_vec(&serde_json::json!({ "Query": query })).map_err(|source| {
                Error::Decode {
                    url: url.clone(),
                    source,
                }
            })?;
        // A hunting query only reads.
        self.call_json(Method::POST, &url, Some(body), Replay::Safe)
            .await
    }

    /// Sends `method url` with an optional JSON body and decodes the JSON answer, with the
    /// client's token, retries and 401 refresh (shared with [`crate::graph`]).
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        replay: Replay,
    ) -> Result<T, Error> {
        let bytes = self.send(method, url, body, replay).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            url: url.to_string(),
            source,
        })
    }

    /// Sends a request with the bearer token, retrying per the policy (and `replay`) and
    /// refreshing the token once on 401. Returns the body of a 2xx response.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        replay: Replay,
    ) -> Result<Vec<u8>, Error> {
        let inner = &self.inner;
        let policy = &inner.retry;
        let mut retries = 0u32;
        let mut waited = Duration::ZERO;
        let mut reauthenticated = false;
        loop {
            let token = inner.credential.get_token(&inner.resource).await?;
            let mut req = inner
                .http
                .request(method.clone(), url)
                .bearer_auth(&token.token)
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let wait = match req.send().await {
                Err(e) => {
                    // Only failures to connect are known not to have reached the server.
                    if !is_transient_transport(&e) {
                        return Err(Error::Http(e));
                    }
                    let wait = policy.backoff(retries);
                    if retries >= policy.max_retries || waited + wait > policy.max_total_wait {
                        return Err(Error::Http(e));
                    }
                    tracing::debug!(%url, error = %e, ?wait, "connect failed; retrying");
                    wait
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        let bytes = resp.bytes().await.map_err(Error::Http)?;
                        return Ok(bytes.to_vec());
                    }
                    let retry_after = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
                    let bytes = resp.bytes().await.map_err(Error::Http)?;
                    let err = api_error(status, &bytes, retry_after);
                    if status == 401 && !reauthenticated {
                        reauthenticated = true;
                        tracing::debug!(%url, "401 from API; refreshing token once");
                        inner.credential.invalidate(&inner.resource, &token);
                        continue;
                    }
                    let replayable = match replay {
                        Replay::Safe => is_retryable_status(status),
                        Replay::OnlyIfRejected => status == 429,
                    };
                    if !replayable || retries >= policy.max_retries {
                        return Err(Error::Api(Box::new(err)));
                    }
                    let wait = retry_after.unwrap_or_else(|| policy.backoff(retries));
                    if waited + wait > policy.max_total_wait {
                        return Err(Error::Api(Box::new(err)));
                    }
                    tracing::debug!(%url, status, ?wait, "retrying");
                    wait
                }
            };
            inner.sleeper.sleep(wait).await;
            waited += wait;
            retries += 1;
        }
    }
}

/// Whether a request may be sent again after a failure the server reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Repeating it changes nothing more than sending it once: retry 429 and 5xx.
    Safe,
    /// Repeating it after it took effect would do it twice: retry only a 429 (the quota is
    /// checked before anything is done) and failures to connect.
    OnlyIfRejected,
}

struct PagingState {
    client: DefenderClient,
    query: IncidentQuery,
    /// `$skip` of the next page in skip-style paging.
    offset: u64,
    yielded: u64,
    next: Option<Next>,
}

/// What the stream does after the current page.
enum Next {
    /// Fetch this URL.
    Url(String),
    /// Report this error (after the current page's items).
    Fail(Error),
}

impl PagingState {
    async fn fetch_page(&mut self, url: &str) -> Result<Vec<Incident>, Error> {
        let page: IncidentPage = self
            .client
            .call_json(Method::GET, url, None, Replay::Safe)
            .await?;
        let mut items = page.value;
        let count = items.len() as u64;
        self.offset += count;

        self.next = match page.next_link {
            Some(link) => match self.resolve_next_link(url, &link) {
                Ok(next) => (next != url).then_some(Next::Url(next)),
                Err(e) => Some(Next::Fail(e)),
            },
            None if count > 0 && count >= u64::from(self.query.page_size) => {
                Some(Next::Url(format!(
                    "{}/api/incidents?{}",
                    self.client.inner.api_base,
                    self.query.query_string(self.offset)
                )))
            }
            None => None,
        };
        if count == 0 && matches!(self.next, Some(Next::Url(_))) {
            self.next = None;
        }

        if let Some(limit) = self.query.limit {
            let remaining = limit.saturating_sub(self.yielded);
            if count >= remaining {
                items.truncate(usize::try_from(remaining).unwrap_or(usize::MAX));
                self.next = None;
            }
        }
        self.yielded += items.len() as u64;
        Ok(items)
    }

    fn resolve_next_link(&self, current: &str, link: &str) -> Result<String, Error> {
        self.client.resolve_next_link(current, link)
    }
}

impl DefenderClient {
    /// Resolves a (possibly relative) next link and checks it stays on the API's origin.
    pub(crate) fn resolve_next_link(&self, current: &str, link: &str) -> Result<String, Error> {
        let base = Url::parse(current).unwrap_or_else(|_| self.inner.base_url.clone());
        let next = base
            .join(link)
            .map_err(|_| Error::ForeignNextLink(link.to_string()))?;
        let api = &self.inner.base_url;
        if next.scheme() != api.scheme()
            || next.host_str() != api.host_str()
            || next.port_or_known_default() != api.port_or_known_default()
        {
            return Err(Error::ForeignNextLink(link.to_string()));
        }
        Ok(next.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_parsing() {
        let e = api_error(
            404,
            br#"{"error":{"code":"ResourceNotFound","message":"Incident 5 was not found","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}"#,
            None,
        );
        assert_eq!(e.code.as_deref(), Some("ResourceNotFound"));
        assert_eq!(e.message.as_deref(), Some("Incident 5 was not found"));
        assert_eq!(
            e.target.as_deref(),
            Some("43f4cb08-8fac-4b65-9db1-745c2ae65f3a")
        );
        let e = api_error(
            429,
            br#"{"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00","target":"x"}}"#,
            Some(Duration::from_secs(7)),
        );
        assert_eq!(e.code.as_deref(), Some("429"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("retry after 7s"));
        let e = api_error(502, b"<html>bad gateway</html>", None);
        assert_eq!(e.code, None);
        assert_eq!(e.message.as_deref(), Some("<html>bad gateway</html>"));
    }
}
