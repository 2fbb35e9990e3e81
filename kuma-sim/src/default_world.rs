//! The built-in world: the demo catalog (`examples/`) as a Kuma control plane would see it.
//!
//! [`CATALOG`] lists the catalog's components with their type, lifecycle and `dependsOn` on other
//! components, as in `examples/components/*.yaml` and `examples/compass/*/compass.yml` (a test
//! re-reads those files and fails when they drift apart). None of them carries a `kuma.io/service`
//! annotation, so each maps to the Kuma service of the same name. From it:
//!
//! - Two meshes: `default` (builtin CA `ca-1`, mTLS on, MeshServices generated) and `legacy`
//!   (no mTLS) holding the deprecated `invoicing` and `storefront-cms` and the uncatalogued
//!   `legacy-erp` that `invoicing` depends on.
//! - Every deployable component (libraries are not services) is a service, except
//!   [`LEFT_OUT`] (`status-page`, `sms-sender`: "not in the mesh"); [`EXTRA_SERVICES`]
//!   (`legacy-erp`, `currency-rates`) are in the mesh but not in the catalog.
//! - 1–3 proxies per service; `orders-2`, `image-resizer-2` and `wishlist-1` (wishlist's only
//!   proxy) offline, `orders-etl-1` registered but never connected, `catalog-search-2` partially
//!   degraded, `api-gateway` a delegated gateway.
//! - Certificates (mesh `default`) expire 28–30 days after start, except `payments-1` (3 days),
//!   `inventory-2` (6 days) and `fraud-check-1` (expired 2 days before start).
//! - MeshTrafficPermissions `allow-<service>` letting in exactly the declared callers,
//!   `allow-feature-flags` and `allow-currency-rates` open to the whole mesh, and the explicit
//!   `deny-gift-cards-to-payments`; one legacy TrafficPermission `invoicing-to-legacy-erp` in
//!   `legacy`. [`UNGUARDED`] (`tax-calculator`) has no permission yet: mTLS refuses its
//!   declared callers until someone applies one (the demo of Bearing's policy proposal).
//! - Traffic along every declared dependency within a mesh, plus [`UNDECLARED`] traffic the
//!   catalog does not declare (two of those calls are refused by the policies above).

