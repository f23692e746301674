//! The partner commands: `palisade partner consent-link`, and the fan-out of
//! `palisade incidents list --tenants …` and `palisade hunt --tenants …` (a token per
//! customer tenant, the results with a tenant column, and each tenant's error reported
//! without failing the others).

use crate::incident_args::{incident_row, IncidentFormat, INCIDENT_HEADERS};
use crate::output::{csv, table};
use crate::settings::{ClientArgs, Settings};
use anyhow::{bail, Result};
use clap::Subcommand;
use palisade_client::{IncidentQuery, TenantOutcome};
use serde_json::{json, Value};

/// `palisade partner …`.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Print the link a customer's administrator opens to consent to a multi-tenant app
    /// (the Defender partner form's `prompt=consent` link).
    ConsentLink {
        /// The app's client id.
        app: String,
        /// A customer tenant (id or domain) to address the link to; default `common`.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Runs `palisade partner …`.
pub async fn partner(command: PartnerCommand) -> Result<()> {
    match command {
        PartnerCommand::ConsentLink {
            app,
            tenant,
            client,
        } => {
            if uuid::Uuid::parse_str(&app).is_err() {
                bail!("APP must be the application (client) id, a GUID");
            }
            let settings = client.resolve()?;
            println!(
                "{}",
                crate::demo_partner::consent_link(&settings.authority, &app, tenant.as_deref())
            );
            Ok(())
        }
    }
}

fn report_errors<T>(outcomes: &[TenantOutcome<T>]) -> usize {
    let mut failed = 0;
    for o in outcomes {
        if let Err(e) = &o.result {
            eprintln!("tenant {}: {e}", o.tenant_id);
            failed += 1;
        }
    }
    failed
}

fn finish(failed: usize, total: usize) -> Result<()> {
    if failed == total && total > 0 {
        bail!("every tenant failed");
    }
    if failed > 0 {
        eprintln!("{failed} of {total} tenants failed (their errors are above)");
    }
    Ok(())
}

/// `palisade incidents list --tenants …`.
pub async fn list(
    settings: &Settings,
    tenants: &[String],
    query: IncidentQuery,
    output: IncidentFormat,
) -> Result<()> {
    let clients = settings.partner_clients(tenants)?;
    let outcomes = clients.list_all_incidents(query).await;
    let failed = report_errors(&outcomes);
    match output {
        IncidentFormat::Json => {
            let v: Vec<Value> = outcomes
                .iter()
                .map(|o| match &o.result {
                    Ok(list) => json!({"tenantId": o.tenant_id, "value": list}),
                    Err(e) => json!({"tenantId": o.tenant_id, "error": e.to_string()}),
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        IncidentFormat::Table | IncidentFormat::Csv => {
            let mut headers = vec!["TENANT"];
            headers.extend(INCIDENT_HEADERS);
            let mut rows = Vec::new();
            for o in &outcomes {
                for i in o.result.as_ref().map(Vec::as_slice).unwrap_or_default() {
                    let mut row = vec![o.tenant_id.clone()];
                    row.extend(incident_row(i));
                    rows.push(row);
                }
            }
            if output == IncidentFormat::Table {
                println!("{}", table(&headers, &rows));
            } else {
                print!("{}", csv(&headers, &rows));
            }
        }
    }
    finish(failed, outcomes.len())
}

/// `palisade hunt --tenants …`.
pub async fn hunt(
    settings: &Settings,
    tenants: &[String],
    query: &str,
    output: IncidentFormat,
) -> Result<()> {
    let clients = settings.partner_clients(tenants)?;
    let outcomes = clients.hunt(query).await;
    let failed = report_errors(&outcomes);
    let cell = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match output {
        IncidentFormat::Json => {
            let v: Vec<Value> = outcomes
                .iter()
                .map(|o| match &o.result {
                    Ok(r) => json!({"tenantId": o.tenant_id, "Stats": r.stats,
                        "Schema": r.schema.iter().map(|c| json!({"Name": c.name, "Type": c.r#type})).collect::<Vec<_>>(),
                        "Results": r.results}),
                    Err(e) => json!({"tenantId": o.tenant_id, "error": e.to_string()}),
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        IncidentFormat::Table | IncidentFormat::Csv => {
            let schema: Vec<String> = outcomes
                .iter()
                .find_map(|o| o.result.as_ref().ok())
                .map(|r| r.schema.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let mut headers = vec!["TENANT"];
            headers.extend(schema.iter().map(String::as_str));
            let mut rows = Vec::new();
            for o in &outcomes {
                if let Ok(r) = &o.result {
                    for row in &r.results {
                        let mut line = vec![o.tenant_id.clone()];
                        line.extend(schema.iter().map(|c| cell(row.get(c))));
                        rows.push(line);
                    }
                }
            }
            if output == IncidentFormat::Table {
                println!("{}", table(&headers, &rows));
                eprintln!("{} rows", rows.len());
            } else {
                print!("{}", csv(&headers, &rows));
            }
        }
    }
    finish(failed, outcomes.len())
}
