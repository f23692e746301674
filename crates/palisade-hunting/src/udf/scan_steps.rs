//! Kusto's `scan` operator as a DataFusion window function over the ordered input.
//!
//! [`ScanMachine`] runs the documented scan logic: each row is checked against the steps from
//! the last to the first; a step matches by promoting the previous step's sequence (check 1)
//! or by extending its own active sequence (check 2, or any row for the first step, which
//! starts a new sequence and a new match id). The window function returns, for each input
//! row, the list of its outputs (`{d0.., m}`: the declared columns and the match id), which
//! the planner unnests, so a row appears once per output.
//!
//! Expressions are DataFusion physical expressions over the *state schema* (see
//! `palisade_kql::BoundScan`). One that reads only the input row is evaluated once over the
//! whole partition; one that reads the state is evaluated row by row on a one-row batch of
//! the columns it reads.
//!
//! `output=last` [inferred: the docs say only "the last record in a series of repeating
//! matches for the step"]: a step's last record is output when its sequence leaves the step
//! (promoted to the next step or replaced by a new sequence) or at the end of the input, at
//! that record's own place in the input order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{
    new_empty_array, new_null_array, Array, ArrayRef, AsArray, Int64Array, ListArray, RecordBatch,
    StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, SchemaRef};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};
use datafusion::physical_expr::PhysicalExpr;
use palisade_kql::ast::ScanOutput;

use crate::budget::{Budget, Charge};

/// One compiled step expression.
#[derive(Debug)]
pub(crate) struct StepExpr {
    /// The expression over `schema`.
    pub(crate) expr: Arc<dyn PhysicalExpr>,
    /// The state-schema columns it reads, in the order of `schema`'s fields.
    pub(crate) columns: Vec<usize>,
    /// Fields `_i` of those columns.
    pub(crate) schema: SchemaRef,
}

/// One compiled step.
#[derive(Debug)]
pub(crate) struct StepPlan {
    /// `output=`.
    pub(crate) output: ScanOutput,
    /// The condition (boolean).
    pub(crate) condition: StepExpr,
    /// Declared column index and value (of the declared type).
    pub(crate) assignments: Vec<(usize, StepExpr)>,
}

/// Everything the scan needs: the shapes, the declared defaults and the steps.
#[derive(Debug)]
pub(crate) struct ScanMachine {
    /// Types of the input columns (the first `n` state-schema columns).
    pub(crate) input_types: Vec<DataType>,
    /// The input columns passed to the window function, in argument order.
    pub(crate) args: Vec<usize>,
    /// The declared columns' defaults.
    pub(crate) defaults: Vec<ScalarValue>,
    /// The steps.
    pub(crate) steps: Vec<StepPlan>,
    /// The query's memory budget.
    pub(crate) budget: Option<Budget>,
}

/// A record in a step's state: the input row and its declared values.
#[derive(Debug, Clone)]
struct Record {
    row: usize,
    declared: Vec<ArrayRef>,
}

/// A sequence: its match id and the record of each step it has passed.
#[derive(Debug, Clone)]
struct Sequence {
    id: i64,
    records: Vec<Option<Record>>,
}

/// The window function (one per planned `scan`).
#[derive(Debug)]
pub(crate) struct ScanStepsUdwf {
    id: u64,
    signature: Signature,
    machine: Arc<ScanMachine>,
}

impl PartialEq for ScanStepsUdwf {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for ScanStepsUdwf {}
impl std::hash::Hash for ScanStepsUdwf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl ScanStepsUdwf {
    /// The window function running `machine` over its `machine.args.len()` arguments (at
    /// least one: a constant stands in when no input column is read).
    pub(crate) fn new(machine: ScanMachine) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let arity = machine.args.len().max(1);
        ScanStepsUdwf {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            signature: Signature::any(arity, Volatility::Immutable),
            machine: Arc::new(machine),
        }
    }

    /// The struct of one output: `d0..` (declared) and `m` (match id).
    pub(crate) fn output_struct(&self) -> DataType {
        DataType::Struct(output_fields(&self.machine))
    }
}

fn output_fields(m: &ScanMachine) -> Fields {
    let mut fields: Vec<Field> = m
        .defaults
        .iter()
        .enumerate()
        .map(|(i, d)| Field::new(format!("d{i}"), d.data_type(), true))
        .collect();
    fields.push(Field::new("m", DataType::Int64, true));
    Fields::from(fields)
}

impl WindowUDFImpl for ScanStepsUdwf {
    fn name(&self) -> &str {
        "kql_scan"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn partition_evaluator(
        &self,
        _args: PartitionEvaluatorArgs,
    ) -> DfResult<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(ScanEvaluator {
            machine: self.machine.clone(),
        }))
    }
    fn field(&self, field_args: WindowUDFFieldArgs) -> DfResult<FieldRef> {
        let item = Field::new_list_field(self.output_struct(), true);
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::List(Arc::new(item)),
            true,
        )))
    }
}

#[derive(Debug)]
struct ScanEvaluator {
    machine: Arc<ScanMachine>,
}

