//! A control plane nobody answers for: the poll fails, the stored state stays, the error is
//! reported, the server stays ready, and the failure is counted; and a failing control plane is
//! logged once per change of state, not once per failure.

use std::sync::Arc;

use kuma_sim::clock::SystemClock;
use server::config::kuma::ControlPlane;
use server::mesh::poller::Poller;

use super::{args, poller, serve_sim, services, set_fault, small_world};
use crate::util::TestApp;

/// A URL where nothing listens: a port the system handed out, then closed again.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The value of a label-less counter in Prometheus text; 0 before its first increment, when the
/// exporter does not list it yet.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn metrics(app: &TestApp) -> String {
    app.metrics().await
}

async fn status(app: &TestApp) -> serde_json::Value {
    let body = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    body["items"][0].clone()
}

#[tokio::test]
async fn an_unreachable_control_plane_fails_the_poll_and_keeps_the_state() {
    let app = TestApp::new().await;
    let url = serve_sim(small_world(), Arc::new(SystemClock::new())).await;
    poller(&app, &url).await.poll_once().await.expect("poll");
    let stored = services(&app).await;
    assert!(!stored.is_empty());
    let healthy = status(&app).await;
    assert!(healthy["last_error"].is_null(), "{healthy}");
    // Metrics are process-wide and other tests fail polls too: only an increase is ours to see.
    let errors_before = counter(&metrics(&app).await, "bearing_kuma_poll_errors_total");

    // The same control plane, moved to where nothing answers.
    let mut dead = poller(&app, &dead_url()).await;
    assert!(dead.poll_once().await.is_err(), "a refused connection fails the poll");

    assert_eq!(
        services(&app).await,
        stored,
        "a failed poll keeps the stored state as it was"
    );
    let failing = status(&app).await;
    let error = failing["last_error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error recorded: {failing}"));
    assert!(error.contains("GET /meshes"), "the error says what failed: {error}");
    assert!(failing["last_error_at"].is_string(), "{failing}");
    assert_eq!(
        failing["last_success_at"], healthy["last_success_at"],
        "the last success is still the sim's"
    );
    assert_eq!(
        failing["stale"], false,
        "one failed poll does not make fresh data stale"
    );

    // The server stays ready: the mesh is something it reports on, not something it needs.
    let (code, body) = app.get("/readyz").await;
    assert_eq!(code, 200, "{body}");

    let text = metrics(&app).await;
    assert!(text.contains("bearing_kuma_poll_errors_total"), "{text}");
    let errors_after = counter(&text, "bearing_kuma_poll_errors_total");
    assert!(
        errors_after > errors_before,
        "bearing_kuma_poll_errors_total went from {errors_before} to {errors_after}"
    );
}

#[tokio::test]
async fn a_failing_control_plane_is_logged_once_per_change_of_state() {
    const FAILED: &str = "polling the Kuma control plane failed";
    const RECOVERED: &str = "Kuma control plane polls succeed again";
    let logs = crate::logs::install();
    let app = TestApp::new().await;
    let url = serve_sim(small_world(), Arc::new(SystemClock::new())).await;
    let name = format!("logged-{}", uuid::Uuid::new_v4().simple());
    let ours = format!("control_plane={name}");
    let control_plane = ControlPlane {
        name: name.clone(),
        url: url.clone(),
        token: None,
        policy_mode: Default::default(),
    };
    let mut poller = Poller::new(app.pool.clone(), &control_plane, &args())
        .await
        .expect("poller");

    poller.poll_once().await.expect("poll");
    set_fault(&url, serde_json::json!({"mode": "error500"})).await;
    for _ in 0..3 {
        assert!(poller.poll_once().await.is_err());
    }
    assert_eq!(logs.count(FAILED, &ours), 1, "three failures in a row, one warning");
    assert_eq!(logs.count(RECOVERED, &ours), 0);

    set_fault(&url, serde_json::json!({"mode": "none"})).await;
    poller.poll_once().await.expect("recovered");
    poller.poll_once().await.expect("still fine");
    assert_eq!(logs.count(RECOVERED, &ours), 1, "recovery is logged once");

    set_fault(&url, serde_json::json!({"mode": "garbage"})).await;
    assert!(poller.poll_once().await.is_err());
    assert!(poller.poll_once().await.is_err());
    assert_eq!(
        logs.count(FAILED, &ours),
        2,
        "a new failure after recovery is a new change of state"
    );
}
