//! Permission evaluation: MeshTrafficPermission (`from[]` and `rules[]`), precedence, legacy
//! TrafficPermission, and Kuma's defaults.

mod common;

use bearing_kuma::model::{self, GatewayType, InboundPolicies, List, MeshTrafficPermission, TrafficPermission};
use bearing_kuma::permissions::{
    callers, evaluate, evaluate_rule_confs, ranked_above, relevant_to, Decision, MeshPolicies, Reason, Workload,
};
use common::fixture;

fn mtp(json: &str) -> MeshTrafficPermission {
    model::parse(json).unwrap()
}

fn policies<'a>(mtps: &'a [MeshTrafficPermission], legacy: &'a [TrafficPermission]) -> MeshPolicies<'a> {
    MeshPolicies {
        mesh: "default",
        mtls_enabled: true,
        mesh_traffic_permissions: mtps,
        traffic_permissions: legacy,
    }
}

fn svc(name: &str) -> Workload {
    Workload::service(name)
}

fn decision(p: &MeshPolicies<'_>, caller: &str, target: &str) -> Decision {
    evaluate(p, &svc(caller), &svc(target)).decision
}

const ALLOW_ALL: &str = r#"{"type":"MeshTrafficPermission","mesh":"default","name":"allow-all",
    "spec":{"targetRef":{"kind":"Mesh"},"from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Allow"}}]}}"#;

#[test]
fn defaults_without_policies() {
    // mTLS off: Kuma applies no RBAC at all, so traffic is not restricted.
    let off = MeshPolicies {
        mtls_enabled: false,
        ..policies(&[], &[])
    };
    let access = evaluate(&off, &svc("web"), &svc("backend"));
    assert_eq!(
        (access.decision, access.reason),
        (Decision::Allow, Reason::MtlsDisabled)
    );
    // mTLS on, nothing selects the target: Kuma's deny-all RBAC.
    let on = policies(&[], &[]);
    let access = evaluate(&on, &svc("web"), &svc("backend"));
    assert_eq!((access.decision, access.reason), (Decision::Deny, Reason::NoPolicy));
}

#[test]
fn fixture_allow_all_policy_allows() {
    let mtps = [mtp(&fixture("get_resource.golden.json"))];
    let access = evaluate(&policies(&mtps, &[]), &svc("web"), &svc("backend"));
    assert_eq!(access.decision, Decision::Allow);
    assert_eq!(
        access.reason,
        Reason::FromEntry {
            policy: "mtp-1".into(),
            index: 0
        }
    );
    // The same policy in another mesh does not apply.
    let other = MeshPolicies {
        mesh: "other",
        ..policies(&mtps, &[])
    };
    assert_eq!(evaluate(&other, &svc("web"), &svc("backend")).reason, Reason::NoPolicy);
}

#[test]
fn more_specific_top_level_target_wins() {
    // allow-all for the mesh, but backend only lets web in.
    let mtps = [
        mtp(r#"{"mesh":"default","name":"backend-only-web","spec":{
            "targetRef":{"kind":"MeshService","name":"backend"},
            "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}},
                    {"targetRef":{"kind":"MeshSubset","tags":{"kuma.io/service":"web"}},"default":{"action":"Allow"}}]}}"#),
        mtp(ALLOW_ALL),
    ];
    let p = policies(&mtps, &[]);
    assert_eq!(decision(&p, "web", "backend"), Decision::Allow);
    let denied = evaluate(&p, &svc("batch"), &svc("backend"));
    assert_eq!(denied.decision, Decision::Deny);
    assert_eq!(
        denied.reason,
        Reason::FromEntry {
            policy: "backend-only-web".into(),
            index: 0
        }
    );
    assert_eq!(
        decision(&p, "batch", "frontend"),
        Decision::Allow,
        "other targets keep allow-all"
    );
}

