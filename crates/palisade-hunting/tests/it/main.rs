//! The hunting engine's tests, one binary (each test binary links DataFusion, so one binary
//! instead of one per file saves links and disk): the parser, the binder, the public query
//! corpus, execution semantics, the event store and file profiles.

mod bind;
mod corpus;
mod exec;
mod fileprofile;
mod parse;
mod store;
mod support;
