//! Aggregate functions as DataFusion aggregates: built-ins where Kusto's semantics match
//! (`count`, `sum`, `min`, …, with `*if` forms as filtered aggregates), accumulator UDAFs
//! otherwise (`make_set`/`make_list`/`make_bag` build JSON; `percentile(s)` are exact
//! nearest-rank values). `dcount` is exact where Kusto estimates.

use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{lit, Expr, ExprFunctionExt};
use palisade_kql::functions::AggregateFunction;
use palisade_kql::{const_eval, BoundExpr, KqlType, Literal};

use crate::plan::{unsupported, PResult, PlanError, Planner};
use crate::udf::aggregates::{collect_udaf, percentile_udaf, percentiles_array_udaf, Collect};
use crate::udf::weighted::weighted_percentile_udaf;

/// The aggregate expression of output `output` of `func(args)` (multi-output aggregates such
/// as `arg_max(t, a, b)` are planned once per output).
pub(crate) fn plan(
    p: &mut Planner,
    func: AggregateFunction,
    args: &[BoundExpr],
    output: usize,
) -> PResult<Expr> {
    use AggregateFunction as A;
    let arg = |i: usize| -> PResult<&BoundExpr> {
        args.get(i)
            .ok_or_else(|| PlanError::Invalid(format!("{func}: missing argument")))
    };
    let max_arg = |p: &Planner, i: usize| -> PResult<usize> {
        match args.get(i) {
            None => Ok(1_048_576),
            Some(e) => p.const_count(e),
        }
    };
    Ok(match func {
        A::Count => match args.first() {
            // `count(x)` counts rows where `x` is not null.
            Some(a) => agg::count(p.expr(a)?),
            None => agg::count(lit(1i64)),
        },
        A::CountIf => {
            let pred = p.bool_expr(arg(0)?)?;
            agg::count(lit(1i64)).filter(pred).build()?
        }
        A::DCount | A::CountDistinct => agg::count_distinct(p.expr(arg(0)?)?),
        A::DCountIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::count(p.expr(arg(0)?)?)
                .distinct()
                .filter(pred)
                .build()?
        }
        A::Sum => agg::sum(p.numeric(arg(0)?)?),
        A::SumIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::sum(p.numeric(arg(0)?)?).filter(pred).build()?
        }
        A::Avg => p.avg(arg(0)?, None)?,
        A::AvgIf => {
            let pred = p.bool_expr(arg(1)?)?;
            p.avg(arg(0)?, Some(pred))?
        }
        A::Min => agg::min(p.expr(arg(0)?)?),
        A::Max => agg::max(p.expr(arg(0)?)?),
        A::MinIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::min(p.expr(arg(0)?)?).filter(pred).build()?
        }
        A::MaxIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::max(p.expr(arg(0)?)?).filter(pred).build()?
        }
        A::Stdev => agg::stddev(p.real(arg(0)?)?),
        A::StdevP => agg::stddev_pop(p.real(arg(0)?)?),
        A::VarianceP => agg::var_pop(p.real(arg(0)?)?),
        A::VariancePIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::var_pop(p.real(arg(0)?)?).filter(pred).build()?
        }
        A::Covariance => agg::covar_samp(p.real(arg(0)?)?, p.real(arg(1)?)?),
        A::CovarianceP => agg::covar_pop(p.real(arg(0)?)?, p.real(arg(1)?)?),
        A::CovarianceIf | A::CovariancePIf => {
            let pred = p.bool_expr(arg(2)?)?;
            let (x, y) = (p.real(arg(0)?)?, p.real(arg(1)?)?);
            let e = if func == A::CovarianceIf {
                agg::covar_samp(x, y)
            } else {
                agg::covar_pop(x, y)
            };
            e.filter(pred).build()?
        }
        A::CountDistinctIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::count(p.expr(arg(0)?)?)
                .distinct()
                .filter(pred)
                .build()?
        }
        A::BinaryAllAnd | A::BinaryAllOr | A::BinaryAllXor => {
            let a = arg(0)?;
            let planned = p.expr(a)?;
            let x = p.conv(planned, a.ty, KqlType::Long)?;
            match func {
                A::BinaryAllAnd => agg::bit_and(x),
                A::BinaryAllOr => agg::bit_or(x),
                _ => agg::bit_xor(x),
            }
        }
        A::Variance => agg::var_sample(p.real(arg(0)?)?),
        A::StdevIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::stddev(p.real(arg(0)?)?).filter(pred).build()?
        }
        A::VarianceIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::var_sample(p.real(arg(0)?)?).filter(pred).build()?
        }
        // The key column itself is just the extreme value (nulls never win either way).
        A::ArgMax if output == 0 => agg::max(p.expr(arg(0)?)?),
        A::ArgMin if output == 0 => agg::min(p.expr(arg(0)?)?),
        A::ArgMax | A::ArgMin => {
            let key = p.expr(arg(0)?)?;
            let target = if output == 0 { arg(0)? } else { arg(output)? };
            let value = p.expr(target)?;
            let desc = func == A::ArgMax;
            // Rows with a null key never win (nulls sort last either way).
            agg::first_value(value, vec![key.sort(!desc, false)])
        }
        A::TakeAny => {
            let value = p.expr(arg(output)?)?;
            agg::first_value(value, vec![])
        }
        A::TakeAnyIf => {
            let pred = p.bool_expr(arg(1)?)?;
            agg::first_value(p.expr(arg(0)?)?, vec![])
                .filter(pred)
                .build()?
        }
        A::MakeSet | A::MakeList | A::MakeBag | A::MakeListWithNulls => {
            let kind = match func {
                A::MakeSet => Collect::Set,
                A::MakeList => Collect::List,
                A::MakeListWithNulls => Collect::ListWithNulls,
                _ => Collect::Bag,
            };
            let a = arg(0)?;
            let max = max_arg(p, 1)?;
            let x = p.expr(a)?;
            collect_udaf(kind, a.ty, max).call(vec![x])
        }
        A::MakeSetIf | A::MakeListIf | A::MakeBagIf => {
            let kind = match func {
                A::MakeSetIf => Collect::Set,
                A::MakeListIf => Collect::List,
                _ => Collect::Bag,
            };
            let a = arg(0)?;
            let pred = p.bool_expr(arg(1)?)?;
            let max = max_arg(p, 2)?;
            let x = p.expr(a)?;
            collect_udaf(kind, a.ty, max)
                .call(vec![x])
                .filter(pred)
                .build()?
        }
        A::Percentile | A::Percentiles => {
            let pct_arg = if func == A::Percentile { 1 } else { output + 1 };
            let pct = match const_eval(arg(pct_arg)?, p.now) {
                Some(Literal::Long(v)) => v as f64,
                Some(Literal::Int(v)) => v as f64,
                Some(Literal::Real(v)) => v,
                _ => return Err(PlanError::Invalid("percentile must be a constant".into())),
            };
            let a = arg(0)?;
            if !(a.ty.is_numeric() || a.ty == KqlType::TimeSpan) {
                return unsupported(format!("{func} over {}", a.ty));
            }
            let x = p.real(a)?;
            percentile_udaf(pct).call(vec![x])
        }
        A::PercentilesArray => {
            // `percentiles_array(x, p1, p2, ...)` or `percentiles_array(x, dynamic([...]))`:
            // the same exact nearest-rank values as `percentiles`, as one dynamic array.
            let a = arg(0)?;
            if !a.ty.is_numeric() {
                return unsupported(format!("{func} over {}", a.ty));
            }
            let ps = percentages(p, func, &args[1..])?;
            let ints = matches!(a.ty, KqlType::Int | KqlType::Long);
            let x = p.real(a)?;
            percentiles_array_udaf(ps, ints).call(vec![x])
        }
        A::PercentileW | A::PercentilesWArray => {
            // Weighted: the nearest-rank percentile of the values repeated `weight` times.
            let a = arg(0)?;
            if !a.ty.is_numeric() {
                return unsupported(format!("{func} over {}", a.ty));
            }
            let ps = percentages(p, func, &args[2..])?;
            let array = (func == A::PercentilesWArray)
                .then_some(matches!(a.ty, KqlType::Int | KqlType::Long));
            let x = p.real(a)?;
            let w = arg(1)?;
            let planned = p.expr(w)?;
            let weight = p.conv(planned, w.ty, KqlType::Long)?;
            weighted_percentile_udaf(ps, array).call(vec![x, weight])
        }
    })
}

/// Constant percentages from 0 to 100: one argument each, or a single dynamic array of them.
fn percentages(p: &Planner, func: AggregateFunction, args: &[BoundExpr]) -> PResult<Vec<f64>> {
    let invalid =
        || PlanError::Invalid(format!("{func}() needs constant percentages from 0 to 100"));
    let mut ps = Vec::new();
    for e in args {
        match const_eval(e, p.now).ok_or_else(invalid)? {
            Literal::Long(v) => ps.push(v as f64),
            Literal::Int(v) => ps.push(v as f64),
            Literal::Real(v) => ps.push(v),
            Literal::Dynamic(serde_json::Value::Array(items)) if args.len() == 1 => {
                for it in items {
                    ps.push(it.as_f64().ok_or_else(invalid)?);
                }
            }
            _ => return Err(invalid()),
        }
    }
    if ps.is_empty() || ps.iter().any(|p| !(0.0..=100.0).contains(p)) {
        return Err(invalid());
    }
    Ok(ps)
}
