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
    /// Connects (starting the embedded cluster if needed) and, with `migrate`, applies pending
    /// migrations as the owner first.
    ///
    /// The pool connects as the serving role: for the embedded cluster
    /// [`embedded::access::SERVER_ROLE`]; for an external server the user of
    /// `BEARING_DATABASE_URL`, while migrations use `BEARING_MIGRATION_DATABASE_URL` when given
    /// (see the README's "Running with least privilege" section).
    pub async fn open(args: &DatabaseArgs, migrate: bool) -> anyhow::Result<Database> {
        // Said when migrating fails as a serving role that may not.
        let mut hint = None;
        let (owner, server, embedded) = match args.url() {
            Some(url) => {
                let server = parse_url(&url, "BEARING_DATABASE_URL")?;
                let owner = match args.migration_url() {
                    Some(url) => parse_url(&url, "BEARING_MIGRATION_DATABASE_URL")?,
                    None => {
                        hint = Some(
                            "if BEARING_DATABASE_URL names a restricted serving role, apply migrations \
                             as the owner: set BEARING_MIGRATION_DATABASE_URL, or run `bearing migrate` \
                             with the owner's URL",
                        );
                        server.clone()
                    }
                };
                (owner, server, None)
            }
            None => {
                let cluster = Embedded::ensure(&args.data_dir, args.pg_bin.as_deref()).await?;
                (
                    cluster.owner_options("bearing"),
                    cluster.server_options("bearing"),
                    Some(cluster),
                )
            }
        };
        if migrate && migrations_pending(&server).await {
            let migrated = migrate_with(&owner).await;
            match hint {
                Some(hint) => migrated.context(hint)?,
                None => migrated?,
            }
        }
        let pool = app_pool_options(args.db_max_connections)
            .connect_with(server)
            .await
            .context("cannot connect to PostgreSQL")?;
        warn_if_privileged(&pool).await;
        Ok(Database { pool, embedded })
    }

    /// Connects like [`Database::open`] and applies migrations as the owner, pending or not
    /// (`bearing migrate`).
    pub async fn migrate(args: &DatabaseArgs) -> anyhow::Result<()> {
        match args.url() {
            Some(url) => {
                let owner = match args.migration_url() {
                    Some(url) => parse_url(&url, "BEARING_MIGRATION_DATABASE_URL")?,
                    None => parse_url(&url, "BEARING_DATABASE_URL")?,
                };
                migrate_with(&owner).await.context(
                    "migrations must run as the role that owns Bearing's tables (README: Running with least privilege)",
                )
            }
            None => {
                let cluster = Embedded::ensure(&args.data_dir, args.pg_bin.as_deref()).await?;
                let result = migrate_with(&cluster.owner_options("bearing")).await;
                cluster.stop_if_started().await?;
                result
            }
        }
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

fn parse_url(url: &str, name: &str) -> anyhow::Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).with_context(|| format!("{name} is not a valid PostgreSQL URL"))
}

/// The role every pooled connection acts as (created by the migrations). It may change the
/// catalog but only read the audit log and append to it through the functions
/// `audit_lock_head()` and `audit_append()`.
pub const APP_ROLE: &str = "bearing_app";

/// A pooled connection idle for longer than this is checked (a round trip) before it is handed
/// out; one in steady use is not. See [`app_pool_options`].
pub const CHECK_IF_IDLE_FOR: Duration = Duration::from_millis(50);

/// Pool settings for serving requests: every connection switches to [`APP_ROLE`] first.
///
/// sqlx checks a connection with a round trip when it goes back to the pool (always) and, by
/// default, again when it is taken out. An entity page runs about twenty queries, so the second
/// check was a third of the page's round trips to PostgreSQL (a profile of cold entity pages:
/// `ping` about 7 % of the server's CPU, each one also answered by PostgreSQL). Here only a
/// connection idle for [`CHECK_IF_IDLE_FOR`] is checked when taken out: under load connections
/// go back and out again within a millisecond, having passed the check on their way in, while one
/// idle through a database restart (which takes longer than that) fails its check and is
/// replaced instead of failing a request. What is left: a request in the first 50 ms of an
/// outage may get a connection that died meanwhile and fail, where it would have waited (up to
/// the acquire timeout) for a new one.
pub fn app_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
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

/// Whether any migration is not applied yet, as the serving role sees it. Anything it cannot
/// tell (a new database, no `bearing_app` role yet, no access) counts as pending, so the
/// migrator runs and reports what is wrong. A serving role that may not migrate can then serve
/// a database an owner migrated beforehand.
async fn migrations_pending(server: &PgConnectOptions) -> bool {
    let Ok(mut conn) = server.connect().await else {
        return true;
    };
    let applied: sqlx::Result<Vec<(i64, Vec<u8>)>> = async {
        sqlx::query("SET ROLE bearing_app").execute(&mut conn).await?;
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut conn)
            .await
    }
    .await;
    conn.close().await.ok();
    let Ok(applied) = applied else { return true };
    crate::MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .any(|m| !applied.iter().any(|(v, c)| *v == m.version && c[..] == m.checksum[..]))
}

/// Warns when the serving connection's user could do more than [`APP_ROLE`]: a superuser, or a
/// member of the role owning the tables, could `RESET ROLE` and rewrite the audit log after a
/// single injected statement.
async fn warn_if_privileged(pool: &PgPool) {
    let checked: sqlx::Result<(String, bool, bool)> = sqlx::query_as(
        "SELECT session_user::text, r.rolsuper,
                COALESCE((SELECT pg_has_role(session_user, c.relowner, 'MEMBER')
                          FROM pg_class c WHERE c.oid = to_regclass('audit_log')), false)
         FROM pg_roles r WHERE r.rolname = session_user",
    )
    .fetch_one(pool)
    .await;
    match checked {
        Ok((user, superuser, owner)) if superuser || owner => tracing::warn!(
            database.user = %user,
            "the database user Bearing serves as is {}: a single injected statement could take the \
             owner's rights and rewrite the audit log. Serve through a role that is only a member \
             of bearing_app (README: Running with least privilege)",
            if superuser { "a superuser" } else { "the owner of the tables, or a member of it" }
        ),
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "cannot check the database user's privileges"),
    }
}
