//! The advanced-hunting engine: KQL text → bound query → DataFusion plan over the tenant's
//! Parquet files → API-shaped rows.
//!
//! Semantics the API exposes:
//! - **Data window**: every table scan is restricted to the caller's tenant directory and to
//!   `Timestamp >= now - 30d` (day partitions older than that are never listed).
//! - **Several statements**: a query with several result statements returns the **first**
//!   one (the one Defender's portal would run for a cursor at the top of the query).
//! - **Row limit**: at most [`Limits::max_rows`] rows are returned; more set
//!   [`HuntResult::truncated`].
//! - **Timeout / memory**: [`Limits::timeout`] bounds execution (→ [`HuntError::Timeout`]);
//!   DataFusion's memory pool is capped at [`Limits::memory_bytes`] (→ [`HuntError::TooLarge`],
//!   whose message names the limit). The pool bounds every operator: DataFusion's own
//!   (joins, sorts, `summarize` groups, `make_list`/`make_set` states, whose sizes count their
//!   text), and the functions that build data (`mv-expand`'s element lists, `range()`,
//!   `strrep`, `strcat`, every text-returning UDF), which charge it while they build (see
//!   `budget.rs`). One value may hold at most 64 MiB; the `range` operator at most 1,000,000
//!   rows, refused at the position of its bounds; `range()` holds at most 2^20 values
//!   (truncated, as in Kusto).
//! - `dcount` is exact (Kusto's is a HyperLogLog estimate); `percentile(s)` are exact
//!   nearest-rank values (Kusto's are T-Digest estimates).
//! - Storage/plan types: `timespan` is `Int64` nanoseconds, `decimal` is `Float64`, `dynamic`
//!   is JSON text, `datetime` is `Timestamp(ns, UTC)` (printed with 7 fractional digits).
//! - Strings are never null (Kusto semantics): missing strings read as `""`, including the
//!   unmatched side of outer joins and columns a `union` input lacks. Other types keep nulls,
//!   with Kusto's equality rules: `null == value` is false, `null != value` is true, null
//!   against null is null; ordering comparisons with null are null (a `where` drops the row).
//! - `parse`: `simple` and `regex` are strict (a typed column that does not convert nulls
//!   every extended column of the row); `relaxed` nulls only that column. `regex` captures are
//!   greedy unless `flags=U`, as in Kusto's documented examples.
//! - `invoke FileProfile(x, y)` is a left lookup of the global file profiles (see
//!   [`crate::reference`]): every row is kept in input order; the first `y` rows (default 100,
//!   in input order) with a non-empty id in column `x` (default `SHA1`) are looked up
//!   case-insensitively and get `ProfileAvailability` `Available` or `Missing`; other rows get
//!   null profile columns and an empty `ProfileAvailability`. `Error` is never produced.
//! - `AssignedIPAddresses(x, y)` and `invoke DeviceFromIP(y)` are built-in KQL functions over
//!   the tenant's `DeviceNetworkInfo` reports (defined in `palisade-kql`'s binder).
//! - `sample N` returns N uniformly random rows; `row_number()`/`prev()`/`next()` follow the
//!   input order (use them after `sort`/`serialize`).
//! - `make-series` follows Kusto's documentation (see `plan/series.rs`): absent
//!   `from`/`to` come from the data and every series of a result shares one axis; a group with
//!   no rows inside `[from, to)` yields no row; only the documented aggregates are accepted.
//! - `evaluate bag_unpack(...)` / `evaluate pivot(...)` learn their output columns from the data
//!   while binding: a probe runs the plugin's input in the same tenant scope and 30-day window,
//!   with the memory limit and within the query's time limit; at most
//!   [`palisade_kql::MAX_PROBE_COLUMNS`] columns may be added (see `binder/plugins.rs`).
//! - Not implemented (rejected by name): multi-level `top-nested` and
//!   `with others`, `partition` bodies other than `top N by ...`, `invoke` of anything but
//!   `FileProfile`, `DeviceFromIP` and user functions, `SeenBy()`, `hash()` of anything but
//!   string, datetime and timespan (the other types' byte encodings are undocumented),
//!   `ingestion_time`, `column_ifexists`, and the constructs the parser/binder already reject.
//! - `geo_info_from_ip_address` answers from the operator's City database
//!   ([`HuntingEngine::with_geoip`], `serve --geoip FILE`); without one it answers null and
//!   [`HuntStats::notes`] says so. The multi-result `series_*` functions compute all their
//!   results once per output column named (see `functions/series.rs`).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use datafusion::execution::memory_pool::{
    GreedyMemoryPool, MemoryConsumer, MemoryPool, MemoryReservation,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use palisade_events::{valid_tenant, EventStore};
use palisade_kql::{bind_with_probe, explain_bound, parse, Catalog, KqlError, Schema};

