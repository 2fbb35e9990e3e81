//! The maps: `/graph` for a team, a system and a mesh (nodes, edge classes, class filters, the
//! summary above the node limit, bad input), the drift panels of `/mesh` and of a team page.
//! Pages are read by their `data-test-*` attributes.

use kuma_sim::WorldSpec;

use super::edges::{observe, world};
use crate::util::TestApp;

/// The world of `edges.rs`, with ownership and a system: team-web owns web; team-core the
/// rest; system `shop` is web and backend; team-idle owns nothing in the mesh.
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
        ", system: shop, dependsOn: [component:default/backend, component:default/stranger], consumesApis: [api:default/ledger-api]",
    );
    text += &component("backend", "team-core", ", system: shop");
    text += &component("stranger", "team-core", "");
    text += &component(
        "ledger",
        "team-core",
        ", providesApis: [api:default/ledger-api], dependsOn: [component:default/audit]",
    );
    text += &component("audit", "team-core", "");
    text += &component("brochure", "team-idle", "");
    text += "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: ledger-api\n\
             spec: {type: openapi, lifecycle: production, owner: group:default/team-core, definition: 'openapi: 3.0.0'}\n---\n";
    text += "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec: {owner: group:default/team-web}\n---\n";
    for team in ["team-web", "team-core", "team-idle"] {
        text += &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {team}\nspec: {{type: team, children: []}}\n---\n"
        );
    }
    std::fs::write(&path, text).expect("write");
    app.import_paths(&[path]).await.expect("import");
}

/// The page at `uri`, which must answer 200.
async fn page(app: &TestApp, uri: &str) -> String {
    let (code, body) = app.get(uri).await;
    assert_eq!(code, 200, "GET {uri}");
    body
}

