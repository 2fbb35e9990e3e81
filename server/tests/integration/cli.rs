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
    // The demo catalog is longer than the report names one by one: the first 50, then how
    // many more, and a total that adds up.
    let listed = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("added ") && !l.contains('…'))
        .count();
    assert_eq!(listed, 50, "{stdout}");
    let more: usize = stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("added … and "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"… and N more\" line: {stdout}"));
    assert!(
        stdout.contains(&format!("{} added, 0 updated", listed + more)),
        "{stdout}"
    );

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
        .args(["--log-format", "json", "import", "--data-dir"])
        .arg(&data)
        .arg(crate::util::repo_root().join("examples/domains.yaml"))
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // `--log-format json`: every log line is one JSON object, for log shippers.
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "import checked and written"),
        "{stderr}"
    );
    // Still up: the import did not stop a cluster it did not start.
    use sqlx::ConnectOptions;
    let mut conn = cluster
        .owner_options("bearing")
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
    let key = data.join("keys/audit-signing-key.pem");
    assert!(key.exists() && data.join("keys/audit-signing-key.pem.pub").exists());

    let (code, stdout, stderr) = run(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("audit log intact: 1 entries"), "{stdout}");

    // Tamper as the cluster's superuser, triggers off.
    let cluster = server::db::embedded::Embedded::ensure(&data, None).await.unwrap();
    let mut conn = sqlx::ConnectOptions::connect(&cluster.owner_options("bearing"))
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

