//! Demo data: a consistent estate of devices, users, files and network indicators per
//! tenant ([`DemoEstate`], reusable by the hunting seeder) and incidents over the past 30
//! days built from it ([`seed_demo_incidents`]).
//!
//! Everything is derived deterministically from the tenant id and the demo index, and
//! every demo incident carries a demo key (`demo-0000`, …), so reseeding inserts only what
//! is missing and never duplicates or touches existing incidents (including user edits).
//!
//! `estate.rs` builds the estate, `incidents.rs` the incidents (scenarios, alerts,
//! evidence) from it.

mod estate;
mod incidents;

pub use estate::{DemoDevice, DemoEstate, DemoFile, DemoUser};
use incidents::{demo_incident, Ctx};
use palisade_clock::SharedClock;
use palisade_store::{Store, StoreError};

/// How many incidents the demo seeds by default.
pub const DEMO_INCIDENT_COUNT: usize = 240;

/// Errors from seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The tenant does not exist.
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An alert document could not be serialised.
    #[error("demo document: {0}")]
    Json(#[from] serde_json::Error),
}

/// Seeds `count` demo incidents (use at least [`DEMO_INCIDENT_COUNT`] for a realistic
/// picture) spread over the 30 days before the clock's now, in one transaction. Demo
/// incidents already present (by demo key) are left alone, so reseeding never duplicates
/// or overwrites anything. Returns how many were inserted.
pub async fn seed_demo_incidents(
    store: &Store,
    tenant_id: &str,
    clock: &SharedClock,
    count: usize,
) -> Result<usize, SeedError> {
    let tenant = store
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| SeedError::UnknownTenant(tenant_id.to_string()))?;
    let estate = DemoEstate::for_tenant(&tenant.id, &tenant.initial_domain);
    let ctx = Ctx {
        estate: &estate,
        now: clock.now(),
    };
    // Oldest first, so a fresh tenant's incident ids grow with creation time.
    let incidents = (0..count)
        .rev()
        .map(|i| demo_incident(&tenant.id, &ctx, i, count))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(store
        .insert_incidents_if_absent(&tenant.id, &incidents)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estate_is_deterministic_and_tenant_specific() {
        let a = DemoEstate::for_tenant(
            "11111111-1111-1111-1111-111111111111",
            "contoso.onmicrosoft.com",
        );
        let b = DemoEstate::for_tenant(
            "11111111-1111-1111-1111-111111111111",
            "contoso.onmicrosoft.com",
        );
        let c = DemoEstate::for_tenant(
            "22222222-2222-2222-2222-222222222222",
            "fabrikam.onmicrosoft.com",
        );
        assert_eq!(a, b);
        assert_ne!(a.devices[0].mdatp_device_id, c.devices[0].mdatp_device_id);
        assert_eq!(a.netbios_domain, "CONTOSO");
        assert_eq!(a.devices[0].mdatp_device_id.len(), 40);
        assert_eq!(
            a.users[0].user_principal_name,
            "alice.wong@contoso.onmicrosoft.com"
        );
        assert!(a.devices.iter().all(|d| d.primary_user < a.users.len()));
    }
}
