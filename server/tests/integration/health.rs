//! `/healthz`, `/readyz`, `/metrics`.

use axum::http::StatusCode;

use crate::util::TestApp;

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = TestApp::new().await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
    assert!(ready["migration"].as_i64().unwrap() > 0);

    app.get("/api/v1/entities?limit=1").await;
    let text = app.metrics().await;
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(
        text.contains(r#"route="/api/v1/entities""#),
        "requests are labelled by route: {text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "latency is a histogram"
    );
    assert!(text.contains("db_pool_connections"), "pool stats");
}

#[tokio::test]
async fn metrics_need_the_metrics_token() {
    let app = TestApp::new().await;
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous: {body}");
    assert!(
        body.contains("--metrics-token") && body.contains("--metrics-listen"),
        "{body}"
    );
    for wrong in [
        app.admin_token.as_str(),
        "test-metrics-toke",
        "test-metrics-token-and-more",
    ] {
        let (status, body) = app.call("GET", "/metrics", Some(wrong), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}: {body}");
    }
    assert!(app.metrics().await.contains("http_requests_total"));
}

#[tokio::test]
async fn readyz_reports_pending_migrations() {
    let app = TestApp::new().await;
    // As the owner: the serving role may read sqlx's bookkeeping but not change it.
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&app.superuser)
        .await
        .unwrap();
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("migrations pending"));
}

#[tokio::test]
async fn static_assets_are_served_gzip_compressed() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/bearing.css"), ".a { color: red; }\n".repeat(500)).unwrap();
    let pool = crate::util::fresh_pool().await;
    let options = server::site::leptos_options(Some(site.path().to_owned())).unwrap();
    let router = crate::util::router(crate::util::context(pool, true), options);
    let req = axum::http::Request::get("/pkg/bearing.css")
        .header("accept-encoding", "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}
