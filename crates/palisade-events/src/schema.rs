//! How KQL types are stored: the Arrow type of each [`KqlType`] in Parquet files and in the
//! engine's plans.
//!
//! `string`/`guid` → `Utf8`, `int` → `Int32`, `long` → `Int64`, `real`/`decimal` →
//! `Float64`, `bool` → `Boolean`, `datetime` → `Timestamp(Nanosecond, "UTC")`, `timespan` →
//! `Int64` nanoseconds, `dynamic` → `Utf8` JSON text.
//!
//! A stored file also has the hidden column [`INGESTION_TIME`] after the catalog's columns
//! ([`stored_arrow_schema`]): when the row reached the store. The catalog does not list it;
//! the engine reads it for `ingestion_time()` and the workspace column `TimeGenerated`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use palisade_kql::{KqlType, Schema};

/// The Arrow type of a KQL type in files and plans.
pub fn arrow_type(ty: KqlType) -> DataType {
    match ty {
        KqlType::Bool => DataType::Boolean,
        KqlType::Int => DataType::Int32,
        KqlType::Long | KqlType::TimeSpan => DataType::Int64,
        KqlType::Real | KqlType::Decimal => DataType::Float64,
        KqlType::String | KqlType::Guid | KqlType::Dynamic => DataType::Utf8,
        KqlType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
    }
}

/// The hidden column of every stored table: the row's ingestion time (`datetime`). Written by
/// [`crate::EventStore::append`] (the time of the append) and by the generator (the event time
/// plus a short, deterministic delivery delay); null in files written before it existed.
/// `$` keeps it apart from every catalog column name.
pub const INGESTION_TIME: &str = "$IngestionTime";

/// The Arrow schema of a stored table: the catalog schema's columns, then [`INGESTION_TIME`].
pub fn stored_arrow_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = arrow_schema(schema)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(
        INGESTION_TIME,
        arrow_type(KqlType::DateTime),
        true,
    ));
    Arc::new(ArrowSchema::new(fields))
}

/// The Arrow schema of a catalog schema (every column nullable).
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    Arc::new(ArrowSchema::new(
        schema
            .columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
            .collect::<Vec<_>>(),
    ))
}
