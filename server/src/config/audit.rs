//! The audit log's signing key and checkpoint policy.
//!
//! The key must stay out of reach of the database: whoever holds it can rewrite the log and
//! re-sign every checkpoint. PostgreSQL's superuser reads any file its operating-system user can
//! read (`pg_read_file()`), so the key lives in `<data dir>/keys/`, owned by the user Bearing
//! runs as with mode 0700, while the embedded cluster runs as `bearing-pg`; a key file that
//! anyone else can read or replace is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use app::ssr::AuditSettings;
use bearing_audit::SigningKey;
use clap::Args;

/// Where the key lives inside the data directory, unless `--signing-key-file` says otherwise.
const KEYS_DIR: &str = "keys";
const KEY_FILE: &str = "audit-signing-key.pem";

/// The audit log's signing key and checkpoint policy. Every command that changes state
/// writes audit rows, and so needs the key.
#[derive(Clone, Debug, Args)]
pub struct AuditArgs {
    /// Ed25519 key (PKCS#8 PEM) that signs audit checkpoints. Default:
    /// `<data dir>/keys/audit-signing-key.pem`, generated on first start. Must be readable by
    /// Bearing's user only (mode 0600, in a directory only that user can write).
    #[arg(long, env = "BEARING_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,

    /// Sign a checkpoint of the audit chain in the appending transaction every this many rows.
    #[arg(long, env = "BEARING_AUDIT_CHECKPOINT_ROWS", default_value_t = 100)]
    pub audit_checkpoint_rows: u32,

    /// Cover every appended audit row with a signed checkpoint within about this long. Rows
    /// after the last checkpoint could be deleted from the end undetected.
    #[arg(long, env = "BEARING_AUDIT_CHECKPOINT_INTERVAL", default_value = "60s", value_parser = parse_interval)]
    pub audit_checkpoint_interval: Duration,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if interval.is_zero() {
        return Err("must be more than 0s, e.g. 60s".into());
    }
    Ok(interval)
}

impl AuditArgs {
    /// The key file: `--signing-key-file`, or `keys/audit-signing-key.pem` in `data_dir`.
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        self.signing_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(KEYS_DIR).join(KEY_FILE))
    }

    /// Loads the signing key (generating it on first use) into audit settings, after checking
    /// that no one but Bearing's user can read or replace it.
    pub fn load(&self, data_dir: &Path) -> anyhow::Result<AuditSettings> {
        let path = self.prepare(data_dir)?;
        if path.exists() {
            check_private(&path)?;
        }
        let key =
            SigningKey::load_or_generate(&path).with_context(|| format!("audit signing key {}", path.display()))?;
        check_private(&path)?;
        tracing::debug!(key_id = %key.key_id(), path = %path.display(), "audit signing key");
        Ok(AuditSettings {
            key: std::sync::Arc::new(key),
            checkpoint_rows: i64::from(self.audit_checkpoint_rows.max(1)),
            checkpoint_interval: self.audit_checkpoint_interval,
        })
    }

    /// Loads the existing signing key, never creating one (for verification: a new key would
    /// only report every checkpoint as signed by another key). Returns the key and its path.
    pub fn load_existing(&self, data_dir: &Path) -> anyhow::Result<(SigningKey, PathBuf)> {
        let path = self.prepare(data_dir)?;
        if !path.exists() {
            bail!(
                "there is no audit signing key at {}; pass the data directory the server uses \
                 (--data-dir), its key (--signing-key-file), or a copy of the public key \
                 (--public-key FILE)",
                path.display()
            );
        }
        check_private(&path)?;
        let key = SigningKey::from_pem_file(&path)?;
        Ok((key, path))
    }

    /// The key's path, with the default directory created (mode 0700) and a key from the old
    /// default place moved into it.
    fn prepare(&self, data_dir: &Path) -> anyhow::Result<PathBuf> {
        let path = self.key_path(data_dir);
        if self.signing_key_file.is_none() {
            let dir = data_dir.join(KEYS_DIR);
            crate::db::embedded::layout::private_dir(&dir)?;
            adopt_legacy_key(&data_dir.join(KEY_FILE), &path)?;
        }
        Ok(path)
    }
}

/// Before the key had a directory of its own it sat in the data directory, which was handed to
/// the database's user: move it (and its `.pub`) to `path` and make it Bearing's own.
fn adopt_legacy_key(old: &Path, path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() || !old.exists() {
        return Ok(());
    }
    let me = nix::unistd::geteuid().as_raw();
    let moves = [
        (old.to_owned(), path.to_owned(), 0o600),
        (
            bearing_audit::public_key_path(old),
            bearing_audit::public_key_path(path),
            0o644,
        ),
    ];
    for (from, to, mode) in moves {
        if !from.exists() {
            continue;
        }
        std::fs::rename(&from, &to).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
        std::os::unix::fs::chown(&to, Some(me), None).with_context(|| format!("cannot chown {}", to.display()))?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot chmod {}", to.display()))?;
    }
    tracing::warn!(
        from = %old.display(),
        to = %path.display(),
        "moved the audit signing key out of the database's reach; until now the database's \
         operating-system user could read it, so checkpoints signed so far prove less if anyone \
         else had superuser access to the embedded database"
    );
    Ok(())
}

/// [`bearing_audit::check_private_key_file`] for the user Bearing runs as (and root), naming
/// the database's operating-system user when it is the one that owns the key.
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let trusted: Vec<u32> = if me == 0 { vec![0] } else { vec![me, 0] };
    let Err(err) = bearing_audit::check_private_key_file(path, &trusted) else {
        return Ok(());
    };
    let owner = std::fs::metadata(path).map(|m| m.uid()).ok();
    let owner_name = owner
        .and_then(|uid| nix::unistd::User::from_uid(uid.into()).ok().flatten())
        .map(|u| u.name);
    match owner_name.as_deref() {
        Some(name @ (crate::db::embedded::PG_USER | "postgres")) => Err(err).context(format!(
            "refusing the audit signing key: it belongs to `{name}`, the user PostgreSQL runs as, \
             so a database superuser could read it with pg_read_file() and re-sign a rewritten log; \
             move it to a directory only Bearing's user can read and `chown` it to that user"
        )),
        _ => Err(err).context("refusing the audit signing key"),
    }
}
