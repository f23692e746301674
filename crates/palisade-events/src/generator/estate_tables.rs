//! The estate's tables beyond the main generator's device, mail, identity-logon, cloud-app and
//! alert events: one module per family ([`super::identity`], [`super::mail`],
//! [`super::cloud`], [`super::tvm`], [`super::exposure`]), each with its own random stream
//! and files, over the same users, devices, apps and window, so joins across all of them find
//! each other.

use chrono::{DateTime, Utc};
use palisade_kql::value::day_of;

use super::cloud::{seed_cloud, CLOUD_TABLES};
use super::estate::Estate;
use super::exposure::{seed_exposure, EXPOSURE_TABLES};
use super::identity::{seed_identity, IDENTITY_TABLES};
use super::mail::{seed_mail, MAIL_TABLES};
use super::tvm::{seed_tvm, TVM_TABLES};
use super::WINDOW_NS;
use crate::store::{EventStore, StoreError};

/// The tables [`seed_estate_tables`] writes, family by family (`CloudAppEvents` gets extra
/// rows, naming the OAuth apps; the main generator writes it too).
pub const ESTATE_TABLES: &[&[&str]] = &[
    IDENTITY_TABLES,
    MAIL_TABLES,
    CLOUD_TABLES,
    TVM_TABLES,
    EXPOSURE_TABLES,
];

/// Seeds the family tables of `tenant_id` from `estate`, scaled to a seed of about `events`
/// main events, over the window before `now`; returns the rows written. Run it after
/// [`super::seed_tables`]: the mail follow-ups are derived from the stored mail. The
/// snapshots of undated tables (vulnerability management, exposure graph) are written once
/// per tenant.
pub fn seed_estate_tables(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    events: u64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    seed_estate_tables_only(store, tenant_id, estate, events, now, None)
}

/// [`seed_estate_tables`] writing only the family tables in `only` (all when `None`). A
/// family none of whose tables is asked for does not run; the tables asked for hold the rows
/// a full seed gives them.
pub fn seed_estate_tables_only(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    events: u64,
    now: DateTime<Utc>,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    if !crate::store::valid_tenant(tenant_id) {
        return Err(StoreError::InvalidTenant(tenant_id.to_string()));
    }
    let runs = |family: &[&str]| only.is_none_or(|o| family.iter().any(|t| o.contains(t)));
    let now = now.timestamp_nanos_opt().unwrap_or(0);
    let since_day = day_of(now - WINDOW_NS);
    let mut written = 0;
    if runs(IDENTITY_TABLES) {
        written += seed_identity(store, tenant_id, estate, events / 40, now, only)?;
    }
    if runs(MAIL_TABLES) {
        written += seed_mail(store, tenant_id, estate, &since_day, now, only)?;
    }
    if runs(CLOUD_TABLES) {
        written += seed_cloud(store, tenant_id, estate, events / 60, now, only)?;
    }
    if runs(TVM_TABLES) {
        written += seed_tvm(store, tenant_id, estate, now, only)?;
    }
    if runs(EXPOSURE_TABLES) {
        written += seed_exposure(store, tenant_id, estate, only)?;
    }
    Ok(written)
}
