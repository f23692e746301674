//! The `palisade` command line.

use crate::admin_client::AdminClient;
use crate::client_cmds::{ClientArgs, IncidentsCommand, TokenCommand};
use crate::demo;
use crate::output::{emit, field, Format};
use crate::server::{self, ServerConfig, ADMIN_KEY_FILE};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use palisade_clock::SystemClock;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;

/// Palisade: a self-hosted Microsoft Entra ID and Defender XDR API.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (token service, admin API) on one TLS listener.
    Serve(ServeArgs),
    /// The local certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Manage tenants, applications, secrets, grants and signing keys.
    Admin(AdminArgs),
    /// The docs' Hello World: app token, incidents updated in the last 48 hours, saved as JSON.
    Hello {
        #[command(flatten)]
        client: ClientArgs,
        /// Look-back window in hours.
        #[arg(long, default_value_t = 48)]
        hours: i64,
        /// Where to save Latest-token.txt and the incidents JSON.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Get or inspect access tokens.
    Token {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Run an advanced hunting (KQL) query.
    Hunt {
        #[command(flatten)]
        client: ClientArgs,
        /// The query.
        query: Option<String>,
        /// Read the query from a file.
        #[arg(long, short = 'f')]
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = crate::client_cmds::IncidentFormat::Table)]
        output: crate::client_cmds::IncidentFormat,
        /// Print the parsed and planned query instead of running it.
        #[arg(long)]
        explain: bool,
        /// Data directory (for --explain's table catalogue).
        #[arg(long, env = "PALISADE_DATA_DIR", default_value = "./palisade-data")]
        data_dir: PathBuf,
        /// Partner fan-out: run the query in each of these customer tenants
        /// (comma-separated), with a token per tenant, and add a tenant column.
        #[arg(long, value_delimiter = ',')]
        tenants: Vec<String>,
    },
    /// The partner (multi-tenant) context: consent links for customers.
    Partner {
        #[command(subcommand)]
        command: crate::partner_cmds::PartnerCommand,
    },
    /// Generate advanced-hunting events for a tenant (default: the demo tenant).
    Seed {
        #[command(flatten)]
        data: DataDirArg,
        /// How many events.
        #[arg(long)]
        events: u64,
        /// Only these tables (comma-separated, e.g. DeviceProcessEvents,DeviceNetworkEvents);
        /// all generated tables by default.
        #[arg(long, value_delimiter = ',')]
        tables: Vec<String>,
        /// Tenant id (default: the demo tenant of `serve --demo`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Merge each day's small Parquet files into one per table (seed and ingest do this
    /// themselves; safe while the server runs).
    Compact {
        #[command(flatten)]
        data: DataDirArg,
        /// Tenant id (default: the demo tenant of `serve --demo`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Ingest JSON-lines events into an advanced-hunting table (or, with --reference, global
    /// reference data such as FileProfile, shared by all tenants).
    Ingest {
        #[command(flatten)]
        data: DataDirArg,
        /// Table, e.g. DeviceProcessEvents; with --reference, the dataset: FileProfile.
        table: String,
        /// JSON-lines file (one event object per line).
        file: PathBuf,
        /// Tenant id (default: the demo tenant of `serve --demo`).
        #[arg(long)]
        tenant: Option<String>,
        /// Ingest into a global reference dataset (`--reference FileProfile FILE`), not a tenant.
        #[arg(long, conflicts_with = "tenant")]
        reference: bool,
    },
    /// Sign in as a user (browser by default, or --device-code, or --username).
    Login {
        #[command(flatten)]
        client: ClientArgs,
        /// Use the device code flow (a code to type on another device).
        #[arg(long, conflicts_with = "username")]
        device_code: bool,
        /// Sign in with this username and a password (prompted, or --password-stdin).
        #[arg(long)]
        username: Option<String>,
        /// Read the password from standard input.
        #[arg(long, requires = "username")]
        password_stdin: bool,
        /// Print the sign-in URL instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out: forget the signed-in user's tokens.
    Logout {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is signed in: user, tenant, scopes, roles, device groups, expiry.
    Whoami {
        #[command(flatten)]
        client: ClientArgs,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// The key-encryption key that seals the signing keys at rest: status, rotation.
    Kek {
        #[command(flatten)]
        data: DataDirArg,
        #[command(flatten)]
        kek: KekArg,
        #[command(subcommand)]
        command: KekCommand,
    },
    /// List, show and update incidents.
    Incidents {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: IncidentsCommand,
    },
    /// List, show and update alerts (Microsoft Graph `alerts_v2`).
    Alerts {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: crate::graph_cmds::AlertsCommand,
    },
}

#[derive(Debug, Args)]
struct DataDirArg {
    /// Data directory (database, keys, CA).
    #[arg(
        long,
        env = "PALISADE_DATA_DIR",
        default_value = "./palisade-data",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// Address to listen on.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS (only for trusted local setups).
    #[arg(long)]
    plain_http: bool,
    /// Extra host names for the server certificate (repeatable), e.g. login.microsoftonline.com.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Create (once) and print a demo tenant with an app granted the Defender permissions,
    /// and seed its incident history.
    #[arg(long)]
    demo: bool,
    /// Switch the Defender API quotas off (load tests, query corpora).
    #[arg(long, conflicts_with = "quotas")]
    no_quotas: bool,
    /// Replace an operation's quotas, e.g. `--quota list=100/min --quota list=3000/h`
    /// (operations: list, get, update, hunting, and Graph's directory-units and
    /// directory-writes; windows: min, h). Repeatable; operations
    /// not named keep the documented defaults.
    #[arg(long = "quota", value_name = "OP=N/WINDOW", value_parser = parse_quota)]
    quotas: Vec<(String, palisade_defender::QuotaLimit)>,
    #[command(flatten)]
    kek: KekArg,
}

#[derive(Debug, Args)]
struct KekArg {
    /// The key-encryption key file that seals the signing keys (default <data-dir>/kek,
    /// created on first start). `PALISADE_KEK=palisade-kek-v1:…` takes precedence.
    #[arg(long, env = "PALISADE_KEK_FILE", global = true)]
    kek_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum KekCommand {
    /// Show the key-encryption key's id and what each signing key is sealed with.
    Status,
    /// Re-seal every signing key under a new key-encryption key (stop the servers first).
    Rotate {
        /// Where to take (if it exists) or write the new KEK; required with PALISADE_KEK,
        /// else the KEK file is replaced in place and the old one kept as <file>.old.
        #[arg(long)]
        new_kek_file: Option<PathBuf>,
    },
}

/// The operations `--quota` sets: the Defender API's, and the Graph directory's resource
/// units and writes.
const QUOTA_OPS: [&str; 6] = [
    "list",
    "get",
    "update",
    "hunting",
    "directory-units",
    "directory-writes",
];

/// Parses `OP=N/WINDOW` for `--quota`.
fn parse_quota(s: &str) -> Result<(String, palisade_defender::QuotaLimit), String> {
    let (op, rest) = s
        .split_once('=')
        .ok_or("expected OP=N/WINDOW, e.g. list=50/min")?;
    let op = op.trim().to_ascii_lowercase();
    if !QUOTA_OPS.contains(&op.as_str()) {
        return Err(format!(
            "unknown operation '{op}': use {}",
            QUOTA_OPS.join(", ")
        ));
    }
    let (n, window) = rest
        .split_once('/')
        .ok_or("expected N/WINDOW, e.g. 50/min")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("'{n}' is not a whole number"))?;
    let limit = match window.trim() {
        "min" | "m" | "minute" => palisade_defender::QuotaLimit::per_minute(n),
        "h" | "hour" => palisade_defender::QuotaLimit::per_hour(n),
        other => return Err(format!("unknown window '{other}': use min or h")),
    };
    Ok((op, limit))
}

/// The documented quotas with the operator's replacements.
fn quota_config(
    no_quotas: bool,
    overrides: &[(String, palisade_defender::QuotaLimit)],
) -> palisade_defender::QuotaConfig {
    if no_quotas {
        return palisade_defender::QuotaConfig::disabled();
    }
    let mut config = palisade_defender::QuotaConfig::default();
    for op in QUOTA_OPS {
        let limits: Vec<_> = overrides
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, l)| *l)
            .collect();
        if limits.is_empty() {
            continue;
        }
        match op {
            "list" => config.list_incidents = limits,
            "get" => config.get_incident = limits,
            "update" => config.update_incident = limits,
            "directory-units" => config.directory_units = limits,
            "directory-writes" => config.directory_writes = limits,
            _ => config.hunting = limits,
        }
    }
    config
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Print the path of the CA certificate clients should trust.
    Path(DataDirArg),
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// Server base URL.
    #[arg(
        long,
        env = "PALISADE_SERVER",
        default_value = "https://localhost:8443",
        global = true
    )]
    server: String,
    /// Admin key (default: read from <data-dir>/admin-key).
    #[arg(
        long,
        env = "PALISADE_ADMIN_KEY",
        hide_env_values = true,
        global = true
    )]
    admin_key: Option<String>,
    /// CA certificate to trust (default: <data-dir>/ca.pem when it exists).
    #[arg(long, env = "PALISADE_CA_FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// Data directory of a local server (for the default admin key and CA).
    #[arg(
        long,
        env = "PALISADE_DATA_DIR",
        default_value = "./palisade-data",
        global = true
    )]
    data_dir: PathBuf,
    /// Tenant (id or domain); default: the only tenant, if there is exactly one.
    #[arg(long, short = 't', env = "PALISADE_TENANT", global = true)]
    tenant: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table, global = true)]
    output: Format,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Application registrations.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Client secrets.
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Certificate credentials.
    Cert {
        #[command(subcommand)]
        command: crate::admin_certs::CertCommand,
    },
    /// Add permissions to an app and grant admin consent for them: application
    /// permissions (app roles), or with --delegated, delegated permissions for every user.
    Grant {
        /// The app (client id, object id or display name).
        app: String,
        /// Permission values, e.g. Incident.Read.All AdvancedHunting.Read.All (or with
        /// --delegated: Incident.Read AdvancedHunting.Read).
        #[arg(required = true)]
        permissions: Vec<String>,
        /// The resource app (identifier URI, app id or display name).
        #[arg(long, default_value = "Microsoft Threat Protection")]
        resource: String,
        /// Delegated permissions (an AllPrincipals oauth2PermissionGrant).
        #[arg(long)]
        delegated: bool,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: crate::admin_users::UserCommand,
    },
    /// Directory roles of users.
    Role {
        #[command(subcommand)]
        command: crate::admin_users::RoleCommand,
    },
    /// Defender device groups.
    DeviceGroup {
        #[command(subcommand)]
        command: crate::admin_users::DeviceGroupCommand,
    },
    /// Defender devices and their groups.
    Device {
        #[command(subcommand)]
        command: crate::admin_users::DeviceCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name.
        name: String,
        /// Initial domain label (<label>.onmicrosoft.com); default: from the name.
        #[arg(long)]
        domain: Option<String>,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
enum AppCommand {
    /// Register an application.
    Create {
        /// Display name.
        name: String,
        /// Accounts in any organizational directory (multi-tenant).
        #[arg(long)]
        multi_tenant: bool,
        /// Public client (no secrets; user sign-in). With no redirect URI given, it gets
        /// the native defaults: http://localhost, http://127.0.0.1 (any port) and
        /// https://login.microsoftonline.com/common/oauth2/nativeclient.
        #[arg(long)]
        public: bool,
        /// Web redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Single-page application redirect URI (repeatable).
        #[arg(long = "spa-redirect-uri")]
        spa_redirect_uris: Vec<String>,
        /// Mobile and desktop redirect URI (repeatable), e.g. http://localhost.
        #[arg(long = "public-redirect-uri")]
        public_redirect_uris: Vec<String>,
        /// Identifier URI (App ID URI) if the app is an API (repeatable).
        #[arg(long = "identifier-uri")]
        identifier_uris: Vec<String>,
    },
    /// List applications.
    List,
    /// Show one application.
    Show {
        /// Client id, object id or display name.
        app: String,
    },
    /// Delete an application.
    Delete {
        /// Client id, object id or display name.
        app: String,
    },
    /// Remove a (partner's) application's consent from this tenant: deletes its service
    /// principal and every permission granted to it here, so new tokens are refused.
    RemoveConsent {
        /// Client id, service principal id or display name.
        app: String,
    },
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// Add a client secret; its value is printed once.
    Add {
        /// Client id, object id or display name.
        app: String,
        /// Description.
        #[arg(long)]
        name: Option<String>,
        /// Expiry (RFC 3339); default 2 years.
        #[arg(long, conflicts_with = "days")]
        end: Option<String>,
        /// Lifetime in days.
        #[arg(long)]
        days: Option<i64>,
    },
    /// List an application's secrets (never their values).
    List {
        /// Client id, object id or display name.
        app: String,
    },
    /// Remove a secret.
    Remove {
        /// Client id, object id or display name.
        app: String,
        /// The secret's key id.
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List signing keys.
    List,
    /// Create a new signing key and make it active; old keys stay published until their tokens expire.
    Rotate,
}

/// Runs the CLI.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Ca {
            command: CaCommand::Path(d),
        } => {
            let path = crate::tls::ca_path(&d.data_dir);
            if !path.exists() {
                bail!(
                    "no CA yet at {}: start the server once (palisade serve) to create it",
                    path.display()
                );
            }
            println!("{}", std::fs::canonicalize(&path).unwrap_or(path).display());
            Ok(())
        }
        Command::Admin(args) => admin(args).await,
        Command::Hello {
            client,
            hours,
            out_dir,
        } => crate::client_cmds::hello(&client, hours, &out_dir).await,
        Command::Token { client, command } => crate::client_cmds::token(&client, command).await,
        Command::Login {
            client,
            device_code,
            username,
            password_stdin,
            no_browser,
        } => {
            crate::login_cmds::login(
                &client,
                crate::login_cmds::LoginOptions {
                    device_code,
                    username,
                    password_stdin,
                    no_browser,
                },
            )
            .await
        }
        Command::Logout { client } => crate::login_cmds::logout(&client).await,
        Command::Whoami { client, output } => crate::login_cmds::whoami(&client, output).await,
        Command::Incidents { client, command } => {
            crate::client_cmds::incidents(&client, command).await
        }
        Command::Alerts { client, command } => {
            crate::graph_cmds::alerts(&client.resolve()?, command).await
        }
        Command::Hunt {
            client,
            query,
            file,
            output,
            explain,
            data_dir,
            tenants,
        } => {
            crate::client_cmds::hunt(&client, query, file, output, explain, &data_dir, &tenants)
                .await
        }
        Command::Partner { command } => crate::partner_cmds::partner(command).await,
        Command::Seed {
            data,
            events,
            tables,
            tenant,
        } => seed(&data.data_dir, events, &tables, tenant).await,
        Command::Compact { data, tenant } => compact(&data.data_dir, tenant).await,
        Command::Kek { data, kek, command } => {
            let source = crate::kek::KekSource::from_args(kek.kek_file);
            match command {
                KekCommand::Status => crate::kek::status(&data.data_dir, &source).await,
                KekCommand::Rotate { new_kek_file } => {
                    crate::kek::rotate(&data.data_dir, &source, new_kek_file.as_deref()).await
                }
            }
        }
        Command::Ingest {
            data,
            table,
            file,
            reference: true,
            ..
        } => ingest_reference(&data.data_dir, &table, &file),
        Command::Ingest {
            data,
            table,
            file,
            tenant,
            reference: false,
        } => ingest(&data.data_dir, &table, &file, tenant).await,
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = ServerConfig {
        data_dir: args.data.data_dir.clone(),
        listen: args.listen,
        plain_http: args.plain_http,
        hostnames: args.hosts,
        quotas: quota_config(args.no_quotas, &args.quotas),
        kek: crate::kek::KekSource::from_args(args.kek.kek_file),
    };
    let running = server::start(config, Arc::new(SystemClock)).await?;
    println!("Palisade listening on {}", running.base_url);
    if let Some(ca) = &running.ca_path {
        let ca = std::fs::canonicalize(ca).unwrap_or(ca.clone());
        println!(
            "CA certificate: {}  (export SSL_CERT_FILE / REQUESTS_CA_BUNDLE to trust it)",
            ca.display()
        );
    }
    if running.new_admin_key.is_some() {
        println!(
            "Admin key written to {}",
            args.data.data_dir.join(ADMIN_KEY_FILE).display()
        );
    }
    if args.demo {
        let demo = demo::ensure(&running, &args.data.data_dir).await?;
        let config = std::fs::canonicalize(args.data.data_dir.join(demo::CLIENT_CONFIG_FILE))?;
        println!();
        println!("Demo tenant:   {} ({})", demo.tenant_id, demo.domain);
        println!("Client id:     {}", demo.client_id);
        println!("Client secret: {}", demo.client_secret);
        println!(
            "Public client: {}  (delegated: {}, admin consent)",
            demo.public_client_id,
            demo::DEMO_DELEGATED.join(" ")
        );
        println!("Users:");
        for u in &demo.users {
            let scope = if u.device_groups.is_empty() {
                String::new()
            } else {
                format!(", device groups: {}", u.device_groups.join(", "))
            };
            println!("  {:<48} {}  ({}{scope})", u.upn, u.password, u.role);
        }
        println!("Incidents:     {} in the demo tenant", demo.incidents);
        if demo.events > 0 {
            println!("Events:        {} advanced-hunting events seeded (palisade seed --events N for more)", demo.events);
        }
        let partner = crate::demo_partner::ensure(&running, &args.data.data_dir).await?;
        println!();
        crate::demo_partner::print(&partner, &running.base_url);
        println!();
        println!(
            "Hello world:   palisade hello --config {}",
            config.display()
        );
        println!(
            "          or:  cargo run -q -p palisade -- hello --config {}",
            config.display()
        );
        println!(
            "Sign in:       palisade login --config {}   (then: palisade whoami, palisade incidents list)",
            config.display()
        );
    }
    running.run_until(shutdown_signal()).await
}

