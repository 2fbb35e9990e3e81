//! A component's MeshTrafficPermission from its declared consumers, against kuma-sim: preview
//! shows the observed caller it would deny; a lead of the owning team applies it; the sim then
//! denies undeclared traffic and, after the next poll, the edges reclassify; an edit outside
//! Bearing shows; rollback deletes what Bearing created; a read-only control plane gets the
//! manifest instead; nobody else may apply or roll back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kuma_sim::clock::ManualClock;
use kuma_sim::WorldSpec;
use serde_json::{json, Value};

use super::{args, cp, poller, serve_sim, sim_post};
use crate::util::TestApp;

/// `backend` admits everyone through a mesh-wide policy; `web` (declared) and `stranger`
/// (undeclared, not in the catalog) call it.
fn world() -> WorldSpec {
    WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}}],
        "services": [{"name": "web", "replicas": 1}, {"name": "backend", "replicas": 1}, {"name": "stranger", "replicas": 1}],
        "meshTrafficPermissions": [{"name": "allow-all", "mesh": "default", "spec": {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}],
        "traffic": [{"from": "web", "to": "backend", "rps": 10}, {"from": "stranger", "to": "backend", "rps": 5}]
    }"#,
    )
    .expect("world")
}

async fn import_catalog(app: &TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &path,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\n\
         spec: {type: website, lifecycle: production, owner: group:default/team-web, dependsOn: [component:default/backend]}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: backend\n\
         spec: {type: service, lifecycle: production, owner: group:default/team-core}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-web\nspec: {type: team, children: []}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-core\nspec: {type: team, children: []}\n",
    )
    .expect("write");
    app.import_paths(&[path]).await.expect("import");
}

const POLICY: &str = "/api/v1/entities/component/default/backend/policy";

/// A poll, then two stats reads a simulated minute apart.
struct Observer {
    poller: server::mesh::poller::Poller,
    clock: Arc<ManualClock>,
    t: Instant,
}

impl Observer {
    async fn round(&mut self) {
        self.poller.poll_once().await.expect("poll");
        self.poller.stats_at(self.t).await.expect("stats");
        self.clock.advance(Duration::from_secs(60));
        self.t += Duration::from_secs(60);
        self.poller.stats_at(self.t).await.expect("stats");
    }
}

