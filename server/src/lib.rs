//! Bearing's server: configuration, the embedded PostgreSQL, startup, the HTTP API and the CLI.
//! `main.rs` is a thin wrapper so integration tests reuse everything here.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod import;
pub mod mesh;
pub mod page_cache;
pub mod security;
pub mod startup;
pub mod telemetry;

/// The database migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
