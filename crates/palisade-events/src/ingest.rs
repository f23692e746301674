//! JSON rows → Arrow batches, with per-row schema checking (`ingest_jsonl`).

use std::io::BufRead;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampNanosecondBuilder,
};
use serde_json::{Map, Value};

use palisade_kql::value::{parse_datetime, parse_timespan};
use palisade_kql::{KqlType, Schema};

use crate::store::{EventStore, StoreError};

/// A rejected input row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowError {
    /// 1-based line number in the input.
    pub line: usize,
    /// Why the row was rejected.
    pub message: String,
}

/// Outcome of [`ingest_jsonl`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IngestReport {
    /// Rows written.
    pub accepted: u64,
    /// Rows rejected (not written), with reasons.
    pub rejected: Vec<RowError>,
}

/// A typed cell value.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(String),
}

/// Checks and converts one JSON value for a column of type `ty`.
fn cell(name: &str, ty: KqlType, v: &Value) -> Result<Cell, String> {
    let wrong = || format!("column '{name}': expected {ty}, found {v}");
    if v.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match ty {
        KqlType::String | KqlType::Guid => match v {
            Value::String(s) => Cell::Str(s.clone()),
            _ => return Err(wrong()),
        },
        KqlType::Int => match v.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => Cell::I64(n),
            _ => return Err(wrong()),
        },
        KqlType::Long => match v.as_i64() {
            Some(n) => Cell::I64(n),
            None => return Err(wrong()),
        },
        KqlType::Real | KqlType::Decimal => match v.as_f64() {
            Some(f) => Cell::F64(f),
            None => return Err(wrong()),
        },
        KqlType::Bool => match v {
            Value::Bool(b) => Cell::Bool(*b),
            _ => return Err(wrong()),
        },
        KqlType::DateTime => match v.as_str().and_then(parse_datetime) {
            Some(ns) => Cell::I64(ns),
            None => return Err(wrong()),
        },
        KqlType::TimeSpan => match v {
            Value::String(s) => Cell::I64(parse_timespan(s).ok_or_else(wrong)?),
            _ => return Err(wrong()),
        },
        KqlType::Dynamic => Cell::Str(v.to_string()),
    })
}

/// Converts one JSON object to cells in schema order, or explains why it does not fit.
fn row_cells(schema: &Schema, obj: &Map<String, Value>) -> Result<Vec<Cell>, String> {
    for k in obj.keys() {
        if !schema.contains(k) {
            return Err(format!("unknown column '{k}'"));
        }
    }
    schema
        .columns
        .iter()
        .map(|c| match obj.get(&c.name) {
            Some(v) => cell(&c.name, c.ty, v),
            None => Ok(Cell::Null),
        })
        .collect()
}

