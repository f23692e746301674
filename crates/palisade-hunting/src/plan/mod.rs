//! [`BoundTable`] → DataFusion [`LogicalPlan`] with Kusto semantics.
//!
//! Every planned node outputs its columns positionally as `_0`, `_1`, … with exactly the Arrow
//! type [`arrow_type`] gives for the bound column type; the KQL names are applied only to the
//! final result. This keeps KQL's case-sensitive, possibly duplicated, possibly odd names away
//! from DataFusion's identifier rules.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Column as DfColumn, DFSchema, ScalarValue};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{
    cast, lit, EmptyRelation, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr,
};

use palisade_kql::catalog::FILE_PROFILE;
use palisade_kql::functions::ScalarFunction;
use palisade_kql::{
    const_eval, BoundExpr, BoundTable, ExprNode, KqlType, Literal, Schema, TableNode,
};

use crate::geoip::GeoIpDatabase;
use crate::udf::arrow_type;

mod aggregate;
mod expr;
mod join;
mod mv_expand;
mod parse;
mod range;
mod scan_steps;
mod series;
mod top_nested;
mod unique;

/// Why a bound query cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A KQL construct the planner does not implement, by name.
    #[error("'{name}' is not supported by the Palisade query engine")]
    Unsupported {
        /// The construct's KQL name (`make-series`, `hash_md5`, ...).
        name: String,
    },
    /// The query is semantically invalid for execution (e.g. a non-constant `take` count).
    #[error("{0}")]
    Invalid(String),
    /// Like [`PlanError::Invalid`], at a known place in the text (e.g. a `range` longer than
    /// the limit).
    #[error("{message} at {pos}")]
    InvalidAt {
        /// What is wrong.
        message: String,
        /// Where.
        pos: palisade_kql::Pos,
    },
    /// DataFusion refused the plan.
    #[error("planning failed: {0}")]
    DataFusion(String),
}

impl From<datafusion::error::DataFusionError> for PlanError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        PlanError::DataFusion(e.to_string())
    }
}

pub(crate) type PResult<T> = Result<T, PlanError>;

pub(crate) fn unsupported<T>(name: impl Into<String>) -> PResult<T> {
    Err(PlanError::Unsupported { name: name.into() })
}

/// Provides the (tenant- and time-filtered) scans of catalog tables.
pub trait ScanSource {
    /// A plan reading table `table` with catalog schema `schema`, columns named as in the
    /// catalog.
    fn scan(&self, table: &str, schema: &Schema) -> PResult<LogicalPlan>;

    /// A plan reading reference dataset `name` (global data that is no tenant's, see
    /// `palisade_events::reference`) with schema `schema`, columns named as in the schema. The default
    /// has no reference data: no rows.
    fn reference(&self, name: &str, schema: &Schema) -> PResult<LogicalPlan> {
        let _ = name;
        let exprs = schema
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| pcol(i).alias(c.name.clone()))
            .collect::<Vec<_>>();
        Ok(LogicalPlanBuilder::from(empty_plan(schema)?)
            .project(exprs)?
            .build()?)
    }
}

/// Positional column reference `_i`.
pub(crate) fn pcol(i: usize) -> Expr {
    Expr::Column(DfColumn::new_unqualified(format!("_{i}")))
}

/// Named, unqualified column reference.
pub(crate) fn ncol(name: &str) -> Expr {
    Expr::Column(DfColumn::new_unqualified(name))
}

/// Timestamp literal (nanoseconds, UTC).
pub(crate) fn ts_lit(ns: i64) -> Expr {
    lit(ScalarValue::TimestampNanosecond(
        Some(ns),
        Some("UTC".into()),
    ))
}

/// Typed null of a KQL type.
pub(crate) fn null_of(ty: KqlType) -> PResult<Expr> {
    Ok(lit(ScalarValue::try_from(&arrow_type(ty))?))
}

