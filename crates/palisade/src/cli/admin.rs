//! `palisade admin …`: tenants, applications, secrets, grants and signing keys over the
//! admin API (users, roles and devices in `admin_users.rs`, certificates in
//! `admin_certs.rs`). The server, CA, admin key and tenant come from the flags, the
//! environment, then the current context.

use crate::admin_client::{find_app, resolve_tenant, AdminClient};
use crate::config::{Config, ConfigError, ContextSettings};
use crate::output::{emit, field, Format};
use crate::server::ADMIN_KEY_FILE;
use crate::trust::{CaSource, Trust, TrustInputs};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::PathBuf;
use time::OffsetDateTime;

/// `palisade admin …`: where the admin API is, and the tenant the command acts in.
#[derive(Debug, Args)]
#[command(after_help = ADMIN_EXAMPLES)]
pub(crate) struct AdminArgs {
    /// Server base URL [env: PALISADE_SERVER; default: the context's server, else
    /// https://localhost:8443].
    #[arg(long, env = "PALISADE_SERVER", global = true)]
    server: Option<String>,
    /// Admin key (default: read from <data-dir>/admin-key).
    #[arg(
        long,
        env = "PALISADE_ADMIN_KEY",
        hide_env_values = true,
        global = true
    )]
    admin_key: Option<String>,
    /// CA certificate to trust [env: PALISADE_CA_FILE; then SSL_CERT_FILE/SSL_CERT_DIR,
    /// the context's CA, <data-dir>/ca.pem for a server on this machine].
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
    /// Data directory of a local server, for the default admin key and CA
    /// [env: PALISADE_DATA_DIR; default: the context's, else ./palisade-data].
    #[arg(long, env = "PALISADE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Tenant: its id, a domain or its name [env: PALISADE_TENANT; default: the context's
    /// tenant, else the only tenant].
    #[arg(long, short = 't', env = "PALISADE_TENANT", global = true)]
    tenant: Option<String>,
    /// Config file [env: PALISADE_CONFIG].
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Context to use [env: PALISADE_CONTEXT; default: the current one].
    #[arg(long, env = "PALISADE_CONTEXT", global = true)]
    context: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table, global = true)]
    output: Format,
    /// Print only this field of the result (e.g. `--query appId`, `--query secretText`),
    /// for scripts: `CLIENT_ID=$(palisade admin app create X --query appId)`.
    #[arg(long, global = true)]
    query: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

