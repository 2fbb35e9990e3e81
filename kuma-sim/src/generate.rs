//! Large generated worlds for benchmarks: `--generate-proxies N --generate-services M`.
//!
//! One mesh `default` (builtin CA, mTLS on, MeshServices generated) with `M` services named
//! `svc-0001` ... and `N` proxies spread round-robin over them (`svc-0001-1`, `svc-0002-1`, ...).
//! About 4% of proxies are offline, 1% never connected, 2% partially degraded; `svc-0001` is a
//! delegated gateway. Certificates mostly expire 20–30 days after start, 1% within 7 days, 0.5%
//! expired. Each service calls up to three others (deterministic for a seed); a mesh-wide
//! MeshTrafficPermission allows everything except one explicit deny.

use crate::spec::{
    ControlPlaneSpec, GatewayKind, MeshSpec, MtlsSpec, MtpEntry, ProxySpec, ProxyState, ServiceSpec, TrafficSpec,
    WorldSpec,
};
use serde_json::json;
use std::collections::BTreeMap;

/// A small deterministic pseudo-random generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A world of `proxies` proxies over `services` services (at least one of each).
pub fn world(proxies: usize, services: usize, seed: u64) -> WorldSpec {
    let services = services.max(1);
    let proxies = proxies.max(services);
    let mut rng = Rng(seed);
    let width = services.to_string().len().max(4);
    let name = |i: usize| format!("svc-{:0width$}", i + 1);

    let mut per_service: Vec<Vec<ProxySpec>> = vec![Vec::new(); services];
    for p in 0..proxies {
        let roll = rng.below(1000);
        let status = match roll {
            0..=39 => ProxyState::Offline,
            40..=49 => ProxyState::NeverConnected,
            50..=69 => ProxyState::PartiallyDegraded,
            _ => ProxyState::Online,
        };
        let cert_roll = rng.below(1000);
        let certificate = match cert_roll {
            0..=4 => format!("-{}h", 1 + rng.below(72)),
            5..=14 => format!("{}h", 1 + rng.below(7 * 24 - 1)),
            _ => format!("{}h", 20 * 24 + rng.below(10 * 24)),
        };
        per_service[p % services].push(ProxySpec {
            name: None,
            status,
            certificate: Some(certificate),
            labels: BTreeMap::new(),
        });
    }

    let mut traffic = Vec::new();
    for from in 0..services {
        let calls = rng.below(4) as usize;
        for _ in 0..calls.min(services.saturating_sub(1)) {
            let to = rng.below(services as u64) as usize;
            if to == from
                || traffic
                    .iter()
                    .any(|t: &TrafficSpec| t.from == name(from) && t.to == name(to))
            {
                continue;
            }
            traffic.push(TrafficSpec {
                from: name(from),
                to: name(to),
                mesh: None,
                rps: 1.0 + rng.below(50) as f64,
                error_ratio: rng.below(30) as f64 / 1000.0,
                declared: None,
            });
        }
    }

    let service_specs = per_service
        .into_iter()
        .enumerate()
        .map(|(i, proxies)| ServiceSpec {
            name: name(i),
            mesh: "default".to_string(),
            port: 8080,
            protocol: "http".to_string(),
            gateway: (i == 0).then_some(GatewayKind::Delegated),
            tags: BTreeMap::new(),
            labels: BTreeMap::new(),
            latency_ms: Some(2.0 + (i % 50) as f64),
            replicas: None,
            proxies,
            component: None,
        })
        .collect();

    let mut mtps = vec![MtpEntry {
        name: "allow-all".to_string(),
        mesh: "default".to_string(),
        labels: BTreeMap::new(),
        spec: json!({"targetRef": {"kind": "Mesh"}, "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}),
    }];
    if services > 2 {
        mtps.push(MtpEntry {
            name: "deny-svc-0003-to-svc-0002".to_string(),
            mesh: "default".to_string(),
            labels: BTreeMap::new(),
            spec: json!({"targetRef": {"kind": "MeshService", "name": name(1)},
                         "from": [{"targetRef": {"kind": "MeshService", "name": name(2)}, "default": {"action": "Deny"}}]}),
        });
    }

    WorldSpec {
        control_plane: ControlPlaneSpec::default(),
        meshes: vec![MeshSpec {
            name: "default".to_string(),
            mtls: Some(MtlsSpec {
                backend: "ca-1".to_string(),
                backend_type: "builtin".to_string(),
                enabled: true,
                mode: None,
                cert_lifetime: "30d".to_string(),
            }),
            mesh_services: Some("Everywhere".to_string()),
            mesh_identity: None,
        }],
        services: service_specs,
        mesh_traffic_permissions: mtps,
        traffic_permissions: Vec::new(),
        policies: Vec::new(),
        traffic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_determinism() {
        let a = world(500, 100, 7);
        let b = world(500, 100, 7);
        assert_eq!(a, b);
        a.validate().unwrap();
        assert_eq!(a.services.len(), 100);
        assert_eq!(a.services.iter().map(|s| s.proxies.len()).sum::<usize>(), 500);
    }
}