#[test]
fn later_from_entry_overrides_earlier_one() {
    // Kuma merges from[] entries in order: the last one containing the caller decides, even when an
    // earlier one names the caller more specifically.
    let allow_then_deny = [mtp(
        r#"{"mesh":"default","name":"p","spec":{"targetRef":{"kind":"Mesh"},"from":[
        {"targetRef":{"kind":"MeshService","name":"web"},"default":{"action":"Allow"}},
        {"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#,
    )];
    assert_eq!(
        decision(&policies(&allow_then_deny, &[]), "web", "backend"),
        Decision::Deny
    );
    let deny_then_allow = [mtp(
        r#"{"mesh":"default","name":"p","spec":{"targetRef":{"kind":"Mesh"},"from":[
        {"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}},
        {"targetRef":{"kind":"MeshService","name":"web"},"default":{"action":"Allow"}}]}}"#,
    )];
    assert_eq!(
        decision(&policies(&deny_then_allow, &[]), "web", "backend"),
        Decision::Allow
    );
    assert_eq!(
        decision(&policies(&deny_then_allow, &[]), "batch", "backend"),
        Decision::Deny
    );
}

#[test]
fn equal_targets_order_by_origin_then_smaller_name_last() {
    let named = |name: &str, action: &str, origin: &str| {
        mtp(&format!(
            r#"{{"mesh":"default","name":"{name}","labels":{{"kuma.io/origin":"{origin}"}},"spec":{{"targetRef":{{"kind":"Mesh"}},
            "from":[{{"targetRef":{{"kind":"Mesh"}},"default":{{"action":"{action}"}}}}]}}}}"#
        ))
    };
    // Same kind, same origin: "aaa" sorts after "zzz" and wins, whatever order the API listed them in.
    for mtps in [
        [named("zzz", "Allow", "zone"), named("aaa", "Deny", "zone")],
        [named("aaa", "Deny", "zone"), named("zzz", "Allow", "zone")],
    ] {
        let access = evaluate(&policies(&mtps, &[]), &svc("web"), &svc("backend"));
        assert_eq!(
            (access.decision, access.reason),
            (
                Decision::Deny,
                Reason::FromEntry {
                    policy: "aaa".into(),
                    index: 0
                }
            )
        );
    }
    // A zone policy outranks a global one whatever the names.
    for mtps in [
        [named("aaa", "Deny", "global"), named("zzz", "Allow", "zone")],
        [named("zzz", "Allow", "zone"), named("aaa", "Deny", "global")],
    ] {
        assert_eq!(decision(&policies(&mtps, &[]), "web", "backend"), Decision::Allow);
    }
}

