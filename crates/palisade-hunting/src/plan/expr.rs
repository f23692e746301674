//! Scalar expressions with Kusto semantics: operators, null rules of `==`/`!=`, conversions between KQL types, `in`/`has_any` lists, subqueries, member and index access.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlanBuilder};
use palisade_kql::{BoundExpr, ExprNode, KqlType, Literal};

use datafusion::logical_expr::expr_fn::{in_subquery, not_in_subquery, scalar_subquery};
use palisade_kql::ast::{BinOp, ListOp, StrOpKind};
use palisade_kql::typing;

use super::*;
use crate::functions;
use crate::udf::json::convert_udf;
use crate::udf::text::{self, StrPred};
use crate::udf::{dynamic, str_pred_udf};

impl Planner<'_> {
    /// Translates a scalar expression over positional input columns.
    pub(crate) fn expr(&mut self, e: &BoundExpr) -> PResult<Expr> {
        if let Some((_, column)) = self.computed.iter().rev().find(|(x, _)| x == e) {
            return Ok(ncol(column));
        }
        match &e.node {
            ExprNode::Literal(l) => literal(l),
            ExprNode::Column { index, .. } => Ok(pcol(*index)),
            ExprNode::Call { func, args } => functions::plan_scalar(self, *func, args, e.ty),
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
                        let common = typing::common_type(expr.ty, first_ty).unwrap_or(expr.ty);
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
                Ok(dynamic::member_udf().call(vec![b, lit(key.clone())]))
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
                Ok(dynamic::index_udf().call(vec![b, i]))
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
            // The call plans as one array of its results (computed once per output that a
            // query names; the outputs share no work).
            ExprNode::Output { call, index } => {
                let all = self.expr(call)?;
                Ok(dynamic::index_udf().call(vec![all, lit(*index as i64)]))
            }
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
            return Ok(dynamic::parse_json_udf().call(vec![x]));
        }
        Ok(convert_udf(from, to).call(vec![x]))
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
                    StrOpKind::MatchesRegex => text::regex_match_udf().call(vec![l, r]),
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
                        str_pred_udf(pred, s.case_sensitive).call(vec![l, r])
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
            let res_ty = typing::arithmetic(op_str(op), calc, calc).unwrap_or(Real);
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
                        result.or(dynamic::json_contains_udf(case_insensitive).call(vec![d, s]));
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
                    .map(|t| str_pred_udf(StrPred::Has, false).call(vec![x.clone(), t]))
                    .collect();
                let mut preds = preds;
                for d in dyn_items {
                    preds.push(text::has_list_udf(op == ListOp::HasAll).call(vec![x.clone(), d]));
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