fn node(key: &str) -> String {
    format!(r#"data-test-graph-node="{key}""#)
}

fn edge(from: &str, to: &str, class: &str) -> String {
    format!(r#"data-test-graph-edge="component:default/{from}|component:default/{to}" data-test-class="{class}""#)
}

fn row(from: &str, to: &str, class: &str) -> String {
    format!(r#"data-test-edge-row="component:default/{from}|component:default/{to}" data-test-class="{class}""#)
}

#[tokio::test]
async fn maps_show_a_teams_a_systems_and_a_meshs_edges_by_class() {
    let app = TestApp::new().await;
    import_catalog(&app).await;
    observe(&app, world()).await;

    // A team: its service, what it calls and what is declared, each edge in its class.
    let team = page(&app, "/graph?team=team-web").await;
    for n in ["web", "backend", "stranger", "ledger"] {
        assert!(
            team.contains(&node(&format!("component:default/{n}"))),
            "{n} on the team's map"
        );
    }
    assert!(
        !team.contains(&node("component:default/audit")),
        "audit touches no team-web service"
    );
    assert!(team.contains(&edge("web", "backend", "healthy")));
    assert!(team.contains(&edge("web", "stranger", "declared_denied")));
    assert!(team.contains(&edge("web", "ledger", "will_break")));
    assert!(
        team.contains(&row("web", "stranger", "declared_denied")),
        "the table lists the edge"
    );
    assert!(team.contains("allow-web, from[0]"), "the deciding policy is told");
    assert!(team.contains("data-test-graph-legend"));
    assert!(team.contains(r#"data-test-class-filter="declared_denied" data-test-count="1""#));
    assert!(team.contains(r#"data-test-class-filter="all" data-test-count="3""#));
    assert!(
        team.contains(r#"aria-sort="descending""#),
        "worst class first by default"
    );
    assert!(team.contains("data-test-map-csv"));
    // Worst first in the table.
    let worst = team
        .find(&row("web", "stranger", "declared_denied"))
        .expect("worst row");
    let healthy = team.find(&row("web", "backend", "healthy")).expect("healthy row");
    assert!(worst < healthy, "declared_denied before healthy");
    let best_first = page(&app, "/graph?team=team-web&sort=best").await;
    assert!(
        best_first.find(&row("web", "backend", "healthy"))
            < best_first.find(&row("web", "stranger", "declared_denied")),
        "sort=best turns the table round"
    );

    // The class filter narrows the drawing and the table, not the counts of the filter links.
    let broken = page(&app, "/graph?team=team-web&class=will_break").await;
    assert!(broken.contains(&edge("web", "ledger", "will_break")));
    assert!(!broken.contains(&edge("web", "backend", "healthy")));
    assert!(!broken.contains("data-test-edge-row=\"component:default/web|component:default/backend\""));
    assert!(broken.contains(r#"data-test-class-filter="healthy" data-test-count="1""#));
    let two = page(&app, "/graph?team=group:default/team-web&class=will_break,healthy").await;
    assert!(two.contains(&edge("web", "ledger", "will_break")) && two.contains(&edge("web", "backend", "healthy")));

    // A system: web and backend with their callers and destinations.
    let system = page(&app, "/graph?system=shop").await;
    assert!(system.contains(&edge("web", "backend", "healthy")));
    assert!(system.contains(&edge("stranger", "backend", "denied_unknown")));
    assert!(system.contains(&edge("backend", "audit", "undeclared")));
    assert!(
        !system.contains(&edge("ledger", "audit", "unused_grant")),
        "ledger is not the shop's"
    );
    assert!(
        !system.contains("data-test-map-csv"),
        "the edges API cannot select a system"
    );

    // A whole mesh, with the mesh-wide grant from "any other service".
    let mesh = page(&app, "/graph?mesh=default").await;
    assert!(mesh.contains(&edge("ledger", "audit", "unused_grant")));
    assert!(mesh.contains(&node("any:default/default")));
    let mesh_narrowed = page(&app, "/graph?team=team-core&mesh=default&class=over_permitted").await;
    assert!(mesh_narrowed.contains(r#"data-test-graph-edge="any:default/default|component:default/audit""#));

    // Nothing chosen: the pickers; a team without edges: said so.
    let empty = page(&app, "/graph").await;
    assert!(empty.contains("data-test-map-form") && empty.contains("data-test-map-choose"));
    assert!(empty.contains(r#"<option value="team-web""#) && empty.contains(r#"<option value="shop""#));
    assert!(empty.contains(r#"<option value="default""#), "meshes are offered");
    let idle = page(&app, "/graph?team=team-idle").await;
    assert!(idle.contains("data-test-map-empty"));
    let chosen = page(&app, "/graph?team=team-web&system=&mesh=").await;
    assert!(
        chosen.contains(&edge("web", "backend", "healthy")),
        "blank pickers are not chosen"
    );

    // Hostile or wrong input: a clear status, never a 500.
    let long = "x".repeat(400);
    for (uri, code) in [
        ("/graph?team=team-web&system=shop".to_owned(), 422),
        ("/graph?team=team-web&class=nope".to_owned(), 422),
        ("/graph?class=nope".to_owned(), 422),
        (format!("/graph?team={long}"), 422),
        (format!("/graph?mesh=default&class={long}"), 422),
        ("/graph?team=component:default/web".to_owned(), 422),
        ("/graph?team=nobody".to_owned(), 404),
        ("/graph?system=nowhere".to_owned(), 404),
        ("/graph?mesh=nope".to_owned(), 404),
        ("/graph?team=team-web&mesh=nope".to_owned(), 404),
    ] {
        let (status, body) = app.get(&uri).await;
        assert_eq!(status.as_u16(), code, "{uri}: {}", &body[..body.len().min(300)]);
    }

    // /mesh: each mesh's edges per class, worst first, linked to the map; the CSV export.
    let overview = page(&app, "/mesh").await;
    let drift_at = overview.find(r#"data-test-drift="default""#).expect("a drift panel");
    let panel = &overview[drift_at..];
    let link = |class: &str, n: u32| {
        panel.contains(&format!(r#"href="/graph?mesh=default&amp;class={class}""#))
            && panel.contains(&format!(r#"data-test-drift-class="{class}" data-test-count="{n}""#))
    };
    assert!(link("declared_denied", 1), "{}", &panel[..panel.len().min(1500)]);
    assert!(link("healthy", 1));
    assert!(
        panel.find("data-test-drift-class=\"declared_denied\"") < panel.find("data-test-drift-class=\"healthy\""),
        "worst first"
    );
    assert!(panel.contains(r#"href="/api/v1/mesh/edges?mesh=default&amp;format=csv""#));

    // A team page: its drift, linked to its map.
    let team_page = page(&app, "/catalog/group/default/team-web").await;
    assert!(team_page.contains("data-test-team-drift"));
    assert!(team_page.contains(r#"href="/graph?team=team-web&amp;class=will_break""#));
    assert!(team_page.contains(r#"data-test-drift-class="will_break" data-test-count="1""#));
    let idle_page = page(&app, "/catalog/group/default/team-idle").await;
    assert!(idle_page.contains("data-test-drift-none"));
}

/// 70 callers of `backend`: the map summarises those past the node limit.
fn crowded_world() -> WorldSpec {
    let callers: Vec<String> = (0..70).map(|i| format!("caller-{i:02}")).collect();
    let services: Vec<serde_json::Value> = callers
        .iter()
        .map(|c| serde_json::json!({"name": c, "replicas": 1}))
        .chain([serde_json::json!({"name": "backend", "replicas": 1})])
        .collect();
    let traffic: Vec<serde_json::Value> = callers
        .iter()
        .map(|c| serde_json::json!({"from": c, "to": "backend", "rps": 1}))
        .collect();
    let world = serde_json::json!({
        "meshes": [{"name": "default"}],
        "services": services,
        "traffic": traffic,
    });
    WorldSpec::parse(&world.to_string()).expect("world")
}

#[tokio::test]
async fn above_the_node_limit_the_map_summarises_the_callers() {
    let app = TestApp::new().await;
    import_catalog(&app).await;
    observe(&app, crowded_world()).await;

    let map = page(&app, "/graph?team=team-core").await;
    assert!(map.contains(&node("summary:callers")), "a summary of the callers");
    let drawn = map
        .matches(r#"data-test-graph-node="service:default/default/caller-"#)
        .count();
    assert!(drawn > 0 && drawn < 70, "{drawn} callers drawn");
    assert!(map.contains(&format!("+{} more callers", 70 - drawn)));
    // The table still lists every edge.
    assert_eq!(map.matches(r#"data-test-edge-row="caller-"#).count(), 70);
}
