//! `POST /api/advancedhunting/run` (spec §9): authorization, quota and the wire shapes.
//!
//! The hunting contract lives here, in one place: [`HuntingService`] gives typed results
//! ([`HuntingOutput`]: typed columns, rows, [`HuntingStats`]) and typed failures
//! ([`HuntingFailure`], with positions), and this crate alone renders them on the wire
//! (Defender's `Stats`/`Schema`/`Results` and error JSON). The query engine itself is behind
//! the trait, so this crate does not link DataFusion; the binary plugs `palisade-hunting` in.

use crate::error::ApiError;
use palisade_kql::KqlType;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use time::OffsetDateTime;

/// One output column of a hunting result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntingColumn {
    /// Column name.
    pub name: String,
    /// Its KQL type; each API renders its own name for it (Defender: the .NET name).
    pub ty: KqlType,
}

/// What the engine measured while running a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HuntingStats {
    /// Wall-clock seconds from parse to last row.
    pub execution_time_secs: f64,
    /// Process CPU seconds in user mode over the query's run.
    pub cpu_user_secs: f64,
    /// Process CPU seconds in kernel mode over the query's run.
    pub cpu_kernel_secs: f64,
    /// Peak bytes of the query's memory pool.
    pub peak_memory_bytes: u64,
    /// What the caller should know about the answer (e.g. a function that answered null for
    /// want of the operator's data); rendered as `Stats.notes` when there are any.
    pub notes: Vec<String>,
}

/// A query's result, typed; [`defender_response`] renders Defender's wire shape.
#[derive(Debug, Clone, Default)]
pub struct HuntingOutput {
    /// Statistics.
    pub stats: HuntingStats,
    /// Output columns in order.
    pub schema: Vec<HuntingColumn>,
    /// One JSON object per row, keyed by column name, values already in Kusto's text forms.
    pub results: Vec<Map<String, Value>>,
    /// The `render` operator's annotation, Kusto's `Visualization` extended property
    /// (`{"Visualization": "piechart", "Title": ...}`), when the query ends in `render`;
    /// reported as `Stats.visualization` **[inferred]**: the Defender docs name no field.
    pub visualization: Option<Map<String, Value>>,
}

/// A 1-based place in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryPosition {
    /// Line.
    pub line: u32,
    /// Column, in characters.
    pub column: u32,
}

/// Why a query did not run, typed; each API renders its own error for it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HuntingFailure {
    /// The query does not parse.
    #[error("syntax error at {}:{}: {message}", .position.line, .position.column)]
    Syntax {
        /// Where the parser stopped.
        position: QueryPosition,
        /// What it expected and found.
        message: String,
    },
    /// Unknown names, wrong types, bad arguments.
    #[error("semantic error: {message}")]
    Semantic {
        /// Where, when known.
        position: Option<QueryPosition>,
        /// What is wrong.
        message: String,
    },
    /// A KQL construct the engine does not implement, by name.
    #[error("'{name}' is not supported")]
    Unsupported {
        /// The construct.
        name: String,
        /// Where the query uses it, when known.
        position: Option<QueryPosition>,
    },
    /// The query ran past its time limit.
    #[error("time limit of {limit:?} exceeded")]
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// The query needed more memory than allowed.
    #[error("memory limit exceeded: {detail}")]
    TooLarge {
        /// What ran out.
        detail: String,
    },
    /// The tenant id cannot name a tenant's data.
    #[error("invalid tenant")]
    InvalidTenant,
    /// Anything else: logged, never detailed to the caller.
    #[error("{0}")]
    Internal(String),
}

impl From<HuntingFailure> for ApiError {
    /// Defender's answer: 400 `BadRequest` with the message (positions included) for every
    /// failure the caller can fix, a timeout and a memory overrun included (the service
    /// reports those as 400 too); 500 for the rest.
    fn from(f: HuntingFailure) -> Self {
        let at = |p: QueryPosition| format!("at line {}, column {}", p.line, p.column);
        match f {
            HuntingFailure::Syntax { position, message } => {
                ApiError::BadRequest(format!("Syntax error {}: {message}", at(position)))
            }
            HuntingFailure::Semantic {
                position: Some(position),
                message,
            } => ApiError::BadRequest(format!("Semantic error {}: {message}", at(position))),
            HuntingFailure::Semantic {
                position: None,
                message,
            } => ApiError::BadRequest(format!("Semantic error: {message}")),
            HuntingFailure::Unsupported {
                name,
                position: Some(p),
            } => ApiError::BadRequest(format!(
                "'{name}' is not supported by this advanced hunting service (line {}, column {}).",
                p.line, p.column
            )),
            HuntingFailure::Unsupported {
                name,
                position: None,
            } => ApiError::BadRequest(format!(
                "'{name}' is not supported by this advanced hunting service."
            )),
            HuntingFailure::Timeout { limit } => ApiError::BadRequest(format!(
                "Query execution has exceeded the allowed time limit of {} seconds. Optimize your query and try again.",
                limit.as_secs()
            )),
            HuntingFailure::TooLarge { detail } => ApiError::BadRequest(format!(
                "Query execution has exceeded the allowed resources ({detail}). Optimize your query by limiting the number of results and try again."
            )),
            HuntingFailure::InvalidTenant => ApiError::BadRequest("Invalid tenant.".into()),
            HuntingFailure::Internal(m) => ApiError::Internal(m),
        }
    }
}

