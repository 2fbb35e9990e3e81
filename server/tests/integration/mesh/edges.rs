//! `GET /api/v1/mesh/edges`: declared, observed and permitted traffic of a kuma-sim world with
//! a catalog, each edge in its class.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kuma_sim::clock::ManualClock;
use kuma_sim::WorldSpec;
use serde_json::Value;

use super::{poller, serve_sim};
use crate::util::TestApp;

/// mTLS on, STRICT. `backend` admits only `web`; `audit` admits the whole mesh; nothing selects
/// `ledger` or `stranger`, so with mTLS on they admit nobody.
pub(super) fn world() -> WorldSpec {
    WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}}],
        "services": [
            {"name": "web", "replicas": 1}, {"name": "backend", "replicas": 1},
            {"name": "stranger", "replicas": 1}, {"name": "ledger", "replicas": 1},
            {"name": "audit", "replicas": 1}
        ],
        "meshTrafficPermissions": [
            {"name": "allow-web", "mesh": "default", "spec": {
                "targetRef": {"kind": "MeshService", "name": "backend"},
                "from": [{"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"action": "Allow"}}]}},
            {"name": "audit-open", "mesh": "default", "spec": {
                "targetRef": {"kind": "MeshService", "name": "audit"},
                "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}
        ],
        "traffic": [
            {"from": "web", "to": "backend", "rps": 20},
            {"from": "stranger", "to": "backend", "rps": 5},
            {"from": "web", "to": "stranger", "rps": 2},
            {"from": "backend", "to": "audit", "rps": 3}
        ]
    }"#,
    )
    .expect("world")
}

/// web depends on backend and stranger, and consumes ledger's API; ledger depends on audit.
/// `stranger` is in the catalog only as a name web depends on (a component of that name).
async fn import_catalog(app: &TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    let component = |name: &str, owner: &str, extra: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n\
             spec: {{type: service, lifecycle: production, owner: group:default/{owner}{extra}}}\n---\n"
        )
    };
    let mut text = String::new();
    text += &component(
        "web",
        "team-web",
        ", dependsOn: [component:default/backend, component:default/stranger], consumesApis: [api:default/ledger-api]",
    );
    text += &component("backend", "team-core", "");
    text += &component("stranger", "team-core", "");
    text += &component(
        "ledger",
        "team-core",
        ", providesApis: [api:default/ledger-api], dependsOn: [component:default/audit]",
    );
    text += &component("audit", "team-core", "");
    text += "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: ledger-api\n\
             spec: {type: openapi, lifecycle: production, owner: group:default/team-core, definition: 'openapi: 3.0.0'}\n---\n";
    for team in ["team-web", "team-core"] {
        text += &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {team}\nspec: {{type: team, children: []}}\n---\n"
        );
    }
    std::fs::write(&path, text).expect("write");
    app.import_paths(&[path]).await.expect("import");
}

/// Polls the world and reads stats twice, 60 simulated seconds apart.
pub(super) async fn observe(app: &TestApp, world: WorldSpec) -> String {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(world, clock.clone()).await;
    let mut poller = poller(app, &url).await;
    poller.poll_once().await.expect("poll");
    let t0 = Instant::now();
    poller.stats_at(t0).await.expect("first stats read");
    clock.advance(Duration::from_secs(60));
    poller
        .stats_at(t0 + Duration::from_secs(60))
        .await
        .expect("second stats read");
    url
}

fn class_of<'a>(items: &'a [Value], from: &str, to: &str) -> &'a str {
    items
        .iter()
        .find(|e| e["from"]["service"] == from && e["to"]["service"] == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to} in {items:#?}"))["class"]
        .as_str()
        .expect("class")
}

