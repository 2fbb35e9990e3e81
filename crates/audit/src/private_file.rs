//! Refusing a signing key that someone besides the server could read or replace.

use std::fs;
use std::path::Path;

use crate::AuditError;

/// Checks that the key file at `path` is private: a regular file with no permissions for group
/// or others, owned by one of `trusted_owners` (the uid the server runs as, and root), in a
/// directory owned by one of them that group and others cannot write to.
///
/// Whoever can read the key can re-sign a rewritten log, and whoever can replace it (by owning
/// the file or writing its directory) can make the server sign with a key of theirs. Database
/// administrators are the case in point: PostgreSQL's superuser reads any file its operating
/// system user can read (`pg_read_file()`), so the key must not be readable by that user.
///
/// Symbolic links are followed (secret mounts use them); the file and directory checked are the
/// ones the link resolves to.
#[cfg(unix)]
pub fn check_private_key_file(path: &Path, trusted_owners: &[u32]) -> Result<(), AuditError> {
    use std::os::unix::fs::MetadataExt;

    let unreadable = |source| AuditError::KeyFileUnreadable {
        path: path.to_owned(),
        source,
    };
    let exposed = |problem: String| AuditError::KeyFileExposed {
        path: path.to_owned(),
        problem,
    };
    let real = fs::canonicalize(path).map_err(unreadable)?;
    let meta = fs::metadata(&real).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(exposed("it is not a regular file".into()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(exposed(format!(
            "group or others have access to it (mode {mode:04o}); run `chmod 600 {}`",
            real.display()
        )));
    }
    if !trusted_owners.contains(&meta.uid()) {
        return Err(exposed(format!(
            "it is owned by uid {}, not by the user the server runs as ({}); that user can read it",
            meta.uid(),
            describe(trusted_owners)
        )));
    }
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("/"),
    };
    let dir_meta = fs::metadata(dir).map_err(unreadable)?;
    if !trusted_owners.contains(&dir_meta.uid()) {
        return Err(exposed(format!(
            "its directory {} is owned by uid {}, who could replace the key; keep it in a \
             directory owned by the server's user ({})",
            dir.display(),
            dir_meta.uid(),
            describe(trusted_owners)
        )));
    }
    let dir_mode = dir_meta.mode() & 0o7777;
    if dir_mode & 0o022 != 0 {
        return Err(exposed(format!(
            "its directory {} is writable by group or others (mode {dir_mode:04o}), who could \
             replace the key; run `chmod go-w {}`",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn describe(uids: &[u32]) -> String {
    let list: Vec<String> = uids.iter().map(|u| format!("uid {u}")).collect();
    list.join(" or ")
}
