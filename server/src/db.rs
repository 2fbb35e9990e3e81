//! Connecting to PostgreSQL: an external server named by URL, or Bearing's own embedded
//! cluster under the data directory.

pub mod embedded;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

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
        if migrate {
            migrate_with(&options).await?;
        }
        let pool = app_pool_options(args.db_max_connections)
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL")?;
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

/// The role every pooled connection acts as (created by the migrations). It may change the
/// catalog but only read and append to the audit log, even when the configured user owns the
/// tables or is a superuser.
pub const APP_ROLE: &str = "bearing_app";

/// Pool settings for serving requests: every connection switches to [`APP_ROLE`] first.
pub fn app_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::query("SET ROLE bearing_app").execute(&mut *conn).await?;
                Ok(())
            })
        })
}

/// Applies the migrations on a connection of its own, as the configured user (who owns the
/// tables), not as [`APP_ROLE`].
pub async fn migrate_with(options: &PgConnectOptions) -> anyhow::Result<()> {
    let mut conn = options.connect().await.context("cannot connect to PostgreSQL")?;
    let result = crate::MIGRATOR
        .run(&mut conn)
        .await
        .context("applying database migrations failed");
    conn.close().await.ok();
    result
}
