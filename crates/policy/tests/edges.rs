//! Edge classification: every class, every precedence rule, unenforced meshes, and the
//! broadness of real evaluated grants.

use bearing_kuma::model::{MeshTrafficPermission, Tags, TrafficPermission};
use bearing_kuma::permissions::{evaluate, MeshPolicies, Workload};
use bearing_policy::edges::{
    classify, ownership_drift, Drift, DriftInput, EdgeClass, Observed, Permitted, PolicyIndex, DEFAULT_TEAM_LABEL,
};
use serde_json::json;
use time::macros::datetime;
use time::Duration;

fn seen() -> Observed {
    Observed {
        requests_per_s: 3.0,
        errors_per_s: 0.0,
        denied_per_s: 0.0,
        last_seen: datetime!(2026-01-10 12:00 UTC),
    }
}

fn permitted(allowed: bool, shadow: bool, enforced: bool, broad: bool) -> Permitted {
    Permitted {
        allowed,
        shadow,
        enforced,
        broad,
        policy: Some("p".into()),
        rule: Some("from[0]".into()),
    }
}

fn class(declared: bool, observed: bool, p: &Permitted) -> Option<EdgeClass> {
    let o = seen();
    classify(declared, observed.then_some(&o), p).map(|c| c.class)
}

const ALLOW: (bool, bool) = (true, false);
const DENY: (bool, bool) = (false, false);
const SHADOW: (bool, bool) = (true, true);

fn strict((allowed, shadow): (bool, bool), broad: bool) -> Permitted {
    permitted(allowed, shadow, true, broad)
}

#[test]
fn every_class() {
    use EdgeClass::*;
    assert_eq!(class(true, true, &strict(DENY, false)), Some(DeclaredDenied));
    assert_eq!(class(false, true, &strict(DENY, false)), Some(DeniedUnknown));
    assert_eq!(class(true, false, &strict(DENY, false)), Some(WillBreak));
    assert_eq!(class(true, true, &strict(SHADOW, false)), Some(ShadowDenied));
    assert_eq!(class(false, true, &strict(ALLOW, false)), Some(Undeclared));
    assert_eq!(class(false, false, &strict(ALLOW, true)), Some(OverPermitted));
    assert_eq!(class(true, false, &strict(ALLOW, false)), Some(UnusedGrant));
    assert_eq!(class(true, true, &strict(ALLOW, false)), Some(Healthy));
}

#[test]
fn not_an_edge() {
    assert_eq!(class(false, false, &strict(DENY, false)), None);
    assert_eq!(
        class(false, false, &strict(ALLOW, false)),
        None,
        "named grant, nobody uses or declares it"
    );
    assert_eq!(class(false, false, &strict(SHADOW, false)), None);
    assert_eq!(class(false, false, &strict(DENY, true)), None, "broad but denied");
}

#[test]
fn precedence() {
    use EdgeClass::*;
    // Shadow wins over undeclared, healthy and unused grant.
    assert_eq!(class(false, true, &strict(SHADOW, false)), Some(ShadowDenied));
    assert_eq!(class(true, false, &strict(SHADOW, true)), Some(ShadowDenied));
    // A broad shadow grant nobody declares or uses is over-permitted, not shadow-denied.
    assert_eq!(class(false, false, &strict(SHADOW, true)), Some(OverPermitted));
    // Broadness does not matter once declared or observed.
    assert_eq!(class(false, true, &strict(ALLOW, true)), Some(Undeclared));
    assert_eq!(class(true, true, &strict(ALLOW, true)), Some(Healthy));
    assert_eq!(class(true, false, &strict(ALLOW, true)), Some(UnusedGrant));
    // Denials outrank everything, whatever the other flags say.
    assert_eq!(
        class(true, true, &permitted(false, true, true, true)),
        Some(DeclaredDenied)
    );
    // Severity order is the declaration order, worst first.
    let mut all = EdgeClass::ALL.to_vec();
    all.reverse();
    all.sort();
    assert_eq!(all, EdgeClass::ALL.to_vec());
    assert_eq!(DeclaredDenied.severity(), 0);
    assert_eq!(Healthy.severity(), 7);
    for c in EdgeClass::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
}

#[test]
fn nothing_is_denied_when_nothing_is_enforced() {
    use EdgeClass::*;
    let off = |allowed| permitted(allowed, false, false, true);
    // Policies would deny, but mTLS is off or PERMISSIVE: traffic flows.
    let c = classify(true, Some(&seen()), &off(false)).unwrap();
    assert_eq!((c.class, c.enforced, c.latent_deny), (Healthy, false, true));
    let c = classify(false, Some(&seen()), &off(false)).unwrap();
    assert_eq!((c.class, c.latent_deny), (Undeclared, true));
    let c = classify(true, None, &off(false)).unwrap();
    assert_eq!((c.class, c.latent_deny), (UnusedGrant, true));
    // Everyone can call everyone: not an over-permitted edge each.
    assert_eq!(class(false, false, &off(true)), None);
    // Shadow means nothing without enforcement.
    assert_eq!(class(true, true, &permitted(true, true, false, false)), Some(Healthy));
    let c = classify(true, Some(&seen()), &off(true)).unwrap();
    assert!(!c.latent_deny);
}

