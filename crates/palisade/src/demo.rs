//! The demo tenant of `palisade serve --demo`: an app with the Defender application
//! permissions and a secret (application context), a public client with delegated
//! consent and one user per directory role (user context), the demo estate's device
//! groups and devices, incident history and advanced-hunting events.

use crate::server::RunningServer;
use crate::tls::write_private;
use anyhow::{bail, Context, Result};
use palisade_directory::{ApplicationDefinition, NewApplication, SignInAudience, MTP_APP_ID};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File holding the demo app's credentials (mode 0600): the secret cannot be recovered
/// from the store, so the demo keeps its copy here.
pub const DEMO_FILE: &str = "demo-credentials.json";
/// Advanced-hunting events seeded for the demo tenant on first start.
pub const DEMO_EVENTS: u64 = 20_000;
/// A client config file for the demo app (mode 0600), for `--config`.
pub const CLIENT_CONFIG_FILE: &str = "client.toml";

/// The demo tenant and app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Demo {
    /// Tenant id.
    pub tenant_id: String,
    /// Initial domain.
    pub domain: String,
    /// App (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The public client (user sign-in), with tenant-wide delegated consent.
    #[serde(default)]
    pub public_client_id: String,
    /// The demo users and their passwords.
    #[serde(default)]
    pub users: Vec<DemoUserLogin>,
    /// Incidents in the demo tenant.
    #[serde(skip)]
    pub incidents: i64,
    /// Hunting events seeded at this start (0 when they existed already).
    #[serde(skip)]
    pub events: u64,
}

/// A demo user's sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUserLogin {
    /// UPN.
    pub upn: String,
    /// Password (shown at start, kept in the demo file).
    pub password: String,
    /// Directory role.
    pub role: String,
    /// Device groups it is scoped to (empty: all).
    #[serde(default)]
    pub device_groups: Vec<String>,
}

/// The demo's users: one per role, plus a Security Operator scoped to one device group.
const DEMO_USERS: [(&str, &str, &str, Option<&str>); 6] = [
    ("admin", "Ada Admin", "Global Administrator", None),
    (
        "secadmin",
        "Sam Security-Admin",
        "Security Administrator",
        None,
    ),
    ("secops", "Olu Operator", "Security Operator", None),
    ("secreader", "Rita Reader", "Security Reader", None),
    ("globalreader", "Gus Global-Reader", "Global Reader", None),
    (
        "finance.analyst",
        "Fiona Finance",
        "Security Operator",
        Some("Finance workstations"),
    ),
];

/// The delegated permissions the demo's public client has admin consent for.
pub const DEMO_DELEGATED: [&str; 3] = [
    "Incident.Read",
    "Incident.ReadWrite",
    "AdvancedHunting.Read",
];

/// The user-context part of the demo (device groups and devices, public client, users);
/// each piece is created once.
async fn ensure_user_context(
    directory: &palisade_directory::Directory,
    demo: &mut Demo,
) -> Result<bool> {
    let estate = palisade_defender::DemoEstate::for_tenant(&demo.tenant_id, &demo.domain);
    for d in &estate.devices {
        if directory
            .get_device_group(&demo.tenant_id, &d.rbac_group_id.to_string())
            .await
            .is_err()
        {
            directory
                .create_device_group(
                    &demo.tenant_id,
                    &d.rbac_group_name,
                    "Demo estate device group",
                    Some(d.rbac_group_id),
                )
                .await?;
        }
        directory
            .register_device(
                &demo.tenant_id,
                &d.mdatp_device_id,
                &d.dns_name,
                Some(&d.rbac_group_id.to_string()),
            )
            .await?;
    }
    let mut changed = false;
    if demo.public_client_id.is_empty() {
        let app = directory
            .create_application(
                &demo.tenant_id,
                NewApplication {
                    display_name: "Palisade Demo CLI".into(),
                    sign_in_audience: SignInAudience::AzureADMyOrg,
                    is_public_client: true,
                    identifier_uris: vec![],
                    definition: ApplicationDefinition {
                        public_client_redirect_uris: vec![
                            "http://localhost".into(),
                            "http://127.0.0.1".into(),
                            "https://login.microsoftonline.com/common/oauth2/nativeclient".into(),
                        ],
                        ..Default::default()
                    },
                },
            )
            .await?;
        directory
            .ensure_service_principal(&demo.tenant_id, &app.app_id)
            .await?;
        directory
            .grant_delegated(
                &demo.tenant_id,
                &app.app_id,
                MTP_APP_ID,
                &DEMO_DELEGATED.map(String::from),
                palisade_directory::ConsentType::AllPrincipals,
            )
            .await?;
        demo.public_client_id = app.app_id;
        changed = true;
    }
    if demo.users.is_empty() {
        for (alias, name, role, group) in DEMO_USERS {
            let upn = format!("{alias}@{}", demo.domain);
            let password = palisade_directory::password::generate_password();
            let user = match directory.get_user(&demo.tenant_id, &upn).await {
                Ok(u) => {
                    directory
                        .update_user(
                            &demo.tenant_id,
                            &u.id,
                            palisade_directory::UserPatch {
                                password: Some((password.clone(), None)),
                                ..Default::default()
                            },
                        )
                        .await?
                }
                Err(_) => {
                    directory
                        .create_user(
                            &demo.tenant_id,
                            palisade_directory::NewUser {
                                user_principal_name: upn.clone(),
                                display_name: Some(name.into()),
                                password: password.clone(),
                                account_enabled: true,
                                password_expires_at: None,
                            },
                        )
                        .await?
                }
            };
            directory
                .assign_role(&demo.tenant_id, &user.id, role)
                .await?;
            let groups: Vec<String> = group.map(|g| vec![g.to_string()]).unwrap_or_default();
            directory
                .set_user_device_groups(
                    &demo.tenant_id,
                    &user.id,
                    (!groups.is_empty()).then_some(groups.as_slice()),
                )
                .await?;
            demo.users.push(DemoUserLogin {
                upn,
                password,
                role: role.into(),
                device_groups: groups,
            });
        }
        changed = true;
    }
    Ok(changed)
}

