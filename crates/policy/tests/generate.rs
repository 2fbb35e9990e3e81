//! Proposals: generated, then evaluated back with `bearing_kuma::permissions`.

use bearing_kuma::model::{MeshTrafficPermission, Tags, TrafficPermission};
use bearing_kuma::permissions::{evaluate, Decision, MeshPolicies, Workload};
use bearing_policy::generate::{
    generate, to_mesh_traffic_permission, would_change, DataplaneSelector, Form, Request, Shadow,
};
use bearing_policy::names::{is_valid_label_value, is_valid_resource_name};
use bearing_policy::{diff, spec_hash, Error, Proposal, COMPONENT_LABEL, SPEC_HASH_LABEL};
use serde_json::json;

const MESH: &str = "default";
const UNIVERSE: [&str; 8] = [
    "orders", "web", "search", "batch", "ledger", "billing", "fraud", "admin",
];

/// A workload as the server knows it: service tag, dataplane labels, a MeshIdentity SPIFFE ID.
fn workload(service: &str) -> Workload {
    Workload::service(service)
        .with_label("app", service)
        .with_label("k8s.kuma.io/namespace", "shop")
        .with_spiffe_id(format!("spiffe://default.zone-1.mesh.local/ns/shop/sa/{service}"))
}

fn provider() -> Workload {
    workload("payments")
}

fn policies<'a>(mtps: &'a [MeshTrafficPermission], tps: &'a [TrafficPermission]) -> MeshPolicies<'a> {
    MeshPolicies {
        mesh: MESH,
        mtls_enabled: true,
        mesh_traffic_permissions: mtps,
        traffic_permissions: tps,
    }
}

fn propose(consumers: &[Workload], form: Form, selector: &DataplaneSelector, shadow: Option<&Shadow>) -> Proposal {
    let provider = provider();
    generate(&Request {
        mesh: MESH,
        component: "component:default/payments",
        provider: &provider,
        selector,
        consumers,
        form,
        shadow,
    })
    .unwrap()
}

fn allow_all() -> MeshTrafficPermission {
    serde_json::from_value(json!({"type": "MeshTrafficPermission", "mesh": MESH, "name": "allow-all",
        "spec": {"targetRef": {"kind": "Mesh"}, "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}))
    .unwrap()
}

/// Deterministic subsets of the universe (a tiny LCG; no randomness between runs).
fn subsets() -> Vec<Vec<&'static str>> {
    let mut seed: u32 = 12345;
    let mut out = vec![Vec::new(), UNIVERSE.to_vec()];
    for _ in 0..20 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let bits = seed >> 8;
        out.push(
            UNIVERSE
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, s)| *s)
                .collect(),
        );
    }
    out
}

#[test]
fn allows_exactly_the_declared_consumers() {
    let selectors = [
        DataplaneSelector::ServiceTag,
        DataplaneSelector::choose(&[&provider().labels], &[&workload("orders").labels]),
    ];
    assert!(matches!(selectors[1], DataplaneSelector::Labels(_)));
    for form in [Form::From, Form::Rules] {
        for selector in &selectors {
            for declared in subsets() {
                let consumers: Vec<Workload> = declared.iter().map(|s| workload(s)).collect();
                let proposal = propose(&consumers, form, selector, None);
                let mut mtps = vec![to_mesh_traffic_permission(&proposal).unwrap()];
                // The from[] form also takes back a broader policy's allow.
                if form == Form::From {
                    mtps.push(allow_all());
                }
                let mesh = policies(&mtps, &[]);
                for caller in UNIVERSE {
                    let access = evaluate(&mesh, &workload(caller), &provider());
                    let want = if declared.contains(&caller) {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    };
                    assert_eq!(
                        access.decision, want,
                        "{form:?} {selector:?} {declared:?} caller {caller}: {access:?}"
                    );
                    assert!(access.unresolved.is_empty(), "{:?}", access.unresolved);
                }
            }
        }
    }
}

