//! What one complete poll of a control plane means, as rows. Statuses come from
//! `bearing_kuma::status` (Kuma's own rules); nothing here talks to Kuma or the database.
//!
//! Dataplanes are digested page by page ([`ProxyDigest`]): Kuma's dataplane documents with
//! insights are about 1.4 kB of JSON each, and a poller that kept all of them for a 5,000-proxy
//! mesh would hold tens of megabytes it never needs again.

use std::collections::BTreeMap;

use app::mesh::repo::write::{MeshRow, ResourceRow, ServiceRow, Snapshot};
use app::mesh::repo::ProxyRow;
use bearing_kuma::model::{
    DataplaneOverview, Mesh, MeshInsight, MeshService, MeshTrafficPermission, ServiceInsight, TrafficPermission,
};
use bearing_kuma::status::{self, ServiceRollups};
use time::OffsetDateTime;

/// One mesh's proxies as rows, plus the per-service rollups Kuma would compute from them.
#[derive(Debug)]
pub struct ProxyDigest {
    mesh: String,
    now: OffsetDateTime,
    expires_soon: time::Duration,
    rows: Vec<ProxyRow>,
    rollups: ServiceRollups,
}

impl ProxyDigest {
    /// An empty digest for `mesh`, judging certificates at `now` ("expires soon" within
    /// `expires_soon`).
    pub fn new(mesh: &str, now: OffsetDateTime, expires_soon: time::Duration) -> Self {
        ProxyDigest {
            mesh: mesh.to_owned(),
            now,
            expires_soon,
            rows: Vec::new(),
            rollups: ServiceRollups::default(),
        }
    }

    /// Digests one page of dataplanes.
    pub fn add(&mut self, page: &[DataplaneOverview]) {
        for dp in page {
            let health = status::proxy_health(dp);
            let cert = status::certificate_state(dp.dataplane_insight.as_ref(), self.now, self.expires_soon);
            self.rows.push(ProxyRow {
                mesh: self.mesh.clone(),
                name: dp.meta.name.clone(),
                services: dp.services().into_iter().map(str::to_owned).collect(),
                gateway: health.gateway.map(|g| g.as_str().to_owned()),
                status: health.status.as_str().to_owned(),
                cert_expires_at: cert.expires_at(),
                cert_state: cert.as_str().to_owned(),
            });
            self.rollups.add(dp);
        }
    }
}

/// Everything read from one mesh in one poll.
#[derive(Debug)]
pub struct MeshRead {
    /// The mesh.
    pub mesh: Mesh,
    /// Its insight, when the control plane has one.
    pub insight: Option<MeshInsight>,
    /// Every proxy, digested.
    pub proxies: ProxyDigest,
    /// Per-service insights.
    pub service_insights: Vec<ServiceInsight>,
    /// MeshTrafficPermissions.
    pub mtps: Vec<MeshTrafficPermission>,
    /// Legacy TrafficPermissions.
    pub tps: Vec<TrafficPermission>,
    /// MeshServices (empty on control planes without them).
    pub mesh_services: Vec<MeshService>,
}

/// Turns a complete poll into rows.
pub fn snapshot(reads: Vec<MeshRead>) -> Snapshot {
    let mut out = Snapshot::default();
    for read in reads {
        let name = read.mesh.meta.name.clone();
        let mtls = status::mesh_mtls(&read.mesh);
        let mut policies: BTreeMap<String, u64> = read
            .insight
            .as_ref()
            .map(|i| i.policies.iter().map(|(k, v)| (k.clone(), v.total)).collect())
            .unwrap_or_default();
        policies.insert("MeshTrafficPermission".into(), read.mtps.len() as u64);
        policies.insert("TrafficPermission".into(), read.tps.len() as u64);
        policies.insert("MeshService".into(), read.mesh_services.len() as u64);
        out.resources
            .extend(resources(&name, "MeshTrafficPermission", &read.mtps, |p| &p.meta.name));
        out.resources
            .extend(resources(&name, "TrafficPermission", &read.tps, |p| &p.meta.name));
        out.resources
            .extend(resources(&name, "MeshService", &read.mesh_services, |p| &p.meta.name));
        out.meshes.push(MeshRow {
            mesh: name.clone(),
            mtls_enabled: mtls.enabled,
            mtls_backend: mtls.backend,
            mtls_type: mtls.backend_type,
            mtls_mode: mtls.mode.map(|m| m.as_str().to_owned()),
            policy_counts: serde_json::to_value(&policies).unwrap_or_default(),
        });
        let ProxyDigest { rows, rollups, .. } = read.proxies;
        out.proxies.extend(rows);
        let rollups = rollups.finish();
        for (service, r) in &rollups {
            out.services.push(ServiceRow {
                mesh: name.clone(),
                service: service.clone(),
                status: r.status.as_str().to_owned(),
                total: r.proxies.total as i32,
                online: r.proxies.online as i32,
                offline: r.proxies.offline as i32,
                partially_degraded: r.proxies.partially_degraded as i32,
            });
        }
        // Services Kuma knows without proxies here (external services, other zones).
        for si in &read.service_insights {
            if rollups.contains_key(&si.meta.name) {
                continue;
            }
            let d = si.dataplanes;
            // Counts come from the control plane: clamped, never wrapped or overflowed.
            let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
            out.services.push(ServiceRow {
                mesh: name.clone(),
                service: si.meta.name.clone(),
                status: status::service_insight_status(si).as_str().to_owned(),
                total: count(d.total.max(d.online.saturating_add(d.offline))),
                online: count(d.online),
                offline: count(d.offline),
                partially_degraded: 0,
            });
        }
    }
    out
}

/// Resources kept as served (JSON text), for evaluating callers later.
fn resources<'a, T: serde::Serialize>(
    mesh: &'a str,
    kind: &'static str,
    items: &'a [T],
    name: impl Fn(&T) -> &String + 'a,
) -> impl Iterator<Item = ResourceRow> + 'a {
    items.iter().filter_map(move |item| {
        Some(ResourceRow {
            mesh: mesh.to_owned(),
            kind,
            name: name(item).clone(),
            body: serde_json::to_string(item).ok()?,
        })
    })
}
