//! Advanced hunting in the server and the CLI: the `palisade-hunting` engine behind the
//! Defender API's `HuntingService`, and `palisade hunt | seed | ingest`.

use anyhow::{Context, Result};
use palisade_defender::{
    DemoEstate, HuntScope, HuntingColumn, HuntingFailure, HuntingFuture, HuntingOutput,
    HuntingService,
};
use palisade_hunting::{
    DeviceScope, Estate, EstateDevice, EstateFile, EstateUser, EventStore, HuntError, HuntingEngine,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// The event store's folder inside the data directory.
pub fn events_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("events")
}

/// Opens the engine over `<data_dir>/events`.
pub fn engine(data_dir: &Path) -> Result<Arc<HuntingEngine>> {
    let store = EventStore::open(events_dir(data_dir)).context("opening the event store")?;
    Ok(Arc::new(HuntingEngine::new(Arc::new(store))))
}

/// `time` → `chrono` for the engine.
pub fn chrono_time(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

/// The engine as the resource server's hunting service.
pub struct EngineService(pub Arc<HuntingEngine>);

/// Process CPU time (user, kernel) in seconds, from `/proc/self/stat` (Linux; zero elsewhere).
fn process_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    // After the command name: state is field 0, utime field 11, stime field 12.
    (ticks(11), ticks(12))
}

/// A .NET TimeSpan string `hh:mm:ss.fffffff`.
fn timespan(secs: f64) -> String {
    let ticks = (secs.max(0.0) * 10_000_000.0).round() as u64;
    let (s, frac) = (ticks / 10_000_000, ticks % 10_000_000);
    format!(
        "{:02}:{:02}:{:02}.{frac:07}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

fn failure(e: HuntError) -> HuntingFailure {
    match e {
        HuntError::Syntax { line, column, message } => {
            HuntingFailure::BadRequest(format!("Syntax error at line {line}, column {column}: {message}"))
        }
        HuntError::Semantic { line, column, message } => {
            HuntingFailure::BadRequest(format!("Semantic error at line {line}, column {column}: {message}"))
        }
        HuntError::Unsupported { name } => {
            HuntingFailure::BadRequest(format!("'{name}' is not supported by this advanced hunting service."))
        }
        HuntError::Timeout(d) => HuntingFailure::Timeout(format!(
            "Query execution has exceeded the allowed time limit of {} seconds. Optimize your query and try again.",
            d.as_secs()
        )),
        HuntError::TooLarge(m) => HuntingFailure::TooLarge(format!(
            "Query execution has exceeded the allowed resources ({m}). Optimize your query by limiting the number of results and try again."
        )),
        HuntError::InvalidTenant => HuntingFailure::BadRequest("Invalid tenant.".into()),
        HuntError::Internal(m) => HuntingFailure::Internal(m),
    }
}

impl HuntingService for EngineService {
    fn run<'a>(
        &'a self,
        scope: &'a HuntScope,
        query: &'a str,
        now: OffsetDateTime,
    ) -> HuntingFuture<'a> {
        Box::pin(async move {
            let (u0, k0) = process_cpu();
            let devices = match &scope.devices {
                None => DeviceScope::All,
                Some(set) => DeviceScope::Only {
                    ids: set.ids.clone(),
                    names: set.names.clone(),
                },
            };
            let result = self
                .0
                .run_scoped(&scope.tenant_id, &devices, query, chrono_time(now))
                .await
                .map_err(failure)?;
            let (u1, k1) = process_cpu();
            let (user, kernel) = ((u1 - u0).max(0.0), (k1 - k0).max(0.0));
            let size: usize = result
                .rows
                .iter()
                .map(|r| serde_json::to_string(r).map(|s| s.len()).unwrap_or(0))
                .sum();
            // Stats in the documented shape. CPU is process-wide CPU time over the query's
            // run (it includes concurrent work); there is no cache layer, so cache counters
            // are zero.
            let stats = json!({
                "ExecutionTime": result.stats.execution_time_secs,
                "resource_usage": {
                    "cache": {"memory": {"hits": 0, "misses": 0, "total": 0}, "disk": {"hits": 0, "misses": 0, "total": 0}},
                    "cpu": {"user": timespan(user), "kernel": timespan(kernel), "total cpu": timespan(user + kernel)},
                    "memory": {"peak_per_node": result.stats.peak_memory_bytes}
                },
                "dataset_statistics": [{"table_row_count": result.rows.len(), "table_size": size}]
            });
            Ok(HuntingOutput {
                stats,
                schema: result
                    .columns
                    .into_iter()
                    .map(|(name, type_name)| HuntingColumn { name, type_name })
                    .collect(),
                results: result.rows,
            })
        })
    }
}

/// The hunting seeder's estate for a tenant: the demo incidents' devices, users, files,
/// IPs and URLs, filled up with the generator's sample estate.
pub fn estate_for(tenant_id: &str, domain: &str) -> Estate {
    let demo = DemoEstate::for_tenant(tenant_id, domain);
    let mut estate = Estate::sample(u64::from_le_bytes(*b"palisade") ^ tenant_id.len() as u64);
    estate.devices = demo
        .devices
        .iter()
        .map(|d| EstateDevice {
            name: d.dns_name.clone(),
            device_id: d.mdatp_device_id.clone(),
            os_platform: d.os_platform.clone(),
            ip: d.ip_address.clone(),
        })
        .collect();
    estate.users = demo
        .users
        .iter()
        .map(|u| EstateUser {
            account_name: u.account_name.clone(),
            domain: u.domain_name.clone(),
            upn: u.user_principal_name.clone(),
            sid: u.sid.clone(),
            object_id: u.aad_user_id.clone(),
        })
        .collect();
    for f in &demo.files {
        let folder = f
            .path
            .rsplit_once('\\')
            .map(|(dir, _)| dir.to_string())
            .unwrap_or_else(|| f.path.clone());
        // The demo incidents carry SHA-1 and SHA-256 only; the MD5 column gets a stable
        // 32-hex value derived from the SHA-256.
        estate.files.push(EstateFile {
            name: f.name.clone(),
            sha1: f.sha1.clone(),
            sha256: f.sha256.clone(),
            md5: f.sha256.chars().take(32).collect(),
            folder,
        });
    }
    estate.urls.extend(demo.urls.iter().cloned());
    estate.remote_ips.extend(demo.external_ips.iter().cloned());
    estate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_are_dotnet_shaped() {
        assert_eq!(timespan(19.046875), "00:00:19.0468750");
        assert_eq!(timespan(3661.5), "01:01:01.5000000");
    }

    #[test]
    fn the_demo_estate_is_in_the_seed_estate() {
        let e = estate_for(
            "0a0a0a0a-1111-4111-8111-aaaaaaaaaaaa",
            "contoso.onmicrosoft.com",
        );
        let demo = DemoEstate::for_tenant(
            "0a0a0a0a-1111-4111-8111-aaaaaaaaaaaa",
            "contoso.onmicrosoft.com",
        );
        assert!(demo
            .devices
            .iter()
            .all(|d| e.devices.iter().any(|x| x.device_id == d.mdatp_device_id)));
        assert!(demo
            .files
            .iter()
            .all(|f| e.files.iter().any(|x| x.sha256 == f.sha256)));
        assert!(demo.external_ips.iter().all(|ip| e.remote_ips.contains(ip)));
    }
}
