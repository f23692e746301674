//! The language crate's tests, one binary: the parser, the binder and the public query corpus.

mod bind;
mod corpus;
mod parse;
