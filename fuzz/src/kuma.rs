//! Kuma control-plane JSON and Envoy `/stats` bodies, as the poller reads them.

use std::time::Duration;

use bearing_kuma::model::{
    self, ApiError, DataplaneOverview, GenericResource, GlobalInsights, InboundPolicies, List, Mesh, MeshInsight,
    MeshService, MeshTrafficPermission, ResourceTypeList, ServiceInsight, TrafficPermission, SERVICE_TAG,
};
use bearing_kuma::permissions::{self, MeshPolicies, Workload};
use bearing_kuma::stats::{self, Latency, Sample};
use bearing_kuma::status;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::OffsetDateTime;

/// Parses `data` as every response type Bearing reads from a control plane (each as a single item
/// and as a list page), runs the status and permission rules on whatever parses, and checks that
/// what the types write back parses again (the poller stores policies as JSON text and the pages
/// read them back; kuma-sim serves the same types).
pub fn check_model(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let meshes = parse_both::<Mesh>(body);
    for mesh in &meshes {
        let _ = status::mesh_mtls(mesh);
    }
    let dataplanes = parse_both::<DataplaneOverview>(body);
    for dp in &dataplanes {
        let _ = (status::proxy_health(dp), status::proxy_status(dp), dp.services());
        for now in instants() {
            for window in [status::DEFAULT_EXPIRES_SOON, status::KUMA_GUI_EXPIRES_SOON] {
                let cert = status::certificate_state(dp.dataplane_insight.as_ref(), now, window);
                let _ = (cert.as_str(), cert.expires_at());
            }
        }
    }
    let _ = status::services_from_proxies(&dataplanes);
    let _ = status::earliest_expiry(&dataplanes);
    for insight in parse_both::<ServiceInsight>(body) {
        let _ = (status::service_insight_status(&insight), insight.kind());
    }
    let mtps = parse_both::<MeshTrafficPermission>(body);
    let tps = parse_both::<TrafficPermission>(body);
    let mesh_services = parse_both::<MeshService>(body);
    check_permissions(&mtps, &tps, &mesh_services, &dataplanes);
    for policies in parse_both::<InboundPolicies>(body) {
        let confs: Vec<_> = policies
            .policies
            .iter()
            .flat_map(|p| &p.rules)
            .filter_map(|r| r.mtp_conf().ok())
            .collect();
        let (caller, target) = (Workload::service("web"), Workload::service("backend"));
        let _ = permissions::evaluate_rule_confs(&confs, "default", &caller, &target);
    }
    parse_both::<MeshInsight>(body);
    parse_both::<GlobalInsights>(body);
    parse_both::<GenericResource>(body);
    parse_both::<ResourceTypeList>(body);
    parse_both::<ApiError>(body);
}

/// `body` as one `T` and as a `List<T>` page; every value that parses is round-tripped.
fn parse_both<T: DeserializeOwned + Serialize>(body: &str) -> Vec<T> {
    let mut out = Vec::new();
    if let Ok(item) = model::parse::<T>(body) {
        out.push(item);
    }
    if let Ok(page) = model::parse::<List<T>>(body) {
        let _ = page.next_page();
        round_trip(&page);
        out.extend(page.items);
    }
    out.iter().for_each(round_trip);
    out
}

/// What serialises must parse back as the same type: a failure here means data Bearing stored
/// (or kuma-sim served) that Bearing itself cannot read.
fn round_trip<T: DeserializeOwned + Serialize>(value: &T) {
    // A value may fail to serialise (a time outside RFC 3339's years): then nothing is stored.
    if let Ok(json) = serde_json::to_string(value) {
        if let Err(e) = model::parse::<T>(&json) {
            panic!("{json} does not parse back: {e}");
        }
    }
}

/// A fixed clock at a few interesting points: the epoch, today-ish, and the far ends of `time`.
fn instants() -> [OffsetDateTime; 4] {
    [
        OffsetDateTime::UNIX_EPOCH,
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        time::PrimitiveDateTime::MIN.assume_utc(),
        time::PrimitiveDateTime::MAX.assume_utc(),
    ]
}

/// Evaluates who may call whom among the services the input names, with mTLS on and off.
fn check_permissions(
    mtps: &[MeshTrafficPermission],
    tps: &[TrafficPermission],
    mesh_services: &[MeshService],
    dataplanes: &[DataplaneOverview],
) {
    let mut names: Vec<String> = vec!["web".into(), "backend".into()];
    let from_policies = mtps
        .iter()
        .flat_map(|p| {
            p.spec
                .target_ref
                .iter()
                .chain(p.spec.from.iter().map(|f| &f.target_ref))
        })
        .filter_map(|r| r.name.clone());
    let from_legacy = tps
        .iter()
        .flat_map(|p| p.sources.iter().chain(&p.destinations))
        .filter_map(|s| s.tags.get(SERVICE_TAG).cloned());
    let from_services = mesh_services.iter().map(|s| s.meta.name.clone());
    let from_proxies = dataplanes
        .iter()
        .flat_map(|d| d.services().into_iter().map(str::to_owned).collect::<Vec<_>>());
    for name in from_policies
        .chain(from_legacy)
        .chain(from_services)
        .chain(from_proxies)
    {
        if names.len() >= 8 {
            break;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let workloads: Vec<Workload> = names
        .iter()
        .map(|n| {
            let w = Workload::service(n.clone()).with_tag("version", "v1");
            match mesh_services.iter().find(|s| &s.meta.name == n) {
                Some(s) => Workload {
                    snis: s.snis.iter().map(|x| x.sni.clone()).collect(),
                    section: s.spec.ports.first().and_then(|p| p.name.clone()),
                    ..w.with_label("app", n.clone())
                },
                None => w,
            }
        })
        .collect();
    for mtls_enabled in [true, false] {
        let policies = MeshPolicies {
            mesh: mtps.first().and_then(|p| p.meta.mesh.as_deref()).unwrap_or("default"),
            mtls_enabled,
            mesh_traffic_permissions: mtps,
            traffic_permissions: tps,
        };
        for target in &workloads {
            let _ = permissions::callers(&policies, target, &workloads);
        }
    }
}

/// Parses `data` as an Envoy stats body (text, and JSON), extracts samples and differences them.
///
/// A form feed (`\x0c`) splits the input into two polls of the same proxy, so counter resets,
/// restarts and new clusters are differenced too; without one, the body is differenced against
/// itself and against nothing.
pub fn check_stats(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = stats::parse_stats_json(body) {
        let _ = Sample::from_stats(&parsed);
    }
    let (first, second) = body.split_once('\x0c').unwrap_or((body, body));
    let (Ok(a), Ok(b)) = (Sample::parse(first), Sample::parse(second)) else {
        return;
    };
    let empty = Sample::default();
    for elapsed in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_secs(10),
        Duration::MAX,
    ] {
        for (prev, cur) in [(&a, &b), (&b, &a), (&empty, &b)] {
            let rates = stats::rates(prev, cur, elapsed);
            for kind in [stats::ClusterKind::Inbound, stats::ClusterKind::Outbound] {
                let _ = rates.totals(kind);
            }
        }
    }
    for cluster in b.clusters.values() {
        if let Some(h) = &cluster.latency {
            let _ = Latency::from_histogram(h);
        }
    }
}
