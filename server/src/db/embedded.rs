//! A private PostgreSQL cluster under the data directory, so `bearing serve` needs no
//! database setup.
//!
//! The cluster listens only on a Unix socket in a directory only its operating-system user can
//! enter (no TCP port), is created with `initdb` on first use and started with `pg_ctl`. Every
//! connection needs a password ([`access`]). PostgreSQL refuses to run as root, so when Bearing
//! runs as root the cluster is owned by and run as the unprivileged system user `bearing-pg`,
//! created on demand; the data directory itself, and the keys in it, stay Bearing's
//! ([`layout`]). Any number of `bearing` processes given the same data directory share the
//! cluster; only the one that started it stops it.

pub mod access;
pub mod layout;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::process::Command;

use access::{Passwords, SERVER_ROLE, SUPERUSER};
use layout::ClusterUser;

/// The unprivileged account that owns the cluster when Bearing runs as root.
pub const PG_USER: &str = "bearing-pg";

/// A running embedded cluster.
#[derive(Debug)]
pub struct Embedded {
    bin: PathBuf,
    data_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    /// The socket directory is a temporary one of this process's making, removed on stop.
    temporary_socket_dir: bool,
    run_as: Option<ClusterUser>,
    passwords: Passwords,
    started_here: bool,
}

impl Embedded {
    /// Creates the cluster if needed, starts it unless it already runs, and makes sure the
    /// `bearing` database and the login roles exist and that only password logins are accepted.
    pub async fn ensure(data_dir: &Path, bin: Option<&Path>) -> anyhow::Result<Embedded> {
        let bin = match bin {
            Some(b) => b.to_owned(),
            None => find_pg_bin()?,
        };
        let run_as = if nix::unistd::geteuid().is_root() {
            ensure_user(PG_USER).await?;
            Some(ClusterUser::lookup(PG_USER)?)
        } else {
            None
        };
        let data_dir = layout::secure_data_dir(data_dir, run_as.as_ref())?;
        if let Some(user) = &run_as {
            ensure_reachable(&data_dir, &user.name).await?;
        }
        let keys = data_dir.join("keys");
        layout::private_dir(&keys)?;
        let passwords = Passwords::load_or_generate(&keys)?;
        let mut cluster = Embedded {
            bin,
            pgdata: data_dir.join("pgdata"),
            data_dir,
            socket_dir: PathBuf::new(),
            temporary_socket_dir: false,
            run_as,
            passwords,
            started_here: false,
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.init().await?;
        }
        if cluster.is_running().await {
            cluster.find_running_socket_dir().await?;
        } else {
            cluster.start().await?;
        }
        access::require_passwords(&cluster.pgdata, cluster.owner_options("postgres"), &cluster.passwords).await?;
        cluster.create_database("bearing").await?;
        let mut conn = cluster
            .owner_options("postgres")
            .connect()
            .await
            .context("cannot connect to the embedded PostgreSQL")?;
        access::ensure_server_role(&mut conn, &cluster.passwords).await?;
        conn.close().await.ok();
        Ok(cluster)
    }

    /// `initdb` with password authentication; the superuser's password is handed over in a
    /// file only the cluster's user can read, removed right after.
    async fn init(&self) -> anyhow::Result<()> {
        tracing::info!(path = %self.pgdata.display(), "creating embedded PostgreSQL cluster");
        layout::cluster_dir(&self.pgdata, self.run_as.as_ref())?;
        let pwfile = self
            .data_dir
            .join(format!(".initdb-pw-{}", uuid::Uuid::new_v4().simple()));
        let result = self.initdb_with(&pwfile).await;
        let _ = std::fs::remove_file(&pwfile);
        result?;
        let hba = self.pgdata.join("pg_hba.conf");
        std::fs::write(&hba, access::MANAGED_HBA).with_context(|| format!("cannot write {}", hba.display()))
    }

