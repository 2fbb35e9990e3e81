//! Benchmark of classifying a mesh's edges (issue 12): 1,000 services, about 5,000 declared or
//! observed caller -> destination pairs, one MeshTrafficPermission per destination plus mesh-wide
//! ones, all judged by Kuma's rules and classified, as `GET /api/v1/mesh/edges` does after its
//! reads. Pure computation (`app::policy::edges::compute::mesh_edges`): the database reads that
//! precede it are not timed here. Writes `bench/results/mesh-edges.json`; asserts nothing.
//!
//!   cargo bench -p server --features app/ssr --bench mesh_edges
//!
//! `SERVICES` (1000), `DECLARED` (4000), `UNDECLARED` (1000) and `RUNS` (10) change the shape.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use app::mesh::service::{MeshServiceIndex, Workloads};
use app::mesh::state::RelevantPolicies;
use app::policy::edges::compute::{mesh_edges, MeshInputs};
use app::policy::repo::{DeclaredDependency, ObservedPair};
use bearing_kuma::model::MeshTrafficPermission;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator, so every run judges the same mesh.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

fn main() -> anyhow::Result<()> {
    let services = env_usize("SERVICES", 1000);
    let declared_n = env_usize("DECLARED", 4000);
    let undeclared_n = env_usize("UNDECLARED", 1000);
    let runs = env_usize("RUNS", 10).max(1);
    let mut rng = Lcg(12);
    let name = |i: usize| format!("svc-{i:04}");
    // Every tenth service is in no component ("not in the catalog").
    let names: Vec<(String, Option<String>, Option<String>)> = (0..services)
        .map(|i| {
            (
                name(i),
                (i % 10 != 9).then(|| format!("component:default/{}", name(i))),
                None,
            )
        })
        .collect();
    let mut declared_pairs = BTreeSet::new();
    while declared_pairs.len() < declared_n {
        let (a, b) = (rng.below(services), rng.below(services));
        if a != b && a % 10 != 9 && b % 10 != 9 {
            declared_pairs.insert((a, b));
        }
    }
    let declared: Vec<DeclaredDependency> = declared_pairs
        .iter()
        .map(|(a, b)| DeclaredDependency {
            from_ref: format!("component:default/{}", name(*a)),
            to_ref: format!("component:default/{}", name(*b)),
            via: "dependsOn".to_owned(),
        })
        .collect();
    // Seven in ten declared pairs are called, plus undeclared calls.
    let now = time::OffsetDateTime::now_utc();
    let mut observed: Vec<ObservedPair> = Vec::new();
    let pair = |a: usize, b: usize| ObservedPair {
        caller: name(a),
        callee: name(b),
        requests_per_s: 10.0,
        errors_per_s: 0.1,
        denied_per_s: 0.0,
        last_seen: now,
    };
    for (i, (a, b)) in declared_pairs.iter().enumerate() {
        if i % 10 < 7 {
            observed.push(pair(*a, *b));
        }
    }
    for _ in 0..undeclared_n {
        let (a, b) = (rng.below(services), rng.below(services));
        if a != b {
            observed.push(pair(a, b));
        }
    }
    // One policy per destination admitting its declared callers, and two mesh-wide ones.
    let mut callers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (a, b) in &declared_pairs {
        callers.entry(*b).or_default().push(*a);
    }
    let mut mtps: Vec<MeshTrafficPermission> = callers
        .iter()
        .map(|(b, froms)| {
            let from: Vec<_> = froms
                .iter()
                .map(|a| serde_json::json!({"targetRef": {"kind": "MeshService", "name": name(*a)}, "default": {"action": "Allow"}}))
                .collect();
            serde_json::from_value(serde_json::json!({"type": "MeshTrafficPermission", "mesh": "default",
                "name": format!("allow-{}", name(*b)),
                "spec": {"targetRef": {"kind": "MeshService", "name": name(*b)}, "from": from}}))
        })
        .collect::<Result<_, _>>()?;
    for (i, target) in [name(1), name(2)].iter().enumerate() {
        mtps.push(serde_json::from_value(
            serde_json::json!({"type": "MeshTrafficPermission", "mesh": "default",
            "name": format!("open-{i}"),
            "spec": {"targetRef": {"kind": "MeshService", "name": target},
                     "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}}),
        )?);
    }

    // Built once per policy set in the server, as here; the policies relevant to each service are
    // found afresh in every run (a set just loaded), so each run judges every pair cold.
    let workloads = Workloads::new(&names, &MeshServiceIndex::default());
    let mut times_ms = Vec::new();
    let mut edges = Vec::new();
    for _ in 0..=runs {
        let relevant = RelevantPolicies::default();
        let input = MeshInputs {
            control_plane: "default",
            mesh: "default",
            mtls_enabled: true,
            mtls_mode: None,
            services: &names,
            mesh_traffic_permissions: &mtps,
            traffic_permissions: &[],
            workloads: &workloads,
            relevant: &relevant,
            declared: &declared,
            observed: &observed,
            focus: None,
        };
        let start = Instant::now();
        edges = mesh_edges(&input);
        times_ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times_ms.remove(0); // warm-up
    times_ms.sort_by(f64::total_cmp);
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for e in &edges {
        *classes.entry(e.class.clone()).or_default() += 1;
    }
    let result = serde_json::json!({
        "what": "mesh_edges: judge and classify every edge of one mesh (no database reads)",
        "services": services,
        "policies": mtps.len(),
        "declared_pairs": declared.len(),
        "observed_pairs": observed.len(),
        "edges": edges.len(),
        "classes": classes,
        "runs": runs,
        "ms": {"min": times_ms[0], "median": times_ms[times_ms.len() / 2], "max": times_ms[times_ms.len() - 1]},
        "commit": std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output()
            .ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/results/mesh-edges.json");
    std::fs::write(&out, serde_json::to_string_pretty(&result)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
