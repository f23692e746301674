//! The hunting engine's tests, one binary (each test binary links DataFusion, so one binary
//! instead of one per file saves links and disk): execution semantics, the public query corpus
//! run on seeded data, the event store read through the engine, file profiles, and columns
//! reassigned in consecutive projections. The parser's and binder's tests live with
//! `palisade-kql`.

mod corpus;
mod estate;
mod exec;
mod fileprofile;
mod geoip;
mod hostile;
mod library;
mod operators;
mod projections;
mod scan;
mod sentinel;
mod series;
mod store;
mod support;
mod tuning;