use crate::spec::{
    ControlPlaneSpec, GatewayKind, MeshSpec, MtlsSpec, MtpEntry, ProxySpec, ProxyState, SelectorSpec, ServiceSpec,
    TpEntry, TrafficSpec, WorldSpec,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// `(component, spec.type, spec.lifecycle, dependsOn components)` of the demo catalog.
pub const CATALOG: &[(&str, &str, &str, &[&str])] = &[
    ("cart", "service", "production", &["pricing", "inventory"]),
    (
        "checkout",
        "service",
        "production",
        &[
            "cart",
            "payments",
            "tax-calculator",
            "shipping-quote",
            "orders",
            "fraud-check",
            "acme-logging",
        ],
    ),
    ("payments", "service", "production", &["fraud-check", "acme-logging"]),
    ("fraud-check", "service", "production", &["accounts", "feature-store"]),
    ("tax-calculator", "service", "production", &["acme-http-client"]),
    ("gift-cards", "service", "experimental", &["payments", "acme-events-go"]),
    ("accounts", "service", "production", &["identity", "acme-logging"]),
    ("identity", "service", "production", &["acme-http-client"]),
    ("consent", "service", "production", &[]),
    ("clickstream-collector", "service", "production", &["acme-events-go"]),
    ("clickstream-pipeline", "pipeline", "production", &[]),
    ("orders-etl", "pipeline", "production", &[]),
    ("feature-store", "service", "experimental", &[]),
    (
        "recommendations",
        "service",
        "production",
        &["feature-store", "catalog"],
    ),
    ("analytics-dashboard", "website", "production", &[]),
    ("acme-http-client", "library", "production", &[]),
    ("acme-logging", "library", "production", &[]),
    ("acme-events-go", "library", "production", &[]),
    ("ui-kit", "library", "production", &[]),
    ("service-template", "library", "experimental", &["acme-http-client"]),
    (
        "notifications",
        "service",
        "production",
        &["email-sender", "sms-sender", "consent", "acme-events-go"],
    ),
    ("email-sender", "service", "production", &[]),
    ("sms-sender", "service", "deprecated", &[]),
    ("wishlist", "service", "experimental", &["catalog", "accounts"]),
    ("inventory", "service", "production", &["acme-events-go"]),
    ("warehouse", "service", "production", &["inventory", "acme-logging"]),
    ("shipping-quote", "service", "production", &["feature-flags"]),
    (
        "shipping-labels",
        "service",
        "production",
        &["warehouse", "notifications"],
    ),
    (
        "returns",
        "service",
        "experimental",
        &["orders", "payments", "warehouse", "notifications"],
    ),
    ("orders", "service", "production", &["inventory", "acme-logging"]),
    ("order-history", "service", "production", &["orders", "acme-events-go"]),
    ("invoicing", "service", "deprecated", &["orders", "legacy-erp"]),
    (
        "api-gateway",
        "service",
        "production",
        &[
            "identity",
            "rate-limiter",
            "catalog",
            "catalog-search",
            "product-reviews",
            "cart",
            "checkout",
            "accounts",
            "orders",
            "recommendations",
            "acme-http-client",
        ],
    ),
    ("rate-limiter", "service", "production", &[]),
    ("feature-flags", "service", "production", &[]),
    ("status-page", "website", "production", &[]),
    (
        "catalog",
        "service",
        "production",
        &["image-resizer", "pricing", "acme-logging"],
    ),
    ("catalog-search", "service", "production", &["acme-http-client"]),
    ("pricing", "service", "production", &["feature-flags"]),
    ("product-reviews", "service", "production", &["accounts"]),
    ("catalog-indexer", "pipeline", "production", &["catalog"]),
    ("image-resizer", "service", "production", &[]),
    (
        "web-storefront",
        "website",
        "production",
        &["api-gateway", "clickstream-collector", "ui-kit"],
    ),
    (
        "mobile-bff",
        "service",
        "production",
        &["catalog", "cart", "accounts", "recommendations", "acme-events-go"],
    ),
    ("web-admin", "website", "production", &["api-gateway", "ui-kit"]),
    ("storefront-cms", "service", "deprecated", &["acme-logging"]),
    // Atlassian Compass components (`examples/compass/`): typeId SERVICE, DEPENDS_ON by id.
    ("loyalty-points", "service", "production", &["rewards-ledger"]),
    ("rewards-ledger", "service", "production", &[]),
];

/// Deployable components deliberately left out of the mesh (the portal shows "not in the mesh").
pub const LEFT_OUT: [&str; 2] = ["status-page", "sms-sender"];

/// Services in the mesh that no catalog component claims: `(mesh, service)`.
pub const EXTRA_SERVICES: [(&str, &str); 2] = [("legacy", "legacy-erp"), ("default", "currency-rates")];

/// Components placed in the `legacy` mesh (no mTLS).
pub const LEGACY_MESH: [&str; 2] = ["invoicing", "storefront-cms"];

/// Traffic the catalog does not declare: `(from, to, rps, error ratio)`. `order-history ->
/// accounts` is refused by `allow-accounts`; `mobile-bff -> wishlist` finds no healthy proxy.
pub const UNDECLARED: [(&str, &str, f64, f64); 5] = [
    ("pricing", "currency-rates", 14.0, 0.002),
    ("checkout", "currency-rates", 3.5, 0.0),
    ("cart", "feature-flags", 9.0, 0.0),
    ("order-history", "accounts", 2.5, 0.0),
    ("mobile-bff", "wishlist", 4.0, 0.0),
];

/// Whether a catalog component type runs as a service (libraries do not).
pub fn deployable(component_type: &str) -> bool {
    matches!(component_type, "service" | "website" | "pipeline")
}

/// The mesh a catalog component (or extra service) lives in.
pub fn mesh_of(service: &str) -> &'static str {
    if LEGACY_MESH.contains(&service) || service == "legacy-erp" {
        "legacy"
    } else {
        "default"
    }
}

