//! JSON Lines in: each line is checked against the table's schema and decoded straight into
//! the table's Arrow column builders, with no JSON object built per row. The input is read in
//! chunks of lines (one buffer per chunk, not a `String` per line), decoded on a worker per
//! core and appended in input order; the rows go to one open file per day partition
//! ([`DayFiles`]). Memory is bounded by a few chunks in flight and a few open row groups. A
//! bad line (not UTF-8, not JSON, not the schema) is rejected with its line number and the
//! reason; the good ones are stored.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use std::sync::mpsc;
use std::sync::Mutex;

use arrow::array::RecordBatch;
use palisade_kql::value::{parse_datetime, parse_timespan};
use palisade_kql::{KqlType, Schema};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::columns::{RowBatch, Value};
use crate::store::{EventStore, StoreError};

/// Lines decoded per chunk (and rows per appended batch, at most).
const CHUNK_LINES: usize = 4 * 1024;

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

/// A decoded value of one column, before the row is known to be good.
enum Cell<'de> {
    Null,
    Str(Cow<'de, str>),
    Int(i64),
    Real(f64),
    Bool(bool),
    Time(i64),
}

/// One row being decoded: its cells by column, and the first problem met.
struct RowCells<'de> {
    cells: Vec<(usize, Cell<'de>)>,
    problem: Option<String>,
}

/// How lines of one table or reference dataset are decoded.
struct Decoder<'s> {
    schema: &'s Schema,
    index: crate::columns::NameMap<usize>,
    /// The column a row must have (non-null and, for `SHA1`, non-empty), and its message.
    required: Option<(usize, &'static str)>,
}

impl<'s> Decoder<'s> {
    fn new(schema: &'s Schema, required: Option<(&str, &'static str)>) -> Decoder<'s> {
        let mut index = crate::columns::NameMap::default();
        for (i, c) in schema.columns.iter().enumerate() {
            index.insert(c.name.clone(), i);
        }
        let required =
            required.and_then(|(name, message)| schema.find(name).map(|(i, _)| (i, message)));
        Decoder {
            schema,
            index,
            required,
        }
    }

    /// Decodes one line into `out` (one row), or explains why the line is rejected (text
    /// that is not UTF-8 is invalid JSON).
    fn line(&self, line: &[u8], out: &mut RowBatch) -> Result<(), String> {
        let mut row = RowCells {
            cells: Vec::with_capacity(self.schema.columns.len()),
            problem: None,
        };
        let mut de = serde_json::Deserializer::from_slice(line);
        let parsed = RowSeed {
            decoder: self,
            row: &mut row,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Some(problem) = row.problem {
            return Err(problem);
        }
        if let Err(e) = parsed {
            return Err(format!("invalid JSON: {e}"));
        }
        if let Some((col, message)) = self.required {
            let present = row
                .cells
                .iter()
                .rev()
                .find(|(c, _)| *c == col)
                .is_some_and(|(_, v)| match v {
                    Cell::Null => false,
                    Cell::Str(s) => !s.is_empty(),
                    _ => true,
                });
            if !present {
                return Err(message.to_string());
            }
        }
        // The last value of a repeated key wins, as in a JSON object.
        for (col, cell) in row.cells.iter().rev() {
            let v = match cell {
                Cell::Null => continue,
                Cell::Str(s) => match self.schema.columns[*col].ty {
                    KqlType::Dynamic => Value::Json(s),
                    _ => Value::Str(s),
                },
                Cell::Int(n) => Value::Int(*n),
                Cell::Real(f) => Value::Real(*f),
                Cell::Bool(b) => Value::Bool(*b),
                Cell::Time(t) => Value::Time(*t),
            };
            out.set_at(*col, v);
        }
        out.end_row()
            .map_err(|m| format!("column '{}': expected {}", m.column, m.expected))
    }
}

