//! `palisade admin user | role | device-group | device`: users, their directory roles and
//! their Defender device groups, through the admin API.

use crate::admin_client::AdminClient;
use crate::output::{emit, field, Format};
use anyhow::{bail, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// `palisade admin user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// User principal name, in one of the tenant's domains.
        upn: String,
        /// Initial password (8+ characters, three of: lower, upper, digit, symbol);
        /// prompted for when absent.
        #[arg(long)]
        password: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Directory role to assign (repeatable), e.g. "Security Reader".
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Scope the user to this Defender device group (repeatable); default: all groups.
        #[arg(long = "device-group", value_name = "GROUP")]
        device_groups: Vec<String>,
        /// Create the account disabled.
        #[arg(long)]
        disabled: bool,
        /// The password expires after this many days.
        #[arg(long, value_name = "DAYS")]
        password_expires_days: Option<i64>,
    },
    /// List users.
    List,
    /// Show a user with roles and device groups.
    Show {
        /// UPN or object id.
        user: String,
    },
    /// Disable sign-in (also ends every session and refresh token).
    Disable {
        /// UPN or object id.
        user: String,
    },
    /// Enable sign-in.
    Enable {
        /// UPN or object id.
        user: String,
    },
    /// Set a new password (also ends every session and refresh token).
    SetPassword {
        /// UPN or object id.
        user: String,
        /// The password; prompted for when absent.
        #[arg(long)]
        password: Option<String>,
        /// The password expires after this many days.
        #[arg(long, value_name = "DAYS")]
        password_expires_days: Option<i64>,
        /// The user must change it at next sign-in (expires now).
        #[arg(long, conflicts_with = "password_expires_days")]
        force_change: bool,
    },
    /// Delete a user.
    Delete {
        /// UPN or object id.
        user: String,
    },
    /// End every session and refresh token of the user (revokeSignInSessions).
    RevokeSessions {
        /// UPN or object id.
        user: String,
    },
    /// Set the Defender device groups the user may see.
    DeviceGroups {
        /// UPN or object id.
        user: String,
        /// Every device group.
        #[arg(long, conflicts_with = "groups")]
        all: bool,
        /// Only these groups (repeatable).
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
}

/// `palisade admin role …`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// The directory roles and what they allow in Defender.
    List,
    /// Assign a role to a user.
    Assign {
        /// UPN or object id.
        user: String,
        /// Role name or template id, e.g. "Security Operator".
        role: String,
    },
    /// Remove a role from a user.
    Unassign {
        /// UPN or object id.
        user: String,
        /// Role name or template id.
        role: String,
    },
}

/// `palisade admin device-group …`.
#[derive(Debug, Subcommand)]
pub enum DeviceGroupCommand {
    /// Create a device group.
    Create {
        /// Name.
        name: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List device groups.
    List,
    /// Delete a device group (its devices become ungrouped).
    Delete {
        /// Name or id.
        group: String,
    },
}

/// `palisade admin device …`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List devices with their groups.
    List,
    /// Register a device or move it to a group.
    Set {
        /// MDE device id.
        id: String,
        /// Its DNS name (hunting's DeviceName).
        #[arg(long)]
        name: String,
        /// Device group; none when absent.
        #[arg(long)]
        group: Option<String>,
    },
}

fn password_or_prompt(given: &Option<String>, prompt: &str) -> Result<String> {
    match given {
        Some(p) => Ok(p.clone()),
        None => rpassword::prompt_password(prompt).map_err(|e| {
            anyhow::anyhow!(
                "cannot prompt for the password ({e}): without a terminal, pass it with --password"
            )
        }),
    }
}

fn expiry_json(days: Option<i64>) -> Result<Value> {
    Ok(match days {
        Some(d) => json!((OffsetDateTime::now_utc() + time::Duration::days(d))
            .format(&time::format_description::well_known::Rfc3339)?),
        None => Value::Null,
    })
}

fn user_row(u: &Value) -> Vec<String> {
    vec![
        field(u, "/userPrincipalName"),
        field(u, "/displayName"),
        field(u, "/id"),
        field(u, "/accountEnabled"),
    ]
}

