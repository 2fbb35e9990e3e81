//! The `bearing` binary itself: help, import with problems, import into an embedded cluster.

use std::process::Command;

fn bearing() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bearing"))
}

#[test]
fn help_names_every_environment_variable() {
    let out = bearing().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in ["BEARING_LISTEN", "BEARING_DATABASE_URL", "BEARING_DATA_DIR"] {
        assert!(help.contains(var), "serve --help mentions {var}:\n{help}");
    }
    let out = bearing().args(["import", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("BEARING_IMPORT_DRY_RUN"));
}

#[test]
fn import_into_a_data_dir_then_reject_a_bad_file() {
    let dir = tempfile::tempdir_in(crate::util::repo_root().join("target")).unwrap();
    let data = dir.path().join("data");
    let out = bearing()
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(crate::util::repo_root().join("examples"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("added component:default/checkout"), "{stdout}");

    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid\n",
    )
    .unwrap();
    let out = bearing()
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(dir.path().join("bad.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:4:"), "file:line:column: {stderr}");
    assert!(stderr.contains("nothing was changed"));

    // The cluster was started by the import and stopped again: a second import restarts it.
    let out = bearing()
        .args(["import", "--dry-run", "--data-dir"])
        .arg(&data)
        .arg(crate::util::repo_root().join("examples"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("0 added") && stdout.contains("dry run"), "{stdout}");
}

#[tokio::test]
async fn import_uses_a_cluster_that_is_already_running_and_leaves_it_running() {
    let dir = tempfile::tempdir_in(crate::util::repo_root().join("target")).unwrap();
    let data = dir.path().join("data");
    // Plays the running server: starts the cluster and keeps it.
    let cluster = server::db::embedded::Embedded::ensure(&data, None).await.unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_bearing"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(crate::util::repo_root().join("examples/domains.yaml"))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Still up: the import did not stop a cluster it did not start.
    use sqlx::ConnectOptions;
    let mut conn = cluster
        .connect_options("bearing")
        .connect()
        .await
        .expect("cluster still running");
    let domains: i64 = sqlx::query_scalar("SELECT count(*) FROM entities WHERE kind = 'domain'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(domains >= 3);
    drop(conn);
    cluster.stop().await.unwrap();
}

/// `bearing token create` prints a working token once; `bearing audit verify` passes on an
/// intact log and fails, naming the row, after a superuser edits one.
#[tokio::test]
async fn token_create_and_audit_verify() {
    let dir = tempfile::tempdir_in(crate::util::repo_root().join("target")).unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = bearing()
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["token", "create", "--name", "ci", "--role", "lead", "--team", "nope"]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("no team group:default/nope"), "{stderr}");
    let (code, token, stderr) = run(&[
        "token",
        "create",
        "--name",
        "ci",
        "--role",
        "admin",
        "--expires-days",
        "30",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        token.trim().starts_with("brg_") && stderr.contains("shown only now"),
        "{token}{stderr}"
    );
    assert!(data.join("audit-signing-key.pem").exists() && data.join("audit-signing-key.pem.pub").exists());

    let (code, stdout, stderr) = run(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("audit log intact: 1 entries"), "{stdout}");

    // Tamper as the cluster's superuser, triggers off.
    let cluster = server::db::embedded::Embedded::ensure(&data, None).await.unwrap();
    let mut conn = sqlx::ConnectOptions::connect(&cluster.connect_options("bearing"))
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'system:cli:someone-else' WHERE seq = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let (code, stdout, _) = run(&["audit", "verify"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("row 1:"), "{stdout}");
    cluster.stop().await.unwrap();
}
