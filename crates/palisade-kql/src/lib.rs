//! # palisade-kql: the Kusto Query Language, without an engine
//!
//! Turns KQL text into a checked, typed tree: **lex → parse → bind**. Everything a program
//! needs to parse, check, explain or format a hunting query, and nothing that runs one (the
//! engine, `palisade-hunting`, plans the bound tree onto DataFusion; this crate does not link
//! it).
//!
//! - [`parse`] → [`ast::Query`], with exact error positions ([`ParseError`]). Constructs
//!   Palisade does not support are rejected by name; nesting depth and operator chains are
//!   bounded, so hostile input cannot exhaust the stack.
//! - [`bind`] → [`BoundQuery`]: tables from the [`Catalog`] (the advanced-hunting schema,
//!   [`Catalog::defender`]), `let`s and user functions inlined, every column and expression
//!   typed, every operator's output schema known. Plugins whose schema depends on the data
//!   (`bag_unpack`, `pivot`) need a [`SchemaProbe`] ([`bind_with_probe`]).
//! - [`functions`]: every built-in function as a typed id with its names and signature.
//! - [`operators`]: the Kusto operator and statement reference and which of them Palisade
//!   implements or rejects by name (asked of the parser).
//! - [`render`]: the `render` operator's visualization, reported with the result.
//! - [`value`]: the value model — [`KqlType`], [`Literal`], and the one parser and
//!   formatter of `datetime` and `timespan` text.
//! - [`explain`]: the bound tree as text.
//!
//! ```
//! use palisade_kql::{analyze, Catalog};
//! let q = analyze("DeviceProcessEvents | where Timestamp > ago(7d) | count", &Catalog::defender()).unwrap();
//! assert_eq!(q.results[0].schema.columns[0].name, "Count");
//! ```

pub mod ast;
mod binder;
pub mod bound;
pub mod catalog;
mod coverage;
mod error;
mod explain;
mod fold;
pub mod functions;
pub mod lexer;
pub mod operators;
mod parser;
pub mod render;
pub mod typing;
pub mod value;
mod visit;

pub use binder::{bind, bind_with_probe, ProbeError, SchemaProbe, MAX_PROBE_COLUMNS};
pub use bound::{
    BoundExpr, BoundQuery, BoundScan, BoundScanStep, BoundTable, ExprNode, JoinKind, TableNode,
};
pub use catalog::{Catalog, Column, Schema};
pub use error::{BindError, KqlError, ParseError, Pos, Span};
pub use explain::explain_bound;
pub use fold::{const_count, const_eval};
pub use parser::parse;
pub use value::{KqlType, Literal};
pub use visit::Walk;

/// Parses and binds `query` against `catalog` in one step.
pub fn analyze(query: &str, catalog: &Catalog) -> Result<BoundQuery, KqlError> {
    let ast = parse(query)?;
    Ok(bind(&ast, catalog)?)
}

/// The bound form of `query` as an indented operator tree with each node's output columns
/// (see [`explain_bound`]).
pub fn explain(query: &str, catalog: &Catalog) -> Result<String, KqlError> {
    Ok(explain_bound(&analyze(query, catalog)?))
}
