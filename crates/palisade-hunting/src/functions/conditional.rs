//! Conditionals, null and emptiness tests, and `gettype()`.

use super::*;
use crate::udf::json::gettype_json;
use palisade_kql::functions::ConditionalFn as F;

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let (n, ty) = (c.n, c.ty);
    Ok(match f {
        F::Iff => {
            let cond = c.arg_as(p, 0, KqlType::Bool)?;
            when(cond, c.arg_as(p, 1, ty)?).otherwise(c.arg_as(p, 2, ty)?)?
        }
        F::Case => {
            let mut b: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> =
                None;
            let mut i = 0;
            while i + 1 < n {
                let cond = c.arg_as(p, i, KqlType::Bool)?;
                let v = c.arg_as(p, i + 1, ty)?;
                b = Some(match b {
                    None => when(cond, v),
                    Some(mut b) => b.when(cond, v),
                });
                i += 2;
            }
            let other = c.arg_as(p, n - 1, ty)?;
            match b {
                Some(mut b) => b.otherwise(other)?,
                None => other,
            }
        }
        F::Coalesce => {
            let mut v = Vec::new();
            for i in 0..n {
                let x = c.arg_as(p, i, ty)?;
                v.push(if matches!(ty, KqlType::String | KqlType::Guid) {
                    fx::nullif(x, lit(""))
                } else {
                    x
                });
            }
            if matches!(ty, KqlType::String | KqlType::Guid) {
                v.push(lit(""));
            }
            fx::coalesce(v)
        }
        F::MaxOf | F::MinOf => {
            let v: Vec<Expr> = (0..n).map(|i| c.arg_as(p, i, ty)).collect::<PResult<_>>()?;
            if f == F::MaxOf {
                fx::greatest(v)
            } else {
                fx::least(v)
            }
        }
        F::IsEmpty | F::IsNotEmpty => {
            let x = c.arg(0)?;
            let empty = if matches!(c.t(0), KqlType::String | KqlType::Guid | KqlType::Dynamic) {
                x.clone().is_null().or(x.eq(lit("")))
            } else {
                x.is_null()
            };
            if f == F::IsEmpty {
                empty
            } else {
                Expr::Not(Box::new(empty))
            }
        }
        F::IsNull => c.arg(0)?.is_null(),
        F::IsNotNull => c.arg(0)?.is_not_null(),
        F::Not => Expr::Not(Box::new(c.arg_as(p, 0, KqlType::Bool)?)),
        // `around(value, center, delta)`: center - delta <= value <= center + delta, in whole
        // numbers when no argument is a real (datetimes and timespans are nanoseconds), else
        // in reals; null when an argument is null or not a number, datetime or timespan.
        F::Around => c
            .row(
                c.name,
                KqlType::Bool,
                Box::new(|a| {
                    if a.iter().all(|v| matches!(v, Val::I64(_) | Val::Ts(_))) {
                        match (a[0].i64(), a[1].i64(), a[2].i64()) {
                            (Some(x), Some(m), Some(d)) => {
                                Out::Bool((m.saturating_sub(d)..=m.saturating_add(d)).contains(&x))
                            }
                            _ => Out::Null,
                        }
                    } else {
                        match (a[0].f64(), a[1].f64(), a[2].f64()) {
                            (Some(x), Some(m), Some(d)) => Out::Bool(x >= m - d && x <= m + d),
                            _ => Out::Null,
                        }
                    }
                }),
            )
            .call(c.xs.clone()),
        F::GetType => {
            if c.t(0) == KqlType::Dynamic {
                c.row(
                    "gettype",
                    KqlType::String,
                    Box::new(|a| match a[0] {
                        Val::Str(s) => Out::Str(gettype_json(&parse_dyn(s)).into()),
                        _ => Out::Str("null".into()),
                    }),
                )
                .call(vec![c.arg(0)?])
            } else {
                lit(match c.t(0) {
                    KqlType::Real => "real",
                    KqlType::Guid => "guid",
                    other => other.name(),
                })
            }
        }
    })
}
