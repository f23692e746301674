//! # palisade-events: the event store behind advanced hunting
//!
//! Stores each tenant's events as Parquet, `<root>/tenant=<tid>/table=<Table>/day=<yyyy-mm-dd>/`,
//! with the advanced-hunting tables' schemas from [`palisade_kql::Catalog`]:
//! - [`EventStore`]: open, append, list the visible files of a window, compact a day's small
//!   files into one (crash-safe, manifest-committed); every file carries bloom filters on the
//!   [`BLOOM_FILTER_COLUMNS`], and a file written in `Timestamp` order says so
//!   ([`StoredFile::sorted`]);
//! - [`ingest_jsonl`] / [`ingest_reference_jsonl`]: JSON Lines in, checked row by row;
//! - [`reference`]: global reference datasets (file profiles) that are no tenant's;
//! - [`seed_events`] / [`seed_tables`] and [`seed_file_profiles`]: a consistent sample estate,
//!   generated column by column, one sorted file per table and day, in bounded memory;
//!   [`seed_estate_tables`]: the identity, mail follow-up, OAuth app, vulnerability
//!   management and exposure graph tables of the same estate; [`seed_sentinel_tables`]: the
//!   common Sentinel tables of the same estate.
//!
//! It links Arrow and Parquet but no query engine; `palisade-hunting` reads what it lists.

pub mod catalog_docs;
mod columns;
mod generator;
mod ingest;
mod ingestion;
pub mod profiles;
pub mod reference;
mod schema;
mod store;

pub use generator::{
    seed_estate_tables, seed_estate_tables_only, seed_events, seed_sentinel_tables,
    seed_sentinel_tables_only, seed_tables, Estate, EstateDevice, EstateFile, EstateUser,
    ESTATE_TABLES, FLUSH_ROWS, GENERATED_TABLES, SEEDED_SENTINEL_TABLES,
};
pub use ingest::{ingest_jsonl, ingest_reference_jsonl, IngestReport, RowError};
pub use profiles::seed_file_profiles;
pub use reference::ReferenceReport;
pub use schema::{arrow_schema, arrow_type, stored_arrow_schema, INGESTION_TIME};
pub use store::{
    valid_tenant, CompactReport, EventStore, PartWriter, StoreError, StoredFile,
    BLOOM_FILTER_COLUMNS, COMPACT_ROW_GROUP,
};