/// Runs `bearing ARGS --data-dir DATA`: exit code, stdout, stderr.
fn bearing_in(data: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = bearing()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("DATABASE_URL")
        .env_remove("BEARING_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A data directory the cluster's user (bearing-pg, when root) can reach.
fn data_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir_in(crate::util::repo_root().join("target")).unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    (dir, data)
}

/// The auditor's path: `audit verify` names the key and its fingerprint and says when it only
/// trusts the local key; the head it prints, checked later with `--expect-head`, catches the
/// newest rows deleted together with their checkpoints (which plain verification cannot); and
/// `audit checkpoints --since` ships checkpoints that verify with the public key alone.
#[tokio::test]
async fn recorded_heads_and_shipped_checkpoints_catch_a_cut_tail() {
    let (_dir, data) = data_dir();
    for n in 0..3 {
        let (code, _, stderr) = bearing_in(
            &data,
            &["token", "create", "--name", &format!("ci-{n}"), "--role", "viewer"],
        );
        assert_eq!(code, Some(0), "{stderr}");
    }
    let public_key = data.join("keys/audit-signing-key.pem.pub");
    let key = bearing_audit::VerifyingKey::from_pem_file(&public_key).unwrap();
    let fingerprint = key.fingerprint();

    // Local key: said plainly, with the fingerprint; every command's rows are checkpointed.
    let (code, stdout, stderr) = bearing_in(&data, &["audit", "verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("trusting the local signing key"), "{stderr}");
    assert!(
        stdout.contains(&format!("SHA-256 fingerprint {fingerprint}")),
        "{stdout}"
    );
    assert!(stdout.contains("3 signed checkpoints verified"), "{stdout}");
    let head = stdout
        .lines()
        .find_map(|l| l.strip_prefix("head "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no head in {stdout}"))
        .to_owned();
    assert!(head.starts_with("3:"), "{head}");

    // The auditor's key: no such note.
    let (code, stdout, stderr) = bearing_in(
        &data,
        &[
            "audit",
            "verify",
            "--public-key",
            public_key.to_str().unwrap(),
            "--expect-head",
            &head,
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("trusting"), "{stderr}");
    assert!(
        stdout.contains(&format!("reaches the recorded head {head}")),
        "{stdout}"
    );

    // Checkpoints shipped elsewhere verify with the public key alone.
    let (code, shipped, stderr) = bearing_in(&data, &["audit", "checkpoints", "--since", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    let shipped: Vec<bearing_audit::Checkpoint> = shipped
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(shipped.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
    for checkpoint in &shipped {
        key.verify_checkpoint(checkpoint).unwrap();
    }
    assert_eq!(format!("{}:{}", shipped[1].seq, hex(&shipped[1].head_hash)), head);

    // Someone with the database's superuser deletes rows 2 and 3 and their checkpoints, and
    // moves the head back: the chain and the remaining checkpoint still agree.
    let cluster = server::db::embedded::Embedded::ensure(&data, None).await.unwrap();
    let mut conn = sqlx::ConnectOptions::connect(&cluster.owner_options("bearing"))
        .await
        .unwrap();
    for sql in [
        "SET session_replication_role = replica",
        "DELETE FROM audit_log WHERE seq > 1",
        "DELETE FROM audit_checkpoints WHERE seq > 1",
        "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_log WHERE seq = 1)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    drop(conn);
    let (code, stdout, _) = bearing_in(
        &data,
        &["audit", "verify", "--public-key", public_key.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "undetectable without a recorded head: {stdout}");
    let (code, stdout, _) = bearing_in(
        &data,
        &[
            "audit",
            "verify",
            "--public-key",
            public_key.to_str().unwrap(),
            "--expect-head",
            &head,
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("audit log BROKEN: row 2:"), "{stdout}");
    assert!(stdout.contains("rows deleted from the end"), "{stdout}");
    cluster.stop().await.unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signing key that others can read, or that the database's user owns, is refused before
/// anything is written.
#[test]
fn a_signing_key_others_could_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, data) = data_dir();
    let key_dir = data.join("keys");
    std::fs::create_dir_all(&key_dir).unwrap();
    let key = key_dir.join("audit-signing-key.pem");
    bearing_audit::SigningKey::load_or_generate(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stdout, stderr) = bearing_in(&data, &["token", "create", "--name", "ci", "--role", "viewer"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("refusing the audit signing key") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!data.join("pgdata").exists(), "the database was touched");
    let (code, _, stderr) = bearing_in(&data, &["audit", "verify"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("group or others have access"), "{stderr}");

    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping the ownership half: it needs root to give the key to bearing-pg");
        return;
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pg = nix::unistd::User::from_name(server::db::embedded::PG_USER).unwrap();
    let Some(pg) = pg else {
        eprintln!("skipping the ownership half: no user {}", server::db::embedded::PG_USER);
        return;
    };
    std::os::unix::fs::chown(&key, Some(pg.uid.as_raw()), None).unwrap();
    let (code, _, stderr) = bearing_in(&data, &["token", "create", "--name", "ci", "--role", "viewer"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("bearing-pg") && stderr.contains("pg_read_file"),
        "{stderr}"
    );
}

/// Issue 14: `bearing evidence export` writes a bundle the stock tools verify, says so, and
/// refuses a bad period with the field it is about and no file.
#[tokio::test]
async fn evidence_export_writes_a_bundle_that_verifies() {
    let (dir, data) = data_dir();
    let (code, _, stderr) = bearing_in(
        &data,
        &["import", crate::util::repo_root().join("examples").to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let out = dir.path().join("bundle.zip");
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = (
        (today - time::Duration::days(1)).to_string(),
        (today + time::Duration::days(1)).to_string(),
    );
    let (code, _, stderr) = bearing_in(
        &data,
        &[
            "evidence",
            "export",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            out.to_str().unwrap(),
            "--sample-seed",
            "cli",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("VERIFY.md"), "{stderr}");
    let unpacked = dir.path().join("b");
    let status = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&out)
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let sums = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(sums.status.success(), "{}", String::from_utf8_lossy(&sums.stdout));
    let chain = Command::new("python3")
        .arg("audit/verify_chain.py")
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(chain.status.success(), "{}", String::from_utf8_lossy(&chain.stdout));
    let entities = std::fs::read_to_string(unpacked.join("populations/entities.csv")).unwrap();
    assert!(entities.contains("component:default/checkout"), "{entities}");

    let bad = dir.path().join("bad.zip");
    let (code, _, stderr) = bearing_in(
        &data,
        &[
            "evidence",
            "export",
            "--from",
            &to,
            "--to",
            &from,
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid to"), "{stderr}");
    assert!(!bad.exists() && !bad.with_extension("partial").exists());
}
