//! Policies from admins' templates (`--policy-templates`, the repository's own
//! `policy-templates/`), against kuma-sim: a tier-1 production service gets its timeouts,
//! retries, access log and metrics proposed; a lead of the owning team applies one, the sim
//! takes it (schema-checked) and the next poll reads it back as applied; an edit outside Bearing
//! shows, can be adopted, and rollbacks undo Bearing's writes; nobody else may write; a bad
//! template stops the server at start.

use std::sync::Arc;

use kuma_sim::clock::ManualClock;
use kuma_sim::WorldSpec;
use serde_json::{json, Value};

use super::{args, cp, poller, serve_sim};
use crate::util::TestApp;

fn world() -> WorldSpec {
    WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default", "mtls": {"backend": "ca-1"}}],
        "services": [{"name": "checkout", "replicas": 1}, {"name": "lab", "replicas": 1}],
        "traffic": []
    }"#,
    )
    .expect("world")
}

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: checkout\n  labels: {tier: '1'}\n\
    spec: {type: service, lifecycle: production, owner: group:default/team-shop}\n---\n\
    apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: lab\n\
    spec: {type: service, lifecycle: experimental, owner: group:default/team-shop}\n---\n\
    apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-shop\nspec: {type: team, children: []}\n---\n\
    apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-else\nspec: {type: team, children: []}\n";

const LIST: &str = "/api/v1/entities/component/default/checkout/policy/templates";

fn templates_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy-templates")
}

fn item<'a>(list: &'a Value, template: &str) -> &'a Value {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["template"] == template)
        .unwrap_or_else(|| panic!("no {template}: {list:#}"))
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (code, body) = app.call("POST", path, Some(token), Some(body)).await;
    (code.as_u16(), body)
}

