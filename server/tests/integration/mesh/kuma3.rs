//! Issue 12, section 5 (Kuma 3.0 readiness) on the poller's side: a control plane without
//! ServiceInsights, a mesh whose identity comes from a MeshIdentity, and dataplane labels.

use std::sync::Arc;

use app::mesh::repo;
use kuma_sim::clock::SystemClock;
use kuma_sim::WorldSpec;
use server::config::kuma::ControlPlane;
use server::mesh::labels::MAX_LABELS;
use server::mesh::poller::Poller;

use super::{args, serve_sim, services};
use crate::util::TestApp;

/// A poller for the control plane at `url`, named `name` (so log lines can be told apart).
async fn named_poller(app: &TestApp, name: &str, url: &str) -> Poller {
    let cp = ControlPlane {
        name: name.to_owned(),
        url: url.to_owned(),
        token: None,
        policy_mode: Default::default(),
    };
    Poller::new(app.pool.clone(), &cp, &args()).await.expect("poller")
}

/// The stored services of control plane `cp` as `(mesh, service, status, total, online, offline,
/// partially degraded)`.
async fn stored(app: &TestApp, cp: &str) -> Vec<(String, String, String, i32, i32, i32, i32)> {
    let since = time::OffsetDateTime::now_utc();
    repo::list_services(&app.pool, since)
        .await
        .expect("services")
        .into_iter()
        .filter(|s| s.control_plane == cp)
        .map(|s| {
            (
                s.mesh,
                s.service,
                s.status,
                s.total,
                s.online,
                s.offline,
                s.partially_degraded,
            )
        })
        .collect()
}

