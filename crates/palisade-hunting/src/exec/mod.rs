//! Execution: the DataFusion planner, Kusto scalar functions and aggregates as UDFs/UDAFs.

/// Bound tables → DataFusion logical plans.
pub mod planner;
pub(crate) mod scalar;
/// `make-series` planning and its semantics.
pub mod series;
mod strmatch;
/// Row-wise UDFs, aggregates and the KQL ↔ Arrow value conventions.
pub mod udf;
