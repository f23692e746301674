//! Palisade's integration tests, one binary: each test starts the real HTTPS server (and
//! some run the `palisade` binary against it). One binary instead of one per file keeps
//! the link count, and the disk a debug build needs, down: every test binary links
//! DataFusion.

mod common;

mod admin;
mod certificates;
mod client_cli;
mod defender;
mod delegated;
mod discovery;
mod errors;
mod geoip;
mod graph;
mod hardening;
mod hostile_queries;
mod hunting;
mod onboarding;
mod partner;
mod partner_cli;
mod signin;
mod snapshot;
mod tokens;
mod user_sdk;
mod users_cli;
