//! The client-side commands: `palisade hello`, `token get|inspect`, `incidents …`.
//!
//! They use the SDK (`palisade-client`) and work against Palisade or the real Microsoft
//! cloud alike; where they connect and as whom is [`crate::settings`]' job.

use crate::incident_args::{incident_row, IncidentFormat, IncidentsCommand, INCIDENT_HEADERS};
use crate::output::{csv, table};
use crate::settings::{ClientArgs, Settings};
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Subcommand;
use futures::StreamExt;
use palisade_client::{
    Classification, Determination, Incident, IncidentFilter, IncidentQuery, IncidentStatus,
    IncidentUpdate,
};
use serde_json::Value;
use std::path::PathBuf;
use time::OffsetDateTime;

/// The Defender API resource (v1 `resource=`; v2 scope `…/.default`).
pub const DEFENDER_RESOURCE: &str = "https://api.security.microsoft.com";

/// `palisade token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print an app-context access token for the Defender API.
    Get {
        /// Resource to request (default: the Defender API).
        #[arg(long, default_value = DEFENDER_RESOURCE)]
        resource: String,
    },
    /// Decode a token, verify it against its issuer's published keys, and say what it allows.
    Inspect {
        /// The token (default: read from standard input).
        token: Option<String>,
    },
}

fn print_incidents(format: IncidentFormat, incidents: &[Incident]) -> Result<()> {
    match format {
        IncidentFormat::Json => println!("{}", serde_json::to_string_pretty(incidents)?),
        IncidentFormat::Table => println!(
            "{}",
            table(
                &INCIDENT_HEADERS,
                &incidents.iter().map(incident_row).collect::<Vec<_>>()
            )
        ),
        IncidentFormat::Csv => print!(
            "{}",
            csv(
                &INCIDENT_HEADERS,
                &incidents.iter().map(incident_row).collect::<Vec<_>>()
            )
        ),
    }
    Ok(())
}

fn incident_query(filter: Option<String>, top: u32, all: bool) -> Result<IncidentQuery> {
    if top == 0 || top > 100 {
        bail!("--top must be between 1 and 100 (the API's maximum page size)");
    }
    let mut query = IncidentQuery::new().page_size(top);
    if let Some(f) = filter {
        query = query.filter(IncidentFilter::raw(f));
    }
    if !all {
        query = query.limit(u64::from(top));
    }
    Ok(query)
}

/// `palisade incidents …`.
pub async fn incidents(args: &ClientArgs, command: IncidentsCommand) -> Result<()> {
    let settings = args.resolve()?;
    if let IncidentsCommand::List {
        filter,
        top,
        all,
        output,
        tenants,
    } = &command
    {
        if !tenants.is_empty() {
            let query = incident_query(filter.clone(), *top, *all)?;
            return crate::partner_cmds::list(&settings, tenants, query, *output).await;
        }
    }
    if settings.use_graph {
        return crate::graph_cmds::incidents(&settings, command).await;
    }
    let client = settings.defender()?;
    let numeric = |id: &str| -> Result<i64> {
        id.parse()
            .map_err(|_| anyhow!("the incident id must be a number, not '{id}'"))
    };
    match command {
        IncidentsCommand::List {
            filter,
            top,
            all,
            output,
            ..
        } => {
            let query = incident_query(filter, top, all)?;
            let incidents = client.list_all_incidents(query).await?;
            print_incidents(output, &incidents)
        }
        IncidentsCommand::Get { id, output } => {
            let incident = client.get_incident(numeric(&id)?).await?;
            print_incidents(output, std::slice::from_ref(&incident))
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
            let mut update = IncidentUpdate::new();
            if let Some(s) = status {
                update = update.status(IncidentStatus::parse(&s));
            }
            if let Some(a) = assigned_to {
                update = update.assigned_to(a);
            }
            if let Some(c) = classification {
                update = update.classification(Classification::parse(&c));
            }
            if let Some(d) = determination {
                update = update.determination(Determination::parse(&d));
            }
            if !tags.is_empty() {
                update = update.tags(tags);
            }
            if let Some(c) = comment {
                update = update.comment(c);
            }
            let incident = client.update_incident(numeric(&id)?, &update).await?;
            print_incidents(output, std::slice::from_ref(&incident))
        }
    }
}