/// SIGTERM or Ctrl-C: the server then drains in-flight requests before exiting.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The tenant (and its domain) for seeding: the given one, else the demo tenant.
async fn seed_tenant(
    data_dir: &std::path::Path,
    tenant: Option<String>,
) -> Result<(String, String)> {
    let store = palisade_store::Store::open_sqlite(&data_dir.join(server::DATABASE_FILE)).await?;
    let id = match tenant {
        Some(t) => t,
        None => {
            let text = std::fs::read_to_string(data_dir.join(demo::DEMO_FILE))
                .context("no --tenant and no demo tenant: run `palisade serve --demo` once, or pass --tenant")?;
            serde_json::from_str::<demo::Demo>(&text)?.tenant_id
        }
    };
    let directory = palisade_directory::Directory::new(store, Arc::new(SystemClock));
    let t = directory
        .resolve_tenant(&id)
        .await?
        .with_context(|| format!("tenant {id} does not exist in {}", data_dir.display()))?;
    Ok((t.id, t.initial_domain))
}

async fn seed(
    data_dir: &std::path::Path,
    events: u64,
    tables: &[String],
    tenant: Option<String>,
) -> Result<()> {
    let (tenant_id, domain) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    let estate = crate::hunting::estate_for(&tenant_id, &domain);
    let bar = indicatif::ProgressBar::new(events);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let only: Vec<&str> = tables.iter().map(String::as_str).collect();
    let written = palisade_events::seed_tables(
        &store,
        &tenant_id,
        &estate,
        events,
        crate::hunting::chrono_time(OffsetDateTime::now_utc()),
        (!only.is_empty()).then_some(only.as_slice()),
        |n| bar.set_position(n),
    )
    .await?;
    bar.finish();
    // The global file profiles of the estate's files (idempotent).
    let profiles = palisade_events::seed_file_profiles(
        &store,
        &estate,
        crate::hunting::chrono_time(OffsetDateTime::now_utc()),
    )?;
    println!(
        "{written} events written for tenant {tenant_id} under {} ({} new file profiles)",
        crate::hunting::events_dir(data_dir).display(),
        profiles.written
    );
    compact_after_write(store.compact_tenant(&tenant_id));
    Ok(())
}

