//! The mesh poller against kuma-sim's router in process, and the mesh JSON API and pages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::mesh::repo::{self, write};
use kuma_sim::clock::{Clock, ManualClock, SystemClock};
use kuma_sim::{Sim, WorldSpec};
use server::config::kuma::ControlPlane;
use server::config::KumaArgs;
use server::mesh::poller::Poller;

use crate::util::TestApp;

mod edges;
mod faults;
mod follow;
mod freshness;
mod front;
mod hostile;
mod kuma3;
mod map;
mod ownership;
mod policy;
mod templates;

async fn serve_sim(world: WorldSpec, clock: Arc<dyn Clock>) -> String {
    let sim = Arc::new(Sim::new(world, clock).expect("world"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, kuma_sim::router(sim)).await });
    format!("http://{addr}")
}

async fn start_sim() -> String {
    serve_sim(kuma_sim::default_world::world(), Arc::new(SystemClock::new())).await
}

fn args() -> KumaArgs {
    KumaArgs {
        kuma_timeout: Duration::from_secs(2),
        ..KumaArgs::default()
    }
}

fn cp(url: &str) -> ControlPlane {
    ControlPlane {
        name: "default".into(),
        url: url.to_owned(),
        token: None,
        policy_mode: Default::default(),
    }
}

async fn poller(app: &TestApp, url: &str) -> Poller {
    Poller::new(app.pool.clone(), &cp(url), &args()).await.expect("poller")
}

async fn sim_post(url: &str, path: &str, body: serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sim control");
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

async fn set_fault(url: &str, fault: serde_json::Value) {
    sim_post(url, "/_sim/fault", fault).await;
}

async fn services(app: &TestApp) -> Vec<serde_json::Value> {
    let body = app.get_json_as("/api/v1/mesh/services", &app.admin_token).await;
    body["items"].as_array().expect("items").clone()
}

fn find<'a>(items: &'a [serde_json::Value], service: &str) -> &'a serde_json::Value {
    items
        .iter()
        .find(|s| s["service"] == service)
        .unwrap_or_else(|| panic!("{service} missing"))
}

#[tokio::test]
async fn poll_stores_the_sim_world_and_keeps_it_through_faults() {
    let app = TestApp::with_demo().await;
    let url = start_sim().await;
    let mut poller = poller(&app, &url).await;
    poller.poll_once().await.expect("poll");

    let proxies = repo::list_proxies(&app.pool, "default").await.expect("proxies");
    let proxy = |name: &str| {
        proxies
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(proxy("orders-2").status, "offline");
    assert_eq!(proxy("wishlist-1").status, "offline");
    assert_eq!(proxy("catalog-search-2").status, "partially_degraded");
    assert_eq!(proxy("fraud-check-1").cert_state, "expired");
    assert_eq!(proxy("payments-1").cert_state, "expires_soon");
    assert_eq!(proxy("orders-1").status, "online");

    let items = services(&app).await;
    assert_eq!(find(&items, "wishlist")["status"], "offline");
    assert_eq!(find(&items, "orders")["status"], "partially_degraded");
    assert_eq!(find(&items, "orders")["mtls"]["enabled"], true);
    assert_eq!(find(&items, "orders")["proxies"]["offline"], 1);
    assert_eq!(find(&items, "invoicing")["mesh"], "legacy");
    assert_eq!(find(&items, "invoicing")["mtls"]["enabled"], false);
    assert_eq!(find(&items, "orders")["component"], "component:default/orders");
    assert!(find(&items, "currency-rates")["component"].is_null());
    assert_eq!(find(&items, "orders")["stale"], false);
    let before = items.len();

    // Faults: the poll fails, nothing is erased, the error is recorded.
    for fault in [
        serde_json::json!({"mode": "error500"}),
        serde_json::json!({"mode": "garbage"}),
        serde_json::json!({"mode": "hang"}),
        serde_json::json!({"mode": "slow", "delay_ms": 4000}),
    ] {
        set_fault(&url, fault.clone()).await;
        let started = Instant::now();
        assert!(poller.poll_once().await.is_err(), "{fault} must fail the poll");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{fault}: the request timeout must bound a hanging control plane"
        );
        assert_eq!(services(&app).await.len(), before, "{fault} erased state");
        let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
        assert!(status["items"][0]["last_error"].is_string(), "{fault}: {status}");
    }
    // Slow but within the timeout is fine.
    set_fault(&url, serde_json::json!({"mode": "slow", "delay_ms": 50})).await;
    poller.poll_once().await.expect("a slow answer within the timeout");

    // Stale once the last success is older than 3 poll intervals (15 s by default).
    sqlx::query("UPDATE mesh_control_planes SET last_success_at = now() - interval '50 seconds'")
        .execute(&app.superuser)
        .await
        .expect("age the data");
    assert_eq!(find(&services(&app).await, "orders")["stale"], true);
    let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    assert_eq!(status["items"][0]["stale"], true);
    let (code, page) = app.get("/catalog/component/default/orders").await;
    assert_eq!(code, 200);
    assert!(page.contains("data-test-stale"), "the card shows stale data as stale");

    // Recovery.
    set_fault(&url, serde_json::json!({"mode": "none"})).await;
    poller.poll_once().await.expect("recovered poll");
    let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    assert_eq!(status["items"][0]["stale"], false);
    assert_eq!(
        repo::list_proxies(&app.pool, "default").await.expect("proxies").len(),
        proxies.len()
    );
}