#[test]
fn observed_window() {
    let now = datetime!(2026-01-10 12:30 UTC);
    assert!(seen().seen_within(now, Duration::hours(1)));
    assert!(!seen().seen_within(now, Duration::minutes(10)));
}

fn mtp(value: serde_json::Value) -> MeshTrafficPermission {
    serde_json::from_value(value).unwrap()
}

#[test]
fn permitted_from_real_evaluation() {
    let policies = vec![
        mtp(
            json!({"type": "MeshTrafficPermission", "mesh": "default", "name": "allow-all",
            "spec": {"targetRef": {"kind": "Mesh"}, "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}),
        ),
        mtp(
            json!({"type": "MeshTrafficPermission", "mesh": "default", "name": "payments",
            "spec": {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "payments"}},
                "from": [
                    {"targetRef": {"kind": "Mesh"}, "default": {"action": "AllowWithShadowDeny"}},
                    {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "orders"}}, "default": {"action": "Allow"}},
                    {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "legacy"}}, "default": {"action": "Deny"}}
                ]}}),
        ),
        mtp(
            json!({"type": "MeshTrafficPermission", "mesh": "default", "name": "ledger",
            "spec": {"targetRef": {"kind": "MeshSubset", "tags": {"kuma.io/service": "ledger"}},
                "rules": [{"default": {
                    "allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/payments"}},
                              {"spiffeID": {"type": "Prefix", "value": "spiffe://default/batch"}}]}}]}}),
        ),
    ];
    let tps: Vec<TrafficPermission> = Vec::new();
    let mesh = MeshPolicies {
        mesh: "default",
        mtls_enabled: true,
        mesh_traffic_permissions: &policies,
        traffic_permissions: &tps,
    };
    let index = PolicyIndex::new(&mesh);
    let check = |caller: &str, target: &str| {
        let caller = Workload::service(caller);
        let access = evaluate(&mesh, &caller, &Workload::service(target));
        index.permitted(&access, &caller, true)
    };

    let p = check("orders", "payments");
    assert!(p.allowed && !p.shadow && !p.broad && p.enforced);
    assert_eq!(
        (p.policy.as_deref(), p.rule.as_deref()),
        (Some("payments"), Some("from[1]"))
    );
    let p = check("web", "payments");
    assert!(p.allowed && p.shadow && p.broad);
    let p = check("legacy", "payments");
    assert!(!p.allowed && !p.broad);
    let p = check("web", "search");
    assert!(p.allowed && p.broad, "mesh-wide allow");
    assert_eq!(p.policy.as_deref(), Some("allow-all"));
    let p = check("payments", "ledger");
    assert!(p.allowed && !p.broad, "exact SPIFFE ID");
    assert_eq!(p.rule.as_deref(), Some("rules[0]"));
    let p = check("batch-eu", "ledger");
    assert!(p.allowed && p.broad, "prefix SPIFFE ID");

    // The mesh is PERMISSIVE: same verdicts, nothing enforced.
    let caller = Workload::service("legacy");
    let access = evaluate(&mesh, &caller, &Workload::service("payments"));
    let p = index.permitted(&access, &caller, false);
    assert!(!p.enforced && !p.allowed);
    assert_eq!(classify(true, Some(&seen()), &p).unwrap().class, EdgeClass::Healthy);
}

#[test]
fn ownership_drift_findings() {
    let ok: Tags = [("team".to_string(), "Payments".to_string())].into();
    let other: Tags = [("team".to_string(), "checkout".to_string())].into();
    let none = Tags::new();
    let dataplanes = [("pay-1", &ok), ("pay-2", &other), ("pay-3", &none)];
    let input = DriftInput {
        component: "component:default/payments",
        owner: Some("group:default/payments"),
        service: Some("payments"),
        dataplanes: &dataplanes,
        team_label: DEFAULT_TEAM_LABEL,
    };
    assert_eq!(
        ownership_drift(&input),
        vec![Drift::TeamMismatch {
            component: "component:default/payments".into(),
            dataplane: "pay-2".into(),
            label: "checkout".into(),
            owner: "group:default/payments".into(),
        }]
    );
    let custom = DriftInput {
        team_label: "owner",
        ..input
    };
    assert!(
        ownership_drift(&custom).is_empty(),
        "no dataplane has the configured label"
    );
    let unmapped = DriftInput { service: None, ..input };
    assert_eq!(
        ownership_drift(&unmapped),
        vec![Drift::NotInMesh {
            component: "component:default/payments".into()
        }]
    );
    let ownerless = DriftInput { owner: None, ..input };
    assert!(ownership_drift(&ownerless).is_empty());
}
