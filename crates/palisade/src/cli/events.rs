//! `palisade seed`, `compact` and `ingest`: the advanced-hunting event store on disk.

use crate::demo;
use crate::server;
use anyhow::{bail, Context, Result};
use palisade_clock::SystemClock;
use std::sync::Arc;
use time::OffsetDateTime;

/// The tenant to seed (`--tenant`, or the demo tenant): its id, its domain and its connected
/// Sentinel workspace id, if any.
async fn seed_tenant(
    data_dir: &std::path::Path,
    tenant: Option<String>,
) -> Result<(String, String, Option<String>)> {
    let store = palisade_store::Store::open_sqlite(&data_dir.join(server::DATABASE_FILE)).await?;
    let id = match tenant {
        Some(t) => t,
        None => {
            let text = std::fs::read_to_string(data_dir.join(demo::DEMO_FILE))
                .context("no --tenant and no demo tenant: run `palisade serve --demo` once, or pass --tenant")?;
            serde_json::from_str::<demo::Demo>(&text)?.tenant_id
        }
    };
    let directory = palisade_directory::Directory::new(store.clone(), Arc::new(SystemClock));
    let t = directory
        .resolve_tenant(&id)
        .await?
        .with_context(|| format!("tenant {id} does not exist in {}", data_dir.display()))?;
    let workspace = store
        .sentinel_workspace(&t.id)
        .await?
        .map(|w| w.workspace_id);
    Ok((t.id, t.initial_domain, workspace))
}

pub(crate) async fn seed(
    data_dir: &std::path::Path,
    events: u64,
    tables: &[String],
    tenant: Option<String>,
) -> Result<()> {
    let (tenant_id, domain, workspace) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    let estate = crate::hunting::estate_for(&tenant_id, &domain);
    let bar = indicatif::ProgressBar::new(events);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let only: Vec<&str> = tables.iter().map(String::as_str).collect();
    let asked = SeedTables::of(&store, &only, workspace.is_some())?;
    let written = if asked.main.as_ref().is_some_and(|m| m.is_empty()) {
        0
    } else {
        palisade_events::seed_tables(
            &store,
            &tenant_id,
            &estate,
            events,
            crate::hunting::chrono_time(OffsetDateTime::now_utc()),
            asked.main.as_deref(),
            |n| bar.set_position(n),
        )
        .await?
    };
    bar.finish();
    // A connected Sentinel workspace gets its common tables from the same estate (a fifth
    // as many rows).
    let sentinel = match &workspace {
        Some(ws) if asked.sentinel.as_ref().is_none_or(|s| !s.is_empty()) => {
            palisade_events::seed_sentinel_tables_only(
                &store,
                &tenant_id,
                ws,
                &estate,
                events / 5,
                crate::hunting::chrono_time(OffsetDateTime::now_utc()),
                asked.sentinel.as_deref(),
            )?
        }
        _ => 0,
    };
    if sentinel > 0 {
        println!("{sentinel} Sentinel rows written (SigninLogs, AADNonInteractiveUserSignInLogs, AuditLogs, SecurityEvent)");
    }
    // The identity, mail follow-up, OAuth app, vulnerability-management and exposure-graph
    // tables of the same estate.
    if asked.family.as_ref().is_none_or(|f| !f.is_empty()) {
        let family = palisade_events::seed_estate_tables_only(
            &store,
            &tenant_id,
            &estate,
            events,
            crate::hunting::chrono_time(OffsetDateTime::now_utc()),
            asked.family.as_deref(),
        )?;
        println!(
            "{family} identity, mail follow-up, OAuth app, vulnerability and exposure rows written"
        );
    }
    // The global file profiles of the estate's files (idempotent).
    let profiles = palisade_events::seed_file_profiles(
        &store,
        &estate,
        crate::hunting::chrono_time(OffsetDateTime::now_utc()),
    )?;
    println!(
        "{written} events written for tenant {tenant_id} under {} ({} new file profiles)",
        crate::hunting::events_dir(data_dir).display(),
        profiles.written
    );
    compact_after_write(store.compact_tenant(&tenant_id));
    Ok(())
}

/// Reports the compaction that follows a write. Best effort: the rows are already stored,
/// so a failure (say, a concurrent `palisade compact` holds the lock) is a warning; an error
/// would invite a retry that stores the rows twice.
fn compact_after_write(r: Result<palisade_events::CompactReport, palisade_events::StoreError>) {
    match r {
        Ok(r) => print_compaction(r),
        Err(e) => eprintln!(
            "warning: the rows are stored, but compacting them failed ({e}); run `palisade compact` later"
        ),
    }
}

