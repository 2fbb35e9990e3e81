//! Backstage-compatible reads, shaped like Backstage's catalog backend.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::util::TestApp;

#[tokio::test]
async fn by_name_has_backstage_shape() {
    let app = TestApp::with_demo().await;
    let e = app
        .get_json("/api/catalog/entities/by-name/component/default/checkout")
        .await;
    assert_eq!(e["apiVersion"], "backstage.io/v1alpha1");
    assert_eq!(e["kind"], "Component");
    assert_eq!(e["metadata"]["name"], "checkout");
    assert!(e["metadata"]["uid"].as_str().is_some() && e["metadata"]["etag"].as_str().is_some());
    assert_eq!(e["spec"]["owner"], "group:team-checkout", "spec as written");
    let rels = e["relations"].as_array().unwrap();
    assert!(rels
        .iter()
        .any(|r| r["type"] == "ownedBy" && r["targetRef"] == "group:default/team-checkout"));
    let (status, body) = app.get("/api/catalog/entities/by-name/component/default/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("NotFoundError"));
}

#[tokio::test]
async fn by_query_filters_orders_projects_and_pages() {
    let app = TestApp::with_demo().await;
    let first = app
        .get_json("/api/catalog/entities/by-query?filter=kind=component,spec.type=service&orderField=metadata.name,asc&limit=10&fields=metadata.name,kind")
        .await;
    let total = first["totalItems"].as_i64().unwrap();
    assert!(total > 10);
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items[0].get("spec").is_none(), "projected to fields");
    let mut names: Vec<String> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = first["pageInfo"]["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = app
            .get_json(&format!(
                "/api/catalog/entities/by-query?cursor={c}&limit=10&fields=metadata.name"
            ))
            .await;
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned()),
        );
        assert!(page["pageInfo"]["prevCursor"].is_string());
        cursor = page["pageInfo"]["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(names.len() as i64, total);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // OR across filter parameters.
    let either = app
        .get_json("/api/catalog/entities/by-query?filter=kind=domain&filter=kind=system&limit=100")
        .await;
    assert!(either["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "Domain" || i["kind"] == "System"));
    let full_text = app
        .get_json(
            "/api/catalog/entities/by-query?fullTextFilterTerm=CHECKO&fullTextFilterFields=metadata.name&limit=100",
        )
        .await;
    assert!(full_text["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["metadata"]["name"] == "checkout"));
    let (status, _) = app.get("/api/catalog/entities/by-query?limit=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn by_refs_keeps_order_and_nulls_missing() {
    let app = TestApp::with_demo().await;
    let req = Request::post("/api/catalog/entities/by-refs")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"entityRefs":["component:default/payments","component:default/nope","Group:team-checkout"],"fields":["metadata.name"]}"#))
        .unwrap();
    let (status, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"][0]["metadata"]["name"], "payments");
    assert!(v["items"][1].is_null());
    assert_eq!(v["items"][2]["metadata"]["name"], "team-checkout");
}

#[tokio::test]
async fn facets_count_values() {
    let app = TestApp::with_demo().await;
    let f = app
        .get_json("/api/catalog/entity-facets?facet=kind&facet=spec.lifecycle&filter=kind=component")
        .await;
    let kinds = f["facets"]["kind"].as_array().unwrap();
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0]["value"], "Component");
    let total: i64 = f["facets"]["spec.lifecycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total,
        kinds[0]["count"].as_i64().unwrap(),
        "every component has one lifecycle"
    );
    let (status, _) = app.get("/api/catalog/entity-facets").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// `GET /entities` without a limit stops at the server maximum (1,000) and links to the next
/// page; following the links returns every entity once.
#[tokio::test]
async fn entities_without_a_limit_are_paged_with_a_next_link() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let docs: String = (0..1_100)
        .map(|i| format!("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c{i:04}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"))
        .collect();
    std::fs::write(dir.path().join("catalog-info.yaml"), docs).unwrap();
    app.import_paths(&[dir.path().to_owned()]).await.expect("import");

    let mut uri = "/api/catalog/entities?filter=kind=component&fields=metadata.name".to_owned();
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let resp = tower::ServiceExt::oneshot(
            app.router.clone(),
            axum::http::Request::get(&uri).body(axum::body::Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 200, "{uri}");
        let link = resp.headers().get("link").map(|v| v.to_str().unwrap().to_owned());
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let items: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert!(items.len() <= 1_000, "a page holds at most the server maximum");
        names.extend(items.iter().map(|e| e["metadata"]["name"].as_str().unwrap().to_owned()));
        pages += 1;
        match link {
            Some(link) => {
                let next = link
                    .strip_prefix('<')
                    .and_then(|l| l.split_once(">; rel=\"next\""))
                    .map(|(u, _)| u.to_owned())
                    .unwrap_or_else(|| panic!("not a next link: {link}"));
                assert!(next.contains("filter=kind%3Dcomponent"), "the filter is kept: {next}");
                uri = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1_100, "every entity exactly once");
}
