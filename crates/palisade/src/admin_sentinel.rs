//! `palisade admin sentinel connect | disconnect | status`: a tenant's Microsoft Sentinel
//! workspace in the unified portal, through the admin API (`/admin/{tenant}/sentinel`).
//! Connected, the tenant's advanced hunting also has the Sentinel tables and the Log
//! Analytics columns of the XDR tables; disconnected, those are unknown names.

use crate::admin_client::AdminClient;
use crate::output::{emit, field, Format};
use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};

/// `palisade admin sentinel …`.
#[derive(Debug, Subcommand)]
pub enum SentinelCommand {
    /// Connect the tenant's Sentinel workspace (again: keeps the first workspace).
    Connect {
        /// The workspace id (a GUID, the Log Analytics `TenantId` column); default: a new one.
        #[arg(long, value_name = "GUID")]
        workspace_id: Option<String>,
    },
    /// Disconnect it: Sentinel tables and columns become unknown in advanced hunting.
    Disconnect,
    /// Show whether a workspace is connected.
    Status,
}

/// Runs `cmd` for `tenant`.
pub async fn sentinel(
    client: &AdminClient,
    tenant: &str,
    out: Format,
    cmd: &SentinelCommand,
) -> Result<()> {
    let path = format!("/admin/{tenant}/sentinel");
    let status = match cmd {
        SentinelCommand::Connect { workspace_id } => {
            let body = match workspace_id {
                Some(w) => json!({ "workspaceId": w }),
                None => json!({}),
            };
            client.put(&path, &body).await?
        }
        SentinelCommand::Disconnect => {
            client.delete(&path).await?;
            client.get(&path).await?
        }
        SentinelCommand::Status => client.get(&path).await?,
    };
    let row = |s: &Value| {
        vec![
            field(s, "/tenantId"),
            field(s, "/connected"),
            field(s, "/workspaceId"),
            field(s, "/connectedDateTime"),
        ]
    };
    emit(
        out,
        &status,
        &["TENANT ID", "CONNECTED", "WORKSPACE ID", "CONNECTED AT"],
        vec![row(&status)],
    );
    Ok(())
}
