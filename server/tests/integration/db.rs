//! The embedded PostgreSQL is Bearing's alone: other local accounts cannot reach it, every
//! connection needs a password, the serving role cannot take the owner's rights, and clusters
//! made by earlier versions (trusting every local connection) are switched over.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use sqlx::{ConnectOptions, Connection};

use crate::util::{cluster, fresh_db, repo_root};

/// Tests that need a second operating-system account run as root (as they do here).
fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipping {test}: it needs root, to act as another local user (runuser -u nobody)");
    }
    root
}

/// `psql` against the test cluster's socket, as `user` (via runuser) or as this process.
fn psql(as_user: Option<&str>, role: &str) -> std::process::Output {
    let c = cluster();
    let psql = c.bin_dir.join("psql");
    let mut cmd = match as_user {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", user, "--"]).arg(psql);
            cmd
        }
        None => Command::new(psql),
    };
    cmd.arg("-h")
        .arg(&c.socket_dir)
        .args(["-U", role, "-d", "postgres", "-w", "-X", "-c", "SELECT 1"])
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .output()
        .expect("run psql")
}

#[test]
fn another_local_user_cannot_connect() {
    if !root_or_skip("another_local_user_cannot_connect") {
        return;
    }
    let c = cluster();
    // `nobody` can walk up to the socket's directory (PostgreSQL's own user must, too) ...
    let data_dir = c.socket_dir.parent().expect("socket dir has a parent");
    let reach = Command::new("runuser")
        .args(["-u", "nobody", "--", "test", "-x"])
        .arg(data_dir)
        .status()
        .expect("runuser");
    assert!(reach.success(), "nobody cannot even reach {}", data_dir.display());
    // ... but not into it, as any role.
    for role in ["postgres", "bearing_server"] {
        let out = psql(Some("nobody"), role);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "nobody connected as {role}");
        assert!(stderr.contains("Permission denied"), "{role}: {stderr}");
    }
    let meta = std::fs::metadata(&c.socket_dir).expect("socket dir");
    assert_eq!(meta.mode() & 0o777, 0o700, "socket directory mode");
}

#[test]
fn every_connection_needs_a_password() {
    if !root_or_skip("every_connection_needs_a_password") {
        return;
    }
    // Root reaches the socket; without the password it still gets nowhere.
    for role in ["postgres", "bearing_server"] {
        let out = psql(None, role);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "connected as {role} without a password");
        assert!(stderr.contains("no password supplied"), "{role}: {stderr}");
    }
}

/// An error from running `sql` on `conn`; panics if it succeeded.
async fn refused(conn: &mut sqlx::PgConnection, sql: &str) -> String {
    match sqlx::query(sql).execute(&mut *conn).await {
        Ok(_) => panic!("the serving role may run: {sql}"),
        Err(err) => err.to_string(),
    }
}

#[tokio::test]
async fn the_serving_role_cannot_take_the_owners_rights() {
    let (pool, _owner) = fresh_db().await;
    let mut conn = pool.acquire().await.expect("connection").detach();
    for reset in [false, true] {
        if reset {
            // The login role underneath is no superuser and no member of the owner either.
            sqlx::query("RESET ROLE").execute(&mut conn).await.expect("reset role");
        }
        let (user, superuser, owner): (String, bool, bool) = sqlx::query_as(
            "SELECT current_user::text, r.rolsuper, pg_has_role(current_user, c.relowner, 'MEMBER')
             FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = 'audit_log'::regclass",
        )
        .fetch_one(&mut conn)
        .await
        .expect("who am I");
        assert_eq!(user, if reset { "bearing_server" } else { "bearing_app" });
        assert!(!superuser && !owner, "{user}: superuser {superuser}, owner {owner}");
        for (sql, expected) in [
            ("SET ROLE postgres", "permission denied to set role"),
            (
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                "must be owner",
            ),
            (
                "SET session_replication_role = replica",
                "permission denied to set parameter",
            ),
            (
                "UPDATE audit_head SET seq = 0",
                "permission denied for table audit_head",
            ),
            (
                "INSERT INTO audit_log (seq, at, actor, actor_kind, action, prev_hash, hash)
                 VALUES (1, now(), 'mallory', 'user', 'x', '\\x00', '\\x00')",
                "permission denied for table audit_log",
            ),
            ("DELETE FROM audit_checkpoints", "permission denied"),
            (
                "SELECT pg_read_file('PG_VERSION')",
                "permission denied for function pg_read_file",
            ),
            ("COPY audit_log FROM '/etc/hostname'", "pg_read_server_files"),
            (
                "SELECT lo_import('/etc/hostname')",
                "permission denied for function lo_import",
            ),
            ("CREATE TABLE mine (a int)", "permission denied for schema"),
            ("ALTER ROLE bearing_server SUPERUSER", "must be superuser"),
        ] {
            let err = refused(&mut conn, sql).await;
            assert!(err.contains(expected), "{user}: {sql}: {err}");
        }
    }
    conn.close().await.ok();
}

