//! The client-side commands: `palisade hello`, `token get|inspect`, `incidents …`.
//!
//! They use the SDK (`palisade-client`) and work against Palisade or the real Microsoft
//! cloud alike. Settings are resolved per value from, in order: the command-line flag,
//! `PALISADE_*` then `AZURE_*` environment variables, the config file (`--config`,
//! `PALISADE_CONFIG`, default `~/.config/palisade/config.toml`), and the built-in default
//! (the Microsoft cloud).

use crate::output::{csv, table};
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Args, Subcommand, ValueEnum};
use futures::StreamExt;
use palisade_client::{
    Classification, ClientSecretCredential, DefenderClient, Determination, HttpConfig, Incident,
    IncidentFilter, IncidentQuery, IncidentStatus, IncidentUpdate, TokenCredential,
    TokenEndpointVersion,
};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The Defender API resource (v1 `resource=`; v2 scope `…/.default`).
pub const DEFENDER_RESOURCE: &str = "https://api.security.microsoft.com";

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
    /// Config file [env: PALISADE_CONFIG; default ~/.config/palisade/config.toml].
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
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

/// The config file's keys (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// Client secret.
    pub client_secret: Option<String>,
    /// Client certificate file (PEM with key, or .pfx/.p12).
    pub client_certificate: Option<PathBuf>,
    /// Password of a .pfx/.p12 certificate.
    pub client_certificate_password: Option<String>,
    /// Public client id for user sign-in (`palisade login`).
    pub public_client_id: Option<String>,
    /// Authority base URL.
    pub authority: Option<String>,
    /// API base URL.
    pub api: Option<String>,
    /// Microsoft Graph base URL (with version).
    pub graph_api: Option<String>,
    /// CA file.
    pub ca_file: Option<PathBuf>,
    /// Token endpoint version.
    pub token_version: Option<EndpointVersion>,
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
    ca_file: Option<PathBuf>,
    token_version: EndpointVersion,
    pub(crate) token_cache: Option<PathBuf>,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl ClientArgs {
    /// Resolves flags > environment > config file > defaults.
    pub fn resolve(&self) -> Result<Settings> {
        let config_path = self
            .config
            .clone()
            .or_else(|| env(&["PALISADE_CONFIG"]).map(PathBuf::from))
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".config/palisade/config.toml"))
                    .filter(|p| p.exists())
            });
        let file: ConfigFile = match &config_path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", p.display()))?
            }
            None => ConfigFile::default(),
        };
        let token_version = match (
            self.token_version,
            env(&["PALISADE_TOKEN_VERSION"]),
            file.token_version,
        ) {
            (Some(v), _, _) => v,
            (None, Some(v), _) => match v.to_ascii_lowercase().as_str() {
                "v1" | "1" => EndpointVersion::V1,
                "v2" | "2" => EndpointVersion::V2,
                other => bail!("PALISADE_TOKEN_VERSION must be v1 or v2, not '{other}'"),
            },
            (None, None, Some(v)) => v,
            (None, None, None) => EndpointVersion::V1,
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
            .or(file.api)
            .unwrap_or_else(|| palisade_client::DEFAULT_API_BASE.to_string());
        let graph_api = self
            .graph_api
            .clone()
            .or_else(|| env(&["PALISADE_GRAPH_API"]))
            .or(file.graph_api)
            .unwrap_or_else(|| {
                if api.trim_end_matches('/') == palisade_client::DEFAULT_API_BASE {
                    palisade_client::GRAPH_API_BASE.to_string()
                } else {
                    format!("{}/v1.0", api.trim_end_matches('/'))
                }
            });
        Ok(Settings {
            use_graph,
            graph_api,
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
                .or_else(palisade_client::SignInCache::default_path),
            authority: self
                .authority
                .clone()
                .or_else(|| env(&["PALISADE_AUTHORITY", "AZURE_AUTHORITY_HOST"]))
                .or(file.authority)
                .unwrap_or_else(|| palisade_client::DEFAULT_AUTHORITY_HOST.to_string()),
            api,
            ca_file: self
                .ca_file
                .clone()
                .or_else(|| env(&["PALISADE_CA_FILE"]).map(PathBuf::from))
                .or(file.ca_file),
            token_version,
        })
    }
}