async fn class_of(app: &TestApp, from: &str, to: &str) -> String {
    let body = app
        .get_json_as(&format!("/api/v1/mesh/edges?service={to}"), &app.admin_token)
        .await;
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["from"]["service"] == from && e["to"]["service"] == to)
        .map(|e| e["class"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no edge {from} -> {to}: {body:#}"))
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (code, body) = app.call("POST", path, Some(token), Some(body)).await;
    (code.as_u16(), body)
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<(Option<Value>, Option<Value>)> {
    sqlx::query_as("SELECT before, after FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .expect("audit")
}

#[tokio::test]
async fn preview_apply_enforce_reclassify_detect_outside_edits_and_roll_back() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(world(), clock.clone()).await;
    // The control plane turns read-only halfway, and the next preview must say so.
    let asks_every_time = server::config::KumaArgs {
        kuma_read_only_recheck: Duration::ZERO,
        ..args()
    };
    let writer = server::mesh::writer::Writer::new(&[cp(&url)], &asks_every_time).expect("writer");
    let app = TestApp::new().await.with_control_planes(writer);
    import_catalog(&app).await;
    let mut observer = Observer {
        poller: poller(&app, &url).await,
        clock,
        t: Instant::now(),
    };
    observer.round().await;
    assert_eq!(class_of(&app, "stranger", "backend").await, "undeclared");

    // Preview: exactly web may call backend; stranger, observed, would be denied.
    let viewer = app.token("viewer", None).await;
    let preview = app.get_json_as(POLICY, &viewer).await;
    assert_eq!(preview["proposed"]["name"], "bearing-backend");
    assert_eq!(preview["form"], "from");
    assert_eq!(
        preview["consumers"],
        json!([{"service": "web", "component": "component:default/web"}])
    );
    assert!(preview["current"].is_null());
    assert_eq!(
        preview["outranked_by"],
        json!([]),
        "a mesh-wide policy ranks below the proposal"
    );
    assert_eq!(preview["write_path"], "api");
    assert_eq!(preview["can_apply"], false, "a viewer may not apply");
    let denied: Vec<&str> = preview["would_deny"]
        .as_array()
        .expect("would_deny")
        .iter()
        .filter_map(|c| c["service"].as_str())
        .collect();
    assert_eq!(denied, ["stranger"], "{preview:#}");
    assert!(preview["diff"]
        .as_str()
        .expect("diff")
        .contains("+name: bearing-backend"));
    let hash = preview["proposed"]["hash"].as_str().expect("hash").to_owned();

    // Who may apply: a lead of the owning team or an admin; nobody else, and a refusal
    // changes nothing.
    let lead = app.token("lead", Some("team-core")).await;
    let other_lead = app.token("lead", Some("team-web")).await;
    let apply = |hash: &str, reason: &str| json!({"reason": reason, "expected_hash": hash});
    for token in [&viewer, &other_lead] {
        let (code, body) = post(&app, &format!("{POLICY}/apply"), token, apply(&hash, "no")).await;
        assert_eq!(code, 403, "{body}");
        let (code, _) = post(&app, &format!("{POLICY}/rollback"), token, json!({"reason": "no"})).await;
        assert_eq!(code, 403);
    }
    assert!(audit_rows(&app, "mesh.policy.apply").await.is_empty());
    let (code, body) = post(&app, &format!("{POLICY}/apply"), &lead, apply("0000000000000000", "go")).await;
    assert_eq!(code, 409, "a stale preview is refused: {body}");
    let (code, _) = post(&app, &format!("{POLICY}/apply"), &lead, apply(&hash, "  ")).await;
    assert_eq!(code, 422, "a reason is required");
    let (code, _) = post(&app, &format!("{POLICY}/rollback"), &lead, json!({"reason": "undo"})).await;
    assert_eq!(code, 409, "nothing to roll back yet");
    assert_eq!(app.get_json_as(POLICY, &lead).await["can_apply"], true);

    let (code, body) = post(
        &app,
        &format!("{POLICY}/apply"),
        &lead,
        apply(&hash, "only web calls backend"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "created");
    let applied = audit_rows(&app, "mesh.policy.apply").await;
    assert_eq!(applied.len(), 1);
    assert!(applied[0].0.is_none(), "nothing before");
    assert_eq!(applied[0].1.as_ref().expect("after")["name"], "bearing-backend");

    // The control plane has it, and enforces it: after the next poll, stranger is denied.
    let in_sim: Value = serde_json::from_str(
        &reqwest::get(format!("{url}/meshes/default/meshtrafficpermissions/bearing-backend"))
            .await
            .expect("sim")
            .text()
            .await
            .expect("body"),
    )
    .expect("json");
    assert_eq!(in_sim["labels"]["bearing.dev/spec-hash"], hash.as_str());
    observer.round().await;
    assert_eq!(class_of(&app, "stranger", "backend").await, "denied_unknown");
    assert_eq!(class_of(&app, "web", "backend").await, "healthy");
    let denied_rate: f64 = sqlx::query_scalar(
        "SELECT denied_per_s FROM mesh_observed_edges WHERE caller = 'stranger' AND callee = 'backend'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("observed");
    assert!(
        (denied_rate - 5.0).abs() < 0.01,
        "the sim answers stranger with 403s: {denied_rate}"
    );
    let after = app.get_json_as(POLICY, &lead).await;
    assert_eq!(after["current"]["managed"], true);
    assert_eq!(after["current"]["edited_outside"], false);
    assert_eq!(after["can_rollback"], true);
    assert!(after["would_deny"].as_array().expect("would_deny").is_empty());

    // Someone edits it outside Bearing: the hash no longer matches.
    let mut edited = in_sim.clone();
    edited["spec"]["from"][1]["default"]["action"] = json!("AllowWithShadowDeny");
    let res = reqwest::Client::new()
        .put(format!("{url}/meshes/default/meshtrafficpermissions/bearing-backend"))
        .header("content-type", "application/json")
        .body(edited.to_string())
        .send()
        .await
        .expect("outside edit");
    assert!(res.status().is_success(), "{}", res.status());
    observer.poller.poll_once().await.expect("poll");
    assert_eq!(app.get_json_as(POLICY, &lead).await["current"]["edited_outside"], true);
    let (code, page) = app.get("/catalog/component/default/backend").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(r#"data-test="policy-edited-outside""#),
        "the page says so"
    );

    // Adopt keeps the edit (written back with its own hash); rolling that back restores the edit.
    let (code, _) = post(&app, &format!("{POLICY}/adopt"), &other_lead, json!({"reason": "mine"})).await;
    assert_eq!(code, 403);
    let (code, body) = post(
        &app,
        &format!("{POLICY}/adopt"),
        &lead,
        json!({"reason": "keep the shadow phase"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let adopted = app.get_json_as(POLICY, &lead).await;
    assert_eq!(adopted["current"]["edited_outside"], false);
    assert_eq!(
        adopted["current"]["spec"]["from"][1]["default"]["action"], "AllowWithShadowDeny",
        "the edit is kept"
    );
    let (code, _) = post(&app, &format!("{POLICY}/adopt"), &lead, json!({"reason": "again"})).await;
    assert_eq!(code, 409, "nothing left to adopt");
    let (code, body) = post(
        &app,
        &format!("{POLICY}/rollback"),
        &lead,
        json!({"reason": "undo the adopt"}),
    )
    .await;
    assert_eq!((code, body["outcome"].as_str()), (200, Some("updated")), "{body}");
    assert_eq!(app.get_json_as(POLICY, &lead).await["current"]["edited_outside"], true);

    // Rollback: Bearing created it, so it is deleted; the mesh-wide policy lets stranger in again.
    let (code, body) = post(&app, &format!("{POLICY}/rollback"), &lead, json!({"reason": "undo"})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "deleted");
    let gone = reqwest::get(format!("{url}/meshes/default/meshtrafficpermissions/bearing-backend"))
        .await
        .expect("sim");
    assert_eq!(gone.status(), 404);
    assert_eq!(audit_rows(&app, "mesh.policy.rollback").await.len(), 2);
    assert_eq!(audit_rows(&app, "mesh.policy.adopt").await.len(), 1);
    observer.round().await;
    assert_eq!(class_of(&app, "stranger", "backend").await, "undeclared");
    let (code, _) = post(&app, &format!("{POLICY}/rollback"), &lead, json!({"reason": "again"})).await;
    assert_eq!(code, 409, "a rollback is undone once");

    // A read-only control plane: the manifest to apply instead, and no write.
    sim_post(&url, "/_sim/read-only", json!({"enabled": true})).await;
    let preview = app.get_json_as(POLICY, &lead).await;
    assert_eq!(preview["write_path"], "read_only");
    let manifest = preview["proposed"]["kubernetes_yaml"].as_str().expect("manifest");
    assert!(manifest.contains("apiVersion: kuma.io/v1alpha1") && manifest.contains("kind: MeshTrafficPermission"));
    let request = axum::http::Request::get(format!("{POLICY}?format=kubernetes"))
        .header("authorization", format!("Bearer {lead}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let (code, download) = app.send(request).await;
    assert_eq!(code, 200);
    assert_eq!(download, manifest, "the download is the manifest shown");
    let (code, _) = app
        .call("GET", &format!("{POLICY}?format=xml"), Some(&lead), None)
        .await;
    assert_eq!(code, 422);
    let hash = preview["proposed"]["hash"].as_str().expect("hash");
    let (code, body) = post(&app, &format!("{POLICY}/apply"), &lead, apply(hash, "try")).await;
    assert_eq!(code, 409);
    assert!(body.to_string().contains("kubectl"), "{body}");
}