#[test]
fn shadow_phase_lets_the_others_through_as_shadow_deny() {
    let consumers = vec![workload("orders")];
    for form in [Form::From, Form::Rules] {
        let proposal = propose(
            &consumers,
            form,
            &DataplaneSelector::ServiceTag,
            Some(&Shadow::default()),
        );
        let mtps = vec![to_mesh_traffic_permission(&proposal).unwrap()];
        let mesh = policies(&mtps, &[]);
        let orders = evaluate(&mesh, &workload("orders"), &provider()).decision;
        let web = evaluate(&mesh, &workload("web"), &provider()).decision;
        assert_eq!(web, Decision::AllowWithShadowDeny, "{form:?}");
        // from[]: the consumer stays a plain Allow. rules[]: Kuma's shadow matcher covers
        // every request (module docs), so the consumer is let in with shadow logging too.
        let want = if form == Form::From {
            Decision::Allow
        } else {
            Decision::AllowWithShadowDeny
        };
        assert_eq!(orders, want, "{form:?}");
    }
}

#[test]
fn from_form_shape() {
    let proposal = propose(
        &[workload("web"), workload("orders"), workload("orders")],
        Form::From,
        &DataplaneSelector::ServiceTag,
        None,
    );
    assert_eq!(proposal.name, "bearing-payments");
    assert_eq!(
        proposal.spec,
        json!({
            "targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "payments"}},
            "from": [
                {"targetRef": {"kind": "Mesh"}, "default": {"action": "Deny"}},
                {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "orders"}}, "default": {"action": "Allow"}},
                {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "web"}}, "default": {"action": "Allow"}}
            ]
        })
    );
    let hash = &proposal.labels[SPEC_HASH_LABEL];
    // A leading digit is quoted, so that an all-digit hash stays a string.
    let hash = if hash.starts_with(|c: char| c.is_ascii_digit()) {
        format!("\"{hash}\"")
    } else {
        hash.clone()
    };
    assert_eq!(
        proposal.universal_yaml,
        format!(
            "type: MeshTrafficPermission\nmesh: default\nname: bearing-payments\nlabels:\n  \
             bearing.dev/component: payments\n  bearing.dev/spec-hash: {hash}\nspec:\n  targetRef:\n    \
             kind: MeshSubset\n    tags:\n      kuma.io/service: payments\n  from:\n    - targetRef:\n        \
             kind: Mesh\n      default:\n        action: Deny\n    - targetRef:\n        kind: MeshSubset\n        \
             tags:\n          kuma.io/service: orders\n      default:\n        action: Allow\n    - targetRef:\n        \
             kind: MeshSubset\n        tags:\n          kuma.io/service: web\n      default:\n        action: Allow\n"
        )
    );
    assert!(proposal.kubernetes_yaml.starts_with(
        "apiVersion: kuma.io/v1alpha1\nkind: MeshTrafficPermission\nmetadata:\n  name: bearing-payments\n  \
         namespace: kuma-system\n  labels:\n"
    ));
    assert!(proposal.kubernetes_yaml.contains("\n    kuma.io/mesh: default\n"));
    assert_eq!(
        proposal.resource_json()["type"],
        json!("MeshTrafficPermission"),
        "Kuma's MeshTrafficPermissionItem shape"
    );
}

#[test]
fn rules_form_shape() {
    let selector = DataplaneSelector::Labels([("app".to_string(), "payments".to_string())].into());
    let proposal = propose(&[workload("orders")], Form::Rules, &selector, Some(&Shadow::default()));
    assert_eq!(
        proposal.spec,
        json!({
            "targetRef": {"kind": "Dataplane", "labels": {"app": "payments"}},
            "rules": [{"default": {
                "allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://default.zone-1.mesh.local/ns/shop/sa/orders"}}],
                "allowWithShadowDeny": [{"spiffeID": {"type": "Prefix", "value": "spiffe://default.zone-1.mesh.local"}}]
            }}]
        })
    );
    // No consumer at all: an explicit deny (Kuma refuses an empty rule).
    let none = propose(&[], Form::Rules, &DataplaneSelector::ServiceTag, None);
    assert_eq!(
        none.spec["rules"],
        json!([{"default": {"deny": [{"spiffeID": {"type": "Prefix", "value": "spiffe://default.zone-1.mesh.local"}}]}}])
    );
}

