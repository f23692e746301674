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
use datafusion::logical_expr::expr_fn::{in_subquery, not_in_subquery, scalar_subquery};
use datafusion::logical_expr::{
    cast, lit, when, EmptyRelation, Expr, ExprFunctionExt, JoinType, LogicalPlan,
    LogicalPlanBuilder, SortExpr,
};

use super::scalar;
use super::udf::{self, arrow_type, StrPred};
use crate::ast::{BinOp, ListOp, Literal, StrOpKind};
use crate::bound::{BoundExpr, BoundParsePart, BoundTable, ExprNode, JoinKind, TableNode};
use crate::catalog::Schema;
use crate::types::KqlType;

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
    /// [`crate::reference`]) with schema `schema`, columns named as in the schema. The default
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

/// Evaluates a constant expression (literals, negation, arithmetic, `ago`/`now`).
pub(crate) fn const_eval(e: &BoundExpr, now: i64) -> Option<Literal> {
    match &e.node {
        ExprNode::Literal(l) => Some(l.clone()),
        ExprNode::Neg(x) => match const_eval(x, now)? {
            Literal::Long(v) => Some(Literal::Long(-v)),
            Literal::Int(v) => Some(Literal::Int(-v)),
            Literal::Real(v) => Some(Literal::Real(-v)),
            Literal::TimeSpan(v) => Some(Literal::TimeSpan(-v)),
            _ => None,
        },
        ExprNode::Call { func, args } if func == "ago" => match const_eval(args.first()?, now)? {
            Literal::TimeSpan(v) => Some(Literal::DateTime(now - v)),
            _ => None,
        },
        ExprNode::Call { func, args } if func == "now" => match args.first() {
            None => Some(Literal::DateTime(now)),
            Some(a) => match const_eval(a, now)? {
                Literal::TimeSpan(v) => Some(Literal::DateTime(now + v)),
                _ => None,
            },
        },
        ExprNode::Call { func, args } if func == "todatetime" || func == "totimespan" => {
            const_eval(args.first()?, now)
                .filter(|l| matches!(l, Literal::DateTime(_) | Literal::TimeSpan(_)))
        }
        ExprNode::Binary { op, lhs, rhs } => {
            let (a, b) = (const_eval(lhs, now)?, const_eval(rhs, now)?);
            use Literal::*;
            Some(match (op, a, b) {
                (BinOp::Add, Long(x), Long(y)) => Long(x.checked_add(y)?),
                (BinOp::Sub, Long(x), Long(y)) => Long(x.checked_sub(y)?),
                (BinOp::Mul, Long(x), Long(y)) => Long(x.checked_mul(y)?),
                (BinOp::Div, Long(x), Long(y)) if y != 0 => Long(x / y),
                (BinOp::Add, Real(x), Real(y)) => Real(x + y),
                (BinOp::Sub, Real(x), Real(y)) => Real(x - y),
                (BinOp::Mul, Real(x), Real(y)) => Real(x * y),
                (BinOp::Div, Real(x), Real(y)) => Real(x / y),
                (BinOp::Add, DateTime(x), TimeSpan(y)) | (BinOp::Add, TimeSpan(y), DateTime(x)) => {
                    DateTime(x + y)
                }
                (BinOp::Sub, DateTime(x), TimeSpan(y)) => DateTime(x - y),
                (BinOp::Sub, DateTime(x), DateTime(y)) => TimeSpan(x - y),
                (BinOp::Add, TimeSpan(x), TimeSpan(y)) => TimeSpan(x + y),
                (BinOp::Sub, TimeSpan(x), TimeSpan(y)) => TimeSpan(x - y),
                (BinOp::Mul, TimeSpan(x), Long(y)) | (BinOp::Mul, Long(y), TimeSpan(x)) => {
                    TimeSpan(x.checked_mul(y)?)
                }
                (BinOp::Mul, TimeSpan(x), Real(y)) | (BinOp::Mul, Real(y), TimeSpan(x)) => {
                    TimeSpan((x as f64 * y) as i64)
                }
                (BinOp::Div, TimeSpan(x), Long(y)) if y != 0 => TimeSpan(x / y),
                _ => return None,
            })
        }
        _ => None,
    }
}

/// Plans bound tables into DataFusion logical plans.
pub struct Planner<'a> {
    source: &'a dyn ScanSource,
    /// The query's `now`, nanoseconds since the epoch.
    pub now: i64,
    partition: Vec<LogicalPlan>,
    subqueries: usize,
}

impl<'a> Planner<'a> {
    /// A planner reading tables from `source` with `now()` fixed to `now_ns`.
    pub fn new(source: &'a dyn ScanSource, now_ns: i64) -> Self {
        Planner {
            source,
            now: now_ns,
            partition: Vec::new(),
            subqueries: 0,
        }
    }

