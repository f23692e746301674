//! `palisade-client`: a small Rust SDK for the Microsoft Defender XDR REST API, in the
//! application context and in the user (delegated) context.
//!
//! - **App credentials** ([`ClientSecretCredential`], [`EnvironmentCredential`]) get tokens
//!   from the Microsoft Entra ID token endpoint (v1 `resource=` or v2 `scope=…/.default`)
//!   and turn Entra error JSON into typed errors carrying the AADSTS codes.
//! - **User credentials** ([`DeviceCodeCredential`], [`InteractiveBrowserCredential`],
//!   [`UsernamePasswordCredential`], [`AuthorizationCodeCredential`],
//!   [`SignedInUserCredential`], and the [`DefaultCredential`] chain) sign a user in with a
//!   public client and keep refresh tokens in a [`SignInCache`] (persisted like MSAL's,
//!   mode 0600), refreshing silently.
//! - **[`TokenCache`]** refreshes tokens before they expire, with one refresh in flight.
//! - **[`DefenderClient`]** lists (all pages of), gets and updates incidents and runs
//!   advanced hunting queries, retrying 429/5xx per [`RetryPolicy`].
//!
//! It talks to the real Microsoft cloud by default (`https://login.microsoftonline.com`,
//! `https://api.security.microsoft.com`). To use a Palisade server, point both base URLs at
//! it and trust its CA with [`HttpConfig`]. The crate depends on no other Palisade crate.
//!
//! ```no_run
//! use futures::StreamExt;
//! use palisade_client::{
//!     ClientSecretCredential, DefenderClient, HttpConfig, IncidentFilter, IncidentQuery,
//!     IncidentStatus,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let http = HttpConfig::new().add_root_certificate_file("palisade-data/ca.pem")?.build()?;
//! let cred = ClientSecretCredential::builder("contoso.onmicrosoft.com", "app-id", "secret")
//!     .authority_host("https://palisade.local:8443")
//!     .http_client(http.clone())
//!     .build()?;
//! let client = DefenderClient::builder(cred)
//!     .api_base("https://palisade.local:8443")
//!     .http_client(http)
//!     .build()?;
//! let query = IncidentQuery::new().filter(IncidentFilter::status_eq(IncidentStatus::Active));
//! let mut incidents = client.list_incidents(query);
//! while let Some(incident) = incidents.next().await {
//!     println!("{}", incident?.incident_id);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod cache;
pub mod certificate;
pub mod credential;
pub mod defender;
pub mod error;
pub mod graph;
pub mod http;
pub mod partner;
pub mod retry;
pub mod user;

pub use cache::TokenCache;
pub use certificate::{
    ClientAssertionCredential, ClientCertificate, ClientCertificateCredential,
    ConfidentialClientBuilder,
};
pub use credential::{
    AccessToken, AssertionSource, ClientSecretCredential, ClientSecretCredentialBuilder,
    EnvironmentCredential, TokenCredential, TokenEndpointVersion, DEFAULT_AUTHORITY_HOST,
};
pub use defender::filter::{CompareOp, FilterValue, IncidentFilter, IncidentQuery};
pub use defender::models::{
    Alert, AlertStatus, Classification, Column, Comment, Determination, Device, Entity, EntityType,
    HuntingResponse, Incident, IncidentStatus, IncidentUpdate, InvestigationState, Severity,
};
pub use defender::{DefenderClient, DefenderClientBuilder, DEFAULT_API_BASE, DEFAULT_RESOURCE};
pub use error::{ApiError, ConfigError, CredentialError, EntraError, Error};
pub use graph::{
    AlertComment, GraphListQuery, GraphSecurityClient, GraphSecurityClientBuilder,
    HuntingQueryResults, SecurityAlert, SecurityAlertUpdate, SecurityIncident,
    SecurityIncidentUpdate, GRAPH_API_BASE, GRAPH_RESOURCE,
};
pub use http::HttpConfig;
pub use partner::{PartnerClients, TenantOutcome};
pub use retry::{RetryPolicy, Sleeper};
pub use user::{
    Account, AuthorizationCodeCredential, DefaultCredential, DeviceCodeCredential, DeviceCodeInfo,
    InteractiveBrowserCredential, PublicClient, SignInCache, SignedInUserCredential, UserTokens,
    UsernamePasswordCredential,
};

/// The HTTP library the SDK uses, re-exported so callers can name [`reqwest::Client`].
pub use reqwest;
