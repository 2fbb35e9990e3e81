//! Status, computed the way Kuma computes it.
//!
//! Bearing shows Kuma's own verdicts, so a proxy that Kuma's GUI calls "partially degraded" is
//! never "online" on our pages. The rules come from the README section "How Kuma itself computes
//! status", cross-checked against Kuma's source (`DataplaneOverviewResource.GetStatus` and the
//! insights resyncer, which builds ServiceInsights):
//!
//! - **Proxy**: connected when some ADS subscription has a `connectTime` and no `disconnectTime`.
//!   Not connected, or no inbound ready, is offline (so a non-gateway proxy with no inbounds at all
//!   is offline, as in Kuma); some inbounds ready is partially degraded; all ready is online. An
//!   inbound is not ready when `health.ready` is false (an empty `health: {}` counts) or `state` is
//!   `NotReady`. Gateways are online or offline by connection alone.
//! - **Service**: external is not available; no proxy online is offline; all online is online;
//!   otherwise partially degraded. Kuma counts a proxy once per inbound of the service, and counts a
//!   partially degraded proxy as offline for the service.
//! - **Mesh mTLS**: on when `mtls.enabledBackend` is set; the backend's `mode` defaults to STRICT.
//! - **Certificate** (per proxy): no `dataplaneInsight.mTLS` is "no mTLS"; mTLS without an expiry
//!   is "managed externally"; past `certificateExpirationTime` is expired; within a configurable
//!   window of it is "expires soon".
//!
//! Nothing here reads a clock: callers pass `now`, so results are reproducible and testable.

use crate::model::{
    DataplaneInsight, DataplaneOverview, DataplaneStat, GatewayType, Inbound, InboundState, Mesh, MtlsMode,
    ServiceInsight, ServiceStatus, ServiceType,
};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// A proxy's status in Kuma's three-valued terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProxyStatus {
    /// Connected, every inbound ready.
    Online,
    /// Connected, some but not all inbounds ready.
    PartiallyDegraded,
    /// Not connected, or no inbound ready.
    Offline,
}

impl ProxyStatus {
    /// Stable snake_case name for JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyStatus::Online => "online",
            ProxyStatus::PartiallyDegraded => "partially_degraded",
            ProxyStatus::Offline => "offline",
        }
    }
}

/// A proxy's status with the facts behind it, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyHealth {
    /// The verdict.
    pub status: ProxyStatus,
    /// Whether some ADS subscription is live.
    pub connected: bool,
    /// Whether the proxy is a gateway (judged by connection only).
    pub gateway: Option<GatewayType>,
    /// Inbounds that are not ready, as `port/service` for messages like Kuma's
    /// `inbound[port=9001,svc=example] is not ready`.
    pub not_ready_inbounds: Vec<NotReadyInbound>,
}

/// An inbound that is not ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotReadyInbound {
    /// Inbound port, if Kuma reported one.
    pub port: Option<u32>,
    /// The inbound's `kuma.io/service`, if tagged.
    pub service: Option<String>,
}

/// Whether the proxy holds a live ADS stream: some subscription has a `connectTime` and no
/// `disconnectTime`. A proxy without an insight never connected.
pub fn is_connected(insight: Option<&DataplaneInsight>) -> bool {
    insight.is_some_and(|insight| {
        insight
            .subscriptions
            .iter()
            .any(|s| s.connect_time.is_some() && s.disconnect_time.is_none())
    })
}

/// Whether an inbound is ready: not when `health` is present with `ready` false, nor when `state`
/// is `NotReady`. (`Ignored` is not named by the rule and counts as ready.)
pub fn inbound_ready(inbound: &Inbound) -> bool {
    let health_ok = inbound.health.is_none_or(|h| h.ready);
    let state_ok = !matches!(inbound.state, Some(InboundState::NotReady));
    health_ok && state_ok
}

