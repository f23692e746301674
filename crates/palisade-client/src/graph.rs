//! The Microsoft Graph security API client (`/security/incidents`, `/security/alerts_v2`,
//! comments, `runHuntingQuery`). It shares [`DefenderClient`]'s credentials, token cache,
//! retries (429/5xx with `Retry-After`) and next-link checks; only the base URL (default
//! `https://graph.microsoft.com/v1.0`), the resource (`https://graph.microsoft.com`) and the
//! wire shapes differ.

use std::fmt;

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::TokenCredential;
use crate::defender::{DefenderClient, DefenderClientBuilder, Replay};
use crate::error::{ConfigError, Error};
use crate::retry::{RetryPolicy, Sleeper};

/// The public Graph base URL (v1.0).
pub const GRAPH_API_BASE: &str = "https://graph.microsoft.com/v1.0";
/// The resource (audience) Graph tokens are requested for.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// Builder for [`GraphSecurityClient`].
pub struct GraphSecurityClientBuilder {
    inner: DefenderClientBuilder,
}

impl fmt::Debug for GraphSecurityClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl GraphSecurityClientBuilder {
    /// Graph base URL including the version, default `https://graph.microsoft.com/v1.0`
    /// (Palisade's: `https://host:port/v1.0`).
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.inner = self.inner.api_base(url);
        self
    }

    /// The HTTP client (e.g. one trusting Palisade's CA).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.inner = self.inner.http_client(http);
        self
    }

    /// Retry policy.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.inner = self.inner.retry_policy(retry);
        self
    }

    /// How retries wait.
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.inner = self.inner.sleeper(sleeper);
        self
    }

    /// Whether tokens are cached (default yes).
    pub fn cache_tokens(mut self, cache: bool) -> Self {
        self.inner = self.inner.cache_tokens(cache);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<GraphSecurityClient, ConfigError> {
        Ok(GraphSecurityClient {
            client: self.inner.build()?,
        })
    }
}

/// Client of the Graph security API. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GraphSecurityClient {
    client: DefenderClient,
}

/// A comment (`alertComment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertComment {
    /// Text.
    pub comment: String,
    /// Author.
    #[serde(default)]
    pub created_by_display_name: Option<String>,
    /// When, ISO 8601.
    #[serde(default)]
    pub created_date_time: Option<String>,
}

/// A Graph security incident (the main properties; everything else in `other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityIncident {
    /// Id (a numeric string).
    pub id: String,
    /// `displayName`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `active`, `inProgress`, `resolved`, `redirected`, …
    pub status: String,
    /// `unknown`, `informational`, `low`, `medium`, `high`.
    pub severity: String,
    /// `classification`.
    #[serde(default)]
    pub classification: Option<String>,
    /// `determination`.
    #[serde(default)]
    pub determination: Option<String>,
    /// `assignedTo`.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// `createdDateTime`.
    pub created_date_time: String,
    /// `lastUpdateDateTime`.
    pub last_update_date_time: String,
    /// `customTags`.
    #[serde(default)]
    pub custom_tags: Vec<String>,
    /// `comments`.
    #[serde(default)]
    pub comments: Vec<AlertComment>,
    /// `alerts` (only with `$expand=alerts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<SecurityAlert>,
    /// Every other property as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A Graph security alert (`alerts_v2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityAlert {
    /// Id.
    pub id: String,
    /// `incidentId`.
    #[serde(default)]
    pub incident_id: Option<String>,
    /// `title`.
    #[serde(default)]
    pub title: Option<String>,
    /// `new`, `inProgress`, `resolved`, `unknown`.
    pub status: String,
    /// Severity.
    pub severity: String,
    /// `classification`.
    #[serde(default)]
    pub classification: Option<String>,
    /// `determination`.
    #[serde(default)]
    pub determination: Option<String>,
    /// `serviceSource`.
    #[serde(default)]
    pub service_source: Option<String>,
    /// `assignedTo`.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// `createdDateTime`.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// `evidence` items, each with its `@odata.type`.
    #[serde(default)]
    pub evidence: Vec<Value>,
    /// `comments`.
    #[serde(default)]
    pub comments: Vec<AlertComment>,
    /// Every other property as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The fields a PATCH of an incident sets (unset fields are not sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityIncidentUpdate {
    /// New status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// New owner (empty to unassign).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// New classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// New determination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub determination: Option<String>,
    /// New severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Replacement custom tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_tags: Option<Vec<String>>,
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New resolving comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolving_comment: Option<String>,
}

/// The fields a PATCH of an alert sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityAlertUpdate {
    /// `new`, `inProgress`, `resolved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// New owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// New classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// New determination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub determination: Option<String>,
}

/// One column of a hunting result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HuntingColumn {
    /// Name.
    pub name: String,
    /// Type (`String`, `DateTime`, `Int64`, `SByte`, …).
    #[serde(rename = "type")]
    pub type_name: String,
}