/// Reports the compaction that follows a write. Best effort: the rows are already stored,
/// so a failure (say, a concurrent `palisade compact` holds the lock) is a warning; an error
/// would invite a retry that stores the rows twice.
fn compact_after_write(r: Result<palisade_events::CompactReport, palisade_events::StoreError>) {
    match r {
        Ok(r) => print_compaction(r),
        Err(e) => eprintln!(
            "warning: the rows are stored, but compacting them failed ({e}); run `palisade compact` later"
        ),
    }
}

async fn compact(data_dir: &std::path::Path, tenant: Option<String>) -> Result<()> {
    let (tenant_id, _) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    print_compaction(store.compact_tenant(&tenant_id)?);
    Ok(())
}

fn print_compaction(r: palisade_events::CompactReport) {
    println!(
        "compacted {} day partitions: {} files -> {} ({} rows)",
        r.days_compacted, r.files_before, r.files_after, r.rows
    );
}

async fn ingest(
    data_dir: &std::path::Path,
    table: &str,
    file: &std::path::Path,
    tenant: Option<String>,
) -> Result<()> {
    let (tenant_id, _) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let bar = indicatif::ProgressBar::new(input.metadata().map_or(0, |m| m.len()));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(input));
    let report = palisade_events::ingest_jsonl(&store, &tenant_id, table, reader).await?;
    bar.finish();
    for e in &report.rejected {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    if report.accepted > 0 {
        compact_after_write(store.compact(&tenant_id, table));
    }
    println!(
        "{} rows ingested into {table}, {} rejected",
        report.accepted,
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        bail!("{} rows were rejected", report.rejected.len())
    }
}

