//! Writes (PUT/DELETE) answered like Kuma, read-only mode, enforcement of written policies in the
//! traffic counters, and the Kuma 3.0-readiness worlds (MeshIdentity, no ServiceInsight).

use crate::common::*;
use axum::http::Method;
use bearing_kuma::stats::{rates, Sample};
use kuma_sim::WorldSpec;
use serde_json::{json, Value};
use std::time::Duration;

/// Kuma's API goldens vendored in `crates/kuma/tests/goldens` (see its SOURCES.txt).
fn kuma_golden(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/kuma/tests/goldens")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// An error body without the trace id Kuma adds only with tracing on (its goldens have none).
fn without_instance(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("instance");
    v
}

fn small_world(mode: Option<&str>, api_cert: &str) -> WorldSpec {
    let mode = mode.map(|m| format!(", \"mode\": \"{m}\"")).unwrap_or_default();
    WorldSpec::parse(&format!(
        r#"{{"meshes": [{{"name": "default", "mtls": {{"backend": "ca-1"{mode}}}}}],
            "services": [{{"name": "web", "replicas": 1}},
                         {{"name": "api", "proxies": [{{"certificate": "{api_cert}"}}]}}],
            "meshTrafficPermissions": [{{"name": "allow-web", "spec": {{"targetRef": {{"kind": "Mesh"}},
                "from": [{{"targetRef": {{"kind": "MeshSubset", "tags": {{"kuma.io/service": "web"}}}},
                           "default": {{"action": "Allow"}}}}]}}}}],
            "traffic": [{{"from": "web", "to": "api", "rps": 10}}]}}"#
    ))
    .unwrap()
}

fn deny_web() -> Value {
    json!({"type": "MeshTrafficPermission", "name": "deny-web", "mesh": "default",
           "spec": {"targetRef": {"kind": "Mesh"},
                    "rules": [{"default": {"deny": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/web"}}]}}]}})
}

async fn put(sim: &TestSim, uri: &str, body: Value) -> Reply {
    sim.request(Method::PUT, uri, Some(body)).await
}

async fn stats(sim: &TestSim, proxy: &str) -> (Sample, String) {
    let reply = sim.get(&format!("/meshes/default/dataplanes/{proxy}/stats")).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    (Sample::parse(&reply.body).unwrap(), reply.body)
}

fn counter(body: &str, name: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn put_creates_then_updates_and_get_returns_what_kuma_stores() {
    let sim = TestSim::default_world();
    let doc = spec(Doc::Kuma, Mode::Goldens);
    let put_schema = component_schema(
        &doc,
        "/components/responses/MeshTrafficPermissionCreateOrUpdateSuccessResponse",
    );
    let uri = "/meshes/default/meshtrafficpermissions/deny-web";
    let before = sim.get_json("/mesh-insights/default").await["policies"]["MeshTrafficPermission"]["total"]
        .as_u64()
        .unwrap();

    let mut body = deny_web();
    body["bogus"] = json!(true); // Kuma's Go types drop unknown fields
    let created = put(&sim, uri, body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.json(), json!({}), "no warnings: Kuma leaves `warnings` out");
    assert_valid(&doc, &put_schema, &created.json(), "PUT 201");

    let got = sim.get_json(uri).await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshtrafficpermissions/{name}", "200"),
        &got,
        "GET",
    );
    assert_eq!(got["spec"], deny_web()["spec"]);
    assert!(got.get("bogus").is_none());
    // Labels and kri as Kuma's API computes them (golden put_meshaccesslog_01).
    assert_eq!(
        got["labels"],
        json!({"kuma.io/env": "universal", "kuma.io/mesh": "default", "kuma.io/origin": "zone", "kuma.io/zone": "default"})
    );
    assert_eq!(got["kri"], "kri_mtp_default_default__deny-web_");
    let after = sim.get_json("/mesh-insights/default").await["policies"]["MeshTrafficPermission"]["total"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 1);
    let listed = sim.all_items("/meshes/default/meshtrafficpermissions").await;
    assert!(listed.iter().any(|i| i["name"] == "deny-web"));

    let updated = put(&sim, uri, deny_web()).await;
    assert_eq!(updated.status.as_u16(), 200, "{}", updated.body);
    assert_valid(&doc, &put_schema, &updated.json(), "PUT 200");
}

#[tokio::test]
async fn deprecated_forms_answer_kumas_warnings() {
    let sim = TestSim::default_world();
    let body = json!({"type": "MeshTrafficPermission", "name": "old-style", "mesh": "default",
        "spec": {"targetRef": {"kind": "MeshService", "name": "payments"},
                 "from": [{"targetRef": {"kind": "MeshService", "name": "checkout"}, "default": {"action": "Allow"}}]}});
    let reply = put(&sim, "/meshes/default/meshtrafficpermissions/old-style", body).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(
        reply.json()["warnings"],
        json!([
            "'from' field is deprecated and will be removed in 3.0, use 'rules' with MeshIdentity (spiffeId) instead",
            "MeshService value for 'from[].targetRef.kind' is deprecated, use MeshSubset with 'kuma.io/service' instead",
            "MeshService value for 'targetRef.kind' is deprecated, use Dataplane with labels instead"
        ])
    );
}

#[tokio::test]
async fn invalid_bodies_answer_kumas_goldens() {
    let sim = TestSim::default_world();
    let doc = spec(Doc::Kuma, Mode::Goldens);
    let uri = "/meshes/default/meshtrafficpermissions/sample";
    for (request, golden) in [
        (
            fixture_json("put_mtp_00.request.json"),
            fixture_json("put_mtp_00.golden.json"),
        ),
        (
            kuma_golden("put_mtp_01.request.json"),
            kuma_golden("put_mtp_01.golden.json"),
        ),
        (
            fixture_json("put_mtp_02.request.json"),
            kuma_golden("put_mtp_02.golden.json"),
        ),
    ] {
        let reply = put(&sim, uri, request).await;
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
        assert_eq!(without_instance(reply.json()), golden);
        assert_valid(&doc, "#/components/schemas/Error", &reply.json(), "400");
    }
    // Kuma's own rules after the schema: from[] and rules[] together.
    let both = json!({"type": "MeshTrafficPermission", "name": "sample", "spec": {"targetRef": {"kind": "Mesh"},
        "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}],
        "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://default"}}]}}]}});
    let reply = put(&sim, uri, both).await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(
        reply.json()["invalid_parameters"],
        json!([{"field": "spec", "reason": "field 'from' must be empty when 'rules' is defined"}])
    );
    // Nothing was stored.
    assert_eq!(sim.get(uri).await.status.as_u16(), 404);
    // Not JSON, not an object.
    let reply = sim.request(Method::PUT, uri, None).await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(
        reply.json()["detail"],
        "invalid MeshTrafficPermission object: \"unexpected end of JSON input\""
    );
    let reply = put(&sim, uri, json!([1])).await;
    assert_eq!(
        reply.json()["detail"],
        "invalid MeshTrafficPermission object: \"json: cannot unmarshal array into Go value of type map[string]interface {}\""
    );
}