fn example(name: &str) -> String {
    let path = crate::util::repo_root().join("kuma-sim/examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn a_control_plane_without_service_insights_stores_the_same_services() {
    let logs = crate::logs::install();
    let app = TestApp::new().await;
    // The demo world: offline, partially degraded, never connected proxies, a gateway, two meshes.
    let with = kuma_sim::default_world::world();
    let mut without = with.clone();
    without.control_plane.service_insights_api = false;
    let with_url = serve_sim(with, Arc::new(SystemClock::new())).await;
    let without_url = serve_sim(without, Arc::new(SystemClock::new())).await;

    named_poller(&app, "with-insights", &with_url)
        .await
        .poll_once()
        .await
        .expect("poll with insights");
    let mut poller = named_poller(&app, "kuma-3-no-insights", &without_url).await;
    for _ in 0..3 {
        poller.poll_once().await.expect("a poll without insights succeeds");
    }
    let a = stored(&app, "with-insights").await;
    let b = stored(&app, "kuma-3-no-insights").await;
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(
        a, b,
        "the same world gives the same stored services with or without ServiceInsights"
    );
    let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    let cp = status["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["control_plane"] == "kuma-3-no-insights")
        .unwrap_or_else(|| panic!("{status}"));
    assert!(cp["last_error"].is_null(), "the 404 is no error: {cp}");
    // The API lists both control planes' services alike.
    let api = services(&app).await;
    let of = |cp: &str| -> Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> {
        api.iter()
            .filter(|s| s["control_plane"] == cp)
            .map(|s| (s["service"].clone(), s["status"].clone(), s["proxies"].clone()))
            .collect()
    };
    assert_eq!(of("with-insights"), of("kuma-3-no-insights"));
    // Said once, as information, however many polls.
    assert_eq!(logs.count("no ServiceInsight API", "kuma-3-no-insights"), 1);
    assert_eq!(logs.count("ERROR", "kuma-3-no-insights"), 0);
    assert_eq!(logs.count("WARN", "kuma-3-no-insights"), 0);
}

/// The sim's MeshIdentity example world, plus a `from[]` MeshTrafficPermission admitting the
/// whole mesh: a proxy with a workload identity is judged by `rules[]` only, so it admits
/// nobody (Kuma 2.14.3's MTP plugin, `apply-workload-identity-ignores-from.golden.yaml`).
fn identity_world(mesh_services: &str) -> WorldSpec {
    let text =
        example("mesh-identity.yaml").replace("meshServices: Exclusive", &format!("meshServices: {mesh_services}"));
    let mut world = WorldSpec::parse(&text).expect("world");
    let extra = WorldSpec::parse(
        r#"{"meshes": [{"name": "default"}], "meshTrafficPermissions": [{"name": "legacy-allow-all", "mesh": "default",
            "spec": {"targetRef": {"kind": "Mesh"},
                     "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}]}"#,
    )
    .expect("extra");
    world.mesh_traffic_permissions.extend(extra.mesh_traffic_permissions);
    world
}

async fn import_identity_catalog(app: &TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    let component = |name: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n\
             spec: {{type: service, lifecycle: production, owner: group:default/team-x}}\n---\n"
        )
    };
    let text = format!(
        "{}{}{}apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-x\nspec: {{type: team, children: []}}\n",
        component("api"),
        component("web"),
        component("batch")
    );
    std::fs::write(&path, text).expect("write");
    app.import_paths(&[path]).await.expect("import");
}

#[tokio::test]
async fn a_mesh_identity_mesh_is_stored_enforcing_and_judged_by_its_rules() {
    let app = TestApp::new().await;
    import_identity_catalog(&app).await;
    let url = serve_sim(identity_world("Exclusive"), Arc::new(SystemClock::new())).await;
    named_poller(&app, "default", &url)
        .await
        .poll_once()
        .await
        .expect("poll");

    let meshes = repo::list_meshes(&app.pool).await.expect("meshes");
    let mesh = &meshes[0];
    assert!(mesh.mtls_enabled, "workload identities enforce permissions: {mesh:?}");
    assert_eq!(mesh.identity.as_deref(), Some("mesh_identity"));
    assert_eq!(mesh.mtls_mode.as_deref(), Some("STRICT"));
    assert_eq!(mesh.mtls_backend.as_deref(), Some("identity"));
    assert_eq!(mesh.mtls_type.as_deref(), Some("Bundled"));
    assert_eq!(mesh.policy_counts["MeshIdentity"], 1);
    let identities = repo::resources(&app.pool, "default", "default", "MeshIdentity")
        .await
        .expect("identities");
    assert_eq!(identities.len(), 1, "{identities:?}");
    assert_eq!(identities[0]["name"], "identity");
    assert_eq!(identities[0]["spec"]["provider"]["type"], "Bundled");

    // The card: web is admitted by SPIFFE ID, batch is not (the from[] policy does not count).
    let card = app
        .get_json_as("/api/v1/entities/component/default/api/mesh", &app.admin_token)
        .await;
    let callers = &card["services"][0]["callers"];
    assert_eq!(callers["enforced"], true, "{card}");
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|c| c["service"].as_str().expect("service").to_owned())
            .collect()
    };
    assert_eq!(names(&callers["allowed"]), ["web"], "{callers}");
    assert_eq!(names(&callers["denied"]), ["batch"], "{callers}");
    assert!(
        callers["allowed"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("api-callers, rules[0] allow")),
        "{callers}"
    );
    let (_, page) = app.get("/catalog/component/default/api").await;
    assert!(
        page.contains(r#"data-test-caller="batch=deny""#),
        "the card shows batch denied"
    );

    // The policy Bearing proposes for such a mesh is in the rules[] form (SPIFFE IDs), the only
    // one its proxies are judged by; with no declared consumer it denies the whole trust domain.
    let preview = app
        .get_json_as("/api/v1/entities/component/default/api/policy", &app.admin_token)
        .await;
    assert_eq!(preview["form"], "rules", "{preview:#}");
    assert!(preview["proposed"]["spec"]["rules"].is_array(), "{preview:#}");
    assert!(preview["proposed"]["spec"].get("from").is_none());
    assert_eq!(
        preview["proposed"]["spec"]["rules"][0]["default"]["deny"][0]["spiffeID"]["value"],
        "spiffe://default.default.mesh.local",
        "{preview:#}"
    );
}

