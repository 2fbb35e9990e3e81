//! Every JSON response validated against Kuma's OpenAPI spec (full JSON Schema validation of the
//! endpoint's response schema, `$ref`s resolved, formats checked), with the protojson adjustments
//! of `common::adjust`, which Kuma's own golden responses prove necessary.

use crate::common::*;
use serde_json::Value;

fn kuma() -> Value {
    spec(Doc::Kuma, Mode::Wire)
}

fn gui() -> Value {
    spec(Doc::Gui, Mode::Wire)
}

#[tokio::test]
async fn index_resources_and_meshes_match_the_spec() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let index = sim.get_json("/").await;
    assert_valid(&doc, &response_schema(&doc, "/", "200"), &index, "GET /");
    assert_eq!(index["version"], "2.14.3");
    assert_eq!(index["product"], "Kuma");

    let resources = sim.get_json("/_resources").await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/_resources", "200"),
        &resources,
        "GET /_resources",
    );

    let meshes = sim.get_json("/meshes").await;
    assert_valid(&doc, &response_schema(&doc, "/meshes", "200"), &meshes, "GET /meshes");
    for name in ["default", "legacy"] {
        let mesh = sim.get_json(&format!("/meshes/{name}")).await;
        assert_valid(
            &doc,
            &response_schema(&doc, "/meshes/{name}", "200"),
            &mesh,
            "GET /meshes/{name}",
        );
    }
}

#[tokio::test]
async fn dataplanes_match_the_spec_on_every_page_and_both_paths() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let schema = response_schema(&doc, "/meshes/{mesh}/dataplanes/_overview", "200");
    for mesh in ["default", "legacy"] {
        for path in ["dataplanes+insights", "dataplanes/_overview"] {
            let mut next = Some(format!("/meshes/{mesh}/{path}?size=25"));
            let mut pages = 0;
            while let Some(url) = next {
                let url = url.trim_start_matches("http://sim.test:5681").to_string();
                let page = sim.get_json(&url).await;
                assert_valid(&doc, &schema, &page, &url);
                next = page["next"].as_str().map(str::to_string);
                pages += 1;
            }
            assert!(pages >= 1);
        }
    }
    let one = sim
        .get_json("/meshes/default/dataplanes/catalog-search-2/_overview")
        .await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/dataplanes/{name}/_overview", "200"),
        &one,
        "one overview",
    );
}

#[tokio::test]
async fn policies_and_meshservices_match_the_spec() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let mtps = sim.get_json("/meshes/default/meshtrafficpermissions").await;
    assert!(mtps["total"].as_u64().unwrap() > 10);
    let all = sim.all_items("/meshes/default/meshtrafficpermissions").await;
    let list_schema = response_schema(&doc, "/meshes/{mesh}/meshtrafficpermissions", "200");
    assert_valid(&doc, &list_schema, &mtps, "MeshTrafficPermission list");
    let item_schema = response_schema(&doc, "/meshes/{mesh}/meshtrafficpermissions/{name}", "200");
    for item in &all {
        let name = item["name"].as_str().unwrap();
        let one = sim
            .get_json(&format!("/meshes/default/meshtrafficpermissions/{name}"))
            .await;
        assert_eq!(&one, item);
        assert_valid(&doc, &item_schema, &one, name);
    }
    let services = sim.get_json("/meshes/default/meshservices").await;
    assert!(services["total"].as_u64().unwrap() > 30);
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshservices", "200"),
        &services,
        "MeshService list",
    );
    let legacy = sim.get_json("/meshes/legacy/meshservices").await;
    assert_eq!(
        legacy["total"], 0,
        "MeshServices are not generated in a mesh with meshServices disabled"
    );
}

#[tokio::test]
async fn mesh_insights_match_the_gui_spec() {
    let sim = TestSim::default_world();
    let doc = gui();
    let list = sim.get_json("/mesh-insights").await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/mesh-insights", "200"),
        &list,
        "GET /mesh-insights",
    );
    for item in list["items"].as_array().unwrap() {
        let name = item["name"].as_str().unwrap();
        let one = sim.get_json(&format!("/mesh-insights/{name}")).await;
        assert_valid(&doc, &response_schema(&doc, "/mesh-insights/{name}", "200"), &one, name);
    }
}

