//! The mesh domain: what the Kuma control planes say about each service, as the poller stored it.
//! Wire types shared by pages, server functions and the HTTP API; the poller itself (network,
//! lease, backoff) lives in the server crate and writes through [`repo::write`].

pub mod api;
pub mod components;
pub mod drift;
pub mod ownership;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod state;

use serde::{Deserialize, Serialize};

/// Proxy counts of a service or mesh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProxyCounts {
    pub total: i32,
    pub online: i32,
    pub offline: i32,
    pub partially_degraded: i32,
}

/// A service's mTLS at a glance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MtlsSummary {
    pub enabled: bool,
    /// Name of the enabled backend.
    pub backend: Option<String>,
    /// Earliest certificate expiry among the service's proxies (RFC 3339).
    pub earliest_expiry: Option<String>,
}

/// One Kuma service as `GET /api/v1/mesh/services` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceSummary {
    pub control_plane: String,
    pub mesh: String,
    pub service: String,
    /// `online`, `offline`, `partially_degraded`, `not_available`.
    pub status: String,
    pub proxies: ProxyCounts,
    pub mtls: MtlsSummary,
    /// The component claiming it (`component:default/orders`), or null: "not in the catalog".
    pub component: Option<String>,
    /// Inbound requests per second at the last stats read; null when there was none within 3
    /// stats intervals (an old rate is not a current one).
    pub requests_per_s: Option<f64>,
    /// Inbound 5xx responses per second at the last stats read, null like `requests_per_s`.
    pub errors_per_s: Option<f64>,
    /// The control plane has not been read successfully for 3 poll intervals.
    pub stale: bool,
    /// When this state was read (RFC 3339).
    pub observed_at: String,
}

/// When a control plane was last read, and whether that is too long ago.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Freshness {
    /// RFC 3339; null before the first successful poll.
    pub last_success_at: Option<String>,
    /// Seconds since then.
    pub age_s: Option<i64>,
    /// Older than 3 poll intervals.
    pub stale: bool,
}

/// One proxy of a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProxyView {
    pub name: String,
    /// `online`, `offline`, `partially_degraded`.
    pub status: String,
    /// `builtin` or `delegated` for gateways.
    pub gateway: Option<String>,
    /// `valid`, `expires_soon`, `expired`, `managed_externally`, `no_mtls`.
    pub cert_state: String,
    /// RFC 3339.
    pub cert_expires_at: Option<String>,
}

/// One caller's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallerView {
    /// The caller's Kuma service.
    pub service: String,
    /// Its component, when the catalog has one.
    pub component: Option<String>,
    /// `allow`, `allow_with_shadow_deny`, `deny`.
    pub decision: String,
    /// Which policy decided, in words.
    pub reason: String,
}

/// Who may call a service, as Kuma enforces it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallersView {
    /// False when nothing is enforced (mTLS off, or a gateway).
    pub enforced: bool,
    /// Why nothing is enforced, when it is not.
    pub note: Option<String>,
    pub allowed: Vec<CallerView>,
    pub denied: Vec<CallerView>,
    /// How many callers are allowed in all; more than `allowed` holds when the list was cut
    /// short for a page.
    pub allowed_total: usize,
    /// How many callers are denied in all.
    pub denied_total: usize,
}

impl CallersView {
    /// Keeps the first `limit` callers of each list (the totals stay): on a mesh of thousands
    /// of services, a page listing every denied caller weighed over a megabyte. The JSON API
    /// keeps them all.
    pub fn truncated(mut self, limit: usize) -> Self {
        self.allowed.truncate(limit);
        self.denied.truncate(limit);
        self
    }
}

impl MeshCard {
    /// The card as a page shows it: each service's callers cut to [`CALLERS_ON_A_PAGE`].
    pub fn for_page(mut self) -> Self {
        for service in &mut self.services {
            service.callers = std::mem::take(&mut service.callers).truncated(CALLERS_ON_A_PAGE);
        }
        self
    }
}

/// The most callers of each kind a component page lists.
pub const CALLERS_ON_A_PAGE: usize = 100;

