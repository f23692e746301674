//! The partner context's fan-out: one operation (list incidents, a hunting query, or any
//! closure over a [`DefenderClient`]) across many customer tenants at once.
//!
//! Each tenant has its own [`DefenderClient`], so its own credential and token cache (a
//! token per customer tenant) and its own retries: a 429 from one tenant waits out that
//! tenant's `Retry-After` without holding up the others, and one tenant's failure (401,
//! 403, 429 past the retry budget, unknown tenant) is that tenant's result only.
//! Results come back in the order the tenants were given.

use std::future::Future;

use futures::stream::{self, StreamExt};

use crate::defender::models::{HuntingResponse, Incident};
use crate::defender::DefenderClient;
use crate::error::{ConfigError, Error};
use crate::IncidentQuery;

/// Default number of tenants worked on at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One tenant's result.
#[derive(Debug)]
pub struct TenantOutcome<T> {
    /// The tenant as given.
    pub tenant_id: String,
    /// What the operation returned for it.
    pub result: Result<T, Error>,
}

/// A client per customer tenant.
#[derive(Debug, Clone)]
pub struct PartnerClients {
    clients: Vec<(String, DefenderClient)>,
    concurrency: usize,
}

impl PartnerClients {
    /// Builds a client for each tenant with `make` (typically a credential for that tenant
    /// id — `ClientSecretCredential` or `ClientCertificateCredential` — in a
    /// [`DefenderClient`]). Duplicate tenants are kept once.
    pub fn new<I, S, F>(tenants: I, mut make: F) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        F: FnMut(&str) -> Result<DefenderClient, ConfigError>,
    {
        let mut clients: Vec<(String, DefenderClient)> = Vec::new();
        for t in tenants {
            let t = t.into();
            if clients.iter().any(|(x, _)| x.eq_ignore_ascii_case(&t)) {
                continue;
            }
            let c = make(&t)?;
            clients.push((t, c));
        }
        Ok(Self {
            clients,
            concurrency: DEFAULT_CONCURRENCY,
        })
    }

    /// How many tenants are worked on at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The tenants, in order.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|(t, _)| t.as_str())
    }

    /// The client of one tenant.
    pub fn client(&self, tenant: &str) -> Option<&DefenderClient> {
        self.clients
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(tenant))
            .map(|(_, c)| c)
    }

    /// Runs `op` for every tenant, at most `concurrency` at a time.
    pub async fn run<T, F, Fut>(&self, op: F) -> Vec<TenantOutcome<T>>
    where
        F: Fn(String, DefenderClient) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut out: Vec<(usize, TenantOutcome<T>)> = stream::iter(self.clients.iter().enumerate())
            .map(|(i, (tenant, client))| {
                let fut = op(tenant.clone(), client.clone());
                let tenant = tenant.clone();
                async move {
                    (
                        i,
                        TenantOutcome {
                            tenant_id: tenant,
                            result: fut.await,
                        },
                    )
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, o)| o).collect()
    }

    /// Every incident matching `query`, per tenant.
    pub async fn list_all_incidents(
        &self,
        query: IncidentQuery,
    ) -> Vec<TenantOutcome<Vec<Incident>>> {
        self.run(|_, c| {
            let q = query.clone();
            async move { c.list_all_incidents(q).await }
        })
        .await
    }

    /// A hunting query, per tenant.
    pub async fn hunt(&self, query: &str) -> Vec<TenantOutcome<HuntingResponse>> {
        self.run(|_, c| {
            let q = query.to_string();
            async move { c.hunt(&q).await }
        })
        .await
    }
}