#[tokio::test]
async fn a_mesh_identity_kuma_has_not_initialized_enforces_nothing_yet() {
    let app = TestApp::new().await;
    // Kuma initializes a MeshIdentity only with MeshServices Exclusive.
    let url = serve_sim(identity_world("Everywhere"), Arc::new(SystemClock::new())).await;
    named_poller(&app, "default", &url)
        .await
        .poll_once()
        .await
        .expect("poll");
    let meshes = repo::list_meshes(&app.pool).await.expect("meshes");
    assert!(!meshes[0].mtls_enabled, "{:?}", meshes[0]);
    assert_eq!(
        meshes[0].identity.as_deref(),
        Some("mesh_identity"),
        "still a MeshIdentity mesh"
    );
    assert_eq!(meshes[0].mtls_mode, None);

    // A Kuma 2.x mesh with Mesh.mtls.
    let url = serve_sim(super::small_world(), Arc::new(SystemClock::new())).await;
    named_poller(&app, "default", &url)
        .await
        .poll_once()
        .await
        .expect("poll");
    let meshes = repo::list_meshes(&app.pool).await.expect("meshes");
    assert!(meshes[0].mtls_enabled);
    assert_eq!(meshes[0].identity.as_deref(), Some("mesh_mtls"));
    assert_eq!(meshes[0].mtls_backend.as_deref(), Some("ca-1"));
}

#[tokio::test]
async fn dataplane_labels_are_stored_and_bounded() {
    let logs = crate::logs::install();
    let app = TestApp::new().await;
    let mut hostile = serde_json::Map::new();
    for i in 0..100 {
        hostile.insert(format!("k{i:03}"), serde_json::json!(format!("v{i}")));
    }
    hostile.insert("long".into(), serde_json::json!("x".repeat(10_000)));
    hostile.insert("y".repeat(10_000), serde_json::json!("v"));
    hostile.insert("bad key!".into(), serde_json::json!("v"));
    let world = serde_json::json!({
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}}],
        "services": [
            {"name": "web", "labels": {"app": "web", "team": "team-a", "k8s.kuma.io/namespace": "shop"},
             "proxies": [{"name": "web-1"}, {"name": "web-2", "labels": {"team": "team-b"}}]},
            {"name": "backend", "labels": {"app": "backend", "k8s.kuma.io/namespace": "shop"}, "replicas": 1},
            {"name": "hostile", "labels": hostile, "proxies": [{"name": "hostile-labels-proxy"}]}
        ]
    });
    let world = WorldSpec::parse(&world.to_string()).expect("world");
    let url = serve_sim(world, Arc::new(SystemClock::new())).await;
    let mut poller = named_poller(&app, "labels", &url).await;
    poller.poll_once().await.expect("a hostile world still polls");

    let web = repo::labels_of_service(&app.pool, "labels", "default", "web")
        .await
        .expect("labels");
    assert_eq!(web.len(), 2, "{web:?}");
    assert_eq!(web[0].get("team").map(String::as_str), Some("team-a"));
    assert_eq!(web[1].get("team").map(String::as_str), Some("team-b"));
    assert_eq!(web[0].get("k8s.kuma.io/namespace").map(String::as_str), Some("shop"));
    assert_eq!(web[0].get("kuma.io/mesh").map(String::as_str), Some("default"));

    let mesh = repo::labels_of_mesh(&app.pool, "labels", "default")
        .await
        .expect("labels");
    assert_eq!(
        mesh.keys().map(String::as_str).collect::<Vec<_>>(),
        ["backend", "hostile", "web"]
    );
    assert_eq!(mesh["web"], web);
    assert_eq!(mesh["backend"][0].get("app").map(String::as_str), Some("backend"));
    let kept = &mesh["hostile"][0];
    assert_eq!(kept.len(), MAX_LABELS, "{kept:?}");
    assert!(kept.iter().all(|(k, v)| k.len() <= 253 && v.len() <= 63), "{kept:?}");
    assert!(!kept.contains_key("long") && !kept.contains_key("bad key!"));

    // The labels come with the proxies' other columns too.
    let proxies = repo::list_proxies(&app.pool, "labels").await.expect("proxies");
    let web1 = proxies.iter().find(|p| p.name == "web-1").expect("web-1");
    assert_eq!(web1.labels.get("app").map(String::as_str), Some("web"));

    // One warning per poll names the first proxy that lost labels.
    poller.poll_once().await.expect("again");
    assert_eq!(
        logs.count("dataplane labels Kuma would refuse", "hostile-labels-proxy"),
        2
    );
}