/// `palisade ingest --reference NAME FILE`: global reference rows (e.g. file profiles).
fn ingest_reference(data_dir: &std::path::Path, name: &str, file: &std::path::Path) -> Result<()> {
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let report = palisade_events::ingest_reference_jsonl(&store, name, reader)?;
    for e in &report.rejected {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    println!(
        "{} rows ingested into reference {name}, {} rejected",
        report.accepted,
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        bail!("{} rows were rejected", report.rejected.len())
    }
}

fn read_admin_key(args: &AdminArgs) -> Result<String> {
    if let Some(k) = &args.admin_key {
        return Ok(k.clone());
    }
    let path = args.data_dir.join(ADMIN_KEY_FILE);
    let key = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no admin key: pass --admin-key or PALISADE_ADMIN_KEY, or run where {} exists",
            path.display()
        )
    })?;
    Ok(key.trim().to_string())
}

fn ca_file(args: &AdminArgs) -> Option<PathBuf> {
    args.ca_file
        .clone()
        .or_else(|| Some(crate::tls::ca_path(&args.data_dir)).filter(|p| p.exists()))
}

async fn resolve_tenant(client: &AdminClient, args: &AdminArgs) -> Result<String> {
    if let Some(t) = &args.tenant {
        return Ok(t.clone());
    }
    let tenants = client.get("/admin/tenants").await?;
    let list = tenants["value"].as_array().cloned().unwrap_or_default();
    match list.as_slice() {
        [only] => Ok(field(only, "/id")),
        [] => bail!("no tenant exists yet: palisade admin tenant create NAME"),
        _ => bail!(
            "{} tenants exist: choose one with --tenant or PALISADE_TENANT",
            list.len()
        ),
    }
}

