//! The advanced hunting response (`POST /api/advancedhunting/run`).

use serde::{Deserialize, Serialize};

use super::null_default;

/// One output column of a hunting query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    #[serde(rename = "Name")]
    pub name: String,
    /// .NET-style type name (`DateTime`, `String`, `Int64`, …).
    #[serde(rename = "Type")]
    pub r#type: String,
}

/// Response of `POST /api/advancedhunting/run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HuntingResponse {
    /// Execution statistics (`ExecutionTime`, `resource_usage`, `dataset_statistics`).
    #[serde(rename = "Stats", default)]
    pub stats: serde_json::Value,
    /// Output columns in order.
    #[serde(rename = "Schema", default, deserialize_with = "null_default")]
    pub schema: Vec<Column>,
    /// One object per row, keyed by column name.
    #[serde(rename = "Results", default, deserialize_with = "null_default")]
    pub results: Vec<serde_json::Map<String, serde_json::Value>>,
}
