//! The Microsoft Graph security API (`shared/spec/graph.md`): incidents, `alerts_v2` with
//! their evidence, and advanced hunting at `/v1.0/security/…` and `/beta/security/…`,
//! served from the **same** store as the Defender API — one store, two views; the field
//! mapping of defender-api.md §12.4 holds both ways.
//!
//! Differences from the Defender API, all here:
//! - tokens must carry a Microsoft Graph audience ([`crate::GRAPH_AUDIENCES`]); Defender
//!   tokens are refused, and the Defender API refuses Graph tokens;
//! - Graph permissions ([`GraphOperation`]) in `roles` or `scp`; delegated calls also need
//!   the user's Defender right and see only their device groups, as on the Defender API;
//! - Graph's error envelope, `request-id`/`client-request-id`, `@odata.context`, OData
//!   options and camelCase enums;
//! - throttling per (tenant, app, method class): [`graph_quotas`] (150 calls a minute for
//!   security methods, the documented "security detections" limit; hunting as the Defender
//!   API's; the directory's resource units and writes), answered with 429 and `Retry-After`.

mod alerts;
mod directory;
pub mod error;
mod evidence;
mod hunting;
mod incidents;
mod permissions;
mod query;
pub(crate) mod wire;

pub use error::GraphError;
pub use permissions::{check as check_graph_permission, GraphOperation};

use crate::access::{missing_right_message, required_right, Authorized, Visibility};
use crate::auth::{CallerKind, TokenValidator, GRAPH_AUDIENCES};
use crate::gate::Refusal;
use crate::quota::{QuotaConfig, QuotaLimit, QuotaTracker};
use crate::DefenderState;
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::Router;
use palisade_store::IncidentVisibility;
use std::sync::Arc;

/// Graph's documented limits for the security methods: 150 requests a minute per app per
/// tenant for each class (graph.md §6 "Security detections and incidents"); hunting keeps
/// the Defender API's 45 a minute and 1,500 an hour. The directory's limits
/// (`directory_units`, `directory_writes`) are the operator's `quotas` (whose defaults are
/// Graph's figures), so they can be set with `--quota`.
pub fn graph_quotas(operator: &QuotaConfig) -> QuotaConfig {
    QuotaConfig {
        enabled: operator.enabled,
        list_incidents: vec![QuotaLimit::per_minute(150)],
        get_incident: vec![QuotaLimit::per_minute(150)],
        update_incident: vec![QuotaLimit::per_minute(150)],
        hunting: vec![QuotaLimit::per_minute(45), QuotaLimit::per_hour(1500)],
        directory_units: operator.directory_units.clone(),
        directory_writes: operator.directory_writes.clone(),
    }
}

/// `v1.0` or `beta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    Beta,
}

impl Version {
    fn of(uri: &Uri) -> Self {
        if uri.path().starts_with("/beta/") {
            Version::Beta
        } else {
            Version::V1
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "v1.0",
            Version::Beta => "beta",
        }
    }

    /// `https://graph.microsoft.com/{version}/$metadata#{fragment}` (graph.md §7).
    pub(crate) fn context(self, fragment: &str) -> String {
        format!(
            "https://graph.microsoft.com/{}/$metadata#{fragment}",
            self.as_str()
        )
    }
}

pub(crate) struct GraphApp {
    pub(crate) state: DefenderState,
    pub(crate) validator: TokenValidator,
    quotas: QuotaTracker,
}

impl GraphApp {
    /// Identify → permission (and the user's right) → quota. 401/403/429 in Graph's shape.
    pub(crate) async fn authorize(
        &self,
        headers: &HeaderMap,
        op: GraphOperation,
    ) -> Result<Authorized, GraphError> {
        let host = &self.state.authority_host;
        let auth = match crate::gate::identify(&self.state, &self.validator, headers).await {
            Ok(a) => a,
            Err(Refusal::Token(e)) => return Err(GraphError::token(&e, host)),
            Err(Refusal::User(m)) => return Err(GraphError::unauthorized(m, host)),
            Err(Refusal::Failed(e)) => return Err(e.into()),
        };
        let caller = &auth.caller;
        let mut missing = Vec::new();
        if let Err(m) = permissions::check(caller, op) {
            missing.push(m);
        }
        if caller.kind == CallerKind::Delegated
            && !auth.rights.contains(&required_right(op.defender()))
        {
            missing.push(missing_right_message(op.defender()));
        }
        if !missing.is_empty() {
            return Err(GraphError::forbidden(missing.join(" ")));
        }
        self.quotas
            .check(
                &caller.tenant_id,
                &caller.app_id,
                op.defender(),
                self.state.clock.now(),
            )
            .map_err(|q| GraphError::too_many_requests(q.retry_after_secs))?;
        Ok(auth)
    }
}

pub(crate) fn visibility(v: &Visibility) -> IncidentVisibility<'_> {
    match v {
        Visibility::All => IncidentVisibility::All,
        Visibility::Groups(g) => IncidentVisibility::DeviceGroups(g),
    }
}

/// `https://{host}{path}` of this request (for `@odata.nextLink`).
pub(crate) fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    format!(
        "https://{}{}",
        crate::routes::host_of(headers, uri),
        uri.path()
    )
}

/// The Graph router (both `/v1.0` and `/beta`): the security API, and — with
/// `directory`, the admin API's unauthenticated Graph-shaped directory router
/// (`palisade_admin::directory_router`) — the directory at Graph's paths, both behind Graph
/// token validation, with their own quota counters and Graph's error envelope. No
/// fallback is installed.
pub fn router(state: DefenderState, quotas: QuotaConfig, directory: Option<Router>) -> Router {
    let clock = state.clock.clone();
    let app = Arc::new(GraphApp {
        validator: TokenValidator::for_audiences(Arc::clone(&state.keys), &GRAPH_AUDIENCES),
        quotas: QuotaTracker::new(quotas),
        state,
    });
    let directory = directory.map(|inner| {
        directory::routes(Arc::new(directory::DirectoryFront {
            app: Arc::clone(&app),
            inner,
        }))
    });
    let mut router = Router::new();
    for v in ["/v1.0", "/beta"] {
        router = router
            .route(&format!("{v}/security/incidents"), get(incidents::list))
            .route(
                &format!("{v}/security/incidents/{{id}}"),
                get(incidents::get).patch(incidents::update),
            )
            .route(
                &format!("{v}/security/incidents/{{id}}/alerts"),
                get(incidents::alerts),
            )
            .route(
                &format!("{v}/security/incidents/{{id}}/comments"),
                axum::routing::post(incidents::comment),
            )
            .route(&format!("{v}/security/alerts_v2"), get(alerts::list))
            .route(
                &format!("{v}/security/alerts_v2/{{id}}"),
                get(alerts::get).patch(alerts::update),
            )
            .route(
                &format!("{v}/security/alerts_v2/{{id}}/comments"),
                axum::routing::post(alerts::comment),
            )
            .route(
                &format!("{v}/security/runHuntingQuery"),
                axum::routing::post(hunting::run_post),
            )
            .route(
                &format!("{v}/security/microsoft.graph.security.runHuntingQuery"),
                axum::routing::post(hunting::run_post),
            )
            .route(&format!("{v}/security/{{function}}"), get(hunting::run_get));
    }
    let mut router = router.with_state(app);
    if let Some(d) = directory {
        router = router.merge(d);
    }
    router.layer(axum::middleware::from_fn_with_state(clock, error::envelope))
}
