//! Palisade's binary crate: the server assembly (`palisade serve`) and the CLI.
//!
//! - [`server`]: the data directory, the store, the keys, the local CA and the one TLS
//!   listener that serves the token service, the admin API (and later the Defender API).
//! - [`tls`]: the local CA and server certificates.
//! - [`kek`]: where the key-encryption key sealing the signing keys comes from, and
//!   `palisade kek status|rotate`.
//! - [`cli`]: the `palisade` command line; [`settings`], [`config`] and [`trust`]: where
//!   the client commands connect, as whom, and which CA they trust.

mod admin_certs;
mod admin_client;
mod admin_owners;
mod admin_sentinel;
mod admin_users;
mod ca_cmds;
pub mod cli;
pub mod client_cmds;
pub mod config;
mod context_cmds;
pub mod data_dir;
pub mod demo;
pub mod demo_partner;
mod doctor;
mod graph_cmds;
pub mod hunting;
pub mod incident_args;
pub mod kek;
mod login_cmds;
mod output;
mod partner_cmds;
pub mod server;
pub mod settings;
pub mod tls;
pub mod trust;