/// The serving role appends only through `audit_append()`, which takes a row only right after
/// the head it locked.
#[tokio::test]
async fn audit_rows_only_follow_the_head() {
    let (pool, _owner) = fresh_db().await;
    let mut tx = pool.begin().await.expect("begin");
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM audit_lock_head()")
        .fetch_one(&mut *tx)
        .await
        .expect("lock head");
    assert_eq!(seq, 0);
    let append = |seq: i64, prev: Vec<u8>| {
        sqlx::query(
            "SELECT audit_append($1, now(), 'mallory', 'user', 'x', NULL, NULL, NULL, NULL, NULL, NULL, $2, $3)",
        )
        .bind(seq)
        .bind(prev)
        .bind(vec![7u8; 32])
    };
    let mut savepoint = tx.begin().await.expect("savepoint");
    let err = append(5, hash.clone()).execute(&mut *savepoint).await.unwrap_err();
    assert!(err.to_string().contains("does not follow the chain head"), "{err}");
    drop(savepoint);
    let mut savepoint = tx.begin().await.expect("savepoint");
    let err = append(1, vec![1u8; 32]).execute(&mut *savepoint).await.unwrap_err();
    assert!(err.to_string().contains("does not follow the chain head"), "{err}");
    drop(savepoint);
    append(1, hash).execute(&mut *tx).await.expect("the next row");
    let head: (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM audit_head")
        .fetch_one(&mut *tx)
        .await
        .expect("head");
    assert_eq!(head, (1, vec![7u8; 32]), "the head moved with the row");
}

/// The socket path Bearing used before for deep data directories: predictable, so another
/// user could create it first.
fn old_predictable_socket_dir(data_dir: &Path) -> std::path::PathBuf {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    std::env::temp_dir().join(format!("bearing-pg-{hash:016x}"))
}

#[tokio::test]
async fn a_deep_data_dir_gets_a_fresh_private_socket_dir() {
    let dir = tempfile::tempdir_in(repo_root().join("target")).expect("dir");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let data = dir
        .path()
        .join("a-data-directory-whose-path-is-too-long-for-a-unix-socket-path");
    std::fs::create_dir_all(&data).expect("mkdir");
    let data = data.canonicalize().expect("canonical");
    assert!(data.join("run").as_os_str().len() > 80);
    // Someone else got there first, at the name Bearing used to pick.
    let squatted = old_predictable_socket_dir(&data);
    std::fs::create_dir_all(&squatted).expect("squat");
    let _cleanup = RemoveDirOnDrop(squatted.clone());
    std::fs::set_permissions(&squatted, std::os::unix::fs::PermissionsExt::from_mode(0o777)).expect("chmod");

    let cluster = server::db::embedded::Embedded::ensure(&data, None)
        .await
        .expect("cluster");
    let socket_dir = cluster.socket_dir().to_owned();
    assert!(socket_dir.starts_with(std::env::temp_dir()), "{}", socket_dir.display());
    assert_ne!(socket_dir, squatted);
    let meta = std::fs::symlink_metadata(&socket_dir).expect("socket dir");
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o777, 0o700);
    let expected_owner = match cluster.cluster_user() {
        Some(name) => nix::unistd::User::from_name(name).unwrap().unwrap().uid.as_raw(),
        None => nix::unistd::geteuid().as_raw(),
    };
    assert_eq!(meta.uid(), expected_owner);
    assert_eq!(
        std::fs::read_dir(&squatted).expect("squatted dir").count(),
        0,
        "the squatted directory was used"
    );
    // A second process finds the same socket through postmaster.pid.
    let second = server::db::embedded::Embedded::ensure(&data, None)
        .await
        .expect("second process");
    assert_eq!(second.socket_dir(), socket_dir);
    let conn = second.server_options("bearing").connect().await.expect("connect");
    conn.close().await.ok();
    drop(second);
    cluster.stop().await.expect("stop");
    assert!(
        !socket_dir.exists(),
        "the temporary socket directory is removed on stop"
    );
}

