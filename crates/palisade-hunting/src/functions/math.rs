//! Numbers: `bin` (also of datetimes and timespans), rounding, logarithms, random values.

use super::*;
use palisade_kql::functions::MathFn as F;

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let (n, ty) = (c.n, c.ty);
    Ok(match f {
        F::Bin | F::BinAt => {
            let x = c.arg(0)?;
            let at = if f == F::BinAt { Some(c.arg(2)?) } else { None };
            match c.t(0) {
                KqlType::DateTime | KqlType::TimeSpan => {
                    let v = cast(x, DataType::Int64);
                    let size = c.arg_as(p, 1, KqlType::TimeSpan)?;
                    let off = match at {
                        Some(a) => cast(p.conv(a, c.t(2), c.t(0))?, DataType::Int64),
                        None => lit(0i64),
                    };
                    let shifted = v - off.clone();
                    let floored =
                        shifted.clone() - ((shifted % size.clone()) + size.clone()) % size;
                    cast(floored + off, arrow_type(c.t(0)))
                }
                KqlType::Int | KqlType::Long => {
                    let size = c.arg_as(p, 1, KqlType::Long)?;
                    let v = cast(x, DataType::Int64);
                    let off = match at {
                        Some(a) => cast(a, DataType::Int64),
                        None => lit(0i64),
                    };
                    let s = v - off.clone();
                    let r = s.clone() - ((s % size.clone()) + size.clone()) % size;
                    cast(r + off, arrow_type(c.t(0)))
                }
                KqlType::Real | KqlType::Decimal => {
                    let size = c.arg_as(p, 1, KqlType::Real)?;
                    let off = match at {
                        Some(a) => cast(a, DataType::Float64),
                        None => lit(0f64),
                    };
                    fx::floor((cast(x, DataType::Float64) - off.clone()) / size.clone()) * size
                        + off
                }
                other => return unsupported(format!("{} on {other}", c.name)),
            }
        }
        F::IsNan => c
            .row(
                "isnan",
                KqlType::Bool,
                Box::new(|a| {
                    a[0].f64()
                        .map_or(Out::Bool(false), |v| Out::Bool(v.is_nan()))
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?]),
        F::IsInf => c
            .row(
                "isinf",
                KqlType::Bool,
                Box::new(|a| {
                    a[0].f64()
                        .map_or(Out::Bool(false), |v| Out::Bool(v.is_infinite()))
                }),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?]),
        F::Abs => fx::abs(c.arg(0)?),
        F::Round => {
            let d = if n > 1 {
                c.arg_as(p, 1, KqlType::Long)?
            } else {
                lit(0i64)
            };
            let r = fx::round(vec![c.arg_as(p, 0, KqlType::Real)?, d]);
            cast(r, arrow_type(ty))
        }
        F::Ceiling => cast(fx::ceil(c.arg_as(p, 0, KqlType::Real)?), arrow_type(ty)),
        F::Sign => cast(fx::signum(c.arg_as(p, 0, KqlType::Real)?), arrow_type(ty)),
        F::Sqrt => fx::sqrt(c.arg_as(p, 0, KqlType::Real)?),
        F::Exp => fx::exp(c.arg_as(p, 0, KqlType::Real)?),
        F::Log => fx::ln(c.arg_as(p, 0, KqlType::Real)?),
        F::Log10 => fx::log10(c.arg_as(p, 0, KqlType::Real)?),
        F::Log2 => fx::log2(c.arg_as(p, 0, KqlType::Real)?),
        F::Pow => fx::power(
            c.arg_as(p, 0, KqlType::Real)?,
            c.arg_as(p, 1, KqlType::Real)?,
        ),
        F::Rand => {
            if n == 0 {
                fx::random()
            } else {
                cast(
                    fx::floor(fx::random() * c.arg_as(p, 0, KqlType::Real)?),
                    DataType::Float64,
                )
            }
        }
        F::NewGuid => fx::uuid(),
    })
}