/// `huntingQueryResults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HuntingQueryResults {
    /// Columns in order.
    #[serde(default)]
    pub schema: Vec<HuntingColumn>,
    /// Rows keyed by column name (booleans as `SByte` 0/1 with `@odata.type` sidecars).
    #[serde(default)]
    pub results: Vec<Map<String, Value>>,
}

/// Query options of a list: raw OData `$filter`, page size, `$orderby`, `$expand=alerts`,
/// and how many items to yield in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphListQuery {
    /// `$filter`, e.g. `severity eq 'high' and status ne 'resolved'`.
    pub filter: Option<String>,
    /// `$top` (page size).
    pub top: Option<u32>,
    /// `$orderby`, e.g. `createdDateTime asc`.
    pub orderby: Option<String>,
    /// `$expand=alerts` (incidents).
    pub expand_alerts: bool,
    /// Stop after this many items.
    pub limit: Option<u64>,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl GraphListQuery {
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={}", encode(f)));
        }
        if let Some(t) = self.top {
            parts.push(format!("$top={t}"));
        }
        if let Some(o) = &self.orderby {
            parts.push(format!("$orderby={}", encode(o)));
        }
        if self.expand_alerts {
            parts.push("$expand=alerts".to_string());
        }
        parts.join("&")
    }
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Comments {
    value: Vec<AlertComment>,
}

fn encode_id(id: &str) -> Result<String, Error> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Err(Error::InvalidArgument(format!("'{id}' is not a valid id")));
    }
    Ok(id.to_string())
}

impl GraphSecurityClient {
    /// Starts a builder for the public cloud with `credential`.
    pub fn builder(credential: impl TokenCredential + 'static) -> GraphSecurityClientBuilder {
        GraphSecurityClientBuilder {
            inner: DefenderClient::builder(credential)
                .api_base(GRAPH_API_BASE)
                .resource(GRAPH_RESOURCE),
        }
    }