impl Settings {
    pub(crate) fn http(&self) -> Result<palisade_client::reqwest::Client> {
        let mut config = HttpConfig::new();
        if let Some(ca) = &self.ca_file {
            config = config.add_root_certificate_file(ca)?;
        }
        Ok(config.build()?)
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

    fn defender(&self) -> Result<DefenderClient> {
        Ok(DefenderClient::builder(self.credential()?)
            .api_base(self.api.clone())
            .http_client(self.http()?)
            .build()?)
    }
}

fn missing_setting(what: &str, flag: &str, env: &str) -> anyhow::Error {
    anyhow!(
        "no {what}: pass {flag}, set {env} (or AZURE_{}), or put it in the config file",
        &env["PALISADE_".len()..]
    )
}

/// Output of the incident commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum IncidentFormat {
    /// Aligned columns.
    #[default]
    Table,
    /// JSON as the API returns it.
    Json,
    /// Comma-separated values.
    Csv,
}

/// `palisade token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an app-context access token for the Defender API.
    Get {
        /// Resource to request (default: the Defender API).
        #[arg(long, default_value = DEFENDER_RESOURCE)]
        resource: String,
    },
    /// Decode a token, verify it against its issuer's published keys, and say what it allows.
    Inspect {
        /// The token (default: read from standard input).
        token: Option<String>,
    },
}

/// `palisade incidents …`.
#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List incidents.
    List {
        /// OData $filter, e.g. "status eq 'Active' and lastUpdateTime ge 2024-01-01T00:00:00Z".
        #[arg(long)]
        filter: Option<String>,
        /// Page size (≤ 100); without --all, the number of incidents.
        #[arg(long, default_value_t = 100)]
        top: u32,
        /// Follow every page.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
        /// Partner fan-out: list in each of these customer tenants (comma-separated), with
        /// a token per tenant, and add a tenant column.
        #[arg(long, value_delimiter = ',')]
        tenants: Vec<String>,
    },
    /// Show one incident.
    Get {
        /// Incident id.
        id: String,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
    },
    /// Update an incident.
    Update {
        /// Incident id.
        id: String,
        /// Active, InProgress or Resolved.
        #[arg(long)]
        status: Option<String>,
        /// Owner (empty string to unassign).
        #[arg(long)]
        assigned_to: Option<String>,
        /// TruePositive, InformationalExpectedActivity, FalsePositive, Unknown.
        #[arg(long)]
        classification: Option<String>,
        /// e.g. Malware, MultiStagedAttack, Clean, NotAvailable.
        #[arg(long)]
        determination: Option<String>,
        /// Tag (repeatable; replaces the incident's tags).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Comment to append.
        #[arg(long)]
        comment: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
    },
}

pub(crate) fn incident_row(i: &Incident) -> Vec<String> {
    vec![
        i.incident_id.to_string(),
        i.incident_name.clone().unwrap_or_default(),
        i.severity.to_string(),
        i.status.to_string(),
        i.classification
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        i.assigned_to.clone().unwrap_or_default(),
        crate::output::iso(i.last_update_time),
        i.alerts.len().to_string(),
    ]
}

pub(crate) const INCIDENT_HEADERS: [&str; 8] = [
    "ID",
    "NAME",
    "SEVERITY",
    "STATUS",
    "CLASSIFICATION",
    "ASSIGNED TO",
    "LAST UPDATE",
    "ALERTS",
];

