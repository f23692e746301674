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
//!   DataFusion's memory pool is capped at [`Limits::memory_bytes`] (→ [`HuntError::TooLarge`]).
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
//!   the tenant's `DeviceNetworkInfo` reports (see `binder/builtins.rs`).
//! - `sample N` returns N uniformly random rows; `row_number()`/`prev()`/`next()` follow the
//!   input order (use them after `sort`/`serialize`).
//! - `make-series` follows Kusto's documentation (see [`crate::exec::series`]): absent
//!   `from`/`to` come from the data and every series of a result shares one axis; a group with
//!   no rows inside `[from, to)` yields no row; only the documented aggregates are accepted.
//! - `evaluate bag_unpack(...)` / `evaluate pivot(...)` learn their output columns from the data
//!   while binding: a probe runs the plugin's input in the same tenant scope and 30-day window,
//!   with the memory limit and within the query's time limit; at most
//!   [`crate::MAX_PROBE_COLUMNS`] columns may be added (see `binder/plugins.rs`).
//! - Not implemented (rejected by name): multi-level `top-nested` and
//!   `with others`, `partition` bodies other than `top N by ...`, `invoke` of anything but
//!   `FileProfile`, `DeviceFromIP` and user functions, `SeenBy()`, multi-result `series_*`
//!   functions, `hash()` of anything but string, datetime and timespan (the other types' byte
//!   encodings are undocumented), `ipv6_*`,
//!   `geo_info_from_ip_address`, `ingestion_time`,
//!   `column_ifexists`, and the constructs the parser/binder already reject.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::execution::memory_pool::{
    GreedyMemoryPool, MemoryConsumer, MemoryPool, MemoryReservation,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{cast, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use serde_json::{Map, Value};

use crate::binder::{ProbeError, SchemaProbe};
use crate::bound::BoundTable;
use crate::catalog::{Catalog, Schema};
use crate::error::{BindError, KqlError, ParseError};
use crate::exec::planner::{empty_plan, ncol, ts_lit, PlanError, Planner, ScanSource};
use crate::exec::udf::{self, arrow_type, format_datetime, format_timespan, parse_dyn};
use crate::store::{EventStore, StoreError};
use crate::types::KqlType;

/// The hunting window: 30 days.
pub const WINDOW_NS: i64 = 30 * 86_400 * 1_000_000_000;

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

/// Execution statistics.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HuntStats {
    /// Wall-clock seconds from parse to last row.
    pub execution_time_secs: f64,
    /// Parquet files the query's scans listed.
    pub files_scanned: u64,
    /// Bytes of those files.
    pub bytes_scanned: u64,
    /// Rows in those files (before filtering).
    pub rows_scanned: u64,
    /// Peak bytes reserved in DataFusion's memory pool.
    pub peak_memory_bytes: u64,
}

/// A query result shaped like the advanced-hunting API response.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HuntResult {
    /// `(Name, Type)` per output column; types are .NET names (`DateTime`, `String`, ...).
    pub columns: Vec<(String, String)>,
    /// One JSON object per row, keyed by column name.
    pub rows: Vec<Map<String, Value>>,
    /// Statistics.
    pub stats: HuntStats,
    /// True when rows beyond [`Limits::max_rows`] were dropped.
    pub truncated: bool,
}

/// Errors of [`HuntingEngine::run`], grouped by the HTTP answer they map to.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HuntError {
    /// The query does not parse (400).
    #[error("syntax error at {line}:{column}: {message}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// Description.
        message: String,
    },
    /// The query parses but is invalid: unknown names, type errors (400).
    #[error("semantic error at {line}:{column}: {message}")]
    Semantic {
        /// 1-based line (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        column: u32,
        /// Description.
        message: String,
    },
    /// A KQL construct Palisade does not implement (400).
    #[error("'{name}' is not supported")]
    Unsupported {
        /// The construct's name.
        name: String,
    },
    /// The query ran longer than [`Limits::timeout`] (408/400).
    #[error("query exceeded the time limit of {0:?}")]
    Timeout(Duration),
    /// The query needed more memory than [`Limits::memory_bytes`] (400).
    #[error("query exceeded the memory limit: {0}")]
    TooLarge(String),
    /// The tenant id is invalid (400).
    #[error("invalid tenant id")]
    InvalidTenant,
    /// Anything else (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<KqlError> for HuntError {
    fn from(e: KqlError) -> Self {
        if let Some(name) = e.unsupported_name() {
            return HuntError::Unsupported {
                name: name.to_string(),
            };
        }
        match e {
            KqlError::Parse(p) => {
                let pos = p.pos();
                let message = match &p {
                    ParseError::Syntax { .. } | ParseError::Limit { .. } => p.to_string(),
                    ParseError::Unsupported { .. } => p.to_string(),
                };
                HuntError::Syntax {
                    line: pos.line,
                    column: pos.column,
                    message,
                }
            }
            KqlError::Bind(b) => {
                let pos = b.pos();
                let message = match &b {
                    BindError::Unknown { .. } | BindError::Invalid { .. } => b.to_string(),
                    BindError::Unsupported { .. } => b.to_string(),
                };
                HuntError::Semantic {
                    line: pos.line,
                    column: pos.column,
                    message,
                }
            }
        }
    }
}

