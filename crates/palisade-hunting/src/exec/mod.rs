//! Execution: the DataFusion planner, Kusto scalar functions and aggregates as UDFs/UDAFs.

pub mod planner;
pub(crate) mod scalar;
pub mod udf;
