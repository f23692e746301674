//! Numbers: `bin` (also of datetimes and timespans), rounding, logarithms, trigonometry, the
//! gamma and error functions, bitwise operations, random values.

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
        // A negative number's square root is NaN, as in Kusto (DataFusion's `sqrt` fails).
        F::Sqrt => c
            .row(
                "sqrt",
                KqlType::Real,
                Box::new(|a| a[0].f64().map_or(Out::Null, |v| Out::F64(v.sqrt()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?]),
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
        F::Exp2 => fx::power(lit(2f64), c.arg_as(p, 0, KqlType::Real)?),
        F::Exp10 => fx::power(lit(10f64), c.arg_as(p, 0, KqlType::Real)?),
        F::Pi => lit(std::f64::consts::PI),
        F::Sin => fx::sin(c.arg_as(p, 0, KqlType::Real)?),
        F::Cos => fx::cos(c.arg_as(p, 0, KqlType::Real)?),
        F::Tan => fx::tan(c.arg_as(p, 0, KqlType::Real)?),
        F::Cot => fx::cot(c.arg_as(p, 0, KqlType::Real)?),
        F::Asin => fx::asin(c.arg_as(p, 0, KqlType::Real)?),
        F::Acos => fx::acos(c.arg_as(p, 0, KqlType::Real)?),
        F::Atan => fx::atan(c.arg_as(p, 0, KqlType::Real)?),
        F::Atan2 => fx::atan2(
            c.arg_as(p, 0, KqlType::Real)?,
            c.arg_as(p, 1, KqlType::Real)?,
        ),
        F::Degrees => fx::degrees(c.arg_as(p, 0, KqlType::Real)?),
        F::Radians => fx::radians(c.arg_as(p, 0, KqlType::Real)?),
        F::Gamma | F::LogGamma | F::Erf | F::Erfc => {
            let g: fn(f64) -> f64 = match f {
                F::Gamma => libm::tgamma,
                // Kusto's loggamma is the log of the absolute value of gamma.
                F::LogGamma => libm::lgamma,
                F::Erf => libm::erf,
                _ => libm::erfc,
            };
            c.row(
                c.name,
                KqlType::Real,
                Box::new(move |a| a[0].f64().map_or(Out::Null, |v| Out::F64(g(v)))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?])
        }
        F::IsFinite => c
            .row(
                "isfinite",
                KqlType::Bool,
                Box::new(|a| a[0].f64().map_or(Out::Null, |v| Out::Bool(v.is_finite()))),
            )
            .call(vec![c.arg_as(p, 0, KqlType::Real)?]),
        F::BinaryAnd
        | F::BinaryOr
        | F::BinaryXor
        | F::BinaryNot
        | F::BinaryShiftLeft
        | F::BinaryShiftRight
        | F::BitsetCountOnes => bitwise(p, f, c)?,
    })
}

/// The bitwise functions, over 64-bit two's-complement integers (reals are truncated). A
/// shift count is taken modulo 64, as .NET's `<<`/`>>` on a long (which Kusto inherits); the
/// right shift is arithmetic (it keeps the sign).
fn bitwise(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let g: fn(i64, i64) -> i64 = match f {
        F::BinaryAnd => |a, b| a & b,
        F::BinaryOr => |a, b| a | b,
        F::BinaryXor => |a, b| a ^ b,
        F::BinaryNot => |a, _| !a,
        F::BinaryShiftLeft => |a, b| a.wrapping_shl((b & 63) as u32),
        F::BinaryShiftRight => |a, b| a.wrapping_shr((b & 63) as u32),
        _ => |a, _| i64::from(a.count_ones() as u8),
    };
    let unary = c.n == 1;
    Ok(c.row(
        c.name,
        KqlType::Long,
        Box::new(move |a| {
            let x = a[0].i64();
            let y = if unary { Some(0) } else { a[1].i64() };
            match (x, y) {
                (Some(x), Some(y)) => Out::I64(g(x, y)),
                _ => Out::Null,
            }
        }),
    )
    .call(c.all_as(p, KqlType::Long)?))
}