impl From<PlanError> for HuntError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Unsupported { name } => HuntError::Unsupported { name },
            PlanError::Invalid(message) => HuntError::Semantic {
                line: 0,
                column: 0,
                message,
            },
            PlanError::DataFusion(m) => HuntError::Internal(m),
        }
    }
}

impl From<datafusion::error::DataFusionError> for HuntError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        let root = e.find_root();
        match root {
            datafusion::error::DataFusionError::ResourcesExhausted(m) => {
                HuntError::TooLarge(m.clone())
            }
            other => HuntError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for HuntError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidTenant(_) => HuntError::InvalidTenant,
            other => HuntError::Internal(other.to_string()),
        }
    }
}

/// Scans of one tenant's data in the 30-day window.
struct TenantScan<'a> {
    store: &'a EventStore,
    tenant: &'a str,
    devices: &'a DeviceScope,
    now: i64,
    stats: Mutex<HuntStats>,
}

/// Which devices' rows a query may read inside its tenant (Defender RBAC device groups).
///
/// Enforced in every table scan, like the tenant folder and the 30-day window, so no query
/// form (`join`, `union`, `let`, `invoke`, `evaluate`, a probe) can reach around it: a row
/// whose non-empty `DeviceId` is not in [`DeviceScope::Only::ids`], or whose non-empty
/// `DeviceName` is not in [`DeviceScope::Only::names`] (compared case-insensitively), is
/// never read. Rows that name no device, and tables without those columns, stay visible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeviceScope {
    /// Every device of the tenant (application tokens; users scoped to all groups).
    #[default]
    All,
    /// Only these devices.
    Only {
        /// Allowed `DeviceId` values (exact).
        ids: std::collections::BTreeSet<String>,
        /// Allowed `DeviceName` values, lower-cased.
        names: std::collections::BTreeSet<String>,
    },
}

impl DeviceScope {
    /// The scan filter for a table with `schema`, if this scope restricts it.
    fn filter(&self, schema: &Schema) -> Option<datafusion::logical_expr::Expr> {
        use datafusion::logical_expr::{lit, Expr};
        use datafusion::prelude::lower;
        let DeviceScope::Only { ids, names } = self else {
            return None;
        };
        let has = |name: &str| {
            schema
                .columns
                .iter()
                .any(|c| c.name == name && c.ty == KqlType::String)
        };
        // `col` is empty (strings are never null in the store) or one of `allowed`.
        let allowed = |column: Expr, allowed: &std::collections::BTreeSet<String>| {
            let empty = column.clone().is_null().or(column.clone().eq(lit("")));
            if allowed.is_empty() {
                empty
            } else {
                empty.or(column.in_list(allowed.iter().map(|v| lit(v.clone())).collect(), false))
            }
        };
        let by_id = has("DeviceId").then(|| allowed(ncol("DeviceId"), ids));
        let by_name = has("DeviceName").then(|| allowed(lower(ncol("DeviceName")), names));
        match (by_id, by_name) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

impl ScanSource for TenantScan<'_> {
    fn scan(&self, table: &str, schema: &Schema) -> Result<LogicalPlan, PlanError> {
        let since = self.now - WINDOW_NS;
        let files = self
            .store
            .files(self.tenant, table, &crate::store::day_of(since))
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        let has_ts = schema
            .columns
            .iter()
            .any(|c| c.name == "Timestamp" && c.ty == KqlType::DateTime);
        let arrow_schema = EventStore::arrow_schema_of(schema);
        let plan = if files.is_empty() {
            let empty = empty_plan(schema)?;
            // Rename `_i` to the catalog names.
            let exprs = schema
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cast(crate::exec::planner::pcol(i), arrow_type(c.ty)).alias(c.name.clone())
                })
                .collect::<Vec<_>>();
            LogicalPlanBuilder::from(empty).project(exprs)?.build()?
        } else {
            self.note_files(&files);
            let mut b = LogicalPlanBuilder::from(parquet_scan(table, &files, arrow_schema)?);
            if has_ts {
                b = b.filter(ncol("Timestamp").gt_eq(ts_lit(since)))?;
            }
            if let Some(devices) = self.devices.filter(schema) {
                b = b.filter(devices)?;
            }
            b.build()?
        };
        Ok(plan)
    }

    /// Reference data is global: it is read from `<root>/reference/<name>`, outside every
    /// tenant directory, for every tenant alike, with no time window.
    fn reference(&self, name: &str, schema: &Schema) -> Result<LogicalPlan, PlanError> {
        let files = crate::reference::reference_files(self.store, name)
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        if files.is_empty() {
            let exprs = schema
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| crate::exec::planner::pcol(i).alias(c.name.clone()))
                .collect::<Vec<_>>();
            return Ok(LogicalPlanBuilder::from(empty_plan(schema)?)
                .project(exprs)?
                .build()?);
        }
        self.note_files(&files);
        parquet_scan(name, &files, EventStore::arrow_schema_of(schema))
    }
}

