//! Deterministic, internally consistent sample events for an estate of devices, users, files,
//! URLs and IPs, spread over the past 30 days.
//!
//! Columnar and streaming: the window is generated one day partition at a time, events in
//! time order (the day's timestamps are drawn first and sorted), each written straight into
//! its table's Arrow column builders and flushed every [`FLUSH_ROWS`] rows to one Parquet
//! file per table and day. Memory is bounded by one flush per table, whatever the total;
//! every file is sorted by `Timestamp` and nothing needs compacting afterwards. Each day
//! draws from its own random stream, so the days are generated on as many threads as the
//! machine has cores.

mod cloud;
mod estate;
mod estate_tables;
mod events;
mod exposure;
mod family;
mod identity;
mod mail;
mod sentinel;
mod tvm;

use chrono::{DateTime, Utc};
use palisade_kql::value::{day_of, NANOS_PER_DAY};

pub use estate::{Estate, EstateDevice, EstateFile, EstateUser, Rng};
pub use estate_tables::{seed_estate_tables, seed_estate_tables_only, ESTATE_TABLES};
pub use sentinel::{seed_sentinel_tables, seed_sentinel_tables_only, SEEDED_SENTINEL_TABLES};

use crate::columns::{Mismatch, RowBatch};
use crate::store::{EventStore, PartWriter, StoreError};
use events::Gen;

/// Rows buffered per table before they go to the table's Parquet writer (which forms row
/// groups of up to its maximum): the generator's memory is about this many rows per table and
/// worker, whatever the total.
pub const FLUSH_ROWS: usize = 8 * 1024;

/// Every table the generator writes.
pub const GENERATED_TABLES: &[&str] = &[
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceImageLoadEvents",
    "DeviceLogonEvents",
    "DeviceEvents",
    "DeviceInfo",
    "DeviceNetworkInfo",
    "EmailEvents",
    "EmailAttachmentInfo",
    "EmailUrlInfo",
    "IdentityLogonEvents",
    "CloudAppEvents",
    "AlertInfo",
    "AlertEvidence",
];

/// Tables written once per device and day, as snapshots.
const SNAPSHOT_TABLES: &[&str] = &["DeviceInfo", "DeviceNetworkInfo"];

/// The kinds of event one draw can make.
#[derive(Debug, Clone, Copy)]
enum Event {
    Process,
    Network,
    File,
    Registry,
    ImageLoad,
    Logon,
    Device,
    Email,
    IdentityLogon,
    CloudApp,
    Alert,
}

/// An event kind: its share of the draws (out of 100), the tables it writes, and the expected
/// number of rows one event writes into each.
struct Kind {
    event: Event,
    draws: u64,
    tables: &'static [&'static str],
    rows: &'static [f64],
}

const fn kind(
    event: Event,
    draws: u64,
    tables: &'static [&'static str],
    rows: &'static [f64],
) -> Kind {
    Kind {
        event,
        draws,
        tables,
        rows,
    }
}

const KINDS: &[Kind] = &[
    kind(Event::Process, 30, &["DeviceProcessEvents"], &[1.0]),
    kind(Event::Network, 20, &["DeviceNetworkEvents"], &[1.0]),
    kind(Event::File, 12, &["DeviceFileEvents"], &[1.0]),
    kind(Event::Registry, 8, &["DeviceRegistryEvents"], &[1.0]),
    kind(Event::ImageLoad, 6, &["DeviceImageLoadEvents"], &[1.0]),
    kind(Event::Logon, 6, &["DeviceLogonEvents"], &[1.0]),
    kind(Event::Device, 5, &["DeviceEvents"], &[1.0]),
    // An email has an attachment with p = 0.1 + 0.9 * 0.2 and a URL with p = 0.1 + 0.9 * 0.5.
    kind(
        Event::Email,
        5,
        &["EmailEvents", "EmailAttachmentInfo", "EmailUrlInfo"],
        &[1.0, 0.28, 0.55],
    ),
    kind(Event::IdentityLogon, 3, &["IdentityLogonEvents"], &[1.0]),
    kind(Event::CloudApp, 3, &["CloudAppEvents"], &[1.0]),
    kind(
        Event::Alert,
        2,
        &["AlertInfo", "AlertEvidence"],
        &[1.0, 3.0],
    ),
];

