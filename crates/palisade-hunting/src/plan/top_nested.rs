//! `top-nested`, with the semantics of Kusto's documentation: level 1 keeps the top N1 values
//! of its key by its aggregate over all rows; level i keeps, within each combination of values
//! the levels above kept, the top Ni values of its key by its aggregate over those rows. The
//! output has one row per kept combination of the deepest level, with each level's key and
//! aggregate as columns, ordered level by level (aggregate in the level's direction, then key).
//!
//! Planned as one aggregation per level over the rows the level above kept (a semi join on
//! the keys, nulls matching nulls as Kusto groups them), a `row_number()` window within the
//! parent keys for the "top N", and inner joins from the deepest level up to attach each
//! ancestor's aggregate; each `with others` level adds its rows (the rows whose value was not
//! kept, per kept combination above, a left anti join) to the union.

use datafusion::common::{JoinType, NullEquality};
use datafusion::logical_expr::{lit, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder};
use palisade_kql::bound::BoundTopNestedLevel;
use palisade_kql::{BoundTable, KqlType, Schema};

use super::aggregate::AggCalls;
use super::{ncol, null_of, pcol, unsupported, PResult, Planner};

/// `__k{j}`: level j's key over the input rows.
fn key(j: usize) -> String {
    format!("__k{j}")
}

/// `__t{i}k{j}`: level j's key in level i's kept values.
fn kept_key(i: usize, j: usize) -> String {
    format!("__t{i}k{j}")
}

/// `__ok{i}`, `__oa{i}`, `__ox{i}`: level i's key, aggregate and "is the others row" in the
/// output pieces.
fn out_key(i: usize) -> String {
    format!("__ok{i}")
}

fn out_agg(i: usize) -> String {
    format!("__oa{i}")
}

fn out_others(i: usize) -> String {
    format!("__ox{i}")
}

/// `__a{i}`: level i's aggregate.
fn agg_col(i: usize) -> String {
    format!("__a{i}")
}

