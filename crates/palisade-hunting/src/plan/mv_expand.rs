//! `mv-expand`: one row per element of dynamic arrays (or per property of bags).

use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use palisade_kql::{BoundExpr, BoundTable, KqlType, Schema};

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
        // Pre-projection: all input columns plus one list column per expanded item.
        let mut pre: Vec<Expr> = (0..input.schema.columns.len()).map(pcol).collect();
        let mut list_cols = Vec::new();
        for (k, (_, e, _)) in items.iter().enumerate() {
            let x = self.expr(e)?;
            let x = self.conv(x, e.ty, KqlType::Dynamic)?;
            let name = format!("__mv{k}");
            pre.push(
                crate::udf::dynamic::json_list_udf(limit, row_bytes)
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
}