#[tokio::test]
async fn url_and_body_must_agree_and_the_mesh_must_exist() {
    let sim = TestSim::default_world();
    let reply = put(&sim, "/meshes/default/meshtrafficpermissions/other-name", deny_web()).await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(
        reply.json()["invalid_parameters"],
        json!([{"field": "name", "reason": "name from the URL has to be the same as in body"}])
    );
    let reply = put(&sim, "/meshes/nope/meshtrafficpermissions/deny-web", deny_web()).await;
    assert_eq!(reply.status.as_u16(), 404);
    assert_eq!(reply.json()["title"], "Failed to retrieve Mesh");
    // The body's mesh defaults to `default` (schema default), so a PUT under `legacy` without it
    // disagrees, as in Kuma.
    let mut body = deny_web();
    body.as_object_mut().unwrap().remove("mesh");
    let reply = put(&sim, "/meshes/legacy/meshtrafficpermissions/deny-web", body).await;
    assert_eq!(reply.json()["invalid_parameters"][0]["field"], "mesh");
}

#[tokio::test]
async fn delete_removes_then_404s() {
    let sim = TestSim::default_world();
    let uri = "/meshes/default/meshtrafficpermissions/deny-web";
    assert_eq!(put(&sim, uri, deny_web()).await.status.as_u16(), 201);
    let deleted = sim.request(Method::DELETE, uri, None).await;
    assert_eq!(deleted.status.as_u16(), 200);
    assert_eq!(deleted.json(), kuma_golden("delete_meshes_01.golden.json"));
    assert_eq!(sim.get(uri).await.status.as_u16(), 404);
    let again = sim.request(Method::DELETE, uri, None).await;
    assert_eq!(again.status.as_u16(), 404);
    let golden = kuma_golden("delete_meshes_00.golden.json");
    assert_eq!(without_instance(again.json()), golden);
}