/// The generated window: the last 29.5 days before `now`.
const WINDOW_NS: i64 = 29 * NANOS_PER_DAY + NANOS_PER_DAY / 2;

/// Generates about `total_events` events for `tenant_id` across the main advanced-hunting
/// tables (device, email, identity, cloud-app and alert tables), timestamped within the 30
/// days before `now`, deterministic for a given estate, count and `now`. `progress` is called
/// with the number of rows written so far. Returns the number of rows written.
pub async fn seed_events(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    total_events: u64,
    now: DateTime<Utc>,
    progress: impl FnMut(u64) + Send,
) -> Result<u64, StoreError> {
    seed_tables(store, tenant_id, estate, total_events, now, None, progress).await
}

/// [`seed_events`] restricted to the tables in `only` (all tables when `None`): the other
/// tables' events are not generated, so about `total_events` rows all land in the chosen
/// tables, in the same proportions to each other as in a full seed. Unknown names are an
/// error.
pub async fn seed_tables(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    total_events: u64,
    now: DateTime<Utc>,
    only: Option<&[&str]>,
    progress: impl FnMut(u64) + Send,
) -> Result<u64, StoreError> {
    if !crate::store::valid_tenant(tenant_id) {
        return Err(StoreError::InvalidTenant(tenant_id.to_string()));
    }
    if let Some(only) = only {
        if let Some(bad) = only.iter().find(|t| store.catalog().table(t).is_none()) {
            return Err(StoreError::UnknownTable(bad.to_string()));
        }
        if !only.iter().any(|t| GENERATED_TABLES.contains(t)) {
            return Err(StoreError::Schema {
                table: only.join(","),
                message: "the generator writes none of these tables".into(),
            });
        }
    }
    let keep = |t: &str| only.is_none_or(|o| o.contains(&t));
    let plan = Plan::new(estate, total_events, now, &keep);
    // The days are independent: generate them on a worker per core, in day order per worker.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, plan.days.len().max(1));
    let written = std::sync::atomic::AtomicU64::new(0);
    let progress = std::sync::Mutex::new(progress);
    let run = |w: usize| -> Result<(), StoreError> {
        for (d, day) in plan.days.iter().enumerate().skip(w).step_by(workers) {
            let rows = generate_day(store, tenant_id, &plan, d, day)?;
            let total = written.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
            if let Ok(mut p) = progress.lock() {
                p(total);
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..workers).map(|w| s.spawn(move || run(w))).collect();
        let mut result = run(0);
        for h in handles {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(StoreError::Busy("a generator thread panicked".into())));
            result = result.and(r);
        }
        result
    })?;
    Ok(written.into_inner())
}

/// What a seed generates: the estate, the event draws, and the day partitions.
struct Plan<'a> {
    estate: &'a Estate,
    seed: u64,
    /// Cumulative draw bounds of the kept kinds: a draw below `bounds[i]` is kind `kinds[i]`.
    kinds: Vec<(u64, usize)>,
    /// Total draws of the kept kinds.
    draws: u64,
    /// The day partitions of the window, with their events and snapshot time.
    days: Vec<Day>,
    /// Tables written.
    tables: Vec<&'static str>,
}

/// One day partition of the window.
struct Day {
    /// Window start within the day (inclusive) and end (exclusive), nanoseconds.
    from: i64,
    to: i64,
    /// Events to generate.
    events: u64,
    /// The time of the day's device snapshots, if the day has them.
    snapshot: Option<i64>,
}