async fn sim_get(url: &str, path: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{url}{path}")).await.expect("sim");
    let code = res.status().as_u16();
    let text = res.text().await.expect("body");
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn templates_propose_apply_read_back_detect_edits_and_roll_back() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(world(), clock).await;
    let mut app = TestApp::new().await;
    app.ctx.policy_templates = bearing_policy::templates::load_dir(&templates_dir())
        .expect("the repository's templates are valid")
        .into();
    let writer = server::mesh::writer::Writer::new(&[cp(&url)], &args()).expect("writer");
    let app = app.with_control_planes(writer);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    std::fs::write(&path, CATALOG).expect("write");
    app.import_paths(&[path]).await.expect("import");
    let mut poll = poller(&app, &url).await;
    poll.poll_once().await.expect("poll");

    // Which templates select whom: tier 1 + production, and experimental.
    let viewer = app.token("viewer", None).await;
    let list = app.get_json_as(LIST, &viewer).await;
    let mut names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["template"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accesslog-production",
            "metrics-production",
            "retries-tier1",
            "timeouts-tier1"
        ]
    );
    assert_eq!(list["can_apply"], false, "a viewer may not apply");
    let lab = app
        .get_json_as("/api/v1/entities/component/default/lab/policy/templates", &viewer)
        .await;
    assert_eq!(lab["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(lab["items"][0]["template"], "metrics-experimental");

    let timeouts = item(&list, "timeouts-tier1");
    assert_eq!(timeouts["kind"], "MeshTimeout");
    assert!(timeouts["current"].is_null());
    assert_eq!(timeouts["up_to_date"], false);
    let name = timeouts["proposed"]["name"].as_str().expect("name").to_owned();
    assert_eq!(
        timeouts["proposed"]["spec"]["targetRef"],
        json!({"kind": "MeshSubset", "tags": {"kuma.io/service": "checkout"}})
    );
    let hash = timeouts["proposed"]["hash"].clone();
    let apply = format!("{LIST}/timeouts-tier1/apply");

    // Only a lead of the owning team or an admin.
    let other_lead = app.token("lead", Some("team-else")).await;
    for token in [&viewer, &other_lead] {
        let (code, body) = post(&app, &apply, token, json!({"reason": "no", "expected_hash": hash})).await;
        assert_eq!(code, 403, "{body}");
    }
    let lead = app.token("lead", Some("team-shop")).await;
    let (code, _) = post(
        &app,
        &format!("{LIST}/no-such-template/apply"),
        &lead,
        json!({"reason": "x", "expected_hash": hash}),
    )
    .await;
    assert_eq!(code, 404);
    let (code, body) = post(
        &app,
        &apply,
        &lead,
        json!({"reason": "tier-1 timeouts", "expected_hash": hash}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "created");

    // The control plane has it; the next poll reads it back and it shows as applied.
    let (code, in_sim) = sim_get(&url, &format!("/meshes/default/meshtimeouts/{name}")).await;
    assert_eq!(code, 200);
    assert_eq!(in_sim["labels"]["bearing.dev/template"], "timeouts-tier1");
    poll.poll_once().await.expect("poll");
    let list = app.get_json_as(LIST, &lead).await;
    assert_eq!(item(&list, "timeouts-tier1")["up_to_date"], true);
    assert_eq!(item(&list, "timeouts-tier1")["can_rollback"], true);
    assert_eq!(
        item(&list, "retries-tier1")["up_to_date"],
        false,
        "only the one applied"
    );

    // Edited outside Bearing: shown, adopted, and the adopt rolled back.
    let mut edited = in_sim.clone();
    edited["spec"]["to"][0]["default"]["http"]["requestTimeout"] = json!("42s");
    let res = reqwest::Client::new()
        .put(format!("{url}/meshes/default/meshtimeouts/{name}"))
        .header("content-type", "application/json")
        .body(edited.to_string())
        .send()
        .await
        .expect("outside edit");
    assert!(res.status().is_success(), "{}", res.status());
    poll.poll_once().await.expect("poll");
    let list = app.get_json_as(LIST, &lead).await;
    assert_eq!(item(&list, "timeouts-tier1")["current"]["edited_outside"], true);
    let (code, page) = app.get("/catalog/component/default/checkout").await;
    assert_eq!(code, 200);
    assert!(page.contains(r#"data-test="template-policies""#) && page.contains("edited outside Bearing"));
    let (code, body) = post(
        &app,
        &format!("{LIST}/timeouts-tier1/adopt"),
        &lead,
        json!({"reason": "keep 42s"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let list = app.get_json_as(LIST, &lead).await;
    assert_eq!(item(&list, "timeouts-tier1")["current"]["edited_outside"], false);

    // Rollbacks: the adopt, then the apply (which created it: deleted).
    let rollback = format!("{LIST}/timeouts-tier1/rollback");
    let (code, body) = post(&app, &rollback, &lead, json!({"reason": "undo adopt"})).await;
    assert_eq!((code, body["outcome"].as_str()), (200, Some("updated")), "{body}");
    let (code, body) = post(&app, &rollback, &lead, json!({"reason": "undo apply"})).await;
    assert_eq!((code, body["outcome"].as_str()), (200, Some("deleted")), "{body}");
    assert_eq!(
        sim_get(&url, &format!("/meshes/default/meshtimeouts/{name}")).await.0,
        404
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'mesh.policy.%'")
        .fetch_one(&app.pool)
        .await
        .expect("audit");
    assert_eq!(audited, 4, "apply, adopt and two rollbacks");

    // Every template's policy is one Kuma takes: the sim validates each against the schema.
    let list = app.get_json_as(LIST, &lead).await;
    for template in ["accesslog-production", "metrics-production", "retries-tier1"] {
        let p = item(&list, template);
        let (code, body) = post(
            &app,
            &format!("{LIST}/{template}/apply"),
            &lead,
            json!({"reason": "all of them", "expected_hash": p["proposed"]["hash"]}),
        )
        .await;
        assert_eq!(code, 200, "{template}: {body}");
    }
}

#[tokio::test]
async fn a_bad_template_stops_the_server_with_its_file() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: broken\npolicy:\n  kind: MeshTimeout\n  spec:\n    from: []\n    colour: blue\n",
    )
    .expect("write");
    let app = TestApp::new().await;
    let cli = <server::cli::Cli as clap::Parser>::try_parse_from([
        "bearing",
        "serve",
        "--policy-templates",
        &dir.path().display().to_string(),
        "--data-dir",
        &dir.path().join("data").display().to_string(),
    ])
    .expect("flags");
    let Some(server::cli::Command::Serve(serve)) = cli.command else {
        panic!("not serve")
    };
    let Err(err) = server::commands::serve::build_context(&serve, app.pool.clone()) else {
        panic!("a bad template must stop the server")
    };
    let message = format!("{err:#}");
    assert!(
        message.contains("broken.yaml") && message.contains("--policy-templates"),
        "{message}"
    );
}

#[tokio::test]
async fn apply_mode_gives_a_new_component_its_templated_policies() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let url = serve_sim(world(), clock).await;
    let mut app = TestApp::new().await;
    app.ctx.policy_templates = bearing_policy::templates::load_dir(&templates_dir())
        .expect("templates")
        .into();
    // Marks the worker keeps are due again after a poll interval: none here, to look again at once.
    app.ctx.mesh.poll_interval = std::time::Duration::ZERO;
    let mut control_plane = cp(&url);
    control_plane.policy_mode = app::policy::PolicyMode::Apply;
    let writer = server::mesh::writer::Writer::new(&[control_plane], &args()).expect("writer");
    let app = app.with_control_planes(writer);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    std::fs::write(&path, CATALOG).expect("write");
    app.import_paths(&[path]).await.expect("import");

    // Not in the mesh until the poller has seen it: the marks wait.
    let done = app::policy::follow::follow_marks(&app.ctx).await.expect("pass");
    assert!(done.applied.is_empty() && done.waiting.len() == 2, "{done:?}");
    poller(&app, &url).await.poll_once().await.expect("poll");
    let mut done = app::policy::follow::follow_marks(&app.ctx).await.expect("pass");
    done.applied.sort();
    assert_eq!(
        done.applied,
        ["component:default/checkout", "component:default/lab"],
        "{done:?}"
    );

    let list = app.get_json_as(LIST, &app.admin_token).await;
    for template in [
        "accesslog-production",
        "metrics-production",
        "retries-tier1",
        "timeouts-tier1",
    ] {
        assert_eq!(item(&list, template)["up_to_date"], true, "{template}");
    }
    let name = item(&list, "timeouts-tier1")["proposed"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert_eq!(
        sim_get(&url, &format!("/meshes/default/meshtimeouts/{name}")).await.0,
        200
    );
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT actor FROM audit_log WHERE action = 'mesh.policy.apply'")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(actors.len(), 1);
    assert!(
        actors[0].starts_with("system:cli"),
        "audited as the importer: {actors:?}"
    );
    assert_eq!(
        app::policy::follow::follow_marks(&app.ctx).await.expect("pass"),
        Default::default()
    );
}