#[tokio::test]
async fn templated_policies_round_trip_like_kumas_access_log_golden() {
    let sim = TestSim::default_world();
    let doc = spec(Doc::Kuma, Mode::Goldens);
    let uri = "/meshes/default/meshaccesslogs/my-access-log";
    let created = put(&sim, uri, kuma_golden("put_meshaccesslog_00.request.json")).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.json(), kuma_golden("put_meshaccesslog_00.golden.json"));
    let got = sim.get_json(uri).await;
    let golden = kuma_golden("put_meshaccesslog_01.golden.json");
    for key in ["type", "mesh", "name", "labels", "kri", "status"] {
        assert_eq!(got[key], golden[key], "{key}");
    }
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshaccesslogs/{name}", "200"),
        &got,
        "GET mal",
    );
    for (kind, path) in [
        ("MeshTimeout", "meshtimeouts"),
        ("MeshRetry", "meshretries"),
        ("MeshMetric", "meshmetrics"),
    ] {
        let body = json!({"type": kind, "name": "t1", "mesh": "default", "spec": {"targetRef": {"kind": "Mesh"}}});
        let reply = put(&sim, &format!("/meshes/default/{path}/t1"), body).await;
        assert_eq!(reply.status.as_u16(), 201, "{kind}: {}", reply.body);
        let list = sim.get_json(&format!("/meshes/default/{path}")).await;
        assert_valid(
            &doc,
            &response_schema(&doc, &format!("/meshes/{{mesh}}/{path}"), "200"),
            &list,
            kind,
        );
        assert_eq!(list["total"], 1);
        let policies = &sim.get_json("/mesh-insights/default").await["policies"];
        assert_eq!(policies[kind]["total"], 1, "{kind}");
    }
}

#[tokio::test]
async fn read_only_mode_answers_405_and_resources_say_so() {
    let sim = TestSim::default_world();
    let resources = sim.get_json("/_resources").await;
    assert!(resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "MeshTimeout" && r["readOnly"] == false));
    sim.post_ok("/_sim/read-only", json!({"enabled": true})).await;
    let uri = "/meshes/default/meshtrafficpermissions/allow-payments";
    for reply in [
        put(&sim, uri, deny_web()).await,
        sim.request(Method::DELETE, uri, None).await,
    ] {
        assert_eq!(reply.status.as_u16(), 405);
        let body = without_instance(reply.json());
        let message = kuma_sim::writes::ZONE_READ_ONLY_MESSAGE;
        assert_eq!(
            body,
            json!({"type": "/std-errors", "status": 405, "title": "Method not allowed",
                   "detail": message, "details": message})
        );
    }
    assert_eq!(
        sim.get(uri).await.status.as_u16(),
        200,
        "reads still work, nothing deleted"
    );
    let resources = sim.get_json("/_resources").await;
    let doc = spec(Doc::Kuma, Mode::Goldens);
    assert_valid(
        &doc,
        &response_schema(&doc, "/_resources", "200"),
        &resources,
        "_resources",
    );
    assert!(resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["readOnly"] == true));
    sim.post_ok("/_sim/read-only", json!({"enabled": false})).await;
    assert_eq!(
        put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web())
            .await
            .status
            .as_u16(),
        201
    );
}

#[tokio::test]
async fn a_written_deny_turns_calls_into_403s_from_that_moment() {
    let sim = TestSim::new(small_world(None, "30d"));
    let (a, _) = stats(&sim, "web-1").await;
    sim.advance(10.0);
    put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web()).await;
    let (b, _) = stats(&sim, "web-1").await;
    let (_, api_b) = stats(&sim, "api-1").await;
    // The 10 s before the write were delivered.
    let before = rates(&a, &b, Duration::from_secs(10));
    assert!((before.clusters["api"].requests_per_s - 10.0).abs() < 0.2);
    assert_eq!(before.clusters["api"].denied_per_s, 0.0);
    sim.advance(20.0);
    let (c, web_c) = stats(&sim, "web-1").await;
    let (_, api_c) = stats(&sim, "api-1").await;
    let after = rates(&b, &c, Duration::from_secs(20));
    assert!(
        (after.clusters["api"].denied_per_s - 10.0).abs() < 0.2,
        "{:?}",
        after.clusters["api"]
    );
    assert_eq!(after.clusters["api"].rq_5xx_per_s, 0.0);
    assert!(counter(&web_c, "cluster.api.upstream_rq_4xx") >= 199);
    let denied =
        counter(&api_c, "http.localhost_8080.rbac.denied") - counter(&api_b, "http.localhost_8080.rbac.denied");
    assert!((199..=201).contains(&denied), "{denied}");
    // Deleting it lets web in again.
    sim.request(Method::DELETE, "/meshes/default/meshtrafficpermissions/deny-web", None)
        .await;
    sim.advance(10.0);
    let (d, _) = stats(&sim, "web-1").await;
    assert_eq!(rates(&c, &d, Duration::from_secs(10)).clusters["api"].denied_per_s, 0.0);
}

