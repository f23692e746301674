//! How KQL types are stored: the Arrow type of each [`KqlType`] in Parquet files and in the
//! engine's plans.
//!
//! `string`/`guid` → `Utf8`, `int` → `Int32`, `long` → `Int64`, `real`/`decimal` →
//! `Float64`, `bool` → `Boolean`, `datetime` → `Timestamp(Nanosecond, "UTC")`, `timespan` →
//! `Int64` nanoseconds, `dynamic` → `Utf8` JSON text.

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
