//! `--kuma-policy-mode`: an import that changes a provider's declared consumers leaves its
//! policy out of date (`propose`: marked for a lead, `apply`: applied as the importer, never
//! over an edit made outside Bearing; `off`: nothing written, nothing marked), against kuma-sim.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::policy::follow::follow_marks;
use app::policy::PolicyMode;
use kuma_sim::clock::ManualClock;
use kuma_sim::WorldSpec;
use serde_json::{json, Value};

use super::{args, poller, serve_sim};
use crate::util::TestApp;

/// `web` and `jobs` call `backend`, which a mesh-wide policy opens to everyone.
fn world() -> WorldSpec {
    WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}}],
        "services": [{"name": "web", "replicas": 1}, {"name": "jobs", "replicas": 1}, {"name": "backend", "replicas": 1}],
        "meshTrafficPermissions": [{"name": "allow-all", "mesh": "default", "spec": {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}],
        "traffic": [{"from": "web", "to": "backend", "rps": 10}, {"from": "jobs", "to": "backend", "rps": 2}]
    }"#,
    )
    .expect("world")
}

const POLICY: &str = "/api/v1/entities/component/default/backend/policy";

/// The catalog: `web` depends on `backend`, and `jobs` too when `jobs_depends`.
fn write_catalog(path: &Path, jobs_depends: bool) {
    let jobs_deps = if jobs_depends {
        "[component:default/backend]"
    } else {
        "[]"
    };
    std::fs::write(
        path,
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\n\
             spec: {{type: website, lifecycle: production, owner: group:default/team-web, dependsOn: [component:default/backend]}}\n---\n\
             apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: jobs\n\
             spec: {{type: service, lifecycle: production, owner: group:default/team-web, dependsOn: {jobs_deps}}}\n---\n\
             apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: backend\n\
             spec: {{type: service, lifecycle: production, owner: group:default/team-core}}\n---\n\
             apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-web\nspec: {{type: team, children: []}}\n---\n\
             apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-core\nspec: {{type: team, children: []}}\n"
        ),
    )
    .expect("write");
}

/// An app writing to a fresh sim in `mode`, with the first catalog imported and polled.
async fn setup(mode: PolicyMode) -> (TestApp, String, PathBuf, tempfile::TempDir) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(world(), clock).await;
    let mut control_plane = super::cp(&url);
    control_plane.policy_mode = mode;
    let writer = server::mesh::writer::Writer::new(&[control_plane], &args()).expect("writer");
    let app = TestApp::new().await.with_control_planes(writer);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    write_catalog(&path, false);
    let report = app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    assert_eq!(
        report.consumers_changed,
        ["component:default/backend"],
        "web's dependency is new"
    );
    poller(&app, &url).await.poll_once().await.expect("poll");
    (app, url, path, dir)
}

async fn in_sim(url: &str) -> Option<Value> {
    let res = reqwest::get(format!("{url}/meshes/default/meshtrafficpermissions/bearing-backend"))
        .await
        .expect("sim");
    if res.status() == 404 {
        return None;
    }
    Some(serde_json::from_str(&res.text().await.expect("body")).expect("json"))
}

fn allowed_callers(policy: &Value) -> Vec<String> {
    policy["spec"]["from"]
        .as_array()
        .expect("from")
        .iter()
        .filter(|f| f["default"]["action"] == "Allow")
        .filter_map(|f| f["targetRef"]["tags"]["kuma.io/service"].as_str().map(str::to_owned))
        .collect()
}

