//! The scans every query reads through: the caller's tenant folder, the 30-day window and the
//! caller's devices, applied to each table scan (so no query form can reach around them), and
//! the global reference datasets.
//!
//! A scan also computes what is not stored: the Log Analytics workspace columns of a
//! Sentinel-connected tenant's XDR tables ([`palisade_kql::catalog::WORKSPACE_COLUMNS`]), and
//! it passes on the hidden ingestion time ([`INGESTION_TIME`]) for `ingestion_time()`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use palisade_events::{arrow_schema, arrow_type, EventStore, StoredFile, INGESTION_TIME};
use palisade_kql::catalog::LATE_ARRIVAL_NS;
use palisade_kql::value::{day_of, NANOS_PER_DAY};
use palisade_kql::{Column, KqlType, Schema};

use crate::file_caches::FileCaches;
use crate::plan::{empty_plan, ncol, null_of, pcol, ts_lit, PlanError, ScanSource};
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
    /// The tenant's connected Sentinel workspace id (the `TenantId` column), if any.
    pub(crate) workspace: Option<&'a str>,
    /// The engine's per-file statistics, kept across queries ([`FileCaches`]).
    pub(crate) file_caches: &'a FileCaches,
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
    /// The table's stored columns in the window and the caller's devices, then the columns of
    /// `schema` (the bound view: stored columns and computed workspace columns) by name, then
    /// [`INGESTION_TIME`].
    fn scan(&self, table: &str, schema: &Schema) -> Result<LogicalPlan, PlanError> {
        let since = self.since;
        let stored = self
            .store
            .catalog()
            .table(table)
            .ok_or_else(|| PlanError::Invalid(format!("unknown table '{table}'")))?;
        let files = self
            .store
            .files(self.tenant, table, &day_of(since))
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        let time_column = stored.time_column();
        let read = if files.is_empty() {
            let mut columns = stored.columns.clone();
            columns.push(Column::new(INGESTION_TIME, KqlType::DateTime));
            let with_hidden = Schema::new(columns);
            let empty = empty_plan(&with_hidden)?;
            // Rename `_i` to the stored names.
            let exprs = with_hidden
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
                palisade_events::stored_arrow_schema(stored),
                time_column.filter(|_| self.sorted_files),
                self.file_caches,
            )?);
            if let Some(t) = time_column {
                b = b.filter(ncol(t).gt_eq(ts_lit(since)))?;
            }
            if let Some(devices) = self.devices.filter(stored) {
                b = b.filter(devices)?;
            }
            b.build()?
        };
        if schema.columns.iter().all(|c| stored.contains(&c.name)) {
            return Ok(read);
        }
        // Workspace columns, computed.
        let mut exprs = Vec::with_capacity(schema.columns.len() + 1);
        for c in &schema.columns {
            let e = if stored.contains(&c.name) {
                ncol(&c.name)
            } else {
                self.workspace_column(table, &c.name, time_column)
                    .map_or_else(|| null_of(c.ty), Ok)?
                    .alias(c.name.clone())
            };
            exprs.push(e);
        }
        exprs.push(ncol(INGESTION_TIME));
        Ok(LogicalPlanBuilder::from(read).project(exprs)?.build()?)
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
        parquet_scan(name, &files, arrow_schema(schema), None, self.file_caches)
    }
}

impl TenantScan<'_> {
    /// The value of workspace column `name` of `table`, whose event time is `time_column`.
    fn workspace_column(&self, table: &str, name: &str, time_column: Option<&str>) -> Option<Expr> {
        use datafusion::logical_expr::when;
        Some(match name {
            // The event time, or the ingestion time for a row more than 48 hours late (or for
            // a table without an event time).
            "TimeGenerated" => {
                let ingested = ncol(INGESTION_TIME);
                match time_column {
                    Some(t) => {
                        let late = cast(ingested.clone(), arrow::datatypes::DataType::Int64)
                            - cast(ncol(t), arrow::datatypes::DataType::Int64);
                        when(late.gt(lit(LATE_ARRIVAL_NS)), ingested)
                            .otherwise(ncol(t))
                            .ok()?
                    }
                    None => ingested,
                }
            }
            "TenantId" => lit(self.workspace.unwrap_or_default().to_string()),
            "Type" => lit(table.to_string()),
            "SourceSystem" => lit(""),
            _ => return None,
        })
    }

    fn note_files(&self, files: &[StoredFile]) {
        let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        st.files_scanned += files.len() as u64;
        st.bytes_scanned += files.iter().map(|f| f.bytes).sum::<u64>();
        st.rows_scanned += files.iter().map(|f| f.rows).sum::<u64>();
    }
}

/// A scan of Parquet `files` with `schema`, named `table`; with `sorted_by` a time column, when
/// every file was written in that column's order, the order is declared to the planner. Each
/// file's statistics come from `caches` once computed.
fn parquet_scan(
    table: &str,
    files: &[StoredFile],
    schema: arrow::datatypes::SchemaRef,
    sorted_by: Option<&str>,
    caches: &FileCaches,
) -> Result<LogicalPlan, PlanError> {
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(f.path.to_string_lossy()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if let Some(column) = sorted_by.filter(|_| files.iter().all(|f| f.sorted)) {
        opts = opts.with_file_sort_order(vec![vec![ncol(column).sort(true, false)]]);
    }
    let cfg = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(opts)
        .with_schema(schema);
    let t = ListingTable::try_new(cfg)?.with_cache(Some(caches.statistics()));
    Ok(LogicalPlanBuilder::scan(table, provider_as_source(Arc::new(t)), None)?.build()?)
}