/// `palisade hello`: the docs' Hello World in one command. Gets an app-context token
/// (saved as `Latest-token.txt`), lists the incidents updated in the last `hours` hours,
/// saves them as `Latest Incidents <time>.json` like the docs' script, and prints a table.
pub async fn hello(args: &ClientArgs, hours: i64, out_dir: &std::path::Path) -> Result<()> {
    let settings = args.resolve()?;
    let credential = settings.credential()?;
    let token = credential.get_token(DEFENDER_RESOURCE).await?;
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("Latest-token.txt"),
        format!("{}\n", token.token),
    )?;
    let since = OffsetDateTime::now_utc() - time::Duration::hours(hours);
    let client = settings.defender()?;
    let mut stream = client
        .list_incidents(IncidentQuery::new().filter(IncidentFilter::last_update_time_ge(since)));
    let mut incidents = Vec::new();
    while let Some(i) = stream.next().await {
        incidents.push(i?);
    }
    let stamp = crate::output::iso(OffsetDateTime::now_utc()).replace(':', ".");
    let path = out_dir.join(format!("Latest Incidents {stamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&incidents)?)?;
    println!(
        "{}",
        table(
            &INCIDENT_HEADERS,
            &incidents.iter().map(incident_row).collect::<Vec<_>>()
        )
    );
    println!(
        "\n{} incidents updated in the last {hours} hours; saved to {}",
        incidents.len(),
        path.display()
    );
    Ok(())
}

/// `palisade token …`.
pub async fn token(args: &ClientArgs, command: TokenCommand) -> Result<()> {
    let settings = args.resolve()?;
    match command {
        TokenCommand::Get { resource } => {
            let token = settings.credential()?.get_token(&resource).await?;
            println!("{}", token.token);
            Ok(())
        }
        TokenCommand::Inspect { token } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                    s
                }
            };
            let report = inspect(&settings, token.trim()).await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// Defender operations and the permissions that allow them (spec §3).
const OPERATIONS: [(&str, &[&str], &[&str]); 4] = [
    (
        "List incidents",
        &["Incident.Read.All", "Incident.ReadWrite.All"],
        &["Incident.Read", "Incident.ReadWrite"],
    ),
    (
        "Get incident",
        &["Incident.Read.All", "Incident.ReadWrite.All"],
        &["Incident.Read", "Incident.ReadWrite"],
    ),
    (
        "Update incident",
        &["Incident.ReadWrite.All"],
        &["Incident.ReadWrite"],
    ),
    (
        "Run advanced hunting",
        &["AdvancedHunting.Read.All"],
        &["AdvancedHunting.Read"],
    ),
];

fn part(token: &str, i: usize) -> Result<Value> {
    let p = token
        .split('.')
        .nth(i)
        .ok_or_else(|| anyhow!("not a JWT: expected three dot-separated parts"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .context("not a JWT: bad base64url")?;
    serde_json::from_slice(&bytes).context("not a JWT: the part is not JSON")
}

/// Decodes, verifies (against `{authority}/{tid}/discovery/keys`) and explains a token.
pub async fn inspect(settings: &Settings, token: &str) -> Result<String> {
    let header = part(token, 0)?;
    let claims = part(token, 1)?;
    let tid = claims["tid"].as_str().unwrap_or("");
    let mut out = Vec::new();
    let line = |k: &str, v: String| format!("{k:<14}{v}");
    out.push(line(
        "Algorithm",
        format!(
            "{} (kid {})",
            header["alg"].as_str().unwrap_or("?"),
            header["kid"].as_str().unwrap_or("?")
        ),
    ));
    out.push(line(
        "Issuer",
        claims["iss"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line(
        "Audience",
        claims["aud"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line("Tenant", tid.to_string()));
    out.push(line(
        "Version",
        claims["ver"].as_str().unwrap_or("").to_string(),
    ));
    out.push(line(
        "Client",
        claims["appid"]
            .as_str()
            .or(claims["azp"].as_str())
            .unwrap_or("")
            .to_string(),
    ));
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let expiry = OffsetDateTime::from_unix_timestamp(exp)
        .map(crate::output::iso)
        .unwrap_or_default();
    out.push(line(
        "Expires",
        if exp > now {
            format!("{expiry} (in {} min)", (exp - now) / 60)
        } else {
            format!("{expiry} (EXPIRED)")
        },
    ));
    let roles: Vec<String> = claims["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let scopes: Vec<String> = claims["scp"]
        .as_str()
        .map(|s| s.split(' ').map(String::from).collect())
        .unwrap_or_default();
    let delegated = claims.get("scp").is_some();
    out.push(line(
        "Context",
        if delegated {
            "user (delegated)".into()
        } else {
            "application".into()
        },
    ));
    out.push(line(
        "roles",
        if roles.is_empty() {
            "(none)".into()
        } else {
            roles.join(" ")
        },
    ));
    if delegated {
        out.push(line("scp", scopes.join(" ")));
    }

    // Signature against the issuer's published keys.
    let verdict = match verify(settings, token, &header, tid).await {
        Ok(()) => "valid (RS256, key published by the issuer)".to_string(),
        Err(e) => format!("NOT VERIFIED: {e:#}"),
    };
    out.push(line("Signature", verdict));

    out.push(String::new());
    out.push("Defender API operations:".into());
    let held: &[String] = if delegated { &scopes } else { &roles };
    for (op, app, user) in OPERATIONS {
        let needed = if delegated { user } else { app };
        let ok = needed.iter().any(|p| held.iter().any(|h| h == p));
        out.push(if ok {
            format!("  allowed  {op}")
        } else {
            format!("  denied   {op}: needs {}", needed.join(" or "))
        });
    }
    Ok(out.join("\n"))
}

async fn verify(settings: &Settings, token: &str, header: &Value, tid: &str) -> Result<()> {
    if header["alg"] != "RS256" {
        bail!("algorithm {} is not RS256", header["alg"]);
    }
    let kid = header["kid"]
        .as_str()
        .ok_or_else(|| anyhow!("no kid in the header"))?;
    if uuid::Uuid::parse_str(tid).is_err() {
        bail!("tid is not a GUID");
    }
    let url = format!(
        "{}/{tid}/discovery/keys",
        settings.authority.trim_end_matches('/')
    );
    let jwks: jsonwebtoken::jwk::JwkSet = settings
        .http()?
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let jwk = jwks
        .find(kid)
        .ok_or_else(|| anyhow!("key {kid} is not published at {url}"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)?;
    Ok(())
}

/// `palisade hunt --functions`: the Kusto reference's functions and Palisade's coverage of
/// them, straight from the function registry (the same list as `docs/kql-functions.md`).
pub fn hunt_functions(output: IncidentFormat) -> Result<()> {
    use palisade_kql::functions as f;
    match output {
        IncidentFormat::Table => print!("{}", f::render_text()),
        IncidentFormat::Json => println!("{}", serde_json::to_string_pretty(&f::render_json())?),
        IncidentFormat::Csv => {
            let headers = ["Family", "Name", "Kind", "Status"];
            let rows: Vec<Vec<String>> = f::coverage()
                .iter()
                .map(|c| {
                    vec![
                        c.function.family.to_string(),
                        c.function.name.to_string(),
                        c.function.kind.label().to_string(),
                        c.status.label().to_string(),
                    ]
                })
                .collect();
            print!("{}", csv(&headers, &rows));
        }
    }
    Ok(())
}

/// `palisade hunt`: runs a KQL query through `POST /api/advancedhunting/run`, or with
/// `--explain` prints the parsed and planned query (locally, no call).
pub async fn hunt(
    args: &ClientArgs,
    query: Option<String>,
    file: Option<PathBuf>,
    output: IncidentFormat,
    explain: bool,
    data_dir: &std::path::Path,
    tenants: &[String],
) -> Result<()> {
    let query = match (query, file) {
        (Some(q), None) => q,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        }
        (Some(_), Some(_)) => bail!("give the query either as an argument or with -f, not both"),
        (None, None) => bail!("no query: palisade hunt 'DeviceInfo | take 10' or -f FILE"),
    };
    if explain {
        let engine = crate::hunting::engine(data_dir)?;
        let tenant = args
            .resolve()?
            .tenant_id
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let tenant = if uuid::Uuid::parse_str(&tenant).is_ok() {
            tenant
        } else {
            "00000000-0000-0000-0000-000000000000".into()
        };
        let plan = engine
            .explain(
                &tenant,
                &query,
                crate::hunting::chrono_time(OffsetDateTime::now_utc()),
            )
            .map_err(|e| anyhow!("{e}"))?;
        println!("{plan}");
        return Ok(());
    }
    let settings = args.resolve()?;
    if !tenants.is_empty() {
        return crate::partner_cmds::hunt(&settings, tenants, &query, output).await;
    }
    if settings.use_graph {
        return crate::graph_cmds::hunt(&settings, &query, output).await;
    }
    let response = settings.defender()?.hunt(&query).await?;
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
        IncidentFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "Stats": response.stats,
                "Schema": response.schema.iter().map(|c| serde_json::json!({"Name": c.name, "Type": c.r#type})).collect::<Vec<_>>(),
                "Results": response.results,
            }))?
        ),
        IncidentFormat::Table => {
            println!("{}", table(&headers, &rows));
            eprintln!("{} rows", rows.len());
        }
        IncidentFormat::Csv => print!("{}", csv(&headers, &rows)),
    }
    Ok(())
}