#[test]
fn refuses_what_kuma_would_refuse() {
    let provider = provider();
    let bad = Workload::service("web:80");
    let selector = DataplaneSelector::ServiceTag;
    let request = Request {
        mesh: MESH,
        component: "payments",
        provider: &Workload::service("payments"),
        selector: &selector,
        consumers: std::slice::from_ref(&bad),
        form: Form::Rules,
        shadow: None,
    };
    assert!(matches!(generate(&request), Err(Error::InvalidSpiffeId { .. })));
    let other = DataplaneSelector::Labels([("app".to_string(), "orders".to_string())].into());
    let request = Request {
        provider: &provider,
        selector: &other,
        consumers: &[],
        form: Form::From,
        ..request
    };
    let err = generate(&request).unwrap_err();
    assert!(matches!(err, Error::SelectorMissesProvider { .. }), "{err}");
    let shadow = Shadow {
        trust_domains: vec!["Not A Domain".into()],
    };
    let request = Request {
        selector: &selector,
        form: Form::Rules,
        shadow: Some(&shadow),
        ..request
    };
    assert!(matches!(generate(&request), Err(Error::InvalidTrustDomain(_))));
}

#[test]
fn would_change_names_the_callers() {
    let consumers = vec![workload("orders")];
    let observed = vec![workload("orders"), workload("web")];
    let proposal = propose(&consumers, Form::From, &DataplaneSelector::ServiceTag, None);
    let mtps = vec![allow_all()];
    let change = would_change(&policies(&mtps, &[]), &proposal, &provider(), &observed).unwrap();
    assert_eq!(change.would_deny.len(), 1);
    assert_eq!(change.would_deny[0].service, "web");
    assert_eq!(
        (change.would_deny[0].before, change.would_deny[0].after),
        (Decision::Allow, Decision::Deny)
    );
    assert!(change.would_allow.is_empty());

    // Replacing an earlier Bearing policy of the same name that let everyone in (rules form).
    let mut earlier = to_mesh_traffic_permission(&propose(
        &[],
        Form::Rules,
        &DataplaneSelector::ServiceTag,
        Some(&Shadow::default()),
    ))
    .unwrap();
    earlier.meta.labels.insert("kuma.io/origin".into(), "zone".into());
    let mtps = vec![earlier];
    let shadowed = would_change(
        &policies(&mtps, &[]),
        &propose(&consumers, Form::Rules, &DataplaneSelector::ServiceTag, None),
        &provider(),
        &observed,
    )
    .unwrap();
    assert_eq!(
        shadowed
            .would_deny
            .iter()
            .map(|c| c.service.as_str())
            .collect::<Vec<_>>(),
        ["web"]
    );

    // Nothing selects the target yet (mTLS on: deny-all): the proposal lets the consumer in.
    let change = would_change(&policies(&[], &[]), &proposal, &provider(), &observed).unwrap();
    assert_eq!(
        change
            .would_allow
            .iter()
            .map(|c| c.service.as_str())
            .collect::<Vec<_>>(),
        ["orders"]
    );
    assert!(change.would_deny.is_empty());

    // Moving to a shadow phase: the undeclared caller keeps working but is logged.
    let shadow = propose(
        &consumers,
        Form::From,
        &DataplaneSelector::ServiceTag,
        Some(&Shadow::default()),
    );
    let mtps = vec![allow_all()];
    let change = would_change(&policies(&mtps, &[]), &shadow, &provider(), &observed).unwrap();
    assert_eq!(
        change
            .would_shadow
            .iter()
            .map(|c| c.service.as_str())
            .collect::<Vec<_>>(),
        ["web"]
    );
}