fn print_incidents(format: IncidentFormat, incidents: &[Incident]) -> Result<()> {
    match format {
        IncidentFormat::Json => println!("{}", serde_json::to_string_pretty(incidents)?),
        IncidentFormat::Table => println!(
            "{}",
            table(
                &INCIDENT_HEADERS,
                &incidents.iter().map(incident_row).collect::<Vec<_>>()
            )
        ),
        IncidentFormat::Csv => print!(
            "{}",
            csv(
                &INCIDENT_HEADERS,
                &incidents.iter().map(incident_row).collect::<Vec<_>>()
            )
        ),
    }
    Ok(())
}

fn incident_query(filter: Option<String>, top: u32, all: bool) -> Result<IncidentQuery> {
    if top == 0 || top > 100 {
        bail!("--top must be between 1 and 100 (the API's maximum page size)");
    }
    let mut query = IncidentQuery::new().page_size(top);
    if let Some(f) = filter {
        query = query.filter(IncidentFilter::raw(f));
    }
    if !all {
        query = query.limit(u64::from(top));
    }
    Ok(query)
}

/// `palisade incidents …`.
pub async fn incidents(args: &ClientArgs, command: IncidentsCommand) -> Result<()> {
    let settings = args.resolve()?;
    if let IncidentsCommand::List {
        filter,
        top,
        all,
        output,
        tenants,
    } = &command
    {
        if !tenants.is_empty() {
            let query = incident_query(filter.clone(), *top, *all)?;
            return crate::partner_cmds::list(&settings, tenants, query, *output).await;
        }
    }
    if settings.use_graph {
        return crate::graph_cmds::incidents(&settings, command).await;
    }
    let client = settings.defender()?;
    let numeric = |id: &str| -> Result<i64> {
        id.parse()
            .map_err(|_| anyhow!("the incident id must be a number, not '{id}'"))
    };
    match command {
        IncidentsCommand::List {
            filter,
            top,
            all,
            output,
            ..
        } => {
            let query = incident_query(filter, top, all)?;
            let incidents = client.list_all_incidents(query).await?;
            print_incidents(output, &incidents)
        }
        IncidentsCommand::Get { id, output } => {
            let incident = client.get_incident(numeric(&id)?).await?;
            print_incidents(output, std::slice::from_ref(&incident))
        }
        IncidentsCommand::Update {
            id,
            status,
            assigned_to,
            classification,
            determination,
            tags,
            comment,
            output,
        } => {
            let mut update = IncidentUpdate::new();
            if let Some(s) = status {
                update = update.status(IncidentStatus::parse(&s));
            }
            if let Some(a) = assigned_to {
                update = update.assigned_to(a);
            }
            if let Some(c) = classification {
                update = update.classification(Classification::parse(&c));
            }
            if let Some(d) = determination {
                update = update.determination(Determination::parse(&d));
            }
            if !tags.is_empty() {
                update = update.tags(tags);
            }
            if let Some(c) = comment {
                update = update.comment(c);
            }
            let incident = client.update_incident(numeric(&id)?, &update).await?;
            print_incidents(output, std::slice::from_ref(&incident))
        }
    }
}