/// A .NET TimeSpan string `hh:mm:ss.fffffff`.
fn dotnet_timespan(secs: f64) -> String {
    let ticks = (secs.max(0.0) * 10_000_000.0).round() as u64;
    let (s, frac) = (ticks / 10_000_000, ticks % 10_000_000);
    format!(
        "{:02}:{:02}:{:02}.{frac:07}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// Defender's `POST /api/advancedhunting/run` response: `Stats` (in the documented shape:
/// CPU as TimeSpans, the memory peak, the result's row count and JSON size; there is no cache
/// layer, so cache counters are zero), `Schema` (`Name` and the .NET `Type`) and `Results`.
pub fn defender_response(out: &HuntingOutput) -> Value {
    let size: usize = out
        .results
        .iter()
        .map(|r| serde_json::to_string(r).map(|s| s.len()).unwrap_or(0))
        .sum();
    let st = &out.stats;
    let mut response = json!({
        "Stats": {
            "ExecutionTime": st.execution_time_secs,
            "resource_usage": {
                "cache": {"memory": {"hits": 0, "misses": 0, "total": 0}, "disk": {"hits": 0, "misses": 0, "total": 0}},
                "cpu": {
                    "user": dotnet_timespan(st.cpu_user_secs),
                    "kernel": dotnet_timespan(st.cpu_kernel_secs),
                    "total cpu": dotnet_timespan(st.cpu_user_secs + st.cpu_kernel_secs),
                },
                "memory": {"peak_per_node": st.peak_memory_bytes}
            },
            "dataset_statistics": [{"table_row_count": out.results.len(), "table_size": size}]
        },
        "Schema": out.schema.iter().map(|c| json!({"Name": c.name, "Type": c.ty.dotnet_name()})).collect::<Vec<_>>(),
        "Results": out.results,
    });
    if let Some(v) = &out.visualization {
        response["Stats"]["visualization"] = Value::Object(v.clone());
    }
    // Palisade's own addition to Defender's `Stats`, only when there is something to say.
    if !out.stats.notes.is_empty() {
        response["Stats"]["notes"] = json!(out.stats.notes);
    }
    response
}

/// Whose rows a hunting query may read: one tenant, and inside it every device or only the
/// devices of the caller's device groups (Defender RBAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntScope {
    /// The tenant whose data is read; never another.
    pub tenant_id: String,
    /// `None`: every device. `Some`: only rows of these devices; rows naming another device
    /// are never read (rows and tables that name no device stay visible).
    pub devices: Option<DeviceSet>,
    /// The earliest `Timestamp` the query asks to read (Graph's `Timespan` start), inside
    /// the 30 days before `now`; `None`: the whole 30 days. Every table scan of the query
    /// drops the rows before it.
    pub since: Option<OffsetDateTime>,
}

/// The devices a scoped caller may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSet {
    /// `DeviceId` values.
    pub ids: std::collections::BTreeSet<String>,
    /// `DeviceName` values, lower-cased.
    pub names: std::collections::BTreeSet<String>,
}

impl HuntScope {
    /// The whole tenant (application tokens, users scoped to all device groups).
    pub fn tenant(tenant_id: impl Into<String>) -> Self {
        HuntScope {
            tenant_id: tenant_id.into(),
            devices: None,
            since: None,
        }
    }
}

/// The future returned by [`HuntingService::run`].
pub type HuntingFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HuntingOutput, HuntingFailure>> + Send + 'a>>;

/// The engine behind the endpoint. Implementations must restrict every scan to `scope`
/// (tenant and devices) and to the 30 days before `now`.
pub trait HuntingService: Send + Sync + 'static {
    /// Runs `query` within `scope`.
    fn run<'a>(
        &'a self,
        scope: &'a HuntScope,
        query: &'a str,
        now: OffsetDateTime,
    ) -> HuntingFuture<'a>;
}

