//! Building a table's Arrow record batch row by row, straight into typed column builders:
//! the generator and JSON-lines ingest write values by column name, a row's unset columns
//! become nulls, and no per-row map or JSON object is ever built.
//!
//! The generator names its columns with string literals and writes a table's rows in the
//! same order every time, so [`RowBatch::set`] remembers the previous row's sequence of
//! names (by the literal's address) and finds each column with one comparison; a name out
//! of that sequence falls back to the hash lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder,
    RecordBatch, StringBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use palisade_kql::{KqlType, Schema};

use crate::schema::arrow_schema;

/// The hash of column-name lookups, which run for every value written (about 60 a generated
/// row): a name's length and its first and last eight bytes, a few instructions whatever its
/// length. Names that share all three (none in the catalog) only share a bucket: the map
/// still compares whole keys.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let n = bytes.len();
        let (head, tail) = if n >= 8 {
            (word(&bytes[..8]), word(&bytes[n - 8..]))
        } else {
            (word(bytes), 0)
        };
        let mut h = self.0 ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h = (h ^ head).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ tail).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 = h ^ (h >> 29);
    }
}

/// A map keyed by column name.
pub(crate) type NameMap<V> = HashMap<String, V, BuildHasherDefault<NameHasher>>;

/// One value to write, before it meets its column's type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Text (for `string`/`guid` columns; a `dynamic` column stores it as a JSON string).
    Str(&'a str),
    /// JSON text for a `dynamic` column, stored as it is.
    Json(&'a str),
    /// An integer (`int`, `long`, `real`, and `timespan` in nanoseconds).
    Int(i64),
    /// A real.
    Real(f64),
    /// A boolean.
    Bool(bool),
    /// A `datetime`, nanoseconds since the epoch.
    Time(i64),
}

/// Why a value does not fit its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The column.
    pub column: String,
    /// Its type.
    pub expected: KqlType,
}

enum Column {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Ts(TimestampNanosecondBuilder),
}

