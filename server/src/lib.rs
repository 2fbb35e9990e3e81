//! Bearing's server: the command line (`cli`, `commands/`), the route table (`router`) and the
//! state it serves (`state`), the embedded PostgreSQL (`db`), sign-in (`auth`), the HTTP API
//! (`http`), graceful shutdown (`shutdown`), background work (`mesh` poller, `scorecards` worker, `changes`, `import`) and the security layers.
//! `main.rs` is a thin wrapper so integration tests reuse everything here.

pub mod auth;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod delivery;
pub mod http;
pub mod import;
pub mod mesh;
pub mod page_cache;
pub mod router;
pub mod scorecards;
pub mod security;
pub mod shutdown;
pub mod site;
pub mod state;
pub mod telemetry;
pub mod trace;

/// The database migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
