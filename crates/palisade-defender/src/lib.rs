//! Palisade's Microsoft Defender XDR resource server.
//!
//! It validates bearer tokens exactly as a resource server does against the authority's
//! published keys (RS256 only, `kid`, issuer per the token's tenant, Defender audiences,
//! `exp`/`nbf` with skew on the injected clock), checks permissions (`roles` for app-only
//! tokens; for delegated ones `scp` *and* the signed-in user's Defender right, with results
//! limited to the user's device groups, see [`UserAccessSource`]), throttles per (tenant,
//! app, operation), and serves the incidents API (`GET /api/incidents` with OData `$filter`,
//! `$top`, `$skip`; `GET`/`PATCH /api/incidents/{id}`; `/api/v1.0/...` aliases) in the
//! Defender wire shapes, including its error JSON. Every query is scoped to the token's
//! tenant.
//!
//! Wire it with [`DefenderState::new`] and [`router`]; seed demo data with
//! [`seed_demo_incidents`]:
//!
//! ```no_run
//! # async fn wire(store: palisade_store::Store, clock: palisade_clock::SharedClock,
//! #               tenant_id: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use palisade_defender::{router, seed_demo_incidents, DefenderState, DEMO_INCIDENT_COUNT};
//! use std::sync::Arc;
//!
//! // The authority's key ring, read on every request (parsed keys are cached by kid).
//! let keys = Arc::new(|| Arc::new(jsonwebtoken::jwk::JwkSet { keys: Vec::new() }));
//! seed_demo_incidents(&store, tenant_id, &clock, DEMO_INCIDENT_COUNT).await?;
//! let app: axum::Router = router(DefenderState::new(store, clock, keys));
//! # let _ = app; Ok(()) }
//! ```

#![warn(missing_docs)]

mod access;
mod auth;
mod demo;
mod error;
mod gate;
pub mod graph;
mod hunting;
mod model;
pub mod odata;
mod patch;
mod permissions;
mod quota;
mod rendered;
mod routes;

pub use access::{AccessFuture, DirectoryAccess, UserAccessSource, Visibility};
pub use auth::{
    Caller, CallerKind, SigningKeySource, StaticKeys, TokenError, ACCEPTED_AUDIENCES,
    CLOCK_SKEW_SECS, GRAPH_AUDIENCES,
};
pub use demo::{
    seed_demo_incidents, DemoDevice, DemoEstate, DemoFile, DemoUser, SeedError, DEMO_INCIDENT_COUNT,
};
pub use error::ApiError;
pub use hunting::{
    defender_response, DeviceSet, HuntScope, HuntingColumn, HuntingFailure, HuntingFuture,
    HuntingOutput, HuntingService, HuntingStats, QueryPosition,
};
pub use model::{
    Alert, Classification, Comment, Determination, Device, Entity, Incident, IncidentCollection,
    IncidentStatus, Severity,
};
pub use patch::{parse_patch, plan_update, IncidentPatch};
pub use permissions::{check_token_permission, Operation};
pub use quota::{QuotaConfig, QuotaExceeded, QuotaLimit, QuotaTracker};

use palisade_clock::SharedClock;
use palisade_store::Store;
use std::sync::Arc;

/// Everything the Defender resource server needs. Cheap to clone.
#[derive(Clone)]
pub struct DefenderState {
    /// The store (incidents and the tenant directory).
    pub store: Store,
    /// The one wall clock.
    pub clock: SharedClock,
    /// The authority's published signing keys.
    pub keys: Arc<dyn SigningKeySource>,
    /// Call quotas.
    pub quotas: QuotaConfig,
    /// Base URL of the authority, for the `authorization_uri` of 401 challenges
    /// (default `https://login.microsoftonline.com`).
    pub authority_host: String,
    /// Users' rights and device groups, for delegated calls (default: the directory in
    /// `store`).
    pub user_access: Arc<dyn UserAccessSource>,
    /// The advanced hunting engine; without one the hunting endpoint answers 503.
    pub hunting: Option<Arc<dyn HuntingService>>,
}

impl DefenderState {
    /// A state with the documented quotas, the public authority host, and users' rights
    /// read from the directory in `store`.
    pub fn new(store: Store, clock: SharedClock, keys: Arc<dyn SigningKeySource>) -> Self {
        let directory = palisade_directory::Directory::new(store.clone(), clock.clone());
        Self {
            store,
            clock,
            keys,
            quotas: QuotaConfig::default(),
            authority_host: "https://login.microsoftonline.com".to_string(),
            user_access: Arc::new(DirectoryAccess(directory)),
            hunting: None,
        }
    }

    /// Installs the advanced hunting engine behind `POST /api/advancedhunting/run`.
    pub fn with_hunting(mut self, engine: Arc<dyn HuntingService>) -> Self {
        self.hunting = Some(engine);
        self
    }

    /// Replaces the quota configuration.
    pub fn with_quotas(mut self, quotas: QuotaConfig) -> Self {
        self.quotas = quotas;
        self
    }

    /// Sets the authority base URL advertised in 401 challenges.
    pub fn with_authority_host(mut self, host: impl Into<String>) -> Self {
        self.authority_host = host.into();
        self
    }

    /// Replaces where users' rights and device groups are read.
    pub fn with_user_access(mut self, source: Arc<dyn UserAccessSource>) -> Self {
        self.user_access = source;
        self
    }
}

/// The Microsoft Graph router (`/v1.0|beta/security/…` over the same store, with
/// Graph's documented limits [`graph::graph_quotas`] or `quotas`; and with `directory` the
/// directory at Graph's paths, see [`graph::router`]).
pub fn graph_router(
    state: DefenderState,
    quotas: QuotaConfig,
    directory: Option<axum::Router>,
) -> axum::Router {
    graph::router(state, quotas, directory)
}

/// The Defender API router: `GET /api/incidents`, `GET|PATCH /api/incidents/{id}` and the
/// same under `/api/v1.0/`. No fallback is installed, so it merges with other routers.
/// Quota counters and the key cache live in the router; build it once.
pub fn router(state: DefenderState) -> axum::Router {
    routes::build(state)
}
