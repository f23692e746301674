//! Row-order functions (`row_number()`, `prev()`, `next()`) as DataFusion window functions
//! over the input order; the planner turns each call into a computed column
//! (see `Planner::with_windows`).

use datafusion::logical_expr::Expr;
use palisade_kql::functions::WindowFn;
use palisade_kql::{const_eval, BoundExpr, Literal};

use crate::plan::{literal, unsupported, PResult, PlanError, Planner};
use crate::udf::arrow_type;

/// The window expression of `func(args)`, and for `row_number` its start (the window's
/// numbering starts at 1; the planner shifts it).
pub(crate) fn plan(
    p: &mut Planner,
    func: WindowFn,
    args: &[BoundExpr],
) -> PResult<(Expr, Option<i64>)> {
    use datafusion::functions_window::expr_fn as w;
    match func {
        WindowFn::RowNumber => {
            if args.len() > 1 {
                return unsupported("row_number with a restart argument");
            }
            let start = match args.first() {
                None => 1,
                Some(a) => match const_eval(a, p.now) {
                    Some(Literal::Long(v)) => v,
                    Some(Literal::Int(v)) => v as i64,
                    _ => return unsupported("row_number with a non-constant start"),
                },
            };
            Ok((w::row_number(), Some(start)))
        }
        WindowFn::Prev | WindowFn::Next => {
            let first = args
                .first()
                .ok_or_else(|| PlanError::Invalid(format!("{func}: missing argument")))?;
            let x = p.expr(first)?;
            let offset = match args.get(1) {
                None => 1,
                Some(a) => match const_eval(a, p.now) {
                    Some(Literal::Long(v)) => v,
                    Some(Literal::Int(v)) => v as i64,
                    _ => return unsupported(format!("{func} with a non-constant offset")),
                },
            };
            let default = match args.get(2) {
                None => None,
                Some(a) => match const_eval(a, p.now) {
                    Some(l) => match literal(&l)? {
                        Expr::Literal(v, _) => Some(v.cast_to(&arrow_type(first.ty))?),
                        _ => None,
                    },
                    None => return unsupported(format!("{func} with a non-constant default")),
                },
            };
            Ok((
                if func == WindowFn::Prev {
                    w::lag(x, Some(offset), default)
                } else {
                    w::lead(x, Some(offset), default)
                },
                None,
            ))
        }
    }
}
