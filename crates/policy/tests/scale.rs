//! The server classifies about 5,000 edges over 1,000 services per page load; this measures the
//! whole path (evaluation, `PolicyIndex::permitted`, `classify`) with one Bearing-generated
//! policy per service. Run with `cargo test -p bearing-policy --release --test scale -- --ignored`.

use bearing_kuma::model::MeshTrafficPermission;
use bearing_kuma::permissions::{evaluate, MeshPolicies, Workload};
use bearing_policy::edges::{classify, PolicyIndex};
use bearing_policy::generate::{generate, to_mesh_traffic_permission, DataplaneSelector, Form, Request};
use std::time::Instant;

#[test]
#[ignore = "timing; run in release"]
fn five_thousand_edges_over_a_thousand_services() {
    let services: Vec<Workload> = (0..1000).map(|i| Workload::service(format!("svc-{i}"))).collect();
    let mut policies: Vec<MeshTrafficPermission> = Vec::new();
    for (i, provider) in services.iter().enumerate() {
        let consumers: Vec<Workload> = (1..=5).map(|d| services[(i + d * 7) % 1000].clone()).collect();
        let component = provider.service.clone();
        let proposal = generate(&Request {
            mesh: "default",
            component: &component,
            provider,
            selector: &DataplaneSelector::ServiceTag,
            consumers: &consumers,
            form: Form::From,
            shadow: None,
        })
        .unwrap();
        policies.push(to_mesh_traffic_permission(&proposal).unwrap());
    }
    let mesh = MeshPolicies {
        mesh: "default",
        mtls_enabled: true,
        mesh_traffic_permissions: &policies,
        traffic_permissions: &[],
    };
    let start = Instant::now();
    let index = PolicyIndex::new(&mesh);
    let mut problems = 0;
    for i in 0..5000 {
        let target = &services[i % 1000];
        let caller = &services[(i * 13 + i / 1000) % 1000];
        let access = evaluate(&mesh, caller, target);
        let permitted = index.permitted(&access, caller, true);
        if classify(i % 3 == 0, None, &permitted).is_some_and(|c| c.class.is_problem()) {
            problems += 1;
        }
    }
    let elapsed = start.elapsed();
    println!("5000 edges, 1000 policies: {elapsed:?} ({problems} problems)");
}