impl TenantScan<'_> {
    fn note_files(&self, files: &[crate::store::StoredFile]) {
        let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        st.files_scanned += files.len() as u64;
        st.bytes_scanned += files.iter().map(|f| f.bytes).sum::<u64>();
        st.rows_scanned += files.iter().map(|f| f.rows).sum::<u64>();
    }
}

/// A scan of Parquet `files` with `schema`, named `table`.
fn parquet_scan(
    table: &str,
    files: &[crate::store::StoredFile],
    schema: arrow::datatypes::SchemaRef,
) -> Result<LogicalPlan, PlanError> {
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(f.path.to_string_lossy()))
        .collect::<Result<Vec<_>, _>>()?;
    let opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let cfg = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(schema);
    let t = ListingTable::try_new(cfg)?;
    Ok(LogicalPlanBuilder::scan(table, provider_as_source(Arc::new(t)), None)?.build()?)
}

/// Answers the binder's [`SchemaProbe`] questions (`bag_unpack` slots, `pivot` values) by
/// running the probe table through the query's own [`TenantScan`] (same tenant, same 30-day
/// window), with the engine's memory limit and the query's time limit.
struct EngineProbe<'a> {
    engine: &'a HuntingEngine,
    scan: &'a TenantScan<'a>,
    now: i64,
    deadline: Instant,
    /// The error behind the last failed probe.
    failure: Mutex<Option<HuntError>>,
}

impl SchemaProbe for EngineProbe<'_> {
    fn first_column(&self, table: &BoundTable, max_rows: usize) -> Result<Vec<Value>, ProbeError> {
        self.run(table, max_rows).map_err(|e| {
            let message = e.to_string();
            *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            ProbeError(message)
        })
    }
}

impl EngineProbe<'_> {
    fn run(&self, table: &BoundTable, max_rows: usize) -> Result<Vec<Value>, HuntError> {
        let ty = table
            .schema
            .columns
            .first()
            .map(|c| c.ty)
            .ok_or_else(|| HuntError::Internal("probe table without columns".into()))?;
        let plan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Planner::new(self.scan, self.now).plan(table)
        }))
        .map_err(|_| HuntError::Internal("the query planner panicked".into()))??;
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(max_rows))?
            .build()?;
        let ctx = self.engine.context()?;
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = self.engine.limits.timeout;
        // Binding is synchronous and may run inside the query's runtime: execute on a scoped
        // thread with its own runtime.
        let batches = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("palisade-probe".into())
                .stack_size(64 << 20)
                .spawn_scoped(scope, move || -> Result<Vec<RecordBatch>, HuntError> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| HuntError::Internal(format!("runtime: {e}")))?;
                    rt.block_on(async move {
                        let work = async {
                            let df = ctx.execute_logical_plan(plan).await?;
                            df.collect().await
                        };
                        match tokio::time::timeout(remaining, work).await {
                            Ok(r) => Ok(r?),
                            Err(_) => Err(HuntError::Timeout(timeout)),
                        }
                    })
                })
                .map_err(|e| HuntError::Internal(format!("cannot start probe thread: {e}")))?
                .join()
                .map_err(|_| HuntError::Internal("the schema probe panicked".into()))?
        })?;
        let mut out = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                let v = udf::val_at(b.column(0).as_ref(), r)
                    .map_err(|e| HuntError::Internal(e.to_string()))?;
                out.push(to_json(v, ty));
            }
        }
        Ok(out)
    }
}

