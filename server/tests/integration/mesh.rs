//! The mesh poller against kuma-sim's router in process, and the mesh JSON API.

use std::sync::Arc;
use std::time::Duration;

use kuma_sim::clock::SystemClock;
use kuma_sim::Sim;
use server::config::KumaArgs;
use server::mesh::{poller::Poller, repo};

use crate::util::TestApp;

async fn start_sim() -> String {
    let sim = Arc::new(Sim::new(kuma_sim::default_world::world(), Arc::new(SystemClock::new())).expect("world"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, kuma_sim::router(sim)).await });
    format!("http://{addr}")
}

fn args(url: &str) -> KumaArgs {
    KumaArgs {
        kuma_url: Some(url.to_owned()),
        kuma_token: None,
        kuma_name: "default".into(),
        kuma_poll_interval: Duration::from_secs(15),
        kuma_stats_interval: Duration::from_secs(60),
        kuma_timeout: Duration::from_secs(5),
        kuma_concurrency: 8,
    }
}

async fn set_fault(url: &str, mode: &str) {
    let res = reqwest::Client::new()
        .post(format!("{url}/_sim/fault"))
        .header("content-type", "application/json")
        .body(format!("{{\"mode\":\"{mode}\"}}"))
        .send()
        .await
        .expect("fault");
    assert!(res.status().is_success());
}

#[tokio::test]
async fn poll_stores_the_sim_world_and_keeps_it_through_faults() {
    let app = TestApp::with_demo().await;
    let url = start_sim().await;
    let mut poller = Poller::new(app.pool.clone(), &args(&url)).await.expect("poller");
    poller.poll_once().await.expect("poll");

    let proxies = repo::list_proxies(&app.pool, "default").await.expect("proxies");
    let find = |name: &str| {
        proxies
            .iter()
            .find(|p| p.1 == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(find("orders-2").3, "offline");
    assert_eq!(find("wishlist-1").3, "offline");
    assert_eq!(find("catalog-search-2").3, "partially_degraded");
    assert_eq!(find("fraud-check-1").4, "expired");
    assert_eq!(find("payments-1").4, "expires_soon");
    assert_eq!(find("orders-1").3, "online");

    let services = app.get_json_as("/api/v1/mesh/services", &app.admin_token).await;
    let items = services["items"].as_array().expect("items");
    let svc = |name: &str| {
        items
            .iter()
            .find(|s| s["service"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(svc("wishlist")["status"], "offline");
    assert_eq!(svc("orders")["status"], "partially_degraded");
    assert_eq!(svc("orders")["mtls"]["enabled"], true);
    assert_eq!(svc("invoicing")["mesh"], "legacy");
    assert_eq!(svc("invoicing")["mtls"]["enabled"], false);
    assert_eq!(svc("orders")["component"], "component:default/orders");
    assert!(svc("currency-rates")["component"].is_null());
    assert_eq!(svc("orders")["stale"], false);
    let before = items.len();

    // Faults: nothing is erased, the error is recorded.
    for mode in ["error500", "garbage"] {
        set_fault(&url, mode).await;
        assert!(poller.poll_once().await.is_err(), "{mode} must fail the poll");
        let after = app.get_json_as("/api/v1/mesh/services", &app.admin_token).await;
        assert_eq!(
            after["items"].as_array().expect("items").len(),
            before,
            "{mode} erased state"
        );
        let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
        assert!(status["items"][0]["last_error"].is_string(), "{mode}: {status}");
    }

    // Recovery.
    set_fault(&url, "none").await;
    poller.poll_once().await.expect("recovered poll");
    let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    assert_eq!(status["items"][0]["stale"], false);
    assert_eq!(
        repo::list_proxies(&app.pool, "default").await.expect("proxies").len(),
        proxies.len()
    );
}

#[tokio::test]
async fn only_the_lease_holder_polls() {
    let app = TestApp::new().await;
    repo::upsert_control_plane(&app.pool, "cp", "http://x")
        .await
        .expect("cp");
    let ttl = Duration::from_secs(30);
    assert!(repo::acquire_lease(&app.pool, "cp", "a", ttl).await.expect("a"));
    assert!(!repo::acquire_lease(&app.pool, "cp", "b", ttl).await.expect("b"));
    assert!(repo::acquire_lease(&app.pool, "cp", "a", ttl).await.expect("a renews"));
    assert!(repo::acquire_lease(&app.pool, "cp", "b", Duration::ZERO).await.is_ok());
    sqlx::query("UPDATE mesh_poll_leases SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire");
    assert!(repo::acquire_lease(&app.pool, "cp", "b", ttl)
        .await
        .expect("b takes over"));
}