#[tokio::test]
async fn shadow_deny_lets_calls_through_and_counts_them() {
    let sim = TestSim::new(small_world(None, "30d"));
    let shadow = json!({"type": "MeshTrafficPermission", "name": "try-deny", "mesh": "default",
        "spec": {"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"allowWithShadowDeny": [
            {"spiffeID": {"type": "Exact", "value": "spiffe://default/web"}}]}}]}});
    assert_eq!(
        put(&sim, "/meshes/default/meshtrafficpermissions/try-deny", shadow)
            .await
            .status
            .as_u16(),
        201
    );
    let (a, _) = stats(&sim, "web-1").await;
    let (_, api_a) = stats(&sim, "api-1").await;
    sim.advance(10.0);
    let (b, _) = stats(&sim, "web-1").await;
    let (_, api_b) = stats(&sim, "api-1").await;
    let r = rates(&a, &b, Duration::from_secs(10));
    assert!((r.clusters["api"].requests_per_s - 10.0).abs() < 0.2);
    assert_eq!(r.clusters["api"].denied_per_s, 0.0);
    let shadowed = counter(&api_b, "http.localhost_8080.rbac.shadow_denied")
        - counter(&api_a, "http.localhost_8080.rbac.shadow_denied");
    assert!((99..=101).contains(&shadowed), "{shadowed}");
}

#[tokio::test]
async fn permissive_mtls_enforces_only_towards_tls_ready_services_and_off_enforces_nothing() {
    // PERMISSIVE, api has a certificate: callers use mTLS, RBAC applies.
    let sim = TestSim::new(small_world(Some("PERMISSIVE"), "30d"));
    put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web()).await;
    let (a, _) = stats(&sim, "web-1").await;
    sim.advance(10.0);
    let (b, _) = stats(&sim, "web-1").await;
    assert!((rates(&a, &b, Duration::from_secs(10)).clusters["api"].denied_per_s - 10.0).abs() < 0.2);
    // PERMISSIVE, api without a certificate: callers send plaintext, nothing is denied.
    let sim = TestSim::new(small_world(Some("PERMISSIVE"), "none"));
    put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web()).await;
    let (a, _) = stats(&sim, "web-1").await;
    sim.advance(10.0);
    let (b, _) = stats(&sim, "web-1").await;
    let r = rates(&a, &b, Duration::from_secs(10));
    assert_eq!(r.clusters["api"].denied_per_s, 0.0);
    assert!((r.clusters["api"].requests_per_s - 10.0).abs() < 0.2);
    // mTLS turned off: nothing enforced, from that moment.
    let sim = TestSim::new(small_world(None, "30d"));
    put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web()).await;
    sim.post_ok("/_sim/meshes/default/mtls", json!({"enabled": false}))
        .await;
    let (a, _) = stats(&sim, "web-1").await;
    sim.advance(10.0);
    let (b, _) = stats(&sim, "web-1").await;
    assert_eq!(rates(&a, &b, Duration::from_secs(10)).clusters["api"].denied_per_s, 0.0);
}