impl PartitionEvaluator for ScanEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> DfResult<ArrayRef> {
        Run::new(&self.machine, values, num_rows)?.run()
    }
}

/// A value computed for a row: once for the partition, or for this row.
enum Computed {
    Whole(ArrayRef),
    Row,
}

/// One partition's run of the machine.
struct Run<'m> {
    m: &'m ScanMachine,
    num_rows: usize,
    /// Input column arrays by input index (those passed as arguments).
    input: Vec<Option<ArrayRef>>,
    /// One-row nulls of each input type.
    input_nulls: Vec<ArrayRef>,
    /// One-row defaults of the declared columns.
    defaults: Vec<ArrayRef>,
    /// Per step: the condition and each assignment, computed for the whole partition or not.
    conditions: Vec<Computed>,
    assigned: Vec<Vec<Computed>>,
    /// The state of each step.
    states: Vec<Option<Sequence>>,
    /// `output=last` records waiting for their run to end.
    pending: Vec<Option<(Record, i64)>>,
    next_id: i64,
    /// Outputs per row: (declared values, match id).
    outputs: Vec<Vec<(Vec<ArrayRef>, i64)>>,
    charge: Charge,
}

impl<'m> Run<'m> {
    fn new(m: &'m ScanMachine, values: &[ArrayRef], num_rows: usize) -> DfResult<Self> {
        let n = m.input_types.len();
        let mut input = vec![None; n];
        for (arg, col) in m.args.iter().enumerate() {
            if let Some(v) = values.get(arg) {
                input[*col] = Some(v.clone());
            }
        }
        let input_nulls = m.input_types.iter().map(|t| new_null_array(t, 1)).collect();
        let defaults = m
            .defaults
            .iter()
            .map(|d| d.to_array_of_size(1))
            .collect::<DfResult<Vec<_>>>()?;
        let mut run = Run {
            m,
            num_rows,
            input,
            input_nulls,
            defaults,
            conditions: Vec::new(),
            assigned: Vec::new(),
            states: vec![None; m.steps.len()],
            pending: vec![None; m.steps.len()],
            next_id: 0,
            outputs: vec![Vec::new(); num_rows],
            charge: Charge::new("scan", m.budget.as_ref()),
        };
        for s in &m.steps {
            let c = run.whole(&s.condition)?;
            run.conditions.push(c);
            let mut a = Vec::new();
            for (_, e) in &s.assignments {
                a.push(run.whole(e)?);
            }
            run.assigned.push(a);
        }
        Ok(run)
    }

    /// Width of one state record (input and declared columns).
    fn record_width(&self) -> usize {
        self.m.input_types.len() + self.m.defaults.len()
    }

    /// `e` over the whole partition when it reads only input columns.
    fn whole(&self, e: &StepExpr) -> DfResult<Computed> {
        let n = self.m.input_types.len();
        if e.columns.iter().any(|c| *c >= n) {
            return Ok(Computed::Row);
        }
        let mut cols = Vec::with_capacity(e.columns.len());
        for c in &e.columns {
            cols.push(self.input_column(*c)?.clone());
        }
        let batch = batch(&e.schema, cols, self.num_rows)?;
        Ok(Computed::Whole(
            e.expr.evaluate(&batch)?.into_array(self.num_rows)?,
        ))
    }

    fn input_column(&self, c: usize) -> DfResult<&ArrayRef> {
        self.input
            .get(c)
            .and_then(Option::as_ref)
            .ok_or_else(|| DataFusionError::Internal(format!("scan: input column {c} missing")))
    }

    /// The one-row value of state-schema column `c` for row `row` with state `seq`. A step
    /// without a record reads its input columns as nulls and its declared columns as their
    /// defaults (the docs' cumulative sum reads `s1.cumulative_x` as its default 0 on the
    /// first row).
    fn value(&self, c: usize, row: usize, seq: Option<&Sequence>) -> DfResult<ArrayRef> {
        let n = self.m.input_types.len();
        let w = self.record_width();
        if c < n {
            return Ok(self.input_column(c)?.slice(row, 1));
        }
        if c < w {
            return Ok(self.defaults[c - n].clone());
        }
        let (step, col) = ((c - w) / w, (c - w) % w);
        let record = seq
            .and_then(|s| s.records.get(step))
            .and_then(Option::as_ref);
        Ok(match record {
            Some(r) if col < n => self.input_column(col)?.slice(r.row, 1),
            Some(r) => r.declared[col - n].clone(),
            None if col < n => self.input_nulls[col].clone(),
            None => self.defaults[col - n].clone(),
        })
    }

    /// `e` (computed as `computed`) for row `row` with state `seq`, as a one-row array.
    fn eval(
        &self,
        e: &StepExpr,
        computed: &Computed,
        row: usize,
        seq: Option<&Sequence>,
    ) -> DfResult<ArrayRef> {
        if let Computed::Whole(a) = computed {
            return Ok(a.slice(row, 1));
        }
        let mut cols = Vec::with_capacity(e.columns.len());
        for c in &e.columns {
            cols.push(self.value(*c, row, seq)?);
        }
        let batch = batch(&e.schema, cols, 1)?;
        e.expr.evaluate(&batch)?.into_array(1)
    }

