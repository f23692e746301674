//! `mv-expand`: one row per element of dynamic arrays (or per property of bags).
//!
//! A `dynamic` value is JSON text in this engine, so an array is listed by parsing it. One
//! shape skips the text: the array of a two-argument `split()`, in the item itself or in a
//! column the input's `extend` just defined (`extend a = split(s, " ") | mv-expand a`), is
//! listed straight from the string as Arrow list of its parts, and each part becomes a
//! dynamic string only if the element type asks for one. The answers are the same; the JSON
//! text in between, written by `split()` and parsed back here, is not made.

use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use palisade_kql::functions::StringFn;
use palisade_kql::{BoundExpr, BoundTable, KqlType, Schema, Walk};

use super::*;

impl Planner<'_> {
    pub(super) fn mv_expand(
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
        // What unnesting copies per element: the row's other columns (strings estimated at
        // 16 bytes), charged by the list functions while they build (see `crate::budget`).
        let row_bytes: usize = input
            .schema
            .columns
            .iter()
            .map(|c| match c.ty {
                KqlType::Bool => 1,
                KqlType::Int => 4,
                KqlType::String | KqlType::Dynamic | KqlType::Guid => 16,
                _ => 8,
            })
            .sum();
        // Pre-projection: the input columns passed through, plus one list column per
        // expanded item.
        let mut kept: Vec<usize> = passthrough.iter().flatten().copied().collect();
        kept.sort_unstable();
        kept.dedup();
        let mut pre: Vec<Expr> = kept.into_iter().map(pcol).collect();
        let mut list_cols = Vec::new();
        // Per item: true when its list holds strings (split parts) rather than JSON texts.
        let mut string_parts = Vec::with_capacity(items.len());
        for (k, (_, e, _)) in items.iter().enumerate() {
            let name = format!("__mv{k}");
            // `with_itemindex` counts the first item's JSON elements: that item stays JSON.
            let split = match item_index {
                Some(_) if k == 0 => None,
                _ => split_source(input, e),
            };
            let list = match &split {
                Some(args) => {
                    let mut xs = Vec::with_capacity(2);
                    for a in args {
                        let x = self.expr(a)?;
                        xs.push(self.conv(x, a.ty, KqlType::String)?);
                    }
                    crate::udf::dynamic::split_list_udf(limit, row_bytes).call(xs)
                }
                None => {
                    let x = self.expr(e)?;
                    let x = self.conv(x, e.ty, KqlType::Dynamic)?;
                    crate::udf::dynamic::json_list_udf(limit, row_bytes).call(vec![x])
                }
            };
            pre.push(list.alias(name.clone()));
            list_cols.push(name);
            string_parts.push(split.is_some());
        }
        if item_index.is_some() {
            let first = items
                .first()
                .ok_or_else(|| PlanError::Invalid("mv-expand without items".into()))?;
            let x = self.expr(&first.1)?;
            let x = self.conv(x, first.1.ty, KqlType::Dynamic)?;
            pre.push(
                crate::udf::dynamic::json_index_list_udf(limit, row_bytes)
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
                match (string_parts[k], *ety) {
                    (true, KqlType::String) => x,
                    (true, ety) => {
                        // A part as the dynamic string it is in `split()`'s array (not
                        // `Planner::conv`, which would parse "12" into a number).
                        let x = crate::udf::json::convert_udf(KqlType::String, KqlType::Dynamic)
                            .call(vec![x]);
                        self.conv(x, KqlType::Dynamic, ety)?
                    }
                    (false, ety) => self.conv(x, KqlType::Dynamic, ety)?,
                }
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
}

/// The `(text, delimiter)` arguments of a two-argument `split()` whose array `mv-expand`
/// expands: the item itself, or an input column that the input's `extend`/`project` defines
/// so, with the arguments moved onto the columns that node passes through. `None` for
/// anything else (those arrays are listed from their JSON text).
fn split_source(input: &BoundTable, item: &BoundExpr) -> Option<Vec<BoundExpr>> {
    let split_args = |x: &BoundExpr| match &x.node {
        ExprNode::Call {
            func: ScalarFunction::String(StringFn::Split),
            args,
        } if args.len() == 2 => Some(args.clone()),
        _ => None,
    };
    if let Some(args) = split_args(item) {
        return Some(args);
    }
    let ExprNode::Column { index, .. } = &item.node else {
        return None;
    };
    let TableNode::Project { exprs, .. } = &input.node else {
        return None;
    };
    let args = split_args(exprs.get(*index)?)?;
    args.into_iter()
        .map(|a| onto_passed_columns(a, exprs))
        .collect()
}

/// `x`, written over a `project`'s input, rewritten over its outputs: each column it reads
/// must be one the projection passes through unchanged. `None` when one is not, or when `x`
/// holds a subquery.
fn onto_passed_columns(mut x: BoundExpr, outputs: &[BoundExpr]) -> Option<BoundExpr> {
    let mut ok = true;
    x.rewrite(|node| {
        if node.subquery().is_some() {
            ok = false;
            return Walk::Skip;
        }
        if let ExprNode::Column { index, .. } = &mut node.node {
            let passed = outputs
                .iter()
                .position(|o| matches!(&o.node, ExprNode::Column { index: i, .. } if i == index));
            match passed {
                Some(m) => *index = m,
                None => ok = false,
            }
            return Walk::Skip;
        }
        Walk::Descend
    });
    ok.then_some(x)
}
