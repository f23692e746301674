//! What a query returns: typed columns, rows of Kusto-formatted values, and statistics. The
//! wire shapes (Defender's `Stats`/`Schema`/`Results`, Graph's `schema`/`results`) are the
//! resource server's to render.

use arrow::array::RecordBatch;
use palisade_kql::value::{format_datetime, format_timespan};
use palisade_kql::{KqlType, Schema};
use serde_json::{Map, Value};

use crate::udf::json::parse_dyn;
use crate::udf::{val_at, Val};
use crate::HuntError;

/// Execution statistics of one query.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HuntStats {
    /// Wall-clock seconds from parse to last row.
    pub execution_time_secs: f64,
    /// Process CPU seconds in user mode over the query's run (process-wide: it includes
    /// concurrent work).
    pub cpu_user_secs: f64,
    /// Process CPU seconds in kernel mode over the query's run.
    pub cpu_kernel_secs: f64,
    /// Parquet files the query's scans listed.
    pub files_scanned: u64,
    /// Bytes of those files.
    pub bytes_scanned: u64,
    /// Rows in those files (before filtering).
    pub rows_scanned: u64,
    /// Peak bytes reserved in DataFusion's memory pool.
    pub peak_memory_bytes: u64,
    /// What the caller should know about the answer, e.g. that `geo_info_from_ip_address`
    /// answered null because the server has no GeoIP database.
    pub notes: Vec<String>,
}

/// A query's result.
#[derive(Debug, Clone)]
pub struct HuntResult {
    /// Output columns, in order, with their KQL types.
    pub schema: Schema,
    /// One JSON object per row, keyed by column name; values formatted as Kusto prints them
    /// (datetimes `2020-08-30T06:38:35.7664356Z`, timespans `01:30:00`, dynamic as JSON).
    pub rows: Vec<Map<String, Value>>,
    /// Statistics.
    pub stats: HuntStats,
    /// True when rows beyond [`crate::Limits::max_rows`] were dropped.
    pub truncated: bool,
    /// The `render` operator's annotation (`{"Visualization": "timechart", "Title": ...}`),
    /// when the query ends in one ([`palisade_kql::render`]).
    pub visualization: Option<Map<String, Value>>,
}

/// Process CPU time (user, kernel) in seconds, from `/proc/self/stat` (Linux; zero elsewhere).
pub(crate) fn process_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    // After the command name: state is field 0, utime field 11, stime field 12.
    (ticks(11), ticks(12))
}

/// Converts result batches to rows (at most `max`), returning whether rows were dropped.
pub(crate) fn batches_to_rows(
    batches: &[RecordBatch],
    schema: &Schema,
    max: usize,
) -> Result<(Vec<Map<String, Value>>, bool), HuntError> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            if rows.len() >= max {
                return Ok((rows, true));
            }
            let mut m = Map::with_capacity(schema.columns.len());
            for (i, c) in schema.columns.iter().enumerate() {
                let v = val_at(b.column(i).as_ref(), r)
                    .map_err(|e| HuntError::Internal(e.to_string()))?;
                m.insert(c.name.clone(), to_json(v, c.ty));
            }
            rows.push(m);
        }
    }
    Ok((rows, false))
}

/// One value as the API prints it.
pub(crate) fn to_json(v: Val, ty: KqlType) -> Value {
    match (v, ty) {
        (Val::Null, _) => Value::Null,
        (Val::Str(s), KqlType::Dynamic) => parse_dyn(s),
        (Val::Str(s), _) => Value::String(s.to_string()),
        (Val::Bool(b), _) => Value::Bool(b),
        (Val::Ts(n), _) | (Val::I64(n), KqlType::DateTime) => Value::String(format_datetime(n)),
        (Val::I64(n), KqlType::TimeSpan) => Value::String(format_timespan(n)),
        (Val::I64(n), _) => Value::from(n),
        (Val::F64(f), _) => match serde_json::Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => Value::String("NaN".into()),
            None if f > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        },
    }
}
