//! `palisade admin app owner add|list|remove`: the owners of an application registration
//! (users and service principals of its tenant), through the admin API's Graph-shaped
//! `…/applications/{id}/owners` routes.

use crate::admin_client::{find_app, AdminClient};
use crate::output::{emit, field, Format};
use anyhow::{bail, Result};
use clap::Subcommand;
use serde_json::{json, Value};

/// `palisade admin app owner …`.
#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Make a user or a service principal an owner of an application.
    Add {
        /// The application: client id, object id or display name.
        app: String,
        /// The owner: a user's UPN or object id, a service principal's object id, or an
        /// application (display name or client id) whose service principal in this tenant
        /// becomes the owner.
        owner: String,
    },
    /// List an application's owners.
    List {
        /// The application: client id, object id or display name.
        app: String,
    },
    /// Remove an owner from an application.
    Remove {
        /// The application: client id, object id or display name.
        app: String,
        /// The owner, named as for `add`.
        owner: String,
    },
}

const HEADERS: [&str; 4] = ["TYPE", "OBJECT ID", "NAME", "UPN / APP ID"];

fn owner_row(o: &Value) -> Vec<String> {
    let kind = field(o, "/@odata.type");
    vec![
        kind.trim_start_matches("#microsoft.graph.").to_string(),
        field(o, "/id"),
        field(o, "/displayName"),
        if o.get("userPrincipalName").is_some() {
            field(o, "/userPrincipalName")
        } else {
            field(o, "/appId")
        },
    ]
}

/// The object id an owner argument names.
async fn owner_id(client: &AdminClient, tenant: &str, owner: &str) -> Result<String> {
    if owner.contains('@') {
        let u = client
            .get(&format!("/admin/{tenant}/v1.0/users/{owner}"))
            .await?;
        return Ok(field(&u, "/id"));
    }
    if uuid::Uuid::try_parse(owner).is_ok() {
        // A client id of an app with a service principal here means that principal;
        // any other GUID is taken as an object id.
        let sps = client
            .get(&format!("/admin/{tenant}/v1.0/servicePrincipals"))
            .await?;
        let by_app = sps["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| field(s, "/appId").eq_ignore_ascii_case(owner));
        return Ok(by_app.map_or_else(|| owner.to_ascii_lowercase(), |s| field(s, "/id")));
    }
    let app = find_app(client, tenant, owner).await?;
    let app_id = field(&app, "/appId");
    let sps = client
        .get(&format!("/admin/{tenant}/v1.0/servicePrincipals"))
        .await?;
    match sps["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| field(s, "/appId") == app_id)
    {
        Some(sp) => Ok(field(sp, "/id")),
        None => bail!("application {owner} has no service principal in this tenant"),
    }
}

/// Runs `palisade admin app owner …`.
pub(crate) async fn owner(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    command: &OwnerCommand,
) -> Result<()> {
    match command {
        OwnerCommand::Add { app, owner } => {
            let a = find_app(client, tenant, app).await?;
            let id = owner_id(client, tenant, owner).await?;
            client
                .post(
                    &format!(
                        "/admin/{tenant}/v1.0/applications/{}/owners/$ref",
                        field(&a, "/id")
                    ),
                    &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")}),
                )
                .await?;
            emit(
                out,
                &json!({"application": field(&a, "/appId"), "owner": id}),
                &["APPLICATION", "OWNER ADDED"],
                vec![vec![field(&a, "/appId"), id.clone()]],
            );
        }
        OwnerCommand::List { app } => {
            let a = find_app(client, tenant, app).await?;
            let list = client
                .get(&format!(
                    "/admin/{tenant}/v1.0/applications/{}/owners",
                    field(&a, "/id")
                ))
                .await?;
            let rows = list["value"]
                .as_array()
                .map(|v| v.iter().map(owner_row).collect())
                .unwrap_or_default();
            emit(out, &list, &HEADERS, rows);
        }
        OwnerCommand::Remove { app, owner } => {
            let a = find_app(client, tenant, app).await?;
            let id = owner_id(client, tenant, owner).await?;
            client
                .delete(&format!(
                    "/admin/{tenant}/v1.0/applications/{}/owners/{id}/$ref",
                    field(&a, "/id")
                ))
                .await?;
            emit(
                out,
                &json!({"application": field(&a, "/appId"), "removed": id}),
                &["APPLICATION", "OWNER REMOVED"],
                vec![vec![field(&a, "/appId"), id.clone()]],
            );
        }
    }
    Ok(())
}
