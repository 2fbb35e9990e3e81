//! Ownership drift (issue 12 §1): a kuma-sim world whose dataplanes carry `team` labels, against
//! a catalog that names other owners, through `GET /api/v1/mesh/ownership-drift`, `/mesh` and
//! team pages; the label key follows `--kuma-team-label`.

use std::sync::Arc;

use kuma_sim::clock::SystemClock;
use kuma_sim::WorldSpec;
use serde_json::{json, Value};

use super::{poller, serve_sim};
use crate::util::TestApp;

/// `payments-api-1` says team=checkout (its service's label), `payments-api-2` says payments;
/// `orders` says PAYMENTS (the same team, in capitals); `search` has no team label but another
/// key; `billing`, in mesh `legacy`, says checkout.
fn world() -> WorldSpec {
    let world = json!({
        "meshes": [{"name": "default"}, {"name": "legacy"}],
        "services": [
            {"name": "payments-api", "labels": {"team": "checkout"},
             "proxies": [{"name": "payments-api-1"}, {"name": "payments-api-2", "labels": {"team": "payments"}}]},
            {"name": "orders", "labels": {"team": "PAYMENTS"}, "replicas": 1},
            {"name": "search", "labels": {"example.com/owner": "checkout"}, "replicas": 1},
            {"name": "billing", "mesh": "legacy", "labels": {"team": "checkout"}, "replicas": 1}
        ]
    });
    WorldSpec::parse(&world.to_string()).expect("world")
}

/// payments owns payments-api, orders, ledger (not in the mesh) and a library; marketing owns
/// search and the website brochure (not in the mesh); finance owns billing.
async fn import_catalog(app: &TestApp) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("catalog-info.yaml");
    let mut text = String::new();
    for (name, kind, owner) in [
        ("payments-api", "service", "payments"),
        ("orders", "service", "payments"),
        ("ledger", "service", "payments"),
        ("toolkit", "library", "payments"),
        ("search", "service", "marketing"),
        ("brochure", "website", "marketing"),
        ("billing", "service", "finance"),
    ] {
        text += &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n\
             spec: {{type: {kind}, lifecycle: production, owner: group:default/{owner}}}\n---\n"
        );
    }
    for team in ["payments", "marketing", "finance", "checkout"] {
        text += &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {team}\nspec: {{type: team, children: []}}\n---\n"
        );
    }
    std::fs::write(&path, text).expect("write");
    app.import_paths(&[path]).await.expect("import");
}

async fn drift(app: &TestApp, query: &str) -> Value {
    app.get_json_as(&format!("/api/v1/mesh/ownership-drift{query}"), &app.admin_token)
        .await
}

/// `(kind, component, dataplane)` of each item, in order.
fn findings(body: &Value) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (text(&i["kind"]), text(&i["component"]), text(&i["dataplane"])))
        .collect()
}

fn finding(kind: &str, component: &str, dataplane: &str) -> (String, String, String) {
    (kind.into(), format!("component:default/{component}"), dataplane.into())
}

