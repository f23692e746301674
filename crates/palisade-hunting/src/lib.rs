//! # palisade-hunting: Palisade's advanced hunting (KQL on DataFusion over Parquet)
//!
//! Palisade re-implements Defender XDR's `POST /api/advancedhunting/run`; this crate turns the
//! KQL text of such a request into a typed tree, plans it onto DataFusion with Kusto semantics
//! and runs it over a per-tenant Parquet event store.
//!
//! Pipeline: **lex → parse → bind → plan → execute**
//!
//! 1. [`lexer`]: tokens with exact 1-based line/column (`//` comments, `"..."`/`'...'`,
//!    verbatim `@"..."`, obfuscated `h"..."`, ```` ``` ```` strings, timespans like `7d`,
//!    `datetime(...)`/`time(...)`/`guid(...)` literals).
//! 2. [`parse`] → [`ast::Query`]: `let` statements (values, tables, user functions, views),
//!    tabular operators and the full expression grammar. Errors name the offending token and
//!    what was expected (`expected '|' or end of query, found 'foo' at 3:14`). Constructs
//!    Palisade does not support (`externaldata`, `scan`, `fork`, `mv-apply`, ...) are rejected
//!    by name, never approximated. As in the Defender portal, query statements separated by a
//!    blank line are separate statements even without `;`. Nesting depth and operator-chain
//!    length are bounded so hostile input cannot exhaust the stack.
//! 3. [`bind`] → [`BoundQuery`]: resolves tables against the [`Catalog`]
//!    ([`Catalog::defender()`] embeds the advanced-hunting schema), inlines `let`s and user
//!    functions, computes every operator's output schema (join renaming such as `DeviceId1`,
//!    `summarize` names such as `count_` and `dcount_DeviceId`, `union` type suffixes) and every
//!    expression's type. `evaluate` plugins whose output schema depends on the data
//!    (`bag_unpack`, `pivot`) need a [`SchemaProbe`] ([`bind_with_probe`]; the engine supplies
//!    one that runs the plugin's input in the query's tenant scope and limits); plain [`bind`]
//!    rejects them by name.
//!
//! 4. [`exec::planner`] builds the DataFusion `LogicalPlan`: Kusto semantics for `has`/`contains`/`=~`
//!    (case rules, term boundaries), null handling, `dynamic` as JSON text with UDF member and
//!    index access, datetime/timespan arithmetic, integer division, `bin`, joins of every kind
//!    (`innerunique` de-duplicates the left side), `mv-expand`, `parse`, `make-series`, … Anything it cannot
//!    plan exactly is rejected by name ([`exec::planner::PlanError::Unsupported`]).
//! 5. [`EventStore`] stores `<root>/tenant=<tid>/table=<Table>/day=<yyyy-mm-dd>/part-*.parquet`;
//!    [`HuntingEngine::run`] scans only the caller's tenant directory and the last 30 days,
//!    with row, time and memory [`Limits`]. [`ingest_jsonl`] loads checked JSON rows;
//!    [`seed_events`] generates a realistic sample estate.
//! 6. Reference data ([`reference`]): global datasets that are no tenant's, stored beside the
//!    tenant folders in `<root>/reference/<Name>/`. `invoke FileProfile()` looks files up in
//!    `reference/FileProfile`, filled by [`seed_file_profiles`] (profiles of the generated
//!    estate's files) or [`ingest_reference_jsonl`].
//!
//! ```
//! use palisade_hunting::{analyze, Catalog};
//! let q = analyze("DeviceProcessEvents | where Timestamp > ago(7d) | count", &Catalog::defender()).unwrap();
//! assert_eq!(q.results[0].schema.columns[0].name, "Count");
//! ```

pub mod ast;
pub mod binder;
pub mod bound;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod exec;
mod functions;
pub mod generator;
pub mod ingest;
pub mod lexer;
pub mod parser;
pub mod profiles;
pub mod reference;
pub mod store;
pub mod types;

pub use binder::{bind, bind_with_probe, ProbeError, SchemaProbe, MAX_PROBE_COLUMNS};
pub use bound::{BoundExpr, BoundQuery, BoundTable, ExprNode, JoinKind, TableNode};
pub use catalog::{Catalog, Column, Schema};
pub use engine::{DeviceScope, HuntError, HuntResult, HuntStats, HuntingEngine, Limits};
pub use error::{BindError, KqlError, ParseError, Pos};
pub use generator::{
    seed_events, seed_tables, Estate, EstateDevice, EstateFile, EstateUser, GENERATED_TABLES,
};
pub use ingest::{ingest_jsonl, ingest_reference_jsonl, IngestReport, RowError};
pub use parser::parse;
pub use profiles::seed_file_profiles;
pub use reference::{ReferenceReport, FILE_PROFILE};
pub use store::{CompactReport, EventStore, StoreError};
pub use types::KqlType;

/// Parses and binds `query` against `catalog` in one step.
pub fn analyze(query: &str, catalog: &Catalog) -> Result<BoundQuery, KqlError> {
    let ast = parse(query)?;
    Ok(bind(&ast, catalog)?)
}