/// Finds an app by client id, object id or display name.
pub(crate) async fn find_app(client: &AdminClient, tenant: &str, app: &str) -> Result<Value> {
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

fn app_row(a: &Value) -> Vec<String> {
    vec![
        field(a, "/displayName"),
        field(a, "/appId"),
        field(a, "/id"),
        field(a, "/signInAudience"),
    ]
}

fn secret_row(s: &Value) -> Vec<String> {
    vec![
        field(s, "/keyId"),
        field(s, "/displayName"),
        field(s, "/hint"),
        field(s, "/startDateTime"),
        field(s, "/endDateTime"),
    ]
}

async fn admin(args: AdminArgs) -> Result<()> {
    let client = AdminClient::new(
        &args.server,
        read_admin_key(&args)?,
        ca_file(&args).as_deref(),
    )?;
    let out = args.output;
    match &args.command {
        AdminCommand::Tenant {
            command: TenantCommand::Create { name, domain },
        } => {
            let t = client
                .post(
                    "/admin/tenants",
                    &json!({"displayName": name, "domain": domain}),
                )
                .await?;
            emit(
                out,
                &t,
                &["TENANT ID", "NAME", "DOMAIN"],
                vec![tenant_row(&t)],
            );
        }
        AdminCommand::Tenant {
            command: TenantCommand::List,
        } => {
            let t = client.get("/admin/tenants").await?;
            let rows = t["value"]
                .as_array()
                .map(|v| v.iter().map(tenant_row).collect())
                .unwrap_or_default();
            emit(out, &t, &["TENANT ID", "NAME", "DOMAIN"], rows);
        }
        AdminCommand::App { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            match command {
                AppCommand::Create {
                    name,
                    multi_tenant,
                    public,
                    redirect_uris,
                    spa_redirect_uris,
                    public_redirect_uris,
                    identifier_uris,
                } => {
                    let mut public_uris = public_redirect_uris.clone();
                    if *public
                        && public_uris.is_empty()
                        && redirect_uris.is_empty()
                        && spa_redirect_uris.is_empty()
                    {
                        public_uris = vec![
                            "http://localhost".into(),
                            "http://127.0.0.1".into(),
                            "https://login.microsoftonline.com/common/oauth2/nativeclient".into(),
                        ];
                    }
                    let body = json!({
                        "displayName": name,
                        "signInAudience": if *multi_tenant { "AzureADMultipleOrgs" } else { "AzureADMyOrg" },
                        "isFallbackPublicClient": public,
                        "web": {"redirectUris": redirect_uris},
                        "spa": {"redirectUris": spa_redirect_uris},
                        "publicClient": {"redirectUris": public_uris},
                        "identifierUris": identifier_uris,
                    });
                    let a = client
                        .post(&format!("/admin/{tenant}/v1.0/applications"), &body)
                        .await?;
                    emit(
                        out,
                        &a,
                        &["NAME", "CLIENT ID", "OBJECT ID", "AUDIENCE"],
                        vec![app_row(&a)],
                    );
                }
                AppCommand::List => {
                    let a = client
                        .get(&format!("/admin/{tenant}/v1.0/applications"))
                        .await?;
                    let rows = a["value"]
                        .as_array()
                        .map(|v| v.iter().map(app_row).collect())
                        .unwrap_or_default();
                    emit(
                        out,
                        &a,
                        &["NAME", "CLIENT ID", "OBJECT ID", "AUDIENCE"],
                        rows,
                    );
                }
                AppCommand::Show { app } => {
                    let a = find_app(&client, &tenant, app).await?;
                    let mut rows = vec![
                        vec!["displayName".into(), field(&a, "/displayName")],
                        vec!["appId".into(), field(&a, "/appId")],
                        vec!["id".into(), field(&a, "/id")],
                        vec!["signInAudience".into(), field(&a, "/signInAudience")],
                        vec!["publicClient".into(), field(&a, "/isFallbackPublicClient")],
                        vec!["identifierUris".into(), field(&a, "/identifierUris")],
                        vec!["redirectUris".into(), field(&a, "/web/redirectUris")],
                        vec!["spaRedirectUris".into(), field(&a, "/spa/redirectUris")],
                        vec![
                            "publicRedirectUris".into(),
                            field(&a, "/publicClient/redirectUris"),
                        ],
                    ];
                    for s in a["passwordCredentials"].as_array().into_iter().flatten() {
                        rows.push(vec![
                            "secret".into(),
                            format!(
                                "{} {}… until {}",
                                field(s, "/keyId"),
                                field(s, "/hint"),
                                field(s, "/endDateTime")
                            ),
                        ]);
                    }
                    for r in a["requiredResourceAccess"].as_array().into_iter().flatten() {
                        rows.push(vec!["requiredResourceAccess".into(), r.to_string()]);
                    }
                    emit(out, &a, &["PROPERTY", "VALUE"], rows);
                }
                AppCommand::RemoveConsent { app } => {
                    crate::admin_certs::remove_consent(&client, &tenant, out, app).await?;
                }
                AppCommand::Delete { app } => {
                    let a = find_app(&client, &tenant, app).await?;
                    client
                        .delete(&format!(
                            "/admin/{tenant}/v1.0/applications/{}",
                            field(&a, "/id")
                        ))
                        .await?;
                    emit(
                        out,
                        &json!({"deleted": field(&a, "/appId")}),
                        &["DELETED"],
                        vec![vec![field(&a, "/appId")]],
                    );
                }
            }
        }
        AdminCommand::Secret { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            match command {
                SecretCommand::Add {
                    app,
                    name,
                    end,
                    days,
                } => {
                    let a = find_app(&client, &tenant, app).await?;
                    let end = match (end, days) {
                        (Some(e), _) => Some(e.clone()),
                        (None, Some(d)) => Some(
                            (OffsetDateTime::now_utc() + time::Duration::days(*d))
                                .format(&time::format_description::well_known::Rfc3339)?,
                        ),
                        (None, None) => None,
                    };
                    let body =
                        json!({"passwordCredential": {"displayName": name, "endDateTime": end}});
                    let s = client
                        .post(
                            &format!(
                                "/admin/{tenant}/v1.0/applications/{}/addPassword",
                                field(&a, "/id")
                            ),
                            &body,
                        )
                        .await?;
                    emit(
                        out,
                        &s,
                        &["KEY ID", "SECRET (shown once)", "EXPIRES"],
                        vec![vec![
                            field(&s, "/keyId"),
                            field(&s, "/secretText"),
                            field(&s, "/endDateTime"),
                        ]],
                    );
                }
                SecretCommand::List { app } => {
                    let a = find_app(&client, &tenant, app).await?;
                    let creds = a["passwordCredentials"].clone();
                    let rows = creds
                        .as_array()
                        .map(|v| v.iter().map(secret_row).collect())
                        .unwrap_or_default();
                    emit(
                        out,
                        &json!({"value": creds}),
                        &["KEY ID", "NAME", "HINT", "START", "END"],
                        rows,
                    );
                }
                SecretCommand::Remove { app, key_id } => {
                    let a = find_app(&client, &tenant, app).await?;
                    client
                        .post(
                            &format!(
                                "/admin/{tenant}/v1.0/applications/{}/removePassword",
                                field(&a, "/id")
                            ),
                            &json!({"keyId": key_id}),
                        )
                        .await?;
                    emit(
                        out,
                        &json!({"removed": key_id}),
                        &["REMOVED"],
                        vec![vec![key_id.clone()]],
                    );
                }
            }
        }
        AdminCommand::Cert { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            crate::admin_certs::cert(&client, &tenant, out, command).await?;
        }
        AdminCommand::User { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            crate::admin_users::user(&client, &tenant, out, command).await?;
        }
        AdminCommand::Role { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            crate::admin_users::role(&client, &tenant, out, command).await?;
        }
        AdminCommand::DeviceGroup { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            crate::admin_users::device_group(&client, &tenant, out, command).await?;
        }
        AdminCommand::Device { command } => {
            let tenant = resolve_tenant(&client, &args).await?;
            crate::admin_users::device(&client, &tenant, out, command).await?;
        }
        AdminCommand::Grant {
            app,
            permissions,
            resource,
            delegated,
        } => {
            let tenant = resolve_tenant(&client, &args).await?;
            let a = find_app(&client, &tenant, app).await?;
            let kind = if *delegated {
                "Delegated"
            } else {
                "Application"
            };
            let g = client
                .post(
                    &format!("/admin/{tenant}/grants"),
                    &json!({"appId": field(&a, "/appId"), "resource": resource, "permissions": permissions, "type": kind}),
                )
                .await?;
            let resource_name = field(&g, "/resourceDisplayName");
            let rows = g["granted"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| {
                            vec![
                                field(x, "/value"),
                                resource_name.clone(),
                                field(x, "/appRoleId"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            if out == Format::Table {
                println!(
                    "Granted admin consent in tenant {} for {} ({} permissions):",
                    field(&g, "/tenantId"),
                    field(&a, "/displayName"),
                    kind.to_lowercase()
                );
            }
            emit(out, &g, &["PERMISSION", "RESOURCE", "APP ROLE ID"], rows);
        }
        AdminCommand::Keys { command } => {
            let k = match command {
                KeysCommand::List => client.get("/admin/keys").await?,
                KeysCommand::Rotate => client.post("/admin/keys/rotate", &json!({})).await?,
            };
            let rows = k["value"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| {
                            vec![
                                field(x, "/kid"),
                                field(x, "/active"),
                                field(x, "/published"),
                                field(x, "/activatedDateTime"),
                                field(x, "/retireDateTime"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            emit(
                out,
                &k,
                &["KID", "ACTIVE", "PUBLISHED", "ACTIVATED", "RETIRES"],
                rows,
            );
        }
    }
    Ok(())
}

fn tenant_row(t: &Value) -> Vec<String> {
    vec![
        field(t, "/id"),
        field(t, "/displayName"),
        field(t, "/verifiedDomains/0/name"),
    ]
}

/// Exposed for tests: parse arguments without running.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_flags_replace_only_the_named_operations() {
        let overrides = vec![
            parse_quota("list=100/min").unwrap(),
            parse_quota("list=3000/h").unwrap(),
            parse_quota("hunting=10/min").unwrap(),
        ];
        let c = quota_config(false, &overrides);
        assert_eq!(
            c.list_incidents,
            vec![
                palisade_defender::QuotaLimit::per_minute(100),
                palisade_defender::QuotaLimit::per_hour(3000)
            ]
        );
        assert_eq!(
            c.hunting,
            vec![palisade_defender::QuotaLimit::per_minute(10)]
        );
        assert_eq!(
            c.get_incident,
            palisade_defender::QuotaConfig::default().get_incident
        );
        assert!(c.enabled);
        assert!(!quota_config(true, &overrides).enabled);
        for bad in [
            "list",
            "list=x/min",
            "delete=1/min",
            "get=5/day",
            "get=-1/min",
        ] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ingest_reference_flag() {
        use clap::Parser as _;
        let cli = Cli::try_parse_from([
            "palisade",
            "ingest",
            "--reference",
            "FileProfile",
            "p.jsonl",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Ingest { reference: true, ref table, .. } if table == "FileProfile"
        ));
        assert!(Cli::try_parse_from([
            "palisade",
            "ingest",
            "--reference",
            "--tenant",
            "t",
            "FileProfile",
            "p.jsonl"
        ])
        .is_err());
    }
}