#[test]
fn mesh_subset_target_and_shadow_deny() {
    let mtps = [
        mtp(ALLOW_ALL),
        mtp(r#"{"mesh":"default","name":"v2-trial","spec":{
            "targetRef":{"kind":"MeshSubset","tags":{"version":"v2"}},
            "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"AllowWithShadowDeny"}}]}}"#),
    ];
    let p = policies(&mtps, &[]);
    let v2 = svc("backend").with_tag("version", "v2");
    let access = evaluate(&p, &svc("web"), &v2);
    assert_eq!(access.decision, Decision::AllowWithShadowDeny);
    assert!(access.decision.allows());
    assert_eq!(
        decision(&p, "web", "backend"),
        Decision::Allow,
        "v1 (untagged) is not selected by the subset"
    );
}

#[test]
fn rules_shape_of_the_next_major() {
    // fixtures/next/get_resource: allow SPIFFE IDs with prefix spiffe://default.
    let mtps = [mtp(&fixture("next/get_resource.golden.json"))];
    let p = policies(&mtps, &[]);
    let access = evaluate(&p, &svc("web"), &svc("backend"));
    assert_eq!(access.decision, Decision::Allow, "spiffe://default/web has the prefix");
    assert_eq!(
        access.reason,
        Reason::RuleAllow {
            policy: "mtp-1".into(),
            rule: 0
        }
    );
    let stranger = svc("web").with_spiffe_id("spiffe://elsewhere/ns/x/sa/web");
    let access = evaluate(&p, &stranger, &svc("backend"));
    assert_eq!(access.decision, Decision::Deny, "rules[] are default-deny");
    assert_eq!(
        access.reason,
        Reason::NoMatchingEntry {
            policies: vec!["mtp-1".into()]
        }
    );
}

#[test]
fn rules_deny_wins_over_allow_in_any_order() {
    // The policy of mtp_multi_rule.input.yaml: allow prefix .../ns/backend, deny exact .../ns/backend/v1.
    let mtps = [mtp(r#"{"mesh":"default","name":"allow","spec":{"rules":[
        {"default":{"allow":[{"spiffeID":{"type":"Prefix","value":"spiffe://trust-domain.mesh/ns/backend"}}]}},
        {"default":{"deny":[{"spiffeID":{"type":"Exact","value":"spiffe://trust-domain.mesh/ns/backend/v1"}}]}}]}}"#)];
    let p = policies(&mtps, &[]);
    let caller = |id: &str| svc("client").with_spiffe_id(id);
    let target = svc("foo");
    let v2 = evaluate(&p, &caller("spiffe://trust-domain.mesh/ns/backend/v2"), &target);
    assert_eq!(
        (v2.decision, v2.reason),
        (
            Decision::Allow,
            Reason::RuleAllow {
                policy: "allow".into(),
                rule: 0
            }
        )
    );
    let v1 = evaluate(&p, &caller("spiffe://trust-domain.mesh/ns/backend/v1"), &target);
    assert_eq!(
        (v1.decision, v1.reason),
        (
            Decision::Deny,
            Reason::RuleDeny {
                policy: "allow".into(),
                rule: 1
            }
        )
    );
    assert_eq!(
        evaluate(&p, &caller("spiffe://trust-domain.mesh/ns/frontend"), &target).decision,
        Decision::Deny
    );

    // The effective rules Kuma's inspect API returns for that inbound give the same answers.
    let inspect: InboundPolicies = model::parse(&fixture("mtp_multi_rule.golden.json")).unwrap();
    let confs: Vec<_> = inspect.policies[0]
        .rules
        .iter()
        .map(|r| r.mtp_conf().unwrap())
        .collect();
    let eval = |id: &str| evaluate_rule_confs(&confs, "default", &caller(id), &target);
    assert_eq!(
        eval("spiffe://trust-domain.mesh/ns/backend/v2"),
        Some((Decision::Allow, 0))
    );
    assert_eq!(
        eval("spiffe://trust-domain.mesh/ns/backend/v1"),
        Some((Decision::Deny, 1))
    );
    assert_eq!(eval("spiffe://trust-domain.mesh/ns/frontend"), None);
}

#[test]
fn legacy_traffic_permissions_from_the_fixture() {
    let legacy = model::parse::<List<TrafficPermission>>(&fixture("get-traffic-permissions.golden.json"))
        .unwrap()
        .items;
    let p = policies(&[], &legacy);
    let backend1 = svc("backend1").with_tag("env", "dev");
    let web1_v1 = svc("web1").with_tag("version", "1.0");
    let access = evaluate(&p, &web1_v1, &backend1);
    assert_eq!(
        (access.decision, access.reason),
        (
            Decision::Allow,
            Reason::LegacyPermission {
                policy: "web1-to-backend1".into()
            }
        )
    );
    // Sources need every tag: web1 without version 1.0 is not a source.
    let access = evaluate(&p, &svc("web1"), &backend1);
    assert_eq!(
        access.reason,
        Reason::LegacyNotInSources {
            policy: "web1-to-backend1".into()
        }
    );
    assert_eq!(
        evaluate(&p, &svc("web2").with_tag("version", "1.0"), &backend1).decision,
        Decision::Deny
    );
    // Destinations need env=dev: a backend1 without it is selected by nothing.
    assert_eq!(evaluate(&p, &web1_v1, &svc("backend1")).reason, Reason::NoPolicy);
}

