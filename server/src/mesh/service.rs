//! Rules: what one complete poll of a control plane means, as rows. Statuses come from
//! `bearing_kuma::status` (Kuma's own rules); nothing here talks to Kuma or the database.

use std::collections::BTreeMap;

use bearing_kuma::model::{
    DataplaneOverview, Mesh, MeshInsight, MeshTrafficPermission, ServiceInsight, TrafficPermission,
};
use bearing_kuma::status;
use time::OffsetDateTime;

/// Everything read from one mesh in one poll.
#[derive(Debug, Default)]
pub struct MeshRead {
    /// The mesh.
    pub mesh: Mesh,
    /// Its insight, when the control plane has one.
    pub insight: Option<MeshInsight>,
    /// Every proxy with its insight.
    pub dataplanes: Vec<DataplaneOverview>,
    /// Per-service insights.
    pub service_insights: Vec<ServiceInsight>,
    /// MeshTrafficPermissions.
    pub mtps: Vec<MeshTrafficPermission>,
    /// Legacy TrafficPermissions.
    pub tps: Vec<TrafficPermission>,
}

/// A mesh row.
#[derive(Debug, Clone)]
pub struct MeshRow {
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    pub policy_counts: serde_json::Value,
}

/// A proxy row.
#[derive(Debug, Clone)]
pub struct ProxyRow {
    pub mesh: String,
    pub name: String,
    pub services: Vec<String>,
    pub gateway: Option<String>,
    pub status: &'static str,
    pub cert_expires_at: Option<OffsetDateTime>,
    pub cert_state: &'static str,
}

/// A service row.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub mesh: String,
    pub service: String,
    pub status: String,
    pub total: i32,
    pub online: i32,
    pub offline: i32,
    pub partially_degraded: i32,
}

/// The current state of one control plane, ready to replace what is stored.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub meshes: Vec<MeshRow>,
    pub proxies: Vec<ProxyRow>,
    pub services: Vec<ServiceRow>,
}

/// Turns a complete poll into rows, judging certificates at `now`.
pub fn snapshot(reads: &[MeshRead], now: OffsetDateTime) -> Snapshot {
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
        out.meshes.push(MeshRow {
            mesh: name.clone(),
            mtls_enabled: mtls.enabled,
            mtls_backend: mtls.backend,
            mtls_type: mtls.backend_type,
            mtls_mode: mtls.mode.map(|m| m.as_str().to_owned()),
            policy_counts: serde_json::to_value(&policies).unwrap_or_default(),
        });
        for dp in &read.dataplanes {
            let health = status::proxy_health(dp);
            let cert = status::certificate_state(dp.dataplane_insight.as_ref(), now, status::DEFAULT_EXPIRES_SOON);
            out.proxies.push(ProxyRow {
                mesh: name.clone(),
                name: dp.meta.name.clone(),
                services: dp.services().into_iter().map(str::to_owned).collect(),
                gateway: health.gateway.map(|g| g.as_str().to_owned()),
                status: health.status.as_str(),
                cert_expires_at: cert.expires_at(),
                cert_state: cert.as_str(),
            });
        }
        let rollups = status::services_from_proxies(&read.dataplanes);
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
            out.services.push(ServiceRow {
                mesh: name.clone(),
                service: si.meta.name.clone(),
                status: status::service_insight_status(si).as_str().to_owned(),
                total: d.total.max(d.online + d.offline) as i32,
                online: d.online as i32,
                offline: d.offline as i32,
                partially_degraded: 0,
            });
        }
    }
    out
}

/// Whether data last polled at `last_success` is stale at `now`: older than 3 poll intervals.
pub fn is_stale(last_success: Option<OffsetDateTime>, now: OffsetDateTime, poll_interval: std::time::Duration) -> bool {
    match last_success {
        None => true,
        Some(at) => now - at > time::Duration::try_from(poll_interval * 3).unwrap_or(time::Duration::MAX),
    }
}