#[tokio::test]
async fn mesh_identity_world_enforces_rules_by_spiffe_id() {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mesh-identity.yaml"))
            .unwrap();
    let sim = TestSim::new(WorldSpec::parse(&text).unwrap());
    let doc = spec(Doc::Kuma, Mode::Goldens);
    let identities = sim.get_json("/meshes/default/meshidentities").await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshidentities", "200"),
        &identities,
        "meshidentities",
    );
    assert_eq!(
        identities["items"][0]["spec"]["spiffeID"]["path"],
        "/workload/{{ .Workload }}"
    );
    // Initialized as Kuma's reconciler leaves it (MeshServices Exclusive): Ready, so proxies get
    // a workload identity.
    let conditions = identities["items"][0]["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"),
        "{conditions:?}"
    );
    let services = sim.get_json("/meshes/default/meshservices").await;
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshservices", "200"),
        &services,
        "meshservices",
    );
    let web = services["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "web")
        .unwrap();
    assert_eq!(
        web["spec"]["identities"],
        json!([{"type": "SpiffeID", "value": "spiffe://default.default.mesh.local/workload/web"}])
    );
    // The rule names web's SPIFFE ID exactly: web gets in, batch does not.
    let (w1, _) = stats(&sim, "web-1").await;
    let (b1, _) = stats(&sim, "batch-1").await;
    sim.advance(10.0);
    let (w2, _) = stats(&sim, "web-1").await;
    let (b2, _) = stats(&sim, "batch-1").await;
    let web_rates = rates(&w1, &w2, Duration::from_secs(10));
    assert_eq!(web_rates.clusters["api"].denied_per_s, 0.0);
    assert!(web_rates.clusters["api"].requests_per_s > 9.0);
    let batch_rates = rates(&b1, &b2, Duration::from_secs(10));
    assert!((batch_rates.clusters["api"].denied_per_s - 2.0).abs() < 0.2);
    // Kuma refuses a SPIFFE ID ending in '/' even as a prefix (go-spiffe's FromString).
    let slash = json!({"type": "MeshTrafficPermission", "name": "whole-domain", "mesh": "default",
        "spec": {"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"allow": [
            {"spiffeID": {"type": "Prefix", "value": "spiffe://default.default.mesh.local/"}}]}}]}});
    let reply = put(&sim, "/meshes/default/meshtrafficpermissions/whole-domain", slash).await;
    assert_eq!(
        reply.json()["invalid_parameters"],
        json!([{"field": "spec.rules[0].allow[0].spiffeID",
                "reason": "must be a valid Spiffe ID: path cannot have a trailing slash"}])
    );
    // A Prefix rule on the trust domain admits batch too, from that moment.
    let prefix = json!({"type": "MeshTrafficPermission", "name": "whole-domain", "mesh": "default",
        "spec": {"targetRef": {"kind": "Mesh"}, "rules": [{"default": {"allow": [
            {"spiffeID": {"type": "Prefix", "value": "spiffe://default.default.mesh.local"}}]}}]}});
    assert_eq!(
        put(&sim, "/meshes/default/meshtrafficpermissions/whole-domain", prefix)
            .await
            .status
            .as_u16(),
        201
    );
    sim.advance(10.0);
    let (b3, _) = stats(&sim, "batch-1").await;
    assert_eq!(
        rates(&b2, &b3, Duration::from_secs(10)).clusters["api"].denied_per_s,
        0.0
    );
}

/// Kuma initializes a MeshIdentity only in a mesh whose MeshServices are `Exclusive`; until then
/// no proxy has a workload identity and, without `Mesh.mtls`, nothing is enforced.
#[tokio::test]
async fn a_mesh_identity_without_exclusive_mesh_services_is_not_ready_and_not_enforced() {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mesh-identity.yaml"))
            .unwrap()
            .replace("meshServices: Exclusive", "meshServices: Everywhere");
    let sim = TestSim::new(WorldSpec::parse(&text).unwrap());
    let identities = sim.get_json("/meshes/default/meshidentities").await;
    let doc = spec(Doc::Kuma, Mode::Goldens);
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/meshidentities", "200"),
        &identities,
        "meshidentities",
    );
    let conditions = identities["items"][0]["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "False"),
        "{conditions:?}"
    );
    let (b1, _) = stats(&sim, "batch-1").await;
    sim.advance(10.0);
    let (b2, _) = stats(&sim, "batch-1").await;
    assert_eq!(
        rates(&b1, &b2, Duration::from_secs(10)).clusters["api"].denied_per_s,
        0.0
    );
}

#[tokio::test]
async fn without_service_insights_the_path_is_unknown() {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mesh-identity.yaml"))
            .unwrap();
    let sim = TestSim::new(WorldSpec::parse(&text).unwrap());
    for uri in [
        "/meshes/default/service-insights",
        "/meshes/default/service-insights/web",
    ] {
        let reply = sim.get(uri).await;
        assert_eq!(reply.status.as_u16(), 404);
        assert_eq!(reply.body, "404: Page Not Found");
    }
    let resources = sim.get_json("/_resources").await;
    assert!(!resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "ServiceInsight"));
    // The default world keeps them.
    assert_eq!(
        TestSim::default_world()
            .get("/meshes/default/service-insights")
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn read_only_example_world_starts_read_only() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes-read-only.yaml"),
    )
    .unwrap();
    let sim = TestSim::new(WorldSpec::parse(&text).unwrap());
    assert_eq!(
        put(&sim, "/meshes/default/meshtrafficpermissions/deny-web", deny_web())
            .await
            .status
            .as_u16(),
        405
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let sim = TestSim::default_world();
    let big = json!({"type": "MeshTrafficPermission", "name": "big", "labels": {"x": "y".repeat(2 * 1024 * 1024)}});
    let reply = put(&sim, "/meshes/default/meshtrafficpermissions/big", big).await;
    assert_eq!(reply.status.as_u16(), 413);
}