#[test]
fn legacy_most_specific_destination_wins_and_mtp_takes_over() {
    let legacy: Vec<TrafficPermission> = [
        r#"{"type":"TrafficPermission","mesh":"default","name":"allow-all-default",
            "sources":[{"match":{"kuma.io/service":"*"}}],"destinations":[{"match":{"kuma.io/service":"*"}}]}"#,
        r#"{"type":"TrafficPermission","mesh":"default","name":"only-web-to-backend",
            "sources":[{"match":{"kuma.io/service":"web"}}],"destinations":[{"match":{"kuma.io/service":"backend"}}]}"#,
    ]
    .iter()
    .map(|j| model::parse(j).unwrap())
    .collect();
    let p = policies(&[], &legacy);
    assert_eq!(decision(&p, "web", "backend"), Decision::Allow);
    assert_eq!(
        decision(&p, "batch", "backend"),
        Decision::Deny,
        "exact destination beats the wildcard"
    );
    assert_eq!(
        decision(&p, "batch", "frontend"),
        Decision::Allow,
        "wildcard policy for the rest"
    );

    // Once a MeshTrafficPermission selects the target, legacy permissions no longer apply to it.
    let mtps = [mtp(r#"{"mesh":"default","name":"frontend-closed","spec":{
        "targetRef":{"kind":"MeshService","name":"frontend"},"from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#)];
    let p = policies(&mtps, &legacy);
    assert_eq!(decision(&p, "batch", "frontend"), Decision::Deny);
    assert_eq!(
        decision(&p, "batch", "backend"),
        Decision::Deny,
        "still legacy for backend"
    );
    assert_eq!(decision(&p, "web", "backend"), Decision::Allow);
}

#[test]
fn legacy_tie_goes_to_the_newer_policy() {
    let tp = |name: &str, created: &str, source: &str| -> TrafficPermission {
        model::parse(&format!(
            r#"{{"mesh":"default","name":"{name}","creationTime":"{created}",
            "sources":[{{"match":{{"kuma.io/service":"{source}"}}}}],"destinations":[{{"match":{{"kuma.io/service":"backend"}}}}]}}"#
        ))
        .unwrap()
    };
    let legacy = [
        tp("a-old", "2024-01-01T00:00:00Z", "web"),
        tp("b-new", "2024-06-01T00:00:00Z", "batch"),
    ];
    let p = policies(&[], &legacy);
    assert_eq!(decision(&p, "batch", "backend"), Decision::Allow);
    assert_eq!(decision(&p, "web", "backend"), Decision::Deny);
}

#[test]
fn callers_split_into_allowed_and_denied() {
    let mtps = [mtp(r#"{"mesh":"default","name":"backend-callers","spec":{
        "targetRef":{"kind":"MeshService","name":"backend"},
        "from":[{"targetRef":{"kind":"MeshService","name":"web"},"default":{"action":"Allow"}},
                {"targetRef":{"kind":"MeshService","name":"batch"},"default":{"action":"Deny"}},
                {"targetRef":{"kind":"MeshService","name":"canary"},"default":{"action":"AllowWithShadowDeny"}}]}}"#)];
    let known: Vec<_> = ["web", "batch", "canary", "reports"].into_iter().map(svc).collect();
    let split = callers(&policies(&mtps, &[]), &svc("backend"), &known);
    let names =
        |list: &[bearing_kuma::permissions::CallerAccess]| list.iter().map(|c| c.service.clone()).collect::<Vec<_>>();
    assert_eq!(names(&split.allowed), ["web", "canary"]);
    assert_eq!(names(&split.denied), ["batch", "reports"]);
    assert_eq!(split.allowed[1].access.decision, Decision::AllowWithShadowDeny);
    assert_eq!(
        split.denied[1].access.reason,
        Reason::NoMatchingEntry {
            policies: vec!["backend-callers".into()]
        }
    );
}

