//! `/_sim/` control endpoints change what Kuma's endpoints serve.

use crate::common::*;
use bearing_kuma::model::{self, DataplaneOverview, List, Mesh, ServiceInsight, ServiceStatus};
use bearing_kuma::stats::{rates, ClusterKind, Sample};
use bearing_kuma::status::{certificate_state, mesh_mtls, proxy_status, CertificateState, ProxyStatus};
use serde_json::json;
use std::time::Duration;

async fn overview(sim: &TestSim, mesh: &str, name: &str) -> DataplaneOverview {
    serde_json::from_value(
        sim.get_json(&format!("/meshes/{mesh}/dataplanes/{name}/_overview"))
            .await,
    )
    .unwrap()
}

async fn service_status(sim: &TestSim, mesh: &str, name: &str) -> ServiceStatus {
    let insight: ServiceInsight =
        serde_json::from_value(sim.get_json(&format!("/meshes/{mesh}/service-insights/{name}")).await).unwrap();
    insight.status.unwrap()
}

async fn stats(sim: &TestSim, mesh: &str, name: &str) -> Sample {
    Sample::parse(&sim.get(&format!("/meshes/{mesh}/dataplanes/{name}/stats")).await.body).unwrap()
}

#[tokio::test]
async fn proxies_go_offline_and_come_back() {
    let sim = TestSim::default_world();
    assert_eq!(
        proxy_status(&overview(&sim, "default", "cart-2").await),
        ProxyStatus::Online
    );
    let reply = sim.post_ok("/_sim/proxies/default/cart-2/offline", json!({})).await;
    assert_eq!(reply["state"], "offline");
    let dp = overview(&sim, "default", "cart-2").await;
    assert_eq!(proxy_status(&dp), ProxyStatus::Offline);
    let sub = dp.dataplane_insight.as_ref().unwrap().subscriptions.last().unwrap();
    assert!(sub.disconnect_time.is_some(), "the subscription records the disconnect");
    assert_eq!(
        service_status(&sim, "default", "cart").await,
        ServiceStatus::PartiallyDegraded
    );

    // Every cart proxy offline: the service is offline, callers get 503s.
    sim.post_ok("/_sim/proxies/default/cart-1/offline", json!({})).await;
    sim.post_ok("/_sim/proxies/default/cart-3/offline", json!({})).await;
    assert_eq!(service_status(&sim, "default", "cart").await, ServiceStatus::Offline);
    let a = stats(&sim, "default", "checkout-1").await;
    sim.advance(60.0);
    let b = stats(&sim, "default", "checkout-1").await;
    let r = rates(&a, &b, Duration::from_secs(60));
    assert!(r.clusters["cart"].requests_per_s > 0.0);
    assert!((r.clusters["cart"].rq_5xx_per_s - r.clusters["cart"].requests_per_s).abs() < 0.1);

    sim.post_ok("/_sim/proxies/default/cart-1/online", json!({})).await;
    let dp = overview(&sim, "default", "cart-1").await;
    assert_eq!(proxy_status(&dp), ProxyStatus::Online);
    assert_eq!(
        dp.dataplane_insight.unwrap().subscriptions.len(),
        2,
        "a new subscription"
    );
    sim.post_ok("/_sim/proxies/default/cart-1/degraded", json!({})).await;
    assert_eq!(
        proxy_status(&overview(&sim, "default", "cart-1").await),
        ProxyStatus::PartiallyDegraded
    );
    let mi: model::MeshInsight = serde_json::from_value(sim.get_json("/mesh-insights/default").await).unwrap();
    assert_eq!(mi.dataplanes.partially_degraded, 2);

    let missing = sim
        .request(
            axum::http::Method::POST,
            "/_sim/proxies/default/nope/offline",
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status.as_u16(), 404);
}

#[tokio::test]
async fn mtls_off_and_on() {
    let sim = TestSim::default_world();
    // With mTLS, order-history -> accounts is refused (503 at the caller).
    sim.post_ok("/_sim/meshes/default/mtls", json!({"enabled": false}))
        .await;
    let mesh: Mesh = serde_json::from_value(sim.get_json("/meshes/default").await).unwrap();
    assert!(!mesh_mtls(&mesh).enabled);
    assert!(
        mesh.mtls.as_ref().unwrap().enabled_backend.is_none(),
        "backend kept, not enabled"
    );
    let dp = overview(&sim, "default", "payments-1").await;
    assert_eq!(
        certificate_state(dp.dataplane_insight.as_ref(), origin(), time::Duration::days(7)),
        CertificateState::NoMtls
    );
    // Without mTLS nothing is enforced: the refused call now goes through.
    let a = stats(&sim, "default", "order-history-1").await;
    sim.advance(100.0);
    let b = stats(&sim, "default", "order-history-1").await;
    let r = rates(&a, &b, Duration::from_secs(100));
    assert!(
        r.clusters["accounts"].rq_5xx_per_s < 0.05,
        "{:?}",
        r.clusters["accounts"]
    );

    sim.post_ok("/_sim/meshes/default/mtls", json!({"enabled": true})).await;
    let dp = overview(&sim, "default", "payments-1").await;
    assert!(matches!(
        certificate_state(dp.dataplane_insight.as_ref(), origin(), time::Duration::days(7)),
        CertificateState::ExpiresSoon { .. }
    ));
    // A mesh that never had mTLS gets a builtin CA and fresh certificates.
    sim.post_ok("/_sim/meshes/legacy/mtls", json!({"enabled": true})).await;
    let legacy: Mesh = serde_json::from_value(sim.get_json("/meshes/legacy").await).unwrap();
    assert!(mesh_mtls(&legacy).enabled);
    let dps: List<DataplaneOverview> =
        serde_json::from_value(sim.get_json("/meshes/legacy/dataplanes+insights").await).unwrap();
    for dp in &dps.items {
        let state = certificate_state(dp.dataplane_insight.as_ref(), origin(), time::Duration::days(7));
        assert!(
            matches!(state, CertificateState::Ok { .. }),
            "{}: {state:?}",
            dp.meta.name
        );
    }
}

