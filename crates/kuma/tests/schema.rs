//! `bearing_kuma::schema` against Kuma's own requests and goldens: what Kuma accepts passes, what
//! it rejects fails with the field and reason Kuma answers.

mod common;

use bearing_kuma::schema::{self, KINDS};
use common::fixture;
use serde_json::{json, Value};

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn kumas_rejected_put_body_fails_with_kumas_field_and_reason() {
    // pkg/api-server/testdata/resources/crud/put_mtp_00.{request,golden}.json
    let request = fixture_json("put_mtp_00.request.json");
    let golden = fixture_json("put_mtp_00.golden.json");
    let errors = schema::validate("MeshTrafficPermission", &request).unwrap_err();
    let violations: Vec<(String, String)> = errors.iter().map(|e| e.kuma_violation()).collect();
    let expected: Vec<(String, String)> = golden["invalid_parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(violations, expected);
    assert_eq!(errors[0].pointer, "/spec/targetRef/name");
}

#[test]
fn a_wrong_type_is_reported_like_kuma_without_a_spec_field() {
    // pkg/api-server/testdata/resources/crud/put_mtp_01.{request,golden}.json (kumahq/kuma v2.14.3):
    // `{"field": "", "reason": "type in body should be one of [MeshTrafficPermission]"}`.
    let request = json!({"type": "TrafficPermission", "name": "sample",
                         "spec": {"targetRef": {"kind": "Mesh"}, "from": [{"targetRef": {"kind": "Mesh"}}]}});
    let errors = schema::validate("MeshTrafficPermission", &request).unwrap_err();
    let violations: Vec<(String, String)> = errors.iter().map(|e| e.kuma_violation()).collect();
    assert_eq!(
        violations,
        [(
            String::new(),
            "type in body should be one of [MeshTrafficPermission]".to_string()
        )]
    );
}

#[test]
fn kumas_own_resources_pass() {
    // Kuma's stored/returned resources are valid against its own schemas.
    let mtp = fixture_json("get_resource.golden.json");
    schema::validate("MeshTrafficPermission", &mtp).unwrap();
    let next = fixture_json("next/get_resource.golden.json");
    schema::validate("MeshTrafficPermission", &next).unwrap();
    // put_mtp_02 is rejected by Kuma for its labels, which the API checks after the schema.
    schema::validate("MeshTrafficPermission", &fixture_json("put_mtp_02.request.json")).unwrap();
    for item in fixture_json("get-meshtimeouts.golden.json")["items"]
        .as_array()
        .unwrap()
    {
        schema::validate("MeshTimeout", item).unwrap_or_else(|e| panic!("{}: {e:?}", item["name"]));
    }
    for item in fixture_json("list_meshservices.golden.json")["items"]
        .as_array()
        .unwrap()
    {
        schema::validate("MeshService", item).unwrap_or_else(|e| panic!("{}: {e:?}", item["name"]));
    }
}

#[test]
fn missing_and_misspelt_fields_are_located() {
    let errors = schema::validate("MeshTrafficPermission", &json!({"type": "MeshTrafficPermission"})).unwrap_err();
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field()).collect();
    fields.sort();
    // kube-openapi joins a missing top-level property to the empty root path: `.name`.
    assert_eq!(fields, [".name", ".spec"]);
    assert!(errors.iter().all(|e| e.message == "in body is required"));
    assert_eq!(errors.iter().find(|e| e.field() == ".name").unwrap().pointer, "/name");

    let bad = json!({"type": "MeshTrafficPermission", "name": "x", "spec": {
        "targetRef": {"kind": "Service"},
        "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Maybe"}}]}});
    let errors = schema::validate("MeshTrafficPermission", &bad).unwrap_err();
    let by_field: Vec<(String, String)> = errors.iter().map(|e| e.kuma_violation()).collect();
    assert!(by_field.contains(&(
        "spec.from[0].default.action".into(),
        "in body should be one of [Allow Deny AllowWithShadowDeny]".into()
    )));
    assert!(by_field
        .iter()
        .any(|(f, r)| f == "spec.targetRef.kind" && r.starts_with("in body should be one of [Mesh ")));
}

#[test]
fn every_kind_validates_its_minimal_form() {
    for kind in KINDS {
        let minimal = json!({"type": kind, "name": "n", "mesh": "default", "spec": {}});
        schema::validate(kind, &minimal).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        let wrong = json!({"type": kind, "name": "n", "spec": []});
        assert!(schema::validate(kind, &wrong).is_err(), "{kind} accepts an array spec");
    }
}
