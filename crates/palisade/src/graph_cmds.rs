//! The client commands over the Microsoft Graph security API: `incidents … --api graph`,
//! `hunt --api graph`, and `alerts list|get|update` (alerts exist only on Graph). Values
//! are Graph's (camelCase enums, string ids, Graph `$filter` names).

use crate::incident_args::{IncidentFormat, IncidentsCommand};
use crate::output::{csv, table};
use crate::settings::Settings;
use anyhow::{bail, Result};
use clap::Subcommand;
use palisade_client::{
    GraphListQuery, SecurityAlert, SecurityAlertUpdate, SecurityIncident, SecurityIncidentUpdate,
};
use serde_json::Value;

/// `palisade alerts …` (Microsoft Graph `alerts_v2`).
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts.
    List {
        /// OData $filter, e.g. "severity eq 'high' and status ne 'resolved'".
        #[arg(long)]
        filter: Option<String>,
        /// Page size (≤ 1000); without --all, the number of alerts.
        #[arg(long, default_value_t = 50)]
        top: u32,
        /// Follow every page.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
    },
    /// Show one alert (with its evidence in JSON output).
    Get {
        /// Alert id.
        id: String,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
    },
    /// Update an alert.
    Update {
        /// Alert id.
        id: String,
        /// new, inProgress or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Owner (empty string to unassign).
        #[arg(long)]
        assigned_to: Option<String>,
        /// truePositive, falsePositive, informationalExpectedActivity, unknown.
        #[arg(long)]
        classification: Option<String>,
        /// e.g. malware, multiStagedAttack, notMalicious.
        #[arg(long)]
        determination: Option<String>,
        /// Comment to add.
        #[arg(long)]
        comment: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = IncidentFormat::Table)]
        output: IncidentFormat,
    },
}

const INCIDENT_HEADERS: [&str; 8] = [
    "ID",
    "NAME",
    "SEVERITY",
    "STATUS",
    "CLASSIFICATION",
    "ASSIGNED TO",
    "LAST UPDATE",
    "ALERTS",
];

fn incident_row(i: &SecurityIncident) -> Vec<String> {
    vec![
        i.id.clone(),
        i.display_name.clone().unwrap_or_default(),
        i.severity.clone(),
        i.status.clone(),
        i.classification.clone().unwrap_or_default(),
        i.assigned_to.clone().unwrap_or_default(),
        i.last_update_date_time.clone(),
        if i.alerts.is_empty() {
            String::new()
        } else {
            i.alerts.len().to_string()
        },
    ]
}

const ALERT_HEADERS: [&str; 8] = [
    "ID", "INCIDENT", "TITLE", "SEVERITY", "STATUS", "SOURCE", "CREATED", "EVIDENCE",
];

fn alert_row(a: &SecurityAlert) -> Vec<String> {
    vec![
        a.id.clone(),
        a.incident_id.clone().unwrap_or_default(),
        a.title.clone().unwrap_or_default(),
        a.severity.clone(),
        a.status.clone(),
        a.service_source.clone().unwrap_or_default(),
        a.created_date_time.clone().unwrap_or_default(),
        a.evidence.len().to_string(),
    ]
}

fn print<T: serde::Serialize>(
    format: IncidentFormat,
    headers: &[&str],
    items: &[T],
    row: fn(&T) -> Vec<String>,
) -> Result<()> {
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    match format {
        IncidentFormat::Json => println!("{}", serde_json::to_string_pretty(items)?),
        IncidentFormat::Table => println!("{}", table(headers, &rows)),
        IncidentFormat::Csv => print!("{}", csv(headers, &rows)),
    }
    Ok(())
}

fn list_query(filter: Option<String>, top: u32, all: bool) -> Result<GraphListQuery> {
    if top == 0 || top > 1000 {
        bail!("--top must be between 1 and 1000");
    }
    Ok(GraphListQuery {
        filter,
        top: Some(top),
        limit: (!all).then_some(u64::from(top)),
        ..GraphListQuery::default()
    })
}

/// `palisade incidents … --api graph`.
pub async fn incidents(settings: &Settings, command: IncidentsCommand) -> Result<()> {
    let client = settings.graph()?;
    match command {
        IncidentsCommand::List {
            filter,
            top,
            all,
            output,
            ..
        } => {
            let incidents = client
                .list_all_incidents(&list_query(filter, top, all)?)
                .await?;
            print(output, &INCIDENT_HEADERS, &incidents, incident_row)
        }
        IncidentsCommand::Get { id, output } => {
            let incident = client.get_incident(&id, true).await?;
            print(output, &INCIDENT_HEADERS, &[incident], incident_row)
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
            let update = SecurityIncidentUpdate {
                status,
                assigned_to,
                classification,
                determination,
                custom_tags: (!tags.is_empty()).then_some(tags),
                ..SecurityIncidentUpdate::default()
            };
            let mut incident = if update == SecurityIncidentUpdate::default() {
                client.get_incident(&id, false).await?
            } else {
                client.update_incident(&id, &update).await?
            };
            if let Some(c) = comment {
                incident.comments = client.add_incident_comment(&id, &c).await?;
            }
            print(output, &INCIDENT_HEADERS, &[incident], incident_row)
        }
    }
}

/// `palisade alerts …`.
pub async fn alerts(settings: &Settings, command: AlertsCommand) -> Result<()> {
    let client = settings.graph()?;
    match command {
        AlertsCommand::List {
            filter,
            top,
            all,
            output,
        } => {
            let alerts = client
                .list_all_alerts(&list_query(filter, top, all)?)
                .await?;
            print(output, &ALERT_HEADERS, &alerts, alert_row)
        }
        AlertsCommand::Get { id, output } => {
            let alert = client.get_alert(&id).await?;
            print(output, &ALERT_HEADERS, &[alert], alert_row)
        }
        AlertsCommand::Update {
            id,
            status,
            assigned_to,
            classification,
            determination,
            comment,
            output,
        } => {
            let update = SecurityAlertUpdate {
                status,
                assigned_to,
                classification,
                determination,
            };
            let mut alert = if update == SecurityAlertUpdate::default() {
                client.get_alert(&id).await?
            } else {
                client.update_alert(&id, &update).await?
            };
            if let Some(c) = comment {
                alert.comments = client.add_alert_comment(&id, &c).await?;
            }
            print(output, &ALERT_HEADERS, &[alert], alert_row)
        }
    }
}

/// `palisade hunt --api graph`: `runHuntingQuery`, printed like the Defender API's.
pub async fn hunt(settings: &Settings, query: &str, output: IncidentFormat) -> Result<()> {
    let response = settings.graph()?.run_hunting_query(query, None).await?;
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
        IncidentFormat::Json => println!("{}", serde_json::to_string_pretty(&response)?),
        IncidentFormat::Table => {
            println!("{}", table(&headers, &rows));
            eprintln!("{} rows", rows.len());
        }
        IncidentFormat::Csv => print!("{}", csv(&headers, &rows)),
    }
    Ok(())
}