/// Creates the demo tenant and app the first time; afterwards reads them back. Seeds
/// the demo incidents idempotently (never duplicating or touching anything a user
/// added). Writes the client config for this server's address.
pub async fn ensure(server: &RunningServer, data_dir: &Path) -> Result<Demo> {
    let directory = &server.directory;
    let file = data_dir.join(DEMO_FILE);
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => {
            let demo: Demo = serde_json::from_str(&text)?;
            directory
                .resolve_tenant(&demo.tenant_id)
                .await?
                .map(|_| demo)
        }
        Err(_) => None,
    };
    let mut demo = match existing {
        Some(d) => d,
        None => {
            let tenant = match directory
                .resolve_tenant("palisadedemo.onmicrosoft.com")
                .await?
            {
                Some(t) => t,
                None => {
                    directory
                        .create_tenant("Palisade Demo", Some("palisadedemo"), None)
                        .await?
                }
            };
            let app = directory
                .create_application(
                    &tenant.id,
                    NewApplication {
                        display_name: "Palisade Demo App".into(),
                        sign_in_audience: SignInAudience::AzureADMyOrg,
                        is_public_client: false,
                        identifier_uris: vec![],
                        definition: ApplicationDefinition::default(),
                    },
                )
                .await?;
            directory
                .grant_permissions(
                    &tenant.id,
                    &app.app_id,
                    MTP_APP_ID,
                    &[
                        "Incident.Read.All".into(),
                        "Incident.ReadWrite.All".into(),
                        "AdvancedHunting.Read.All".into(),
                    ],
                )
                .await?;
            let (_, secret) = directory
                .add_password(&tenant.id, &app.app_id, Some("demo".into()), None, None)
                .await?;
            // The demo tenant's Sentinel workspace is connected (the unified portal); once,
            // so `admin sentinel disconnect` lasts across restarts.
            server
                .store
                .connect_sentinel(
                    &tenant.id,
                    &uuid::Uuid::new_v4().to_string(),
                    directory.clock().now().unix_timestamp(),
                )
                .await?;
            Demo {
                tenant_id: tenant.id,
                domain: tenant.initial_domain,
                client_id: app.app_id,
                client_secret: secret,
                public_client_id: String::new(),
                users: Vec::new(),
                incidents: 0,
                events: 0,
            }
        }
    };
    // Written before anything else can fail: the secret and passwords exist only here.
    write_private(&file, serde_json::to_string_pretty(&demo)?.as_bytes())?;
    if ensure_user_context(directory, &mut demo).await? {
        write_private(&file, serde_json::to_string_pretty(&demo)?.as_bytes())?;
    }
    palisade_defender::seed_demo_incidents(
        &server.store,
        &demo.tenant_id,
        directory.clock(),
        palisade_defender::DEMO_INCIDENT_COUNT,
    )
    .await?;
    demo.incidents = server.store.count_incidents(&demo.tenant_id).await?;
    // A first slice of advanced-hunting events, once (`palisade seed --events N` adds more).
    let events_dir = crate::hunting::events_dir(data_dir);
    let tenant_events = events_dir.join(format!("tenant={}", demo.tenant_id));
    if !tenant_events.exists() {
        demo.events = seed_events_in_child(data_dir, &demo.tenant_id).await?;
    }
    let ca = server
        .ca_path
        .as_deref()
        .and_then(|p| std::fs::canonicalize(p).ok());
    let mut config = format!(
        "# Palisade demo app (written by `palisade serve --demo`)\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\npublic_client_id = \"{}\"\nauthority = \"{}\"\napi = \"{}\"\n",
        demo.tenant_id, demo.client_id, demo.client_secret, demo.public_client_id, server.base_url, server.base_url
    );
    if let Some(ca) = ca {
        config.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
    }
    write_private(&data_dir.join(CLIENT_CONFIG_FILE), config.as_bytes())?;
    Ok(demo)
}

/// Seeds the demo's first slice of advanced-hunting events by running `palisade seed` (this
/// same executable) as a child process, and returns how many events it wrote.
///
/// In a child, so the server keeps none of it: the generator's Parquet writers allocate a
/// 2 MB bloom filter per column and file (about 4 GB over the 20,000 events), and the
/// allocator keeps pages freed on other threads until their owner allocates again, while
/// the writer code stays mapped; in process this left 6–10 MB of text and up to 15 MB of
/// zeroed heap resident in an idle server (BENCHMARKS.md, "Issue 13, fourth pass").
async fn seed_events_in_child(data_dir: &Path, tenant_id: &str) -> Result<u64> {
    let exe = std::env::current_exe().context("locating this executable to seed the events")?;
    let out = tokio::process::Command::new(&exe)
        .arg("seed")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--tenant", tenant_id, "--events", &DEMO_EVENTS.to_string()])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {} seed", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "seeding the demo's events failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // `seed` reports "{written} events written for tenant …" (cli/events.rs).
    stdout
        .lines()
        .find_map(|l| l.split_once(" events written for tenant "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .with_context(|| format!("`palisade seed` did not report its count: {stdout}"))
}