    /// The base URL in use.
    pub fn api_base(&self) -> &str {
        self.client.api_base()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.client.api_base())
    }

    /// `…/security/{set}/{id}`, the id checked.
    fn entity_url(&self, set: &str, id: &str) -> Result<String, Error> {
        Ok(self.url(&format!("/security/{set}/{}", encode_id(id)?)))
    }

    /// `GET` of one entity.
    async fn get_entity<T: serde::de::DeserializeOwned>(&self, url: String) -> Result<T, Error> {
        self.client
            .call_json(Method::GET, &url, None, Replay::Safe)
            .await
    }

    /// `PATCH` of one entity; idempotent, so retried like a read. Returns the entity.
    async fn patch_entity<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        update: &impl Serialize,
    ) -> Result<T, Error> {
        let body = to_body(&url, update)?;
        self.client
            .call_json(Method::PATCH, &url, Some(body), Replay::Safe)
            .await
    }

    fn list<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &GraphListQuery,
    ) -> BoxStream<'static, Result<T, Error>> {
        let qs = query.query_string();
        let first = if qs.is_empty() {
            self.url(path)
        } else {
            format!("{}?{qs}", self.url(path))
        };
        let client = self.client.clone();
        let limit = query.limit;
        stream::unfold(
            (Some(first), 0u64, client),
            move |(next, yielded, client)| async move {
                let url = next?;
                if limit.is_some_and(|l| yielded >= l) {
                    return None;
                }
                let page: Result<Page<T>, Error> = client
                    .call_json(Method::GET, &url, None, Replay::Safe)
                    .await;
                match page {
                    Err(e) => Some((vec![Err(e)], (None, yielded, client))),
                    Ok(page) => {
                        let mut items = page.value;
                        if let Some(l) = limit {
                            items.truncate(usize::try_from(l - yielded).unwrap_or(usize::MAX));
                        }
                        let yielded = yielded + items.len() as u64;
                        let next = match page.next_link {
                            Some(link) if !items.is_empty() => {
                                match client.resolve_next_link(&url, &link) {
                                    Ok(n) if n != url => Some(n),
                                    Ok(_) => None,
                                    Err(e) => {
                                        let mut out: Vec<Result<T, Error>> =
                                            items.into_iter().map(Ok).collect();
                                        out.push(Err(e));
                                        return Some((out, (None, yielded, client)));
                                    }
                                }
                            }
                            _ => None,
                        };
                        Some((items.into_iter().map(Ok).collect(), (next, yielded, client)))
                    }
                }
            },
        )
        .flat_map(stream::iter)
        .boxed()
    }

    /// Streams incidents over every page (`@odata.nextLink`).
    pub fn list_incidents(
        &self,
        query: &GraphListQuery,
    ) -> BoxStream<'static, Result<SecurityIncident, Error>> {
        self.list("/security/incidents", query)
    }

    /// Collects [`GraphSecurityClient::list_incidents`].
    pub async fn list_all_incidents(
        &self,
        query: &GraphListQuery,
    ) -> Result<Vec<SecurityIncident>, Error> {
        collect(self.list_incidents(query)).await
    }

    /// `GET /security/incidents/{id}` (with `$expand=alerts` if asked).
    pub async fn get_incident(
        &self,
        id: &str,
        expand_alerts: bool,
    ) -> Result<SecurityIncident, Error> {
        let mut url = self.entity_url("incidents", id)?;
        if expand_alerts {
            url.push_str("?$expand=alerts");
        }
        self.get_entity(url).await
    }

    /// `PATCH /security/incidents/{id}`; returns the updated incident. Idempotent, so
    /// retried like a read.
    pub async fn update_incident(
        &self,
        id: &str,
        update: &SecurityIncidentUpdate,
    ) -> Result<SecurityIncident, Error> {
        self.patch_entity(self.entity_url("incidents", id)?, update)
            .await
    }

    /// `POST /security/incidents/{id}/comments`; returns every comment. Retried only when
    /// surely not applied (429, no connection): a repeat would add it twice.
    pub async fn add_incident_comment(
        &self,
        id: &str,
        comment: &str,
    ) -> Result<Vec<AlertComment>, Error> {
        self.comment(self.entity_url("incidents", id)? + "/comments", comment)
            .await
    }

    /// Streams alerts over every page.
    pub fn list_alerts(
        &self,
        query: &GraphListQuery,
    ) -> BoxStream<'static, Result<SecurityAlert, Error>> {
        self.list("/security/alerts_v2", query)
    }

    /// Collects [`GraphSecurityClient::list_alerts`].
    pub async fn list_all_alerts(
        &self,
        query: &GraphListQuery,
    ) -> Result<Vec<SecurityAlert>, Error> {
        collect(self.list_alerts(query)).await
    }

    /// `GET /security/alerts_v2/{id}`.
    pub async fn get_alert(&self, id: &str) -> Result<SecurityAlert, Error> {
        self.get_entity(self.entity_url("alerts_v2", id)?).await
    }

    /// `PATCH /security/alerts_v2/{id}`.
    pub async fn update_alert(
        &self,
        id: &str,
        update: &SecurityAlertUpdate,
    ) -> Result<SecurityAlert, Error> {
        self.patch_entity(self.entity_url("alerts_v2", id)?, update)
            .await
    }

    /// `POST /security/alerts_v2/{id}/comments`; returns every comment.
    pub async fn add_alert_comment(
        &self,
        id: &str,
        comment: &str,
    ) -> Result<Vec<AlertComment>, Error> {
        self.comment(self.entity_url("alerts_v2", id)? + "/comments", comment)
            .await
    }

    async fn comment(&self, url: String, comment: &str) -> Result<Vec<AlertComment>, Error> {
        let body = to_body(
            &url,
            &serde_json::json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": comment}),
        )?;
        let out: Comments = self
            .client
            .call_json(Method::POST, &url, Some(body), Replay::OnlyIfRejected)
            .await?;
        Ok(out.value)
    }

    /// `POST /security/runHuntingQuery` with `query` and an optional ISO 8601 `timespan`.
    pub async fn run_hunting_query(
        &self,
        query: &str,
        timespan: Option<&str>,
    ) -> Result<HuntingQueryResults, Error> {
        let url = self.url("/security/runHuntingQuery");
        let mut body = serde_json::json!({"Query": query});
        if let Some(t) = timespan {
            body["Timespan"] = Value::String(t.to_string());
        }
        let body = to_body(&url, &body)?;
        self.client
            .call_json(Method::POST, &url, Some(body), Replay::Safe)
            .await
    }
}

fn to_body(url: &str, value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|source| Error::Decode {
        url: url.to_string(),
        source,
    })
}

async fn collect<T>(mut s: BoxStream<'static, Result<T, Error>>) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    while let Some(item) = s.next().await {
        out.push(item?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_encodes_options() {
        let q = GraphListQuery {
            filter: Some("severity eq 'high'".into()),
            top: Some(10),
            orderby: Some("createdDateTime asc".into()),
            expand_alerts: true,
            limit: None,
        };
        assert_eq!(
            q.query_string(),
            "$filter=severity%20eq%20%27high%27&$top=10&$orderby=createdDateTime%20asc&$expand=alerts"
        );
        assert!(encode_id("12").is_ok());
        assert!(encode_id("da637_1").is_ok());
        assert!(encode_id("../x").is_err());
        let i: SecurityIncident = serde_json::from_value(serde_json::json!({
            "id": "7", "status": "active", "severity": "high", "createdDateTime": "2024-01-01T00:00:00Z",
            "lastUpdateDateTime": "2024-01-01T00:00:00Z", "incidentWebUrl": "u", "customTags": ["a"]
        }))
        .unwrap();
        assert_eq!(i.other["incidentWebUrl"], "u");
        assert_eq!(i.custom_tags, ["a"]);
    }
}
