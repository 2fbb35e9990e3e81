//! What one complete poll of a control plane means, as rows. Statuses come from
//! `bearing_kuma::status` (Kuma's own rules); nothing here talks to Kuma or the database.
//!
//! Dataplanes are digested page by page ([`ProxyDigest`]): Kuma's dataplane documents with
//! insights are about 1.4 kB of JSON each, and a poller that kept all of them for a 5,000-proxy
//! mesh would hold tens of megabytes it never needs again.
//!
//! Services come from the proxies by Kuma's own rollup rules whether or not the control plane
//! has ServiceInsights (Kuma 3.0 removes them); insights only add the services no proxy here
//! serves (external services, other zones). A mesh's identity system and whether its traffic
//! permissions are enforced come from [`mesh_security`]: `Mesh.mtls`, or a MeshIdentity giving
//! its proxies a workload identity ([`bearing_kuma::identity`]).

use std::collections::BTreeMap;

use app::mesh::repo::write::{MeshRow, ResourceRow, ServiceRow, Snapshot};
use app::mesh::repo::ProxyRow;
use bearing_kuma::identity::{self, MeshIdentity};
use bearing_kuma::model::{
    DataplaneOverview, Mesh, MeshInsight, MeshService, MeshTrafficPermission, MtlsMode, ServiceInsight,
    TrafficPermission,
};
use bearing_kuma::status::{self, ServiceRollups};
use time::OffsetDateTime;

use super::labels::{self, DroppedLabels};

/// One mesh's proxies as rows, plus the per-service rollups Kuma would compute from them and
/// which MeshIdentity gives how many of them a workload identity.
#[derive(Debug)]
pub struct ProxyDigest {
    mesh: String,
    now: OffsetDateTime,
    expires_soon: time::Duration,
    identities: Vec<MeshIdentity>,
    rows: Vec<ProxyRow>,
    rollups: ServiceRollups,
    /// Proxies with a workload identity, by the MeshIdentity that gives it.
    with_identity: BTreeMap<String, u64>,
    /// Labels dropped to keep the stored ones bounded.
    pub dropped_labels: DroppedLabels,
}

impl ProxyDigest {
    /// An empty digest for `mesh`, judging certificates at `now` ("expires soon" within
    /// `expires_soon`) and workload identities by the mesh's `identities` (read first).
    pub fn new(mesh: &str, now: OffsetDateTime, expires_soon: time::Duration, identities: Vec<MeshIdentity>) -> Self {
        ProxyDigest {
            mesh: mesh.to_owned(),
            now,
            expires_soon,
            identities,
            rows: Vec::new(),
            rollups: ServiceRollups::default(),
            with_identity: BTreeMap::new(),
            dropped_labels: DroppedLabels::default(),
        }
    }

    /// Digests one page of dataplanes.
    pub fn add(&mut self, page: &[DataplaneOverview]) {
        for dp in page {
            let health = status::proxy_health(dp);
            let cert = status::certificate_state(dp.dataplane_insight.as_ref(), self.now, self.expires_soon);
            // Kuma selects identities by the labels as served, before Bearing bounds what it keeps.
            if let Some(mi) = identity::workload_identity(&dp.meta.labels, &self.identities) {
                *self.with_identity.entry(mi.meta.name.clone()).or_default() += 1;
            }
            self.rows.push(ProxyRow {
                mesh: self.mesh.clone(),
                name: dp.meta.name.clone(),
                services: dp.services().into_iter().map(str::to_owned).collect(),
                gateway: health.gateway.map(|g| g.as_str().to_owned()),
                status: health.status.as_str().to_owned(),
                cert_expires_at: cert.expires_at(),
                cert_state: cert.as_str().to_owned(),
                labels: labels::bounded(&dp.meta.labels, &dp.meta.name, &mut self.dropped_labels),
            });
            self.rollups.add(dp);
        }
    }
}

/// How a mesh secures its traffic, as stored on `mesh_meshes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshSecurity {
    /// Whether Kuma enforces traffic permissions: mTLS on, or some proxy with a workload identity.
    pub enforced: bool,
    /// The mTLS backend, or the MeshIdentity most proxies have their identity from.
    pub backend: Option<String>,
    /// The backend's type (`builtin`, `provided`) or the identity's provider (`Bundled`, ...).
    pub backend_type: Option<String>,
    /// `STRICT` / `PERMISSIVE`; `None` when nothing is enforced.
    pub mode: Option<MtlsMode>,
    /// `mesh_mtls`, `mesh_identity` or none.
    pub identity: Option<&'static str>,
}