/// Removes an (empty) directory the test made outside its temporary directory, pass or fail.
struct RemoveDirOnDrop(std::path::PathBuf);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A cluster as earlier versions made it: the whole data directory handed to the cluster's
/// user, `initdb --auth=trust`, the socket in `<data>/run` with default permissions, the audit
/// key in the data directory. It is switched to passwords and the key moves to `keys/`.
#[tokio::test]
async fn a_cluster_that_trusted_local_connections_is_switched_to_passwords() {
    if !root_or_skip("a_cluster_that_trusted_local_connections_is_switched_to_passwords") {
        return;
    }
    let dir = tempfile::tempdir_in(repo_root().join("target")).expect("dir");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("data");
    let bin = cluster().bin_dir;
    // Makes sure bearing-pg exists (the shared test cluster created it).
    let pg_user = "bearing-pg";
    std::fs::create_dir_all(data.join("run")).expect("mkdir");
    let old_key = bearing_audit::SigningKey::load_or_generate(&data.join("audit-signing-key.pem")).expect("key");
    let run = |args: &[&str]| {
        let out = Command::new("runuser")
            .args(["-u", pg_user, "--"])
            .args(args)
            .output()
            .expect("runuser");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert!(Command::new("chown")
        .args(["-R", &format!("{pg_user}:")])
        .arg(&data)
        .status()
        .unwrap()
        .success());
    let pgdata = data.join("pgdata");
    let initdb = bin.join("initdb");
    let pg_ctl = bin.join("pg_ctl");
    run(&[
        initdb.to_str().unwrap(),
        "-D",
        pgdata.to_str().unwrap(),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]);
    let opts = format!("-c listen_addresses='' -k {}", data.join("run").display());
    let log = data.join("postgres.log");
    run(&[
        pg_ctl.to_str().unwrap(),
        "start",
        "-w",
        "-D",
        pgdata.to_str().unwrap(),
        "-l",
        log.to_str().unwrap(),
        "-o",
        &opts,
    ]);

    let nobody_psql = || {
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(bin.join("psql"))
            .arg("-h")
            .arg(data.join("run"))
            .args(["-U", "postgres", "-d", "postgres", "-w", "-X", "-c", "SELECT 1"])
            .output()
            .expect("psql")
    };
    let before = nobody_psql();
    assert!(
        before.status.success(),
        "the old layout let any local user in as superuser: {}",
        String::from_utf8_lossy(&before.stderr)
    );

    let cluster = server::db::embedded::Embedded::ensure(&data, None)
        .await
        .expect("switch the old cluster over");
    let after = nobody_psql();
    assert!(!after.status.success(), "another local user still gets in");
    assert_eq!(
        std::fs::read_to_string(pgdata.join("pg_hba.conf")).unwrap(),
        server::db::embedded::access::MANAGED_HBA
    );
    assert_eq!(std::fs::metadata(data.join("run")).unwrap().mode() & 0o777, 0o700);
    let data_meta = std::fs::metadata(&data).unwrap();
    assert_eq!((data_meta.uid(), data_meta.mode() & 0o777), (0, 0o711));
    // Passwords work, their absence does not.
    for options in [cluster.owner_options("bearing"), cluster.server_options("bearing")] {
        let conn = options.connect().await.expect("password login");
        conn.close().await.ok();
        let wrong = options.password("wrong").connect().await;
        assert!(wrong.is_err(), "a wrong password was accepted");
    }

    // The key moves out of the database's reach, unchanged.
    let args = audit_args();
    let settings = args.load(&data).expect("load the moved key");
    assert_eq!(settings.key.fingerprint(), old_key.fingerprint());
    assert!(!data.join("audit-signing-key.pem").exists());
    let moved = data.join("keys/audit-signing-key.pem");
    let meta = std::fs::metadata(&moved).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    assert_eq!(std::fs::metadata(data.join("keys")).unwrap().mode() & 0o777, 0o700);
    cluster.stop().await.expect("stop");
}

/// Default audit flags.
pub fn audit_args() -> server::config::AuditArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        a: server::config::AuditArgs,
    }
    P::parse_from(["test"]).a
}

/// The pool hands out a connection without checking it when it was in use a moment ago
/// (`server::db::CHECK_IF_IDLE_FOR`), but checks one idle for longer: a connection that died
/// meanwhile (here its backend is terminated, as a database restart does) is replaced, not
/// handed to the next request.
#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_before_use() {
    let (_, superuser) = fresh_db().await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&superuser)
        .await
        .unwrap();
    let pool = server::db::app_pool_options(1)
        .connect_with(cluster().server.database(&database))
        .await
        .unwrap();
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(backend)
        .fetch_one(&superuser)
        .await
        .unwrap();
    assert!(terminated);
    tokio::time::sleep(server::db::CHECK_IF_IDLE_FOR * 2).await;
    let replaced: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("the dead connection is checked and replaced, and the query runs");
    assert_ne!(replaced, backend, "a new connection");
}