/// The GUI overlay types `service-insights` as a bare `object` and neither spec has the legacy
/// `traffic-permissions`: those are validated against the spec where it says anything, and their
/// shape compared key by key (names and JSON types) with Kuma's golden responses.
#[tokio::test]
async fn service_insights_and_legacy_permissions_match_the_goldens() {
    let sim = TestSim::default_world();
    let doc = gui();
    let goldens: Vec<Value> = [
        "list-simple.golden.json",
        "type-filter_00.golden.json",
        "pagination_00.golden.json",
        "inspect-services.golden.json",
    ]
    .iter()
    .map(|f| fixture_json(f))
    .collect();
    let golden_refs: Vec<&Value> = goldens.iter().collect();
    for mesh in ["default", "legacy"] {
        let list = sim.get_json(&format!("/meshes/{mesh}/service-insights")).await;
        assert_valid(
            &doc,
            &response_schema(&doc, "/meshes/{mesh}/service-insights", "200"),
            &list,
            "service-insights",
        );
        // issuedBackends: in Kuma's ServiceInsight (pkg/insights/resyncer.go populateInsight) but in
        // no golden, whose worlds have no mTLS.
        let problems = shape_problems(&list, &golden_refs, "$", &["items[].issuedBackends"]);
        assert!(problems.is_empty(), "service-insights shape:\n{}", problems.join("\n"));
        let first = list["items"][0]["name"].as_str().unwrap().to_string();
        let one = sim.get_json(&format!("/meshes/{mesh}/service-insights/{first}")).await;
        let single = fixture_json("get.golden.json");
        let problems = shape_problems(&one, &[&single], "$", &["issuedBackends"]);
        assert!(problems.is_empty(), "service-insight shape:\n{}", problems.join("\n"));
    }
    let golden = fixture_json("get-traffic-permissions.golden.json");
    let tps = sim.get_json("/meshes/legacy/traffic-permissions").await;
    assert_eq!(tps["total"], 1);
    let problems = shape_problems(&tps, &[&golden], "$", &[]);
    assert!(
        problems.is_empty(),
        "traffic-permissions shape:\n{}",
        problems.join("\n")
    );
    // And the same top-level keys, nothing missing.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&tps["items"][0]), keys(&golden["items"][0]));
}

#[tokio::test]
async fn errors_match_the_spec() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let missing = sim.get("/meshes/nope").await;
    assert_eq!(missing.status.as_u16(), 404);
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{name}", "404"),
        &missing.json(),
        "404",
    );

    let bad = sim.get("/meshes/default/dataplanes+insights?size=5000").await;
    assert_eq!(bad.status.as_u16(), 400);
    assert_valid(
        &doc,
        &component_schema(&doc, "/components/responses/BadRequest"),
        &bad.json(),
        "400",
    );

    sim.post_ok("/_sim/fault", serde_json::json!({"mode": "error500"}))
        .await;
    let internal = sim.get("/meshes").await;
    assert_eq!(internal.status.as_u16(), 500);
    assert_valid(
        &doc,
        &component_schema(&doc, "/components/responses/Internal"),
        &internal.json(),
        "500",
    );
    // The same body Kuma's own 400 golden has, field for field (plus `instance`).
    let golden = fixture_json("put_mtp_00.golden.json");
    for key in golden.as_object().unwrap().keys() {
        if key != "invalid_parameters" && key != "causes" {
            assert!(internal.json().get(key).is_some(), "500 body lacks {key}");
        }
    }
    for key in ["invalid_parameters", "causes", "details"] {
        assert!(bad.json().get(key).is_some(), "400 body lacks {key}");
    }
}