/// A small world: `web` calls `backend` (allowed), `stranger` calls it too (denied by policy).
fn small_world() -> WorldSpec {
    WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}, "meshServices": "Everywhere"}],
        "services": [
            {"name": "web", "replicas": 2},
            {"name": "backend", "proxies": [{"status": "online"}, {"status": "online"}, {"status": "offline"}]},
            {"name": "stranger", "replicas": 1}
        ],
        "meshTrafficPermissions": [{"name": "allow-web", "mesh": "default", "spec": {
            "targetRef": {"kind": "MeshService", "name": "backend"},
            "from": [{"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"action": "Allow"}}]}}],
        "traffic": [
            {"from": "web", "to": "backend", "rps": 20, "errorRatio": 0.1},
            {"from": "stranger", "to": "backend", "rps": 5}
        ]
    }"#,
    )
    .expect("world")
}

/// A catalog claiming `backend` by annotation and `web` by name; `stranger` is not in it.
async fn import_small_catalog(app: &TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &path,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: backend-api\n  annotations:\n    kuma.io/service: backend\nspec: {type: service, lifecycle: production, owner: group:default/team-x}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec: {type: website, lifecycle: production, owner: group:default/team-x}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\nspec: {type: service, lifecycle: production, owner: group:default/team-x}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-x\nspec: {type: team, children: []}\n",
    )
    .expect("write");
    app.import_paths(&[path]).await.expect("import");
}

#[tokio::test]
async fn stats_become_rates_and_the_card_shows_callers_and_traffic() {
    let app = TestApp::new().await;
    import_small_catalog(&app).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(small_world(), clock.clone()).await;
    let mut poller = poller(&app, &url).await;
    poller.poll_once().await.expect("poll");

    // Two reads 60 simulated seconds apart; the rates are the traffic matrix's.
    let t0 = Instant::now();
    assert_eq!(
        poller.stats_at(t0).await.expect("first read"),
        0,
        "one sample gives no rate"
    );
    clock.advance(Duration::from_secs(60));
    assert!(
        poller
            .stats_at(t0 + Duration::from_secs(60))
            .await
            .expect("second read")
            > 0
    );

    let items = services(&app).await;
    let backend = find(&items, "backend");
    let close = |v: &serde_json::Value, want: f64| (v.as_f64().expect("number") - want).abs() < 0.01;
    assert!(close(&backend["requests_per_s"], 20.0), "{backend}");
    assert!(close(&backend["errors_per_s"], 2.0), "{backend}");
    assert_eq!(backend["component"], "component:default/backend-api");
    assert!(find(&items, "stranger")["component"].is_null());
    let outbound: Vec<(String, f64)> = sqlx::query_as(
        "SELECT service, requests_per_s FROM mesh_traffic WHERE direction = 'outbound' AND peer = 'backend' ORDER BY service",
    )
    .fetch_all(&app.pool)
    .await
    .expect("outbound");
    assert_eq!(outbound.len(), 2, "{outbound:?}");
    assert!(
        (outbound[0].1 - 5.0).abs() < 0.01 && (outbound[1].1 - 20.0).abs() < 0.01,
        "{outbound:?}"
    );

    // The card: proxies, callers judged by the policy, a point of history.
    let card = app
        .get_json_as("/api/v1/entities/component/default/backend-api/mesh", &app.admin_token)
        .await;
    assert_eq!(card["kuma_service"], "backend");
    let svc = &card["services"][0];
    assert_eq!(svc["summary"]["proxies"]["online"], 2);
    assert_eq!(svc["summary"]["proxies"]["total"], 3);
    assert_eq!(svc["proxies"].as_array().expect("proxies").len(), 3);
    assert_eq!(svc["callers"]["enforced"], true);
    assert_eq!(svc["callers"]["allowed"][0]["service"], "web");
    assert_eq!(svc["callers"]["allowed"][0]["component"], "component:default/web");
    assert_eq!(svc["callers"]["denied"][0]["service"], "stranger");
    assert!(svc["callers"]["denied"][0]["component"].is_null());
    assert_eq!(svc["history"].as_array().expect("history").len(), 1);
    assert_eq!(svc["mtls_type"], "builtin");

    // Latency: Envoy's histograms give a p99 that is stored and shown, not only parsed.
    let with_p99: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_traffic WHERE p99_ms IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .expect("p99 rows");
    assert!(with_p99 > 0, "no stored traffic row has a p99");
    let p99 = svc["p99_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("the card has no p99: {svc}"));
    assert!(p99 > 0.0, "{p99}");

    // A component that no Kuma service matches is "not in the mesh".
    let ledger = app
        .get_json_as("/api/v1/entities/component/default/ledger/mesh", &app.admin_token)
        .await;
    assert_eq!(ledger["services"].as_array().expect("services").len(), 0);
    assert_eq!(ledger["polling"], true);
    let (code, _) = app
        .call(
            "GET",
            "/api/v1/entities/component/default/nope/mesh",
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_eq!(code, 404);

    // Pages: the card, the team's health and the overview.
    let (_, page) = app.get("/catalog/component/default/backend-api").await;
    assert!(
        page.contains(r#"data-test-caller="web=allow""#),
        "card lists allowed callers"
    );
    assert!(
        page.contains(r#"data-test-caller="stranger=deny""#),
        "card lists denied callers"
    );
    assert!(page.contains("data-test-traffic-chart") || page.contains("Not enough traffic samples"));
    assert!(
        page.contains("Latency p99") && page.contains(&format!("{p99:.0} ms")),
        "the card shows the p99 latency ({p99:.0} ms)"
    );
    let (_, page) = app.get("/catalog/component/default/ledger").await;
    assert!(page.contains("data-test-not-in-mesh"));
    let (_, team) = app.get("/catalog/group/default/team-x").await;
    assert!(team.contains(r#"data-test-team-mesh-row="component:default/backend-api""#));
    let (code, overview) = app.get("/mesh").await;
    assert_eq!(code, 200);
    assert!(overview.contains(r#"data-test-mesh="default""#));
    assert!(overview.contains("stranger"), "unmapped services are listed");
    assert!(
        overview.contains("component:default/ledger"),
        "components not in the mesh are listed"
    );

    // A proxy restarting (counters back to zero) gives no negative rate.
    sim_post(&url, "/_sim/proxies/default/backend-1/offline", serde_json::json!({})).await;
    sim_post(&url, "/_sim/proxies/default/backend-1/online", serde_json::json!({})).await;
    poller.poll_once().await.expect("poll");
    clock.advance(Duration::from_secs(60));
    poller
        .stats_at(t0 + Duration::from_secs(120))
        .await
        .expect("third read");
    let negative: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_traffic WHERE requests_per_s < 0")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(negative, 0);
}

#[tokio::test]
async fn old_traffic_is_folded_into_hourly_averages() {
    let app = TestApp::new().await;
    write::upsert_control_plane(&app.pool, "cp", "http://x")
        .await
        .expect("cp");
    let now = time::OffsetDateTime::now_utc();
    // Both old samples in one hour, whatever the time of day the test runs at.
    let old = (now - time::Duration::days(8))
        .replace_minute(10)
        .and_then(|t| t.replace_second(0))
        .expect("a valid time");
    for (at, rps) in [(old, 10.0), (old + time::Duration::minutes(1), 20.0), (now, 5.0)] {
        let row = write::TrafficRow {
            mesh: "m".into(),
            service: "s".into(),
            peer: String::new(),
            direction: "inbound",
            requests_per_s: rps,
            errors_per_s: 0.0,
            denied_per_s: 0.0,
            p99_ms: None,
        };
        write::insert_traffic(&app.pool, "cp", at, &[row])
            .await
            .expect("insert");
    }
    let folded = write::downsample_traffic(&app.pool, now - time::Duration::days(7), now - time::Duration::days(90))
        .await
        .expect("downsample");
    assert_eq!(folded, 2);
    let raw: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_traffic")
        .fetch_one(&app.pool)
        .await
        .expect("raw");
    assert_eq!(raw, 1, "recent samples stay raw");
    let (avg, samples): (f64, i32) = sqlx::query_as("SELECT requests_per_s, samples FROM mesh_traffic_hourly")
        .fetch_one(&app.pool)
        .await
        .expect("hourly");
    assert!((avg - 15.0).abs() < 1e-9 && samples == 2, "{avg} over {samples}");
}

#[tokio::test]
async fn only_the_lease_holder_polls() {
    let app = TestApp::new().await;
    write::upsert_control_plane(&app.pool, "cp", "http://x")
        .await
        .expect("cp");
    let ttl = Duration::from_secs(30);
    assert!(write::acquire_lease(&app.pool, "cp", "a", ttl).await.expect("a"));
    assert!(!write::acquire_lease(&app.pool, "cp", "b", ttl).await.expect("b"));
    assert!(write::acquire_lease(&app.pool, "cp", "a", ttl).await.expect("a renews"));
    sqlx::query("UPDATE mesh_poll_leases SET expires_at = now() - interval '1 second'")
        .execute(&app.superuser)
        .await
        .expect("expire");
    assert!(write::acquire_lease(&app.pool, "cp", "b", ttl)
        .await
        .expect("b takes over"));
}

/// Two `bearing serve` processes on one database and one control plane: only one polls; when it
/// is killed, the other takes over within two poll intervals.
#[tokio::test]
async fn a_second_replica_takes_over_when_the_poller_dies() {
    use sqlx::ConnectOptions;
    let dir = tempfile::tempdir_in(crate::util::repo_root().join("target")).expect("dir");
    let data = dir.path().join("data");
    let cluster = server::db::embedded::Embedded::ensure(&data, None)
        .await
        .expect("cluster");
    let url = start_sim().await;
    let interval = Duration::from_secs(2);
    let spawn = |n: usize| {
        let log = std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).expect("log");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_bearing"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--kuma-poll-interval",
                "2s",
                "--kuma-url",
                &url,
            ])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "server=info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn bearing serve")
    };
    let logs = |dir: &std::path::Path| {
        (0..2)
            .map(|n| std::fs::read_to_string(dir.join(format!("replica-{n}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let mut conn = cluster.owner_options("bearing").connect().await.expect("connect");
    let holder = async |conn: &mut sqlx::PgConnection| -> Option<String> {
        sqlx::query_scalar("SELECT holder FROM mesh_poll_leases WHERE expires_at > now()")
            .fetch_optional(conn)
            .await
            .ok()
            .flatten()
    };
    let wait_for_pid = async |conn: &mut sqlx::PgConnection, pid: u32, within: Duration| -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < within {
            let h: Option<String> = sqlx::query_scalar("SELECT holder FROM mesh_poll_leases WHERE expires_at > now()")
                .fetch_optional(&mut *conn)
                .await
                .ok()
                .flatten();
            if h.is_some_and(|h| h.starts_with(&format!("{pid}-"))) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    };

    // The first replica migrates, takes the lease and polls.
    let mut first = spawn(0);
    let first_pid = first.id().expect("pid");
    assert!(
        wait_for_pid(&mut conn, first_pid, Duration::from_secs(60))
            .await
            .is_some(),
        "the first replica never took the lease:\n{}",
        logs(dir.path())
    );
    let second = spawn(1);
    let second_pid = second.id().expect("pid");
    // While the first lives, the second never holds the lease.
    let watch = Instant::now();
    while watch.elapsed() < interval * 3 {
        let h = holder(&mut conn).await.unwrap_or_default();
        assert!(
            h.starts_with(&format!("{first_pid}-")),
            "lease moved while the poller lived: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let polled_before: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT last_success_at FROM mesh_control_planes WHERE name = 'default'")
            .fetch_one(&mut conn)
            .await
            .expect("last success");
    assert!(
        polled_before.is_some(),
        "the poller never polled:\n{}",
        logs(dir.path())
    );

    // Kill the poller: the second replica takes over within two intervals.
    first.kill().await.expect("kill");
    let took = wait_for_pid(&mut conn, second_pid, interval * 4).await;
    let took = took.unwrap_or_else(|| panic!("no takeover:\n{}", logs(dir.path())));
    assert!(took <= interval * 2, "takeover took {took:?}, more than two intervals");
    tokio::time::sleep(interval * 2).await;
    let polled_after: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT last_success_at FROM mesh_control_planes WHERE name = 'default'")
            .fetch_one(&mut conn)
            .await
            .expect("last success");
    assert!(
        polled_after > polled_before,
        "the new poller does not poll:\n{}",
        logs(dir.path())
    );
    drop(second);
    drop(conn);
    cluster.stop().await.expect("stop cluster");
}

/// The service and website components without a Kuma identity.
async fn not_in_mesh(app: &TestApp) -> Vec<String> {
    repo::ownership::components_without_identity(&app.pool, None, None, 1_000)
        .await
        .expect("query")
        .into_iter()
        .map(|u| u.component)
        .collect()
}

/// A Kuma service that has no proxies (a MeshService nobody runs, say) does not put its
/// component in the mesh; one proxy does.
#[tokio::test]
async fn a_service_without_proxies_leaves_its_component_not_in_the_mesh() {
    let app = TestApp::with_demo().await;
    write::upsert_control_plane(&app.pool, "default", "http://kuma.test:5681")
        .await
        .expect("control plane");
    let snapshot = |proxies: i32| write::Snapshot {
        services: vec![write::ServiceRow {
            mesh: "default".into(),
            service: "checkout".into(),
            status: if proxies > 0 { "online" } else { "offline" }.into(),
            total: proxies,
            online: proxies,
            offline: 0,
            partially_degraded: 0,
        }],
        ..Default::default()
    };
    let checkout = "component:default/checkout".to_owned();

    let now = time::OffsetDateTime::now_utc();
    write::replace_state(&app.pool, "default", &snapshot(0), now)
        .await
        .expect("state");
    let missing = not_in_mesh(&app).await;
    assert!(missing.contains(&checkout), "no proxies: not in the mesh: {missing:?}");

    write::replace_state(&app.pool, "default", &snapshot(1), now)
        .await
        .expect("state");
    let missing = not_in_mesh(&app).await;
    assert!(!missing.contains(&checkout), "one proxy: in the mesh: {missing:?}");
    assert!(!missing.is_empty(), "other demo services are still missing");
}

/// Issue 12: a mesh's policy set is parsed again only when a poll brought something it is read
/// from (a policy, a service) or a policy was written, not after every poll: the reload after
/// each poll was what held the entity page's p99 on a large mesh.
#[tokio::test]
async fn a_poll_that_brings_nothing_new_keeps_the_parsed_policy_set() {
    let app = TestApp::with_demo().await;
    write::upsert_control_plane(&app.pool, "default", "http://kuma.test:5681")
        .await
        .expect("control plane");
    let snapshot = |allowed: &str, proxy_status: &str| write::Snapshot {
        meshes: vec![write::MeshRow {
            mesh: "default".into(),
            mtls_enabled: true,
            mtls_backend: Some("ca-1".into()),
            mtls_type: Some("builtin".into()),
            mtls_mode: Some("STRICT".into()),
            identity: Some("mesh_mtls"),
            policy_counts: serde_json::json!({}),
        }],
        services: ["checkout", "payments"]
            .map(|service| write::ServiceRow {
                mesh: "default".into(),
                service: service.into(),
                status: "online".into(),
                total: 1,
                online: 1,
                offline: 0,
                partially_degraded: 0,
            })
            .to_vec(),
        proxies: vec![repo::ProxyRow {
            mesh: "default".into(),
            name: "payments-1".into(),
            services: vec!["payments".into()],
            gateway: None,
            status: proxy_status.into(),
            cert_expires_at: None,
            cert_state: "valid".into(),
            labels: Default::default(),
        }],
        resources: vec![write::ResourceRow {
            mesh: "default".into(),
            kind: "MeshTrafficPermission",
            name: "allow-checkout".into(),
            body: serde_json::json!({
                "type": "MeshTrafficPermission", "mesh": "default", "name": "allow-checkout",
                "spec": {
                    "targetRef": {"kind": "MeshService", "name": "payments"},
                    "from": [{"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": allowed}},
                              "default": {"action": "Allow"}}]
                }
            })
            .to_string(),
        }],
    };
    let version = |pool| async move {
        let meshes = repo::list_meshes(pool).await.expect("meshes");
        meshes[0].policy_version.clone()
    };
    let caller = app::auth::guard::Caller::system("test");
    let card = || app::mesh::service::component_card(&app.ctx, &caller, "component", "default", "payments");
    let allowed = |card: app::mesh::MeshCard| -> Vec<String> {
        card.services[0]
            .callers
            .allowed
            .iter()
            .map(|c| c.service.clone())
            .collect()
    };

    // Whole seconds: the database keeps microseconds.
    let t0 = time::OffsetDateTime::now_utc().replace_nanosecond(0).expect("valid");
    write::replace_state(&app.pool, "default", &snapshot("checkout", "online"), t0)
        .await
        .expect("state");
    let first = version(&app.pool).await;
    assert_eq!(first.len(), 32, "a digest: {first:?}");
    assert_eq!(allowed(card().await.expect("card")), ["checkout"]);
    let loads = app.ctx.mesh_state.loads();

    // A poll that reads exactly the same state rewrites nothing (the proxy row is the same row
    // version) and records its success.
    let row_version = || async {
        sqlx::query_scalar::<_, String>("SELECT xmin::text FROM mesh_proxies WHERE name = 'payments-1'")
            .fetch_one(&app.pool)
            .await
            .expect("proxy row")
    };
    let before = row_version().await;
    let t_same = t0 + time::Duration::seconds(5);
    write::replace_state(&app.pool, "default", &snapshot("checkout", "online"), t_same)
        .await
        .expect("state");
    assert_eq!(row_version().await, before, "an unchanged poll rewrites no row");
    let confirmed = card().await.expect("card");
    assert_eq!(
        confirmed.services[0].summary.observed_at,
        app::wire::rfc3339(t_same),
        "the state reads as observed by the latest poll"
    );
    assert_eq!(version(&app.pool).await, first);

    // The next poll finds the same policies and services; only a proxy's status moved.
    let t1 = t0 + time::Duration::seconds(15);
    write::replace_state(&app.pool, "default", &snapshot("checkout", "offline"), t1)
        .await
        .expect("state");
    assert_eq!(version(&app.pool).await, first, "nothing the set is read from changed");
    assert_eq!(allowed(card().await.expect("card")), ["checkout"]);
    assert_eq!(app.ctx.mesh_state.loads(), loads, "the parsed set is reused");

    // A poll that brings a changed policy: a new version, and the card judges by the new policy.
    write::replace_state(
        &app.pool,
        "default",
        &snapshot("orders", "offline"),
        t1 + time::Duration::seconds(15),
    )
    .await
    .expect("state");
    let second = version(&app.pool).await;
    assert_ne!(second, first);
    assert!(
        allowed(card().await.expect("card")).is_empty(),
        "checkout is no longer allowed"
    );
    assert_eq!(app.ctx.mesh_state.loads(), loads + 1);

    // A policy Bearing writes replaces the version at once, before any poll reads it back.
    let body = serde_json::json!({"type": "MeshTrafficPermission", "mesh": "default", "name": "extra",
                                  "spec": {"targetRef": {"kind": "Mesh"}, "from": []}});
    app::policy::repo::store_written(
        &app.pool,
        ("default", "default", "MeshTrafficPermission", "extra"),
        Some(&body),
    )
    .await
    .expect("store");
    let third = version(&app.pool).await;
    assert_ne!(third, second);
    app::policy::repo::store_written(
        &app.pool,
        ("default", "default", "MeshTrafficPermission", "extra"),
        None,
    )
    .await
    .expect("remove");
    assert_ne!(version(&app.pool).await, third);
}

/// Issue 13: a reported deployment makes the poller read the control plane now, not at its
/// next interval (a minute here).
#[tokio::test]
async fn a_reported_deployment_makes_the_poller_read_the_mesh_now() {
    let app = TestApp::with_demo().await;
    let url = start_sim().await;
    let args = KumaArgs {
        kuma_url: Some(url.clone()),
        kuma_poll_interval: Duration::from_secs(60),
        kuma_timeout: Duration::from_secs(2),
        ..KumaArgs::default()
    };
    server::mesh::poller::spawn_all(app.pool.clone(), &args)
        .await
        .expect("pollers");
    let offline = || async {
        let items = services(&app).await;
        items
            .iter()
            .find(|s| s["service"] == "payments")
            .and_then(|s| s["proxies"]["offline"].as_i64())
    };
    // The first poll waits for the lease (checked every quarter interval).
    for _ in 0..300 {
        if offline().await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = offline().await.expect("first poll stored payments");
    // Any change in the mesh shows: the whole control plane is read again.
    sim_post(&url, "/_sim/proxies/default/payments-1/offline", serde_json::json!({})).await;

    // The demo's orders-etl names the producer luigi-orders (team-data).
    let token = app::auth::service::create_token(
        &app.ctx,
        &app::auth::guard::Caller::system("test"),
        app::auth::TokenRequest {
            name: "luigi-orders".into(),
            role: "producer".into(),
            scopes: vec!["team-data".into()],
            ..Default::default()
        },
    )
    .await
    .expect("token")
    .token;
    let deployed = serde_json::json!({
        "specversion": "1.0", "id": "dep-1", "source": "/ci/orders-etl", "type": "dev.cdevents.service.deployed.0.2.0",
        "data": {"context": {"version": "0.4.1", "id": "dep-1", "source": "/ci/orders-etl",
                              "type": "dev.cdevents.service.deployed.0.2.0", "timestamp": "2026-12-05T09:00:00Z"},
                 "subject": {"id": "orders-etl", "source": "/ci/orders-etl", "type": "service",
                             "content": {"environment": {"id": "production"}, "artifactId": "pkg:oci/orders-etl@sha256%3Aabc"}}}
    });
    let req = axum::http::Request::post("/api/v1/cdevents")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/cloudevents+json")
        .body(axum::body::Body::from(deployed.to_string()))
        .expect("request");
    let (status, body) = app.send(req).await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{body}");

    // Within seconds, not the minute to the next poll, the stored state has the proxy that went
    // offline.
    let mut now = before;
    for _ in 0..100 {
        now = offline().await.unwrap_or(before);
        if now > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(now, before + 1, "the deployment made the poller read the mesh again");
}

/// A poll that read the control plane before Bearing wrote a policy, and stores after that
/// write, must not bring back what Bearing just replaced: a policy rolled back would show as
/// applied until the next poll (seen as a flaky end-to-end test). Such a poll stores nothing;
/// the next one, which reads after the write, stores its state.
#[tokio::test]
async fn a_poll_that_read_before_bearings_own_write_does_not_undo_it() {
    let app = TestApp::with_demo().await;
    write::upsert_control_plane(&app.pool, "default", "http://kuma.test:5681")
        .await
        .expect("control plane");
    let policy = |present: bool| write::Snapshot {
        resources: present
            .then(|| write::ResourceRow {
                mesh: "default".into(),
                kind: "MeshMetric",
                name: "metrics-production-payments".into(),
                body: serde_json::json!({"type": "MeshMetric", "mesh": "default",
                    "name": "metrics-production-payments", "spec": {"targetRef": {"kind": "Mesh"}}})
                .to_string(),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM mesh_resources WHERE name = 'metrics-production-payments'")
            .fetch_one(&app.pool)
            .await
            .expect("count")
    };
    let now = time::OffsetDateTime::now_utc();
    write::replace_state(&app.pool, "default", &policy(true), now)
        .await
        .expect("state");
    assert_eq!(stored().await, 1);

    // A poll starts reading (the policy is still there) ...
    let before_read = write::bearing_writes(&app.pool, "default").await.expect("writes");
    // ... Bearing rolls the policy back meanwhile ...
    app::policy::repo::store_written(
        &app.pool,
        ("default", "default", "MeshMetric", "metrics-production-payments"),
        None,
    )
    .await
    .expect("rollback");
    assert_eq!(stored().await, 0);
    // ... and the poll stores what it read: refused.
    let written = write::replace_state_read_after(&app.pool, "default", &policy(true), now, Some(before_read))
        .await
        .expect("poll");
    assert!(!written, "a read from before Bearing's write is not stored");
    assert_eq!(stored().await, 0, "the rolled-back policy stays gone");

    // The next poll reads after the write and stores what it read.
    let before_read = write::bearing_writes(&app.pool, "default").await.expect("writes");
    let written = write::replace_state_read_after(&app.pool, "default", &policy(false), now, Some(before_read))
        .await
        .expect("poll");
    assert!(written);
    assert_eq!(stored().await, 0);
}