#[tokio::test]
async fn every_edge_gets_its_class_and_the_filters_and_csv_agree() {
    let app = TestApp::new().await;
    import_catalog(&app).await;
    observe(&app, world()).await;

    let body = app.get_json_as("/api/v1/mesh/edges", &app.admin_token).await;
    let items = body["items"].as_array().expect("items").clone();
    assert_eq!(class_of(&items, "web", "backend"), "healthy");
    assert_eq!(class_of(&items, "stranger", "backend"), "denied_unknown");
    assert_eq!(class_of(&items, "web", "stranger"), "declared_denied");
    assert_eq!(class_of(&items, "web", "ledger"), "will_break");
    assert_eq!(class_of(&items, "backend", "audit"), "undeclared");
    assert_eq!(class_of(&items, "ledger", "audit"), "unused_grant");
    assert_eq!(class_of(&items, "*", "audit"), "over_permitted");
    assert_eq!(items.len(), 7, "no other edges: {items:#?}");
    assert_eq!(body["total"], 7);
    assert_eq!(body["counts"]["healthy"], 1);
    assert_eq!(body["counts"]["declared_denied"], 1);
    assert_eq!(items[0]["class"], "declared_denied", "worst first");

    // What each edge says besides its class.
    let edge = |from: &str, to: &str| {
        items
            .iter()
            .find(|e| e["from"]["service"] == from && e["to"]["service"] == to)
            .expect("edge")
            .clone()
    };
    let healthy = edge("web", "backend");
    assert_eq!(healthy["from"]["component"], "component:default/web");
    assert_eq!(healthy["declared_via"], serde_json::json!(["dependsOn"]));
    assert_eq!(healthy["permitted"]["allowed"], true);
    assert_eq!(healthy["permitted"]["enforced"], true);
    assert_eq!(healthy["permitted"]["policy"], "allow-web");
    assert_eq!(healthy["mtls"], true);
    let rps = healthy["observed"]["requests_per_s"].as_f64().expect("rps");
    assert!((rps - 20.0).abs() < 0.01, "{healthy}");
    assert!(healthy["observed"]["last_seen"].is_string());
    let will_break = edge("web", "ledger");
    assert_eq!(
        will_break["declared_via"],
        serde_json::json!(["consumesApi api:default/ledger-api"])
    );
    assert!(will_break["observed"].is_null());
    assert_eq!(will_break["permitted"]["allowed"], false);

    // Filters: class, service, team, component; paging.
    let broken = app
        .get_json_as("/api/v1/mesh/edges?class=will_break,declared_denied", &app.admin_token)
        .await;
    assert_eq!(broken["total"], 2);
    let of_audit = app
        .get_json_as("/api/v1/mesh/edges?service=audit", &app.admin_token)
        .await;
    assert_eq!(of_audit["total"], 3, "{of_audit:#}");
    let team_web = app
        .get_json_as("/api/v1/mesh/edges?team=team-web", &app.admin_token)
        .await;
    assert_eq!(team_web["total"], 3, "web's three edges: {team_web:#}");
    let team_web_full = app
        .get_json_as("/api/v1/mesh/edges?team=group:default/team-web", &app.admin_token)
        .await;
    assert_eq!(team_web_full["total"], 3);
    let by_component = app
        .get_json_as(
            "/api/v1/mesh/edges?component=component:default/ledger",
            &app.admin_token,
        )
        .await;
    assert_eq!(by_component["total"], 2);
    let page = app.get_json_as("/api/v1/mesh/edges?limit=3", &app.admin_token).await;
    assert_eq!(page["items"].as_array().expect("items").len(), 3);
    assert_eq!(page["next_offset"], 3);
    let last = app
        .get_json_as("/api/v1/mesh/edges?limit=3&offset=6", &app.admin_token)
        .await;
    assert_eq!(last["items"].as_array().expect("items").len(), 1);
    assert!(last["next_offset"].is_null());
    let other_mesh = app.get_json_as("/api/v1/mesh/edges?mesh=nope", &app.admin_token).await;
    assert_eq!(other_mesh["total"], 0);

    // CSV: the same rows, a header, RFC 4180.
    let request = axum::http::Request::get("/api/v1/mesh/edges?format=csv")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .body(axum::body::Body::empty())
        .expect("request");
    let (code, csv) = app.send(request).await;
    assert_eq!(code, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("header").clone();
    assert_eq!(&header[0], "control_plane");
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 7);
    let class_col = header.iter().position(|h| h == "class").expect("class column");
    assert_eq!(&rows[0][class_col], "declared_denied");

    // The entity page's graph draws the three layers: the declared dependency on backend takes
    // the class of the traffic over it, the undeclared-and-denied caller of stranger is drawn too.
    let (code, page) = app.get("/catalog/component/default/web").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(
            r#"data-test-graph-edge="component:default/web|component:default/backend" data-test-class="healthy""#
        ),
        "the declared, observed and permitted edge is healthy on the map"
    );
    assert!(page.contains(
        r#"data-test-graph-edge="component:default/web|component:default/stranger" data-test-class="declared_denied""#
    ));
    assert!(page.contains(
        r#"data-test-graph-edge="component:default/web|component:default/ledger" data-test-class="will_break""#
    ));
    assert!(
        page.contains("data-test-graph-legend"),
        "a legend names the classes drawn"
    );
    assert!(
        page.contains("allow-web, from[0]"),
        "the deciding policy is in the edge's description"
    );
    let (_, backend_page) = app.get("/catalog/component/default/backend").await;
    assert!(
        backend_page.contains(r#"data-test-graph-edge="component:default/stranger|component:default/backend" data-test-class="denied_unknown""#),
        "an undeclared caller is added to the map"
    );

    // Bad input: a clear 422, nothing else.
    for bad in [
        "class=nope",
        "format=xml",
        "limit=0",
        "limit=100000",
        "team=component:default/web",
    ] {
        let (code, body) = app
            .call(
                "GET",
                &format!("/api/v1/mesh/edges?{bad}"),
                Some(&app.admin_token),
                None,
            )
            .await;
        assert_eq!(code, 422, "{bad}: {body}");
        assert!(body["errors"][0]["detail"].is_string(), "{bad}: {body}");
    }
    // Signed out, where anonymous reads are off: 401.
    let strict = TestApp::strict().await;
    let (code, _) = strict.call("GET", "/api/v1/mesh/edges", None, None).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn without_strict_mtls_nothing_is_enforced_or_denied() {
    let app = TestApp::new().await;
    import_catalog(&app).await;
    let mut world = world();
    world.meshes[0].mtls = None;
    observe(&app, world).await;

    let body = app.get_json_as("/api/v1/mesh/edges", &app.admin_token).await;
    let items = body["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .all(|e| e["permitted"]["enforced"] == false && e["mtls"] == false),
        "{items:#?}"
    );
    assert!(
        items.iter().all(|e| e["from"]["service"] != "*"),
        "over_permitted needs enforcement: {items:#?}"
    );
    // Traffic flows, so an observed undeclared call is not "denied" without enforcement.
    assert_ne!(class_of(items, "stranger", "backend"), "denied_unknown");
    assert_ne!(class_of(items, "web", "stranger"), "declared_denied");
}
