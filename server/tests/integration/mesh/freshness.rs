//! What counts as current follows the configuration: data is stale after 3 of the configured
//! poll intervals, and a traffic sample stops being the current rate after 3 stats intervals.

use std::time::Duration;

use app::mesh::repo::write::{self, ServiceRow, Snapshot, TrafficRow};
use app::ssr::MeshSettings;
use time::OffsetDateTime;

use super::{find, import_small_catalog, services};
use crate::util::TestApp;

/// Rebuilds `app`'s router with `mesh` as the mesh settings, as `--kuma-poll-interval` and
/// `--kuma-stats-interval` set them at startup. The database stays the same.
fn configure(app: &mut TestApp, mesh: MeshSettings) {
    app.ctx.mesh = mesh;
    let options = server::site::leptos_options(None).expect("leptos options");
    app.router = crate::util::router_with_pages(app.ctx.clone(), options, app.pages.clone());
}

/// Stores the Kuma service `backend` (claimed by `backend-api`) as control plane `default` read
/// it just now.
async fn store_backend(app: &TestApp) {
    write::upsert_control_plane(&app.pool, "default", "http://kuma.test")
        .await
        .expect("control plane");
    let snap = Snapshot {
        services: vec![ServiceRow {
            mesh: "default".into(),
            service: "backend".into(),
            status: "online".into(),
            total: 1,
            online: 1,
            offline: 0,
            partially_degraded: 0,
        }],
        ..Snapshot::default()
    };
    write::replace_state(&app.pool, "default", &snap, OffsetDateTime::now_utc())
        .await
        .expect("store");
}

/// Stores an inbound sample of `backend` taken at `at`.
async fn sample(app: &TestApp, at: OffsetDateTime, requests_per_s: f64, p99_ms: f64) {
    let row = TrafficRow {
        mesh: "default".into(),
        service: "backend".into(),
        peer: String::new(),
        direction: "inbound",
        requests_per_s,
        errors_per_s: requests_per_s / 10.0,
        denied_per_s: 0.0,
        p99_ms: Some(p99_ms),
    };
    write::insert_traffic(&app.pool, "default", at, &[row])
        .await
        .expect("sample");
}

/// `backend` as `/api/v1/mesh/services` lists it, and its service on the component card.
async fn backend(app: &TestApp) -> (serde_json::Value, serde_json::Value) {
    let listed = find(&services(app).await, "backend").clone();
    let card = app
        .get_json_as("/api/v1/entities/component/default/backend-api/mesh", &app.admin_token)
        .await;
    (listed, card["services"][0].clone())
}

#[tokio::test]
async fn an_old_traffic_sample_is_not_reported_as_the_current_rate() {
    let mut app = TestApp::new().await;
    import_small_catalog(&app).await;
    store_backend(&app).await;
    let now = OffsetDateTime::now_utc();

    // The default stats interval is 60 s: a 10-minute-old sample is history, not a rate.
    sample(&app, now - time::Duration::minutes(10), 7.0, 40.0).await;
    let (listed, card) = backend(&app).await;
    assert!(listed["requests_per_s"].is_null(), "{listed}");
    assert!(listed["errors_per_s"].is_null(), "{listed}");
    assert!(card["summary"]["requests_per_s"].is_null(), "{card}");
    assert!(card["p99_ms"].is_null(), "{card}");

    // With stats read every 5 minutes, the same sample is within 3 intervals: still current.
    configure(
        &mut app,
        MeshSettings {
            stats_interval: Duration::from_secs(300),
            ..MeshSettings::default()
        },
    );
    let (listed, _) = backend(&app).await;
    assert_eq!(listed["requests_per_s"], 7.0, "{listed}");

    // Back to 60 s: a fresh sample is the current rate.
    configure(&mut app, MeshSettings::default());
    sample(&app, now - time::Duration::seconds(30), 3.0, 12.0).await;
    let (listed, card) = backend(&app).await;
    assert_eq!(listed["requests_per_s"], 3.0, "{listed}");
    assert_eq!(card["summary"]["requests_per_s"], 3.0, "{card}");
    assert_eq!(card["p99_ms"], 12.0, "{card}");
}

#[tokio::test]
async fn staleness_follows_the_configured_poll_interval() {
    let mut app = TestApp::new().await;
    import_small_catalog(&app).await;
    store_backend(&app).await;
    sqlx::query("UPDATE mesh_control_planes SET last_success_at = now() - interval '10 seconds'")
        .execute(&app.superuser)
        .await
        .expect("age the data");
    let stale_flags = async |app: &TestApp| {
        let (listed, card) = backend(app).await;
        let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
        assert!(card["freshness"]["age_s"].as_i64().is_some_and(|a| a >= 10), "{card}");
        [
            listed["stale"].clone(),
            status["items"][0]["stale"].clone(),
            card["summary"]["stale"].clone(),
            card["freshness"]["stale"].clone(),
        ]
    };

    // Polled every 2 s, data read 10 s ago is past 3 intervals: stale everywhere.
    configure(
        &mut app,
        MeshSettings {
            poll_interval: Duration::from_secs(2),
            ..MeshSettings::default()
        },
    );
    assert_eq!(stale_flags(&app).await, [true, true, true, true]);
    // The team page says how old it is.
    let (_, team) = app.get("/catalog/group/default/team-x").await;
    assert!(
        ["stale, 10 s", "stale, 11 s", "stale, 12 s"]
            .iter()
            .any(|l| team.contains(l)),
        "the team row shows the data's age"
    );

    // Polled every 15 s (the default), the same 10 s are well within 3 intervals.
    configure(&mut app, MeshSettings::default());
    assert_eq!(stale_flags(&app).await, [false, false, false, false]);
}