pub(crate) async fn compact(data_dir: &std::path::Path, tenant: Option<String>) -> Result<()> {
    let (tenant_id, _, _) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    print_compaction(store.compact_tenant(&tenant_id)?);
    Ok(())
}

fn print_compaction(r: palisade_events::CompactReport) {
    println!(
        "compacted {} day partitions: {} files -> {} ({} rows)",
        r.days_compacted, r.files_before, r.files_after, r.rows
    );
}

pub(crate) async fn ingest(
    data_dir: &std::path::Path,
    table: &str,
    file: &std::path::Path,
    tenant: Option<String>,
) -> Result<()> {
    let (tenant_id, _, workspace) = seed_tenant(data_dir, tenant).await?;
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    // A Sentinel table lives in the tenant's connected workspace: without one there is
    // nowhere to put it, as in the unified portal.
    if store.catalog().is_sentinel_table(table) && workspace.is_none() {
        bail!(
            "{table} is a Microsoft Sentinel table and tenant {tenant_id} has no Sentinel \
             workspace connected (palisade admin -t {tenant_id} sentinel connect)"
        );
    }
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let bar = indicatif::ProgressBar::new(input.metadata().map_or(0, |m| m.len()));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(input));
    let report = palisade_events::ingest_jsonl(&store, &tenant_id, table, reader).await?;
    bar.finish();
    for e in &report.rejected {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    if report.accepted > 0 {
        compact_after_write(store.compact(&tenant_id, table));
    }
    println!(
        "{} rows ingested into {table}, {} rejected",
        report.accepted,
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        bail!("{} rows were rejected", report.rejected.len())
    }
}

/// `palisade ingest --reference NAME FILE`: global reference rows (e.g. file profiles).
pub(crate) fn ingest_reference(
    data_dir: &std::path::Path,
    name: &str,
    file: &std::path::Path,
) -> Result<()> {
    let store = palisade_events::EventStore::open(crate::hunting::events_dir(data_dir))?;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let report = palisade_events::ingest_reference_jsonl(&store, name, reader)?;
    for e in &report.rejected {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    println!(
        "{} rows ingested into reference {name}, {} rejected",
        report.accepted,
        report.rejected.len()
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        bail!("{} rows were rejected", report.rejected.len())
    }
}

/// The tables `palisade seed --tables` asked for, by the generator that writes them (`None`:
/// all of that generator's tables, when no `--tables` was given).
struct SeedTables<'a> {
    main: Option<Vec<&'a str>>,
    family: Option<Vec<&'a str>>,
    sentinel: Option<Vec<&'a str>>,
}

impl<'a> SeedTables<'a> {
    /// Sorts `only` (empty: everything) by generator; a table no generator writes, or a
    /// Sentinel table without a connected workspace, is an error that says so.
    fn of(
        store: &palisade_events::EventStore,
        only: &[&'a str],
        sentinel_connected: bool,
    ) -> Result<Self> {
        if only.is_empty() {
            return Ok(SeedTables {
                main: None,
                family: None,
                sentinel: None,
            });
        }
        let family_tables: Vec<&str> = palisade_events::ESTATE_TABLES
            .iter()
            .flat_map(|f| f.iter().copied())
            .collect();
        let sentinel_tables: Vec<&str> = palisade_events::SEEDED_SENTINEL_TABLES
            .iter()
            .map(|(t, _)| *t)
            .collect();
        let (mut main, mut family, mut sentinel) = (Vec::new(), Vec::new(), Vec::new());
        for t in only {
            let mut found = false;
            if palisade_events::GENERATED_TABLES.contains(t) {
                main.push(*t);
                found = true;
            }
            if family_tables.contains(t) {
                family.push(*t);
                found = true;
            }
            if sentinel_tables.contains(t) {
                if !sentinel_connected {
                    bail!(
                        "{t} is a Sentinel table: connect the tenant's workspace first \
                         (palisade admin -t TENANT sentinel connect)"
                    );
                }
                sentinel.push(*t);
                found = true;
            }
            if !found {
                if store.catalog().table(t).is_none() {
                    bail!("unknown table '{t}'");
                }
                bail!(
                    "the generator writes no rows for {t}: it exists typed and empty \
                     (docs/hunting-tables.md lists the seeded tables)"
                );
            }
        }
        Ok(SeedTables {
            main: Some(main),
            family: Some(family),
            sentinel: Some(sentinel),
        })
    }
}