/// The proxy's status with its reasons.
pub fn proxy_health(dp: &DataplaneOverview) -> ProxyHealth {
    let connected = is_connected(dp.dataplane_insight.as_ref());
    let net = &dp.dataplane.networking;
    let gateway = net.gateway.as_ref().map(|g| g.kind());
    let not_ready_inbounds: Vec<NotReadyInbound> = net
        .inbound
        .iter()
        .filter(|i| !inbound_ready(i))
        .map(|i| NotReadyInbound {
            port: i.port,
            service: i.service().map(str::to_string),
        })
        .collect();
    let (all_offline, all_online) = if gateway.is_some() {
        (false, true)
    } else {
        (
            not_ready_inbounds.len() == net.inbound.len(),
            not_ready_inbounds.is_empty(),
        )
    };
    let status = if !connected || all_offline {
        ProxyStatus::Offline
    } else if !all_online {
        ProxyStatus::PartiallyDegraded
    } else {
        ProxyStatus::Online
    };
    ProxyHealth {
        status,
        connected,
        gateway,
        not_ready_inbounds,
    }
}

/// The proxy's status (see the module docs for the rule).
pub fn proxy_status(dp: &DataplaneOverview) -> ProxyStatus {
    proxy_health(dp).status
}

/// Proxy counts by status, as the mesh overview and `GET /api/v1/mesh/services` show them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyCounts {
    /// All proxies counted.
    pub total: u64,
    /// Online.
    pub online: u64,
    /// Offline.
    pub offline: u64,
    /// Partially degraded.
    pub partially_degraded: u64,
}

impl ProxyCounts {
    /// Counts one more proxy.
    pub fn add(&mut self, status: ProxyStatus) {
        self.total += 1;
        match status {
            ProxyStatus::Online => self.online += 1,
            ProxyStatus::Offline => self.offline += 1,
            ProxyStatus::PartiallyDegraded => self.partially_degraded += 1,
        }
    }

    /// Kuma's ServiceInsight `offline`, which includes partially degraded proxies.
    pub fn kuma_offline(&self) -> u64 {
        self.offline + self.partially_degraded
    }

    /// As a MeshInsight-style [`DataplaneStat`].
    pub fn as_stat(&self) -> DataplaneStat {
        DataplaneStat {
            total: self.total,
            online: self.online,
            offline: self.offline,
            partially_degraded: self.partially_degraded,
        }
    }
}

impl FromIterator<ProxyStatus> for ProxyCounts {
    fn from_iter<I: IntoIterator<Item = ProxyStatus>>(iter: I) -> Self {
        let mut counts = ProxyCounts::default();
        iter.into_iter().for_each(|s| counts.add(s));
        counts
    }
}

/// A service's status from its type and counts: external is not available; `online == 0` is
/// offline; `online == total` is online; otherwise partially degraded.
pub fn service_status(service_type: &ServiceType, total: u64, online: u64) -> ServiceStatus {
    status_from_counts(service_type, u128::from(total), u128::from(online))
}

/// [`service_status`] on counts wide enough to hold the sum of two `u64` counts exactly.
fn status_from_counts(service_type: &ServiceType, total: u128, online: u128) -> ServiceStatus {
    match service_type {
        ServiceType::External => ServiceStatus::NotAvailable,
        _ if online == 0 => ServiceStatus::Offline,
        _ if online >= total => ServiceStatus::Online,
        _ => ServiceStatus::PartiallyDegraded,
    }
}

/// Recomputes a ServiceInsight's status from its counts (Kuma omits the status on some pages and
/// `total` in stored insights; a missing `total` is `online + offline`). The counts come from the
/// control plane and may be anything up to `u64::MAX`, so their sum is taken in `u128`.
pub fn service_insight_status(insight: &ServiceInsight) -> ServiceStatus {
    let d = insight.dataplanes;
    let total = if d.total == 0 {
        u128::from(d.online) + u128::from(d.offline)
    } else {
        u128::from(d.total)
    };
    status_from_counts(&insight.kind(), total, u128::from(d.online))
}