impl Planner<'_> {
    pub(super) fn top_nested(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        levels: &[BoundTopNestedLevel],
    ) -> PResult<LogicalPlan> {
        let Some(last) = levels.len().checked_sub(1) else {
            return unsupported("top-nested without levels");
        };
        let p = self.plan(input)?;
        // The input columns plus each level's key, typed as its output column.
        let mut exprs: Vec<Expr> = (0..input.schema.columns.len()).map(pcol).collect();
        for (i, l) in levels.iter().enumerate() {
            let e = self.expr(&l.key)?;
            exprs.push(
                self.typed(e, l.key.ty, schema.columns[2 * i].ty)?
                    .alias(key(i)),
            );
        }
        let keyed = LogicalPlanBuilder::from(p).project(exprs)?.build()?;

        let mut tops: Vec<LogicalPlan> = Vec::with_capacity(levels.len());
        let mut level_rows: Vec<LogicalPlan> = Vec::with_capacity(levels.len());
        for (i, l) in levels.iter().enumerate() {
            // The rows of the values the level above kept.
            let rows = match tops.last() {
                None => keyed.clone(),
                Some(above) => {
                    let lk: Vec<String> = (0..i).map(key).collect();
                    let rk: Vec<String> = (0..i).map(|j| kept_key(i - 1, j)).collect();
                    LogicalPlanBuilder::from(keyed.clone())
                        .join_detailed(
                            above.clone(),
                            JoinType::LeftSemi,
                            (lk, rk),
                            None,
                            NullEquality::NullEqualsNull,
                        )?
                        .build()?
                }
            };
            level_rows.push(rows.clone());
            let group: Vec<Expr> = (0..=i).map(|j| ncol(&key(j))).collect();
            let mut calls = AggCalls::new();
            let value = self.agg_expr(&l.agg, &mut calls)?;
            let value = self.typed(value, l.agg.ty, schema.columns[2 * i + 1].ty)?;
            let aggr: Vec<Expr> = calls
                .iter()
                .enumerate()
                .map(|(n, c)| c.1.clone().alias(format!("_a{n}")))
                .collect();
            let mut proj: Vec<Expr> = (0..=i)
                .map(|j| ncol(&key(j)).alias(kept_key(i, j)))
                .collect();
            proj.push(value.alias(agg_col(i)));
            let grouped = LogicalPlanBuilder::from(rows)
                .aggregate(group, aggr)?
                .project(proj)?;
            let top = match &l.n {
                None => grouped.build()?,
                Some(n) => {
                    let n = self.const_count(n)?;
                    let parents: Vec<Expr> = (0..i).map(|j| ncol(&kept_key(i, j))).collect();
                    let rank = format!("__r{i}");
                    let rn = datafusion::functions_window::expr_fn::row_number()
                        .partition_by(parents)
                        .order_by(vec![
                            ncol(&agg_col(i)).sort(l.asc, l.asc),
                            ncol(&kept_key(i, i)).sort(true, true),
                        ])
                        .build()?
                        .alias(rank.clone());
                    let cols: Vec<Expr> = (0..=i)
                        .map(|j| ncol(&kept_key(i, j)))
                        .chain([ncol(&agg_col(i))])
                        .collect();
                    grouped
                        .window(vec![rn])?
                        .filter(ncol(&rank).lt_eq(lit(n as u64)))?
                        .project(cols)?
                        .build()?
                }
            };
            tops.push(top);
        }

        // The deepest level's kept values with each ancestor's aggregate.
        let mut b = LogicalPlanBuilder::from(tops[last].clone());
        for i in (0..last).rev() {
            let lk: Vec<String> = (0..=i).map(|j| kept_key(last, j)).collect();
            let rk: Vec<String> = (0..=i).map(|j| kept_key(i, j)).collect();
            b = b.join_detailed(
                tops[i].clone(),
                JoinType::Inner,
                (lk, rk),
                None,
                NullEquality::NullEqualsNull,
            )?;
        }
        let mut cols = Vec::new();
        for i in 0..levels.len() {
            cols.push(ncol(&kept_key(last, i)).alias(out_key(i)));
            cols.push(ncol(&agg_col(i)).alias(out_agg(i)));
            cols.push(lit(false).alias(out_others(i)));
        }
        let mut all = b.project(cols)?;
        for (i, l) in levels.iter().enumerate() {
            if let Some(others) = &l.others {
                let piece = self.others_rows(schema, levels, i, others, &level_rows[i], &tops)?;
                all = all.union(piece)?;
            }
        }
        // Level by level: the kept values (aggregate in the level's direction, then key), then
        // the level's `others` row.
        let mut order = Vec::new();
        let mut out = Vec::new();
        for (i, l) in levels.iter().enumerate() {
            order.push(ncol(&out_others(i)).sort(true, true));
            order.push(ncol(&out_agg(i)).sort(l.asc, l.asc));
            order.push(ncol(&out_key(i)).sort(true, true));
            out.push(ncol(&out_key(i)).alias(format!("_{}", 2 * i)));
            out.push(ncol(&out_agg(i)).alias(format!("_{}", 2 * i + 1)));
        }
        Ok(all.sort(order)?.project(out)?.build()?)
    }

    /// Level `i`'s `with others` rows: per combination of kept values above it, the aggregate
    /// of the rows whose level-`i` value was not kept, keyed `others`; deeper levels empty.
    fn others_rows(
        &mut self,
        schema: &Schema,
        levels: &[BoundTopNestedLevel],
        i: usize,
        others: &palisade_kql::BoundExpr,
        rows: &LogicalPlan,
        tops: &[LogicalPlan],
    ) -> PResult<LogicalPlan> {
        let parent = |j: usize| format!("__p{i}_{j}");
        let lk: Vec<String> = (0..=i).map(key).collect();
        let rk: Vec<String> = (0..=i).map(|j| kept_key(i, j)).collect();
        let l = &levels[i];
        let mut calls = AggCalls::new();
        let value = self.agg_expr(&l.agg, &mut calls)?;
        let value = self.typed(value, l.agg.ty, schema.columns[2 * i + 1].ty)?;
        let aggr: Vec<Expr> = calls
            .iter()
            .enumerate()
            .map(|(n, c)| c.1.clone().alias(format!("_a{n}")))
            .collect();
        let mut proj: Vec<Expr> = (0..i).map(|j| ncol(&key(j)).alias(parent(j))).collect();
        proj.push(value.alias("__ov"));
        let mut b = LogicalPlanBuilder::from(rows.clone())
            .join_detailed(
                tops[i].clone(),
                JoinType::LeftAnti,
                (lk, rk),
                None,
                NullEquality::NullEqualsNull,
            )?
            .aggregate((0..i).map(|j| ncol(&key(j))).collect::<Vec<_>>(), aggr)?
            .project(proj)?;
        for (j, top) in tops.iter().enumerate().take(i).rev() {
            let lk: Vec<String> = (0..=j).map(parent).collect();
            let rk: Vec<String> = (0..=j).map(|m| kept_key(j, m)).collect();
            b = b.join_detailed(
                top.clone(),
                JoinType::Inner,
                (lk, rk),
                None,
                NullEquality::NullEqualsNull,
            )?;
        }
        let label = self.expr(others)?;
        let label = self.typed(label, others.ty, schema.columns[2 * i].ty)?;
        let mut cols = Vec::new();
        for j in 0..levels.len() {
            let (k, a, flag) = match j.cmp(&i) {
                std::cmp::Ordering::Less => (ncol(&parent(j)), ncol(&agg_col(j)), false),
                std::cmp::Ordering::Equal => (label.clone(), ncol("__ov"), true),
                // Kusto strings are never null: an empty deeper key is "".
                std::cmp::Ordering::Greater => (
                    match schema.columns[2 * j].ty {
                        KqlType::String => lit(""),
                        ty => null_of(ty)?,
                    },
                    null_of(schema.columns[2 * j + 1].ty)?,
                    false,
                ),
            };
            cols.push(k.alias(out_key(j)));
            cols.push(a.alias(out_agg(j)));
            cols.push(lit(flag).alias(out_others(j)));
        }
        Ok(b.project(cols)?.build()?)
    }
}
