//! `make-series` planning, with the semantics of Kusto's documentation:
//!
//! - Rows are grouped by the `by` keys and by the axis bin `bin_at(axis, step, start)`; each
//!   aggregate is computed per (group, bin), then arranged into one dense `dynamic` array per
//!   group. Bins without rows get the item's `default` (0 when absent, converted to the
//!   aggregate's type). The last output column is the array of bin starts.
//! - `from` given: bins are aligned to it, rows before it are dropped. Absent: bins are aligned
//!   to 0 (the epoch for datetimes, like `bin`) and the first bin is the lowest bin holding data
//!   in any series.
//! - `to` given: exclusive; the series has `ceil((to - start) / step)` bins and rows at or
//!   after it are dropped. Absent: the last bin is the highest bin holding data in any series.
//!   All series of one result therefore share one axis.
//! - A group without rows inside `[from, to)` yields no row; an empty input yields no rows
//!   unless `kind=nonempty` (then one row of default values; supported without `by` keys).
//! - Arrays hold at most 2^20 values (Kusto's documented limit); longer series are truncated.
//! - Only the aggregates the make-series documentation lists are accepted.

use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use serde_json::Value as Json;

use arrow::datatypes::DataType;

use palisade_kql::functions::AggregateFunction;
use palisade_kql::{const_eval, BoundExpr, BoundTable, ExprNode, KqlType, Literal, Schema};

use super::aggregate::AggCalls;
use super::{ncol, unsupported, PResult, PlanError, Planner};
use crate::udf::aggregates::{series_axis_udf, series_collect_udaf, series_fill_udf};
use crate::udf::json::{convert_val, val_to_json};
use crate::udf::{Out, Val};

/// The first aggregate in `e` that make-series does not accept (its documentation's list).
fn rejected_aggregate(e: &BoundExpr) -> Option<AggregateFunction> {
    e.find_map(|x| match &x.node {
        ExprNode::Aggregate { func, .. } if !func.in_make_series() => Some(*func),
        _ => None,
    })
}

/// Floor division by a positive constant (DataFusion's `/` truncates toward zero).
fn floor_div(x: Expr, s: i64) -> Expr {
    (x.clone() - ((x % lit(s)) + lit(s)) % lit(s)) / lit(s)
}

/// The JSON value of the constant `l` converted to KQL type `ty`.
fn default_json(l: &Literal, ty: KqlType) -> Json {
    let (v, from) = match l {
        Literal::Bool(b) => (Val::Bool(*b), KqlType::Bool),
        Literal::Int(v) => (Val::I64(*v as i64), KqlType::Int),
        Literal::Long(v) => (Val::I64(*v), KqlType::Long),
        Literal::Real(f) => (Val::F64(*f), KqlType::Real),
        Literal::String(s) => (Val::Str(s), KqlType::String),
        Literal::Guid(s) => (Val::Str(s), KqlType::Guid),
        Literal::DateTime(v) => (Val::Ts(*v), KqlType::DateTime),
        Literal::TimeSpan(v) => (Val::I64(*v), KqlType::TimeSpan),
        Literal::Dynamic(j) => return j.clone(),
        Literal::Null(_) => return Json::Null,
    };
    let out = convert_val(v, from, ty);
    let v = match &out {
        Out::Null | Out::TooLarge(_) => Val::Null,
        Out::Bool(b) => Val::Bool(*b),
        Out::I64(n) => Val::I64(*n),
        Out::F64(f) => Val::F64(*f),
        Out::Str(s) => Val::Str(s),
        Out::Ts(n) => Val::Ts(*n),
    };
    val_to_json(v, ty)
}

/// A whole-input window aggregate (`f(column) over ()`).
fn over_all(f: std::sync::Arc<datafusion::logical_expr::AggregateUDF>, column: &str) -> Expr {
    Expr::WindowFunction(Box::new(WindowFunction::new(f, vec![ncol(column)])))
}