/// A mesh's security from its `Mesh.mtls`, its MeshIdentities and how many proxies each gives a
/// workload identity:
///
/// - some proxy has a workload identity: enforced, `mesh_identity`, STRICT (Kuma's default with
///   a workload identity; a MeshTLS policy could make it Permissive, and Bearing does not read
///   MeshTLS), backend the identity most proxies use;
/// - else `Mesh.mtls` enabled: as before, `mesh_mtls`;
/// - else a MeshIdentity that can select dataplanes: not enforced (none initialized, or no proxy
///   selected yet), but the mesh is a MeshIdentity mesh, so Bearing writes `rules[]`;
/// - else neither.
pub fn mesh_security(mesh: &Mesh, identities: &[MeshIdentity], with_identity: &BTreeMap<String, u64>) -> MeshSecurity {
    let mtls = status::mesh_mtls(mesh);
    let used = with_identity
        .iter()
        .filter(|(_, n)| **n > 0)
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
    if let Some((name, _)) = used {
        let provider = identities
            .iter()
            .find(|mi| &mi.meta.name == name)
            .and_then(|mi| mi.spec.provider.as_ref())
            .map(|p| p.provider_type.clone())
            .filter(|t| !t.is_empty());
        return MeshSecurity {
            enforced: true,
            backend: Some(name.clone()),
            backend_type: provider,
            mode: Some(MtlsMode::Strict),
            identity: Some("mesh_identity"),
        };
    }
    let identity = if mtls.enabled {
        Some("mesh_mtls")
    } else if identities.iter().any(MeshIdentity::has_dataplane_selector) {
        Some("mesh_identity")
    } else {
        None
    };
    MeshSecurity {
        enforced: mtls.enabled,
        backend: mtls.backend,
        backend_type: mtls.backend_type,
        mode: mtls.mode,
        identity,
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
    /// MeshIdentities (empty on control planes before Kuma 2.12).
    pub identities: Vec<MeshIdentity>,
    /// The policies admins' templates produce ([`TEMPLATED_KINDS`]), kept as served so that
    /// Bearing's own can be compared with their proposals.
    pub templated: Vec<(&'static str, Vec<serde_json::Value>)>,
}

/// The policy kinds templates produce, with their list path (Kuma's `/_resources`).
pub const TEMPLATED_KINDS: [(&str, &str); 4] = [
    ("MeshTimeout", "meshtimeouts"),
    ("MeshRetry", "meshretries"),
    ("MeshAccessLog", "meshaccesslogs"),
    ("MeshMetric", "meshmetrics"),
];

/// Turns a complete poll into rows.
pub fn snapshot(reads: Vec<MeshRead>) -> Snapshot {
    let mut out = Snapshot::default();
    for read in reads {
        let name = read.mesh.meta.name.clone();
        let security = mesh_security(&read.mesh, &read.identities, &read.proxies.with_identity);
        let mut policies: BTreeMap<String, u64> = read
            .insight
            .as_ref()
            .map(|i| i.policies.iter().map(|(k, v)| (k.clone(), v.total)).collect())
            .unwrap_or_default();
        policies.insert("MeshTrafficPermission".into(), read.mtps.len() as u64);
        policies.insert("TrafficPermission".into(), read.tps.len() as u64);
        policies.insert("MeshService".into(), read.mesh_services.len() as u64);
        if !read.identities.is_empty() {
            // Not a policy in Kuma (`is_policy=false`): listed only where there is one.
            policies.insert("MeshIdentity".into(), read.identities.len() as u64);
        }
        out.resources
            .extend(resources(&name, "MeshTrafficPermission", &read.mtps, |p| &p.meta.name));
        out.resources
            .extend(resources(&name, "TrafficPermission", &read.tps, |p| &p.meta.name));
        out.resources
            .extend(resources(&name, "MeshService", &read.mesh_services, |p| &p.meta.name));
        out.resources
            .extend(resources(&name, "MeshIdentity", &read.identities, |p| &p.meta.name));
        for (kind, items) in &read.templated {
            out.resources.extend(items.iter().filter_map(|item| {
                Some(ResourceRow {
                    mesh: name.clone(),
                    kind,
                    name: item.get("name")?.as_str()?.to_owned(),
                    body: item.to_string(),
                })
            }));
        }
        out.meshes.push(MeshRow {
            mesh: name.clone(),
            mtls_enabled: security.enforced,
            mtls_backend: security.backend,
            mtls_type: security.backend_type,
            mtls_mode: security.mode.map(|m| m.as_str().to_owned()),
            identity: security.identity,
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