    async fn initdb_with(&self, pwfile: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(pwfile)
            .and_then(|mut f| writeln!(f, "{}", self.passwords.superuser.expose_secret()))
            .with_context(|| format!("cannot write {}", pwfile.display()))?;
        if let Some(user) = &self.run_as {
            layout::chown(pwfile, user)?;
        }
        self.pg(
            "initdb",
            &[
                "-D",
                path_str(&self.pgdata)?,
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                &format!("--pwfile={}", path_str(pwfile)?),
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        .await
    }

    /// Options to connect to a database of this cluster as its superuser, which owns the
    /// tables and applies migrations.
    pub fn owner_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username(SUPERUSER)
            .password(self.passwords.superuser.expose_secret())
            .database(database)
    }

    /// Options to connect to a database of this cluster as [`SERVER_ROLE`], the role the
    /// server's pool uses: no superuser, a member of [`crate::db::APP_ROLE`] only.
    pub fn server_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username(SERVER_ROLE)
            .password(self.passwords.server.expose_secret())
            .database(database)
    }

    /// The directory holding the cluster's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The directory with PostgreSQL's programs (`psql` among them).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The operating-system user the cluster runs as, when it is not Bearing's own.
    pub fn cluster_user(&self) -> Option<&str> {
        self.run_as.as_ref().map(|u| u.name.as_str())
    }

    /// Reads the running cluster's socket directory from `postmaster.pid` (waiting a little
    /// for a postmaster that is still starting) and checks it.
    async fn find_running_socket_dir(&mut self) -> anyhow::Result<()> {
        for _ in 0..100 {
            if let Some(dir) = layout::running_socket_dir(&self.pgdata) {
                if dir.join(".s.PGSQL.5432").exists() {
                    layout::check_socket_dir(&dir, self.run_as.as_ref())?;
                    self.socket_dir = dir;
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the embedded PostgreSQL in {} runs but names no socket in its postmaster.pid; stop it              (pg_ctl stop -D {}) and start Bearing again",
            self.pgdata.display(),
            self.pgdata.display()
        )
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
        let (socket_dir, temporary) = layout::new_socket_dir(&self.data_dir, self.run_as.as_ref())?;
        self.socket_dir = socket_dir;
        self.temporary_socket_dir = temporary;
        let log = self.data_dir.join("postgres.log");
        layout::cluster_file(&log, self.run_as.as_ref())?;
        let opts = format!(
            "-c listen_addresses='' -k {} -c unix_socket_permissions=0700 -c max_connections=200",
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
            // Another bearing process may have started it at the same moment: use its socket.
            Err(_) if self.is_running().await => {
                self.remove_temporary_socket_dir();
                self.find_running_socket_dir().await
            }
            Err(err) => {
                self.remove_temporary_socket_dir();
                Err(err.context(format!("see {} for PostgreSQL's own log", log.display())))
            }
        }
    }

    fn remove_temporary_socket_dir(&mut self) {
        if std::mem::take(&mut self.temporary_socket_dir) {
            // Empty once PostgreSQL has removed its socket and lock file.
            let _ = std::fs::remove_dir(&self.socket_dir);
        }
    }

    async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let mut conn = self
            .owner_options("postgres")
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
    pub async fn stop_if_started(mut self) -> anyhow::Result<()> {
        if self.started_here {
            tracing::info!("stopping embedded PostgreSQL");
            self.pg("pg_ctl", &["stop", "-m", "fast", "-w", "-D", path_str(&self.pgdata)?])
                .await?;
            self.remove_temporary_socket_dir();
        }
        Ok(())
    }

    /// Stops the cluster whoever started it (used by tests and `make`).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.started_here = true;
        if layout::running_socket_dir(&self.pgdata).is_some_and(|dir| dir.starts_with(std::env::temp_dir())) {
            self.temporary_socket_dir = true;
        }
        self.stop_if_started().await
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", &user.name, "--"]).arg(exe);
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
        .args(["-u", user, "--", "test", "-x"])
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