use crate::budget::Budget;
use crate::file_caches::FileCaches;
use crate::geoip::GeoIpDatabase;
use crate::plan::Planner;
use crate::probe::EngineProbe;
use crate::result::{batches_to_rows, process_cpu, HuntResult, HuntStats};
use crate::scan::{DeviceScope, TenantScan, WINDOW_NS};
use crate::string_filters::NonNullStringFilters;
use crate::tuning::Tuning;
use crate::HuntError;

/// Resource limits of one query.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Rows returned at most (Defender: 100,000).
    pub max_rows: usize,
    /// Wall-clock execution limit (Defender: 3 minutes).
    pub timeout: Duration,
    /// DataFusion memory-pool size in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 100_000,
            timeout: Duration::from_secs(180),
            memory_bytes: 1 << 30,
        }
    }
}

/// Stack size of the query runtime's threads: binding and planning recurse over the query's
/// tree, whose depth the parser bounds; 64 MiB of address space is reserved per thread, only
/// the touched pages are committed.
const STACK: usize = 64 << 20;

/// The one runtime every query of the process runs on, created at the first query: a
/// multi-threaded runtime with a worker per core and large stacks, apart from the caller's
/// runtime, so CPU-heavy scans never starve the server's request handling and a panic in the
/// engine stays inside the query's task.
fn runtime() -> Result<&'static tokio::runtime::Runtime, HuntError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_stack_size(STACK)
                .thread_name("palisade-hunt")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| HuntError::Internal(format!("query runtime: {e}")))
}

/// Runs KQL hunting queries for tenants over an [`EventStore`].
#[derive(Debug, Clone)]
pub struct HuntingEngine {
    /// What a tenant without a connected Sentinel workspace queries.
    catalog: Arc<Catalog>,
    /// What a tenant with a connected Sentinel workspace queries (the unified portal).
    unified: Arc<Catalog>,
    store: Arc<EventStore>,
    limits: Limits,
    tuning: Tuning,
    /// The operator's City database for `geo_info_from_ip_address` (none: it answers null,
    /// and the result's stats say why).
    geoip: Option<Arc<GeoIpDatabase>>,
    /// Parquet footers, page indexes and statistics, shared by this engine's sessions.
    file_caches: FileCaches,
}

