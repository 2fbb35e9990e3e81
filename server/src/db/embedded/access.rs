//! Who may connect to the embedded cluster, and as whom.
//!
//! Every connection authenticates with a password (SCRAM-SHA-256); the passwords are generated
//! on first use and kept in `<data dir>/keys/`, mode 0600, readable by Bearing's user only.
//! Two login roles exist:
//!
//! * `postgres`, the superuser, which owns the tables and applies migrations;
//! * [`SERVER_ROLE`], which the server's pool connects as: no superuser, no role creation, no
//!   membership but [`crate::db::APP_ROLE`], so a bug or an injected statement cannot take
//!   more rights than the application role has (it cannot `RESET ROLE` to the owner).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

/// The login role the serving pool connects as.
pub const SERVER_ROLE: &str = "bearing_server";

/// The cluster's superuser (initdb `-U`).
pub const SUPERUSER: &str = "postgres";

/// `pg_hba.conf` as Bearing writes it. The cluster listens on no TCP address.
pub const MANAGED_HBA: &str = "\
# Written by Bearing (server/src/db/embedded/access.rs); rewritten if changed.
# Every connection authenticates with a password (SCRAM-SHA-256). The cluster listens only on
# a Unix socket in a directory only its operating-system user can enter.
local   all   all   scram-sha-256
";

/// The passwords of the two login roles.
#[derive(Clone)]
pub struct Passwords {
    pub superuser: SecretString,
    pub server: SecretString,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords(<redacted>)")
    }
}

impl Passwords {
    /// Reads the passwords from `keys_dir`, generating the missing ones.
    pub fn load_or_generate(keys_dir: &Path) -> anyhow::Result<Passwords> {
        Ok(Passwords {
            superuser: secret_file(&keys_dir.join("pg-superuser.password"))?,
            server: secret_file(&keys_dir.join("pg-server.password"))?,
        })
    }
}

/// Reads a one-line secret, or creates the file (mode 0600, never replacing one another process
/// wrote first) with 32 random bytes in URL-safe base64.
fn secret_file(path: &Path) -> anyhow::Result<SecretString> {
    use base64::Engine;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let fresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(SecretString::from(fresh));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.mode() & 0o077 != 0 {
        bail!(
            "{} is readable by group or others (mode {:04o}); run `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o7777,
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let secret = text.trim();
    if secret.is_empty() {
        bail!(
            "{} is empty; delete it and restart to generate a new password",
            path.display()
        );
    }
    Ok(SecretString::from(secret.to_owned()))
}

/// Makes sure the cluster admits password logins only: `pg_hba.conf` is [`MANAGED_HBA`] and the
/// superuser has its password. A cluster created by an earlier version trusted every local
/// connection; it is switched over here (connecting once more under `trust`).
pub async fn require_passwords(
    pgdata: &Path,
    superuser: PgConnectOptions,
    passwords: &Passwords,
) -> anyhow::Result<()> {
    let hba = pgdata.join("pg_hba.conf");
    let current = std::fs::read_to_string(&hba).with_context(|| format!("cannot read {}", hba.display()))?;
    if current == MANAGED_HBA {
        return Ok(());
    }
    let recreate = || {
        format!(
            "to start afresh instead, stop Bearing, move {} away (Bearing's database is in it) and \
             start Bearing again: it creates a new cluster",
            pgdata.display()
        )
    };
    let mut conn = superuser.connect().await.with_context(|| {
        format!(
            "the embedded PostgreSQL in {} does not use Bearing's password authentication yet, and \
             Bearing cannot connect to it as {SUPERUSER} to switch it over; {}",
            pgdata.display(),
            recreate()
        )
    })?;
    sqlx::query("SET password_encryption = 'scram-sha-256'")
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!(
        "ALTER ROLE {SUPERUSER} PASSWORD {}",
        literal(passwords.superuser.expose_secret())
    ))
    .execute(&mut conn)
    .await
    .context("cannot set the superuser's password")?;
    // Rewritten in place: the file keeps its owner (the cluster's user) and mode.
    std::fs::write(&hba, MANAGED_HBA).with_context(|| format!("cannot write {}", hba.display()))?;
    sqlx::query("SELECT pg_reload_conf()").execute(&mut conn).await?;
    conn.close().await.ok();
    // The reload is asynchronous: return only once a wrong password is refused.
    let mut refused = false;
    for _ in 0..100 {
        match superuser.clone().password("not the password").connect().await {
            Ok(conn) => {
                conn.close().await.ok();
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    if !refused {
        bail!(
            "the embedded PostgreSQL in {} still admits connections without a password after \
             reloading {}; {}",
            pgdata.display(),
            hba.display(),
            recreate()
        );
    }
    tracing::warn!(
        path = %pgdata.display(),
        "the embedded PostgreSQL trusted every local connection; it now requires passwords"
    );
    Ok(())
}

/// Creates or repairs the application role and [`SERVER_ROLE`] (login, the password from
/// `passwords`, no privileges but membership in the application role). Serialized across
/// processes with an advisory lock: two servers starting at once must not race on the roles.
pub async fn ensure_server_role(conn: &mut PgConnection, passwords: &Passwords) -> anyhow::Result<()> {
    let app = crate::db::APP_ROLE;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('bearing: embedded roles'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL password_encryption = 'scram-sha-256'")
        .execute(&mut *tx)
        .await?;
    let exists = |name: &'static str| {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)").bind(name)
    };
    if !exists(app).fetch_one(&mut *tx).await? {
        sqlx::query(&format!("CREATE ROLE {app} NOLOGIN"))
            .execute(&mut *tx)
            .await?;
    }
    let verb = if exists(SERVER_ROLE).fetch_one(&mut *tx).await? {
        "ALTER"
    } else {
        "CREATE"
    };
    sqlx::query(&format!(
        "{verb} ROLE {SERVER_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
         INHERIT PASSWORD {}",
        literal(passwords.server.expose_secret())
    ))
    .execute(&mut *tx)
    .await
    .with_context(|| format!("cannot set up the role {SERVER_ROLE}"))?;
    // Exactly one membership: the application role.
    let others: Vec<String> = sqlx::query_scalar(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
         JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 AND g.rolname <> $2",
    )
    .bind(SERVER_ROLE)
    .bind(app)
    .fetch_all(&mut *tx)
    .await?;
    for group in others {
        sqlx::query(&format!("REVOKE \"{}\" FROM {SERVER_ROLE}", group.replace('"', "\"\"")))
            .execute(&mut *tx)
            .await?;
    }
    let member: bool = sqlx::query_scalar("SELECT pg_has_role($1, $2, 'MEMBER')")
        .bind(SERVER_ROLE)
        .bind(app)
        .fetch_one(&mut *tx)
        .await?;
    if !member {
        sqlx::query(&format!("GRANT {app} TO {SERVER_ROLE}"))
            .execute(&mut *tx)
            .await?;
    }
    // The owner (who runs the migrations) may act as the application role. Migration
    // 20261123000002 grants this too, but roles belong to the whole cluster: when several
    // databases are migrated at once (the tests), their first grants race on
    // `pg_auth_members` and all but one fail. Granted here, under the lock, theirs are no-ops.
    // (A direct look at the grants: `pg_has_role` says yes for any superuser.)
    let owner_is_member: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
         WHERE g.rolname = $1 AND m.member = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER))",
    )
    .bind(app)
    .fetch_one(&mut *tx)
    .await?;
    if !owner_is_member {
        sqlx::query(&format!("GRANT {app} TO CURRENT_USER"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A SQL string literal. Passwords are generated base64 (no quotes), but quote anyway.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