/// The literal's DataFusion expression.
pub(crate) fn literal(l: &Literal) -> PResult<Expr> {
    Ok(match l {
        Literal::Bool(b) => lit(*b),
        Literal::Long(v) => lit(*v),
        Literal::Int(v) => lit(*v),
        Literal::Real(v) => lit(*v),
        Literal::String(s) => lit(s.clone()),
        Literal::DateTime(ns) => ts_lit(*ns),
        Literal::TimeSpan(ns) => lit(*ns),
        Literal::Guid(g) => lit(g.to_lowercase()),
        Literal::Dynamic(v) => {
            if v.is_null() {
                null_of(KqlType::Dynamic)?
            } else {
                lit(v.to_string())
            }
        }
        Literal::Null(ty) => null_of(*ty)?,
    })
}

/// Plans bound tables into DataFusion logical plans.
pub struct Planner<'a> {
    source: &'a dyn ScanSource,
    /// The query's `now`, nanoseconds since the epoch.
    pub now: i64,
    partition: Vec<LogicalPlan>,
    subqueries: usize,
    /// Sub-expressions an earlier step computed as a column (aggregate and window calls),
    /// with that column's name: [`Planner::expr`] reads the column instead.
    computed: Vec<(BoundExpr, String)>,
    /// How deep [`Planner::plan`] is in its recursion (0: not planning).
    depth: usize,
    /// The operator's GeoIP database (`geo_info_from_ip_address`).
    pub(crate) geoip: Option<Arc<GeoIpDatabase>>,
    /// Notes for the result's stats (e.g. a function answering null for want of data),
    /// each once.
    pub(crate) notes: Vec<String>,
    /// Whether the query calls `ingestion_time()` (decided at the root): then table scans
    /// carry the hidden [`INGESTION_TIME`] column after their `_i` columns, and `where`,
    /// `extend`/`project` and `sort` pass it on.
    ingestion: Option<bool>,
    /// Whether the plan just planned (the input of the expressions being planned) carries
    /// [`INGESTION_TIME`]; `ingestion_time()` is null where it does not (after `summarize`,
    /// `join`, `union`, …).
    hidden_input: bool,
}

/// The hidden column `ingestion_time()` reads, as scans name it (see [`ScanSource::scan`]).
pub(crate) const INGESTION_TIME: &str = palisade_events::INGESTION_TIME;

/// True when `plan` carries the hidden [`INGESTION_TIME`] column.
fn has_hidden(plan: &LogicalPlan) -> bool {
    plan.schema()
        .has_column_with_unqualified_name(INGESTION_TIME)
}

/// True when `t` or any of its inputs calls `ingestion_time()`.
fn uses_ingestion_time(t: &BoundTable) -> bool {
    use palisade_kql::functions::DateTimeFn;
    t.exprs().iter().any(|e| {
        e.any(|x| {
            matches!(
                x.node,
                ExprNode::Call {
                    func: ScalarFunction::DateTime(DateTimeFn::IngestionTime),
                    ..
                }
            )
        })
    }) || t.inputs().into_iter().any(uses_ingestion_time)
}

impl<'a> Planner<'a> {
    /// A planner reading tables from `source` with `now()` fixed to `now_ns`.
    pub fn new(source: &'a dyn ScanSource, now_ns: i64) -> Self {
        Planner {
            source,
            now: now_ns,
            partition: Vec::new(),
            subqueries: 0,
            computed: Vec::new(),
            ingestion: None,
            hidden_input: false,
            depth: 0,
            geoip: None,
            notes: Vec::new(),
        }
    }

    /// Answers `geo_info_from_ip_address` from `db`.
    pub fn with_geoip(mut self, db: Option<Arc<GeoIpDatabase>>) -> Self {
        self.geoip = db;
        self
    }

    /// Adds `note` to the result's stats (once).
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Plans `t`; output columns are `_0.._n` (see [`Planner::finish`] for KQL names). The
    /// whole plan's projections get outputs of their own ([`unique::qualify_projections`]),
    /// which keeps DataFusion 55's projection merging from dropping a repeated computation.
    pub fn plan(&mut self, t: &BoundTable) -> PResult<LogicalPlan> {
        if self.ingestion.is_none() {
            self.ingestion = Some(uses_ingestion_time(t));
        }
        self.depth += 1;
        let planned = self.plan_node(t);
        self.depth -= 1;
        let p = match planned {
            Ok(p) if self.depth == 0 => unique::qualify_projections(p),
            other => other,
        }?;
        self.hidden_input = has_hidden(&p);
        Ok(p)
    }

