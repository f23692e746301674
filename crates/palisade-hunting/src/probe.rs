//! The engine's answer to the binder's [`SchemaProbe`]: `bag_unpack` and `pivot` learn their
//! output columns by running their input in the query's own scope and limits.

use std::sync::Mutex;
use std::time::Instant;

use datafusion::logical_expr::LogicalPlanBuilder;
use palisade_kql::{BoundTable, ProbeError, SchemaProbe};
use serde_json::Value;

use crate::plan::Planner;
use crate::result::to_json;
use crate::scan::TenantScan;
use crate::udf::val_at;
use crate::{HuntError, HuntingEngine};

/// Runs the probe table through the query's own [`TenantScan`] (same tenant, devices and
/// 30-day window), with the engine's memory limit and the query's remaining time.
pub(crate) struct EngineProbe<'a> {
    pub(crate) engine: &'a HuntingEngine,
    pub(crate) scan: &'a TenantScan<'a>,
    pub(crate) now: i64,
    pub(crate) deadline: Instant,
    /// The error behind the last failed probe.
    pub(crate) failure: Mutex<Option<HuntError>>,
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
        let pool = self.engine.pool();
        let plan = crate::budget::planning(&crate::budget::Budget::new(pool.clone()), || {
            Planner::new(self.scan, self.now)
                .with_geoip(self.engine.geoip().cloned())
                .plan(table)
        })?;
        let plan = LogicalPlanBuilder::from(plan)
            .limit(0, Some(max_rows))?
            .build()?;
        let ctx = self.engine.context(&pool)?;
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = self.engine.limits().timeout;
        // Binding is synchronous and runs on a worker of the engine's runtime: block this
        // worker (the runtime moves its other tasks away) while the probe runs on it.
        let batches = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                let work = async {
                    let df = ctx.execute_logical_plan(plan).await?;
                    df.collect().await
                };
                match tokio::time::timeout(remaining, work).await {
                    Ok(r) => Ok(r?),
                    Err(_) => Err(HuntError::Timeout(timeout)),
                }
            })
        })?;
        let mut out = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                let v = val_at(b.column(0).as_ref(), r)
                    .map_err(|e| HuntError::Internal(e.to_string()))?;
                out.push(to_json(v, ty));
            }
        }
        Ok(out)
    }
}