    /// Plans `t`; output columns are `_0.._n` (see [`Planner::finish`] for KQL names).
    pub fn plan(&mut self, t: &BoundTable) -> PResult<LogicalPlan> {
        let schema = &t.schema;
        match &t.node {
            TableNode::Scan { table } => {
                let raw = self.source.scan(table, schema)?;
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
                if !contains_call(predicate, &["row_number", "prev", "next"]) {
                    let pred = self.expr(predicate)?;
                    let pred = self.conv(pred, predicate.ty, KqlType::Bool)?;
                    return Ok(LogicalPlanBuilder::from(p).filter(pred)?.build()?);
                }
                let (p, preds) = self.with_windows(
                    p,
                    input.schema.columns.len(),
                    std::slice::from_ref(predicate),
                )?;
                let pred = self.expr(&preds[0])?;
                let pred = self.conv(pred, predicate.ty, KqlType::Bool)?;
                let back: Vec<Expr> = (0..input.schema.columns.len()).map(pcol).collect();
                Ok(LogicalPlanBuilder::from(p)
                    .filter(pred)?
                    .project(back)?
                    .build()?)
            }
            TableNode::Project { input, exprs } => {
                let p = self.plan(input)?;
                let (p, exprs) = self.with_windows(p, input.schema.columns.len(), exprs)?;
                let mut out = Vec::with_capacity(exprs.len());
                for (i, e) in exprs.iter().enumerate() {
                    let x = self.expr(e)?;
                    out.push(
                        self.typed(x, e.ty, schema.columns[i].ty)?
                            .alias(format!("_{i}")),
                    );
                }
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
            TableNode::Parse {
                input,
                source,
                kind,
                flags,
                pattern,
            } => self.parse(schema, input, source, kind, flags.as_deref(), pattern),
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
                            lit(format!("System.{}", c.ty.api_name())),
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
            TableNode::TopNested { input, levels } => {
                let [lv] = levels.as_slice() else {
                    return unsupported("top-nested with several levels");
                };
                if lv.others.is_some() {
                    return unsupported("top-nested with others");
                }
                // One level: summarize agg by key, then keep the top N by the aggregate.
                let p = self.aggregate(
                    schema,
                    input,
                    std::slice::from_ref(&lv.key),
                    std::slice::from_ref(&lv.agg),
                )?;
                let b = LogicalPlanBuilder::from(p).sort(vec![pcol(1).sort(lv.asc, lv.asc)])?;
                let b = match &lv.n {
                    Some(n) => b.limit(0, Some(self.const_count(n)?))?,
                    None => b,
                };
                Ok(b.build()?)
            }
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
            } if function == crate::reference::FILE_PROFILE => {
                self.file_profile(schema, input, args)
            }
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

    fn const_count(&self, n: &BoundExpr) -> PResult<usize> {
        match const_eval(n, self.now) {
            Some(Literal::Long(v)) if v >= 0 => Ok(v as usize),
            Some(Literal::Int(v)) if v >= 0 => Ok(v as usize),
            Some(Literal::Real(v)) if v >= 0.0 => Ok(v as usize),
            _ => Err(PlanError::Invalid(
                "row count must be a non-negative constant".into(),
            )),
        }
    }

    fn range(
        &mut self,
        schema: &Schema,
        from: &BoundExpr,
        to: &BoundExpr,
        step: &BoundExpr,
    ) -> PResult<LogicalPlan> {
        const MAX: usize = 1_000_000;
        let err = || PlanError::Invalid("range bounds and step must be constants".into());
        let (a, b, s) = (
            const_eval(from, self.now).ok_or_else(err)?,
            const_eval(to, self.now).ok_or_else(err)?,
            const_eval(step, self.now).ok_or_else(err)?,
        );
        let mut fv: Vec<f64> = Vec::new();
        let mut iv: Vec<i64> = Vec::new();
        let as_i = |l: &Literal| match l {
            Literal::Long(v) | Literal::DateTime(v) | Literal::TimeSpan(v) => Some(*v),
            Literal::Int(v) => Some(*v as i64),
            _ => None,
        };
        let as_f = |l: &Literal| match l {
            Literal::Real(v) => Some(*v),
            Literal::Long(v) => Some(*v as f64),
            Literal::Int(v) => Some(*v as f64),
            _ => None,
        };
        let ty = schema.columns.first().map_or(KqlType::Long, |c| c.ty);
        match ty {
            KqlType::Real | KqlType::Decimal => {
                let (a, b, s) = (
                    as_f(&a).ok_or_else(err)?,
                    as_f(&b).ok_or_else(err)?,
                    as_f(&s).ok_or_else(err)?,
                );
                if s == 0.0 {
                    return Err(PlanError::Invalid("range step must not be 0".into()));
                }
                let mut x = a;
                while (s > 0.0 && x <= b) || (s < 0.0 && x >= b) {
                    fv.push(x);
                    if fv.len() > MAX {
                        return Err(PlanError::Invalid(
                            "range produces more than 1,000,000 rows".into(),
                        ));
                    }
                    x += s;
                }
            }
            _ => {
                let (a, b, s) = (
                    as_i(&a).ok_or_else(err)?,
                    as_i(&b).ok_or_else(err)?,
                    as_i(&s).ok_or_else(err)?,
                );
                if s == 0 {
                    return Err(PlanError::Invalid("range step must not be 0".into()));
                }
                let mut x = a;
                while (s > 0 && x <= b) || (s < 0 && x >= b) {
                    iv.push(x);
                    if iv.len() > MAX {
                        return Err(PlanError::Invalid(
                            "range produces more than 1,000,000 rows".into(),
                        ));
                    }
                    x = match x.checked_add(s) {
                        Some(v) => v,
                        None => break,
                    };
                }
            }
        }
        if fv.is_empty() && iv.is_empty() {
            return empty_plan(schema);
        }
        use arrow::array::{
            ArrayRef, Float64Array, Int32Array, Int64Array, TimestampNanosecondArray,
        };
        let arr: ArrayRef = match ty {
            KqlType::Real | KqlType::Decimal => Arc::new(Float64Array::from(fv)),
            KqlType::DateTime => Arc::new(TimestampNanosecondArray::from(iv).with_timezone("UTC")),
            KqlType::Int => Arc::new(Int32Array::from(
                iv.into_iter().map(|v| v as i32).collect::<Vec<_>>(),
            )),
            _ => Arc::new(Int64Array::from(iv)),
        };
        let field = arrow::datatypes::Field::new("_0", arrow_type(ty), true);
        let aschema = Arc::new(arrow::datatypes::Schema::new(vec![field]));
        let batch = arrow::array::RecordBatch::try_new(aschema.clone(), vec![arr])
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        let mem = datafusion::datasource::MemTable::try_new(aschema, vec![vec![batch]])?;
        Ok(LogicalPlanBuilder::scan(
            "range",
            datafusion::datasource::provider_as_source(Arc::new(mem)),
            None,
        )?
        .build()?)
    }

    fn aggregate(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        keys: &[BoundExpr],
        aggs: &[BoundExpr],
    ) -> PResult<LogicalPlan> {
        let p = self.plan(input)?;
        let mut group = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let e = self.expr(k)?;
            group.push(
                self.typed(e, k.ty, schema.columns[i].ty)?
                    .alias(format!("_k{i}")),
            );
        }
        let mut calls: Vec<(String, Vec<BoundExpr>, usize, Expr)> = Vec::new();
        let mut finals = Vec::new();
        for (j, a) in aggs.iter().enumerate() {
            let e = self.agg_expr(a, &mut calls)?;
            let out = keys.len() + j;
            finals.push(
                self.typed(e, a.ty, schema.columns[out].ty)?
                    .alias(format!("_{out}")),
            );
        }
        let aggr: Vec<Expr> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| c.3.clone().alias(format!("_a{i}")))
            .collect();
        let mut proj: Vec<Expr> = (0..keys.len())
            .map(|i| ncol(&format!("_k{i}")).alias(format!("_{i}")))
            .collect();
        proj.extend(finals);
        Ok(LogicalPlanBuilder::from(p)
            .aggregate(group, aggr)?
            .project(proj)?
            .build()?)
    }

    /// Translates an aggregate-containing expression; aggregate calls become references to
    /// `_a{i}` columns collected in `calls`.
    pub(crate) fn agg_expr(
        &mut self,
        e: &BoundExpr,
        calls: &mut Vec<(String, Vec<BoundExpr>, usize, Expr)>,
    ) -> PResult<Expr> {
        match &e.node {
            ExprNode::Aggregate { func, args, output } => {
                if let Some(i) = calls
                    .iter()
                    .position(|c| c.0 == *func && c.1 == *args && c.2 == *output)
                {
                    return Ok(ncol(&format!("_a{i}")));
                }
                let x = self.aggregate_call(func, args, *output, e.ty)?;
                calls.push((func.clone(), args.clone(), *output, x));
                Ok(ncol(&format!("_a{}", calls.len() - 1)))
            }
            _ if !contains_aggregate(e) => self.expr(e),
            _ => {
                // Rebuild with aggregate sub-expressions replaced by column references.
                let replaced = self.replace_aggs(e, calls)?;
                self.expr(&replaced)
            }
        }
    }

    fn replace_aggs(
        &mut self,
        e: &BoundExpr,
        calls: &mut Vec<(String, Vec<BoundExpr>, usize, Expr)>,
    ) -> PResult<BoundExpr> {
        if let ExprNode::Aggregate { .. } = &e.node {
            let x = self.agg_expr(e, calls)?;
            let name = match x {
                Expr::Column(c) => c.name,
                _ => return Err(PlanError::Invalid("aggregate reference".into())),
            };
            return Ok(aggref(name, e));
        }
        try_map_children(e, &mut |c| self.replace_aggs(c, calls))
    }

    /// Row-order functions (`row_number`, `prev`, `next`) in `exprs` become window columns
    /// `__w{k}` computed over the (serialized) input order; returns the plan with them and the
    /// rewritten expressions.
    fn with_windows(
        &mut self,
        mut p: LogicalPlan,
        ncols: usize,
        exprs: &[BoundExpr],
    ) -> PResult<(LogicalPlan, Vec<BoundExpr>)> {
        let mut wins: Vec<(Expr, Option<i64>)> = Vec::new();
        let exprs: Vec<BoundExpr> = exprs
            .iter()
            .map(|e| self.replace_windows(e, &mut wins))
            .collect::<PResult<_>>()?;
        if !wins.is_empty() {
            // Window expressions must be bare calls: compute `__wr{k}`, then derive `__w{k}`
            // (row_number's start offset, Int64 type) in a projection.
            let mut bare = Vec::new();
            let mut post: Vec<Expr> = (0..ncols).map(pcol).collect();
            for (k, (w, start)) in wins.into_iter().enumerate() {
                bare.push(w.alias(format!("__wr{k}")));
                let c = ncol(&format!("__wr{k}"));
                post.push(
                    match start {
                        Some(s) => cast(c, DataType::Int64) + lit(s - 1),
                        None => c,
                    }
                    .alias(format!("__w{k}")),
                );
            }
            p = LogicalPlanBuilder::from(p)
                .window(bare)?
                .project(post)?
                .build()?;
        }
        Ok((p, exprs))
    }

