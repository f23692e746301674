//! The language crate's tests, one binary: the parser, the binder, the public query corpus and
//! the generated function-coverage page.

mod bind;
mod corpus;
mod functions_page;
mod parse;