/// Decodes a whole line: a JSON object whose keys are columns.
struct RowSeed<'a, 'de> {
    decoder: &'a Decoder<'a>,
    row: &'a mut RowCells<'de>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let Some(&col) = self.decoder.index.get(key.as_ref()) else {
                return Err(self.fail(format!("unknown column '{key}'")));
            };
            let column = &self.decoder.schema.columns[col];
            let cell = map.next_value_seed(CellSeed {
                name: &column.name,
                ty: column.ty,
                problem: &mut self.row.problem,
            })?;
            self.row.cells.push((col, cell));
        }
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.fail("expected a JSON object".into()))
    }
}

impl RowSeed<'_, '_> {
    /// Records `problem` as the row's reason for rejection; the error stops decoding.
    fn fail<E: de::Error>(self, problem: String) -> E {
        let e = E::custom(&problem);
        self.row.problem.get_or_insert(problem);
        e
    }
}

/// Decodes one value for a column of type `ty`.
struct CellSeed<'a> {
    name: &'a str,
    ty: KqlType,
    problem: &'a mut Option<String>,
}

impl CellSeed<'_> {
    fn wrong<E: de::Error>(self, found: impl fmt::Display) -> E {
        let problem = format!(
            "column '{}': expected {}, found {found}",
            self.name, self.ty
        );
        let e = E::custom(&problem);
        self.problem.get_or_insert(problem);
        e
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell<'de>, D::Error> {
        if self.ty == KqlType::Dynamic {
            // Any JSON value, kept as compact JSON text.
            let v = serde_json::Value::deserialize(d)?;
            return Ok(match v {
                serde_json::Value::Null => Cell::Null,
                other => Cell::Str(Cow::Owned(other.to_string())),
            });
        }
        d.deserialize_any(self)
    }
}