    fn replace_windows(
        &mut self,
        e: &BoundExpr,
        wins: &mut Vec<(Expr, Option<i64>)>,
    ) -> PResult<BoundExpr> {
        if let ExprNode::Call { func, args } = &e.node {
            if matches!(func.as_str(), "row_number" | "prev" | "next") {
                let w = self.window_call(func, args)?;
                let name = format!("__w{}", wins.len());
                wins.push(w);
                return Ok(aggref(name, e));
            }
        }
        try_map_children(e, &mut |c| self.replace_windows(c, wins))
    }

    fn window_call(&mut self, func: &str, args: &[BoundExpr]) -> PResult<(Expr, Option<i64>)> {
        use datafusion::functions_window::expr_fn as w;
        match func {
            "row_number" => {
                if args.len() > 1 {
                    return unsupported("row_number with a restart argument");
                }
                let start = match args.first() {
                    None => 1,
                    Some(a) => match const_eval(a, self.now) {
                        Some(Literal::Long(v)) => v,
                        Some(Literal::Int(v)) => v as i64,
                        _ => return unsupported("row_number with a non-constant start"),
                    },
                };
                Ok((w::row_number(), Some(start)))
            }
            _ => {
                let first = args
                    .first()
                    .ok_or_else(|| PlanError::Invalid(format!("{func}: missing argument")))?;
                let x = self.expr(first)?;
                let offset = match args.get(1) {
                    None => 1,
                    Some(a) => match const_eval(a, self.now) {
                        Some(Literal::Long(v)) => v,
                        Some(Literal::Int(v)) => v as i64,
                        _ => return unsupported(format!("{func} with a non-constant offset")),
                    },
                };
                let default = match args.get(2) {
                    None => None,
                    Some(a) => match const_eval(a, self.now) {
                        Some(l) => match literal(&l)? {
                            Expr::Literal(v, _) => Some(v.cast_to(&arrow_type(first.ty))?),
                            _ => None,
                        },
                        None => return unsupported(format!("{func} with a non-constant default")),
                    },
                };
                Ok((
                    if func == "prev" {
                        w::lag(x, Some(offset), default)
                    } else {
                        w::lead(x, Some(offset), default)
                    },
                    None,
                ))
            }
        }
    }