const ADMIN_EXAMPLES: &str = "Examples:
  palisade admin tenant create Contoso            # then: palisade context use contoso
  palisade admin -t Contoso app create \"SOAR connector\"
  CLIENT_ID=$(palisade admin app show \"SOAR connector\" --query appId)
  SECRET=$(palisade admin secret add \"SOAR connector\" --query secretText)
  palisade admin grant \"SOAR connector\" Incident.Read.All AdvancedHunting.Read.All
  palisade admin keys rotate";

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
    /// The tenant's Microsoft Sentinel workspace in advanced hunting (the unified portal).
    Sentinel {
        #[command(subcommand)]
        command: crate::admin_sentinel::SentinelCommand,
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
    /// Owners of an application (users, service principals): they may manage it without
    /// an admin role, and an app with Application.ReadWrite.OwnedBy only what it owns.
    Owner {
        #[command(subcommand)]
        command: crate::admin_owners::OwnerCommand,
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

/// The admin command's connection and defaults, resolved from flags, environment and the
/// context.
struct Target {
    client: AdminClient,
    server: String,
    data_dir: PathBuf,
    trust: Trust,
    /// The tenant asked for and where that came from.
    tenant: Option<(String, String)>,
}

fn target(args: &AdminArgs) -> Result<Target> {
    let config = match Config::load_default(args.config.as_deref()) {
        Ok(c) => Some(c),
        Err(ConfigError::NoHome) => None,
        Err(e) => return Err(e.into()),
    };
    let (context, ctx) = match &config {
        Some(c) => c.effective(args.context.as_deref())?,
        None => (None, ContextSettings::default()),
    };
    let server = args
        .server
        .clone()
        .or(ctx.server.clone())
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let data_dir = args
        .data_dir
        .clone()
        .or(ctx.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(crate::data_dir::DEFAULT_DATA_DIR));
    let trust = crate::trust::resolve(&TrustInputs {
        flag: args.ca_file.as_deref(),
        context: ctx.ca_file.as_deref().map(|p| (context.as_deref(), p)),
        data_dir: Some(&data_dir),
        urls: vec![&server],
    });
    let key = match &args.admin_key {
        Some(k) => k.clone(),
        None => {
            let path = data_dir.join(ADMIN_KEY_FILE);
            std::fs::read_to_string(&path)
                .with_context(|| {
                    format!(
                        "no admin key: pass --admin-key or PALISADE_ADMIN_KEY, or run where {} exists",
                        path.display()
                    )
                })?
                .trim()
                .to_string()
        }
    };
    let tenant = match (&args.tenant, ctx.tenant_id) {
        (Some(t), _) => Some((t.clone(), "-t/PALISADE_TENANT".to_string())),
        (None, Some(t)) => Some((
            t,
            format!(
                "context '{}'",
                context.as_deref().unwrap_or("(config file)")
            ),
        )),
        (None, None) => None,
    };
    Ok(Target {
        client: AdminClient::new(&server, key, &trust)?,
        server,
        data_dir,
        trust,
        tenant,
    })
}

impl Target {
    async fn tenant(&self) -> Result<String> {
        match &self.tenant {
            Some((t, origin)) => resolve_tenant(&self.client, Some(t), origin).await,
            None => resolve_tenant(&self.client, None, "").await,
        }
    }
}

/// The default admin server.
const DEFAULT_SERVER: &str = "https://localhost:8443";

/// After `tenant create`: a context for the new tenant (same server and CA), and how to
/// switch to it. The hint goes to stderr so that `--query` output stays clean.
fn offer_context(t: &Target, args: &AdminArgs, tenant: &Value) -> Result<()> {
    let id = field(tenant, "/id");
    let domain = field(tenant, "/verifiedDomains/0/name");
    let name = domain
        .split('.')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(&id)
        .to_ascii_lowercase();
    let mut config = Config::load_default(args.config.as_deref())?;
    let created = if config.file.contexts.contains_key(&name) {
        false
    } else {
        config.put_context(
            &name,
            ContextSettings {
                server: Some(t.server.clone()),
                ca_file: t
                    .trust
                    .path
                    .clone()
                    .filter(|_| t.trust.source != CaSource::SslCertDir),
                tenant_id: Some(id.clone()),
                data_dir: std::fs::canonicalize(&t.data_dir).ok(),
                ..ContextSettings::default()
            },
        );
        config.save()?;
        true
    };
    if created {
        eprintln!("Context '{name}' created for this tenant.");
    }
    eprintln!(
        "Switch to it: palisade context use {name}   (or pass -t {domain} to one admin command)"
    );
    Ok(())
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

/// Runs `palisade admin …`.
pub(crate) async fn admin(args: AdminArgs) -> Result<()> {
    let t = target(&args)?;
    if let Some(q) = &args.query {
        crate::output::set_query(q);
    }
    let client = &t.client;
    let out = args.output;
    match &args.command {
        AdminCommand::Tenant {
            command: TenantCommand::Create { name, domain },
        } => {
            let created = client
                .post(
                    "/admin/tenants",
                    &json!({"displayName": name, "domain": domain}),
                )
                .await?;
            emit(
                out,
                &created,
                &["TENANT ID", "NAME", "DOMAIN"],
                vec![tenant_row(&created)],
            );
            if let Err(e) = offer_context(&t, &args, &created) {
                eprintln!("note: no context created for the tenant ({e:#})");
            }
        }
        AdminCommand::Tenant {
            command: TenantCommand::List,
        } => {
            let list = client.get("/admin/tenants").await?;
            let rows = list["value"]
                .as_array()
                .map(|v| v.iter().map(tenant_row).collect())
                .unwrap_or_default();
            emit(out, &list, &["TENANT ID", "NAME", "DOMAIN"], rows);
        }
        AdminCommand::App { command } => {
            let tenant = t.tenant().await?;
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
                    let a = find_app(client, &tenant, app).await?;
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
                    crate::admin_certs::remove_consent(client, &tenant, out, app).await?;
                }
                AppCommand::Owner { command } => {
                    crate::admin_owners::owner(client, &tenant, out, command).await?;
                }
                AppCommand::Delete { app } => {
                    let a = find_app(client, &tenant, app).await?;
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
            let tenant = t.tenant().await?;
            match command {
                SecretCommand::Add {
                    app,
                    name,
                    end,
                    days,
                } => {
                    let a = find_app(client, &tenant, app).await?;
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
                    let a = find_app(client, &tenant, app).await?;
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
                    let a = find_app(client, &tenant, app).await?;
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
            let tenant = t.tenant().await?;
            crate::admin_certs::cert(client, &tenant, out, command).await?;
        }
        AdminCommand::User { command } => {
            let tenant = t.tenant().await?;
            crate::admin_users::user(client, &tenant, out, command).await?;
        }
        AdminCommand::Role { command } => {
            let tenant = t.tenant().await?;
            crate::admin_users::role(client, &tenant, out, command).await?;
        }
        AdminCommand::DeviceGroup { command } => {
            let tenant = t.tenant().await?;
            crate::admin_users::device_group(client, &tenant, out, command).await?;
        }
        AdminCommand::Device { command } => {
            let tenant = t.tenant().await?;
            crate::admin_users::device(client, &tenant, out, command).await?;
        }
        AdminCommand::Sentinel { command } => {
            let tenant = t.tenant().await?;
            crate::admin_sentinel::sentinel(client, &tenant, out, command).await?;
        }
        AdminCommand::Grant {
            app,
            permissions,
            resource,
            delegated,
        } => {
            let tenant = t.tenant().await?;
            let a = find_app(client, &tenant, app).await?;
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