/// `palisade hello`: the docs' Hello World in one command. Gets an app-context token
/// (saved as `Latest-token.txt`), lists the incidents updated in the last `hours` hours,
/// saves them as `Latest Incidents <time>.json` like the docs' script, and prints a table.
pub async fn hello(args: &ClientArgs, hours: i64, out_dir: &std::path::Path) -> Result<()> {
    let settings = args.resolve()?;
    let credential = settings.credential()?;
    let token = credential.get_token(DEFENDER_RESOURCE).await?;
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("Latest-token.txt"),
        format!("{}\n", token.token),
    )?;
    let since = OffsetDateTime::now_utc() - time::Duration::hours(hours);
    let client = settings.defender()?;
    let mut stream = client
        .list_incidents(IncidentQuery::new().filter(IncidentFilter::last_update_time_ge(since)));
    let mut incidents = Vec::new();
    while let Some(i) = stream.next().await {
        incidents.push(i?);
    }
    let stamp = crate::output::iso(OffsetDateTime::now_utc()).replace(':', ".");
    let path = out_dir.join(format!("Latest Incidents {stamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&incidents)?)?;
    println!(
        "{}",
        table(
            &INCIDENT_HEADERS,
            &incidents.iter().map(incident_row).collect::<Vec<_>>()
        )
    );
    println!(
        "\n{} incidents updated in the last {hours} hours; saved to {}",
        incidents.len(),
        path.display()
    );
    Ok(())
}

/// `palisade token …`.
pub async fn token(args: &ClientArgs, command: TokenCommand) -> Result<()> {
    let settings = args.resolve()?;
    match command {
        TokenCommand::Get { resource } => {
            let token = settings.credential()?.get_token(&resource).await?;
            println!("{}", token.token);
            Ok(())
        }
        TokenCommand::Inspect { token } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                    s
                }
            };
            let report = inspect(&settings, token.trim()).await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// Defender operations and the permissions that allow them (spec §3).
const OPERATIONS: [(&str, &[&str], &[&str]); 4] = [
    (
        "List incidents",
        &["Incident.Read.All", "Incident.ReadWrite.All"],
        &["Incident.Read", "Incident.ReadWrite"],
    ),
    (
        "Get incident",
        &["Incident.Read.All", "Incident.ReadWrite.All"],
        &["Incident.Read", "Incident.ReadWrite"],
    ),
    (
        "Update incident",
        &["Incident.ReadWrite.All"],
        &["Incident.ReadWrite"],
    ),
    (
        "Run advanced hunting",
        &["AdvancedHunting.Read.All"],
        &["AdvancedHunting.Read"],
    ),
];

fn part(token: &str, i: usize) -> Result<Value> {
    let p = token
        .split('.')
        .nth(i)
        .ok_or_else(|| anyhow!("not a JWT: expected three dot-separated parts"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .context("not a JWT: bad base64url")?;
    serde_json::from_slice(&bytes).context("not a JWT: the part is not JSON")
}

/// Decodes, verifies (against `{authority}/{tid}/discovery/keys`) and explains a token.
pub async fn inspect(settings: &Settings, token: &str) -> Result<String> {
    let header = part(token, 0)?;
    let claims = part(token, 1)?;
    let tid = claims["tid"].as_str().unwrap_or("");
    let mut out = Vec::new();
    let line = |k: &str, v: String| format!("{k:<14}{v}");
    out.push(line(
        "Algorithm",
        format!(
            "{} (kid {})",
            header["alg"].as_str().unwrap_or("?"),
            header["kid"].as_str().unwrap_or("?")
        ),
    ));
    out.push(line(
        "Issuer",
        claims["iss"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line(
        "Audience",
        claims["aud"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line("Tenant", tid.to_string()));
    out.push(line(
        "Version",
        claims["ver"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line(
        "Client",
        claims["appid"]
            .as_str()
            .or(claims["azp"].as_str())
            .unwrap_or("")
            .to_string(),
    ));
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let expiry = OffsetDateTime::from_unix_timestamp(exp)
        .map(crate::output::iso)
        .unwrap_or_default();
    out.push(line(
        "Expires",
        if exp > now {
            format!("{expiry} (in {} min)", (exp - now) / 60)
        } else {
            format!("{expiry} (EXPIRED)")
        },
    ));
    let roles: Vec<String> = claims["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let scopes: Vec<String> = claims["scp"]
        .as_str()
        .map(|s| s.split(' ').map(String::from).collect())
        .unwrap_or_default();
    let delegated = claims.get("scp").is_some();
    out.push(line(
        "Context",
        if delegated {
            "user (delegated)".into()
        } else {
            "application".into()
        },
    ));
    out.push(line(
        "roles",
        if roles.is_empty() {
            "(none)".into()
        } else {
            roles.join(" ")
        },
    ));
    if delegated {
        out.push(line("scp", scopes.join(" ")));
    }

    // Signature against the issuer's published keys.
    let verdict = match verify(settings, token, &header, tid).await {
        Ok(()) => "valid (RS256, key published by the issuer)".to_string(),
        Err(e) => format!("NOT VERIFIED: {e:#}"),
    };
    out.push(line("Signature", verdict));

    out.push(String::new());
    out.push("Defender API operations:".into());
    let held: &[String] = if delegated { &scopes } else { &roles };
    for (op, app, user) in OPERATIONS {
        let needed = if delegated { user } else { app };
        let ok = needed.iter().any(|p| held.iter().any(|h| h == p));
        out.push(if ok {
            format!("  allowed  {op}")
        } else {
            format!("  denied   {op}: needs {}", needed.join(" or "))
        });
    }
    Ok(out.join("\n"))
}

async fn verify(settings: &Settings, token: &str, header: &Value, tid: &str) -> Result<()> {
    if header["alg"] != "RS256" {
        bail!("algorithm {} is not RS256", header["alg"]);
    }
    let kid = header["kid"]
        .as_str()
        .ok_or_else(|| anyhow!("no kid in the header"))?;
    if uuid::Uuid::parse_str(tid).is_err() {
        bail!("tid is not a GUID");
    }
    let url = format!(
        "{}/{tid}/discovery/keys",
        settings.authority.trim_end_matches('/')
    );
    let jwks: jsonwebtoken::jwk::JwkSet = settings
        .http()?
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let jwk = jwks
        .find(kid)
        .ok_or_else(|| anyhow!("key {kid} is not published at {url}"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)?;
    Ok(())
}

/// `palisade hunt`: runs a KQL query through `POST /api/advancedhunting/run`, or with
/// `--explain` prints the parsed and planned query (locally, no call).
pub async fn hunt(
    args: &ClientArgs,
    query: Option<String>,
    file: Option<PathBuf>,
    output: IncidentFormat,
    explain: bool,
    data_dir: &std::path::Path,
    tenants: &[String],
) -> Result<()> {
    let query = match (query, file) {
        (Some(q), None) => q,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        }
        (Some(_), Some(_)) => bail!("give the query either as an argument or with -f, not both"),
        (None, None) => bail!("no query: palisade hunt 'DeviceInfo | take 10' or -f FILE"),
    };
    if explain {
        let engine = crate::hunting::engine(data_dir)?;
        let tenant = args
            .resolve()?
            .tenant_id
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let tenant = if uuid::Uuid::parse_str(&tenant).is_ok() {
            tenant
        } else {
            "00000000-0000-0000-0000-000000000000".into()
        };
        let plan = engine
            .explain(
                &tenant,
                &query,
                crate::hunting::chrono_time(OffsetDateTime::now_utc()),
            )
            .map_err(|e| anyhow!("{e}"))?;
        println!("{plan}");
        return Ok(());
    }
    let settings = args.resolve()?;
    if !tenants.is_empty() {
        return crate::partner_cmds::hunt(&settings, tenants, &query, output).await;
    }
    if settings.use_graph {
        return crate::graph_cmds::hunt(&settings, &query, output).await;
    }
    let response = settings.defender()?.hunt(&query).await?;
    let headers: Vec<&str> = response.schema.iter().map(|c| c.name.as_str()).collect();
    let cell = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let rows: Vec<Vec<String>> = response
        .results
        .iter()
        .map(|r| {
            response
                .schema
                .iter()
                .map(|c| cell(r.get(&c.name)))
                .collect()
        })
        .collect();
    match output {
        IncidentFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "Stats": response.stats,
                "Schema": response.schema.iter().map(|c| serde_json::json!({"Name": c.name, "Type": c.r#type})).collect::<Vec<_>>(),
                "Results": response.results,
            }))?
        ),
        IncidentFormat::Table => {
            println!("{}", table(&headers, &rows));
            eprintln!("{} rows", rows.len());
        }
        IncidentFormat::Csv => print!("{}", csv(&headers, &rows)),
    }
    Ok(())
}