#[tokio::test]
async fn traffic_changes_the_rates() {
    let sim = TestSim::default_world();
    sim.post_ok(
        "/_sim/traffic",
        json!({"from": "cart", "to": "pricing", "rps": 300, "error_ratio": 0.1}),
    )
    .await;
    // New, undeclared traffic gets its cluster.
    sim.post_ok(
        "/_sim/traffic",
        json!({"from": "wishlist", "to": "currency-rates", "rps": 5}),
    )
    .await;
    let a = stats(&sim, "default", "cart-1").await;
    let pricing_a = stats(&sim, "default", "pricing-1").await;
    sim.advance(50.0);
    let b = stats(&sim, "default", "cart-1").await;
    let pricing_b = stats(&sim, "default", "pricing-1").await;
    let r = rates(&a, &b, Duration::from_secs(50));
    assert!(
        (r.clusters["pricing"].requests_per_s - 100.0).abs() < 0.1,
        "300 req/s over 3 cart proxies"
    );
    assert!((r.clusters["pricing"].rq_5xx_per_s - 10.0).abs() < 0.1);
    let inbound = rates(&pricing_a, &pricing_b, Duration::from_secs(50)).totals(ClusterKind::Inbound);
    assert!(inbound.requests_per_s > 150.0, "pricing's two proxies share 300 req/s");

    for bad in [
        json!({"from": "cart", "to": "nope", "rps": 1}),
        json!({"from": "cart", "to": "pricing", "rps": -1}),
        json!({"from": "cart", "to": "pricing", "rps": 1, "error_ratio": 2}),
        json!({"from": "invoicing", "to": "orders", "rps": 1}),
    ] {
        let reply = sim
            .request(axum::http::Method::POST, "/_sim/traffic", Some(bad.clone()))
            .await;
        assert!(reply.status.is_client_error(), "{bad}: {}", reply.status);
    }
    let world = sim.get_json("/_sim/world").await;
    let cell = world["traffic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["from"] == "cart" && t["to"] == "pricing")
        .unwrap();
    assert_eq!(cell["rps"], 300.0);
}

#[tokio::test]
async fn reset_restores_the_world_and_world_describes_it() {
    let sim = TestSim::default_world();
    let initial = sim.get_json("/_sim/world").await;
    sim.post_ok("/_sim/proxies/default/checkout-1/offline", json!({})).await;
    sim.post_ok("/_sim/meshes/default/mtls", json!({"enabled": false}))
        .await;
    sim.post_ok("/_sim/fault", json!({"mode": "error500"})).await;
    let changed = sim.get_json("/_sim/world").await;
    assert_ne!(changed["world"], initial["world"]);
    let checkout = changed["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "checkout-1")
        .unwrap();
    assert_eq!(checkout["status"], "offline");
    sim.advance(10.0);
    sim.post_ok("/_sim/reset", json!({})).await;
    let after = sim.get_json("/_sim/world").await;
    assert_eq!(after["fault"]["mode"], "none");
    assert_eq!(after["world"]["meshes"], initial["world"]["meshes"]);
    assert_eq!(
        proxy_status(&overview(&sim, "default", "checkout-1").await),
        ProxyStatus::Online
    );
    // The described world is a world file: loading it gives the same world.
    let spec: kuma_sim::WorldSpec = serde_json::from_value(after["world"].clone()).unwrap();
    spec.validate().unwrap();
    let replay = TestSim::new(spec);
    let again = replay.get_json("/_sim/world").await;
    assert_eq!(again["world"]["services"], after["world"]["services"]);
    let fraud = again["proxies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fraud-check-1")
        .unwrap();
    assert_eq!(fraud["certificate"]["state"], "expired");
}

#[tokio::test]
async fn meshservices_api_can_be_absent() {
    let mut world = kuma_sim::default_world::world();
    world.control_plane.mesh_services_api = false;
    let sim = TestSim::new(world);
    assert_eq!(sim.get("/meshes/default/meshservices").await.status.as_u16(), 404);
    let resources: model::ResourceTypeList = serde_json::from_value(sim.get_json("/_resources").await).unwrap();
    assert!(resources.resources.iter().all(|r| r.name != "MeshService"));
    assert!(resources.resources.iter().any(|r| r.name == "MeshTrafficPermission"));
}