    fn aggregate_call(
        &mut self,
        func: &str,
        args: &[BoundExpr],
        output: usize,
        ty: KqlType,
    ) -> PResult<Expr> {
        let arg = |i: usize| -> PResult<&BoundExpr> {
            args.get(i)
                .ok_or_else(|| PlanError::Invalid(format!("{func}: missing argument")))
        };
        let max_arg = |this: &Self, i: usize| -> PResult<usize> {
            match args.get(i) {
                None => Ok(1_048_576),
                Some(e) => this.const_count(e),
            }
        };
        Ok(match func {
            "count" => match args.first() {
                // `count(x)` counts rows where `x` is not null.
                Some(a) => agg::count(self.expr(a)?),
                None => agg::count(lit(1i64)),
            },
            "countif" => {
                let p = self.bool_expr(arg(0)?)?;
                agg::count(lit(1i64)).filter(p).build()?
            }
            "dcount" | "count_distinct" => agg::count_distinct(self.expr(arg(0)?)?),
            "dcountif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::count(self.expr(arg(0)?)?)
                    .distinct()
                    .filter(p)
                    .build()?
            }
            "sum" => agg::sum(self.numeric(arg(0)?)?),
            "sumif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::sum(self.numeric(arg(0)?)?).filter(p).build()?
            }
            "avg" => self.avg(arg(0)?, None)?,
            "avgif" => {
                let p = self.bool_expr(arg(1)?)?;
                self.avg(arg(0)?, Some(p))?
            }
            "min" => agg::min(self.expr(arg(0)?)?),
            "max" => agg::max(self.expr(arg(0)?)?),
            "minif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::min(self.expr(arg(0)?)?).filter(p).build()?
            }
            "maxif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::max(self.expr(arg(0)?)?).filter(p).build()?
            }
            "stdev" => agg::stddev(self.real(arg(0)?)?),
            "variance" => agg::var_sample(self.real(arg(0)?)?),
            "stdevif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::stddev(self.real(arg(0)?)?).filter(p).build()?
            }
            "varianceif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::var_sample(self.real(arg(0)?)?).filter(p).build()?
            }
            // The key column itself is just the extreme value (nulls never win either way).
            "arg_max" if output == 0 => agg::max(self.expr(arg(0)?)?),
            "arg_min" if output == 0 => agg::min(self.expr(arg(0)?)?),
            "arg_max" | "arg_min" => {
                let key = self.expr(arg(0)?)?;
                let target = if output == 0 { arg(0)? } else { arg(output)? };
                let value = self.expr(target)?;
                let desc = func == "arg_max";
                // Rows with a null key never win (nulls sort last either way).
                agg::first_value(value, Some(vec![key.sort(!desc, false)]))
            }
            "take_any" => {
                let value = self.expr(arg(output)?)?;
                agg::first_value(value, None)
            }
            "take_anyif" => {
                let p = self.bool_expr(arg(1)?)?;
                agg::first_value(self.expr(arg(0)?)?, None)
                    .filter(p)
                    .build()?
            }
            "make_set" | "make_list" | "make_bag" => {
                let kind = match func {
                    "make_set" => udf::Collect::Set,
                    "make_list" => udf::Collect::List,
                    _ => udf::Collect::Bag,
                };
                let a = arg(0)?;
                let max = max_arg(self, 1)?;
                let x = self.expr(a)?;
                udf::collect_udaf(kind, a.ty, max).call(vec![x])
            }
            "make_set_if" | "make_list_if" | "make_bag_if" => {
                let kind = match func {
                    "make_set_if" => udf::Collect::Set,
                    "make_list_if" => udf::Collect::List,
                    _ => udf::Collect::Bag,
                };
                let a = arg(0)?;
                let p = self.bool_expr(arg(1)?)?;
                let max = max_arg(self, 2)?;
                let x = self.expr(a)?;
                udf::collect_udaf(kind, a.ty, max)
                    .call(vec![x])
                    .filter(p)
                    .build()?
            }
            "percentile" | "percentiles" => {
                let pct_arg = if func == "percentile" { 1 } else { output + 1 };
                let p = match const_eval(arg(pct_arg)?, self.now) {
                    Some(Literal::Long(v)) => v as f64,
                    Some(Literal::Int(v)) => v as f64,
                    Some(Literal::Real(v)) => v,
                    _ => return Err(PlanError::Invalid("percentile must be a constant".into())),
                };
                let a = arg(0)?;
                if !(a.ty.is_numeric() || a.ty == KqlType::TimeSpan) {
                    return unsupported(format!("{func} over {}", a.ty));
                }
                let x = self.real(a)?;
                let _ = ty;
                udf::percentile_udaf(p).call(vec![x])
            }
            "percentiles_array" => {
                // `percentiles_array(x, p1, p2, ...)` or `percentiles_array(x, dynamic([...]))`:
                // the same exact nearest-rank values as `percentiles`, as one dynamic array.
                let a = arg(0)?;
                if !a.ty.is_numeric() {
                    return unsupported(format!("{func} over {}", a.ty));
                }
                let invalid = || {
                    PlanError::Invalid(
                        "percentiles_array() needs constant percentages from 0 to 100".into(),
                    )
                };
                let mut ps = Vec::new();
                for e in &args[1..] {
                    match const_eval(e, self.now).ok_or_else(invalid)? {
                        Literal::Long(v) => ps.push(v as f64),
                        Literal::Int(v) => ps.push(v as f64),
                        Literal::Real(v) => ps.push(v),
                        Literal::Dynamic(serde_json::Value::Array(items)) if args.len() == 2 => {
                            for it in items {
                                ps.push(it.as_f64().ok_or_else(invalid)?);
                            }
                        }
                        _ => return Err(invalid()),
                    }
                }
                if ps.is_empty() || ps.iter().any(|p| !(0.0..=100.0).contains(p)) {
                    return Err(invalid());
                }
                let ints = matches!(a.ty, KqlType::Int | KqlType::Long);
                let x = self.real(a)?;
                udf::percentiles_array_udaf(ps, ints).call(vec![x])
            }
            other => return unsupported(other),
        })
    }

    fn avg(&mut self, a: &BoundExpr, filter: Option<Expr>) -> PResult<Expr> {
        let x = self.real(a)?;
        let e = agg::avg(x);
        Ok(match filter {
            Some(p) => e.filter(p).build()?,
            None => e,
        })
    }

    fn numeric(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        match a.ty {
            KqlType::Dynamic | KqlType::String => self.conv(x, a.ty, KqlType::Real),
            KqlType::Bool => Ok(cast(x, DataType::Int64)),
            _ => Ok(x),
        }
    }

    fn real(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        self.conv(x, a.ty, KqlType::Real)
    }

    fn bool_expr(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        self.conv(x, a.ty, KqlType::Bool)
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        schema: &Schema,
        left: &BoundTable,
        right: &BoundTable,
        kind: JoinKind,
        on: &[(usize, usize)],
        outputs: &[(bool, usize)],
    ) -> PResult<LogicalPlan> {
        let mut lp = self.plan(left)?;
        let rp = self.plan(right)?;
        if on.is_empty() {
            return unsupported("join without 'on' keys");
        }
        if kind == JoinKind::InnerUnique {
            // Kusto's default join de-duplicates the left side on the join keys (one arbitrary
            // row per key value) before an inner join.
            let keys: Vec<Expr> = on.iter().map(|(l, _)| pcol(*l)).collect();
            let rn = datafusion::functions_window::expr_fn::row_number()
                .partition_by(keys)
                .build()?
                .alias("__rn");
            let cols: Vec<Expr> = (0..left.schema.columns.len()).map(pcol).collect();
            lp = LogicalPlanBuilder::from(lp)
                .window(vec![rn])?
                .filter(ncol("__rn").eq(lit(1u64)))?
                .project(cols)?
                .build()?;
        }
        // Rename the right side to avoid clashes with the left's `_i`.
        let rexprs: Vec<Expr> = (0..right.schema.columns.len())
            .map(|i| pcol(i).alias(format!("__r{i}")))
            .collect();
        let rp = LogicalPlanBuilder::from(rp).project(rexprs)?.build()?;
        let jt = match kind {
            JoinKind::InnerUnique | JoinKind::Inner => JoinType::Inner,
            JoinKind::LeftOuter => JoinType::Left,
            JoinKind::RightOuter => JoinType::Right,
            JoinKind::FullOuter => JoinType::Full,
            JoinKind::LeftSemi => JoinType::LeftSemi,
            JoinKind::RightSemi => JoinType::RightSemi,
            JoinKind::LeftAnti => JoinType::LeftAnti,
            JoinKind::RightAnti => JoinType::RightAnti,
        };
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for (l, r) in on {
            let (lt, rt) = (left.schema.columns[*l].ty, right.schema.columns[*r].ty);
            let common = crate::functions::common_type(lt, rt).unwrap_or(lt);
            lk.push(self.conv(pcol(*l), lt, common)?);
            rk.push(self.conv(ncol(&format!("__r{r}")), rt, common)?);
        }
        let joined = LogicalPlanBuilder::from(lp)
            .join_with_expr_keys(rp, jt, (lk, rk), None)?
            .build()?;
        let exprs: Vec<Expr> = outputs
            .iter()
            .enumerate()
            .map(|(k, (is_right, i))| {
                let c = if *is_right {
                    ncol(&format!("__r{i}"))
                } else {
                    pcol(*i)
                };
                // Outer joins leave unmatched columns null; Kusto strings are never null.
                let c = if schema.columns[k].ty == KqlType::String {
                    datafusion::functions::expr_fn::coalesce(vec![c, lit("")])
                } else {
                    c
                };
                cast(c, arrow_type(schema.columns[k].ty)).alias(format!("_{k}"))
            })
            .collect();
        Ok(LogicalPlanBuilder::from(joined).project(exprs)?.build()?)
    }

    /// `invoke FileProfile(key, limit)`: a left lookup of the global file profiles.
    ///
    /// Every input row is kept, in input order. The first `limit` rows (in input order) whose
    /// file id is not empty are looked up, case-insensitively on the hex hash (`SHA1` and
    /// `InitiatingProcessSHA1` against the profiles' SHA1, the SHA256 ids against SHA256): they
    /// get the profile columns and `ProfileAvailability` `Available`, or `Missing` when no
    /// profile is stored. Other rows (empty id, or past the limit) get nulls (`""` for strings)
    /// and an empty `ProfileAvailability`. Planned as row numbers (input order, then rank among
    /// rows with an id) and a hash left join against a scan of the reference files, so the
    /// engine's memory pool bounds it like any join.
    fn file_profile(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        args: &[BoundExpr],
    ) -> PResult<LogicalPlan> {
        use crate::reference::{reference_schema, FILE_PROFILE, FILE_PROFILE_COLUMNS};
        use datafusion::functions::expr_fn::{coalesce, lower};
        use datafusion::functions_window::expr_fn::row_number;
        let bad = || PlanError::Invalid("FileProfile() arguments were not bound".into());
        let [key, limit] = args else {
            return Err(bad());
        };
        let ExprNode::Column { index: k, name } = &key.node else {
            return Err(bad());
        };
        let limit = self.const_count(limit)?;
        let n = input.schema.columns.len();
        let p = self.plan(input)?;
        let inputs = || (0..n).map(pcol).collect::<Vec<_>>();
        // 1. Input order; 2. rank among the rows that have an id.
        let id = pcol(*k);
        let has_id = id.clone().is_not_null().and(id.clone().not_eq(lit("")));
        let mut pre = inputs();
        pre.push(ncol("__fp_rn"));
        pre.push(has_id.alias("__fp_has"));
        let rank = row_number()
            .partition_by(vec![ncol("__fp_has")])
            .order_by(vec![ncol("__fp_rn").sort(true, false)])
            .build()?
            .alias("__fp_rank");
        let enriched = ncol("__fp_has").and(ncol("__fp_rank").lt_eq(lit(limit as u64)));
        let mut keyed = inputs();
        keyed.push(ncol("__fp_rn"));
        keyed.push(enriched.clone().alias("__fp_on"));
        keyed.push(
            when(enriched, lower(id))
                .otherwise(lit(ScalarValue::Utf8(None)))?
                .alias("__fp_key"),
        );
        let left = LogicalPlanBuilder::from(p)
            .window(vec![row_number().alias("__fp_rn")])?
            .project(pre)?
            .window(vec![rank])?
            .project(keyed)?
            .build()?;
        // The reference side: profile columns as `__fpr{j}` and the lower-cased key.
        let ref_schema = reference_schema(FILE_PROFILE)
            .ok_or_else(|| PlanError::Invalid("no FileProfile reference schema".into()))?;
        let ref_key = if name.ends_with("SHA1") {
            "SHA1"
        } else {
            "SHA256"
        };
        let mut rexprs = vec![lower(ncol(ref_key)).alias("__fp_pk")];
        rexprs.extend(
            FILE_PROFILE_COLUMNS
                .iter()
                .enumerate()
                .map(|(j, (c, _))| ncol(c).alias(format!("__fpr{j}"))),
        );
        let right = LogicalPlanBuilder::from(self.source.reference(FILE_PROFILE, &ref_schema)?)
            .project(rexprs)?
            .filter(ncol("__fp_pk").not_eq(lit("")))?
            .build()?;
        let joined = LogicalPlanBuilder::from(left)
            .join_with_expr_keys(
                right,
                JoinType::Left,
                (vec![ncol("__fp_key")], vec![ncol("__fp_pk")]),
                None,
            )?
            .build()?;
        let mut out = Vec::with_capacity(schema.columns.len() + 1);
        for (j, c) in schema.columns.iter().enumerate() {
            let e = if j < n {
                pcol(j)
            } else if c.name == "ProfileAvailability" {
                when(
                    ncol("__fp_on").and(ncol("__fp_pk").is_not_null()),
                    lit("Available"),
                )
                .when(ncol("__fp_on"), lit("Missing"))
                .otherwise(lit(""))?
            } else {
                let r = FILE_PROFILE_COLUMNS
                    .iter()
                    .position(|(name, _)| *name == c.name)
                    .ok_or_else(|| {
                        PlanError::Invalid(format!("'{}' is not a FileProfile column", c.name))
                    })?;
                let v = ncol(&format!("__fpr{r}"));
                if c.ty == KqlType::String {
                    coalesce(vec![v, lit("")])
                } else {
                    v
                }
            };
            out.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
        }
        out.push(ncol("__fp_rn"));
        let back: Vec<Expr> = (0..schema.columns.len()).map(pcol).collect();
        Ok(LogicalPlanBuilder::from(joined)
            .project(out)?
            .sort(vec![ncol("__fp_rn").sort(true, false)])?
            .project(back)?
            .build()?)
    }

    fn mv_expand(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        items: &[(usize, BoundExpr, KqlType)],
        passthrough: &[Option<usize>],
        item_index: Option<usize>,
        limit: Option<&BoundExpr>,
    ) -> PResult<LogicalPlan> {
        let p = self.plan(input)?;
        let limit = match limit {
            Some(l) => Some(self.const_count(l)?),
            None => None,
        };
        // Pre-projection: all input columns plus one list column per expanded item.
        let mut pre: Vec<Expr> = (0..input.schema.columns.len()).map(pcol).collect();
        let mut list_cols = Vec::new();
        for (k, (_, e, _)) in items.iter().enumerate() {
            let x = self.expr(e)?;
            let x = self.conv(x, e.ty, KqlType::Dynamic)?;
            let name = format!("__mv{k}");
            pre.push(
                scalar::json_list_udf(limit)
                    .call(vec![x])
                    .alias(name.clone()),
            );
            list_cols.push(name);
        }
        if item_index.is_some() {
            let first = items
                .first()
                .ok_or_else(|| PlanError::Invalid("mv-expand without items".into()))?;
            let x = self.expr(&first.1)?;
            let x = self.conv(x, first.1.ty, KqlType::Dynamic)?;
            pre.push(
                scalar::json_index_list_udf(limit)
                    .call(vec![x])
                    .alias("__mvidx"),
            );
            list_cols.push("__mvidx".into());
        }
        let cols: Vec<DfColumn> = list_cols.iter().map(DfColumn::new_unqualified).collect();
        let opts = datafusion::common::UnnestOptions::new().with_preserve_nulls(false);
        let unnested = LogicalPlanBuilder::from(p)
            .project(pre)?
            .unnest_columns_with_options(cols, opts)?
            .build()?;
        // Final projection in output order.
        let mut exprs = Vec::with_capacity(schema.columns.len());
        for (j, c) in schema.columns.iter().enumerate() {
            let e = if let Some((k, (_, _, ety))) =
                items.iter().enumerate().find(|(_, (o, _, _))| *o == j)
            {
                let x = ncol(&format!("__mv{k}"));
                self.conv(x, KqlType::Dynamic, *ety)?
            } else if Some(j) == item_index {
                ncol("__mvidx")
            } else {
                match passthrough.get(j) {
                    Some(Some(i)) => pcol(*i),
                    _ => null_of(c.ty)?,
                }
            };
            exprs.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
        }
        Ok(LogicalPlanBuilder::from(unnested).project(exprs)?.build()?)
    }

    fn parse(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        source: &BoundExpr,
        kind: &str,
        flags: Option<&str>,
        pattern: &[BoundParsePart],
    ) -> PResult<LogicalPlan> {
        let p = self.plan(input)?;
        let mut re = String::new();
        if let Some(f) = flags {
            let f: String = f.chars().filter(|c| "imsxU".contains(*c)).collect();
            if !f.is_empty() {
                re.push_str(&format!("(?{f})"));
            }
        }
        re.push('^');
        // simple: literal delimiters, strict types; regex: regex delimiters, strict types;
        // relaxed: literal delimiters, typed columns captured as text and converted one by one
        // (a value that does not convert is null for that column only). Strict kinds null
        // every extended column of a row when any typed column fails to match its type.
        let (regex_mode, relaxed) = match kind {
            "simple" | "" => (false, false),
            "regex" => (true, false),
            "relaxed" => (false, true),
            other => return unsupported(format!("parse kind={other}")),
        };
        let mut captures: Vec<(usize, KqlType)> = Vec::new();
        for (k, part) in pattern.iter().enumerate() {
            let last = k + 1 == pattern.len();
            match part {
                BoundParsePart::Text(t) => {
                    if regex_mode {
                        re.push_str(t);
                    } else {
                        re.push_str(&regex::escape(t));
                    }
                }
                BoundParsePart::Any => re.push_str(if last { ".*" } else { ".*?" }),
                BoundParsePart::Capture { column, ty } => {
                    // Kusto's regex kind captures text greedily (its docs' examples: without
                    // `flags=U`, `resourceName ','` runs to the last comma).
                    let text = if last || regex_mode { ".*" } else { ".*?" };
                    let number = match ty {
                        KqlType::Int | KqlType::Long => Some(r"-?\d+"),
                        KqlType::Real | KqlType::Decimal => {
                            Some(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
                        }
                        _ => None,
                    };
                    let body = match number {
                        // Relaxed: a number if one is there, otherwise the text up to the next
                        // delimiter (which then fails to convert: null for this column).
                        Some(n) if relaxed => format!("{n}|{text}"),
                        Some(n) => n.to_string(),
                        None => text.to_string(),
                    };
                    // Named, because a regex-kind pattern may contain groups of its own.
                    re.push_str(&format!("(?P<__pc{}>{body})", captures.len()));
                    captures.push((*column, *ty));
                }
            }
        }
        let Some(compiled) = udf::cached_regex(&re) else {
            return Err(PlanError::Invalid(format!("invalid parse pattern: {re}")));
        };
        let src = self.expr(source)?;
        let src = self.conv(src, source.ty, KqlType::String)?;
        // The converted value of every capture, in capture order.
        let mut values = Vec::with_capacity(captures.len());
        for (g, (_, ty)) in captures.iter().enumerate() {
            let name = format!("__pc{g}");
            let index = compiled
                .capture_names()
                .position(|n| n == Some(name.as_str()))
                .ok_or_else(|| PlanError::Invalid(format!("invalid parse pattern: {re}")))?;
            let x = scalar::regex_group_udf(compiled.clone(), index).call(vec![src.clone()]);
            values.push(self.conv(x, KqlType::String, *ty)?);
        }
        // Strict kinds: the row parses only if every typed capture converted.
        let all_typed_ok = if relaxed {
            None
        } else {
            captures
                .iter()
                .zip(&values)
                .filter(|((_, ty), _)| !matches!(ty, KqlType::String | KqlType::Guid))
                .map(|(_, v)| v.clone().is_not_null())
                .reduce(Expr::and)
        };
        let mut exprs = Vec::with_capacity(schema.columns.len());
        for (j, c) in schema.columns.iter().enumerate() {
            let e = if let Some(g) = captures.iter().position(|(col, _)| *col == j) {
                let v = values[g].clone();
                match &all_typed_ok {
                    Some(ok) => {
                        let failed = if c.ty == KqlType::String {
                            lit("")
                        } else {
                            null_of(c.ty)?
                        };
                        when(ok.clone(), v).otherwise(failed)?
                    }
                    None => v,
                }
            } else if j < input.schema.columns.len() {
                pcol(j)
            } else {
                null_of(c.ty)?
            };
            exprs.push(cast(e, arrow_type(c.ty)).alias(format!("_{j}")));
        }
        Ok(LogicalPlanBuilder::from(p).project(exprs)?.build()?)
    }

    /// Translates a scalar expression over positional input columns.
    pub(crate) fn expr(&mut self, e: &BoundExpr) -> PResult<Expr> {
        match &e.node {
            ExprNode::Literal(l) => literal(l),
            ExprNode::Column { index, .. } => Ok(pcol(*index)),
            ExprNode::Call { func, args } if func == "__aggref" => {
                match args.first().map(|a| &a.node) {
                    Some(ExprNode::Literal(Literal::String(n))) => Ok(ncol(n)),
                    _ => Err(PlanError::Invalid("aggregate reference".into())),
                }
            }
            ExprNode::Call { func, args } => scalar::call(self, func, args, e.ty),
            ExprNode::Aggregate { func, .. } => Err(PlanError::Invalid(format!(
                "aggregate '{func}' used outside summarize"
            ))),
            ExprNode::Neg(x) => {
                let v = self.expr(x)?;
                let v = if x.ty == KqlType::Dynamic {
                    self.conv(v, KqlType::Dynamic, KqlType::Real)?
                } else {
                    v
                };
                Ok(Expr::Negative(Box::new(v)))
            }
            ExprNode::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e.ty),
            ExprNode::InList { op, expr, items } => self.in_list(*op, expr, items),
            ExprNode::InSubquery { op, expr, query } => {
                let sub = self.plan(query)?;
                let first_ty = query
                    .schema
                    .columns
                    .first()
                    .map_or(KqlType::String, |c| c.ty);
                let x = self.expr(expr)?;
                let (x, col) = match op {
                    ListOp::In {
                        case_insensitive: true,
                        ..
                    } => (
                        datafusion::functions::expr_fn::lower(self.conv(
                            x,
                            expr.ty,
                            KqlType::String,
                        )?),
                        datafusion::functions::expr_fn::lower(self.conv(
                            pcol(0),
                            first_ty,
                            KqlType::String,
                        )?),
                    ),
                    _ => {
                        let common =
                            crate::functions::common_type(expr.ty, first_ty).unwrap_or(expr.ty);
                        (
                            self.conv(x, expr.ty, common)?,
                            self.conv(pcol(0), first_ty, common)?,
                        )
                    }
                };
                self.subqueries += 1;
                let sub = LogicalPlanBuilder::from(sub)
                    .project(vec![col.alias(format!("__in{}", self.subqueries))])?
                    .build()?;
                match op {
                    ListOp::In { negated: false, .. } => Ok(in_subquery(x, Arc::new(sub))),
                    ListOp::In { negated: true, .. } => Ok(not_in_subquery(x, Arc::new(sub))),
                    ListOp::HasAny => unsupported("has_any with a tabular argument"),
                    ListOp::HasAll => unsupported("has_all with a tabular argument"),
                }
            }
            ExprNode::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.expr(expr)?;
                let lo = self.expr(low)?;
                let hi_raw = self.expr(high)?;
                let common = if expr.ty == KqlType::Dynamic {
                    low.ty
                } else {
                    expr.ty
                };
                let x = self.conv(x, expr.ty, common)?;
                let lo = self.conv(lo, low.ty, common)?;
                let hi = if common == KqlType::DateTime && high.ty == KqlType::TimeSpan {
                    cast(
                        cast(lo.clone(), DataType::Int64) + hi_raw,
                        arrow_type(KqlType::DateTime),
                    )
                } else {
                    self.conv(hi_raw, high.ty, common)?
                };
                let inside = x.clone().gt_eq(lo).and(x.lt_eq(hi));
                Ok(if *negated {
                    Expr::Not(Box::new(inside))
                } else {
                    inside
                })
            }
            ExprNode::Member { base, key } => {
                let b = self.expr(base)?;
                let b = self.conv(b, base.ty, KqlType::Dynamic)?;
                Ok(scalar::member_udf().call(vec![b, lit(key.clone())]))
            }
            ExprNode::Index { base, index } => {
                let b = self.expr(base)?;
                let b = self.conv(b, base.ty, KqlType::Dynamic)?;
                let i = self.expr(index)?;
                let i = if index.ty == KqlType::String {
                    i
                } else {
                    self.conv(i, index.ty, KqlType::Long)?
                };
                Ok(scalar::index_udf().call(vec![b, i]))
            }
            ExprNode::ScalarSubquery(q) => {
                self.subqueries += 1;
                let sub = self.plan(q)?;
                let sub = LogicalPlanBuilder::from(sub)
                    .project(vec![pcol(0).alias(format!("__sq{}", self.subqueries))])?
                    .limit(0, Some(1))?
                    .build()?;
                Ok(scalar_subquery(Arc::new(sub)))
            }
            ExprNode::Output { call, .. } => match &call.node {
                ExprNode::Call { func, .. } => unsupported(func.clone()),
                _ => unsupported("multi-result function"),
            },
            ExprNode::TypeOf(t) => Err(PlanError::Invalid(format!(
                "typeof({t}) is only valid as a function argument"
            ))),
        }
    }

    /// `x` (of KQL type `from`) as KQL type `to`.
    pub(crate) fn conv(&self, x: Expr, from: KqlType, to: KqlType) -> PResult<Expr> {
        if from == to
            || (matches!(from, KqlType::String | KqlType::Guid)
                && matches!(to, KqlType::String | KqlType::Guid))
        {
            return Ok(x);
        }
        let num = |t: KqlType| t.is_numeric();
        if num(from) && num(to) {
            return Ok(cast(x, arrow_type(to)));
        }
        if from == KqlType::Bool && num(to) {
            return Ok(cast(x, arrow_type(to)));
        }
        if from == KqlType::String && to == KqlType::Dynamic {
            return Ok(scalar::parse_json_udf().call(vec![x]));
        }
        Ok(udf::convert_udf(from, to).call(vec![x]))
    }

    /// Like [`Planner::conv`], then cast to the exact Arrow type of `to`.
    pub(crate) fn typed(&self, x: Expr, from: KqlType, to: KqlType) -> PResult<Expr> {
        Ok(cast(self.conv(x, from, to)?, arrow_type(to)))
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &BoundExpr,
        rhs: &BoundExpr,
        ty: KqlType,
    ) -> PResult<Expr> {
        if matches!(op, BinOp::And | BinOp::Or) {
            // Long `a or b or c ...` chains are left-deep; rebuild them balanced so DataFusion's
            // recursive rewrites stay shallow.
            let mut operands = Vec::new();
            flatten(op, lhs, &mut operands);
            flatten(op, rhs, &mut operands);
            let mut exprs = Vec::with_capacity(operands.len());
            for o in operands {
                let x = self.expr(o)?;
                exprs.push(self.conv(x, o.ty, KqlType::Bool)?);
            }
            return Ok(balanced(exprs, op == BinOp::And));
        }
        let l = self.expr(lhs)?;
        let r = self.expr(rhs)?;
        let (lt, rt) = (lhs.ty, rhs.ty);
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.conv(l, lt, KqlType::Bool)?;
                let r = self.conv(r, rt, KqlType::Bool)?;
                Ok(if op == BinOp::And { l.and(r) } else { l.or(r) })
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let common = compare_type(lt, rt, op);
                let l = self.conv(l, lt, common)?;
                let r = self.conv(r, rt, common)?;
                if matches!(op, BinOp::Eq | BinOp::Ne) && common != KqlType::String {
                    return kusto_equality(op == BinOp::Eq, l, r, lhs, rhs);
                }
                Ok(match op {
                    BinOp::Eq => l.eq(r),
                    BinOp::Ne => l.not_eq(r),
                    BinOp::Lt => l.lt(r),
                    BinOp::Le => l.lt_eq(r),
                    BinOp::Gt => l.gt(r),
                    _ => l.gt_eq(r),
                })
            }
            BinOp::Str(s) => {
                let l = self.conv(l, lt, KqlType::String)?;
                let r = self.conv(r, rt, KqlType::String)?;
                let e = match s.kind {
                    StrOpKind::MatchesRegex => scalar::regex_match_udf().call(vec![l, r]),
                    k => {
                        let pred = match k {
                            StrOpKind::Equals => StrPred::Equals,
                            StrOpKind::Has => StrPred::Has,
                            StrOpKind::HasPrefix => StrPred::HasPrefix,
                            StrOpKind::HasSuffix => StrPred::HasSuffix,
                            StrOpKind::Contains => StrPred::Contains,
                            StrOpKind::StartsWith => StrPred::StartsWith,
                            StrOpKind::EndsWith => StrPred::EndsWith,
                            StrOpKind::MatchesRegex => StrPred::Contains,
                        };
                        scalar::str_pred_udf(pred, s.case_sensitive).call(vec![l, r])
                    }
                };
                Ok(if s.negated { Expr::Not(Box::new(e)) } else { e })
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                self.arith(op, l, lt, r, rt, ty)
            }
        }
    }

    fn arith(
        &self,
        op: BinOp,
        l: Expr,
        lt: KqlType,
        r: Expr,
        rt: KqlType,
        ty: KqlType,
    ) -> PResult<Expr> {
        use KqlType::*;
        if lt == Dynamic || rt == Dynamic {
            let other = if lt == Dynamic { rt } else { lt };
            let calc = if other == Dynamic
                || !other.is_numeric() && other != DateTime && other != TimeSpan
            {
                Real
            } else {
                other
            };
            let l2 = self.conv(l, lt, calc)?;
            let r2 = self.conv(r, rt, calc)?;
            let res_ty = crate::functions::arithmetic(op_str(op), calc, calc).unwrap_or(Real);
            let v = self.arith(op, l2, calc, r2, calc, res_ty)?;
            return self.conv(v, res_ty, ty);
        }
        let i64c = |e: Expr| cast(e, DataType::Int64);
        let f64c = |e: Expr| cast(e, DataType::Float64);
        let ts = |e: Expr| cast(e, arrow_type(DateTime));
        Ok(match (op, lt, rt) {
            (BinOp::Sub, DateTime, DateTime) => i64c(l) - i64c(r),
            (BinOp::Add, DateTime, TimeSpan) => ts(i64c(l) + r),
            (BinOp::Sub, DateTime, TimeSpan) => ts(i64c(l) - r),
            (BinOp::Add, TimeSpan, DateTime) => ts(l + i64c(r)),
            (BinOp::Add, TimeSpan, TimeSpan) => l + r,
            (BinOp::Sub, TimeSpan, TimeSpan) => l - r,
            (BinOp::Mod, TimeSpan, TimeSpan) => l % r,
            (BinOp::Div, TimeSpan, TimeSpan) => f64c(l) / f64c(r),
            (BinOp::Mul, TimeSpan, n) if n.is_numeric() => i64c(f64c(l) * f64c(r)),
            (BinOp::Mul, n, TimeSpan) if n.is_numeric() => i64c(f64c(l) * f64c(r)),
            (BinOp::Div, TimeSpan, n) if n.is_numeric() => i64c(f64c(l) / f64c(r)),
            (_, a, b) if a.is_numeric() && b.is_numeric() => {
                let both_int = matches!(a, Int | Long) && matches!(b, Int | Long);
                let (l, r) = if both_int { (l, r) } else { (f64c(l), f64c(r)) };
                match op {
                    BinOp::Add => l + r,
                    BinOp::Sub => l - r,
                    BinOp::Mul => l * r,
                    BinOp::Div => {
                        if both_int {
                            // Kusto integer division by zero yields null, not an error.
                            let z = datafusion::functions::expr_fn::nullif(r, lit(0i64));
                            l / z
                        } else {
                            l / r
                        }
                    }
                    _ => {
                        if both_int {
                            l % datafusion::functions::expr_fn::nullif(r, lit(0i64))
                        } else {
                            l % r
                        }
                    }
                }
            }
            (BinOp::Add, String, String) => unsupported("'+' on strings (use strcat)")?,
            _ => {
                return Err(PlanError::Invalid(format!(
                    "operator {} is not defined on {lt} and {rt}",
                    op_str(op)
                )))
            }
        })
    }

    fn in_list(&mut self, op: ListOp, expr: &BoundExpr, items: &[BoundExpr]) -> PResult<Expr> {
        // Literal dynamic arrays contribute their elements.
        let mut lits: Vec<(Expr, KqlType)> = Vec::new();
        let mut dyn_items: Vec<Expr> = Vec::new();
        for it in items {
            match &it.node {
                ExprNode::Literal(Literal::Dynamic(serde_json::Value::Array(a))) => {
                    for v in a {
                        match v {
                            serde_json::Value::String(s) => {
                                lits.push((lit(s.clone()), KqlType::String))
                            }
                            serde_json::Value::Number(n) if n.is_i64() => {
                                lits.push((lit(n.as_i64().unwrap_or_default()), KqlType::Long))
                            }
                            serde_json::Value::Number(n) => {
                                lits.push((lit(n.as_f64().unwrap_or_default()), KqlType::Real))
                            }
                            serde_json::Value::Bool(b) => lits.push((lit(*b), KqlType::Bool)),
                            _ => {}
                        }
                    }
                }
                _ if it.ty == KqlType::Dynamic => {
                    let x = self.expr(it)?;
                    dyn_items.push(x);
                }
                _ => {
                    let x = self.expr(it)?;
                    lits.push((x, it.ty));
                }
            }
        }
        let x = self.expr(expr)?;
        match op {
            ListOp::In {
                negated,
                case_insensitive,
            } => {
                let target = if expr.ty == KqlType::Dynamic {
                    lits.first().map_or(KqlType::String, |l| l.1)
                } else {
                    expr.ty
                };
                let mut x = self.conv(x, expr.ty, target)?;
                let mut list = Vec::new();
                for (e, t) in lits {
                    let e = self.conv(e, t, target)?;
                    list.push(if case_insensitive {
                        datafusion::functions::expr_fn::lower(e)
                    } else {
                        e
                    });
                }
                if case_insensitive {
                    x = datafusion::functions::expr_fn::lower(x);
                }
                let mut result = if list.is_empty() {
                    lit(false)
                } else {
                    x.clone().in_list(list, false)
                };
                for d in dyn_items {
                    let s = self.conv(x.clone(), target, KqlType::Dynamic)?;
                    result =
                        result.or(scalar::json_contains_udf(case_insensitive).call(vec![d, s]));
                }
                Ok(if negated {
                    Expr::Not(Box::new(result))
                } else {
                    result
                })
            }
            ListOp::HasAny | ListOp::HasAll => {
                let x = self.conv(x, expr.ty, KqlType::String)?;
                let mut terms = Vec::new();
                for (e, t) in lits {
                    terms.push(self.conv(e, t, KqlType::String)?);
                }
                let preds: Vec<Expr> = terms
                    .into_iter()
                    .map(|t| scalar::str_pred_udf(StrPred::Has, false).call(vec![x.clone(), t]))
                    .collect();
                let mut preds = preds;
                for d in dyn_items {
                    preds.push(scalar::has_list_udf(op == ListOp::HasAll).call(vec![x.clone(), d]));
                }
                let combined = preds.into_iter().reduce(|a, b| {
                    if op == ListOp::HasAny {
                        a.or(b)
                    } else {
                        a.and(b)
                    }
                });
                Ok(combined.unwrap_or(lit(op == ListOp::HasAll)))
            }
        }
    }
}