/// A memory pool that remembers its peak reservation.
#[derive(Debug)]
struct TrackingPool {
    inner: GreedyMemoryPool,
    peak: std::sync::atomic::AtomicUsize,
}

impl TrackingPool {
    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl MemoryPool for TrackingPool {
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

/// Runs KQL hunting queries for tenants over an [`EventStore`].
#[derive(Debug)]
pub struct HuntingEngine {
    catalog: Arc<Catalog>,
    store: Arc<EventStore>,
    limits: Limits,
}

impl HuntingEngine {
    /// An engine over `store` with the Defender catalog and default [`Limits`].
    pub fn new(store: Arc<EventStore>) -> Self {
        HuntingEngine {
            catalog: Arc::new(store.catalog().clone()),
            store,
            limits: Limits::default(),
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<EventStore> {
        &self.store
    }

    fn plan(
        &self,
        scan: &TenantScan<'_>,
        query: &str,
        now: i64,
    ) -> Result<(LogicalPlan, Schema), HuntError> {
        let ast = crate::parse(query).map_err(KqlError::from)?;
        let probe = EngineProbe {
            engine: self,
            scan,
            now,
            deadline: Instant::now() + self.limits.timeout,
            failure: Mutex::new(None),
        };
        let bound = match crate::binder::bind_with_probe(&ast, &self.catalog, &probe) {
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
            line: 1,
            column: 1,
            message: "the query has no result statement".into(),
        })?;
        let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut planner = Planner::new(scan, now);
            let plan = planner.plan(first)?;
            planner.finish(plan, &first.schema)
        }))
        .map_err(|_| HuntError::Internal("the query planner panicked".into()))??;
        Ok((planned, first.schema.clone()))
    }