#[test]
fn gateways_and_unresolvable_selectors() {
    let mtps = [
        mtp(r#"{"mesh":"default","name":"lock-app","spec":{
        "targetRef":{"kind":"Dataplane","labels":{"app":"backend"}},
        "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#),
        mtp(ALLOW_ALL),
    ];
    let p = policies(&mtps, &[]);
    let gateway = svc("edge").as_gateway(GatewayType::Builtin);
    assert_eq!(evaluate(&p, &svc("web"), &gateway).reason, Reason::GatewayNotEnforced);

    // Labels known: the Dataplane policy applies (and is more specific than the Mesh one).
    let labelled = svc("backend").with_label("app", "backend");
    assert_eq!(evaluate(&p, &svc("web"), &labelled).decision, Decision::Deny);
    // Labels unknown: not guessed; the Mesh policy decides and the gap is reported.
    let access = evaluate(&p, &svc("web"), &svc("backend"));
    assert_eq!(access.decision, Decision::Allow);
    assert_eq!(access.unresolved.len(), 1, "{:?}", access.unresolved);
    assert!(access.unresolved[0].starts_with("lock-app:"));
}

#[test]
fn the_policies_relevant_to_a_target_decide_as_all_of_them_do() {
    let mtps = [
        mtp(r#"{"mesh":"default","name":"lock-app","spec":{
        "targetRef":{"kind":"Dataplane","labels":{"app":"backend"}},
        "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#),
        mtp(ALLOW_ALL),
        mtp(r#"{"mesh":"default","name":"backend-callers","spec":{
        "targetRef":{"kind":"MeshService","name":"backend"},
        "from":[{"targetRef":{"kind":"MeshService","name":"batch"},"default":{"action":"Deny"}}]}}"#),
        mtp(r#"{"mesh":"default","name":"orders-callers","spec":{
        "targetRef":{"kind":"MeshService","name":"orders"},
        "from":[{"targetRef":{"kind":"MeshService","name":"web"},"default":{"action":"Deny"}}]}}"#),
        mtp(r#"{"mesh":"other","name":"elsewhere","spec":{
        "targetRef":{"kind":"Mesh"},
        "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#),
    ];
    let all = policies(&mtps, &[]);
    let target = svc("backend");
    let relevant = relevant_to(&all, &target);
    let names: Vec<&str> = relevant.iter().map(|p| p.meta.name.as_str()).collect();
    // The unresolvable one stays (to be reported), the other service's and mesh's go.
    assert_eq!(names, ["lock-app", "allow-all", "backend-callers"]);
    let narrowed = MeshPolicies {
        mesh_traffic_permissions: &relevant,
        ..all
    };
    for caller in ["web", "batch", "reports"] {
        assert_eq!(
            evaluate(&narrowed, &svc(caller), &target),
            evaluate(&all, &svc(caller), &target),
            "{caller}"
        );
    }
}

#[test]
fn policies_ranked_above_a_generated_one_are_named() {
    // Bearing's proposal selects `orders` by a MeshSubset on kuma.io/service.
    let bearing = mtp(
        r#"{"type":"MeshTrafficPermission","mesh":"default","name":"bearing-orders",
        "spec":{"targetRef":{"kind":"MeshSubset","tags":{"kuma.io/service":"orders"}},
                "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Deny"}}]}}"#,
    );
    let by_service = mtp(
        r#"{"type":"MeshTrafficPermission","mesh":"default","name":"allow-orders",
        "spec":{"targetRef":{"kind":"MeshService","name":"orders"},
                "from":[{"targetRef":{"kind":"MeshSubset","tags":{"kuma.io/service":"web"}},"default":{"action":"Allow"}}]}}"#,
    );
    let other_service = mtp(r#"{"type":"MeshTrafficPermission","mesh":"default","name":"allow-cart",
        "spec":{"targetRef":{"kind":"MeshService","name":"cart"},
                "from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Allow"}}]}}"#);
    let all = [mtp(ALLOW_ALL), by_service, other_service, bearing.clone()];
    // Mesh-wide ranks below, another service's is not about orders, and the proposal itself is
    // left out: only the MeshService-targeted policy of orders outranks it.
    assert_eq!(ranked_above(&all, &bearing, &svc("orders")), ["allow-orders"]);
    // And it does decide for web, whatever the proposal says.
    let mut with_bearing = all.to_vec();
    with_bearing.retain(|p| p.meta.name != "allow-all");
    assert_eq!(
        decision(&policies(&with_bearing, &[]), "web", "orders"),
        Decision::Allow
    );
    assert_eq!(
        decision(&policies(&with_bearing, &[]), "jobs", "orders"),
        Decision::Deny
    );
}
