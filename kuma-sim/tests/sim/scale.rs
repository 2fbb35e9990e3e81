//! 5,000 proxies and 1,000 services (`--generate-proxies 5000 --generate-services 1000`) serve
//! quickly, entirely from memory.

use crate::common::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn five_thousand_proxies_serve_quickly() {
    let started = Instant::now();
    let sim = TestSim::new(kuma_sim::generate::world(5000, 1000, 1));
    let built = started.elapsed();

    // First read renders the views; a poll cycle reads them all.
    let started = Instant::now();
    let dataplanes = sim.all_items("/meshes/default/dataplanes+insights?size=1000").await;
    let first = started.elapsed();
    assert_eq!(dataplanes.len(), 5000);
    let started = Instant::now();
    let again = sim.all_items("/meshes/default/dataplanes+insights").await;
    let services = sim.all_items("/meshes/default/service-insights?size=1000").await;
    let insights = sim.get_json("/mesh-insights").await;
    let mesh_services = sim.all_items("/meshes/default/meshservices?size=1000").await;
    sim.all_items("/meshes/default/meshtrafficpermissions").await;
    let cycle = started.elapsed();
    assert_eq!(again.len(), 5000);
    assert_eq!(services.len(), 1000);
    assert_eq!(insights["items"][0]["dataplanes"]["total"], 5000);
    assert!(mesh_services.len() >= 999);

    // Stats of one proxy and a control change (re-rendered on the next read).
    let started = Instant::now();
    let stats = sim.get("/meshes/default/dataplanes/svc-0002-1/stats").await;
    assert_eq!(stats.status.as_u16(), 200);
    sim.post_ok("/_sim/proxies/default/svc-0002-1/offline", serde_json::json!({}))
        .await;
    sim.get_json("/meshes/default/dataplanes+insights?size=1").await;
    let change = started.elapsed();

    eprintln!("5000 proxies: build {built:?}, first read {first:?}, poll cycle {cycle:?}, change {change:?}");
    // Generous bounds for an unoptimised build on a shared 2-core machine; release is ~10x faster.
    let limit = Duration::from_secs(20);
    assert!(built < limit && first < limit && cycle < limit && change < limit);
}
