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

/// Issue 15: while PostgreSQL is down (a restart), `/readyz` says "not ready" within its own
/// bound instead of hanging for the pool's acquire timeout: a refused connection makes the pool
/// retry until that timeout (10 s), so without a bound of its own the probe waited that long.
/// The log line behind the 503 says which bound answered.
#[tokio::test]
async fn issue_15_readyz_says_unreachable_within_its_own_bound() {
    let logs = crate::logs::install();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(closed_port)
        .username("nobody")
        .database("nothing");
    let pool = server::db::app_pool_options(2).connect_lazy_with(options);
    let site = server::site::leptos_options(None).unwrap();
    let router = crate::util::router(crate::util::context(pool, true), site);
    let marker = format!("readyz-{}", uuid::Uuid::new_v4().simple());
    let req = axum::http::Request::get("/readyz")
        .header("x-request-id", &marker)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("database unreachable"));
    let bound = format!("no answer within {:?}", server::http::health::READY_TIMEOUT);
    let lines = logs.lines_with(&marker);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("readiness check: database unreachable") && l.contains(&bound)),
        "the readiness bound answered, not the pool's acquire timeout: {lines:#?}"
    );
}

/// Issue 15: while a server drains before it stops (`--shutdown-drain`), every answer closes its
/// connection, so a proxy keeping connections open to it (nginx `keepalive`) never sends a
/// request on one the server is about to close, and `/readyz` says it is shutting down.
#[tokio::test]
async fn issue_15_while_draining_answers_close_their_connection_and_readyz_says_so() {
    let pool = crate::util::fresh_pool().await;
    let (router, state) = crate::util::router_and_state(
        crate::util::ORIGIN,
        crate::util::context(pool, true),
        server::site::leptos_options(None).unwrap(),
        server::page_cache::PageCache::new(&Default::default()),
        Default::default(),
    );
    let get = |uri: &'static str| {
        let router = router.clone();
        async move {
            let req = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let connection = resp.headers().get("connection").map(|v| v.to_str().unwrap().to_owned());
            let status = resp.status();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, connection, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, connection, _) = get("/readyz").await;
    assert_eq!((status, connection), (StatusCode::OK, None));
    let (status, connection, _) = get("/api/v1/entities?limit=1").await;
    assert_eq!(
        (status, connection),
        (StatusCode::OK, None),
        "connections are kept alive"
    );

    state.draining.start();
    let (status, connection, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("shutting down"), "{body}");
    assert_eq!(connection.as_deref(), Some("close"));
    let (status, connection, _) = get("/api/v1/entities?limit=1").await;
    assert_eq!(status, StatusCode::OK, "still answering while draining");
    assert_eq!(connection.as_deref(), Some("close"));
    let (_, connection, _) = get("/catalog").await;
    assert_eq!(connection.as_deref(), Some("close"), "pages too");
}
