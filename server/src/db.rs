//! Connecting to PostgreSQL: an external server named by URL, or Bearing's own embedded
//! cluster under the data directory.

pub mod embedded;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseArgs;
use embedded::Embedded;

/// A connected database, plus the embedded cluster when Bearing started one.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// The embedded cluster; `None` for an external server.
    pub embedded: Option<Embedded>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and, with `migrate`, applies migrations.
    pub async fn open(args: &DatabaseArgs, migrate: bool) -> anyhow::Result<Database> {
        let (options, embedded) = match args.url() {
            Some(url) => (
                PgConnectOptions::from_str(&url).context("BEARING_DATABASE_URL is not a valid PostgreSQL URL")?,
                None,
            ),
            None => {
                let cluster = Embedded::ensure(&args.data_dir, args.pg_bin.as_deref()).await?;
                (cluster.connect_options("bearing"), Some(cluster))
            }
        };
        let pool = PgPoolOptions::new()
            .max_connections(args.db_max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL")?;
        if migrate {
            crate::MIGRATOR
                .run(&pool)
                .await
                .context("applying database migrations failed")?;
        }
        Ok(Database { pool, embedded })
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            cluster.stop_if_started().await?;
        }
        Ok(())
    }
}
