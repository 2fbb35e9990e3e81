//! Issue 15, "Scale": an import that rewrites at least half of the catalog copies its search rows
//! into `entity_search` without indexes and builds them once at the end, inside its transaction;
//! a smaller one writes into the indexes. Backstage filters answer the same either way.

use axum::http::StatusCode;
use sqlx::PgPool;

use crate::util::TestApp;

const TEAM: &str =
    "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n";

/// Thirty components; every third depends on `c01` unless `without` names it.
fn catalog(without: Option<usize>) -> String {
    let mut body = TEAM.to_owned();
    for i in 0..30 {
        let depends = if i % 3 == 0 && Some(i) != without {
            "  dependsOn: [component:c01]\n"
        } else {
            ""
        };
        body.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c{i:02}\n  \
             tags: [java]\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n{depends}"
        ));
    }
    body
}

/// The search table's indexes (name and object id, which a rebuild changes), by name.
async fn search_indexes(db: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT c.relname::text, c.oid::bigint FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = 'entity_search'::regclass ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .expect("index query")
}

async fn dependents_of_c01(app: &TestApp) -> Vec<String> {
    let page = app
        .get_json(
            "/api/catalog/entities/by-query?filter=relations.dependson=component:default/c01,\
             metadata.tags.java&orderField=metadata.name,asc&fields=metadata.name&limit=100",
        )
        .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn issue_15_a_bulk_import_rebuilds_the_search_indexes_a_small_one_keeps_them() {
    let app = TestApp::new().await;
    let before = search_indexes(&app.superuser).await;
    let names: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["entity_search_entity", "entity_search_key_value"]);

    let (status, report) = app
        .post("/api/v1/import?source=bulk", "application/yaml", catalog(None))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"].as_array().map(Vec::len), Some(31));
    let rebuilt = search_indexes(&app.superuser).await;
    assert_eq!(rebuilt.len(), 2, "{rebuilt:?}");
    assert!(
        rebuilt.iter().zip(&before).all(|(a, b)| a.0 == b.0 && a.1 != b.1),
        "a first import builds both indexes anew: {before:?} -> {rebuilt:?}"
    );
    let expected: Vec<String> = (3..30).step_by(3).map(|i| format!("c{i:02}")).collect();
    let mut with_c00 = vec!["c00".to_owned()];
    with_c00.extend(expected.iter().cloned());
    assert_eq!(dependents_of_c01(&app).await, with_c00);
    let facets = app
        .get_json("/api/catalog/entity-facets?facet=spec.type&filter=relations.dependson=component:default/c01")
        .await;
    assert_eq!(facets["facets"]["spec.type"][0]["count"], 10, "{facets}");

    // One entity of 31 changes: written into the indexes, which stay as they are.
    let (status, report) = app
        .post("/api/v1/import?source=bulk", "application/yaml", catalog(Some(0)))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["updated"], serde_json::json!(["component:default/c00"]));
    assert_eq!(
        search_indexes(&app.superuser).await,
        rebuilt,
        "not rebuilt for one entity"
    );
    assert_eq!(dependents_of_c01(&app).await, expected);
}

#[tokio::test]
async fn issue_15_the_search_indexes_cannot_be_dropped_outside_an_import() {
    let app = TestApp::new().await;
    let err = sqlx::query("SELECT catalog_search_indexes_drop()")
        .execute(&app.pool)
        .await
        .expect_err("refused without the import's lock");
    assert!(err.to_string().contains("only inside an import"), "{err}");
    assert_eq!(search_indexes(&app.superuser).await.len(), 2);
}
