//! A private PostgreSQL cluster under the data directory, so `bearing serve` needs no
//! database setup.
//!
//! The cluster listens only on a Unix socket inside the data directory (no TCP port to
//! collide with), is created with `initdb` on first use and started with `pg_ctl`. PostgreSQL
//! refuses to run as root, so when Bearing runs as root the cluster is owned by and run as
//! the unprivileged system user `bearing-pg`, created on demand. Any number of `bearing`
//! processes given the same data directory share the cluster; only the one that started it
//! stops it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::process::Command;

/// The unprivileged account that owns the cluster when Bearing runs as root.
const PG_USER: &str = "bearing-pg";

/// A running embedded cluster.
#[derive(Debug)]
pub struct Embedded {
    bin: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<&'static str>,
    started_here: bool,
}

impl Embedded {
    /// Creates the cluster if needed, starts it unless it already runs, and makes sure the
    /// `bearing` database exists.
    pub async fn ensure(data_dir: &Path, bin: Option<&Path>) -> anyhow::Result<Embedded> {
        let bin = match bin {
            Some(b) => b.to_owned(),
            None => find_pg_bin()?,
        };
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", data_dir.display()))?;
        let run_as = nix::unistd::geteuid().is_root().then_some(PG_USER);
        if let Some(user) = run_as {
            ensure_user(user).await?;
            chown(&data_dir, user).await?;
            ensure_reachable(&data_dir, user).await?;
        }
        let mut cluster = Embedded {
            bin,
            pgdata: data_dir.join("pgdata"),
            socket_dir: socket_dir_for(&data_dir),
            run_as,
            started_here: false,
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            tracing::info!(path = %cluster.pgdata.display(), "creating embedded PostgreSQL cluster");
            cluster
                .pg(
                    "initdb",
                    &[
                        "-D",
                        path_str(&cluster.pgdata)?,
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ],
                )
                .await?;
        }
        if !cluster.is_running().await {
            cluster.start().await?;
        }
        cluster.create_database("bearing").await?;
        Ok(cluster)
    }

    /// Options to connect to a database of this cluster through its socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username("postgres")
            .database(database)
    }

    async fn is_running(&self) -> bool {
        let Ok(pgdata) = path_str(&self.pgdata) else {
            return false;
        };
        self.command("pg_ctl", &["status", "-D", pgdata])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false)
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.socket_dir).context("cannot create the PostgreSQL socket directory")?;
        if let Some(user) = self.run_as {
            chown(&self.socket_dir, user).await?;
        }
        let log = self.pgdata.parent().unwrap_or(&self.pgdata).join("postgres.log");
        if let Some(user) = self.run_as {
            let _ = std::fs::OpenOptions::new().create(true).append(true).open(&log);
            chown(&log, user).await?;
        }
        let opts = format!(
            "-c listen_addresses='' -k {} -c max_connections=200",
            path_str(&self.socket_dir)?
        );
        tracing::info!(socket = %self.socket_dir.display(), "starting embedded PostgreSQL");
        let result = self
            .pg(
                "pg_ctl",
                &[
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    path_str(&self.pgdata)?,
                    "-l",
                    path_str(&log)?,
                    "-o",
                    &opts,
                ],
            )
            .await;
        match result {
            Ok(()) => {
                self.started_here = true;
                Ok(())
            }
            // Another bearing process may have started it at the same moment.
            Err(_) if self.is_running().await => Ok(()),
            Err(err) => Err(err.context(format!("see {} for PostgreSQL's own log", log.display()))),
        }
    }

    async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let mut conn = self
            .connect_options("postgres")
            .connect()
            .await
            .context("cannot connect to the embedded PostgreSQL")?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            // The name is a fixed identifier chosen by Bearing, never user input.
            let created = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await;
            if let Err(err) = created {
                // Lost a race with another process creating it: fine.
                let duplicate = err
                    .as_database_error()
                    .and_then(|e| e.code())
                    .is_some_and(|c| c == "42P04");
                if !duplicate {
                    return Err(err).context("cannot create the bearing database");
                }
            }
        }
        conn.close().await.ok();
        Ok(())
    }

    /// Stops the cluster if this process started it (fast shutdown: sessions are ended,
    /// committed data is safe).
    pub async fn stop_if_started(self) -> anyhow::Result<()> {
        if self.started_here {
            tracing::info!("stopping embedded PostgreSQL");
            self.pg("pg_ctl", &["stop", "-m", "fast", "-w", "-D", path_str(&self.pgdata)?])
                .await?;
        }
        Ok(())
    }

    /// Stops the cluster whoever started it (used by tests and `make`).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.started_here = true;
        self.stop_if_started().await
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.args(args);
        // Own process group: a Ctrl-C in the terminal reaches Bearing, which then shuts down
        // in order, instead of reaching PostgreSQL directly and cutting requests short.
        cmd.process_group(0);
        cmd.kill_on_drop(false);
        cmd
    }

    async fn pg(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self
            .command(program, args)
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.bin.join(program).display()))?;
        if !out.status.success() {
            bail!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(())
    }
}

/// Unix socket paths are limited to about 107 bytes; deep data directories get their socket
/// under /tmp instead, named after the data directory.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    if preferred.as_os_str().len() <= 80 {
        return preferred;
    }
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    std::env::temp_dir().join(format!("bearing-pg-{hash:016x}"))
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not valid UTF-8", p.display()))
}

/// The newest PostgreSQL under /usr/lib/postgresql (Debian's layout).
fn find_pg_bin() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).context(
        "no PostgreSQL found under /usr/lib/postgresql; install it (apt-get install postgresql) \
         or set BEARING_DATABASE_URL / BEARING_PG_BIN",
    )
}

async fn ensure_user(user: &str) -> anyhow::Result<()> {
    if nix::unistd::User::from_name(user).ok().flatten().is_some() {
        return Ok(());
    }
    tracing::info!(user, "creating system user for the embedded PostgreSQL");
    let status = Command::new("useradd")
        .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
        .status()
        .await
        .context("cannot run useradd")?;
    if !status.success() && nix::unistd::User::from_name(user).ok().flatten().is_none() {
        bail!("could not create system user {user}; PostgreSQL cannot run as root");
    }
    Ok(())
}

/// The cluster's user must be able to reach the data directory through every parent.
async fn ensure_reachable(dir: &Path, user: &str) -> anyhow::Result<()> {
    let ok = Command::new("runuser")
        .args(["-u", user, "--", "test", "-w"])
        .arg(dir)
        .status()
        .await
        .context("cannot run runuser")?
        .success();
    if !ok {
        bail!(
            "the data directory {} is not reachable by the user {user} that runs PostgreSQL \
             (a parent directory is not searchable by others); choose a --data-dir under a \
             world-searchable path, e.g. /var/lib/bearing",
            dir.display()
        );
    }
    Ok(())
}

async fn chown(path: &Path, user: &str) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(path)
        .status()
        .await
        .context("cannot run chown")?;
    if !status.success() {
        bail!("chown {user} {} failed", path.display());
    }
    Ok(())
}