use serde::Deserialize as _;

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} value", self.ty)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cell<'de>, E> {
        match self.ty {
            KqlType::Bool => Ok(Cell::Bool(v)),
            _ => Err(self.wrong(v)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell<'de>, E> {
        match self.ty {
            KqlType::Int if i32::try_from(v).is_ok() => Ok(Cell::Int(v)),
            KqlType::Long => Ok(Cell::Int(v)),
            KqlType::Real | KqlType::Decimal => Ok(Cell::Real(v as f64)),
            _ => Err(self.wrong(v)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell<'de>, E> {
        match i64::try_from(v) {
            Ok(i) => self.visit_i64(i),
            Err(_) if matches!(self.ty, KqlType::Real | KqlType::Decimal) => {
                Ok(Cell::Real(v as f64))
            }
            Err(_) => Err(self.wrong(v)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell<'de>, E> {
        match self.ty {
            KqlType::Real | KqlType::Decimal => Ok(Cell::Real(v)),
            _ => Err(self
                .wrong(serde_json::Number::from_f64(v).map_or(v.to_string(), |n| n.to_string()))),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cell<'de>, E> {
        self.text(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell<'de>, E> {
        self.text(Cow::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cell<'de>, E> {
        self.text(Cow::Owned(v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Cell<'de>, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Err(self.wrong(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell<'de>, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Err(self.wrong(v))
    }
}

impl<'de> CellSeed<'_> {
    fn text<E: de::Error>(self, v: Cow<'de, str>) -> Result<Cell<'de>, E> {
        match self.ty {
            KqlType::String | KqlType::Guid => Ok(Cell::Str(v)),
            KqlType::DateTime => match parse_datetime(&v) {
                Some(ns) => Ok(Cell::Time(ns)),
                None => Err(self.wrong(serde_json::Value::String(v.into_owned()))),
            },
            KqlType::TimeSpan => match parse_timespan(&v) {
                Some(ns) => Ok(Cell::Int(ns)),
                None => Err(self.wrong(serde_json::Value::String(v.into_owned()))),
            },
            _ => Err(self.wrong(serde_json::Value::String(v.into_owned()))),
        }
    }
}

/// A chunk of input lines, with the line number of the first: the lines' bytes one after the
/// other, each with its `\n`, so a chunk is one allocation however many lines it holds.
struct Chunk {
    first: usize,
    text: Vec<u8>,
}

impl Chunk {
    /// The chunk's lines, without their line ends (`\n` or `\r\n`).
    fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let text = self.text.strip_suffix(b"\n").unwrap_or(&self.text);
        text.split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
    }
}

/// Bytes of input per chunk, at most (a chunk holds at least one line, whatever its length).
const CHUNK_BYTES: usize = 8 << 20;

/// A decoded chunk: its rows, and its rejected lines (for the reference datasets, the input
/// line of each row too).
struct Decoded {
    seq: usize,
    batch: RecordBatch,
    lines: Vec<usize>,
    rejected: Vec<RowError>,
}

/// Reads `reader` in chunks, decodes them on a worker per core, and hands each decoded chunk
/// to `sink` in input order.
fn decode_all<R: BufRead + Send>(
    reader: R,
    decoder: &Decoder<'_>,
    mut sink: impl FnMut(Decoded) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<(usize, Chunk)>(workers);
    let chunk_rx = Mutex::new(chunk_rx);
    let (done_tx, done_rx) = mpsc::sync_channel::<Decoded>(workers);
    std::thread::scope(|s| {
        let reading = s.spawn(move || -> Result<(), StoreError> {
            let mut reader = reader;
            let (mut first, mut seq, mut line) = (1, 0, 1);
            let mut text = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
            let mut count = 0;
            loop {
                let n = reader.read_until(b'\n', &mut text)?;
                if n > 0 {
                    count += 1;
                    line += 1;
                }
                let full = count == CHUNK_LINES || text.len() >= CHUNK_BYTES;
                if (n == 0 || full) && count > 0 {
                    let chunk = Chunk {
                        first,
                        text: std::mem::replace(
                            &mut text,
                            Vec::with_capacity(CHUNK_BYTES + (64 << 10)),
                        ),
                    };
                    if chunk_tx.send((seq, chunk)).is_err() {
                        return Ok(());
                    }
                    seq += 1;
                    first = line;
                    count = 0;
                }
                if n == 0 {
                    return Ok(());
                }
            }
        });
        for _ in 0..workers {
            let (chunk_rx, done_tx) = (&chunk_rx, done_tx.clone());
            s.spawn(move || loop {
                let next = match chunk_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((seq, chunk)) = next else { return };
                let mut rows = RowBatch::new(decoder.schema, CHUNK_LINES);
                let mut decoded = Decoded {
                    seq,
                    batch: RecordBatch::new_empty(std::sync::Arc::new(
                        arrow::datatypes::Schema::empty(),
                    )),
                    lines: Vec::with_capacity(CHUNK_LINES),
                    rejected: Vec::new(),
                };
                for (k, line) in chunk.lines().enumerate() {
                    let number = chunk.first + k;
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match decoder.line(line, &mut rows) {
                        Ok(()) => decoded.lines.push(number),
                        Err(message) => decoded.rejected.push(RowError {
                            line: number,
                            message,
                        }),
                    }
                }
                decoded.batch = rows.finish();
                if done_tx.send(decoded).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Hand chunks on in input order. After a failed write the rest is drained unused,
        // so the reader and the workers finish.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut result = Ok(());
        for d in done_rx {
            waiting.insert(d.seq, d);
            while let Some(d) = waiting.remove(&next) {
                next += 1;
                if result.is_ok() {
                    result = sink(d);
                }
            }
        }
        let read = reading
            .join()
            .unwrap_or_else(|_| Err(StoreError::Busy("the ingest reader panicked".into())));
        result.and(read)
    })
}

/// Reads JSON Lines (one object per line) into `(tenant, table)`. Each line is checked against
/// the table's schema: unknown columns, wrong types, bad datetimes and non-objects are rejected
/// with a message; good rows are written, bad rows are not. A row without `Timestamp` (for
/// timestamped tables) is rejected too, as it could never be queried.
/// The rows are written to one new file per day partition and are all visible when
/// this returns; after a failure, the rows written until then are kept.
pub async fn ingest_jsonl<R: BufRead + Send>(
    store: &EventStore,
    tenant_id: &str,
    table: &str,
    reader: R,
) -> Result<IngestReport, StoreError> {
    if !crate::store::valid_tenant(tenant_id) {
        return Err(StoreError::InvalidTenant(tenant_id.to_string()));
    }
    let schema = store
        .catalog()
        .table(table)
        .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?
        .clone();
    let required = match schema.time_column() {
        Some("TimeGenerated") => Some(("TimeGenerated", "missing TimeGenerated")),
        Some(_) => Some(("Timestamp", "missing Timestamp")),
        None => None,
    };
    let decoder = Decoder::new(&schema, required);
    let mut report = IngestReport::default();
    let mut files = DayFiles {
        store,
        tenant: tenant_id,
        table,
        open: Vec::new(),
    };
    let decoded = decode_all(reader, &decoder, |d| {
        report.rejected.extend(d.rejected);
        report.accepted += files.write(&d.batch)?;
        Ok(())
    });
    // The rows written before a failure are kept, as they are when each chunk is its own file.
    let committed = files.commit();
    decoded.and(committed)?;
    Ok(report)
}

/// The files an ingest is writing, one per day partition its rows fall in, so an ingest of
/// rows in time order writes one file of full row groups per day, not one per chunk and day.
/// Its rows become visible when the file is committed: at the end of the ingest, or when
/// more than [`MAX_OPEN_DAYS`] days are open and the day written least recently is closed.
struct DayFiles<'s> {
    store: &'s EventStore,
    tenant: &'s str,
    table: &'s str,
    /// Open files by day, the most recently written last.
    open: Vec<(String, crate::store::PartWriter)>,
}

/// Days an ingest keeps a file open for (each holds its row group being encoded).
const MAX_OPEN_DAYS: usize = 4;

impl DayFiles<'_> {
    /// Writes `batch`'s rows to the files of their days; returns the rows written.
    fn write(&mut self, batch: &RecordBatch) -> Result<u64, StoreError> {
        let mut written = 0;
        // The rows reach the store now: their ingestion time.
        let now = crate::ingestion::now_ns();
        for (day, part) in self.store.split_by_day(self.table, batch, now)? {
            let at = match self.open.iter().position(|(d, _)| *d == day) {
                Some(i) => i,
                None => {
                    if self.open.len() == MAX_OPEN_DAYS {
                        self.open.remove(0).1.commit()?;
                    }
                    let w = self
                        .store
                        .unsorted_part_writer(self.tenant, self.table, &day)?;
                    self.open.push((day, w));
                    self.open.len() - 1
                }
            };
            let mut entry = self.open.remove(at);
            entry.1.write(&part)?;
            written += part.num_rows() as u64;
            self.open.push(entry);
        }
        Ok(written)
    }

    /// Commits every open file (all are tried; the first error is returned).
    fn commit(self) -> Result<(), StoreError> {
        let mut result = Ok(());
        for (_, w) in self.open {
            let r = w.commit().map(|_| ());
            result = result.and(r);
        }
        result
    }
}

/// Reads JSON Lines of reference dataset `name` (e.g. [`palisade_kql::catalog::FILE_PROFILE`])
/// into the store's reference area, with the same per-row checks as [`ingest_jsonl`]. Every
/// row needs a non-empty `SHA1`; a row whose SHA1 (or SHA256) is already stored, or repeated
/// earlier in the input, is rejected as a duplicate (stored profiles are never replaced).
pub fn ingest_reference_jsonl<R: BufRead + Send>(
    store: &EventStore,
    name: &str,
    reader: R,
) -> Result<IngestReport, StoreError> {
    let schema = palisade_kql::catalog::reference_schema(name)
        .ok_or_else(|| StoreError::UnknownTable(name.to_string()))?;
    let decoder = Decoder::new(&schema, Some(("SHA1", "missing SHA1")));
    let mut report = IngestReport::default();
    decode_all(reader, &decoder, |d| {
        report.rejected.extend(d.rejected);
        if d.batch.num_rows() == 0 {
            return Ok(());
        }
        let r = crate::reference::append_reference(store, name, &d.batch)?;
        report.accepted += r.written;
        for i in r.skipped {
            report.rejected.push(RowError {
                line: d.lines[i],
                message: "duplicate profile: its SHA1 or SHA256 is already stored".into(),
            });
        }
        Ok(())
    })?;
    report.rejected.sort_by_key(|e| e.line);
    Ok(report)
}