/// The adjustments are exactly what Kuma's own golden responses need: the raw spec rejects them,
/// the adjusted spec accepts every one.
#[test]
fn kumas_goldens_need_the_adjustments_and_pass_with_them() {
    let raw = spec(Doc::Kuma, Mode::Raw);
    let adjusted = spec(Doc::Kuma, Mode::Goldens);
    let gui = spec(Doc::Gui, Mode::Goldens);
    let cases: [(&str, &Value, String); 8] = [
        (
            "get-meshes.golden.json",
            &adjusted,
            response_schema(&adjusted, "/meshes", "200"),
        ),
        (
            "meshes_mesh1_dataplanes_insights.json",
            &adjusted,
            response_schema(&adjusted, "/meshes/{mesh}/dataplanes/_overview", "200"),
        ),
        (
            "inspect-dataplanes.golden.json",
            &adjusted,
            response_schema(&adjusted, "/meshes/{mesh}/dataplanes/_overview", "200"),
        ),
        (
            "list_meshservices.golden.json",
            &adjusted,
            response_schema(&adjusted, "/meshes/{mesh}/meshservices", "200"),
        ),
        (
            "get_resource.golden.json",
            &adjusted,
            response_schema(&adjusted, "/meshes/{mesh}/meshtrafficpermissions/{name}", "200"),
        ),
        (
            "put_mtp_00.golden.json",
            &adjusted,
            component_schema(&adjusted, "/components/responses/BadRequest"),
        ),
        (
            "_resources.golden.json",
            &adjusted,
            response_schema(&adjusted, "/_resources", "200"),
        ),
        (
            "inspect-meshes.golden.json",
            &gui,
            response_schema(&gui, "/mesh-insights", "200"),
        ),
    ];
    for (file, doc, pointer) in &cases {
        assert_valid(doc, pointer, &fixture_json(file), file);
    }
    // Timestamps as strings and `next: null` (adjustments 1 and 3).
    let pointer = response_schema(&raw, "/meshes/{mesh}/dataplanes/_overview", "200");
    let problems = check(&raw, &pointer, &fixture_json("meshes_mesh1_dataplanes_insights.json")).join("\n");
    assert!(problems.contains("connectTime"), "{problems}");
    assert!(problems.contains("/next"), "{problems}");
    // uint64 counters as strings (adjustment 2).
    let problems = check(&raw, &pointer, &fixture_json("inspect-dataplanes.golden.json")).join("\n");
    assert!(problems.contains("responsesSent"), "{problems}");
    // `nullable` (adjustment 4): the GUI spec's MeshInsightCollection requires `next`, which is null.
    let raw_gui = spec(Doc::Gui, Mode::Raw);
    let problems = check(
        &raw_gui,
        &response_schema(&raw_gui, "/mesh-insights", "200"),
        &fixture_json("inspect-meshes.golden.json"),
    );
    assert!(!problems.is_empty());
}

/// The simulator's JSON is stricter than the goldens: it passes without the goldens-only
/// relaxations (it always sends `labels` on dataplanes and `instance` on errors).
#[tokio::test]
async fn simulator_needs_no_golden_relaxations() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let dp = sim.get_json("/meshes/default/dataplanes+insights?size=3").await;
    for item in dp["items"].as_array().unwrap() {
        assert!(item["labels"].is_object(), "labels on every dataplane");
    }
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/dataplanes/_overview", "200"),
        &dp,
        "dataplanes",
    );
}

/// The validation bites: a response with a wrongly typed or misspelt-enum field is rejected.
#[tokio::test]
async fn validation_is_not_vacuous() {
    let sim = TestSim::default_world();
    let doc = kuma();
    let mut page = sim.get_json("/meshes/default/dataplanes+insights?size=1").await;
    let schema = response_schema(&doc, "/meshes/{mesh}/dataplanes/_overview", "200");
    assert_valid(&doc, &schema, &page, "unchanged");
    page["items"][0]["dataplane"]["networking"]["inbound"][0]["port"] = Value::from("8080");
    assert!(
        !check(&doc, &schema, &page).is_empty(),
        "a string port must be rejected"
    );
    let mut mtp = sim
        .get_json("/meshes/default/meshtrafficpermissions/allow-payments")
        .await;
    let item = response_schema(&doc, "/meshes/{mesh}/meshtrafficpermissions/{name}", "200");
    assert_valid(&doc, &item, &mtp, "unchanged");
    mtp["spec"]["targetRef"]["kind"] = Value::from("Service");
    assert!(
        !check(&doc, &item, &mtp).is_empty(),
        "an unknown targetRef kind must be rejected"
    );
    let mut mesh = sim.get_json("/meshes/default").await;
    mesh["creationTime"] = Value::from("yesterday");
    assert!(
        !check(&doc, &response_schema(&doc, "/meshes/{name}", "200"), &mesh).is_empty(),
        "a malformed date-time must be rejected"
    );
}
