//! Partner fan-out wall time: listing every incident in 50 customer tenants at once
//! (`PartnerClients`, a token per tenant) next to the same listing in one tenant, in one
//! run against an in-process server (HTTPS, SQLite, quotas off so repeated runs measure
//! work, not throttling).
//!
//! Each customer tenant holds 25 demo incidents and has consented to the partner app.
//! Every run builds fresh clients, so each tenant's token request is part of its time.
//! The one-tenant run and that tenant's entry in every 50-tenant run must list the same
//! incidents (ids and last-update times compared value for value), and every tenant must
//! list exactly its own 25, or the bench fails instead of printing a ratio.
//!
//! `cargo run --release -p palisade --example fanout_bench [-- RUNS]` (default 5 runs;
//! the dev profile works too, with its own numbers).

use anyhow::{bail, Context, Result};
use palisade::server::{self, ServerConfig};
use palisade_client::{
    ClientSecretCredential, DefenderClient, HttpConfig, IncidentQuery, PartnerClients,
    TokenEndpointVersion,
};
use palisade_clock::{SharedClock, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANTS: usize = 50;
const INCIDENTS: usize = 25;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let clock: SharedClock = Arc::new(SystemClock);
    let running = server::start(
        ServerConfig {
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:0".parse()?,
            plain_http: false,
            hostnames: vec![],
            quotas: palisade_defender::QuotaConfig::disabled(),
            kek: Default::default(),
            geoip: None,
        },
        clock.clone(),
    )
    .await?;
    let directory = &running.directory;
    let partner = directory.create_tenant("Bench Partner", None, None).await?;
    let app = directory
        .create_application(
            &partner.id,
            palisade_directory::NewApplication {
                display_name: "Bench partner app".into(),
                sign_in_audience: palisade_directory::SignInAudience::AzureADMultipleOrgs,
                is_public_client: false,
                identifier_uris: vec![],
                definition: Default::default(),
            },
        )
        .await?;
    directory
        .grant_permissions(
            &partner.id,
            &app.app_id,
            palisade_directory::MTP_APP_ID,
            &["Incident.Read.All".into()],
        )
        .await?;
    let (_, secret) = directory
        .add_password(&partner.id, &app.app_id, None, None, None)
        .await?;
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        let t = directory
            .create_tenant(&format!("Bench Customer {i:02}"), None, None)
            .await?;
        directory.grant_admin_consent(&t.id, &app.app_id).await?;
        palisade_defender::seed_demo_incidents(&running.store, &t.id, &clock, INCIDENTS).await?;
        tenants.push(t.id);
    }
    let ca = std::fs::read(running.ca_path.as_ref().context("https")?)?;
    let http = HttpConfig::new().add_root_certificate_pem(&ca)?.build()?;
    let base = running.base_url.clone();
    let clients = |ts: &[String], concurrency: usize| -> Result<PartnerClients> {
        Ok(PartnerClients::new(ts.iter().cloned(), |t| {
            let cred = ClientSecretCredential::builder(t, &app.app_id, &secret)
                .authority_host(base.clone())
                .endpoint_version(TokenEndpointVersion::V2)
                .http_client(http.clone())
                .build()?;
            DefenderClient::builder(cred)
                .api_base(base.clone())
                .http_client(http.clone())
                .build()
        })?
        .concurrency(concurrency))
    };
    let fingerprint = |list: &[palisade_client::Incident]| -> Vec<(i64, String)> {
        let mut v: Vec<(i64, String)> = list
            .iter()
            .map(|i| (i.incident_id, i.last_update_time.to_string()))
            .collect();
        v.sort();
        v
    };

    let one = &tenants[..1];
    let mut single = Vec::new();
    let mut reference = None;
    let mut fan: Vec<(usize, Vec<Duration>)> = vec![(8, Vec::new()), (16, Vec::new())];
    // One warm-up of each, then alternate the sides run by run.
    for round in 0..=runs {
        let c = clients(one, 1)?;
        let started = Instant::now();
        let out = c.list_all_incidents(IncidentQuery::new()).await;
        let took = started.elapsed();
        let list = out[0].result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        if list.len() != INCIDENTS {
            bail!(
                "the single tenant listed {} incidents, not {INCIDENTS}",
                list.len()
            );
        }
        let fp = fingerprint(list);
        if reference.get_or_insert_with(|| fp.clone()) != &fp {
            bail!("the single-tenant listing changed between runs");
        }
        if round > 0 {
            single.push(took);
        }
        for (concurrency, times) in fan.iter_mut() {
            let c = clients(&tenants, *concurrency)?;
            let started = Instant::now();
            let out = c.list_all_incidents(IncidentQuery::new()).await;
            let took = started.elapsed();
            for (o, t) in out.iter().zip(&tenants) {
                if &o.tenant_id != t {
                    bail!("results out of order");
                }
                let list = o.result.as_ref().map_err(|e| anyhow::anyhow!("{t}: {e}"))?;
                if list.len() != INCIDENTS {
                    bail!("tenant {t} listed {} incidents", list.len());
                }
            }
            let first = out[0].result.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            if Some(&fingerprint(first)) != reference.as_ref() {
                bail!("the fan-out's first tenant disagrees with the single-tenant listing");
            }
            if round > 0 {
                times.push(took);
            }
        }
    }
    let one_t = median(single);
    println!("fan-out, {TENANTS} tenants x {INCIDENTS} incidents, median of {runs} runs (fresh clients and tokens each run):");
    println!(
        "  1 tenant:                {:>8.1} ms",
        one_t.as_secs_f64() * 1e3
    );
    for (concurrency, times) in fan {
        let t = median(times);
        println!(
            "  {TENANTS} tenants, {concurrency:>2} at a time: {:>8.1} ms  = {:.1}x one tenant ({:.2} ms per tenant)",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / one_t.as_secs_f64(),
            t.as_secs_f64() * 1e3 / TENANTS as f64
        );
    }
    running.shutdown();
    Ok(())
}