/// One service's proxies and status, rolled up from dataplane overviews.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRollup {
    /// Internal, or the gateway type for gateway services.
    pub service_type: ServiceType,
    /// Proxy counts (one per inbound of the service, like Kuma).
    pub proxies: ProxyCounts,
    /// The service status.
    pub status: ServiceStatus,
}

/// Rolls dataplane overviews up into per-service counts and statuses the way Kuma's insights
/// resyncer does: a delegated gateway counts for its gateway `kuma.io/service`; any other proxy
/// counts once per inbound, for that inbound's service.
pub fn services_from_proxies<'a, I>(dataplanes: I) -> BTreeMap<String, ServiceRollup>
where
    I: IntoIterator<Item = &'a DataplaneOverview>,
{
    let mut rollups = ServiceRollups::default();
    for dp in dataplanes {
        rollups.add(dp);
    }
    rollups.finish()
}

/// [`services_from_proxies`] one proxy at a time, so a poller can digest a large mesh page by page
/// without keeping every dataplane document.
#[derive(Clone, Debug, Default)]
pub struct ServiceRollups(BTreeMap<String, ServiceRollup>);

impl ServiceRollups {
    /// Counts one proxy.
    pub fn add(&mut self, dp: &DataplaneOverview) {
        let status = proxy_status(dp);
        let net = &dp.dataplane.networking;
        let out = &mut self.0;
        let mut count = |service: &str, service_type: ServiceType| {
            let entry = out.entry(service.to_string()).or_insert_with(|| ServiceRollup {
                service_type,
                proxies: ProxyCounts::default(),
                status: ServiceStatus::Offline,
            });
            entry.proxies.add(status);
        };
        match &net.gateway {
            Some(gw) if gw.kind() == GatewayType::Delegated => {
                if let Some(service) = gw.tags.get(crate::model::SERVICE_TAG) {
                    count(service, ServiceType::GatewayDelegated);
                }
            }
            Some(_) => {
                for service in net.inbound.iter().filter_map(Inbound::service) {
                    count(service, ServiceType::GatewayBuiltin);
                }
            }
            None => {
                for service in net.inbound.iter().filter_map(Inbound::service) {
                    count(service, ServiceType::Internal);
                }
            }
        }
    }

    /// The rollups with each service's status decided.
    pub fn finish(mut self) -> BTreeMap<String, ServiceRollup> {
        for rollup in self.0.values_mut() {
            rollup.status = service_status(&rollup.service_type, rollup.proxies.total, rollup.proxies.online);
        }
        self.0
    }
}

/// A mesh's mTLS settings as the overview shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshMtlsState {
    /// Whether mesh-wide mTLS is on (`mtls.enabledBackend` set).
    pub enabled: bool,
    /// The enabled backend's name.
    pub backend: Option<String>,
    /// The enabled backend's type (`builtin`, `provided`), if it is listed.
    pub backend_type: Option<String>,
    /// The enabled backend's mode (STRICT when unset); `None` when mTLS is off.
    pub mode: Option<MtlsMode>,
    /// Configured proxy certificate lifetime (`dpCert.rotation.expiration`), as written.
    pub dp_cert_expiration: Option<String>,
}