impl Column {
    fn new(ty: KqlType, rows: usize) -> Column {
        match ty {
            KqlType::String | KqlType::Guid | KqlType::Dynamic => {
                Column::Str(StringBuilder::with_capacity(rows, rows * 16))
            }
            KqlType::Bool => Column::Bool(BooleanBuilder::with_capacity(rows)),
            KqlType::Int => Column::I32(Int32Builder::with_capacity(rows)),
            KqlType::Long | KqlType::TimeSpan => Column::I64(Int64Builder::with_capacity(rows)),
            KqlType::Real | KqlType::Decimal => Column::F64(Float64Builder::with_capacity(rows)),
            KqlType::DateTime => {
                Column::Ts(TimestampNanosecondBuilder::with_capacity(rows).with_timezone("UTC"))
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Str(b) => b.len(),
            Column::Bool(b) => b.len(),
            Column::I32(b) => b.len(),
            Column::I64(b) => b.len(),
            Column::F64(b) => b.len(),
            Column::Ts(b) => b.len(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Str(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::I32(b) => b.append_null(),
            Column::I64(b) => b.append_null(),
            Column::F64(b) => b.append_null(),
            Column::Ts(b) => b.append_null(),
        }
    }

    /// Appends `v`; false (nothing appended) when it does not fit.
    fn append(&mut self, ty: KqlType, v: Value) -> bool {
        match (self, v) {
            (Column::Str(b), Value::Str(s)) if ty == KqlType::Dynamic => {
                b.append_value(serde_json::Value::String(s.to_string()).to_string())
            }
            (Column::Str(b), Value::Str(s)) => b.append_value(s),
            (Column::Str(b), Value::Json(s)) if ty == KqlType::Dynamic => b.append_value(s),
            (Column::Str(b), Value::Int(n)) if ty == KqlType::Dynamic => {
                b.append_value(n.to_string())
            }
            (Column::Str(b), Value::Bool(x)) if ty == KqlType::Dynamic => {
                b.append_value(if x { "true" } else { "false" })
            }
            (Column::Bool(b), Value::Bool(x)) => b.append_value(x),
            (Column::I32(b), Value::Int(n)) => match i32::try_from(n) {
                Ok(n) => b.append_value(n),
                Err(_) => return false,
            },
            (Column::I64(b), Value::Int(n)) => b.append_value(n),
            (Column::F64(b), Value::Real(f)) => b.append_value(f),
            (Column::F64(b), Value::Int(n)) => b.append_value(n as f64),
            (Column::Ts(b), Value::Time(t)) => b.append_value(t),
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Str(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::I32(b) => Arc::new(b.finish()),
            Column::I64(b) => Arc::new(b.finish()),
            Column::F64(b) => Arc::new(b.finish()),
            Column::Ts(b) => Arc::new(b.finish()),
        }
    }
}

/// The rows of one table being built: a typed builder per catalog column.
pub(crate) struct RowBatch {
    schema: SchemaRef,
    types: Vec<KqlType>,
    index: NameMap<usize>,
    columns: Vec<Column>,
    rows: usize,
    /// The first value of the current row that did not fit its column.
    mismatch: Option<Mismatch>,
    /// The names `set` was given, in order, since the first row (see the module docs).
    trace: Vec<TraceStep>,
    /// How many `set` calls the current row has made.
    step: usize,
}

/// One `set` call remembered: the literal's address and length, and the column it found.
#[derive(Clone, Copy)]
struct TraceStep {
    addr: usize,
    len: usize,
    column: Option<usize>,
}

impl RowBatch {
    /// An empty batch of `schema`'s columns, sized for `rows` rows.
    pub(crate) fn new(schema: &Schema, rows: usize) -> RowBatch {
        let mut index = NameMap::default();
        for (i, c) in schema.columns.iter().enumerate() {
            index.insert(c.name.clone(), i);
        }
        RowBatch {
            schema: arrow_schema(schema),
            types: schema.columns.iter().map(|c| c.ty).collect(),
            columns: schema
                .columns
                .iter()
                .map(|c| Column::new(c.ty, rows))
                .collect(),
            index,
            rows: 0,
            mismatch: None,
            trace: Vec::new(),
            step: 0,
        }
    }

    /// The index of column `name`.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Sets column `i` of the current row (a second value for the same column is ignored).
    pub(crate) fn set_at(&mut self, i: usize, v: Value) {
        let c = &mut self.columns[i];
        if c.len() > self.rows {
            return;
        }
        if !c.append(self.types[i], v) && self.mismatch.is_none() {
            self.mismatch = Some(Mismatch {
                column: self.schema.field(i).name().clone(),
                expected: self.types[i],
            });
        }
    }

    /// Sets column `name` of the current row; a column the table does not have is ignored
    /// (the generator's shared column groups cover several tables).
    ///
    /// `name` is `'static` because the lookup is remembered by its address: a static
    /// string's bytes never move or change, so the same address and length are the same name.
    pub(crate) fn set(&mut self, name: &'static str, v: Value) {
        let here = TraceStep {
            addr: name.as_ptr() as usize,
            len: name.len(),
            column: None,
        };
        let column = match self.trace.get(self.step) {
            Some(t) if t.addr == here.addr && t.len == here.len => t.column,
            _ => {
                let column = self.column(name);
                let step = TraceStep { column, ..here };
                match self.trace.get_mut(self.step) {
                    Some(t) => *t = step,
                    None => self.trace.push(step),
                }
                column
            }
        };
        self.step += 1;
        if let Some(i) = column {
            self.set_at(i, v);
        }
    }

    /// Ends the current row: every column not set is null. Returns the first value that did
    /// not fit its column (the row is then still complete, with nulls there).
    pub(crate) fn end_row(&mut self) -> Result<(), Mismatch> {
        let next = self.rows + 1;
        for c in &mut self.columns {
            if c.len() < next {
                c.append_null();
            }
        }
        self.rows = next;
        self.step = 0;
        match self.mismatch.take() {
            Some(m) => Err(m),
            None => Ok(()),
        }
    }

    /// Rows so far.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// True when no row was written.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows so far as a batch; the builder starts over empty.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        self.step = 0;
        self.mismatch = None;
        // The columns are built from the schema's own types, one value per row each.
        RecordBatch::try_new(self.schema.clone(), columns)
            .unwrap_or_else(|_| RecordBatch::new_empty(self.schema.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int32Type, Int64Type, TimestampNanosecondType};
    use palisade_kql::Column as Col;

    #[test]
    fn rows_fill_unset_columns_with_nulls_and_report_mismatches() {
        let schema = Schema::new(vec![
            Col::new("Timestamp", KqlType::DateTime),
            Col::new("Name", KqlType::String),
            Col::new("Port", KqlType::Int),
            Col::new("Size", KqlType::Long),
            Col::new("Extra", KqlType::Dynamic),
        ]);
        let mut b = RowBatch::new(&schema, 4);
        b.set("Timestamp", Value::Time(5));
        b.set("Name", Value::Str("a"));
        b.set("Port", Value::Int(443));
        b.set("NotAColumn", Value::Int(1));
        b.set("Extra", Value::Str("x"));
        b.end_row().unwrap();
        b.set("Size", Value::Int(7));
        b.set("Extra", Value::Json("{\"k\":1}"));
        b.end_row().unwrap();
        b.set("Port", Value::Int(1 << 40));
        assert_eq!(
            b.end_row(),
            Err(Mismatch {
                column: "Port".into(),
                expected: KqlType::Int
            })
        );
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 3);
        let ts = batch.column(0).as_primitive::<TimestampNanosecondType>();
        assert_eq!((ts.value(0), ts.is_null(1)), (5, true));
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "a");
        assert!(batch.column(1).is_null(1));
        let port = batch.column(2).as_primitive::<Int32Type>();
        assert_eq!((port.value(0), port.is_null(2)), (443, true));
        assert_eq!(batch.column(3).as_primitive::<Int64Type>().value(1), 7);
        let extra = batch.column(4).as_string::<i32>();
        assert_eq!((extra.value(0), extra.value(1)), ("\"x\"", "{\"k\":1}"));
        assert!(b.is_empty());
    }

    #[test]
    fn remembered_lookups_follow_rows_whose_names_change_order() {
        let schema = Schema::new(vec![
            Col::new("A", KqlType::Long),
            Col::new("B", KqlType::Long),
            Col::new("C", KqlType::Long),
        ]);
        let mut b = RowBatch::new(&schema, 8);
        // Rows of different shapes, in turn: the remembered sequence is wrong at some step
        // of every row, and each value must still land in its own column.
        let shapes: [&[&'static str]; 4] = [
            &["A", "B", "C"],
            &["C", "A"],
            &["B", "Missing", "A", "C"],
            &["A", "B", "C"],
        ];
        for (row, names) in shapes.iter().cycle().take(8).enumerate() {
            for (k, name) in names.iter().enumerate() {
                b.set(name, Value::Int((row * 10 + k) as i64));
            }
            b.end_row().unwrap();
        }
        let batch = b.finish();
        for (row, names) in shapes.iter().cycle().take(8).enumerate() {
            for (c, col) in ["A", "B", "C"].iter().enumerate() {
                let want = names
                    .iter()
                    .position(|n| n == col)
                    .map(|k| (row * 10 + k) as i64);
                let got = batch.column(c).as_primitive::<Int64Type>();
                let got = (!got.is_null(row)).then(|| got.value(row));
                assert_eq!(got, want, "row {row}, column {col}");
            }
        }
    }
}
