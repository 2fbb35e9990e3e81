//! Command-line flags shared by several commands. Every flag also reads a `BEARING_*`
//! environment variable, so deployments can configure Bearing without arguments.

use std::path::PathBuf;

use clap::Args;

pub mod auth;
pub mod kuma;

pub use auth::{AuditArgs, AuthArgs};
pub use kuma::KumaArgs;

/// Which PostgreSQL to use.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. Without it, Bearing runs its own private PostgreSQL
    /// cluster under --data-dir. `DATABASE_URL` is honoured too.
    #[arg(long, env = "BEARING_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded PostgreSQL cluster (created on first use, kept across runs).
    #[arg(long, env = "BEARING_DATA_DIR", default_value = ".bearing")]
    pub data_dir: PathBuf,

    /// Directory holding PostgreSQL's initdb, pg_ctl and postgres (embedded mode only).
    /// Defaults to the newest /usr/lib/postgresql/*/bin.
    #[arg(long, env = "BEARING_PG_BIN")]
    pub pg_bin: Option<PathBuf>,

    /// Largest number of database connections the pool opens.
    #[arg(long, env = "BEARING_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl DatabaseArgs {
    /// The external URL, from the flag or `DATABASE_URL`.
    pub fn url(&self) -> Option<String> {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok())
            .filter(|u| !u.is_empty())
    }
}
