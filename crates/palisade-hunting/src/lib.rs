//! # palisade-hunting: the advanced-hunting engine
//!
//! Runs KQL queries ([`palisade_kql`] parses and binds them) on DataFusion over the Parquet
//! event store ([`palisade_events`]), with Kusto semantics, for one tenant at a time:
//! [`HuntingEngine::run`] / [`HuntingEngine::run_scoped`] → [`HuntResult`] (typed columns,
//! rows, [`HuntStats`]) or a typed [`HuntError`].
//!
//! Inside: the planner (bound tree → DataFusion logical plan, `plan/`), the implementation of
//! each built-in function by its typed id (`functions/`, one exhaustive `match` per family),
//! the UDFs and UDAFs Kusto needs (`udf/`), the tenant/time/device scans (`scan.rs`), and
//! one long-lived runtime with row, time and memory [`Limits`] (`engine.rs`), and the
//! Parquet reader's [`Tuning`] (`tuning.rs`).

mod budget;
mod engine;
mod error;
mod file_caches;
mod functions;
mod geoip;
mod plan;
mod probe;
mod result;
mod scan;
mod string_filters;
mod tuning;
mod udf;

pub use engine::{HuntingEngine, Limits};
pub use error::HuntError;
pub use geoip::{GeoIpDatabase, GeoIpError};
pub use result::{HuntResult, HuntStats};
pub use scan::{DeviceScope, WINDOW_NS};
pub use tuning::Tuning;
