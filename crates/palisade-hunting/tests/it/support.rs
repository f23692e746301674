//! Helpers shared by the execution and file-profile tests.

use chrono::{DateTime, TimeZone, Utc};
use palisade_hunting::{HuntResult, HuntingEngine};
use serde_json::Value;

/// The fixed "now" the engine tests query at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

/// Runs `q` as tenant `t1` at [`now`] and returns the rows as JSON objects; panics with the
/// query on an error.
pub async fn rows(e: &HuntingEngine, q: &str) -> Vec<Value> {
    match e.run("t1", q, now()).await {
        Ok(r) => r.rows.into_iter().map(Value::Object).collect(),
        Err(err) => panic!("query failed: {err}\n{q}"),
    }
}

/// A result's columns as (name, .NET type name), the pairs the API reports.
pub fn columns(r: &HuntResult) -> Vec<(String, String)> {
    r.schema
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.dotnet_name().to_string()))
        .collect()
}
