//! Conversions between scalar types (`tostring()`, `tolong()`, `todatetime()`, …, `tohex()`).

use super::*;
use palisade_kql::functions::ConversionFn as F;

/// Plans `f` applied to `c`.
pub(super) fn plan(p: &mut Planner, f: F, c: &Call) -> PResult<Expr> {
    let ty = c.ty;
    Ok(match f {
        F::ToDateTime
        | F::ToString
        | F::ToInt
        | F::ToLong
        | F::ToReal
        | F::ToDecimal
        | F::ToBool
        | F::ToGuid
        | F::ToTimespan => c.arg_as(p, 0, ty)?,
        F::ToHex => c
            .row(
                c.name,
                KqlType::String,
                Box::new(|a| {
                    let v = a[0].i64().unwrap_or(0);
                    let w = a.get(1).and_then(|x| x.i64()).unwrap_or(0).max(0) as usize;
                    Out::Str(format!("{v:0w$x}"))
                }),
            )
            .call(c.all_as(p, KqlType::Long)?),
    })
}
