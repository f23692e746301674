//! `palisade context list|show|use|set|delete`: the named contexts of [`crate::config`].
//! No command prints a secret: `show` says only whether one is stored, and where.

use crate::config::{Config, ContextSettings};
use crate::output::table;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// `palisade context …`.
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  palisade context list
  palisade context use demo
  palisade context set contoso --server https://localhost:8443 --tenant contoso.onmicrosoft.com
  palisade context set --client-id $CLIENT_ID --client-secret $SECRET   # the current context
  palisade context show -o json")]
pub enum ContextCommand {
    /// List the contexts (the current one marked with *).
    List,
    /// Show a context's settings (default: the current one); secrets are never shown.
    Show {
        /// The context.
        name: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = crate::output::Format::Table)]
        output: crate::output::Format,
    },
    /// Make a context the current one.
    Use {
        /// The context.
        name: String,
    },
    /// Create a context or change some of its settings (default: the current one).
    Set(Box<SetArgs>),
    /// Delete a context and its stored secret.
    Delete {
        /// The context.
        name: String,
    },
}

/// `palisade context set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The context (created if new; default: the current one).
    name: Option<String>,
    /// Palisade's base URL (the authority, the Defender API and the admin API).
    #[arg(long)]
    server: Option<String>,
    /// Token authority base URL, when not the server.
    #[arg(long)]
    authority: Option<String>,
    /// Defender API base URL, when not the server.
    #[arg(long)]
    api: Option<String>,
    /// CA certificate that signs the server's certificate.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Tenant id or domain.
    #[arg(long, alias = "tenant-id")]
    tenant: Option<String>,
    /// Application (client) id.
    #[arg(long)]
    client_id: Option<String>,
    /// Client secret (stored in the 0600 secrets file, never printed).
    #[arg(long, conflicts_with = "client_secret_stdin")]
    client_secret: Option<String>,
    /// Read the client secret from standard input.
    #[arg(long)]
    client_secret_stdin: bool,
    /// Client certificate (PEM with key, or .pfx/.p12).
    #[arg(long)]
    certificate: Option<PathBuf>,
    /// Public client id for user sign-in.
    #[arg(long)]
    public_client_id: Option<String>,
    /// Data directory of a Palisade on this machine (its admin key and CA).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Token endpoint version (v1 or v2).
    #[arg(long, value_parser = ["v1", "v2"])]
    token_version: Option<String>,
    /// Also make it the current context.
    #[arg(long = "use")]
    make_current: bool,
}

/// Runs `palisade context …`.
pub fn context(config_path: Option<&Path>, command: ContextCommand) -> Result<()> {
    let mut config = Config::load_default(config_path)?;
    let current = config.file.current_context.clone();
    match command {
        ContextCommand::List => {
            let rows: Vec<Vec<String>> = config
                .file
                .contexts
                .iter()
                .map(|(name, c)| {
                    vec![
                        if current.as_deref() == Some(name) {
                            "*"
                        } else {
                            ""
                        }
                        .to_string(),
                        name.clone(),
                        c.server.clone().or(c.authority.clone()).unwrap_or_default(),
                        c.tenant_id.clone().unwrap_or_default(),
                        c.client_id.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!(
                    "no contexts in {}: `palisade serve --demo` creates one, or `palisade context set NAME --server URL`",
                    config.path.display()
                );
            } else {
                println!(
                    "{}",
                    table(&["CURRENT", "NAME", "SERVER", "TENANT", "CLIENT ID"], &rows)
                );
            }
        }
        ContextCommand::Show { name, output } => {
            let Some(name) = name.or(current.clone()) else {
                bail!("no current context: palisade context use NAME (palisade context list)");
            };
            let (_, settings) = config.effective(Some(&name))?;
            show(
                &config,
                &name,
                settings,
                output,
                current.as_deref() == Some(&name),
            )?;
        }
        ContextCommand::Use { name } => {
            config.use_context(&name)?;
            config.save()?;
            println!("Switched to context '{name}'.");
        }
        ContextCommand::Set(args) => {
            let Some(name) = args.name.clone().or(current) else {
                bail!("no current context: name the context, e.g. palisade context set demo --server …");
            };
            let secret = if args.client_secret_stdin {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                Some(s.trim().to_string())
            } else {
                args.client_secret.clone()
            };
            let old = config.file.contexts.get(&name).cloned().unwrap_or_default();
            let created = !config.file.contexts.contains_key(&name);
            let ca_file = args
                .ca_file
                .as_deref()
                .map(|p| std::fs::canonicalize(p).unwrap_or(p.to_path_buf()));
            let data_dir = args
                .data_dir
                .as_deref()
                .map(|p| std::fs::canonicalize(p).unwrap_or(p.to_path_buf()));
            let new = ContextSettings {
                server: args.server,
                authority: args.authority,
                api: args.api,
                ca_file,
                tenant_id: args.tenant,
                client_id: args.client_id,
                client_certificate: args.certificate,
                public_client_id: args.public_client_id,
                data_dir,
                token_version: args.token_version,
                client_secret: secret,
                ..ContextSettings::default()
            }
            .or(old);
            config.put_context(&name, new);
            if args.make_current || config.file.current_context.is_none() {
                config.file.current_context = Some(name.clone());
            }
            config.save()?;
            println!(
                "Context '{name}' {}{}.",
                if created { "created" } else { "updated" },
                if config.file.current_context.as_deref() == Some(&name) {
                    " (current)"
                } else {
                    ""
                }
            );
        }
        ContextCommand::Delete { name } => {
            config.delete_context(&name)?;
            config.save()?;
            println!("Context '{name}' deleted.");
        }
    }
    Ok(())
}

fn show(
    config: &Config,
    name: &str,
    s: ContextSettings,
    output: crate::output::Format,
    current: bool,
) -> Result<()> {
    let secret = if config.has_secret(name) {
        format!("(stored in {})", config.secrets_path().display())
    } else if s.client_secret.is_some() {
        format!("(in {})", config.path.display())
    } else {
        String::new()
    };
    let path = |p: &Option<PathBuf>| p.as_deref().map(|p| p.display().to_string());
    let rows: Vec<(&str, Option<String>)> = vec![
        ("name", Some(name.to_string())),
        ("current", Some(current.to_string())),
        ("server", s.server),
        ("authority", s.authority),
        ("api", s.api),
        ("graph_api", s.graph_api),
        ("ca_file", path(&s.ca_file)),
        ("tenant_id", s.tenant_id),
        ("client_id", s.client_id),
        ("client_secret", Some(secret).filter(|s| !s.is_empty())),
        ("client_certificate", path(&s.client_certificate)),
        ("public_client_id", s.public_client_id),
        ("token_version", s.token_version),
        ("data_dir", path(&s.data_dir)),
    ];
    match output {
        crate::output::Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = rows
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), serde_json::Value::String(v))))
                .collect();
            println!("{}", serde_json::to_string_pretty(&map)?);
        }
        crate::output::Format::Table => {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| vec![k.to_string(), v]))
                .collect();
            println!("{}", table(&["SETTING", "VALUE"], &rows));
        }
    }
    Ok(())
}
