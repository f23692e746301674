//! `summarize`: group keys and aggregate calls; aggregate and row-order (window) calls nested in larger expressions become computed columns the expression then reads.

use arrow::datatypes::DataType;
use datafusion::logical_expr::{cast, lit, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder};
use palisade_kql::{BoundExpr, BoundTable, ExprNode, KqlType, Schema};

use palisade_kql::functions::ScalarFunction;

use super::*;
use crate::functions;

/// The aggregate calls of one `summarize`, each planned once: the bound call and its
/// DataFusion aggregate, computed as column `_a{index}`.
pub(crate) type AggCalls = Vec<(BoundExpr, Expr)>;

impl Planner<'_> {
    pub(super) fn aggregate(
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
        let mut calls = AggCalls::new();
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
            .map(|(i, c)| c.1.clone().alias(format!("_a{i}")))
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

    /// Translates an aggregate-containing expression: each aggregate call in it (not inside
    /// another) is planned once into `calls` and read back as its column `_a{i}`.
    pub(crate) fn agg_expr(&mut self, e: &BoundExpr, calls: &mut AggCalls) -> PResult<Expr> {
        let found = e.outermost(|x| matches!(x.node, ExprNode::Aggregate { .. }));
        let before = self.computed.len();
        for a in found {
            let ExprNode::Aggregate { func, args, output } = &a.node else {
                continue;
            };
            let i = match calls.iter().position(|(c, _)| c.node == a.node) {
                Some(i) => i,
                None => {
                    let x = functions::aggregate::plan(self, *func, args, *output)?;
                    calls.push((a.clone(), x));
                    calls.len() - 1
                }
            };
            self.computed.push((a.clone(), format!("_a{i}")));
        }
        let r = self.expr(e);
        self.computed.truncate(before);
        r
    }

    /// Translates `exprs` over `p`, where each row-order call (`row_number`, `prev`, `next`)
    /// in them first becomes a window column computed over the (serialized) input order.
    pub(super) fn with_windows(
        &mut self,
        mut p: LogicalPlan,
        ncols: usize,
        exprs: &[BoundExpr],
    ) -> PResult<(LogicalPlan, Vec<Expr>)> {
        let calls: Vec<&BoundExpr> = exprs
            .iter()
            .flat_map(|e| {
                e.outermost(|x| {
                    matches!(
                        x.node,
                        ExprNode::Call {
                            func: ScalarFunction::Window(_),
                            ..
                        }
                    )
                })
            })
            .collect();
        let before = self.computed.len();
        if !calls.is_empty() {
            // Window expressions must be bare calls: compute `__wr{k}`, then derive `__w{k}`
            // (row_number's start offset, Int64 type) in a projection.
            let mut bare = Vec::new();
            let mut post: Vec<Expr> = Self::keep_hidden(&p, (0..ncols).map(pcol).collect());
            for (k, call) in calls.iter().enumerate() {
                let ExprNode::Call {
                    func: ScalarFunction::Window(func),
                    args,
                } = &call.node
                else {
                    continue;
                };
                let (w, start) = functions::window::plan(self, *func, args)?;
                bare.push(w.alias(format!("__wr{k}")));
                let c = ncol(&format!("__wr{k}"));
                post.push(
                    match start {
                        Some(s) => cast(c, DataType::Int64) + lit(s - 1),
                        None => c,
                    }
                    .alias(format!("__w{k}")),
                );
                self.computed.push(((*call).clone(), format!("__w{k}")));
            }
            p = LogicalPlanBuilder::from(p)
                .window(bare)?
                .project(post)?
                .build()?;
        }
        let out: PResult<Vec<Expr>> = exprs.iter().map(|e| self.expr(e)).collect();
        self.computed.truncate(before);
        Ok((p, out?))
    }

    pub(crate) fn avg(&mut self, a: &BoundExpr, filter: Option<Expr>) -> PResult<Expr> {
        let x = self.real(a)?;
        let e = agg::avg(x);
        Ok(match filter {
            Some(p) => e.filter(p).build()?,
            None => e,
        })
    }

    pub(crate) fn numeric(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        match a.ty {
            KqlType::Dynamic | KqlType::String => self.conv(x, a.ty, KqlType::Real),
            KqlType::Bool => Ok(cast(x, DataType::Int64)),
            _ => Ok(x),
        }
    }

    pub(crate) fn real(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        self.conv(x, a.ty, KqlType::Real)
    }

    pub(crate) fn bool_expr(&mut self, a: &BoundExpr) -> PResult<Expr> {
        let x = self.expr(a)?;
        self.conv(x, a.ty, KqlType::Bool)
    }
}
