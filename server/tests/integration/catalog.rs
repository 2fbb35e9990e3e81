//! Importing into the database and reading back: all-or-nothing, idempotence, orphans,
//! relations both ways, search.

use axum::http::StatusCode;

use crate::util::TestApp;

const TEAM: &str =
    "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n";

fn component(name: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: The {name} service\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n{extra}"
    )
}

#[tokio::test]
async fn import_then_reimport_is_idempotent_and_orphans_what_disappears() {
    let app = TestApp::new().await;
    let body = format!(
        "{TEAM}{}{}",
        component("alpha", "  dependsOn: [component:beta]\n"),
        component("beta", "")
    );
    let (status, report) = app
        .post("/api/v1/import?source=t1", "application/yaml", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"].as_array().unwrap().len(), 3);

    let (_, again) = app.post("/api/v1/import?source=t1", "application/yaml", body).await;
    assert_eq!(again["added"].as_array().unwrap().len(), 0);
    assert_eq!(again["updated"].as_array().unwrap().len(), 0);
    assert_eq!(again["unchanged"].as_array().unwrap().len(), 3);

    // beta disappears from the source, alpha changes.
    let body = format!(
        "{TEAM}{}",
        component("alpha", "  dependsOn: [component:beta]\n  system: shop\n")
    );
    let (_, third) = app.post("/api/v1/import?source=t1", "application/yaml", body).await;
    assert_eq!(third["updated"], serde_json::json!(["component:default/alpha"]));
    assert_eq!(third["orphaned"], serde_json::json!(["component:default/beta"]));
    let beta = app.get_json("/api/v1/entities/component/default/beta").await;
    assert_eq!(beta["orphaned"], true, "orphaned, not deleted");
    let (_, page) = app.get("/catalog/component/default/beta").await;
    assert!(page.contains("orphaned"), "the page shows the orphan badge");
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let app = TestApp::new().await;
    let (status, report) = app
        .post(
            "/api/v1/import?dry_run=true",
            "application/yaml",
            format!("{TEAM}{}", component("alpha", "")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["added"].as_array().unwrap().len(), 2);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM entities")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_bad_document_rejects_the_whole_import_with_positions() {
    let app = TestApp::new().await;
    let body = format!(
        "{TEAM}{}---\napiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata:\n  name: x\n",
        component("alpha", "")
    );
    let (status, err) = app.post("/api/v1/import", "application/yaml", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = err["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("api:default:"), "file:line:column prefix: {detail}");
    assert!(detail.contains("Widget"), "{detail}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM entities")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing written");
}

#[tokio::test]
async fn an_entity_owned_by_another_source_is_a_conflict() {
    let app = TestApp::new().await;
    let (s, _) = app
        .post("/api/v1/import?source=one", "application/yaml", component("alpha", ""))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, err) = app
        .post(
            "/api/v1/import?source=two",
            "application/yaml",
            format!("{}---\n{TEAM}", component("alpha", "")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err.to_string().contains("already imported from api:one"), "{err}");
    let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM entities WHERE kind = 'group'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(groups, 0, "the team in the rejected import was not written");
}

#[tokio::test]
async fn relations_are_queryable_both_ways_and_unresolved_ones_are_kept() {
    let app = TestApp::with_demo().await;
    let checkout = app.get_json("/api/v1/entities/component/default/checkout").await;
    let rels = checkout["relations"].as_array().unwrap();
    let has = |t: &str, target: &str| rels.iter().any(|r| r["type"] == t && r["target"] == target);
    assert!(has("ownedBy", "group:default/team-checkout"), "{rels:?}");
    assert!(has("partOf", "system:default/checkout"));
    assert!(has("dependsOn", "component:default/cart"), "{rels:?}");
    assert!(
        has("dependencyOf", "component:default/api-gateway"),
        "inverse of api-gateway dependsOn checkout: {rels:?}"
    );

    let team = app.get_json("/api/v1/entities/group/default/team-checkout").await;
    assert!(team["relations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "ownerOf" && r["target"] == "component:default/checkout"));

    let invoicing = app.get_json("/api/v1/entities/component/default/invoicing").await;
    let legacy = invoicing["relations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == "component:default/legacy-erp")
        .cloned();
    assert_eq!(legacy.expect("relation to legacy-erp kept")["resolved"], false);
    let (_, page) = app.get("/catalog/component/default/invoicing").await;
    assert!(
        page.contains("data-test-unresolved=\"component:default/legacy-erp\""),
        "page marks it unresolved"
    );
}

#[tokio::test]
async fn compass_components_resolve_owner_and_dependencies() {
    let app = TestApp::with_demo().await;
    let loyalty = app.get_json("/api/v1/entities/component/default/loyalty-points").await;
    assert_eq!(loyalty["title"], "Loyalty Points");
    assert!(loyalty["annotations"]["compass.atlassian.com/id"].as_str().is_some());
    let owner = loyalty["owner"].as_str().unwrap();
    assert!(
        owner.starts_with("group:default/"),
        "owner resolved through compass team-id: {owner}"
    );
    assert!(loyalty["relations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "dependsOn"
            && r["target"] == "component:default/rewards-ledger"
            && r["resolved"] == true));
}

#[tokio::test]
async fn search_ranks_prefixes_and_tolerates_typos() {
    let app = TestApp::with_demo().await;
    let r = app.get_json("/api/v1/entities?q=checkout&limit=5").await;
    assert_eq!(r["items"][0]["name"], "checkout", "exact name first: {r}");
    let r = app.get_json("/api/v1/entities?q=paymnets&limit=5").await;
    assert!(
        r["items"].as_array().unwrap().iter().any(|i| i["name"] == "payments"),
        "typo tolerated: {r}"
    );
    let r = app.get_json("/api/v1/entities?q=invent&kind=component").await;
    assert!(
        r["items"].as_array().unwrap().iter().any(|i| i["name"] == "inventory"),
        "prefix: {r}"
    );
    let r = app.get_json("/api/v1/entities?q=zzzzqqqq").await;
    assert_eq!(r["total"], 0);
}

#[tokio::test]
async fn a_file_deleted_from_an_imported_directory_orphans_its_entities() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("team.yaml"), TEAM).unwrap();
    std::fs::write(dir.path().join("alpha.yaml"), component("alpha", "")).unwrap();
    let paths = [dir.path().to_owned()];
    let first = app.import_paths(&paths).await.unwrap();
    assert_eq!(first.added.len(), 2);
    std::fs::remove_file(dir.path().join("alpha.yaml")).unwrap();
    let second = app.import_paths(&paths).await.unwrap();
    assert_eq!(second.orphaned, vec!["component:default/alpha".to_owned()]);
    assert_eq!(second.unchanged, vec!["group:default/team-a".to_owned()]);
}

#[tokio::test]
async fn the_graph_walks_upstream_and_downstream_chains() {
    let app = TestApp::new().await;
    // a -> b -> c, and x -> b: from b, c is downstream, a and x upstream; from a at depth 2,
    // c is reached through b but x (another upstream of b) is not.
    let docs = [
        component("a", "  dependsOn: [component:b]\n"),
        component("b", "  dependsOn: [component:c]\n"),
        component("c", ""),
        component("x", "  dependsOn: [component:b]\n"),
    ]
    .concat();
    let (s, _) = app.post("/api/v1/import", "application/yaml", docs).await;
    assert_eq!(s, axum::http::StatusCode::OK);
    let reader = app::auth::guard::Caller::system("test");
    let g = app::graph::service::entity_graph(&app.ctx, &reader, "component", "default", "a", 2)
        .await
        .unwrap();
    let keys: Vec<&str> = g.nodes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(keys[0], "component:default/a");
    assert!(
        keys.contains(&"component:default/b") && keys.contains(&"component:default/c"),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&"component:default/x"),
        "x is upstream of b, not of a: {keys:?}"
    );
    let x = |k: &str| g.nodes.iter().find(|n| n.key == k).unwrap().x;
    assert!(x("component:default/a") < x("component:default/b") && x("component:default/b") < x("component:default/c"));

    let g = app::graph::service::entity_graph(&app.ctx, &reader, "component", "default", "b", 1)
        .await
        .unwrap();
    let x = |k: &str| g.nodes.iter().find(|n| n.key == k).map(|n| n.x);
    assert!(
        x("component:default/a") < x("component:default/b"),
        "upstream to the left"
    );
    assert_eq!(x("component:default/a"), x("component:default/x"));
    assert!(
        x("component:default/c") > x("component:default/b"),
        "downstream to the right"
    );
    assert_eq!(g.edges.len(), 3);
    assert!(
        app::graph::service::entity_graph(&app.ctx, &reader, "component", "default", "b", 4)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_import_by_another_process_invalidates_the_read_cache() {
    let app = TestApp::new().await;
    // TestApp, like `bearing serve`, listens for the import's NOTIFY and empties the cache.
    let empty = app.get_json("/api/v1/entities?kind=component").await;
    assert_eq!(empty["total"], 0);
    let cached = app.get_json("/api/v1/entities?kind=component").await;
    assert_eq!(cached["total"], 0);

    // Imported the way `bearing import` does it, without touching this app's cache directly.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), component("alpha", "")).unwrap();
    app.import_paths(&[dir.path().to_owned()]).await.unwrap();

    let mut seen = 0;
    for _ in 0..50 {
        seen = app.get_json("/api/v1/entities?kind=component").await["total"]
            .as_i64()
            .unwrap();
        if seen == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 1, "the server saw the import");
}

#[tokio::test]
async fn api_import_refuses_non_utf8_and_oversized_bodies() {
    let app = TestApp::new().await;
    let (status, err) = app
        .post(
            "/api/v1/import",
            "application/yaml",
            b"kind: Component\nname: \xff\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("api:default:2:1: the body is not UTF-8"),
        "{err}"
    );
    let (status, _) = app
        .post("/api/v1/import", "application/yaml", vec![b'#'; 16 * 1024 * 1024 + 1])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn renaming_a_file_moves_its_entities_instead_of_conflicting() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.yaml"), component("alpha", "")).unwrap();
    let paths = [dir.path().to_owned()];
    app.import_paths(&paths).await.unwrap();
    std::fs::rename(dir.path().join("old.yaml"), dir.path().join("new.yaml")).unwrap();
    let report = app.import_paths(&paths).await.unwrap();
    assert_eq!(report.updated, vec!["component:default/alpha".to_owned()]);
    assert!(report.orphaned.is_empty(), "{report:?}");
    let alpha = app.get_json("/api/v1/entities/component/default/alpha").await;
    assert_eq!(alpha["orphaned"], false);
    assert!(alpha["source"].as_str().unwrap().ends_with("/new.yaml"));
}

/// The list, its facets and search are answered from an in-memory index: an edit is in the
/// very next list (the edit moves the catalog's generation), and a second server on the same
/// database (a replica) follows once it hears of the change.
#[tokio::test]
async fn lists_and_facets_follow_an_edit_at_once_and_on_other_replicas() {
    let app = TestApp::with_demo().await;
    let caller = app::auth::guard::Caller::system("test");
    let query = |lifecycle: &str| app::catalog::ListQuery {
        lifecycle: Some(lifecycle.to_owned()),
        limit: 50,
        ..Default::default()
    };
    // A replica: its own caches and index over the same database.
    let replica = crate::util::context(app.pool.clone(), true);
    let before = app::catalog::service::catalog_view(&replica, &caller, query("sunset"))
        .await
        .unwrap();
    assert_eq!(before.page.total, 0);

    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/entities/component/default/checkout",
            Some(&app.admin_token),
            Some(serde_json::json!({"lifecycle": "sunset", "reason": "test"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = app.get_json("/api/v1/entities?lifecycle=sunset").await;
    assert_eq!(listed["total"], 1, "the editing server lists it at once: {listed}");
    assert_eq!(listed["items"][0]["name"], "checkout");
    let view = app::catalog::service::catalog_view(&app.ctx, &caller, query("sunset"))
        .await
        .unwrap();
    assert!(
        view.facets
            .lifecycle
            .iter()
            .any(|f| f.value == "sunset" && f.count == 1),
        "{:?}",
        view.facets
    );

    // The replica answers from the index it built before, until the change notification
    // (which `bearing serve` turns into this call) reaches it.
    let stale = app::catalog::service::catalog_view(&replica, &caller, query("sunset"))
        .await
        .unwrap();
    assert_eq!(stale.page.total, 0);
    replica.cache.invalidate();
    let fresh = app::catalog::service::catalog_view(&replica, &caller, query("sunset"))
        .await
        .unwrap();
    assert_eq!(fresh.page.total, 1);
}