#[test]
fn names_and_labels_for_odd_components() {
    let long = format!("component:default/{}", "Very.Long_Name".repeat(30));
    for component in [
        "component:default/Payments",
        "component:default/payments.v2",
        "component:Team-EU/payments",
        "component:default/zahlungsverkehr-\u{fc}berweisung",
        "component:default/\u{652f}\u{4ed8}",
        long.as_str(),
    ] {
        let provider = provider();
        let proposal = generate(&Request {
            mesh: MESH,
            component,
            provider: &provider,
            selector: &DataplaneSelector::ServiceTag,
            consumers: &[],
            form: Form::From,
            shadow: None,
        })
        .unwrap();
        assert!(
            is_valid_resource_name(&proposal.name),
            "{component} -> {}",
            proposal.name
        );
        assert!(proposal.name.starts_with("bearing-"));
        for (key, value) in &proposal.labels {
            assert!(is_valid_label_value(value), "{component}: {key}={value}");
        }
        assert!(proposal.labels.contains_key(COMPONENT_LABEL));
    }
}

#[test]
fn hash_is_stable_across_key_order() {
    let a: serde_json::Value =
        serde_json::from_str(r#"{"b": {"y": 1, "x": [1, {"q": 2, "p": 3}]}, "a": "z"}"#).unwrap();
    let b: serde_json::Value =
        serde_json::from_str(r#"{"a": "z", "b": {"x": [1, {"p": 3, "q": 2}], "y": 1}}"#).unwrap();
    assert_eq!(spec_hash(&a), spec_hash(&b));
    assert_eq!(spec_hash(&a).len(), 16);
    assert_ne!(spec_hash(&a), spec_hash(&json!({"a": "z"})));
    // Same consumers in another order: same proposal.
    let one = propose(
        &[workload("web"), workload("orders")],
        Form::Rules,
        &DataplaneSelector::ServiceTag,
        None,
    );
    let two = propose(
        &[workload("orders"), workload("web")],
        Form::Rules,
        &DataplaneSelector::ServiceTag,
        None,
    );
    assert_eq!(one, two);
}

#[test]
fn diff_is_unified() {
    let old = propose(&[workload("orders")], Form::From, &DataplaneSelector::ServiceTag, None);
    let new = propose(
        &[workload("orders"), workload("web")],
        Form::From,
        &DataplaneSelector::ServiceTag,
        None,
    );
    let text = diff(Some(&old.universal_yaml), &new.universal_yaml);
    assert!(text.starts_with("--- applied\n+++ proposed\n@@"), "{text}");
    assert!(text.contains("+          kuma.io/service: web\n"), "{text}");
    assert!(text.contains("-  bearing.dev/spec-hash: "), "{text}");
    assert_eq!(diff(Some(&new.universal_yaml), &new.universal_yaml), "");
    let created = diff(None, &new.universal_yaml);
    assert!(created.starts_with("--- /dev/null\n+++ proposed\n"), "{created}");
}

#[test]
fn selector_choice() {
    let pay1: Tags = [("app", "payments"), ("k8s.kuma.io/namespace", "shop")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let pay2 = pay1.clone();
    let other_ns: Tags = [("app", "payments"), ("k8s.kuma.io/namespace", "test")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let orders: Tags = [("app", "orders"), ("k8s.kuma.io/namespace", "shop")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    assert_eq!(
        DataplaneSelector::choose(&[&pay1, &pay2], &[&orders, &other_ns]),
        DataplaneSelector::Labels(pay1.clone())
    );
    // Two dataplanes disagree on the namespace: `app` alone would select the other namespace's too.
    assert_eq!(
        DataplaneSelector::choose(&[&pay1, &other_ns], &[&other_ns]),
        DataplaneSelector::ServiceTag
    );
    assert_eq!(DataplaneSelector::choose(&[], &[]), DataplaneSelector::ServiceTag);
    assert_eq!(
        DataplaneSelector::choose(&[&Tags::new()], &[]),
        DataplaneSelector::ServiceTag
    );
}