/// A stable small number from a name, for per-service variety that does not change between runs.
pub fn stable_hash(text: &str) -> u64 {
    // FNV-1a.
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn replicas(name: &str, component_type: &str, lifecycle: &str) -> u32 {
    match name {
        "checkout" | "cart" | "catalog" | "catalog-search" | "payments" | "identity" | "web-storefront" => 3,
        "legacy-erp" | "rewards-ledger" => 1,
        _ if lifecycle != "production" || component_type == "pipeline" => 1,
        _ => 2,
    }
}

fn port_and_protocol(name: &str, component_type: &str) -> (u32, &'static str) {
    match name {
        "payments" | "inventory" | "fraud-check" | "feature-store" => (9090, "grpc"),
        "legacy-erp" => (8443, "tcp"),
        _ if component_type == "website" => (3000, "http"),
        _ => (8080, "http"),
    }
}

fn latency_ms(name: &str) -> f64 {
    match name {
        "payments" => 85.0,
        "legacy-erp" => 240.0,
        "catalog-search" => 25.0,
        _ => 3.0 + (stable_hash(name) % 37) as f64,
    }
}

fn special_proxies(name: &str, count: u32) -> Vec<ProxySpec> {
    let mut proxies = vec![ProxySpec::default(); count as usize];
    let set = |proxies: &mut Vec<ProxySpec>, index: usize, status: ProxyState, cert: Option<&str>| {
        proxies[index].status = status;
        proxies[index].certificate = cert.map(str::to_string);
    };
    match name {
        "orders" => set(&mut proxies, 1, ProxyState::Offline, None),
        "image-resizer" => set(&mut proxies, 1, ProxyState::Offline, None),
        "wishlist" => set(&mut proxies, 0, ProxyState::Offline, None),
        "orders-etl" => set(&mut proxies, 0, ProxyState::NeverConnected, None),
        "catalog-search" => set(&mut proxies, 1, ProxyState::PartiallyDegraded, None),
        "payments" => set(&mut proxies, 0, ProxyState::Online, Some("3d")),
        "inventory" => set(&mut proxies, 1, ProxyState::Online, Some("6d")),
        "fraud-check" => set(&mut proxies, 0, ProxyState::Online, Some("-2d")),
        _ => {}
    }
    proxies
}

/// Requests per second along a declared dependency.
fn declared_rps(from: &str, to: &str) -> f64 {
    match (from, to) {
        ("web-storefront", "api-gateway") => 180.0,
        ("web-admin", "api-gateway") => 6.0,
        ("api-gateway", "rate-limiter") => 180.0,
        ("api-gateway", "catalog") => 120.0,
        ("api-gateway", "catalog-search") => 85.0,
        ("api-gateway", "identity") => 60.0,
        ("api-gateway", "cart") => 40.0,
        ("api-gateway", "checkout") => 12.0,
        ("mobile-bff", "catalog") => 45.0,
        ("checkout", "payments") => 11.0,
        ("loyalty-points", "rewards-ledger") => 7.0,
        ("invoicing", "legacy-erp") => 1.5,
        _ => 2.0 + (stable_hash(&format!("{from}>{to}")) % 28) as f64,
    }
}

fn declared_error_ratio(from: &str, to: &str) -> f64 {
    match (from, to) {
        ("checkout", "tax-calculator") => 0.04,
        ("recommendations", "feature-store") => 0.08,
        ("invoicing", "legacy-erp") => 0.02,
        _ => (stable_hash(&format!("{to}<{from}")) % 40) as f64 / 10_000.0,
    }
}

/// The services of the default world: `(mesh, service, component or None, type, lifecycle)`.
pub fn services() -> Vec<(
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
)> {
    let mut out: Vec<_> = CATALOG
        .iter()
        .filter(|(name, ty, _, _)| deployable(ty) && !LEFT_OUT.contains(name))
        .map(|(name, ty, life, _)| (mesh_of(name), *name, Some(*name), *ty, *life))
        .collect();
    for (mesh, name) in EXTRA_SERVICES {
        out.push((mesh, name, None, "service", "production"));
    }
    out
}

/// The declared dependencies carried by the mesh: both ends are services in the same mesh.
pub fn declared_edges() -> Vec<(&'static str, &'static str)> {
    let in_mesh: BTreeSet<(&str, &str)> = services().iter().map(|(m, s, ..)| (*m, *s)).collect();
    let mut edges = Vec::new();
    for (from, ty, _, deps) in CATALOG {
        if !deployable(ty) || !in_mesh.contains(&(mesh_of(from), *from)) {
            continue;
        }
        for to in *deps {
            if in_mesh.contains(&(mesh_of(from), *to)) {
                edges.push((*from, *to));
            }
        }
    }
    edges
}

/// Builds the default world.
pub fn world() -> WorldSpec {
    let mut specs = Vec::new();
    for (mesh, name, component, ty, life) in services() {
        let (port, protocol) = port_and_protocol(name, ty);
        let count = replicas(name, ty, life);
        let mut tags = BTreeMap::new();
        tags.insert(
            "version".to_string(),
            if life == "experimental" { "v0" } else { "v1" }.to_string(),
        );
        specs.push(ServiceSpec {
            name: name.to_string(),
            mesh: mesh.to_string(),
            port,
            protocol: protocol.to_string(),
            gateway: (name == "api-gateway").then_some(GatewayKind::Delegated),
            tags,
            labels: BTreeMap::new(),
            latency_ms: Some(latency_ms(name)),
            replicas: None,
            proxies: special_proxies(name, count),
            component: component.map(str::to_string),
        });
    }

    let edges = declared_edges();
    let mut traffic: Vec<TrafficSpec> = edges
        .iter()
        .map(|(from, to)| TrafficSpec {
            from: from.to_string(),
            to: to.to_string(),
            mesh: None,
            rps: declared_rps(from, to),
            error_ratio: declared_error_ratio(from, to),
            declared: Some(true),
        })
        .collect();
    for (from, to, rps, error_ratio) in UNDECLARED {
        traffic.push(TrafficSpec {
            from: from.to_string(),
            to: to.to_string(),
            mesh: None,
            rps,
            error_ratio,
            declared: Some(false),
        });
    }

    WorldSpec {
        control_plane: ControlPlaneSpec::default(),
        meshes: vec![
            MeshSpec {
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
            },
            MeshSpec {
                name: "legacy".to_string(),
                mtls: None,
                mesh_services: None,
                mesh_identity: None,
            },
        ],
        services: specs,
        mesh_traffic_permissions: permissions(&edges),
        policies: Vec::new(),
        traffic_permissions: vec![TpEntry {
            name: "invoicing-to-legacy-erp".to_string(),
            mesh: "legacy".to_string(),
            sources: vec![selector("invoicing")],
            destinations: vec![selector("legacy-erp")],
        }],
        traffic,
    }
}

fn selector(service: &str) -> SelectorSpec {
    SelectorSpec {
        tags: BTreeMap::from([("kuma.io/service".to_string(), service.to_string())]),
    }
}

/// The explicitly denied declared dependency.
pub const DENIED: (&str, &str) = ("gift-cards", "payments");

/// Services nobody wrote a permission for: with mTLS on, Kuma refuses every call to them, so
/// their declared callers show as `declared_denied` until a lead applies Bearing's proposal, which
/// nothing outranks (every other service's `allow-` policy targets its MeshService, ranked above
/// the proposal's MeshSubset).
pub const UNGUARDED: [&str; 1] = ["tax-calculator"];

/// Services open to every caller in the mesh.
pub const OPEN_TO_MESH: [&str; 2] = ["feature-flags", "currency-rates"];

fn permissions(edges: &[(&str, &str)]) -> Vec<MtpEntry> {
    let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges {
        if mesh_of(to) == "default" && *to != "api-gateway" && (*from, *to) != DENIED && !UNGUARDED.contains(to) {
            callers.entry(to).or_default().push(from);
        }
    }
    let mut out = Vec::new();
    for (target, froms) in callers {
        if OPEN_TO_MESH.contains(&target) {
            continue;
        }
        let from: Vec<_> = froms
            .iter()
            .map(|f| json!({"targetRef": {"kind": "MeshService", "name": f}, "default": {"action": "Allow"}}))
            .collect();
        out.push(mtp(
            &format!("allow-{target}"),
            json!({"targetRef": {"kind": "MeshService", "name": target}, "from": from}),
        ));
    }
    for target in OPEN_TO_MESH {
        out.push(mtp(
            &format!("allow-{target}"),
            json!({"targetRef": {"kind": "MeshService", "name": target},
                   "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}),
        ));
    }
    out.push(mtp(
        "deny-gift-cards-to-payments",
        json!({"targetRef": {"kind": "MeshService", "name": DENIED.1},
               "from": [{"targetRef": {"kind": "MeshService", "name": DENIED.0}, "default": {"action": "Deny"}}]}),
    ));
    out
}

fn mtp(name: &str, spec: serde_json::Value) -> MtpEntry {
    MtpEntry {
        name: name.to_string(),
        mesh: "default".to_string(),
        labels: BTreeMap::new(),
        spec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_is_valid() {
        let world = world();
        world.validate().unwrap();
        assert_eq!(world.meshes.len(), 2);
        for (_, name) in EXTRA_SERVICES {
            assert!(world.services.iter().any(|s| s.name == name && s.component.is_none()));
        }
        for name in LEFT_OUT {
            assert!(world.services.iter().all(|s| s.name != name));
        }
        for name in UNGUARDED {
            assert!(world.services.iter().any(|s| s.name == name), "{name} is in the mesh");
            assert!(
                world
                    .mesh_traffic_permissions
                    .iter()
                    .all(|p| p.spec["targetRef"]["name"] != name),
                "no permission names {name}"
            );
        }
    }
}
