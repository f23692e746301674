//! What the family generators share (identities [`super::identity`], mail follow-ups
//! [`super::mail`], cloud apps [`super::cloud`], vulnerability management [`super::tvm`], the
//! exposure graph [`super::exposure`], and the Sentinel tables [`super::sentinel`]): the
//! estate's directory applications and domain controller, the window's days, and a writer of
//! one sorted file per table and day partition.
//!
//! A family runs apart from the main XDR generator (its own random stream and its own files),
//! after it, so the main generator's hot path and its per-day files stay as they are.

use palisade_kql::value::{day_of, NANOS_PER_DAY};

use super::{schema_error, WINDOW_NS};
use crate::columns::RowBatch;
use crate::store::{EventStore, StoreError};

/// The directory's applications that sign-ins, audit events, OAuth app records, cloud-app
/// activity and the exposure graph name: (display name, app id). The first two are the
/// demo tenant's own registrations' names.
pub(crate) const DIRECTORY_APPS: &[(&str, &str)] = &[
    ("Palisade Demo App", "3f0c8a52-6a53-4a55-9a3a-1a3c0d1e7a01"),
    ("Palisade Demo CLI", "3f0c8a52-6a53-4a55-9a3a-1a3c0d1e7a02"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    (
        "Microsoft Azure Portal",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    ),
    (
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
    ),
];

/// The estate's domain controller (name, address): the destination of its Kerberos logons
/// (`IdentityLogonEvents`) and the target of its directory queries.
pub(crate) const DOMAIN_CONTROLLER: (&str, &str) = ("dc01.contoso.local", "10.0.0.2");

/// The day partitions of the window before `now` (ns): `(from, to)`, the first starting
/// [`WINDOW_NS`] before `now`, the last ending at `now`.
pub(super) fn window_days(now: i64) -> Vec<(i64, i64)> {
    let mut days = Vec::new();
    let mut from = now - WINDOW_NS;
    while from < now {
        let to = (from - from.rem_euclid(NANOS_PER_DAY) + NANOS_PER_DAY).min(now);
        days.push((from, to));
        from = to;
    }
    days
}

/// The rows a family is building for some tables, written as one file per table and day
/// partition. Rows must be added in time order per table and partition (each file is marked
/// sorted); undated tables go to `day=static`.
pub(super) struct FamilyRows<'s> {
    store: &'s EventStore,
    tenant: &'s str,
    /// Per table: its rows, the day partition they belong to, the table's time column.
    open: Vec<(&'static str, RowBatch, String, Option<&'static str>)>,
    /// The tables to write (all when `None`): the others' rows are built, so the written
    /// tables hold the rows a full seed gives them, and dropped.
    only: Option<Vec<String>>,
    written: u64,
}

impl<'s> FamilyRows<'s> {
    /// Rows for `tables` of `tenant` (each must be in the store's catalog), written only for
    /// the tables in `only` (all when `None`).
    pub(super) fn new(
        store: &'s EventStore,
        tenant: &'s str,
        tables: &[&'static str],
        only: Option<&[&str]>,
    ) -> Result<Self, StoreError> {
        let mut open = Vec::with_capacity(tables.len());
        for t in tables {
            let schema = store
                .catalog()
                .table(t)
                .ok_or_else(|| StoreError::UnknownTable(t.to_string()))?;
            open.push((
                *t,
                RowBatch::new(schema, 1024),
                String::new(),
                schema.time_column(),
            ));
        }
        Ok(FamilyRows {
            store,
            tenant,
            open,
            only: only.map(|o| o.iter().map(|t| t.to_string()).collect()),
            written: 0,
        })
    }

    /// Writes one row of `table` at time `t` (ns; ignored for undated tables): `fill` sets its
    /// columns. A row of a new day partition first writes out the table's previous day.
    pub(super) fn row(
        &mut self,
        table: &str,
        t: i64,
        fill: impl FnOnce(&mut RowBatch),
    ) -> Result<(), StoreError> {
        let Some(i) = self.open.iter().position(|(name, ..)| *name == table) else {
            return Err(StoreError::UnknownTable(table.to_string()));
        };
        let day = match self.open[i].3 {
            Some(_) => day_of(t),
            None => "static".to_string(),
        };
        if self.open[i].2 != day {
            self.flush(i)?;
            self.open[i].2 = day;
        }
        let rows = &mut self.open[i].1;
        fill(rows);
        rows.end_row().map_err(schema_error)
    }

    /// Writes out table `i`'s rows as one sorted file of their day partition.
    fn flush(&mut self, i: usize) -> Result<(), StoreError> {
        let (table, rows, day, _) = &mut self.open[i];
        if rows.is_empty() {
            return Ok(());
        }
        let batch = rows.finish();
        if let Some(only) = &self.only {
            if !only.iter().any(|t| t == table) {
                return Ok(());
            }
        }
        let mut w = self.store.part_writer(self.tenant, table, day)?;
        w.write(&batch)?;
        w.commit()?;
        self.written += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes out everything; returns the rows written.
    pub(super) fn commit(mut self) -> Result<u64, StoreError> {
        for i in 0..self.open.len() {
            self.flush(i)?;
        }
        Ok(self.written)
    }
}

/// Whether `tenant` already has rows of the undated `table` (a second seed does not write its
/// snapshot again: undated rows never leave the 30-day window, so they would double).
pub(super) fn has_static_rows(
    store: &EventStore,
    tenant: &str,
    table: &str,
) -> Result<bool, StoreError> {
    Ok(store
        .files(tenant, table, "9999-12-31")?
        .iter()
        .any(|f| f.rows > 0))
}

/// A user's display name as every generated table writes it (`alice.smith` → `alice smith`),
/// so `AccountDisplayName` joins across tables.
pub(super) fn display_name(account: &str) -> String {
    account.replace('.', " ")
}
