//! The client commands' settings: flags, environment, contexts, and the trusted CA.
//!
//! Each setting comes from, in order: the command-line flag, the `PALISADE_*` environment
//! variable, the `AZURE_*` one (as azure-identity's `EnvironmentCredential`), the context
//! (see [`crate::config`]), and the built-in default (the Microsoft cloud). The CA trusted
//! is decided by [`crate::trust`].

use crate::config::{Config, ContextSettings};
use crate::trust::{Trust, TrustInputs};
use anyhow::{anyhow, bail, Result};
use clap::{Args, ValueEnum};
use palisade_client::{
    ClientSecretCredential, DefenderClient, TokenCredential, TokenEndpointVersion,
};
use serde::Deserialize;
use std::path::PathBuf;

/// Where and as whom the client commands connect.
#[derive(Debug, Args, Clone, Default)]
pub struct ClientArgs {
    /// Tenant id or domain [env: PALISADE_TENANT_ID, AZURE_TENANT_ID].
    #[arg(long, global = true)]
    pub tenant_id: Option<String>,
    /// Application (client) id [env: PALISADE_CLIENT_ID, AZURE_CLIENT_ID].
    #[arg(long, global = true)]
    pub client_id: Option<String>,
    /// Client secret [env: PALISADE_CLIENT_SECRET, AZURE_CLIENT_SECRET].
    #[arg(long, global = true)]
    pub client_secret: Option<String>,
    /// Client certificate instead of a secret: a PEM with the private key and the
    /// certificate, or a .pfx/.p12 [env: PALISADE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_CERTIFICATE_PATH].
    #[arg(long, global = true, conflicts_with = "client_secret")]
    pub certificate: Option<PathBuf>,
    /// Password of a .pfx/.p12 certificate [env: AZURE_CLIENT_CERTIFICATE_PASSWORD].
    #[arg(long, global = true)]
    pub certificate_password: Option<String>,
    /// Token authority base URL [env: PALISADE_AUTHORITY, AZURE_AUTHORITY_HOST; default https://login.microsoftonline.com].
    #[arg(long, global = true)]
    pub authority: Option<String>,
    /// Defender API base URL [env: PALISADE_API; default https://api.security.microsoft.com],
    /// or `graph` to use the Microsoft Graph security API instead (at --graph-api).
    #[arg(long, global = true)]
    pub api: Option<String>,
    /// Microsoft Graph base URL with version [env: PALISADE_GRAPH_API; default: the Defender
    /// API base + `/v1.0` when that is not Microsoft's, else https://graph.microsoft.com/v1.0].
    #[arg(long, global = true)]
    pub graph_api: Option<String>,
    /// CA certificate to trust, e.g. Palisade's ca.pem [env: PALISADE_CA_FILE].
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// Token endpoint version [env: PALISADE_TOKEN_VERSION; default v1, as the Defender docs].
    #[arg(long, global = true, value_enum)]
    pub token_version: Option<EndpointVersion>,
    /// Public client id for user sign-in [env: PALISADE_PUBLIC_CLIENT_ID]; with no app
    /// credentials, commands act as the user signed in with `palisade login`.
    #[arg(long, global = true)]
    pub public_client_id: Option<String>,
    /// Sign-in cache file [env: PALISADE_TOKEN_CACHE; default ~/.config/palisade/token-cache.json].
    #[arg(long, global = true)]
    pub token_cache: Option<PathBuf>,
    /// Config file [env: PALISADE_CONFIG; default $XDG_CONFIG_HOME/palisade/config.toml or
    /// ~/.config/palisade/config.toml].
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Context of the config file to use [env: PALISADE_CONTEXT; default: the current one,
    /// `palisade context use NAME`].
    #[arg(long, global = true)]
    pub context: Option<String>,
}

/// Token endpoint version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointVersion {
    /// `/oauth2/token` with `resource=`.
    V1,
    /// `/oauth2/v2.0/token` with `scope=…/.default`.
    V2,
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    certificate: Option<PathBuf>,
    certificate_password: Option<String>,
    pub(crate) public_client_id: Option<String>,
    pub(crate) authority: String,
    pub(crate) api: String,
    /// Whether `--api graph` chose the Graph security API.
    pub(crate) use_graph: bool,
    /// The Graph base URL (with version).
    pub(crate) graph_api: String,
    /// The CA trusted besides the system's roots.
    pub(crate) trust: Trust,
    /// The context the settings came from (`None`: flags, environment or a flat file).
    pub(crate) context: Option<String>,
    token_version: EndpointVersion,
    pub(crate) token_cache: Option<PathBuf>,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl ClientArgs {
    /// Resolves each setting from, in order: the flag, `PALISADE_*`, `AZURE_*`, the
    /// context (`--context`, `PALISADE_CONTEXT`, else the config file's current context or
    /// its flat keys), and the default (the Microsoft cloud).
    pub fn resolve(&self) -> Result<Settings> {
        let path = crate::config::config_path(self.config.as_deref());
        let loaded = match path {
            Ok(p) if self.config.is_some() && !p.exists() => {
                bail!("config file {} does not exist", p.display())
            }
            Ok(p) => Some(Config::load(p)?),
            // No HOME: no config file, flags and environment only.
            Err(_) => None,
        };
        let context_name = self.context.clone().or_else(|| env(&["PALISADE_CONTEXT"]));
        let (context, file) = match &loaded {
            Some(c) => c.effective(context_name.as_deref())?,
            None => (None, ContextSettings::default()),
        };
        let token_version = match (
            self.token_version,
            env(&["PALISADE_TOKEN_VERSION"]).or(file.token_version.clone()),
        ) {
            (Some(v), _) => v,
            (None, Some(v)) => match v.to_ascii_lowercase().as_str() {
                "v1" | "1" => EndpointVersion::V1,
                "v2" | "2" => EndpointVersion::V2,
                other => bail!("the token version must be v1 or v2, not '{other}'"),
            },
            (None, None) => EndpointVersion::V1,
        };
        // `--api graph` (or `defender`) picks the API; a URL is the Defender API's base.
        let flag_api = self
            .api
            .clone()
            .filter(|a| !a.eq_ignore_ascii_case("graph") && !a.eq_ignore_ascii_case("defender"));
        let use_graph = self
            .api
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("graph"));
        let api = flag_api
            .or_else(|| env(&["PALISADE_API"]))
            .or(file.api.clone())
            .or(file.server.clone())
            .unwrap_or_else(|| palisade_client::DEFAULT_API_BASE.to_string());
        let graph_api = self
            .graph_api
            .clone()
            .or_else(|| env(&["PALISADE_GRAPH_API"]))
            .or(file.graph_api.clone())
            .unwrap_or_else(|| {
                if api.trim_end_matches('/') == palisade_client::DEFAULT_API_BASE {
                    palisade_client::GRAPH_API_BASE.to_string()
                } else {
                    format!("{}/v1.0", api.trim_end_matches('/'))
                }
            });
        let authority = self
            .authority
            .clone()
            .or_else(|| env(&["PALISADE_AUTHORITY", "AZURE_AUTHORITY_HOST"]))
            .or(file.authority.clone())
            .or(file.server.clone())
            .unwrap_or_else(|| palisade_client::DEFAULT_AUTHORITY_HOST.to_string());
        let data_dir = env(&["PALISADE_DATA_DIR"])
            .map(PathBuf::from)
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(crate::data_dir::DEFAULT_DATA_DIR));
        let trust = crate::trust::resolve(&TrustInputs {
            flag: self.ca_file.as_deref(),
            context: file.ca_file.as_deref().map(|p| (context.as_deref(), p)),
            data_dir: Some(&data_dir),
            urls: vec![&authority, &api],
        });
        Ok(Settings {
            use_graph,
            graph_api,
            context,
            tenant_id: self
                .tenant_id
                .clone()
                .or_else(|| env(&["PALISADE_TENANT_ID", "AZURE_TENANT_ID"]))
                .or(file.tenant_id),
            client_id: self
                .client_id
                .clone()
                .or_else(|| env(&["PALISADE_CLIENT_ID", "AZURE_CLIENT_ID"]))
                .or(file.client_id),
            client_secret: self
                .client_secret
                .clone()
                .or_else(|| env(&["PALISADE_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]))
                .or(file.client_secret),
            certificate: self
                .certificate
                .clone()
                .or_else(|| {
                    env(&[
                        "PALISADE_CLIENT_CERTIFICATE_PATH",
                        "AZURE_CLIENT_CERTIFICATE_PATH",
                    ])
                    .map(PathBuf::from)
                })
                .or(file.client_certificate),
            certificate_password: self
                .certificate_password
                .clone()
                .or_else(|| env(&["AZURE_CLIENT_CERTIFICATE_PASSWORD"]))
                .or(file.client_certificate_password),
            public_client_id: self
                .public_client_id
                .clone()
                .or_else(|| env(&["PALISADE_PUBLIC_CLIENT_ID"]))
                .or(file.public_client_id),
            token_cache: self
                .token_cache
                .clone()
                .or_else(|| env(&["PALISADE_TOKEN_CACHE"]).map(PathBuf::from))
                .or_else(palisade_client::SignInCache::default_path),
            authority,
            api,
            trust,
            token_version,
        })
    }
}

impl Settings {
    pub(crate) fn http(&self) -> Result<palisade_client::reqwest::Client> {
        self.trust.client()
    }

    /// The app's credential when a client secret is configured, else the user signed in
    /// with `palisade login`.
    pub(crate) fn credential(&self) -> Result<Box<dyn TokenCredential>> {
        if self.client_secret.is_some() || self.certificate.is_some() {
            return self.app_credential();
        }
        if let Some(path) = &self.token_cache {
            let cache = std::sync::Arc::new(palisade_client::SignInCache::persistent(path)?);
            if let Some(user) =
                palisade_client::SignedInUserCredential::from_cache(cache, Some(self.http()?))?
            {
                return Ok(Box::new(user));
            }
        }
        // Neither: say what the app credential lacks, and that a user may sign in instead.
        match self.app_credential() {
            Ok(c) => Ok(c),
            Err(e) => bail!("{e:#}; or sign in as a user with `palisade login`"),
        }
    }

    /// The persistent sign-in cache.
    pub(crate) fn sign_in_cache(&self) -> Result<palisade_client::SignInCache> {
        let path = self.token_cache.clone().ok_or_else(|| {
            anyhow!("no token cache path: pass --token-cache or set PALISADE_TOKEN_CACHE")
        })?;
        Ok(palisade_client::SignInCache::persistent(path)?)
    }

    fn app_credential(&self) -> Result<Box<dyn TokenCredential>> {
        let tenant = self
            .tenant_id
            .as_deref()
            .ok_or_else(|| missing_setting("tenant", "--tenant-id", "PALISADE_TENANT_ID"))?;
        self.app_credential_for(tenant)
    }

    /// The app's credential (certificate, else secret) for one tenant: the partner context
    /// asks for a token per customer tenant with the same app credential.
    pub(crate) fn app_credential_for(&self, tenant: &str) -> Result<Box<dyn TokenCredential>> {
        let client = self
            .client_id
            .as_deref()
            .ok_or_else(|| missing_setting("client id", "--client-id", "PALISADE_CLIENT_ID"))?;
        let version = match self.token_version {
            EndpointVersion::V1 => TokenEndpointVersion::V1,
            EndpointVersion::V2 => TokenEndpointVersion::V2,
        };
        if let Some(path) = &self.certificate {
            let cert = palisade_client::ClientCertificate::from_file(
                path,
                self.certificate_password.as_deref(),
            )?;
            return Ok(Box::new(
                palisade_client::ClientCertificateCredential::builder(tenant, client, cert)
                    .authority_host(self.authority.clone())
                    .endpoint_version(version)
                    .http_client(self.http()?)
                    .build()?,
            ));
        }
        let secret = self.client_secret.as_deref().ok_or_else(|| {
            missing_setting(
                "client secret or certificate",
                "--client-secret or --certificate",
                "PALISADE_CLIENT_SECRET",
            )
        })?;
        Ok(Box::new(
            ClientSecretCredential::builder(tenant, client, secret)
                .authority_host(self.authority.clone())
                .endpoint_version(version)
                .http_client(self.http()?)
                .build()?,
        ))
    }

    /// A Defender client per tenant, each with its own app credential and token cache.
    pub(crate) fn partner_clients(
        &self,
        tenants: &[String],
    ) -> Result<palisade_client::PartnerClients> {
        let http = self.http()?;
        let mut failure = None;
        let clients = palisade_client::PartnerClients::new(tenants.iter().cloned(), |t| {
            let credential = match self.app_credential_for(t) {
                Ok(c) => c,
                Err(e) => {
                    failure = Some(e);
                    return Err(palisade_client::ConfigError::InvalidSetting {
                        name: "credential",
                        reason: "see above",
                    });
                }
            };
            DefenderClient::builder(credential)
                .api_base(self.api.clone())
                .http_client(http.clone())
                .build()
        });
        match (clients, failure) {
            (_, Some(e)) => Err(e),
            (c, None) => Ok(c?),
        }
    }

    /// The Graph security client (same credential and trust as the Defender client).
    pub(crate) fn graph(&self) -> Result<palisade_client::GraphSecurityClient> {
        Ok(
            palisade_client::GraphSecurityClient::builder(self.credential()?)
                .api_base(self.graph_api.clone())
                .http_client(self.http()?)
                .build()?,
        )
    }

    pub(crate) fn defender(&self) -> Result<DefenderClient> {
        Ok(DefenderClient::builder(self.credential()?)
            .api_base(self.api.clone())
            .http_client(self.http()?)
            .build()?)
    }
}

fn missing_setting(what: &str, flag: &str, env: &str) -> anyhow::Error {
    anyhow!(
        "no {what}: pass {flag}, set {env} (or AZURE_{}), or put it in a context (palisade context set; `palisade serve --demo` creates one)",
        &env["PALISADE_".len()..]
    )
}
