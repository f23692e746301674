//! Every projection's outputs made unique in the plan, so DataFusion's optimiser cannot
//! mistake one projection for another.
//!
//! The planner names every node's columns positionally (`_0`, `_1`, …), so two consecutive
//! projections can be identical expression for expression: `print s = 1 | extend s = s * 2 |
//! extend s = s * 2` plans `(_0 * 2) AS _0` over `(_0 * 2) AS _0`. DataFusion 55's
//! `optimize_projections` has a fast path (`merge_consecutive_projections`: "if the previous
//! projection is same as the current projection") that then drops one of the two, so the
//! query returns 2 instead of 4. Upstream removed that fast path in apache/datafusion#24686
//! (merged 2026-08-26, after 55.2); `tests/it/projections.rs` reproduces the upstream
//! behaviour in pure DataFusion and fails once a DataFusion without it is in use, so this pass
//! can then be reconsidered.
//!
//! The pass gives every aliased output of every projection a qualifier unique to that
//! projection (`__p7._0`). References stay unqualified and positional (`_0` resolves to the
//! one `_0` of the input: the planner never puts two columns of one name in a schema), so the
//! planner is unchanged; two projections can no longer be equal unless they only pass columns
//! through, and dropping one of two equal pass-through projections is correct. The final
//! projection to KQL names ([`super::Planner::finish`]) is added after this pass and stays
//! unqualified.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, TableReference};
use datafusion::logical_expr::expr::Alias;
use datafusion::logical_expr::{Expr, LogicalPlan, Projection};

use super::PResult;

/// `plan` with each projection's unqualified aliases qualified by a relation of its own
/// (`__p1`, `__p2`, …, subquery plans included), every column reference qualified like the
/// input column it names (as DataFusion's own builders do: its rewrites, e.g. pushing a filter
/// through a projection, match columns by qualified name), and every schema recomputed.
///
/// A plan with a `union` is left as it is: DataFusion's rewrites through a union's inputs
/// lost qualified columns (one corpus query failed with "No field named _1"), so union queries
/// are still exposed to the upstream bug until that is solved.
pub(super) fn qualify_projections(plan: LogicalPlan) -> PResult<LogicalPlan> {
    let mut has_union = false;
    plan.apply_with_subqueries(|n| {
        has_union |= matches!(n, LogicalPlan::Union(_));
        Ok(if has_union {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    if has_union {
        return Ok(plan);
    }
    let mut next = 0usize;
    let out = plan.transform_up_with_subqueries(|node| {
        let node = qualify_references(node)?;
        let LogicalPlan::Projection(p) = node else {
            // The inputs' qualifiers changed: the node's own schema is derived again.
            return Ok(Transformed::yes(node.recompute_schema()?));
        };
        next += 1;
        let relation = TableReference::bare(format!("__p{next}"));
        let exprs = p
            .expr
            .into_iter()
            .map(|e| match e {
                Expr::Alias(Alias {
                    expr,
                    relation: None,
                    name,
                    metadata,
                }) => Expr::Alias(Alias {
                    expr,
                    relation: Some(relation.clone()),
                    name,
                    metadata,
                }),
                other => other,
            })
            .collect();
        Ok(Transformed::yes(LogicalPlan::Projection(
            Projection::try_new(exprs, p.input)?,
        )))
    })?;
    Ok(out.data)
}

/// `node` with each unqualified column reference qualified like the column of that name in
/// its inputs (the planner keeps names unique within a schema, so there is at most one).
fn qualify_references(node: LogicalPlan) -> datafusion::common::Result<LogicalPlan> {
    let schemas: Vec<DFSchemaRef> = node.inputs().iter().map(|i| i.schema().clone()).collect();
    let qualify = |e: Expr| {
        e.transform_up(|e| match e {
            Expr::Column(c) if c.relation.is_none() => {
                let found = schemas.iter().find_map(|s| {
                    s.qualified_field_with_unqualified_name(&c.name)
                        .ok()
                        .and_then(|(q, _)| q.cloned())
                });
                Ok(match found {
                    Some(q) => Transformed::yes(Expr::Column(Column::new(Some(q), c.name))),
                    None => Transformed::no(Expr::Column(c)),
                })
            }
            other => Ok(Transformed::no(other)),
        })
    };
    Ok(node.map_expressions(qualify)?.data)
}
