//! Who owns what under the data directory, and where the socket lives.
//!
//! ```text
//! <data dir>/            Bearing's user; 0711 when the cluster runs as bearing-pg, else 0700
//!   keys/                Bearing's user, 0700: the audit signing key, the database passwords
//!   pgdata/              the cluster's user, 0700 (initdb's rule)
//!   run/                 the cluster's user, 0700: the Unix socket
//!   postgres.log         the cluster's user, 0600
//! ```
//!
//! The socket directory is the first line of defence: no other local account can even reach
//! the socket. It is never a directory Bearing did not create or check: when the data
//! directory's path is too long for a socket path, the socket goes to a fresh directory with a
//! random name under the temporary directory, created with mode 0700 (`mkdtemp`), and other
//! Bearing processes find it in the cluster's `postmaster.pid`.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::unistd::{Gid, Uid};

/// The operating-system account the cluster runs as.
#[derive(Clone, Debug)]
pub struct ClusterUser {
    /// Account name, for `runuser`.
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
}

impl ClusterUser {
    /// The account `name`, which must exist.
    pub fn lookup(name: &str) -> anyhow::Result<ClusterUser> {
        let user = nix::unistd::User::from_name(name)
            .with_context(|| format!("cannot look up the user {name}"))?
            .with_context(|| format!("there is no user {name}"))?;
        Ok(ClusterUser {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
        })
    }
}

/// Unix socket paths are limited to 107 bytes; PostgreSQL appends `/.s.PGSQL.5432`.
const MAX_SOCKET_DIR_LEN: usize = 80;

/// Creates the data directory if needed and makes it Bearing's: owned by the current user,
/// writable by no one else, and searchable by the cluster's user when that is another account
/// (it must reach `pgdata/`). Earlier versions handed the whole directory to the cluster's user;
/// this takes it back.
pub fn secure_data_dir(dir: &Path, cluster_user: Option<&ClusterUser>) -> anyhow::Result<PathBuf> {
    create_dir_private(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let me = nix::unistd::geteuid();
    let meta = std::fs::metadata(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if meta.uid() != me.as_raw() {
        if !me.is_root() {
            bail!(
                "the data directory {} belongs to uid {}, not to the user Bearing runs as (uid {me}); \
                 choose a --data-dir of your own",
                dir.display(),
                meta.uid()
            );
        }
        std::os::unix::fs::chown(&dir, Some(me.as_raw()), None)
            .with_context(|| format!("cannot take ownership of {}", dir.display()))?;
    }
    let mode = if cluster_user.is_some() { 0o711 } else { 0o700 };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", dir.display()))?;
    Ok(dir)
}

/// Creates `dir` (and missing parents) with mode 0700 for Bearing's user; an existing one that
/// is Bearing's is made 0700 too. For `keys/`.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    create_dir_private(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if meta.is_dir() && meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (chmod 700)", dir.display()))?;
    }
    Ok(())
}

/// Creates `dir` with mode 0700 if it is missing; missing parents get the usual mode (they
/// are not Bearing's to close, and the cluster's user may have to pass through them).
fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Creates `path` as an empty file (if missing) with mode 0600, owned by the cluster's user.
pub fn cluster_file(path: &Path, cluster_user: Option<&ClusterUser>) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    if let Some(user) = cluster_user {
        chown(path, user)?;
    }
    Ok(())
}

/// Creates the directory `path` with mode 0700 for the cluster's user. An existing one must
/// belong to the cluster's user or to Bearing's (then it is handed over), and is closed to
/// everyone else.
pub fn cluster_dir(path: &Path, cluster_user: Option<&ClusterUser>) -> anyhow::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory; move it away", path.display());
    }
    let uid = cluster_uid(cluster_user);
    if meta.uid() != uid.as_raw() {
        let me = nix::unistd::geteuid();
        if meta.uid() != me.as_raw() {
            bail!(
                "{} belongs to uid {}, neither to Bearing's user nor to the cluster's; move it away",
                path.display(),
                meta.uid()
            );
        }
        if let Some(user) = cluster_user {
            chown(path, user)?;
        }
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (chmod 700)", path.display()))?;
    }
    Ok(())
}

/// Where a cluster that is not running yet gets its socket: `<data dir>/run`, or, when that
/// path is too long for a Unix socket, a new directory with a random name under the temporary
/// directory. Returns the directory and whether it is such a temporary one.
pub fn new_socket_dir(data_dir: &Path, cluster_user: Option<&ClusterUser>) -> anyhow::Result<(PathBuf, bool)> {
    let preferred = data_dir.join("run");
    if preferred.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        cluster_dir(&preferred, cluster_user)?;
        return Ok((preferred, false));
    }
    // mkdtemp: a name no one could have guessed and created first, mode 0700, ours.
    let dir = tempfile::Builder::new()
        .prefix("bearing-pg-")
        .tempdir()
        .context("cannot create a socket directory under the temporary directory")?
        .keep();
    if dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
        let _ = std::fs::remove_dir(&dir);
        bail!(
            "both the data directory {} and the temporary directory {} are too deep for a Unix \
             socket path; choose a shorter --data-dir or TMPDIR",
            data_dir.display(),
            dir.display()
        );
    }
    if let Some(user) = cluster_user {
        chown(&dir, user)?;
    }
    check_socket_dir(&dir, cluster_user)?;
    Ok((dir, true))
}

/// Refuses a socket directory that is a symlink, is not owned by the cluster's user, or that
/// anyone else may enter; an old one that is the cluster's own but too open (earlier versions
/// created it with default permissions) is closed first.
pub fn check_socket_dir(dir: &Path, cluster_user: Option<&ClusterUser>) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let uid = cluster_uid(cluster_user);
    if !meta.is_dir() || meta.uid() != uid.as_raw() {
        bail!(
            "refusing the PostgreSQL socket directory {}: it is not a directory owned by the \
             cluster's user (uid {uid}), so someone else may control it. Stop the cluster \
             (pg_ctl stop -D <data dir>/pgdata) and start Bearing again",
            dir.display()
        );
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (chmod 700)", dir.display()))?;
    }
    Ok(())
}

/// The socket directory of a running cluster, from line 5 of its `postmaster.pid`. `None`
/// while the postmaster has not written it yet.
pub fn running_socket_dir(pgdata: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let line = text.lines().nth(4)?.trim();
    (!line.is_empty()).then(|| PathBuf::from(line))
}

fn cluster_uid(cluster_user: Option<&ClusterUser>) -> Uid {
    cluster_user.map_or_else(nix::unistd::geteuid, |u| u.uid)
}

/// Gives `path` (not recursively) to the cluster's user.
pub fn chown(path: &Path, user: &ClusterUser) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .with_context(|| format!("cannot give {} to {}", path.display(), user.name))
}