/// One point of the traffic chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrafficPoint {
    /// Start of the bucket (RFC 3339).
    pub at: String,
    pub requests_per_s: f64,
    pub errors_per_s: f64,
}

/// Everything the component page's mesh card shows about one Kuma service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceCard {
    pub summary: ServiceSummary,
    /// `PERMISSIVE` or `STRICT` when mTLS is on.
    pub mtls_mode: Option<String>,
    /// `builtin`, `provided`, `vault`, ...
    pub mtls_type: Option<String>,
    pub proxies: Vec<ProxyView>,
    pub callers: CallersView,
    /// Highest inbound p99 latency at the last stats read (within 3 stats intervals), where
    /// Envoy histograms give it.
    pub p99_ms: Option<f64>,
    /// Inbound traffic of the last hours, oldest first.
    pub history: Vec<TrafficPoint>,
    pub freshness: Freshness,
}

/// A component's mesh card: every Kuma service it maps to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeshCard {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    /// The Kuma service name the component maps to (annotation `kuma.io/service`, else its name).
    pub kuma_service: String,
    /// The mesh it is restricted to (annotation `kuma.io/mesh`).
    pub kuma_mesh: Option<String>,
    /// Empty: "not in the mesh".
    pub services: Vec<ServiceCard>,
    /// Whether any control plane is configured; without one there is nothing to show.
    pub polling: bool,
}

/// A certificate that expires soonest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpiringCert {
    pub proxy: String,
    pub service: Option<String>,
    pub cert_state: String,
    pub expires_at: String,
}

/// One mesh on the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeshOverviewRow {
    pub mesh: String,
    pub mtls_enabled: bool,
    pub mtls_backend: Option<String>,
    pub mtls_type: Option<String>,
    pub mtls_mode: Option<String>,
    pub proxies: ProxyCounts,
    /// `(status, services)`, most important first.
    pub services_by_status: Vec<(String, i64)>,
    pub expiring: Vec<ExpiringCert>,
    /// `(policy type, count)`.
    pub policy_counts: Vec<(String, i64)>,
    /// Kuma services no component claims.
    pub unmapped: Vec<String>,
}

/// One control plane on the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlPlaneOverview {
    pub name: String,
    pub freshness: Freshness,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub meshes: Vec<MeshOverviewRow>,
}

/// The mesh overview page. The catalog services not in the mesh are ownership drift
/// ([`ownership`]), requested beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeshOverview {
    pub control_planes: Vec<ControlPlaneOverview>,
}

/// One of a team's components on its page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamMeshRow {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    /// Worst status over its Kuma services; null: not in the mesh.
    pub status: Option<String>,
    pub proxies: ProxyCounts,
    pub mtls_enabled: bool,
    pub earliest_expiry: Option<String>,
    pub requests_per_s: Option<f64>,
    pub errors_per_s: Option<f64>,
    pub stale: bool,
    /// Seconds since the oldest last successful read of its services; null when not in the
    /// mesh or never read.
    pub age_s: Option<i64>,
}

/// Human form of a duration in seconds: `45 s`, `12 min`, `3 h`, `2 d`.
pub fn format_age(seconds: i64) -> String {
    match seconds {
        s if s < 90 => format!("{s} s"),
        s if s < 90 * 60 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// A rate with sensible precision.
pub fn format_rate(per_s: f64) -> String {
    if per_s >= 100.0 {
        format!("{per_s:.0}/s")
    } else if per_s >= 1.0 {
        format!("{per_s:.1}/s")
    } else {
        format!("{per_s:.2}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(5), "5 s");
        assert_eq!(format_age(600), "10 min");
        assert_eq!(format_age(7200), "2 h");
        assert_eq!(format_age(3 * 86_400), "3 d");
    }

    #[test]
    fn rates_keep_meaningful_digits() {
        assert_eq!(format_rate(250.4), "250/s");
        assert_eq!(format_rate(12.34), "12.3/s");
        assert_eq!(format_rate(0.456), "0.46/s");
    }
}