/// The operands of a chain of `op` (`And` or `Or`), in order.
fn flatten<'e>(op: BinOp, e: &'e BoundExpr, out: &mut Vec<&'e BoundExpr>) {
    match &e.node {
        ExprNode::Binary { op: o, lhs, rhs } if *o == op => {
            flatten(op, lhs, out);
            flatten(op, rhs, out);
        }
        _ => out.push(e),
    }
}

/// A balanced conjunction / disjunction.
fn balanced(mut v: Vec<Expr>, and: bool) -> Expr {
    if v.len() == 1 {
        return v.pop().unwrap_or(lit(and));
    }
    if v.is_empty() {
        return lit(and);
    }
    let right = v.split_off(v.len() / 2);
    let (l, r) = (balanced(v, and), balanced(right, and));
    if and {
        l.and(r)
    } else {
        l.or(r)
    }
}

fn op_str(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        _ => "?",
    }
}

/// Kusto's `==` / `!=` on nullable (non-string) values: null against a value is `false` for
/// `==` and `true` for `!=` (SQL would give null, and `where x != 5` would drop null rows);
/// null against null is null. When one side is a non-null literal the both-null case cannot
/// happen: that case is written as a plain comparison plus a null test on the other side,
/// which Parquet row-group pruning understands (it does not understand IS [NOT] DISTINCT FROM).
fn kusto_equality(eq: bool, l: Expr, r: Expr, lhs: &BoundExpr, rhs: &BoundExpr) -> PResult<Expr> {
    let non_null_literal = |e: &BoundExpr| matches!(&e.node, ExprNode::Literal(lit) if !matches!(lit, Literal::Null(_)));
    use datafusion::logical_expr::{binary_expr, when, Operator};
    let other = match (non_null_literal(lhs), non_null_literal(rhs)) {
        (_, true) => Some(l.clone()),
        (true, false) => Some(r.clone()),
        (false, false) => None,
    };
    if let Some(x) = other {
        return Ok(if eq {
            l.eq(r).and(x.is_not_null())
        } else {
            l.not_eq(r).or(x.is_null())
        });
    }
    let op = if eq {
        Operator::IsNotDistinctFrom
    } else {
        Operator::IsDistinctFrom
    };
    let test = binary_expr(l.clone(), op, r.clone());
    let both_null = l.is_null().and(r.is_null());
    Ok(when(both_null, lit(ScalarValue::Boolean(None))).otherwise(test)?)
}

