//! The scans every query reads through: the caller's tenant folder, the 30-day window and the
//! caller's devices, applied to each table scan (so no query form can reach around them), and
//! the global reference datasets.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use palisade_events::{arrow_schema, arrow_type, EventStore, StoredFile};
use palisade_kql::value::{day_of, NANOS_PER_DAY};
use palisade_kql::{KqlType, Schema};

use crate::plan::{empty_plan, ncol, pcol, ts_lit, PlanError, ScanSource};
use crate::result::HuntStats;

/// The hunting window: 30 days.
pub const WINDOW_NS: i64 = 30 * NANOS_PER_DAY;

/// Scans of one tenant's data in the 30-day window.
pub(crate) struct TenantScan<'a> {
    pub(crate) store: &'a EventStore,
    pub(crate) tenant: &'a str,
    pub(crate) devices: &'a DeviceScope,
    /// The window's start (ns since the epoch): 30 days before the query's now, or later
    /// when the caller narrows it ([`crate::HuntingEngine::run_within`]).
    pub(crate) since: i64,
    pub(crate) stats: Mutex<HuntStats>,
    /// Declare `Timestamp` order on scans whose files are all sorted ([`crate::Tuning`]).
    pub(crate) sorted_files: bool,
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
        ids: BTreeSet<String>,
        /// Allowed `DeviceName` values, lower-cased.
        names: BTreeSet<String>,
    },
}

impl DeviceScope {
    /// The scan filter for a table with `schema`, if this scope restricts it.
    fn filter(&self, schema: &Schema) -> Option<datafusion::logical_expr::Expr> {
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
        let allowed = |column: Expr, allowed: &BTreeSet<String>| {
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
        let since = self.since;
        let files = self
            .store
            .files(self.tenant, table, &day_of(since))
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        let has_ts = schema
            .columns
            .iter()
            .any(|c| c.name == "Timestamp" && c.ty == KqlType::DateTime);
        let arrow_schema = arrow_schema(schema);
        let plan = if files.is_empty() {
            let empty = empty_plan(schema)?;
            // Rename `_i` to the catalog names.
            let exprs = schema
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| cast(pcol(i), arrow_type(c.ty)).alias(c.name.clone()))
                .collect::<Vec<_>>();
            LogicalPlanBuilder::from(empty).project(exprs)?.build()?
        } else {
            self.note_files(&files);
            let mut b = LogicalPlanBuilder::from(parquet_scan(
                table,
                &files,
                arrow_schema,
                self.sorted_files && has_ts,
            )?);
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
        let files = palisade_events::reference::reference_files(self.store, name)
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        if files.is_empty() {
            let exprs = schema
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| pcol(i).alias(c.name.clone()))
                .collect::<Vec<_>>();
            return Ok(LogicalPlanBuilder::from(empty_plan(schema)?)
                .project(exprs)?
                .build()?);
        }
        self.note_files(&files);
        parquet_scan(name, &files, arrow_schema(schema), false)
    }
}

impl TenantScan<'_> {
    fn note_files(&self, files: &[StoredFile]) {
        let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        st.files_scanned += files.len() as u64;
        st.bytes_scanned += files.iter().map(|f| f.bytes).sum::<u64>();
        st.rows_scanned += files.iter().map(|f| f.rows).sum::<u64>();
    }
}

/// A scan of Parquet `files` with `schema`, named `table`; with `declare_sorted`, when every
/// file was written in `Timestamp` order, that order is declared to the planner.
fn parquet_scan(
    table: &str,
    files: &[StoredFile],
    schema: arrow::datatypes::SchemaRef,
    declare_sorted: bool,
) -> Result<LogicalPlan, PlanError> {
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(f.path.to_string_lossy()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if declare_sorted && files.iter().all(|f| f.sorted) {
        opts = opts.with_file_sort_order(vec![vec![ncol("Timestamp").sort(true, false)]]);
    }
    let cfg = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(schema);
    let t = ListingTable::try_new(cfg)?;
    Ok(LogicalPlanBuilder::scan(table, provider_as_source(Arc::new(t)), None)?.build()?)
}
