//! `scan`: the steps compiled to physical expressions and run by the window function of
//! [`crate::udf::scan_steps`] over the input in its order, then unnested (one row per output).
//!
//! A `sort` right before `scan` becomes the window's `ORDER BY`, so the steps see the rows in
//! that order and the output keeps it; `partition by K (sort ... | scan ...)` becomes its
//! `PARTITION BY K`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use datafusion::common::{DFSchema, ScalarValue, UnnestOptions};
use datafusion::logical_expr::{
    cast, lit, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr, WindowFrame,
    WindowFrameBound, WindowFrameUnits, WindowUDF,
};
use datafusion::prelude::SessionContext;

use palisade_kql::{BoundExpr, BoundScan, BoundTable, ExprNode, KqlType, Schema, TableNode};

use super::{ncol, pcol, unsupported, PResult, PlanError, Planner};
use crate::udf::arrow_type;
use crate::udf::scan_steps::{ScanMachine, ScanStepsUdwf, StepExpr, StepPlan};

/// The window function's output column.
const OUTPUTS: &str = "__scan";

impl Planner<'_> {
    pub(super) fn scan_steps(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        scan: &BoundScan,
    ) -> PResult<LogicalPlan> {
        let (source, keys) = match &input.node {
            TableNode::Sort { input: s, keys } => (s.as_ref(), keys.as_slice()),
            _ => (input, &[][..]),
        };
        let p = self.plan(source)?;
        let mut order: Vec<SortExpr> = Vec::new();
        for k in keys {
            order.push(self.expr(&k.expr)?.sort(k.asc, k.nulls_first));
        }
        let machine = self.scan_machine(schema, input, scan)?;
        let args: Vec<Expr> = if machine.args.is_empty() {
            vec![lit(true)]
        } else {
            machine.args.iter().map(|i| pcol(*i)).collect()
        };
        let udwf = ScanStepsUdwf::new(machine);
        // The function reads the whole partition; a ROWS frame keeps the planner from asking
        // for a range over the sort keys' type.
        let frame = WindowFrame::new_bounds(
            WindowFrameUnits::Rows,
            WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
            WindowFrameBound::Following(ScalarValue::UInt64(None)),
        );
        let w = WindowUDF::new_from_impl(udwf)
            .call(args)
            .partition_by(scan.partition.map(pcol).into_iter().collect())
            .order_by(order)
            .window_frame(frame)
            .build()?
            .alias(OUTPUTS);
        let n = input.schema.columns.len();
        let d = scan.defaults.len();
        let mut out: Vec<Expr> = (0..n).map(pcol).collect();
        let field = |name: &str| {
            datafusion::functions::core::expr_fn::get_field(ncol(OUTPUTS), name.to_string())
        };
        for j in 0..d {
            let ty = schema.columns[n + j].ty;
            out.push(cast(field(&format!("d{j}")), arrow_type(ty)).alias(format!("_{}", n + j)));
        }
        if scan.match_id {
            out.push(cast(field("m"), DataType::Int64).alias(format!("_{}", n + d)));
        }
        let windowed = LogicalPlanBuilder::from(p).window(vec![w])?.build()?;
        let out = Self::keep_hidden(&windowed, out);
        Ok(LogicalPlanBuilder::from(windowed)
            .unnest_column_with_options(OUTPUTS, UnnestOptions::new().with_preserve_nulls(false))?
            .project(out)?
            .build()?)
    }

    /// The steps compiled over the state schema.
    fn scan_machine(
        &mut self,
        schema: &Schema,
        input: &BoundTable,
        scan: &BoundScan,
    ) -> PResult<ScanMachine> {
        let input_types: Vec<DataType> = input
            .schema
            .columns
            .iter()
            .map(|c| arrow_type(c.ty))
            .collect();
        let n = input_types.len();
        let mut defaults = Vec::with_capacity(scan.defaults.len());
        let mut declared_types = Vec::with_capacity(scan.defaults.len());
        for (j, e) in scan.defaults.iter().enumerate() {
            let ty = schema.columns[n + j].ty;
            let x = self.expr(e)?;
            let x = self.typed(x, e.ty, ty)?;
            defaults.push(scalar_of(x, arrow_type(ty))?);
            declared_types.push(ty);
        }
        let record: Vec<DataType> = input_types
            .iter()
            .cloned()
            .chain(declared_types.iter().map(|t| arrow_type(*t)))
            .collect();
        let w = record.len();
        let type_of = |c: usize| record[c % w].clone();
        // Step expressions read no hidden ingestion time: `ingestion_time()` is null there.
        let hidden = std::mem::replace(&mut self.hidden_input, false);
        let ctx = SessionContext::new();
        let mut steps = Vec::with_capacity(scan.steps.len());
        let compile = |planner: &mut Planner<'_>, e: &BoundExpr, to: KqlType| {
            if e.any(|x| {
                x.subquery().is_some()
                    || matches!(
                        x.node,
                        ExprNode::Call {
                            func: palisade_kql::functions::ScalarFunction::Window(_),
                            ..
                        }
                    )
            }) {
                return unsupported("a subquery or row-order function in a scan step");
            }
            let x = planner.expr(e)?;
            let x = planner.typed(x, e.ty, to)?;
            let mut columns = Vec::new();
            let _ = e.any(|x| {
                if let ExprNode::Column { index, .. } = x.node {
                    if !columns.contains(&index) {
                        columns.push(index);
                    }
                }
                false
            });
            columns.sort_unstable();
            let fields: Vec<Field> = columns
                .iter()
                .map(|c| Field::new(format!("_{c}"), type_of(*c), true))
                .collect();
            let arrow = Arc::new(ArrowSchema::new(fields));
            let df = DFSchema::try_from(arrow.as_ref().clone())?;
            let expr = ctx.create_physical_expr(x, &df)?;
            Ok(StepExpr {
                expr,
                columns,
                schema: arrow,
            })
        };
        let mut compiled = || -> PResult<()> {
            for s in &scan.steps {
                let condition = compile(self, &s.condition, KqlType::Bool)?;
                let mut assignments = Vec::new();
                for (i, e) in &s.assignments {
                    assignments.push((*i, compile(self, e, declared_types[*i])?));
                }
                steps.push(StepPlan {
                    output: s.output,
                    condition,
                    assignments,
                });
            }
            Ok(())
        };
        let r = compiled();
        self.hidden_input = hidden;
        r?;
        let mut args: Vec<usize> = Vec::new();
        for s in &steps {
            let reads = std::iter::once(&s.condition).chain(s.assignments.iter().map(|(_, e)| e));
            for e in reads {
                for c in &e.columns {
                    let col = c % w;
                    if col < n && !args.contains(&col) {
                        args.push(col);
                    }
                }
            }
        }
        args.sort_unstable();
        Ok(ScanMachine {
            input_types,
            args,
            defaults,
            steps,
            budget: crate::budget::current(),
        })
    }
}

/// The constant `x` as a scalar of type `ty`.
fn scalar_of(x: Expr, ty: DataType) -> PResult<ScalarValue> {
    let p = SessionContext::new().create_physical_expr(x, &DFSchema::empty())?;
    let batch = arrow::array::RecordBatch::try_new_with_options(
        Arc::new(ArrowSchema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| PlanError::Invalid(format!("scan: a declared default: {e}")))?;
    let v = p.evaluate(&batch)?.into_array(1)?;
    let v = arrow::compute::cast(&v, &ty).map_err(datafusion::error::DataFusionError::from)?;
    Ok(ScalarValue::try_from_array(&v, 0)?)
}
