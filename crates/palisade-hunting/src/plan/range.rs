//! `range`: the rows of a constant numeric or datetime range, as an in-memory table of at most
//! [`MAX_RANGE_ROWS`] rows; a longer range is refused at the position of its bounds before
//! anything is built.

use std::sync::Arc;

use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use palisade_kql::{BoundExpr, KqlType, Literal, Schema};

use super::*;

/// Most rows the `range` operator produces [inferred: Kusto sets no documented number; the
/// rows are built in memory, so Palisade bounds them].
pub(crate) const MAX_RANGE_ROWS: u64 = 1_000_000;

/// The row count of `from..=to` by `step`, exactly (0 when the range is empty).
fn range_len(from: f64, to: f64, step: f64) -> f64 {
    if (step > 0.0 && from > to) || (step < 0.0 && from < to) {
        0.0
    } else {
        ((to - from) / step).floor() + 1.0
    }
}

impl Planner<'_> {
    pub(super) fn range(
        &mut self,
        schema: &Schema,
        from: &BoundExpr,
        to: &BoundExpr,
        step: &BoundExpr,
    ) -> PResult<LogicalPlan> {
        const MAX: usize = MAX_RANGE_ROWS as usize;
        let too_long = |rows: f64| PlanError::InvalidAt {
            message: format!(
                "range would produce {} rows; the limit of the range operator is {} rows",
                if rows < 1e18 {
                    format!("{rows:.0}")
                } else {
                    format!("{rows:e}")
                },
                MAX_RANGE_ROWS
            ),
            pos: from.span.start,
        };
        let err = || PlanError::Invalid("range bounds and step must be constants".into());
        let (a, b, s) = (
            const_eval(from, self.now).ok_or_else(err)?,
            const_eval(to, self.now).ok_or_else(err)?,
            const_eval(step, self.now).ok_or_else(err)?,
        );
        let mut fv: Vec<f64> = Vec::new();
        let mut iv: Vec<i64> = Vec::new();
        let as_i = |l: &Literal| match l {
            Literal::Long(v) | Literal::DateTime(v) | Literal::TimeSpan(v) => Some(*v),
            Literal::Int(v) => Some(*v as i64),
            _ => None,
        };
        let as_f = |l: &Literal| match l {
            Literal::Real(v) => Some(*v),
            Literal::Long(v) => Some(*v as f64),
            Literal::Int(v) => Some(*v as f64),
            _ => None,
        };
        let ty = schema.columns.first().map_or(KqlType::Long, |c| c.ty);
        match ty {
            KqlType::Real | KqlType::Decimal => {
                let (a, b, s) = (
                    as_f(&a).ok_or_else(err)?,
                    as_f(&b).ok_or_else(err)?,
                    as_f(&s).ok_or_else(err)?,
                );
                if s == 0.0 {
                    return Err(PlanError::Invalid("range step must not be 0".into()));
                }
                let rows = range_len(a, b, s);
                if rows.is_nan() || rows > MAX as f64 {
                    return Err(too_long(rows));
                }
                let mut x = a;
                while (s > 0.0 && x <= b) || (s < 0.0 && x >= b) {
                    fv.push(x);
                    if fv.len() > MAX {
                        return Err(too_long(fv.len() as f64));
                    }
                    x += s;
                }
            }
            _ => {
                let (a, b, s) = (
                    as_i(&a).ok_or_else(err)?,
                    as_i(&b).ok_or_else(err)?,
                    as_i(&s).ok_or_else(err)?,
                );
                if s == 0 {
                    return Err(PlanError::Invalid("range step must not be 0".into()));
                }
                let rows = (i128::from(b) - i128::from(a)) / i128::from(s) + 1;
                if rows > MAX as i128 {
                    return Err(too_long(rows as f64));
                }
                let mut x = a;
                while (s > 0 && x <= b) || (s < 0 && x >= b) {
                    iv.push(x);
                    if iv.len() > MAX {
                        return Err(too_long(iv.len() as f64));
                    }
                    x = match x.checked_add(s) {
                        Some(v) => v,
                        None => break,
                    };
                }
            }
        }
        if fv.is_empty() && iv.is_empty() {
            return empty_plan(schema);
        }
        use arrow::array::{
            ArrayRef, Float64Array, Int32Array, Int64Array, TimestampNanosecondArray,
        };
        let arr: ArrayRef = match ty {
            KqlType::Real | KqlType::Decimal => Arc::new(Float64Array::from(fv)),
            KqlType::DateTime => Arc::new(TimestampNanosecondArray::from(iv).with_timezone("UTC")),
            KqlType::Int => Arc::new(Int32Array::from(
                iv.into_iter().map(|v| v as i32).collect::<Vec<_>>(),
            )),
            _ => Arc::new(Int64Array::from(iv)),
        };
        let field = arrow::datatypes::Field::new("_0", arrow_type(ty), true);
        let aschema = Arc::new(arrow::datatypes::Schema::new(vec![field]));
        let batch = arrow::array::RecordBatch::try_new(aschema.clone(), vec![arr])
            .map_err(|e| PlanError::DataFusion(e.to_string()))?;
        let mem = datafusion::datasource::MemTable::try_new(aschema, vec![vec![batch]])?;
        Ok(LogicalPlanBuilder::scan(
            "range",
            datafusion::datasource::provider_as_source(Arc::new(mem)),
            None,
        )?
        .build()?)
    }
}
