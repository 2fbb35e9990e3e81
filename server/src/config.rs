//! Command-line flags shared by several commands. Every flag also reads a `BEARING_*`
//! environment variable, so deployments can configure Bearing without arguments.

use std::path::PathBuf;

use clap::Args;

pub mod audit;
pub mod auth;
pub mod delivery;
pub mod import;
pub mod kuma;

pub use audit::AuditArgs;
pub use auth::AuthArgs;
pub use delivery::DeliveryArgs;
pub use import::ImportLimitArgs;
pub use kuma::KumaArgs;

/// Which PostgreSQL to use.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL. Without it, Bearing runs its own private PostgreSQL
    /// cluster under --data-dir. `DATABASE_URL` is honoured too.
    #[arg(long, env = "BEARING_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL connection URL of the role that owns Bearing's tables, used only to apply
    /// migrations, when BEARING_DATABASE_URL names a restricted serving role. Default: the same
    /// URL.
    #[arg(long, env = "BEARING_MIGRATION_DATABASE_URL", hide_env_values = true)]
    pub migration_database_url: Option<String>,

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

    /// The owner's URL for migrations, if given apart from the serving one.
    pub fn migration_url(&self) -> Option<String> {
        self.migration_database_url.clone().filter(|u| !u.is_empty())
    }
}

/// The rendered-page cache (see [`crate::page_cache`]).
#[derive(Clone, Debug, Args)]
pub struct PageCacheArgs {
    /// How long a rendered page may be served again to the same viewer. Changes to the catalog
    /// or the mesh empty the cache at once; this bounds only how far relative times on a page
    /// ("last read 5 s ago") and delivery runs can lag. `0s` turns the cache off.
    #[arg(long, env = "BEARING_PAGE_CACHE_TTL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub page_cache_ttl: std::time::Duration,

    /// How long past its time to live a page may still be served while one render in the
    /// background replaces it (HTTP's `stale-while-revalidate`), so that a page people keep
    /// asking for is never rendered while someone waits. Pages are then at most
    /// `--page-cache-ttl` plus this old. `0s`: an expired page is rendered on request.
    #[arg(long, env = "BEARING_PAGE_CACHE_STALE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub page_cache_stale: std::time::Duration,

    /// Memory budget of the rendered-page cache, in MiB.
    #[arg(long, env = "BEARING_PAGE_CACHE_MB", default_value_t = 64)]
    pub page_cache_mb: u64,
}

impl Default for PageCacheArgs {
    fn default() -> Self {
        PageCacheArgs {
            page_cache_ttl: std::time::Duration::from_secs(5),
            page_cache_stale: std::time::Duration::from_secs(5),
            page_cache_mb: 64,
        }
    }
}

/// Who may read `/metrics`: it tells request rates, routes and pool sizes, so it is not public.
#[derive(Clone, Debug, Default, Args)]
pub struct MetricsArgs {
    /// Serve `/metrics` (without credentials) on this address of its own, e.g. a port only
    /// the monitoring network reaches.
    #[arg(long, env = "BEARING_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// A secret that scrapers send as `Authorization: Bearer <token>` to read `/metrics` on
    /// the main address. Without it (and without `--metrics-listen`), `/metrics` answers 401.
    #[arg(long, env = "BEARING_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<secrecy::SecretString>,
}