    fn matches(&self, k: usize, row: usize, seq: Option<&Sequence>) -> DfResult<bool> {
        let a = self.eval(&self.m.steps[k].condition, &self.conditions[k], row, seq)?;
        let b = a.as_boolean_opt().ok_or_else(|| {
            DataFusionError::Internal("scan: a step condition is not boolean".into())
        })?;
        Ok(b.is_valid(0) && b.value(0))
    }

    /// Row `row` extended by step `k`'s assignments, evaluated with state `seq`.
    fn extend(&self, k: usize, row: usize, seq: Option<&Sequence>) -> DfResult<Record> {
        let mut declared = self.defaults.clone();
        for ((i, e), computed) in self.m.steps[k].assignments.iter().zip(&self.assigned[k]) {
            declared[*i] = self.eval(e, computed, row, seq)?;
        }
        Ok(Record { row, declared })
    }

    fn emit(&mut self, record: Record, id: i64) -> DfResult<()> {
        let bytes = 64
            + record
                .declared
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>();
        self.charge.add(bytes)?;
        self.outputs[record.row].push((record.declared, id));
        Ok(())
    }

    /// Outputs step `k`'s match `record` of sequence `id` as its `output=` says.
    fn output(&mut self, k: usize, record: Record, id: i64) -> DfResult<()> {
        match self.m.steps[k].output {
            ScanOutput::All => self.emit(record, id),
            ScanOutput::None => Ok(()),
            ScanOutput::Last => {
                self.pending[k] = Some((record, id));
                Ok(())
            }
        }
    }

    /// Ends the run of matches of step `k`: its pending `output=last` record is output.
    fn flush(&mut self, k: usize) -> DfResult<()> {
        if let Some((record, id)) = self.pending[k].take() {
            self.emit(record, id)?;
        }
        Ok(())
    }

    fn step(&mut self, k: usize, row: usize) -> DfResult<()> {
        // Check 1: the previous step's sequence moves on to this step.
        if k > 0 {
            if let Some(prev) = self.states[k - 1].clone() {
                if self.matches(k, row, Some(&prev))? {
                    let record = self.extend(k, row, Some(&prev))?;
                    self.flush(k - 1)?;
                    self.flush(k)?;
                    let mut seq = prev;
                    seq.records[k] = Some(record.clone());
                    let id = seq.id;
                    self.states[k - 1] = None;
                    self.states[k] = Some(seq);
                    return self.output(k, record, id);
                }
            }
        }
        // Check 2: this step's active sequence (or, for the first step, any row) matches.
        if k > 0 && self.states[k].is_none() {
            return Ok(());
        }
        let current = self.states[k].take();
        if !self.matches(k, row, current.as_ref())? {
            self.states[k] = current;
            return Ok(());
        }
        let record = self.extend(k, row, current.as_ref())?;
        let mut seq = match current {
            Some(s) => s,
            None => {
                self.flush(k)?;
                let id = self.next_id;
                self.next_id += 1;
                Sequence {
                    id,
                    records: vec![None; self.m.steps.len()],
                }
            }
        };
        seq.records[k] = Some(record.clone());
        let id = seq.id;
        self.states[k] = Some(seq);
        self.output(k, record, id)
    }

    fn run(mut self) -> DfResult<ArrayRef> {
        for row in 0..self.num_rows {
            for k in (0..self.m.steps.len()).rev() {
                self.step(k, row)?;
            }
        }
        for k in 0..self.m.steps.len() {
            self.flush(k)?;
        }
        self.finish()
    }

    /// The outputs as a list of `{d0.., m}` per row.
    fn finish(self) -> DfResult<ArrayRef> {
        let fields = output_fields(self.m);
        let mut offsets = Vec::with_capacity(self.num_rows + 1);
        offsets.push(0i32);
        let mut total = 0usize;
        for o in &self.outputs {
            total += o.len();
            offsets.push(i32::try_from(total).map_err(|_| {
                DataFusionError::ResourcesExhausted("scan: too many output rows".into())
            })?);
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate().take(self.m.defaults.len()) {
            let parts: Vec<&dyn Array> = self
                .outputs
                .iter()
                .flatten()
                .map(|(d, _)| d[i].as_ref())
                .collect();
            columns.push(if parts.is_empty() {
                new_empty_array(f.data_type())
            } else {
                arrow::compute::concat(&parts)?
            });
        }
        let ids: Int64Array = self
            .outputs
            .iter()
            .flatten()
            .map(|(_, id)| Some(*id))
            .collect();
        columns.push(Arc::new(ids));
        let structs = StructArray::try_new(fields.clone(), columns, None)?;
        let item = Arc::new(Field::new_list_field(DataType::Struct(fields), true));
        Ok(Arc::new(ListArray::try_new(
            item,
            OffsetBuffer::new(offsets.into()),
            Arc::new(structs),
            None,
        )?))
    }
}

/// A batch of `columns` with `schema` and `rows` rows.
fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> DfResult<RecordBatch> {
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}