/// The type both sides of a comparison are converted to.
fn compare_type(a: KqlType, b: KqlType, op: BinOp) -> KqlType {
    use KqlType::*;
    match (a, b) {
        (Dynamic, Dynamic) => {
            if matches!(op, BinOp::Eq | BinOp::Ne) {
                String
            } else {
                Real
            }
        }
        (Dynamic, t) | (t, Dynamic) => t,
        (x, y) if x == y => x,
        (x, y) if x.is_numeric() && y.is_numeric() => {
            if matches!(x, Real | Decimal) || matches!(y, Real | Decimal) {
                Real
            } else {
                Long
            }
        }
        (String | Guid, String | Guid) => String,
        (DateTime, String) | (String, DateTime) => DateTime,
        (TimeSpan, String) | (String, TimeSpan) => TimeSpan,
        (TimeSpan, n) | (n, TimeSpan) if n.is_numeric() => Long,
        (Bool, n) | (n, Bool) if n.is_numeric() => Long,
        (x, _) => x,
    }
}

/// True when `e` calls one of the scalar functions `names`.
fn contains_call(e: &BoundExpr, names: &[&str]) -> bool {
    if let ExprNode::Call { func, .. } = &e.node {
        if names.contains(&func.as_str()) {
            return true;
        }
    }
    let mut found = false;
    let mut copy = e.clone();
    map_children(&mut copy, &mut |c| {
        if contains_call(c, names) {
            found = true;
        }
    });
    found
}