/// The request body: `{"Query": "…"}`; names are case-sensitive.
pub(crate) fn parse_body(body: &[u8]) -> Result<String, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::InvalidRequestBody("Request body is incorrect: it is not a JSON object.".into())
    })?;
    let object = value.as_object().ok_or_else(|| {
        ApiError::InvalidRequestBody("Request body is incorrect: it is not a JSON object.".into())
    })?;
    for key in object.keys() {
        if key != "Query" {
            return Err(ApiError::InvalidRequestBody(format!(
                "Request body is incorrect: unknown property '{}' (property names are case-sensitive; expected 'Query').",
                key.chars().take(64).collect::<String>()
            )));
        }
    }
    match object.get("Query") {
        Some(Value::String(q)) if !q.trim().is_empty() => Ok(q.clone()),
        Some(Value::String(_)) | None => {
            Err(ApiError::BadRequest("Parameter Query is missing.".into()))
        }
        Some(_) => Err(ApiError::InvalidRequestBody(
            "Request body is incorrect: 'Query' must be a string.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_are_dotnet_shaped() {
        assert_eq!(dotnet_timespan(19.046875), "00:00:19.0468750");
        assert_eq!(dotnet_timespan(3661.5), "01:01:01.5000000");
    }

    #[test]
    fn the_defender_response_has_the_documented_shape() {
        let mut row = Map::new();
        row.insert("Timestamp".into(), json!("2026-11-20T12:00:00.0000000Z"));
        row.insert("Count".into(), json!(3));
        let out = HuntingOutput {
            stats: HuntingStats {
                execution_time_secs: 0.5,
                cpu_user_secs: 0.25,
                cpu_kernel_secs: 0.125,
                peak_memory_bytes: 4096,
                notes: vec![],
            },
            schema: vec![
                HuntingColumn {
                    name: "Timestamp".into(),
                    ty: KqlType::DateTime,
                },
                HuntingColumn {
                    name: "Count".into(),
                    ty: KqlType::Long,
                },
            ],
            results: vec![row],
            visualization: None,
        };
        let v = defender_response(&out);
        assert!(v["Stats"].get("visualization").is_none());
        let mut annotation = Map::new();
        annotation.insert("Visualization".into(), json!("piechart"));
        annotation.insert("Title".into(), json!("OS"));
        let rendered = defender_response(&HuntingOutput {
            visualization: Some(annotation),
            ..out.clone()
        });
        assert_eq!(
            rendered["Stats"]["visualization"],
            json!({"Visualization": "piechart", "Title": "OS"})
        );
        assert_eq!(
            v["Schema"],
            json!([{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "Count", "Type": "Int64"}])
        );
        assert_eq!(v["Results"][0]["Count"], 3);
        assert_eq!(v["Stats"]["ExecutionTime"], 0.5);
        assert_eq!(
            v["Stats"]["resource_usage"]["cpu"]["total cpu"],
            "00:00:00.3750000"
        );
        assert_eq!(
            v["Stats"]["resource_usage"]["memory"]["peak_per_node"],
            4096
        );
        assert_eq!(v["Stats"]["dataset_statistics"][0]["table_row_count"], 1);
        assert!(v["Stats"].get("notes").is_none(), "no notes, no key");
        let mut noted = out.clone();
        noted.stats.notes = vec!["a note".into()];
        assert_eq!(
            defender_response(&noted)["Stats"]["notes"],
            json!(["a note"])
        );
    }

    #[test]
    fn failures_render_as_defender_errors_with_positions() {
        let e = ApiError::from(HuntingFailure::Syntax {
            position: QueryPosition { line: 2, column: 7 },
            message: "expected '|'".into(),
        });
        assert!(
            matches!(&e, ApiError::BadRequest(m) if m == "Syntax error at line 2, column 7: expected '|'"),
            "{e:?}"
        );
        let e = ApiError::from(HuntingFailure::Semantic {
            position: None,
            message: "row count must be a non-negative constant".into(),
        });
        assert!(
            matches!(&e, ApiError::BadRequest(m) if m.starts_with("Semantic error: row count"))
        );
        let e = ApiError::from(HuntingFailure::Unsupported {
            name: "mv-apply".into(),
            position: Some(QueryPosition { line: 3, column: 3 }),
        });
        assert!(
            matches!(&e, ApiError::BadRequest(m) if m == "'mv-apply' is not supported by this advanced hunting service (line 3, column 3)."),
            "{e:?}"
        );
        let e = ApiError::from(HuntingFailure::Unsupported {
            name: "top-nested with others".into(),
            position: None,
        });
        assert!(
            matches!(&e, ApiError::BadRequest(m) if m == "'top-nested with others' is not supported by this advanced hunting service."),
            "{e:?}"
        );
        let e = ApiError::from(HuntingFailure::Timeout {
            limit: Duration::from_secs(180),
        });
        assert!(matches!(&e, ApiError::BadRequest(m) if m.contains("time limit of 180 seconds")));
        assert!(matches!(
            ApiError::from(HuntingFailure::Internal("disk".into())),
            ApiError::Internal(_)
        ));
    }

    #[test]
    fn body_names_are_case_sensitive() {
        assert_eq!(
            parse_body(br#"{"Query":"DeviceInfo | take 1"}"#).unwrap(),
            "DeviceInfo | take 1"
        );
        assert!(matches!(
            parse_body(br#"{"query":"x"}"#),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(br#"{"Query":""}"#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(br#"{"Query":1}"#),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(b"[1]"),
            Err(ApiError::InvalidRequestBody(_))
        ));
        assert!(matches!(
            parse_body(b"not json"),
            Err(ApiError::InvalidRequestBody(_))
        ));
    }
}