#[tokio::test]
async fn dataplanes_naming_another_team_and_services_outside_the_mesh_are_drift() {
    let app = TestApp::new().await;
    import_catalog(&app).await;
    let before = drift(&app, "").await;
    assert_eq!(before["polling"], false, "no control plane, nothing reported: {before}");
    assert_eq!(before["items"], json!([]));

    let url = serve_sim(world(), Arc::new(SystemClock::new())).await;
    poller(&app, &url).await.poll_once().await.expect("poll");

    // Everything: the two dataplanes that name another team, then the services not in the mesh.
    let all = drift(&app, "").await;
    assert_eq!(
        findings(&all),
        [
            finding("team_mismatch", "billing", "billing-1"),
            finding("team_mismatch", "payments-api", "payments-api-1"),
            finding("not_in_mesh", "brochure", ""),
            finding("not_in_mesh", "ledger", ""),
        ],
        "{all:#}"
    );
    assert_eq!(
        all["items"][1],
        json!({"kind": "team_mismatch", "component": "component:default/payments-api",
               "owner": "group:default/payments", "dataplane": "payments-api-1", "label": "checkout",
               "control_plane": "default", "mesh": "default"})
    );
    assert_eq!(
        all["items"][3],
        json!({"kind": "not_in_mesh", "component": "component:default/ledger", "owner": "group:default/payments"})
    );
    assert_eq!(all["totals"], json!({"team_mismatch": 2, "not_in_mesh": 2}));
    assert_eq!((&all["team_label"], &all["polling"]), (&json!("team"), &json!(true)));

    // Filters: a team's components; a mesh; a control plane.
    for team in ["payments", "group:default/payments"] {
        let body = drift(&app, &format!("?team={team}")).await;
        assert_eq!(
            findings(&body),
            [
                finding("team_mismatch", "payments-api", "payments-api-1"),
                finding("not_in_mesh", "ledger", ""),
            ],
            "team={team}"
        );
    }
    let legacy = drift(&app, "?mesh=legacy").await;
    assert_eq!(
        findings(&legacy),
        [
            finding("team_mismatch", "billing", "billing-1"),
            finding("not_in_mesh", "brochure", ""),
            finding("not_in_mesh", "ledger", ""),
        ]
    );
    let elsewhere = drift(&app, "?control_plane=nope&team=marketing").await;
    assert_eq!(findings(&elsewhere), [finding("not_in_mesh", "brochure", "")]);

    // Bad input and no sign-in.
    let (code, body) = app
        .call(
            "GET",
            "/api/v1/mesh/ownership-drift?team=component:default/orders",
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_eq!(code, 422, "{body}");
    let strict = TestApp::strict().await;
    let (code, _) = strict.call("GET", "/api/v1/mesh/ownership-drift", None, None).await;
    assert_eq!(code, 401);

    // /mesh: the mismatch in its mesh's panel, the services with no Kuma identity below.
    let (code, overview) = app.get("/mesh").await;
    assert_eq!(code, 200);
    let panel_at = overview
        .find(r#"data-test-ownership-drift="default""#)
        .expect("an ownership panel");
    let panel = &overview[panel_at..];
    let mismatch_at = panel
        .find(r#"data-test-ownership-mismatch="component:default/payments-api|payments-api-1""#)
        .expect("the mismatch in mesh default's panel");
    let sentence = &panel[mismatch_at
        ..panel[mismatch_at..]
            .find("</li>")
            .map_or(panel.len(), |e| mismatch_at + e)];
    for part in [
        "payments-api",
        "payments-api-1",
        "team=checkout",
        "the catalog says",
        "group:default/payments",
    ] {
        assert!(sentence.contains(part), "{part} in {sentence}");
    }
    assert!(!overview.contains("payments-api|payments-api-2"));
    assert!(overview.contains(r#"data-test-ownership-mismatch="component:default/billing|billing-1""#));
    assert!(overview.contains(r#"data-test-no-identity-count="2""#));
    assert!(overview.contains(r#"data-test-no-identity="component:default/ledger""#));
    assert!(overview.contains(r#"href="/catalog/component/default/ledger""#));

    // Team pages: payments sees its mismatch and its service outside the mesh; marketing, whose
    // search has no team label, sees no mismatch.
    let (code, team) = app.get("/catalog/group/default/payments").await;
    assert_eq!(code, 200);
    assert!(team.contains("data-test-team-ownership"));
    assert!(team.contains(r#"data-test-ownership-mismatch="component:default/payments-api|payments-api-1""#));
    assert!(team.contains(r#"data-test-no-identity="component:default/ledger""#));
    assert!(team.contains(r#"data-test-no-identity-count="1""#));
    assert!(!team.contains("component:default/brochure"));
    let (_, marketing) = app.get("/catalog/group/default/marketing").await;
    assert!(marketing.contains("data-test-ownership-none"));
    assert!(marketing.contains(r#"data-test-no-identity="component:default/brochure""#));
    let (_, finance) = app.get("/catalog/group/default/finance").await;
    assert!(finance.contains("data-test-no-identity-none"));
}

#[tokio::test]
async fn the_team_label_key_is_configurable() {
    let mut app = TestApp::new().await;
    import_catalog(&app).await;
    let url = serve_sim(world(), Arc::new(SystemClock::new())).await;
    poller(&app, &url).await.poll_once().await.expect("poll");

    // As `--kuma-team-label example.com/owner` sets it at startup.
    app.ctx.mesh.team_label = "example.com/owner".into();
    let options = server::site::leptos_options(None).expect("leptos options");
    app.router = crate::util::router_with_pages(app.ctx.clone(), options, app.pages.clone());

    let body = drift(&app, "?team=marketing").await;
    assert_eq!(body["team_label"], "example.com/owner");
    assert_eq!(
        findings(&body),
        [
            finding("team_mismatch", "search", "search-1"),
            finding("not_in_mesh", "brochure", ""),
        ]
    );
    assert_eq!(body["items"][0]["label"], "checkout");
    let payments = drift(&app, "?team=payments").await;
    assert_eq!(
        payments["totals"]["team_mismatch"], 0,
        "the team label is not read: {payments}"
    );
}