fn build(schema: &Schema, rows: &[Vec<Cell>]) -> Result<RecordBatch, StoreError> {
    let n = rows.len();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.columns.len());
    for (i, c) in schema.columns.iter().enumerate() {
        let arr: ArrayRef = match c.ty {
            KqlType::String | KqlType::Guid | KqlType::Dynamic => {
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for r in rows {
                    match &r[i] {
                        Cell::Str(s) => b.append_value(s),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            KqlType::Int => {
                let mut b = Int32Builder::with_capacity(n);
                for r in rows {
                    match r[i] {
                        Cell::I64(v) => b.append_value(v as i32),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            KqlType::Long | KqlType::TimeSpan => {
                let mut b = Int64Builder::with_capacity(n);
                for r in rows {
                    match r[i] {
                        Cell::I64(v) => b.append_value(v),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            KqlType::Real | KqlType::Decimal => {
                let mut b = Float64Builder::with_capacity(n);
                for r in rows {
                    match r[i] {
                        Cell::F64(v) => b.append_value(v),
                        Cell::I64(v) => b.append_value(v as f64),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            KqlType::Bool => {
                let mut b = BooleanBuilder::with_capacity(n);
                for r in rows {
                    match r[i] {
                        Cell::Bool(v) => b.append_value(v),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            KqlType::DateTime => {
                let mut b = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
                for r in rows {
                    match r[i] {
                        Cell::I64(v) => b.append_value(v),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
        };
        cols.push(arr);
    }
    Ok(RecordBatch::try_new(
        crate::schema::arrow_schema(schema),
        cols,
    )?)
}

/// Converts JSON objects to a batch of `table`'s schema; the first bad row is an error.
pub fn rows_to_batch(
    store: &EventStore,
    table: &str,
    rows: &[Map<String, Value>],
) -> Result<RecordBatch, StoreError> {
    let schema = store
        .catalog()
        .table(table)
        .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
    let cells = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            row_cells(schema, r).map_err(|message| StoreError::Schema {
                table: table.to_string(),
                message: format!("row {i}: {message}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    build(schema, &cells)
}

/// Reads JSON Lines (one object per line) into `(tenant, table)`. Each line is checked against
/// the table's schema: unknown columns, wrong types, bad datetimes and non-objects are rejected
/// with a message; good rows are written, bad rows are not. A row without `Timestamp` (for
/// timestamped tables) is rejected too, as it could never be queried.
pub async fn ingest_jsonl<R: BufRead>(
    store: &EventStore,
    tenant_id: &str,
    table: &str,
    reader: R,
) -> Result<IngestReport, StoreError> {
    const CHUNK: usize = 50_000;
    if !crate::store::valid_tenant(tenant_id) {
        return Err(StoreError::InvalidTenant(tenant_id.to_string()));
    }
    let schema = store
        .catalog()
        .table(table)
        .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?
        .clone();
    let needs_ts = schema.contains("Timestamp");
    let mut report = IngestReport::default();
    let mut pending: Vec<Vec<Cell>> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = json_object(&line).and_then(|m| {
            if needs_ts && m.get("Timestamp").is_none_or(Value::is_null) {
                return Err("missing Timestamp".to_string());
            }
            row_cells(&schema, &m)
        });
        match parsed {
            Ok(cells) => pending.push(cells),
            Err(message) => report.rejected.push(RowError {
                line: lineno,
                message,
            }),
        }
        if pending.len() >= CHUNK {
            let b = build(&schema, &pending)?;
            report.accepted += store.append(tenant_id, table, &b)?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        let b = build(&schema, &pending)?;
        report.accepted += store.append(tenant_id, table, &b)?;
    }
    Ok(report)
}

/// One JSON-lines row as an object, or the row's error message.
fn json_object(line: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("expected a JSON object".to_string()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// Reads JSON Lines of reference dataset `name` (e.g. [`palisade_kql::catalog::FILE_PROFILE`]) into
/// the store's reference area, with the same per-row checks as [`ingest_jsonl`]. Every row needs
/// a non-empty `SHA1`; a row whose SHA1 (or SHA256) is already stored, or repeated earlier in the
/// input, is rejected as a duplicate (stored profiles are never replaced).
pub fn ingest_reference_jsonl<R: BufRead>(
    store: &EventStore,
    name: &str,
    reader: R,
) -> Result<IngestReport, StoreError> {
    const CHUNK: usize = 50_000;
    let schema = palisade_kql::catalog::reference_schema(name)
        .ok_or_else(|| StoreError::UnknownTable(name.to_string()))?;
    let mut report = IngestReport::default();
    let mut pending: Vec<Vec<Cell>> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    let flush = |pending: &mut Vec<Vec<Cell>>,
                 lines: &mut Vec<usize>,
                 report: &mut IngestReport|
     -> Result<(), StoreError> {
        let b = build(&schema, pending)?;
        let r = crate::reference::append_reference(store, name, &b)?;
        report.accepted += r.written;
        for i in r.skipped {
            report.rejected.push(RowError {
                line: lines[i],
                message: "duplicate profile: its SHA1 or SHA256 is already stored".into(),
            });
        }
        pending.clear();
        lines.clear();
        Ok(())
    };
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = json_object(&line).and_then(|m| {
            if m.get("SHA1")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err("missing SHA1".to_string());
            }
            row_cells(&schema, &m)
        });
        match parsed {
            Ok(cells) => {
                pending.push(cells);
                lines.push(lineno);
            }
            Err(message) => report.rejected.push(RowError {
                line: lineno,
                message,
            }),
        }
        if pending.len() >= CHUNK {
            flush(&mut pending, &mut lines, &mut report)?;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut lines, &mut report)?;
    }
    report.rejected.sort_by_key(|e| e.line);
    Ok(report)
}