impl<'a> Plan<'a> {
    fn new(
        estate: &'a Estate,
        total: u64,
        now: DateTime<Utc>,
        keep: &dyn Fn(&str) -> bool,
    ) -> Self {
        let now = now.timestamp_nanos_opt().unwrap_or(0);
        let mut kinds = Vec::new();
        let mut draws = 0;
        let mut rows_per_draw = 0.0;
        for (i, k) in KINDS.iter().enumerate() {
            if k.tables.iter().any(|t| keep(t)) {
                draws += k.draws;
                kinds.push((draws, i));
                rows_per_draw += k.draws as f64
                    * k.tables
                        .iter()
                        .zip(k.rows)
                        .filter(|(t, _)| keep(t))
                        .map(|(_, r)| r)
                        .sum::<f64>();
            }
        }
        let rows_per_event = if draws == 0 {
            1.0
        } else {
            rows_per_draw / draws as f64
        };
        // Daily snapshots of every device (DeviceInfo / DeviceNetworkInfo) at `now - k days -
        // 1 hour`, for as many days as the budget allows (1 to 30).
        let snapshot_days = (total / 50 / estate.devices.len().max(1) as u64).clamp(1, 30) as i64;
        let snapshots: Vec<i64> = if SNAPSHOT_TABLES.iter().any(|t| keep(t)) {
            (0..snapshot_days)
                .map(|k| now - k * NANOS_PER_DAY - 3_600_000_000_000)
                .collect()
        } else {
            Vec::new()
        };
        let snapshot_rows = snapshots.len() as u64
            * estate.devices.len() as u64
            * SNAPSHOT_TABLES.iter().filter(|t| keep(t)).count() as u64;
        let event_budget = if draws == 0 {
            0.0
        } else {
            total.saturating_sub(snapshot_rows) as f64 / rows_per_event
        };
        // The window's day partitions, each with its share of the events.
        let start = now - WINDOW_NS;
        let mut days = Vec::new();
        let mut from = start;
        let mut assigned = 0u64;
        while from < now {
            let midnight = from - from.rem_euclid(NANOS_PER_DAY);
            let to = (midnight + NANOS_PER_DAY).min(now);
            // Cumulative rounding, so the day counts add up to the budget.
            let upto = (event_budget * (to - start) as f64 / WINDOW_NS as f64).round() as u64;
            let snapshot = snapshots
                .iter()
                .copied()
                .find(|t| (midnight..midnight + NANOS_PER_DAY).contains(t));
            days.push(Day {
                from,
                to,
                events: upto - assigned,
                snapshot,
            });
            assigned = upto;
            from = to;
        }
        let tables = GENERATED_TABLES
            .iter()
            .copied()
            .filter(|t| keep(t))
            .collect();
        Plan {
            estate,
            seed: total ^ 0x5eed,
            kinds,
            draws,
            days,
            tables,
        }
    }
}

/// The tables one day writes: rows being built and the day's open file of each.
pub(crate) struct Tables<'s> {
    store: &'s EventStore,
    tenant: &'s str,
    day: String,
    open: Vec<(&'static str, RowBatch, Option<PartWriter>)>,
    written: u64,
}

impl Tables<'_> {
    /// The rows of `table`, or `None` when the seed does not write it.
    pub(crate) fn get(&mut self, table: &str) -> Option<&mut RowBatch> {
        self.open
            .iter_mut()
            .find(|(t, ..)| *t == table)
            .map(|(_, rows, _)| rows)
    }

    /// Writes out the tables holding at least `min` rows.
    fn flush(&mut self, min: usize) -> Result<(), StoreError> {
        for (table, rows, file) in &mut self.open {
            if rows.is_empty() || rows.len() < min {
                continue;
            }
            let batch = rows.finish();
            let w = match file {
                Some(w) => w,
                None => file.insert(self.store.part_writer(self.tenant, table, &self.day)?),
            };
            w.write(&batch)?;
            self.written += batch.num_rows() as u64;
        }
        Ok(())
    }

    /// Writes out everything and commits the day's files; returns the rows written.
    fn commit(mut self) -> Result<u64, StoreError> {
        self.flush(1)?;
        for (_, _, file) in self.open {
            if let Some(w) = file {
                w.commit()?;
            }
        }
        Ok(self.written)
    }
}