impl Planner<'_> {
    /// Plans [`palisade_kql::TableNode::MakeSeries`] (see the module documentation).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn make_series(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        keys: &[BoundExpr],
        aggs: &[(BoundExpr, Option<BoundExpr>)],
        axis: &BoundExpr,
        from: Option<&BoundExpr>,
        to: Option<&BoundExpr>,
        step: &BoundExpr,
        nonempty: bool,
    ) -> PResult<LogicalPlan> {
        for (a, _) in aggs {
            if let Some(f) = rejected_aggregate(a) {
                return unsupported(format!("{f} in make-series"));
            }
        }
        if nonempty && !keys.is_empty() {
            return unsupported("make-series kind=nonempty with by keys");
        }
        let real = match axis.ty {
            KqlType::Real | KqlType::Decimal => true,
            KqlType::DateTime | KqlType::TimeSpan | KqlType::Long | KqlType::Int => false,
            other => {
                return Err(PlanError::Invalid(format!(
                    "make-series axis must be numeric, datetime or timespan, not {other}"
                )))
            }
        };
        let step_err = || PlanError::Invalid("make-series step must be a positive constant".into());
        let (si, sf) = match (const_eval(step, self.now), axis.ty) {
            (Some(Literal::TimeSpan(v)), KqlType::DateTime | KqlType::TimeSpan) => (v, v as f64),
            (
                Some(Literal::Long(v)),
                KqlType::Long | KqlType::Int | KqlType::Real | KqlType::Decimal,
            ) => (v, v as f64),
            (
                Some(Literal::Int(v)),
                KqlType::Long | KqlType::Int | KqlType::Real | KqlType::Decimal,
            ) => (v as i64, v as f64),
            (Some(Literal::Real(f)), KqlType::Real | KqlType::Decimal) => (0, f),
            _ => return Err(step_err()),
        };
        if !(sf > 0.0 && sf.is_finite()) || (!real && si <= 0) {
            return Err(step_err());
        }
        let repr = if real {
            DataType::Float64
        } else {
            DataType::Int64
        };
        let mut defaults = Vec::with_capacity(aggs.len());
        for (a, d) in aggs {
            let l = match d {
                None => Literal::Long(0),
                Some(d) => const_eval(d, self.now).ok_or_else(|| {
                    PlanError::Invalid("make-series default must be a constant".into())
                })?,
            };
            defaults.push(default_json(&l, a.ty));
        }

        let p = self.plan(input)?;
        let ax = self.expr(axis)?;
        let ax = cast(ax, repr.clone());
        let bound_expr = |this: &mut Self, e: Option<&BoundExpr>| -> PResult<Option<Expr>> {
            match e {
                Some(e) => {
                    let x = this.expr(e)?;
                    Ok(Some(cast(this.conv(x, e.ty, axis.ty)?, repr.clone())))
                }
                None => Ok(None),
            }
        };
        let from_e = bound_expr(self, from)?;
        let to_e = bound_expr(self, to)?;
        let anchor = match &from_e {
            Some(f) => f.clone(),
            None if real => lit(0f64),
            None => lit(0i64),
        };

        // Stage 1: one row per (keys, bin) with each aggregate's value.
        let mut pred = ax.clone().is_not_null();
        if let Some(f) = &from_e {
            pred = pred.and(ax.clone().gt_eq(f.clone()));
        }
        if let Some(t) = &to_e {
            pred = pred.and(ax.clone().lt(t.clone()));
        }
        let diff = ax - anchor.clone();
        let bin = if real {
            cast(
                datafusion::functions::expr_fn::floor(diff / lit(sf)),
                DataType::Int64,
            )
        } else {
            floor_div(diff, si)
        };
        let nk = keys.len();
        let mut group = Vec::with_capacity(nk + 1);
        for (i, k) in keys.iter().enumerate() {
            let e = self.expr(k)?;
            group.push(
                self.typed(e, k.ty, schema.columns[i].ty)?
                    .alias(format!("_k{i}")),
            );
        }
        group.push(bin.alias("__b"));
        let mut calls = AggCalls::new();
        let mut values = Vec::with_capacity(aggs.len());
        for (j, (a, _)) in aggs.iter().enumerate() {
            let e = self.agg_expr(a, &mut calls)?;
            values.push(self.typed(e, a.ty, a.ty)?.alias(format!("_v{j}")));
        }
        let aggr: Vec<Expr> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| c.1.clone().alias(format!("_a{i}")))
            .collect();
        let mut proj: Vec<Expr> = (0..nk).map(|i| ncol(&format!("_k{i}"))).collect();
        proj.push(ncol("__b"));
        proj.extend(values);
        let per_bin = LogicalPlanBuilder::from(p)
            .filter(pred)?
            .aggregate(group, aggr)?
            .project(proj)?
            .build()?;

        // Stage 2: one row per group with each aggregate's (bin, value) pairs.
        let group: Vec<Expr> = (0..nk).map(|i| ncol(&format!("_k{i}"))).collect();
        let mut aggr: Vec<Expr> = aggs
            .iter()
            .enumerate()
            .map(|(j, (a, _))| {
                series_collect_udaf(a.ty)
                    .call(vec![ncol("__b"), ncol(&format!("_v{j}"))])
                    .alias(format!("_s{j}"))
            })
            .collect();
        aggr.push(agg::min(ncol("__b")).alias("__lo"));
        aggr.push(agg::max(ncol("__b")).alias("__hi"));
        aggr.push(agg::count(lit(1i64)).alias("__cnt"));
        let mut b = LogicalPlanBuilder::from(per_bin).aggregate(group, aggr)?;
        if !nonempty {
            // Without keys the aggregate yields one row even for an empty input.
            b = b.filter(ncol("__cnt").gt(lit(0i64)))?;
        }
        if from_e.is_none() || to_e.is_none() {
            // The axis is shared by all series: bounds over all groups.
            b = b.window(vec![
                over_all(min_udaf(), "__lo").alias("__glo"),
                over_all(max_udaf(), "__hi").alias("__ghi"),
            ])?;
        }

        // Stage 3: dense arrays over bins `first..end`.
        let first = match &from_e {
            Some(_) => lit(0i64),
            None => ncol("__glo"),
        };
        let end = match &to_e {
            Some(t) => {
                let d = t.clone() - anchor.clone();
                if real {
                    cast(
                        datafusion::functions::expr_fn::ceil(d / lit(sf)),
                        DataType::Int64,
                    )
                } else {
                    floor_div(d + lit(si - 1), si)
                }
            }
            None => ncol("__ghi") + lit(1i64),
        };
        let start = if real {
            anchor + cast(first.clone(), DataType::Float64) * lit(sf)
        } else {
            anchor + first.clone() * lit(si)
        };
        let mut out: Vec<Expr> = (0..nk)
            .map(|i| ncol(&format!("_k{i}")).alias(format!("_{i}")))
            .collect();
        for (j, d) in defaults.into_iter().enumerate() {
            out.push(
                series_fill_udf(d)
                    .call(vec![ncol(&format!("_s{j}")), first.clone(), end.clone()])
                    .alias(format!("_{}", nk + j)),
            );
        }
        out.push(
            series_axis_udf(axis.ty, si, sf)
                .call(vec![start, first, end])
                .alias(format!("_{}", nk + aggs.len())),
        );
        Ok(b.project(out)?.build()?)
    }
}
