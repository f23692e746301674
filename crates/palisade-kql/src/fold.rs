//! Constant folding: the value of an expression that needs no row (literals, negation,
//! arithmetic, `ago()`/`now()`), for the binder (checks of constant arguments) and the
//! engine (row counts, `range` bounds, percentages) alike.

use crate::ast::BinOp;
use crate::bound::{BoundExpr, ExprNode};
use crate::functions::{ConversionFn, DateTimeFn, ScalarFunction};
use crate::value::Literal;

/// The value of `e` if it is constant, with `now()` at `now` (nanoseconds since the epoch).
pub fn const_eval(e: &BoundExpr, now: i64) -> Option<Literal> {
    match &e.node {
        ExprNode::Literal(l) => Some(l.clone()),
        ExprNode::Neg(x) => match const_eval(x, now)? {
            Literal::Long(v) => Some(Literal::Long(v.checked_neg()?)),
            Literal::Int(v) => Some(Literal::Int(v.checked_neg()?)),
            Literal::Real(v) => Some(Literal::Real(-v)),
            Literal::TimeSpan(v) => Some(Literal::TimeSpan(v.checked_neg()?)),
            _ => None,
        },
        ExprNode::Call { func, args } => match func {
            ScalarFunction::DateTime(DateTimeFn::Ago) => match const_eval(args.first()?, now)? {
                Literal::TimeSpan(v) => Some(Literal::DateTime(now.checked_sub(v)?)),
                _ => None,
            },
            ScalarFunction::DateTime(DateTimeFn::Now) => match args.first() {
                None => Some(Literal::DateTime(now)),
                Some(a) => match const_eval(a, now)? {
                    Literal::TimeSpan(v) => Some(Literal::DateTime(now.checked_add(v)?)),
                    _ => None,
                },
            },
            ScalarFunction::Conversion(ConversionFn::ToDateTime | ConversionFn::ToTimespan) => {
                const_eval(args.first()?, now)
                    .filter(|l| matches!(l, Literal::DateTime(_) | Literal::TimeSpan(_)))
            }
            _ => None,
        },
        ExprNode::Binary { op, lhs, rhs } => {
            let (a, b) = (const_eval(lhs, now)?, const_eval(rhs, now)?);
            use Literal::*;
            Some(match (op, a, b) {
                (BinOp::Add, Long(x), Long(y)) => Long(x.checked_add(y)?),
                (BinOp::Sub, Long(x), Long(y)) => Long(x.checked_sub(y)?),
                (BinOp::Mul, Long(x), Long(y)) => Long(x.checked_mul(y)?),
                (BinOp::Div, Long(x), Long(y)) if y != 0 => Long(x.checked_div(y)?),
                (BinOp::Add, Real(x), Real(y)) => Real(x + y),
                (BinOp::Sub, Real(x), Real(y)) => Real(x - y),
                (BinOp::Mul, Real(x), Real(y)) => Real(x * y),
                (BinOp::Div, Real(x), Real(y)) => Real(x / y),
                (BinOp::Add, DateTime(x), TimeSpan(y)) | (BinOp::Add, TimeSpan(y), DateTime(x)) => {
                    DateTime(x.checked_add(y)?)
                }
                (BinOp::Sub, DateTime(x), TimeSpan(y)) => DateTime(x.checked_sub(y)?),
                (BinOp::Sub, DateTime(x), DateTime(y)) => TimeSpan(x.checked_sub(y)?),
                (BinOp::Add, TimeSpan(x), TimeSpan(y)) => TimeSpan(x.checked_add(y)?),
                (BinOp::Sub, TimeSpan(x), TimeSpan(y)) => TimeSpan(x.checked_sub(y)?),
                (BinOp::Mul, TimeSpan(x), Long(y)) | (BinOp::Mul, Long(y), TimeSpan(x)) => {
                    TimeSpan(x.checked_mul(y)?)
                }
                (BinOp::Mul, TimeSpan(x), Real(y)) | (BinOp::Mul, Real(y), TimeSpan(x)) => {
                    TimeSpan((x as f64 * y) as i64)
                }
                (BinOp::Div, TimeSpan(x), Long(y)) if y != 0 => TimeSpan(x.checked_div(y)?),
                _ => return None,
            })
        }
        _ => None,
    }
}

/// A constant, non-negative row count (`take 10`, `top 5`, `sample 3`).
pub fn const_count(e: &BoundExpr, now: i64) -> Option<usize> {
    match const_eval(e, now)? {
        Literal::Long(v) if v >= 0 => usize::try_from(v).ok(),
        Literal::Int(v) if v >= 0 => usize::try_from(v).ok(),
        Literal::Real(v) if v >= 0.0 && v.is_finite() => Some(v as usize),
        _ => None,
    }
}
