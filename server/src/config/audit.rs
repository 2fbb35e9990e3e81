//! The audit log's signing key and checkpoint policy.
//!
//! The key must stay out of reach of the database: whoever holds it can rewrite the log and
//! re-sign every checkpoint. PostgreSQL's superuser reads any file its operating-system user can
//! read (`pg_read_file()`), so the key lives in `<data dir>/keys/`, owned by the user Bearing
//! runs as with mode 0700, while the embedded cluster runs as `bearing-pg`; a key file that
//! anyone else can read or replace is refused.
//!
//! Where secrets reach a process as environment variables (a Kubernetes Secret), the key can be
//! given as `BEARING_SIGNING_KEY` instead: a mounted Secret file is either root's and unreadable
//! by a non-root user (mode 0400) or readable by the pod's group (0440 with `fsGroup`), which the
//! file check rightly refuses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use app::ssr::AuditSettings;
use bearing_audit::SigningKey;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

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

    /// The Ed25519 key itself (PKCS#8 PEM), instead of a file: for platforms that hand secrets
    /// to a process in its environment, such as a Kubernetes Secret (docs/operations.md). Set it
    /// in the environment only (a command line is visible to every local user). Nothing is
    /// written: no key is generated and no `.pub` file is made.
    #[arg(long, env = "BEARING_SIGNING_KEY", hide_env_values = true, conflicts_with = "signing_key_file",
          allow_hyphen_values = true, value_parser = parse_secret)]
    pub signing_key: Option<SecretString>,

    /// Sign a checkpoint of the audit chain in the appending transaction every this many rows.
    #[arg(long, env = "BEARING_AUDIT_CHECKPOINT_ROWS", default_value_t = 100)]
    pub audit_checkpoint_rows: u32,

    /// Cover every appended audit row with a signed checkpoint within about this long. Rows
    /// after the last checkpoint could be deleted from the end undetected.
    #[arg(long, env = "BEARING_AUDIT_CHECKPOINT_INTERVAL", default_value = "60s", value_parser = parse_interval)]
    pub audit_checkpoint_interval: Duration,
}

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
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
        let key = match self.key_from_env()? {
            Some(key) => key,
            None => {
                let path = self.prepare(data_dir)?;
                if path.exists() {
                    check_private(&path)?;
                }
                let key = SigningKey::load_or_generate(&path)
                    .with_context(|| format!("audit signing key {}", path.display()))?;
                check_private(&path)?;
                key
            }
        };
        tracing::debug!(key_id = %key.key_id(), source = %self.describe_source(data_dir), "audit signing key");
        Ok(AuditSettings {
            key: std::sync::Arc::new(key),
            checkpoint_rows: i64::from(self.audit_checkpoint_rows.max(1)),
            checkpoint_interval: self.audit_checkpoint_interval,
        })
    }

    /// Loads the existing signing key, never creating one (for verification: a new key would
    /// only report every checkpoint as signed by another key). Returns the key and where it
    /// came from, for people.
    pub fn load_existing(&self, data_dir: &Path) -> anyhow::Result<(SigningKey, String)> {
        if let Some(key) = self.key_from_env()? {
            return Ok((key, self.describe_source(data_dir)));
        }
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
        Ok((key, path.display().to_string()))
    }

    /// The key given in `BEARING_SIGNING_KEY`, if any.
    fn key_from_env(&self) -> anyhow::Result<Option<SigningKey>> {
        let Some(pem) = &self.signing_key else {
            return Ok(None);
        };
        SigningKey::from_pem(pem.expose_secret())
            .map(Some)
            .context("BEARING_SIGNING_KEY (--signing-key) is not an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)")
    }

    /// Where the key comes from, in words: `BEARING_SIGNING_KEY` or the file's path.
    pub fn describe_source(&self, data_dir: &Path) -> String {
        match self.signing_key {
            Some(_) => "BEARING_SIGNING_KEY".into(),
            None => self.key_path(data_dir).display().to_string(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        audit: AuditArgs,
    }

    /// A key in a file the way `bearing serve` writes one, and its PEM text.
    fn key_pem() -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let key = SigningKey::load_or_generate(&path).unwrap();
        (dir, std::fs::read_to_string(&path).unwrap(), key.fingerprint())
    }

    /// Kubernetes hands the key over as an environment variable: it is used as given, and
    /// nothing is created (the container's root filesystem is read-only).
    #[test]
    fn a_key_from_the_environment_is_used_and_nothing_is_written() {
        let (_keep, pem, fingerprint) = key_pem();
        let flags = Flags::try_parse_from(["bearing", "--signing-key", &pem]).unwrap();
        let data = tempfile::tempdir().unwrap();
        let data_dir = data.path().join("data");
        let settings = flags.audit.load(&data_dir).unwrap();
        assert_eq!(settings.key.fingerprint(), fingerprint);
        let (key, source) = flags.audit.load_existing(&data_dir).unwrap();
        assert_eq!(key.fingerprint(), fingerprint);
        assert_eq!(source, "BEARING_SIGNING_KEY");
        assert!(!data_dir.exists(), "the data directory was created");
    }

    #[test]
    fn a_key_from_the_environment_that_is_no_key_is_refused_by_name() {
        let flags = Flags::try_parse_from(["bearing", "--signing-key", "not a key"]).unwrap();
        let err = flags.audit.load(Path::new("/nonexistent")).unwrap_err();
        assert!(format!("{err:#}").contains("BEARING_SIGNING_KEY"), "{err:#}");
    }

    #[test]
    fn a_key_and_a_key_file_together_are_refused() {
        let (_keep, pem, _) = key_pem();
        let both = Flags::try_parse_from(["bearing", "--signing-key", &pem, "--signing-key-file", "/k.pem"]);
        let kind = both.err().map(|e| e.kind());
        assert_eq!(
            kind,
            Some(clap::error::ErrorKind::ArgumentConflict),
            "two keys: which one signs?"
        );
    }
}
