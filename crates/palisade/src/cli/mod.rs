//! The `palisade` command line: the commands and their dispatch. Each family of commands
//! has its module: `serve` (the server), `admin` (the admin API), `events` (the hunting
//! event store), and beside this tree `client_cmds`, `graph_cmds`, `login_cmds`,
//! `partner_cmds`, `context_cmds`, `ca_cmds` and `doctor`.

mod admin;
mod events;
mod serve;

use crate::ca_cmds::CaCommand;
use crate::client_cmds::TokenCommand;
use crate::context_cmds::ContextCommand;
use crate::incident_args::{IncidentFormat, IncidentsCommand};
use crate::output::Format;
use crate::settings::ClientArgs;
use admin::AdminArgs;
use anyhow::Result;
use clap::{Args, CommandFactory, Parser, Subcommand};
use events::{compact, ingest, ingest_reference, seed};
use serve::{serve, ServeArgs};
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  palisade serve --demo                         # a local server; creates and uses the `demo` context
  palisade doctor                               # is the current context's server, CA, tenant, credential OK?
  palisade incidents list --filter \"status eq 'Active'\"
  palisade hunt 'DeviceInfo | summarize count() by OSPlatform'
  palisade context list                         # named servers/tenants; palisade context use NAME
  curl --cacert \"$(palisade ca path)\" https://localhost:8443/common/discovery/instance
  source <(palisade completions bash)";

/// Palisade: a self-hosted Microsoft Entra ID and Defender XDR API.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (token service, admin API) on one TLS listener.
    Serve(ServeArgs),
    /// The local certificate authority: its path, and trusting it system-wide.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Manage tenants, applications, secrets, grants and signing keys.
    Admin(AdminArgs),
    /// Named contexts (server, CA, tenant, client): list, show, use, set, delete.
    Context {
        /// Config file [env: PALISADE_CONFIG].
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: ContextCommand,
    },
    /// Check the current context: server, CA trust (this CLI, curl, Python), tenant,
    /// credential and permissions; one line per check, with its fix.
    Doctor {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print a shell completion script: `source <(palisade completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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
    #[command(after_help = "Examples:
  palisade token get | palisade token inspect
  palisade token get --tenant-id contoso.onmicrosoft.com --client-id $CLIENT_ID --client-secret $SECRET")]
    Token {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Run an advanced hunting (KQL) query.
    #[command(after_help = "Examples:
  palisade hunt 'DeviceProcessEvents | where ProcessCommandLine has \"enc\" | summarize count() by DeviceName'
  palisade hunt -f query.kql -o csv
  palisade hunt --explain -f query.kql           # the parsed and planned query
  palisade hunt --api graph 'DeviceInfo | take 10'")]
    Hunt {
        #[command(flatten)]
        client: ClientArgs,
        /// The query.
        query: Option<String>,
        /// Read the query from a file.
        #[arg(long, short = 'f')]
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
        /// Print the parsed and planned query instead of running it.
        #[arg(long)]
        explain: bool,
        /// List every function of the Kusto reference and whether it is implemented or
        /// rejected by name (from the function registry; no query, no server).
        #[arg(long, conflicts_with_all = ["query", "file", "explain", "tenants"])]
        functions: bool,
        /// List every tabular operator and query statement of the Kusto reference and whether
        /// it is implemented or rejected by name (asked of the parser; no query, no server).
        #[arg(long, conflicts_with_all = ["query", "file", "explain", "tenants", "functions"])]
        operators: bool,
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
        /// Only these tables (comma-separated, e.g. DeviceProcessEvents,IdentityInfo,SigninLogs):
        /// the device and alert events, the identity, mail follow-up, cloud-app, TVM and
        /// exposure-graph tables, and (with a connected Sentinel workspace) its seeded tables;
        /// all of them by default. Mail follow-ups derive from the stored mail.
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
    #[command(after_help = "Examples:
  palisade incidents list --filter \"status eq 'Active'\" --all -o csv
  palisade incidents get 42
  palisade incidents update 42 --status Resolved --classification TruePositive
  palisade incidents list --api graph --filter \"severity eq 'high'\"")]
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
pub(crate) struct DataDirArg {
    /// Data directory (database, keys, CA).
    #[arg(
        long,
        env = "PALISADE_DATA_DIR",
        default_value = "./palisade-data",
        global = true
    )]
    pub(crate) data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct KekArg {
    /// The key-encryption key file that seals the signing keys (default <data-dir>/kek,
    /// created on first start). `PALISADE_KEK=palisade-kek-v1:…` takes precedence.
    #[arg(long, env = "PALISADE_KEK_FILE", global = true)]
    pub(crate) kek_file: Option<PathBuf>,
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

/// Runs the CLI.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Ca { command } => crate::ca_cmds::ca(command),
        Command::Context { config, command } => {
            crate::context_cmds::context(config.as_deref(), command)
        }
        Command::Doctor { client } => crate::doctor::doctor(&client).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "palisade",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Admin(args) => admin::admin(args).await,
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
            functions,
            operators,
            data_dir,
            tenants,
        } => {
            if functions {
                return crate::client_cmds::hunt_functions(output);
            }
            if operators {
                return crate::client_cmds::hunt_operators(output);
            }
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