/// True when `e` contains an aggregate call.
pub(crate) fn contains_aggregate(e: &BoundExpr) -> bool {
    if matches!(e.node, ExprNode::Aggregate { .. }) {
        return true;
    }
    let mut found = false;
    let mut copy = e.clone();
    map_children(&mut copy, &mut |c| {
        if contains_aggregate(c) {
            found = true;
        }
    });
    found
}

/// Applies `f` to each direct scalar child of `e`.
/// A reference, by output name, to a column an aggregate or window step computed.
fn aggref(name: String, e: &BoundExpr) -> BoundExpr {
    BoundExpr {
        node: ExprNode::Call {
            func: "__aggref".into(),
            args: vec![BoundExpr {
                node: ExprNode::Literal(Literal::String(name)),
                ty: KqlType::String,
                span: e.span,
            }],
        },
        ty: e.ty,
        span: e.span,
    }
}

/// A copy of `e` whose direct children are replaced by `f`; the first error wins.
fn try_map_children(
    e: &BoundExpr,
    f: &mut dyn FnMut(&BoundExpr) -> Result<BoundExpr, PlanError>,
) -> Result<BoundExpr, PlanError> {
    let mut out = e.clone();
    let mut err = None;
    map_children(&mut out, &mut |c| {
        if err.is_none() {
            match f(c) {
                Ok(n) => *c = n,
                Err(e) => err = Some(e),
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub(crate) fn map_children(e: &mut BoundExpr, f: &mut dyn FnMut(&mut BoundExpr)) {
    match &mut e.node {
        ExprNode::Call { args, .. } | ExprNode::Aggregate { args, .. } => {
            args.iter_mut().for_each(f)
        }
        ExprNode::Neg(x) => f(x),
        ExprNode::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        ExprNode::InList { expr, items, .. } => {
            f(expr);
            items.iter_mut().for_each(f);
        }
        ExprNode::InSubquery { expr, .. } => f(expr),
        ExprNode::Between {
            expr, low, high, ..
        } => {
            f(expr);
            f(low);
            f(high);
        }
        ExprNode::Member { base, .. } => f(base),
        ExprNode::Index { base, index } => {
            f(base);
            f(index);
        }
        ExprNode::Output { call, .. } => f(call),
        ExprNode::Literal(_)
        | ExprNode::Column { .. }
        | ExprNode::ScalarSubquery(_)
        | ExprNode::TypeOf(_) => {}
    }
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