    /// The row's ingestion time where the input carries it, else a null `datetime`.
    pub(crate) fn ingestion_time(&self) -> PResult<Expr> {
        if self.hidden_input {
            Ok(ncol(INGESTION_TIME))
        } else {
            null_of(KqlType::DateTime)
        }
    }

    /// `out` plus the hidden [`INGESTION_TIME`] column when `input` carries it.
    fn keep_hidden(input: &LogicalPlan, mut out: Vec<Expr>) -> Vec<Expr> {
        if has_hidden(input) {
            out.push(ncol(INGESTION_TIME));
        }
        out
    }

    /// [`Planner::plan`] of one node (its inputs by [`Planner::plan`] again).
    fn plan_node(&mut self, t: &BoundTable) -> PResult<LogicalPlan> {
        let schema = &t.schema;
        match &t.node {
            TableNode::Scan { table } => {
                let raw = self.source.scan(table, schema)?;
                let hidden = self.ingestion == Some(true)
                    && raw
                        .schema()
                        .has_column_with_unqualified_name(INGESTION_TIME);
                let exprs = schema
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let e = ncol(&c.name);
                        // Kusto strings are never null: a missing string reads as "".
                        let e = if matches!(c.ty, KqlType::String) {
                            datafusion::functions::expr_fn::coalesce(vec![e, lit("")])
                        } else {
                            e
                        };
                        cast(e, arrow_type(c.ty)).alias(format!("_{i}"))
                    })
                    .chain(hidden.then(|| ncol(INGESTION_TIME)))
                    .collect::<Vec<_>>();
                Ok(LogicalPlanBuilder::from(raw).project(exprs)?.build()?)
            }
            TableNode::Values { rows } => {
                if rows.is_empty() {
                    return empty_plan(schema);
                }
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut row = Vec::with_capacity(r.len());
                    for (i, e) in r.iter().enumerate() {
                        let ty = schema.columns.get(i).map_or(e.ty, |c| c.ty);
                        let x = self.expr(e)?;
                        row.push(self.conv(x, e.ty, ty)?);
                    }
                    out.push(row);
                }
                let b = LogicalPlanBuilder::values(out)?;
                let plan = b.build()?;
                // values() names columns column1..; rename positionally with exact types.
                let names: Vec<String> = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let exprs = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        cast(ncol(n), arrow_type(schema.columns[i].ty)).alias(format!("_{i}"))
                    })
                    .collect::<Vec<_>>();
                Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
            }
            TableNode::Range { from, to, step } => self.range(schema, from, to, step),
            TableNode::Print { exprs } => {
                let mut out = Vec::new();
                for (i, e) in exprs.iter().enumerate() {
                    let x = self.expr(e)?;
                    out.push(
                        self.typed(x, e.ty, schema.columns[i].ty)?
                            .alias(format!("_{i}")),
                    );
                }
                Ok(LogicalPlanBuilder::empty(true).project(out)?.build()?)
            }
            TableNode::Union {
                inputs,
                labels,
                source_column,
            } => {
                let mut plans = Vec::new();
                for (k, input) in inputs.iter().enumerate() {
                    let p = self.plan(input)?;
                    let mut exprs = Vec::new();
                    for (j, c) in schema.columns.iter().enumerate() {
                        let e = if Some(j) == *source_column {
                            lit(labels.get(k).cloned().unwrap_or_default())
                        } else {
                            let found = input.schema.columns.iter().position(|ic| {
                                ic.ty == c.ty
                                    && (ic.name == c.name
                                        || format!("{}_{}", ic.name, ic.ty.name()) == c.name)
                            });
                            match found {
                                Some(ix) => pcol(ix),
                                None if c.ty == KqlType::String => lit(""),
                                None => null_of(c.ty)?,
                            }
                        };
                        exprs.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
                    }
                    plans.push(LogicalPlanBuilder::from(p).project(exprs)?.build()?);
                }
                let mut it = plans.into_iter();
                let first = it
                    .next()
                    .ok_or_else(|| PlanError::Invalid("union has no inputs".into()))?;
                let mut b = LogicalPlanBuilder::from(first);
                for p in it {
                    b = b.union(p)?;
                }
                Ok(b.build()?)
            }
            TableNode::Filter { input, predicate } => {
                let p = self.plan(input)?;
                if !has_window_call(predicate) {
                    let pred = self.expr(predicate)?;
                    let pred = self.conv(pred, predicate.ty, KqlType::Bool)?;
                    return Ok(LogicalPlanBuilder::from(p).filter(pred)?.build()?);
                }
                let (p, preds) = self.with_windows(
                    p,
                    input.schema.columns.len(),
                    std::slice::from_ref(predicate),
                )?;
                let pred = self.conv(preds[0].clone(), predicate.ty, KqlType::Bool)?;
                let back =
                    Self::keep_hidden(&p, (0..input.schema.columns.len()).map(pcol).collect());
                Ok(LogicalPlanBuilder::from(p)
                    .filter(pred)?
                    .project(back)?
                    .build()?)
            }
            TableNode::Project { input, exprs } => {
                let p = self.plan(input)?;
                let (p, xs) = self.with_windows(p, input.schema.columns.len(), exprs)?;
                let mut out = Vec::with_capacity(exprs.len());
                for (i, (x, e)) in xs.into_iter().zip(exprs).enumerate() {
                    out.push(
                        self.typed(x, e.ty, schema.columns[i].ty)?
                            .alias(format!("_{i}")),
                    );
                }
                let out = Self::keep_hidden(&p, out);
                Ok(LogicalPlanBuilder::from(p).project(out)?.build()?)
            }
            TableNode::Aggregate { input, keys, aggs } => self.aggregate(schema, input, keys, aggs),
            TableNode::Sort { input, keys } => {
                let p = self.plan(input)?;
                let mut sorts: Vec<SortExpr> = Vec::new();
                for k in keys {
                    let e = self.expr(&k.expr)?;
                    sorts.push(e.sort(k.asc, k.nulls_first));
                }
                Ok(LogicalPlanBuilder::from(p).sort(sorts)?.build()?)
            }
            TableNode::Limit { input, n } => {
                let p = self.plan(input)?;
                let n = self.const_count(n)?;
                Ok(LogicalPlanBuilder::from(p).limit(0, Some(n))?.build()?)
            }
            TableNode::Sample { input, n } => {
                // `sample N`: N uniformly random rows (random order, then take).
                let p = self.plan(input)?;
                let n = self.const_count(n)?;
                Ok(LogicalPlanBuilder::from(p)
                    .sort(vec![
                        datafusion::functions::expr_fn::random().sort(true, false)
                    ])?
                    .limit(0, Some(n))?
                    .build()?)
            }
            TableNode::Distinct { input } => {
                let p = self.plan(input)?;
                // Rows equal but for their ingestion time are one row.
                let p = if has_hidden(&p) {
                    let cols = (0..input.schema.columns.len())
                        .map(pcol)
                        .collect::<Vec<_>>();
                    LogicalPlanBuilder::from(p).project(cols)?.build()?
                } else {
                    p
                };
                Ok(LogicalPlanBuilder::from(p).distinct()?.build()?)
            }
            TableNode::Count { input } => {
                let p = self.plan(input)?;
                Ok(LogicalPlanBuilder::from(p)
                    .aggregate(Vec::<Expr>::new(), vec![agg::count(lit(1i64)).alias("_c")])?
                    .project(vec![cast(ncol("_c"), DataType::Int64).alias("_0")])?
                    .build()?)
            }
            TableNode::Join {
                left,
                right,
                kind,
                on,
                outputs,
            } => self.join(schema, left, right, *kind, on, outputs),
            TableNode::MvExpand {
                input,
                items,
                passthrough,
                item_index,
                limit,
            } => self.mv_expand(
                schema,
                input,
                items,
                passthrough,
                *item_index,
                limit.as_ref(),
            ),
            TableNode::Parse { .. } => self.parse(t),
            TableNode::Serialize { input } => self.plan(input),
            TableNode::GetSchema { input } => {
                let rows: Vec<Vec<Expr>> = input
                    .schema
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        vec![
                            lit(c.name.clone()),
                            lit(i as i32),
                            lit(format!("System.{}", c.ty.dotnet_name())),
                            lit(c.ty.name().to_string()),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    return empty_plan(schema);
                }
                let plan = LogicalPlanBuilder::values(rows)?.build()?;
                let names: Vec<String> = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let exprs = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let ty = schema.columns.get(i).map_or(KqlType::String, |c| c.ty);
                        cast(ncol(n), arrow_type(ty)).alias(format!("_{i}"))
                    })
                    .collect::<Vec<_>>();
                Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
            }
            TableNode::MakeSeries {
                input,
                keys,
                aggs,
                axis,
                from,
                to,
                step,
                nonempty,
            } => self.make_series(
                schema,
                input,
                keys,
                aggs,
                axis,
                from.as_ref(),
                to.as_ref(),
                step,
                *nonempty,
            ),
            TableNode::TopNested { input, levels } => self.top_nested(schema, input, levels),
            TableNode::Partition { input, key, body } => {
                // Supported exactly: `partition by K ( top N by ... )` = the top N rows of each
                // partition, via row_number() over (partition by K order by ...).
                let TableNode::Limit { input: sorted, n } = &body.node else {
                    return unsupported("partition");
                };
                let TableNode::Sort { input: src, keys } = &sorted.node else {
                    return unsupported("partition");
                };
                if !matches!(src.node, TableNode::PartitionSource) {
                    return unsupported("partition");
                }
                let n = self.const_count(n)?;
                let p = self.plan(input)?;
                let mut order = Vec::new();
                for k in keys {
                    order.push(self.expr(&k.expr)?.sort(k.asc, k.nulls_first));
                }
                let rn = datafusion::functions_window::expr_fn::row_number()
                    .partition_by(vec![pcol(*key)])
                    .order_by(order)
                    .build()?
                    .alias("__prn");
                let back: Vec<Expr> = (0..schema.columns.len()).map(pcol).collect();
                Ok(LogicalPlanBuilder::from(p)
                    .window(vec![rn])?
                    .filter(ncol("__prn").lt_eq(lit(n as u64)))?
                    .project(back)?
                    .build()?)
            }
            TableNode::ScanSteps { input, scan } => self.scan_steps(schema, input, scan),
            TableNode::PartitionSource => match self.partition.last() {
                Some(p) => Ok(p.clone()),
                None => Err(PlanError::Invalid(
                    "partition source outside partition".into(),
                )),
            },
            TableNode::Invoke {
                input,
                function,
                args,
            } if function == FILE_PROFILE => self.file_profile(schema, input, args),
            TableNode::Invoke { function, .. } => unsupported(format!("invoke {function}")),
        }
    }

    /// Renames the positional output of `plan` to the KQL column names of `schema`.
    pub fn finish(&self, plan: LogicalPlan, schema: &Schema) -> PResult<LogicalPlan> {
        let exprs = schema
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| pcol(i).alias(c.name.clone()))
            .collect::<Vec<_>>();
        Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
    }

    /// A constant, non-negative row count.
    pub(crate) fn const_count(&self, n: &BoundExpr) -> PResult<usize> {
        palisade_kql::const_count(n, self.now)
            .ok_or_else(|| PlanError::Invalid("row count must be a non-negative constant".into()))
    }
}

/// True when `e` calls a row-order function (`row_number`, `prev`, `next`).
fn has_window_call(e: &BoundExpr) -> bool {
    e.any(|x| {
        matches!(
            x.node,
            ExprNode::Call {
                func: ScalarFunction::Window(_),
                ..
            }
        )
    })
}

/// An empty relation with the positional, typed columns of `schema`.
pub(crate) fn empty_plan(schema: &Schema) -> PResult<LogicalPlan> {
    let fields: Vec<arrow::datatypes::Field> = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| arrow::datatypes::Field::new(format!("_{i}"), arrow_type(c.ty), true))
        .collect();
    let df = DFSchema::try_from(arrow::datatypes::Schema::new(fields))?;
    Ok(LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: false,
        schema: Arc::new(df),
    }))
}