/// Reads a mesh's mTLS state. A mesh without `mtls` (Kuma 2.x with mTLS off, or any mesh from the
/// next major, where identity moved to MeshIdentity) reads as disabled: per-proxy certificates
/// ([`certificate_state`]) remain the ground truth for what proxies actually hold, and whether a
/// MeshIdentity gives proxies a workload identity (which enforces permissions without
/// `Mesh.mtls`) is [`crate::identity`]'s question.
pub fn mesh_mtls(mesh: &Mesh) -> MeshMtlsState {
    let enabled_backend = mesh
        .mtls
        .as_ref()
        .and_then(|m| m.enabled_backend.as_deref())
        .filter(|b| !b.is_empty());
    let Some(name) = enabled_backend else {
        return MeshMtlsState {
            enabled: false,
            backend: None,
            backend_type: None,
            mode: None,
            dp_cert_expiration: None,
        };
    };
    let backend = mesh
        .mtls
        .as_ref()
        .and_then(|m| m.backends.iter().find(|b| b.name == name));
    MeshMtlsState {
        enabled: true,
        backend: Some(name.to_string()),
        backend_type: backend.map(|b| b.backend_type.clone()),
        mode: Some(backend.and_then(|b| b.mode.clone()).unwrap_or(MtlsMode::Strict)),
        dp_cert_expiration: backend
            .and_then(|b| b.dp_cert.as_ref())
            .and_then(|d| d.rotation.as_ref())
            .and_then(|r| r.expiration.clone()),
    }
}

/// Default "expires soon" window: 7 days (issue #4). Kuma's own GUI warns at 6 hours
/// ([`KUMA_GUI_EXPIRES_SOON`]); the portal looks further ahead because certificate problems need
/// people, and people need days.
pub const DEFAULT_EXPIRES_SOON: Duration = Duration::days(7);

/// The window Kuma's GUI uses for its "expires soon" warning (README).
pub const KUMA_GUI_EXPIRES_SOON: Duration = Duration::hours(6);

/// A proxy's certificate state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateState {
    /// Valid for longer than the window.
    Ok {
        /// Expiry.
        expires_at: OffsetDateTime,
    },
    /// Valid, but expires within the window (or exactly now).
    ExpiresSoon {
        /// Expiry.
        expires_at: OffsetDateTime,
    },
    /// Past its expiry.
    Expired {
        /// Expiry.
        expires_at: OffsetDateTime,
    },
    /// mTLS is on but Kuma reports no expiry: the certificate is managed outside Kuma.
    ManagedExternally,
    /// The proxy has no mTLS certificate.
    NoMtls,
}

impl CertificateState {
    /// Stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            CertificateState::Ok { .. } => "ok",
            CertificateState::ExpiresSoon { .. } => "expires_soon",
            CertificateState::Expired { .. } => "expired",
            CertificateState::ManagedExternally => "managed_externally",
            CertificateState::NoMtls => "no_mtls",
        }
    }

    /// The expiry, when Kuma reported one.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        match *self {
            CertificateState::Ok { expires_at }
            | CertificateState::ExpiresSoon { expires_at }
            | CertificateState::Expired { expires_at } => Some(expires_at),
            CertificateState::ManagedExternally | CertificateState::NoMtls => None,
        }
    }
}

/// A proxy's certificate state at `now`, with "expires soon" meaning within `window` (use
/// [`DEFAULT_EXPIRES_SOON`] unless configured otherwise).
pub fn certificate_state(
    insight: Option<&DataplaneInsight>,
    now: OffsetDateTime,
    window: Duration,
) -> CertificateState {
    let Some(mtls) = insight.and_then(|i| i.mtls.as_ref()) else {
        return CertificateState::NoMtls;
    };
    let Some(expires_at) = mtls.certificate_expiration_time else {
        return CertificateState::ManagedExternally;
    };
    if now > expires_at {
        CertificateState::Expired { expires_at }
    } else if expires_at - now <= window {
        CertificateState::ExpiresSoon { expires_at }
    } else {
        CertificateState::Ok { expires_at }
    }
}

/// The earliest certificate expiry among the given proxies (for "certificates expiring soonest"
/// and a service's `earliest_expiry`).
pub fn earliest_expiry<'a, I>(dataplanes: I) -> Option<OffsetDateTime>
where
    I: IntoIterator<Item = &'a DataplaneOverview>,
{
    dataplanes
        .into_iter()
        .filter_map(|dp| {
            dp.dataplane_insight
                .as_ref()?
                .mtls
                .as_ref()?
                .certificate_expiration_time
        })
        .min()
}
