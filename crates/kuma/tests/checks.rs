//! `bearing_kuma::checks` against Kuma's goldens and source: the violations and warnings Kuma's
//! API server answers.

mod common;

use bearing_kuma::checks::{self, Violation};
use common::fixture;
use serde_json::{json, Value};

fn golden(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/goldens")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn invalid_parameters(body: &Value) -> Vec<Violation> {
    body["invalid_parameters"]
        .as_array()
        .expect("invalid_parameters")
        .iter()
        .map(|p| Violation {
            field: p["field"].as_str().unwrap().to_string(),
            message: p["reason"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn bad_labels_are_reported_exactly_like_kuma() {
    // put_mtp_02: the body passes the schema and Kuma's spec rules, its labels do not.
    let request: Value = serde_json::from_str(&fixture("put_mtp_02.request.json")).unwrap();
    assert!(checks::spec_violations("MeshTrafficPermission", &request).is_empty());
    let got = checks::request_violations("default", "sample", &request);
    assert_eq!(got, invalid_parameters(&golden("put_mtp_02.golden.json")));
}

#[test]
fn url_and_body_must_agree() {
    let body = json!({"type": "MeshTrafficPermission", "name": "other", "mesh": "default", "spec": {}});
    let got = checks::request_violations("prod", "sample", &body);
    assert_eq!(
        got,
        [
            Violation {
                field: "name".into(),
                message: "name from the URL has to be the same as in body".into()
            },
            Violation {
                field: "mesh".into(),
                message: "mesh from the URL has to be the same as in body".into()
            },
        ]
    );
    let agree = json!({"type": "MeshTrafficPermission", "name": "sample", "mesh": "prod", "spec": {},
                       "labels": {"team": "checkout", "kuma.io/mesh": "prod"}});
    assert!(checks::request_violations("prod", "sample", &agree).is_empty());
}

#[test]
fn mtp_spec_rules_name_the_field() {
    let spec = json!({"spec": {
    "targetRef": {"kind": "MeshGateway", "name": "gw"},
    "rules": [
        {"default": {}},
        {"default": {"deny": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/a/"}}]}}
    ]}});
    let got = checks::spec_violations("MeshTrafficPermission", &spec);
    let fields: Vec<(&str, &str)> = got.iter().map(|v| (v.field.as_str(), v.message.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("spec.targetRef.kind", "value 'MeshGateway' is not supported"),
            (
                "spec.rules[0]",
                "at least one of 'allow', 'allowWithShadowDeny', 'deny' has to be defined"
            ),
            (
                "spec.rules[1].deny[0].spiffeID",
                "must be a valid Spiffe ID: path cannot have a trailing slash"
            ),
        ]
    );
    let from = json!({"spec": {"targetRef": {"kind": "Mesh"},
        "from": [{"targetRef": {"kind": "Dataplane"}, "default": {}}]}});
    let got = checks::spec_violations("MeshTrafficPermission", &from);
    let fields: Vec<(&str, &str)> = got.iter().map(|v| (v.field.as_str(), v.message.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("spec.from[0].targetRef.kind", "value 'Dataplane' is not supported"),
            ("spec.from[0].default.action", "must be defined"),
        ]
    );
}

#[test]
fn deprecated_forms_warn_in_kumas_words() {
    let legacy = json!({"spec": {"targetRef": {"kind": "MeshService", "name": "backend"},
        "from": [{"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"action": "Allow"}}]}});
    assert_eq!(
        checks::warnings("MeshTrafficPermission", &legacy),
        [
            "'from' field is deprecated and will be removed in 3.0, use 'rules' with MeshIdentity (spiffeId) instead",
            "MeshService value for 'from[].targetRef.kind' is deprecated, use MeshSubset with 'kuma.io/service' instead",
            "MeshService value for 'targetRef.kind' is deprecated, use Dataplane with labels instead",
        ]
    );
    let current = json!({"spec": {"targetRef": {"kind": "Dataplane", "labels": {"app": "backend"}},
        "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/web"}}]}}]}});
    assert!(checks::warnings("MeshTrafficPermission", &current).is_empty());
    let timeout = json!({"spec": {"targetRef": {"kind": "MeshSubset", "tags": {"a": "b"}}, "to": []}});
    assert_eq!(
        checks::warnings("MeshTimeout", &timeout),
        ["MeshSubset value for 'targetRef.kind' is deprecated, use Dataplane with labels instead"]
    );
}
