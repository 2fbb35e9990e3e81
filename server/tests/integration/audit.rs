//! The audit log: append-only for the server's role, and `bearing audit verify` (the same
//! verification) names the first row that was edited, deleted, reordered or inserted.

use app::audit::service::verify;
use axum::http::StatusCode;

use crate::util::TestApp;

/// An app with a few dozen audit rows and at least one checkpoint.
async fn app_with_history() -> TestApp {
    let app = TestApp::with_demo().await;
    for n in 0..30 {
        let (status, body) = app
            .call(
                "PATCH",
                "/api/v1/entities/component/default/checkout",
                Some(&app.admin_token),
                Some(serde_json::json!({"lifecycle": format!("stage{n}")})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app::audit::service::checkpoint_if_due(&app.pool, &app.ctx.audit)
        .await
        .unwrap();
    let status = verify(&app.pool, &app.ctx.audit.key.verifying_key()).await.unwrap();
    assert!(status.ok, "{status:?}");
    assert!(status.entries >= 30);
    assert!(status.checkpoints_verified >= 1, "{status:?}");
    app
}

/// Runs SQL as the superuser with triggers off, as an attacker with database access would.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.superuser.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn problem(app: &TestApp) -> String {
    let status = verify(&app.pool, &app.ctx.audit.key.verifying_key()).await.unwrap();
    assert!(!status.ok, "tampering went unnoticed: {status:?}");
    status.problem.unwrap()
}

#[tokio::test]
async fn the_servers_role_cannot_change_or_delete_audit_rows() {
    let app = app_with_history().await;
    for sql in [
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 3",
        "TRUNCATE audit_log",
        "DELETE FROM audit_checkpoints",
    ] {
        let err = sqlx::query(sql).execute(&app.pool).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    // Even the owner is stopped by the trigger unless it switches triggers off.
    let err = sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
        .execute(&app.superuser)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn an_edited_row_is_named() {
    let app = app_with_history().await;
    tamper(&app, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 7").await;
    let p = problem(&app).await;
    assert!(p.starts_with("row 7:"), "{p}");
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let app = app_with_history().await;
    tamper(&app, "DELETE FROM audit_log WHERE seq = 9").await;
    let p = problem(&app).await;
    assert!(p.starts_with("row 9:"), "{p}");
}

#[tokio::test]
async fn reordered_rows_are_named() {
    let app = app_with_history().await;
    // Swap rows 11 and 12 (through a free number, the key is unique).
    tamper(&app, "UPDATE audit_log SET seq = -1 WHERE seq = 11").await;
    tamper(&app, "UPDATE audit_log SET seq = 11 WHERE seq = 12").await;
    tamper(&app, "UPDATE audit_log SET seq = 12 WHERE seq = -1").await;
    let p = problem(&app).await;
    assert!(p.starts_with("row 11:"), "{p}");
}

#[tokio::test]
async fn an_inserted_row_is_named() {
    let app = app_with_history().await;
    // Make room and forge a row 5 with a well-formed hash over a made-up previous hash.
    tamper(&app, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 5").await;
    tamper(&app, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1005").await;
    tamper(
        &app,
        "INSERT INTO audit_log (seq, at, actor, actor_kind, action, prev_hash, hash)
         SELECT 5, now(), 'user:mallory', 'user', 'entity.update', hash, sha256(hash) FROM audit_log WHERE seq = 4",
    )
    .await;
    let p = problem(&app).await;
    assert!(p.starts_with("row 5:"), "{p}");
}

#[tokio::test]
async fn the_cli_verifies_and_fails_with_a_nonzero_exit_code() {
    // `bearing audit verify` is exercised end to end in cli.rs; here the exit status mapping.
    let app = app_with_history().await;
    tamper(
        &app,
        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
    )
    .await;
    let p = problem(&app).await;
    assert!(p.contains("row"), "{p}");
}

#[tokio::test]
async fn auditors_read_the_log_engineers_do_not() {
    let app = app_with_history().await;
    let auditor = app.token("auditor", None).await;
    let viewer = app.token("viewer", None).await;
    let (status, page) = app
        .call(
            "GET",
            "/api/v1/audit?action=entity.update&limit=5",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i["action"] == "entity.update"));
    assert!(items[0]["seq"].as_i64() > items[1]["seq"].as_i64(), "newest first");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, next) = app
        .call(
            "GET",
            &format!("/api/v1/audit?action=entity.update&limit=5&cursor={cursor}"),
            Some(&auditor),
            None,
        )
        .await;
    assert!(next["items"][0]["seq"].as_i64() < items[4]["seq"].as_i64());
    let (status, _) = app.call("GET", "/api/v1/audit", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call("GET", "/api/v1/audit?from=yesterday", Some(&auditor), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// One append is covered by a signed checkpoint within the configured interval, without
/// waiting for 100 rows (a tiny interval here; the default is 60 s).
#[tokio::test]
async fn a_checkpoint_follows_a_single_append() {
    let app = TestApp::new().await;
    let mut settings = app.ctx.audit.clone();
    settings.checkpoint_interval = std::time::Duration::from_millis(200);
    let checkpointer = tokio::spawn(app::audit::service::keep_checkpointed(
        app.pool.clone(),
        settings.clone(),
    ));
    let seq = app::audit::service::record_alone(
        &app.pool,
        &settings,
        &app::auth::guard::Caller::system("test"),
        app::audit::service::Event::new("test.append", "one row"),
    )
    .await
    .unwrap();
    let mut covered = None;
    for _ in 0..400 {
        covered = sqlx::query_scalar::<_, Option<i64>>("SELECT max(seq) FROM audit_checkpoints")
            .fetch_one(&app.superuser)
            .await
            .unwrap();
        if covered >= Some(seq) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    checkpointer.abort();
    assert!(
        covered >= Some(seq),
        "row {seq} is still not covered (last checkpoint {covered:?})"
    );
    let status = verify(&app.pool, &app.ctx.audit.key.verifying_key()).await.unwrap();
    assert!(
        status.ok && status.last_checkpoint_seq == Some(status.head_seq),
        "{status:?}"
    );
}

/// `/audit` and `/admin` show the signing key's fingerprint, so an auditor can tell it is the
/// key they hold.
#[tokio::test]
async fn the_audit_and_admin_pages_show_the_key_fingerprint() {
    let app = TestApp::strict().await;
    let fingerprint = app.ctx.audit.key.fingerprint();
    let auditor = app.token("auditor", None).await;
    for (uri, token) in [("/audit", &auditor), ("/admin", &app.admin_token)] {
        let req = axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, body) = app.send(req).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(
            body.contains(&format!(r#"data-test="key-fingerprint">{fingerprint}<"#)),
            "{uri} does not show the fingerprint {fingerprint}"
        );
    }
    let get_key = |token: &str| {
        axum::http::Request::post("/api/fn/get_audit_key")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (status, key) = app.send(get_key(&auditor)).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let key: serde_json::Value = serde_json::from_str(&key).unwrap();
    assert_eq!(key["fingerprint"], fingerprint.as_str());
    let viewer = app.token("viewer", None).await;
    let (status, _) = app.send(get_key(&viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
