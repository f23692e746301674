//! The incident commands' arguments, output format and table rows, shared by the three
//! paths that answer them: the Defender API (`client_cmds.rs`), Microsoft Graph
//! (`graph_cmds.rs`) and the partner fan-out (`partner_cmds.rs`). A leaf: it imports none
//! of them, so they need not import each other.

use clap::{Subcommand, ValueEnum};
use palisade_client::Incident;

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