fn schema_error(m: Mismatch) -> StoreError {
    StoreError::Schema {
        table: "generated".into(),
        message: format!(
            "column '{}' is {}: the generator wrote another type",
            m.column, m.expected
        ),
    }
}

/// Generates and writes day `d` of `plan`: its snapshots, then its events in time order.
fn generate_day(
    store: &EventStore,
    tenant: &str,
    plan: &Plan<'_>,
    d: usize,
    day: &Day,
) -> Result<u64, StoreError> {
    let e = plan.estate;
    let mut tables = Tables {
        store,
        tenant,
        day: day_of(day.from),
        open: Vec::new(),
        written: 0,
    };
    for t in &plan.tables {
        let schema = store
            .catalog()
            .table(t)
            .ok_or_else(|| StoreError::UnknownTable(t.to_string()))?;
        tables
            .open
            .push((t, RowBatch::new(schema, FLUSH_ROWS), None));
    }
    // Each day has its own stream, so days can be generated in any order or in parallel.
    let mut r = Rng::new(plan.seed ^ (d as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // The day's event times, uniform over its part of the window, 100 ns ticks, in order.
    let span = (day.to - day.from).max(1) as u64;
    let mut times: Vec<i64> = (0..day.events)
        .map(|_| {
            let t = day.from + r.below(span) as i64;
            t - t.rem_euclid(100)
        })
        .collect();
    times.sort_unstable();
    // ReportIds stay unique across days.
    let mut g = Gen::new(e, r, 1000 + d as i64 * 1_000_000_000);
    if let Some(t) = day.snapshot {
        g.t = t;
        for dev in &e.devices {
            g.device_info(dev, &mut tables).map_err(schema_error)?;
        }
    }
    for t in times {
        g.t = t;
        let draw = g.r.below(plan.draws);
        let Some(k) = plan
            .kinds
            .iter()
            .find(|(bound, _)| draw < *bound)
            .map(|(_, k)| &KINDS[*k])
        else {
            continue;
        };
        let result = match k.event {
            Event::Email => g.email(&mut tables),
            Event::Alert => g.alert(&mut tables),
            single => match tables.get(k.tables[0]) {
                None => Ok(()),
                Some(w) => match single {
                    Event::Process => g.process(w),
                    Event::Network => g.network(w),
                    Event::File => g.file_event(w),
                    Event::Registry => g.registry(w),
                    Event::ImageLoad => g.image_load(w),
                    Event::Logon => g.logon(w),
                    Event::Device => g.device_event(w),
                    Event::IdentityLogon => g.identity_logon(w),
                    Event::CloudApp => g.cloud_app(w),
                    Event::Email | Event::Alert => Ok(()),
                },
            },
        };
        result.map_err(schema_error)?;
        tables.flush(FLUSH_ROWS)?;
    }
    tables.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_spreads_the_budget_over_the_window() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .unwrap()
            .to_utc();
        let e = Estate::sample(1);
        let keep = |t: &str| t == "DeviceProcessEvents" || t == "DeviceNetworkEvents";
        let plan = Plan::new(&e, 100_000, now, &keep);
        let events: u64 = plan.days.iter().map(|d| d.events).sum();
        assert_eq!(events, 100_000, "single-row kinds: one row per event");
        // 29.5 days before noon start at midnight: 30 day partitions.
        assert_eq!(plan.days.len(), 30);
        let now_ns = now.timestamp_nanos_opt().unwrap();
        assert_eq!(plan.days[0].from, now_ns - WINDOW_NS);
        assert_eq!(plan.days.last().map(|d| d.to), Some(now_ns));
        assert!(plan.days.iter().all(|d| d.snapshot.is_none()));
        assert_eq!(plan.draws, 50);
        // A full day holds about 1/29.5 of the events.
        let full = &plan.days[0];
        assert_eq!(full.to - full.from, NANOS_PER_DAY);
        assert!((full.events as f64 - 100_000.0 / 29.5).abs() < 2.0);
    }
}