async fn user_of(client: &AdminClient, tenant: &str, user: &str) -> Result<Value> {
    client
        .get(&format!("/admin/{tenant}/v1.0/users/{}", enc(user)))
        .await
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn role_definitions(client: &AdminClient, tenant: &str) -> Result<Vec<Value>> {
    Ok(client
        .get(&format!(
            "/admin/{tenant}/v1.0/roleManagement/directory/roleDefinitions"
        ))
        .await?["value"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// A role's template id by name or id, checked before anything is written.
async fn role_id(client: &AdminClient, tenant: &str, role: &str) -> Result<String> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase()
    };
    let defs = role_definitions(client, tenant).await?;
    match defs.iter().find(|d| {
        field(d, "/id").eq_ignore_ascii_case(role)
            || squash(&field(d, "/displayName")) == squash(role)
    }) {
        Some(d) => Ok(field(d, "/id")),
        None => bail!(
            "'{role}' is not a directory role; known: {}",
            defs.iter()
                .map(|d| field(d, "/displayName"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn assignments(client: &AdminClient, tenant: &str, user_id: &str) -> Result<Vec<Value>> {
    Ok(client
        .get(&format!(
            "/admin/{tenant}/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{user_id}'"
        ))
        .await?["value"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

async fn set_device_groups(
    client: &AdminClient,
    tenant: &str,
    user: &str,
    groups: &[String],
) -> Result<Value> {
    let body = if groups.is_empty() {
        json!({"scope": "all"})
    } else {
        json!({"scope": "groups", "groups": groups})
    };
    client
        .put(
            &format!("/admin/{tenant}/users/{}/deviceGroups", enc(user)),
            &body,
        )
        .await
}

fn scope_text(scope: &Value) -> String {
    if scope["scope"] == "all" {
        "all device groups".into()
    } else {
        let names: Vec<String> = scope["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| field(g, "/name"))
            .collect();
        if names.is_empty() {
            "(none)".into()
        } else {
            names.join(", ")
        }
    }
}

/// Runs `palisade admin user …`.
pub async fn user(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    cmd: &UserCommand,
) -> Result<()> {
    let base = format!("/admin/{tenant}/v1.0/users");
    match cmd {
        UserCommand::Create {
            upn,
            password,
            name,
            roles,
            device_groups,
            disabled,
            password_expires_days,
        } => {
            // Check every name first, so a typo writes nothing.
            let mut role_ids = Vec::new();
            for r in roles {
                role_ids.push(role_id(client, tenant, r).await?);
            }
            let known = client.get(&format!("/admin/{tenant}/deviceGroups")).await?;
            for g in device_groups {
                let found =
                    known["value"].as_array().into_iter().flatten().any(|x| {
                        field(x, "/name").eq_ignore_ascii_case(g) || field(x, "/id") == *g
                    });
                if !found {
                    bail!("no device group '{g}' in tenant {tenant}");
                }
            }
            let password = password_or_prompt(password, "Password for the new user: ")?;
            let body = json!({
                "userPrincipalName": upn,
                "displayName": name,
                "accountEnabled": !disabled,
                "passwordProfile": {
                    "password": password,
                    "passwordExpirationDateTime": expiry_json(*password_expires_days)?,
                },
            });
            let mut u = client.post(&base, &body).await?;
            let id = field(&u, "/id");
            for r in &role_ids {
                client
                    .post(
                        &format!("/admin/{tenant}/v1.0/roleManagement/directory/roleAssignments"),
                        &json!({"principalId": id, "roleDefinitionId": r, "directoryScopeId": "/"}),
                    )
                    .await?;
            }
            let scope = if device_groups.is_empty() {
                json!({"scope": "all", "groups": []})
            } else {
                set_device_groups(client, tenant, &id, device_groups).await?
            };
            let role_names: Vec<String> = assignments(client, tenant, &id)
                .await?
                .iter()
                .map(|a| field(a, "/roleDefinitionDisplayName"))
                .collect();
            if out == Format::Json {
                u["roles"] = json!(role_names);
                u["deviceGroups"] = scope;
                println!("{}", serde_json::to_string_pretty(&u)?);
            } else {
                println!(
                    "{}",
                    crate::output::table(
                        &[
                            "UPN",
                            "NAME",
                            "OBJECT ID",
                            "ENABLED",
                            "ROLES",
                            "DEVICE GROUPS"
                        ],
                        &[{
                            let mut r = user_row(&u);
                            r.push(role_names.join(", "));
                            r.push(scope_text(&scope));
                            r
                        }]
                    )
                );
            }
        }
        UserCommand::List => {
            let list = client.get(&base).await?;
            let rows = list["value"]
                .as_array()
                .map(|v| v.iter().map(user_row).collect())
                .unwrap_or_default();
            emit(out, &list, &["UPN", "NAME", "OBJECT ID", "ENABLED"], rows);
        }
        UserCommand::Show { user } => {
            let mut u = user_of(client, tenant, user).await?;
            let id = field(&u, "/id");
            let roles: Vec<String> = assignments(client, tenant, &id)
                .await?
                .iter()
                .map(|a| field(a, "/roleDefinitionDisplayName"))
                .collect();
            let scope = client
                .get(&format!("/admin/{tenant}/users/{id}/deviceGroups"))
                .await?;
            let rows = vec![
                vec!["userPrincipalName".into(), field(&u, "/userPrincipalName")],
                vec!["displayName".into(), field(&u, "/displayName")],
                vec!["id".into(), id.clone()],
                vec!["accountEnabled".into(), field(&u, "/accountEnabled")],
                vec![
                    "passwordExpires".into(),
                    field(&u, "/passwordExpirationDateTime"),
                ],
                vec!["roles".into(), roles.join(", ")],
                vec!["deviceGroups".into(), scope_text(&scope)],
            ];
            u["roles"] = json!(roles);
            u["deviceGroups"] = scope;
            emit(out, &u, &["PROPERTY", "VALUE"], rows);
        }
        UserCommand::Disable { user } | UserCommand::Enable { user } => {
            let enable = matches!(cmd, UserCommand::Enable { .. });
            let u = user_of(client, tenant, user).await?;
            client
                .patch(
                    &format!("{base}/{}", field(&u, "/id")),
                    &json!({"accountEnabled": enable}),
                )
                .await?;
            let u = user_of(client, tenant, user).await?;
            emit(
                out,
                &u,
                &["UPN", "NAME", "OBJECT ID", "ENABLED"],
                vec![user_row(&u)],
            );
        }
        UserCommand::SetPassword {
            user,
            password,
            password_expires_days,
            force_change,
        } => {
            let u = user_of(client, tenant, user).await?;
            let password = password_or_prompt(password, "New password: ")?;
            client
                .patch(
                    &format!("{base}/{}", field(&u, "/id")),
                    &json!({"passwordProfile": {
                        "password": password,
                        "forceChangePasswordNextSignIn": force_change,
                        "passwordExpirationDateTime": expiry_json(*password_expires_days)?,
                    }}),
                )
                .await?;
            let u = user_of(client, tenant, user).await?;
            emit(
                out,
                &u,
                &["UPN", "PASSWORD CHANGED", "EXPIRES"],
                vec![vec![
                    field(&u, "/userPrincipalName"),
                    field(&u, "/lastPasswordChangeDateTime"),
                    field(&u, "/passwordExpirationDateTime"),
                ]],
            );
        }
        UserCommand::Delete { user } => {
            let u = user_of(client, tenant, user).await?;
            client
                .delete(&format!("{base}/{}", field(&u, "/id")))
                .await?;
            emit(
                out,
                &json!({"deleted": field(&u, "/id")}),
                &["DELETED"],
                vec![vec![field(&u, "/userPrincipalName")]],
            );
        }
        UserCommand::RevokeSessions { user } => {
            let u = user_of(client, tenant, user).await?;
            let v = client
                .post(
                    &format!("{base}/{}/revokeSignInSessions", field(&u, "/id")),
                    &json!({}),
                )
                .await?;
            emit(
                out,
                &v,
                &["USER", "SESSIONS REVOKED"],
                vec![vec![field(&u, "/userPrincipalName"), field(&v, "/value")]],
            );
        }
        UserCommand::DeviceGroups { user, all, groups } => {
            if !*all && groups.is_empty() {
                bail!("give --all or at least one --group");
            }
            let v = set_device_groups(client, tenant, user, groups).await?;
            emit(
                out,
                &v,
                &["USER", "DEVICE GROUPS"],
                vec![vec![user.clone(), scope_text(&v)]],
            );
        }
    }
    Ok(())
}

/// Runs `palisade admin role …`.
pub async fn role(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    cmd: &RoleCommand,
) -> Result<()> {
    let base = format!("/admin/{tenant}/v1.0/roleManagement/directory/roleAssignments");
    match cmd {
        RoleCommand::List => {
            let defs = role_definitions(client, tenant).await?;
            let rows = defs
                .iter()
                .map(|d| {
                    vec![
                        field(d, "/displayName"),
                        field(d, "/id"),
                        d["defenderRights"]
                            .as_array()
                            .map(|r| {
                                r.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            emit(
                out,
                &json!({"value": defs}),
                &["ROLE", "TEMPLATE ID", "DEFENDER RIGHTS"],
                rows,
            );
        }
        RoleCommand::Assign { user, role } => {
            let role = role_id(client, tenant, role).await?;
            let u = user_of(client, tenant, user).await?;
            let a = client
                .post(
                    &base,
                    &json!({"principalId": field(&u, "/id"), "roleDefinitionId": role, "directoryScopeId": "/"}),
                )
                .await?;
            emit(
                out,
                &a,
                &["USER", "ROLE", "ASSIGNMENT ID"],
                vec![vec![
                    field(&u, "/userPrincipalName"),
                    field(&a, "/roleDefinitionDisplayName"),
                    field(&a, "/id"),
                ]],
            );
        }
        RoleCommand::Unassign { user, role } => {
            let role = role_id(client, tenant, role).await?;
            let u = user_of(client, tenant, user).await?;
            let found = assignments(client, tenant, &field(&u, "/id"))
                .await?
                .into_iter()
                .find(|a| field(a, "/roleDefinitionId") == role);
            let Some(a) = found else {
                bail!(
                    "{} does not have that role",
                    field(&u, "/userPrincipalName")
                );
            };
            client
                .delete(&format!("{base}/{}", field(&a, "/id")))
                .await?;
            emit(
                out,
                &json!({"removed": field(&a, "/id")}),
                &["USER", "ROLE REMOVED"],
                vec![vec![
                    field(&u, "/userPrincipalName"),
                    field(&a, "/roleDefinitionDisplayName"),
                ]],
            );
        }
    }
    Ok(())
}

/// Runs `palisade admin device-group …`.
pub async fn device_group(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    cmd: &DeviceGroupCommand,
) -> Result<()> {
    let base = format!("/admin/{tenant}/deviceGroups");
    let row = |g: &Value| vec![field(g, "/id"), field(g, "/name"), field(g, "/description")];
    match cmd {
        DeviceGroupCommand::Create { name, description } => {
            let g = client
                .post(&base, &json!({"name": name, "description": description}))
                .await?;
            emit(out, &g, &["ID", "NAME", "DESCRIPTION"], vec![row(&g)]);
        }
        DeviceGroupCommand::List => {
            let v = client.get(&base).await?;
            let rows = v["value"]
                .as_array()
                .map(|x| x.iter().map(row).collect())
                .unwrap_or_default();
            emit(out, &v, &["ID", "NAME", "DESCRIPTION"], rows);
        }
        DeviceGroupCommand::Delete { group } => {
            client.delete(&format!("{base}/{}", enc(group))).await?;
            emit(
                out,
                &json!({"deleted": group}),
                &["DELETED"],
                vec![vec![group.clone()]],
            );
        }
    }
    Ok(())
}

/// Runs `palisade admin device …`.
pub async fn device(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    cmd: &DeviceCommand,
) -> Result<()> {
    let row = |d: &Value| {
        vec![
            field(d, "/computerDnsName"),
            field(d, "/id"),
            field(d, "/rbacGroupName"),
        ]
    };
    match cmd {
        DeviceCommand::List => {
            let v = client.get(&format!("/admin/{tenant}/devices")).await?;
            let rows = v["value"]
                .as_array()
                .map(|x| x.iter().map(row).collect())
                .unwrap_or_default();
            emit(out, &v, &["NAME", "DEVICE ID", "DEVICE GROUP"], rows);
        }
        DeviceCommand::Set { id, name, group } => {
            let d = client
                .put(
                    &format!("/admin/{tenant}/devices/{}", enc(id)),
                    &json!({"computerDnsName": name, "deviceGroup": group}),
                )
                .await?;
            emit(
                out,
                &d,
                &["NAME", "DEVICE ID", "DEVICE GROUP"],
                vec![row(&d)],
            );
        }
    }
    Ok(())
}