async fn apply_by_hand(app: &TestApp) -> Value {
    let hash = app.get_json_as(POLICY, &app.admin_token).await["proposed"]["hash"].clone();
    let (code, body) = app
        .call(
            "POST",
            &format!("{POLICY}/apply"),
            Some(&app.admin_token),
            Some(json!({"reason": "follow the catalog", "expected_hash": hash})),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{body}");
    body
}

#[tokio::test]
async fn propose_marks_a_changed_policy_until_a_lead_applies_it() {
    let (app, url, path, _dir) = setup(PolicyMode::Propose).await;

    // No Bearing policy in the mesh yet: nothing is out of date, and nothing is written.
    let done = follow_marks(&app.ctx).await.expect("pass");
    assert_eq!(done.cleared, ["component:default/backend"], "{done:?}");
    let preview = app.get_json_as(POLICY, &app.admin_token).await;
    assert_eq!(preview["mode"], "propose");
    assert!(preview["out_of_date"].is_null(), "{preview:#}");
    assert!(in_sim(&url).await.is_none());

    apply_by_hand(&app).await;
    assert_eq!(allowed_callers(&in_sim(&url).await.expect("applied")), ["web"]);

    // jobs now declares backend too: the applied policy no longer follows the catalog.
    write_catalog(&path, true);
    let report = app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    assert_eq!(report.consumers_changed, ["component:default/backend"]);
    let done = follow_marks(&app.ctx).await.expect("pass");
    assert_eq!(done.proposed, ["component:default/backend"], "{done:?}");
    let preview = app.get_json_as(POLICY, &app.admin_token).await;
    let mark = &preview["out_of_date"];
    assert!(
        mark["cause"].as_str().expect("cause").starts_with("import of "),
        "{mark:#}"
    );
    assert!(
        mark["imported_by"]
            .as_str()
            .expect("importer")
            .starts_with("system:cli"),
        "{mark:#}"
    );
    assert!(mark["last_error"].is_null());
    let (code, page) = app.get("/catalog/component/default/backend").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(r#"data-test="policy-out-of-date""#),
        "the Policy tab says so"
    );
    // The cause names import sources, which are file names anyone could choose: shown as text.
    sqlx::query("UPDATE policy_out_of_date SET cause = $1")
        .bind(r#"import of /srv/"><script>alert(1)</script><b x=".yaml"#)
        .execute(&app.superuser)
        .await
        .expect("hostile cause");
    // (A URL the page cache has not kept: the update above goes around Bearing.)
    let (_, page) = app.get("/catalog/component/default/backend?fresh=1").await;
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped as text"
    );
    assert!(
        !page.contains("<script>alert(1)") && !page.contains(r#""><script>"#),
        "no break-out"
    );
    assert_eq!(
        allowed_callers(&in_sim(&url).await.expect("still there")),
        ["web"],
        "propose writes nothing"
    );

    // Re-importing the same files changes nothing and marks nothing.
    let again = app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    assert!(again.consumers_changed.is_empty());

    // The lead applies: the mark is gone and the mesh follows the catalog.
    apply_by_hand(&app).await;
    assert!(app.get_json_as(POLICY, &app.admin_token).await["out_of_date"].is_null());
    assert_eq!(follow_marks(&app.ctx).await.expect("pass"), Default::default());
    let mut callers = allowed_callers(&in_sim(&url).await.expect("applied"));
    callers.sort();
    assert_eq!(callers, ["jobs", "web"]);
}

#[tokio::test]
async fn apply_follows_imports_as_the_importer_but_never_over_an_outside_edit() {
    let (app, url, path, _dir) = setup(PolicyMode::Apply).await;

    // The first import declared web -> backend: the worker creates the policy, as the importer.
    let done = follow_marks(&app.ctx).await.expect("pass");
    assert_eq!(done.applied, ["component:default/backend"], "{done:?}");
    assert_eq!(allowed_callers(&in_sim(&url).await.expect("created")), ["web"]);
    let actors: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT actor, reason FROM audit_log WHERE action = 'mesh.policy.apply'")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(actors.len(), 1);
    assert!(
        actors[0].0.starts_with("system:cli"),
        "audited as the importing identity: {actors:?}"
    );
    assert!(actors[0]
        .1
        .as_deref()
        .unwrap_or_default()
        .contains("--kuma-policy-mode apply"));
    assert_eq!(
        follow_marks(&app.ctx).await.expect("pass"),
        Default::default(),
        "nothing left"
    );

    // jobs declares backend: re-applied at the next pass.
    write_catalog(&path, true);
    app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    poller(&app, &url).await.poll_once().await.expect("poll");
    assert_eq!(
        follow_marks(&app.ctx).await.expect("pass").applied,
        ["component:default/backend"]
    );
    let mut callers = allowed_callers(&in_sim(&url).await.expect("updated"));
    callers.sort();
    assert_eq!(callers, ["jobs", "web"]);

    // Someone edits it outside Bearing; then jobs drops backend. Bearing does not overwrite the
    // edit: the attempt fails, says why on the Policy tab, and the edit stays.
    let mut edited = in_sim(&url).await.expect("policy");
    edited["spec"]["from"][0]["default"]["action"] = json!("AllowWithShadowDeny");
    let res = reqwest::Client::new()
        .put(format!("{url}/meshes/default/meshtrafficpermissions/bearing-backend"))
        .header("content-type", "application/json")
        .body(edited.to_string())
        .send()
        .await
        .expect("outside edit");
    assert!(res.status().is_success());
    poller(&app, &url).await.poll_once().await.expect("poll");
    write_catalog(&path, false);
    app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    let done = follow_marks(&app.ctx).await.expect("pass");
    assert_eq!(done.failed.len(), 1, "{done:?}");
    assert!(done.failed[0].contains("edited outside Bearing"), "{done:?}");
    let preview = app.get_json_as(POLICY, &app.admin_token).await;
    assert_eq!(preview["out_of_date"]["attempts"], 1);
    assert!(preview["out_of_date"]["last_error"]
        .as_str()
        .expect("error")
        .contains("adopt or revert"));
    assert_eq!(
        in_sim(&url).await.expect("policy")["spec"]["from"][0]["default"]["action"],
        "AllowWithShadowDeny",
        "the outside edit is kept"
    );
    // The failed mark waits before its next attempt.
    assert_eq!(follow_marks(&app.ctx).await.expect("pass"), Default::default());

    // Reverting the edit by hand (applying the proposal) settles it.
    apply_by_hand(&app).await;
    assert!(app.get_json_as(POLICY, &app.admin_token).await["out_of_date"].is_null());
    assert_eq!(allowed_callers(&in_sim(&url).await.expect("policy")), ["web"]);
}

#[tokio::test]
async fn off_writes_nothing_and_keeps_no_marks() {
    let (app, url, _path, _dir) = setup(PolicyMode::Off).await;
    let done = follow_marks(&app.ctx).await.expect("pass");
    assert_eq!(done.cleared, ["component:default/backend"], "{done:?}");
    assert!(in_sim(&url).await.is_none());
    let preview = app.get_json_as(POLICY, &app.admin_token).await;
    assert_eq!(
        (preview["mode"].as_str(), preview["can_apply"].as_bool()),
        (Some("off"), Some(false))
    );
    let (code, body) = app
        .call(
            "POST",
            &format!("{POLICY}/apply"),
            Some(&app.admin_token),
            Some(json!({"reason": "try", "expected_hash": preview["proposed"]["hash"]})),
        )
        .await;
    assert_eq!(code.as_u16(), 409, "{body}");
    assert!(body.to_string().contains("--kuma-policy-mode off"), "{body}");
    let (_, page) = app.get("/catalog/component/default/backend").await;
    assert!(page.contains(r#"data-test="policy-mode-off""#));
}

#[tokio::test]
async fn a_shadow_phase_is_applied_on_request_and_kept_when_the_catalog_changes() {
    let (app, url, path, _dir) = setup(PolicyMode::Apply).await;
    let preview = app.get_json_as(POLICY, &app.admin_token).await;
    assert_ne!(preview["shadow_phase"]["hash"], preview["proposed"]["hash"]);
    assert_eq!(preview["in_shadow"], false);

    // A lead starts with the shadow phase; the enforcing hash does not apply it.
    let apply = |hash: &Value| json!({"reason": "shadow first", "expected_hash": hash, "shadow": true});
    let (code, _) = app
        .call(
            "POST",
            &format!("{POLICY}/apply"),
            Some(&app.admin_token),
            Some(apply(&preview["proposed"]["hash"])),
        )
        .await;
    assert_eq!(code.as_u16(), 409, "the shadow phase has its own hash");
    let (code, body) = app
        .call(
            "POST",
            &format!("{POLICY}/apply"),
            Some(&app.admin_token),
            Some(apply(&preview["shadow_phase"]["hash"])),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{body}");
    let policy = in_sim(&url).await.expect("applied");
    assert_eq!(policy["spec"]["from"][0]["default"]["action"], "AllowWithShadowDeny");
    assert_eq!(app.get_json_as(POLICY, &app.admin_token).await["in_shadow"], true);
    let (_, page) = app.get("/catalog/component/default/backend").await;
    assert!(page.contains(r#"data-test="policy-in-shadow""#));

    // Applying by hand settled the import's mark ...
    assert_eq!(follow_marks(&app.ctx).await.expect("pass"), Default::default());
    // ... and when jobs declares backend, the re-applied policy keeps its shadow phase.
    write_catalog(&path, true);
    app.import_paths(std::slice::from_ref(&path)).await.expect("import");
    assert_eq!(
        follow_marks(&app.ctx).await.expect("pass").applied,
        ["component:default/backend"]
    );
    let policy = in_sim(&url).await.expect("re-applied");
    assert_eq!(policy["spec"]["from"][0]["default"]["action"], "AllowWithShadowDeny");
    let mut callers = allowed_callers(&policy);
    callers.sort();
    assert_eq!(callers, ["jobs", "web"]);
}
