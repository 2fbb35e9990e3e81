//! Everything Bearing generates validates against Kuma 2.14's own schemas (the OpenAPI
//! document's `<Kind>Item`, vendored in `bearing_kuma::schema`) and passes the rules Kuma's
//! validator adds on top (`bearing_kuma::checks`): what the control plane would refuse never
//! leaves Bearing.

use std::path::PathBuf;

use bearing_kuma::permissions::Workload;
use bearing_kuma::{checks, schema};
use bearing_policy::generate::{generate, DataplaneSelector, Form, Request, Shadow};
use bearing_policy::templates::{for_component, load_dir, ComponentMeta};
use bearing_policy::Proposal;

fn workload(service: &str) -> Workload {
    Workload::service(service)
        .with_label("app", service)
        .with_spiffe_id(format!("spiffe://default.zone-1.mesh.local/workload/{service}"))
}

fn assert_kuma_accepts(proposal: &Proposal) {
    let resource = proposal.resource_json();
    if let Err(errors) = schema::validate(&proposal.kind, &resource) {
        panic!(
            "{} {} fails Kuma's schema: {errors:#?}\n{resource:#}",
            proposal.kind, proposal.name
        );
    }
    let violations = checks::spec_violations(&proposal.kind, &resource);
    assert!(
        violations.is_empty(),
        "{}: {violations:#?}\n{resource:#}",
        proposal.name
    );
    let violations = checks::request_violations(&proposal.mesh, &proposal.name, &resource);
    assert!(violations.is_empty(), "{}: {violations:#?}", proposal.name);
}

#[test]
fn generated_traffic_permissions_are_valid_kuma_resources() {
    let provider = workload("payments");
    let shadow = Shadow {
        trust_domains: vec!["default.zone-1.mesh.local".to_owned()],
    };
    let consumer_sets: [Vec<Workload>; 3] = [
        vec![],
        vec![workload("web")],
        vec![workload("web"), workload("orders"), workload("fraud-check")],
    ];
    let selectors = [
        DataplaneSelector::ServiceTag,
        DataplaneSelector::Labels([("app".to_owned(), "payments".to_owned())].into_iter().collect()),
    ];
    let mut checked = 0;
    for consumers in &consumer_sets {
        for selector in &selectors {
            for form in [Form::From, Form::Rules] {
                for shadow in [None, Some(&shadow)] {
                    let proposal = generate(&Request {
                        mesh: "default",
                        component: "component:default/payments",
                        provider: &provider,
                        selector,
                        consumers,
                        form,
                        shadow,
                    })
                    .expect("a proposal");
                    assert_kuma_accepts(&proposal);
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 24);
}

#[test]
fn template_policies_are_valid_kuma_resources() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy-templates");
    let templates = load_dir(&dir).expect("the example templates");
    let selector = DataplaneSelector::ServiceTag;
    let tags: Vec<String> = Vec::new();
    let mut produced = 0;
    for (lifecycle, tier) in [("production", "1"), ("production", "3"), ("experimental", "2")] {
        let policies = for_component(
            &templates,
            &ComponentMeta {
                component: "component:default/payments",
                mesh: "default",
                service: "payments",
                selector: &selector,
                entity_type: Some("service"),
                lifecycle: Some(lifecycle),
                tier: Some(tier),
                tags: &tags,
                system: None,
            },
        );
        for p in &policies {
            assert_kuma_accepts(&p.proposal);
        }
        produced += policies.len();
    }
    assert!(produced >= 6, "the examples cover every kind: {produced}");
}
