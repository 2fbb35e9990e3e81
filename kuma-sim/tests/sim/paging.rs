//! Paging like Kuma: `size` and `offset`, `total`, and `next` the absolute URL of the request with
//! `offset` replaced and the query sorted (Go's `url.Values.Encode`).

use crate::common::*;
use std::collections::BTreeSet;

#[tokio::test]
async fn walking_next_returns_every_dataplane_exactly_once() {
    let sim = TestSim::new(kuma_sim::generate::world(503, 60, 3));
    for size in [1, 7, 100, 1000] {
        let mut next = Some(format!("/meshes/default/dataplanes+insights?size={size}"));
        let mut names = Vec::new();
        let mut pages = 0;
        while let Some(url) = next {
            let path = if pages == 0 {
                url.as_str()
            } else {
                url.strip_prefix("http://sim.test:5681")
                    .expect("absolute URL on the request's host")
            };
            let page = sim.get_json(path).await;
            assert_eq!(page["total"], 503);
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= size);
            names.extend(items.iter().map(|i| i["name"].as_str().unwrap().to_string()));
            next = page["next"].as_str().map(str::to_string);
            pages += 1;
        }
        assert_eq!(pages, 503_usize.div_ceil(size), "size {size}");
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(names.len(), 503, "size {size}");
        assert_eq!(unique.len(), 503, "size {size}: duplicates");
    }
}

#[tokio::test]
async fn next_is_formed_like_kuma() {
    let sim = TestSim::default_world();
    let page = sim.get_json("/meshes/default/dataplanes+insights?size=2").await;
    assert_eq!(
        page["next"],
        "http://sim.test:5681/meshes/default/dataplanes+insights?offset=2&size=2"
    );
    // The other query parameters are kept, keys sorted, values query-escaped.
    let page = sim
        .get_json("/meshes/default/dataplanes/_overview?tag=kuma.io/service:catalog&size=1&offset=1")
        .await;
    assert_eq!(
        page["next"],
        "http://sim.test:5681/meshes/default/dataplanes/_overview?offset=2&size=1&tag=kuma.io%2Fservice%3Acatalog"
    );
    // Like the golden pagination_00: service-insights page one with size 2.
    let page = sim.get_json("/meshes/default/service-insights?size=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["next"],
        "http://sim.test:5681/meshes/default/service-insights?offset=2&size=2"
    );
    // The last page (and a short list) ends with null; the default size is 100.
    let page = sim.get_json("/meshes").await;
    assert!(page["next"].is_null());
    let page = sim.get_json("/meshes/default/dataplanes+insights").await;
    assert_eq!(
        page["items"].as_array().unwrap().len() as u64,
        page["total"].as_u64().unwrap().min(100)
    );
    let total = page["total"].as_u64().unwrap();
    let last = sim
        .get_json(&format!("/meshes/default/dataplanes+insights?offset={}", total - 1))
        .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert!(last["next"].is_null());
    let beyond = sim.get_json("/meshes/default/dataplanes+insights?offset=100000").await;
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_paging_parameters_are_kuma_400s() {
    let sim = TestSim::default_world();
    for (query, field) in [
        ("size=1001", "size"),
        ("size=abc", "size"),
        ("size=0", "size"),
        ("offset=x", "offset"),
    ] {
        let reply = sim.get(&format!("/meshes/default/dataplanes+insights?{query}")).await;
        assert_eq!(reply.status.as_u16(), 400, "{query}");
        let body = reply.json();
        assert_eq!(body["type"], "/std-errors");
        assert_eq!(body["invalid_parameters"][0]["field"], field);
    }
    assert_eq!(
        sim.get("/meshes/default/dataplanes+insights?size=1000")
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let sim = TestSim::default_world();
    let gateways = sim.all_items("/meshes/default/dataplanes+insights?gateway=true").await;
    assert_eq!(gateways.len(), 2);
    assert!(gateways
        .iter()
        .all(|g| g["dataplane"]["networking"]["gateway"].is_object()));
    let carts = sim
        .all_items("/meshes/default/dataplanes+insights?tag=kuma.io/service:cart&size=1")
        .await;
    assert_eq!(carts.len(), 3);
    let typed = sim
        .get_json("/meshes/default/service-insights?type=gateway_delegated")
        .await;
    assert_eq!(typed["total"], 1);
    assert_eq!(typed["items"][0]["name"], "api-gateway");
}
