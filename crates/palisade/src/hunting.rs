//! Advanced hunting in the server and the CLI: the `palisade-hunting` engine behind the
//! Defender API's `HuntingService`, and `palisade hunt | seed | ingest`.

use anyhow::{Context, Result};
use palisade_defender::{
    DemoEstate, HuntScope, HuntingColumn, HuntingFailure, HuntingFuture, HuntingOutput,
    HuntingService, HuntingStats, QueryPosition,
};
use palisade_events::{Estate, EstateDevice, EstateFile, EstateUser, EventStore};
use palisade_hunting::{DeviceScope, GeoIpDatabase, HuntError, HuntingEngine};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// The event store's folder inside the data directory.
pub fn events_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("events")
}

/// Opens the engine over `<data_dir>/events`.
pub fn engine(data_dir: &Path) -> Result<Arc<HuntingEngine>> {
    engine_with_geoip(data_dir, None)
}

/// [`engine`] answering `geo_info_from_ip_address` from `geoip`.
pub fn engine_with_geoip(
    data_dir: &Path,
    geoip: Option<Arc<GeoIpDatabase>>,
) -> Result<Arc<HuntingEngine>> {
    let store = EventStore::open(events_dir(data_dir)).context("opening the event store")?;
    Ok(Arc::new(
        HuntingEngine::new(Arc::new(store)).with_geoip(geoip),
    ))
}

/// Opens the operator's GeoIP (MaxMind City) database, `serve --geoip FILE`.
pub fn open_geoip(path: &Path) -> Result<Arc<GeoIpDatabase>> {
    let db = GeoIpDatabase::open(path).context("--geoip")?;
    tracing::info!(path = %path.display(), database_type = db.database_type(), "GeoIP database loaded");
    Ok(Arc::new(db))
}

/// `time` → `chrono` for the engine.
pub fn chrono_time(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

/// The engine as the resource server's hunting service: each query runs in the unified
/// portal when the tenant's Sentinel workspace is connected (read from the store per query,
/// so `admin sentinel connect|disconnect` applies to the next query).
pub struct EngineService {
    /// The engine.
    pub engine: Arc<HuntingEngine>,
    /// Where the tenants' Sentinel connections are.
    pub store: palisade_store::Store,
}

/// The engine's failure as the hunting contract's (a field-for-field move; the API renders it).
fn failure(e: HuntError) -> HuntingFailure {
    let at = |p: palisade_kql::Pos| QueryPosition {
        line: p.line,
        column: p.column,
    };
    match e {
        HuntError::Syntax { pos, message } => HuntingFailure::Syntax {
            position: at(pos),
            message,
        },
        HuntError::Semantic { pos, message } => HuntingFailure::Semantic {
            position: pos.map(at),
            message,
        },
        HuntError::Unsupported { name, pos } => HuntingFailure::Unsupported {
            name,
            position: pos.map(at),
        },
        HuntError::Timeout(limit) => HuntingFailure::Timeout { limit },
        HuntError::TooLarge(detail) => HuntingFailure::TooLarge { detail },
        HuntError::InvalidTenant => HuntingFailure::InvalidTenant,
        HuntError::Internal(m) => HuntingFailure::Internal(m),
    }
}

/// `HuntScope::since` (Graph's `Timespan` start) narrows every table scan's window
/// ([`HuntingEngine::run_within`]); the span's end is the query's `now`.
impl HuntingService for EngineService {
    fn run<'a>(
        &'a self,
        scope: &'a HuntScope,
        query: &'a str,
        now: OffsetDateTime,
    ) -> HuntingFuture<'a> {
        Box::pin(async move {
            let devices = match &scope.devices {
                None => DeviceScope::All,
                Some(set) => DeviceScope::Only {
                    ids: set.ids.clone(),
                    names: set.names.clone(),
                },
            };
            let workspace = self
                .store
                .sentinel_workspace(&scope.tenant_id)
                .await
                .map_err(|e| HuntingFailure::Internal(format!("reading the tenant: {e}")))?;
            let result = self
                .engine
                .run_in_workspace(
                    &scope.tenant_id,
                    workspace.as_ref().map(|w| w.workspace_id.as_str()),
                    &devices,
                    query,
                    scope.since.map(chrono_time),
                    chrono_time(now),
                )
                .await
                .map_err(failure)?;
            let st = result.stats;
            Ok(HuntingOutput {
                stats: HuntingStats {
                    execution_time_secs: st.execution_time_secs,
                    cpu_user_secs: st.cpu_user_secs,
                    cpu_kernel_secs: st.cpu_kernel_secs,
                    peak_memory_bytes: st.peak_memory_bytes,
                    notes: st.notes,
                },
                schema: result
                    .schema
                    .columns
                    .into_iter()
                    .map(|c| HuntingColumn {
                        name: c.name,
                        ty: c.ty,
                    })
                    .collect(),
                results: result.rows,
                visualization: result.visualization,
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
