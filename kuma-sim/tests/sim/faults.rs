//! Fault modes apply to every Kuma route and never to `/_sim/`.

use crate::common::*;
use bearing_kuma::model::{self, ApiError, DataplaneOverview, List, Mesh};
use bearing_kuma::stats::parse_stats_text;
use serde_json::json;
use std::time::{Duration, Instant};

const ROUTES: [&str; 6] = [
    "/",
    "/meshes",
    "/mesh-insights",
    "/meshes/default/dataplanes+insights",
    "/meshes/default/service-insights",
    "/meshes/default/dataplanes/cart-1/stats",
];

#[tokio::test]
async fn error500_answers_kumas_error_body() {
    let sim = TestSim::default_world();
    sim.post_ok("/_sim/fault", json!({"mode": "error500"})).await;
    for route in ROUTES {
        let reply = sim.get(route).await;
        assert_eq!(reply.status.as_u16(), 500, "{route}");
        let error: ApiError = model::parse(&reply.body).unwrap();
        assert_eq!((error.status, error.error_type.as_str()), (500, "/std-errors"));
        assert_eq!(error.detail, "Internal Server Error");
    }
    // Control endpoints still work.
    assert_eq!(sim.get_json("/_sim/fault").await["mode"], "error500");
    sim.post_ok("/_sim/fault", json!({"mode": "none"})).await;
    assert_eq!(sim.get("/meshes").await.status.as_u16(), 200);
}

#[tokio::test]
async fn garbage_does_not_parse() {
    let sim = TestSim::default_world();
    sim.post_ok("/_sim/fault", json!({"mode": "garbage"})).await;
    let reply = sim.get("/meshes/default/dataplanes+insights").await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(reply.content_type, "application/json");
    assert!(model::parse::<List<DataplaneOverview>>(&reply.body).is_err());
    assert!(model::parse::<List<Mesh>>(&sim.get("/meshes").await.body).is_err());
    let stats = sim.get("/meshes/default/dataplanes/cart-1/stats").await;
    assert_eq!(stats.status.as_u16(), 200);
    assert!(
        parse_stats_text(&stats.body).is_err(),
        "garbage stats must not read as no traffic"
    );
    assert_eq!(sim.get_json("/_sim/world").await["fault"]["mode"], "garbage");
}

#[tokio::test]
async fn hang_never_answers() {
    let sim = TestSim::default_world();
    sim.post_ok("/_sim/fault", json!({"mode": "hang"})).await;
    for route in ["/meshes", "/meshes/default/dataplanes/cart-1/stats"] {
        let outcome = tokio::time::timeout(Duration::from_millis(300), sim.get(route)).await;
        assert!(outcome.is_err(), "{route} answered while hanging");
    }
    // Control endpoints answer, and lift the fault.
    sim.post_ok("/_sim/fault", json!({"mode": "none"})).await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), sim.get("/meshes")).await;
    assert_eq!(outcome.expect("answers again").status.as_u16(), 200);
}

#[tokio::test]
async fn slow_answers_late_but_correctly() {
    let sim = TestSim::default_world();
    sim.post_ok("/_sim/fault", json!({"mode": "slow", "delay_ms": 400}))
        .await;
    let started = Instant::now();
    let reply = sim.get("/meshes").await;
    let took = started.elapsed();
    assert_eq!(reply.status.as_u16(), 200);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(model::parse::<List<Mesh>>(&reply.body).is_ok());
    let started = Instant::now();
    sim.get_json("/_sim/world").await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "control endpoints are not slowed"
    );
    // A delay also applies to the other modes when given.
    sim.post_ok("/_sim/fault", json!({"mode": "error500", "delay_ms": 200}))
        .await;
    let started = Instant::now();
    assert_eq!(sim.get("/meshes").await.status.as_u16(), 500);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn bad_fault_requests_are_refused() {
    let sim = TestSim::default_world();
    let reply = sim
        .request(
            axum::http::Method::POST,
            "/_sim/fault",
            Some(json!({"mode": "explode"})),
        )
        .await;
    assert!(reply.status.is_client_error());
    assert_eq!(sim.get_json("/_sim/fault").await["mode"], "none");
}