    /// The parsed query and its (unoptimised and optimised) logical plans, as text. Runs on a
    /// dedicated large-stack thread, like [`HuntingEngine::run`].
    pub fn explain(
        &self,
        tenant_id: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HuntError> {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("palisade-explain".into())
                .stack_size(64 << 20)
                .spawn_scoped(scope, || {
                    self.explain_here(tenant_id, &DeviceScope::All, query, now)
                })
                .map_err(|e| HuntError::Internal(format!("cannot start explain thread: {e}")))?
                .join()
                .map_err(|_| HuntError::Internal("the query planner panicked".into()))?
        })
    }

    fn explain_here(
        &self,
        tenant_id: &str,
        devices: &DeviceScope,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<String, HuntError> {
        if !crate::store::valid_tenant(tenant_id) {
            return Err(HuntError::InvalidTenant);
        }
        let now = now.timestamp_nanos_opt().unwrap_or(0);
        let ast = crate::parse(query).map_err(KqlError::from)?;
        let scan = TenantScan {
            store: &self.store,
            tenant: tenant_id,
            devices,
            now,
            stats: Mutex::new(HuntStats::default()),
        };
        let (plan, _) = self.plan(&scan, query, now)?;
        let ctx = self.context()?;
        let optimized = ctx.state().optimize(&plan)?;
        Ok(format!(
            "== AST ==\n{ast:#?}\n== Logical plan ==\n{}\n== Optimized plan ==\n{}",
            plan.display_indent(),
            optimized.display_indent()
        ))
    }

    fn context(&self) -> Result<SessionContext, HuntError> {
        self.context_with_pool().map(|(c, _)| c)
    }

    fn context_with_pool(&self) -> Result<(SessionContext, Arc<TrackingPool>), HuntError> {
        let pool = Arc::new(TrackingPool {
            inner: GreedyMemoryPool::new(self.limits.memory_bytes),
            peak: Default::default(),
        });
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool.clone())
            .build_arc()?;
        let mut config = SessionConfig::new().with_target_partitions(2);
        config
            .options_mut()
            .execution
            .parquet
            .schema_force_view_types = false;
        Ok((SessionContext::new_with_config_rt(config, runtime), pool))
    }

    /// Runs `query` for `tenant_id` with `now()` fixed to `now`.
    ///
    /// The query is planned and executed on a dedicated thread with a large stack and its own
    /// two-worker runtime, so deep plans cannot overflow the caller's (small) task stacks and a
    /// panic in the engine becomes [`HuntError::Internal`]. If the caller stops awaiting, the
    /// query still runs to completion or to [`Limits::timeout`].
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
    pub async fn run_scoped(
        &self,
        tenant_id: &str,
        devices: &DeviceScope,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        const STACK: usize = 64 << 20;
        let engine = HuntingEngine {
            catalog: self.catalog.clone(),
            store: self.store.clone(),
            limits: self.limits.clone(),
        };
        let (tenant, query) = (tenant_id.to_string(), query.to_string());
        let devices = devices.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("palisade-hunt".into())
            .stack_size(STACK)
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .thread_stack_size(STACK)
                        .enable_all()
                        .build()
                        .map_err(|e| HuntError::Internal(format!("runtime: {e}")))?;
                    rt.block_on(engine.run_here(&tenant, &devices, &query, now))
                }));
                let _ = tx.send(result.unwrap_or_else(|_| {
                    Err(HuntError::Internal("the query engine panicked".into()))
                }));
            })
            .map_err(|e| HuntError::Internal(format!("cannot start query thread: {e}")))?;
        rx.await
            .map_err(|_| HuntError::Internal("query thread ended without a result".into()))?
    }

    async fn run_here(
        &self,
        tenant_id: &str,
        devices: &DeviceScope,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<HuntResult, HuntError> {
        let started = Instant::now();
        if !crate::store::valid_tenant(tenant_id) {
            return Err(HuntError::InvalidTenant);
        }
        let now_ns = now.timestamp_nanos_opt().unwrap_or(0);
        let scan = TenantScan {
            store: &self.store,
            tenant: tenant_id,
            devices,
            now: now_ns,
            stats: Mutex::new(HuntStats::default()),
        };
        let (plan, schema) = self.plan(&scan, query, now_ns)?;
        let max = self.limits.max_rows;
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(max.saturating_add(1)))?
            .build()?;
        let (ctx, pool) = self.context_with_pool()?;
        // Run on a task so that a panic inside DataFusion becomes an error, and so that a
        // timeout can abort the work.
        let mut task = tokio::spawn(async move {
            let df = ctx.execute_logical_plan(plan).await?;
            df.collect().await
        });
        let batches = match tokio::time::timeout(self.limits.timeout, &mut task).await {
            Ok(Ok(r)) => r?,
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
        Ok(HuntResult {
            columns: schema
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.api_name().to_string()))
                .collect(),
            rows,
            stats,
            truncated,
        })
    }
}

/// Converts result batches to API rows (at most `max`), returning whether rows were dropped.
pub fn batches_to_rows(
    batches: &[RecordBatch],
    schema: &Schema,
    max: usize,
) -> Result<(Vec<Map<String, Value>>, bool), HuntError> {
    let mut rows = Vec::new();
    let mut truncated = false;
    for b in batches {
        for r in 0..b.num_rows() {
            if rows.len() >= max {
                truncated = true;
                return Ok((rows, truncated));
            }
            let mut m = Map::new();
            for (i, c) in schema.columns.iter().enumerate() {
                let col = b.column(i);
                let v =
                    udf::val_at(col.as_ref(), r).map_err(|e| HuntError::Internal(e.to_string()))?;
                m.insert(c.name.clone(), to_json(v, c.ty));
            }
            rows.push(m);
        }
    }
    Ok((rows, truncated))
}

fn to_json(v: udf::Val, ty: KqlType) -> Value {
    use udf::Val;
    match (v, ty) {
        (Val::Null, _) => Value::Null,
        (Val::Str(s), KqlType::Dynamic) => parse_dyn(s),
        (Val::Str(s), _) => Value::String(s.to_string()),
        (Val::Bool(b), _) => Value::Bool(b),
        (Val::Ts(n), _) | (Val::I64(n), KqlType::DateTime) => Value::String(format_datetime(n)),
        (Val::I64(n), KqlType::TimeSpan) => Value::String(format_timespan(n)),
        (Val::I64(n), _) => Value::from(n),
        (Val::F64(f), _) => match serde_json::Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => Value::String("NaN".into()),
            None if f > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        },
    }
}