impl HuntingEngine {
    /// An engine over `store` with the store's catalog (its two views, see
    /// [`Catalog::view`]) and default [`Limits`].
    pub fn new(store: Arc<EventStore>) -> Self {
        HuntingEngine {
            catalog: Arc::new(store.catalog().view(false)),
            unified: Arc::new(store.catalog().view(true)),
            store,
            limits: Limits::default(),
            tuning: Tuning::default(),
            geoip: None,
            file_caches: FileCaches::new(),
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the Parquet reader's tuning (the benchmark measures each step).
    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// Answers `geo_info_from_ip_address` from `db` (see [`GeoIpDatabase`]).
    pub fn with_geoip(mut self, db: Option<Arc<GeoIpDatabase>>) -> Self {
        self.geoip = db;
        self
    }

    /// The GeoIP database, if the operator gave one.
    pub fn geoip(&self) -> Option<&Arc<GeoIpDatabase>> {
        self.geoip.as_ref()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<EventStore> {
        &self.store
    }

    /// Runs `query` for `tenant_id` with `now()` fixed to `now`, over every device of the
    /// tenant.
    ///
    /// The query runs on the engine's runtime (see [`HuntingEngine::run_scoped`]); if the
    /// caller stops awaiting, it still runs to completion or to [`Limits::timeout`].
    pub async fn run(
        &self,
        tenant_id: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        self.run_scoped(tenant_id, &DeviceScope::All, query, now)
            .await
    }

    /// Like [`HuntingEngine::run`], reading only the rows of `devices` (see [`DeviceScope`]).
    /// Parsing, binding, planning and execution run as one task of the process's query
    /// runtime; a panic in the engine becomes [`HuntError::Internal`].
    pub async fn run_scoped(
        &self,
        tenant_id: &str,
        devices: &DeviceScope,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        self.run_within(tenant_id, devices, query, None, now).await
    }

    /// Like [`HuntingEngine::run_scoped`], with the tables' time window starting at `since`
    /// when that is later than the 30 days before `now` (Graph's `runHuntingQuery`
    /// `Timespan`): every table scan drops the rows whose `Timestamp` is before it, so no
    /// query form reads around it. An earlier `since` changes nothing (the 30 days bound).
    pub async fn run_within(
        &self,
        tenant_id: &str,
        devices: &DeviceScope,
        query: &str,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        self.run_in_workspace(tenant_id, None, devices, query, since, now)
            .await
    }

    /// Like [`HuntingEngine::run_within`] for a tenant whose Sentinel workspace `workspace`
    /// (its id) is connected, or not (`None`): connected, the query sees the unified portal —
    /// the Sentinel tables and the workspace columns of the XDR tables (`TimeGenerated`,
    /// `TenantId` = `workspace`, `Type`, `SourceSystem`); otherwise those are unknown names.
    pub async fn run_in_workspace(
        &self,
        tenant_id: &str,
        workspace: Option<&str>,
        devices: &DeviceScope,
        query: &str,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        let engine = self.clone();
        let (tenant, query, devices) = (tenant_id.to_string(), query.to_string(), devices.clone());
        let workspace = workspace.map(str::to_string);
        let task = runtime()?.spawn(async move {
            engine
                .run_here(&tenant, workspace.as_deref(), &devices, &query, since, now)
                .await
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(HuntError::Internal("the query engine panicked".into())),
            Err(_) => Err(HuntError::Internal("the query was cancelled".into())),
        }
    }

    /// The query's bound tree and its (unoptimised and optimised) DataFusion plans, as text,
    /// for the whole tenant. Blocks the calling thread while the engine's runtime plans it.
    pub fn explain(
        &self,
        tenant_id: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HuntError> {
        let engine = self.clone();
        let (tenant, query) = (tenant_id.to_string(), query.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        runtime()?.spawn(async move {
            let _ = tx.send(engine.explain_here(&tenant, &query, now));
        });
        rx.recv()
            .map_err(|_| HuntError::Internal("the query planner panicked".into()))?
    }

    fn explain_here(
        &self,
        tenant_id: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HuntError> {
        if !valid_tenant(tenant_id) {
            return Err(HuntError::InvalidTenant);
        }
        let now = now.timestamp_nanos_opt().unwrap_or(0);
        let scan = TenantScan {
            store: &self.store,
            tenant: tenant_id,
            devices: &DeviceScope::All,
            since: now - WINDOW_NS,
            stats: Mutex::new(HuntStats::default()),
            sorted_files: self.tuning.sorted_files,
            workspace: None,
            file_caches: &self.file_caches,
        };
        let pool = self.pool();
        let Planned {
            explained: bound,
            plan,
            ..
        } = self.plan(&scan, query, now, &pool)?;
        let ctx = self.context(&pool)?;
        let optimized = ctx.state().optimize(&plan)?;
        Ok(format!(
            "== Bound query ==\n{bound}== Logical plan ==\n{}\n== Optimized plan ==\n{}",
            plan.display_indent(),
            optimized.display_indent()
        ))
    }

    /// Parses and binds `query` (probing the data for `bag_unpack`/`pivot` through `scan`),
    /// then plans its first result statement: the explained bound tree, the plan and the
    /// result schema.
    ///
    /// The functions planned capture `pool` as their budget (see [`crate::budget`]).
    fn plan(
        &self,
        scan: &TenantScan<'_>,
        query: &str,
        now: i64,
        pool: &Arc<TrackingPool>,
    ) -> Result<Planned, HuntError> {
        let budget = Budget::new(pool.clone());
        crate::budget::planning(&budget, || self.plan_in_budget(scan, query, now))
            .map_err(|e| self.limit_error(e))
    }

    fn plan_in_budget(
        &self,
        scan: &TenantScan<'_>,
        query: &str,
        now: i64,
    ) -> Result<Planned, HuntError> {
        let ast = parse(query)?;
        let probe = EngineProbe {
            engine: self,
            scan,
            now,
            deadline: Instant::now() + self.limits.timeout,
            failure: Mutex::new(None),
        };
        let catalog = match scan.workspace {
            Some(_) => &self.unified,
            None => &self.catalog,
        };
        let bound = match bind_with_probe(&ast, catalog, &probe) {
            Ok(b) => b,
            Err(e) => {
                // A failed probe reports what really happened (timeout, memory, unsupported).
                let failure = probe
                    .failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                return Err(failure.unwrap_or_else(|| KqlError::from(e).into()));
            }
        };
        let first = bound.results.first().ok_or_else(|| HuntError::Semantic {
            pos: None,
            message: "the query has no result statement".into(),
        })?;
        let mut planner = Planner::new(scan, now).with_geoip(self.geoip.clone());
        if bound.results.len() > 1 {
            // [inferred] The API's response holds one table: Kusto's first (primary) result.
            planner.note(format!(
                "the query has {} result tables (several statements, fork or facet); the \
                 response holds the first",
                bound.results.len()
            ));
        }
        let plan = planner.plan(first)?;
        let plan = planner.finish(plan, &first.schema)?;
        Ok(Planned {
            explained: explain_bound(&bound),
            plan,
            schema: first.schema.clone(),
            visualization: bound.visualization.as_ref().map(|v| v.to_json()),
            notes: planner.notes,
        })
    }

    /// A fresh memory pool of [`Limits::memory_bytes`] for one query (or one probe).
    pub(crate) fn pool(&self) -> Arc<TrackingPool> {
        Arc::new(TrackingPool {
            inner: GreedyMemoryPool::new(self.limits.memory_bytes),
            peak: Default::default(),
        })
    }

    /// A session for one query over `pool`.
    pub(crate) fn context(&self, pool: &Arc<TrackingPool>) -> Result<SessionContext, HuntError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool.clone())
            .with_cache_manager(self.file_caches.config())
            .build_arc()?;
        let mut config = SessionConfig::new().with_target_partitions(2);
        self.tuning.apply(&mut config);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_optimizer_rule(Arc::new(NonNullStringFilters))
            .build();
        Ok(SessionContext::new_with_state(state))
    }

    /// [`HuntError::TooLarge`] naming the limit, for a failure of execution.
    fn limit_error(&self, e: HuntError) -> HuntError {
        match e {
            HuntError::TooLarge(detail) => HuntError::TooLarge(format!(
                "the memory limit of {} per query was reached: {detail}",
                mib(self.limits.memory_bytes)
            )),
            other => other,
        }
    }

    async fn run_here(
        &self,
        tenant_id: &str,
        workspace: Option<&str>,
        devices: &DeviceScope,
        query: &str,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        let started = Instant::now();
        let cpu_before = process_cpu();
        if !valid_tenant(tenant_id) {
            return Err(HuntError::InvalidTenant);
        }
        let now_ns = now.timestamp_nanos_opt().unwrap_or(0);
        let window_start = now_ns - WINDOW_NS;
        let since_ns = since
            .and_then(|s| s.timestamp_nanos_opt())
            .map_or(window_start, |s| s.clamp(window_start, now_ns));
        let scan = TenantScan {
            store: &self.store,
            tenant: tenant_id,
            devices,
            since: since_ns,
            stats: Mutex::new(HuntStats::default()),
            sorted_files: self.tuning.sorted_files,
            workspace,
            file_caches: &self.file_caches,
        };
        let pool = self.pool();
        let Planned {
            plan,
            schema,
            visualization,
            notes,
            ..
        } = self.plan(&scan, query, now_ns, &pool)?;
        let max = self.limits.max_rows;
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(max.saturating_add(1)))?
            .build()?;
        let ctx = self.context(&pool)?;
        // A task of its own, so that the timeout can abort the work.
        let mut task = tokio::spawn(async move {
            let df = ctx.execute_logical_plan(plan).await?;
            df.collect().await
        });
        let batches = match tokio::time::timeout(self.limits.timeout, &mut task).await {
            Ok(Ok(r)) => r.map_err(|e| self.limit_error(e.into()))?,
            Ok(Err(join)) => {
                return Err(HuntError::Internal(format!(
                    "query execution failed: {join}"
                )))
            }
            Err(_) => {
                task.abort();
                return Err(HuntError::Timeout(self.limits.timeout));
            }
        };
        let (rows, truncated) = batches_to_rows(&batches, &schema, max)?;
        let mut stats = scan.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        stats.peak_memory_bytes = pool.peak.load(std::sync::atomic::Ordering::Relaxed) as u64;
        stats.execution_time_secs = started.elapsed().as_secs_f64();
        stats.notes = notes;
        let cpu_after = process_cpu();
        stats.cpu_user_secs = (cpu_after.0 - cpu_before.0).max(0.0);
        stats.cpu_kernel_secs = (cpu_after.1 - cpu_before.1).max(0.0);
        Ok(HuntResult {
            schema,
            rows,
            stats,
            truncated,
            visualization,
        })
    }
}

/// A query planned: its bound tree explained, the plan, the result schema, and the notes the
/// planner left for the result's stats.
struct Planned {
    explained: String,
    plan: LogicalPlan,
    schema: Schema,
    /// Its `render` annotation ([`palisade_kql::render`]).
    visualization: Option<serde_json::Map<String, serde_json::Value>>,
    notes: Vec<String>,
}

/// `bytes` for people: `1 GiB`, `512 MiB`.
fn mib(bytes: usize) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// A memory pool that remembers its peak reservation.
#[derive(Debug)]
pub(crate) struct TrackingPool {
    inner: GreedyMemoryPool,
    peak: std::sync::atomic::AtomicUsize,
}

impl TrackingPool {
    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Display for TrackingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tracking({})", self.inner)
    }
}

impl MemoryPool for TrackingPool {
    fn name(&self) -> &str {
        "palisade-tracking"
    }
    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }
    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }
    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }
    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }
    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::error::Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }
    fn reserved(&self) -> usize {
        self.inner.reserved()
    }
}
