//! Kuma control-plane API response types.
//!
//! Every struct here is derived from `openapi/kuma-v2.14.3-openapi.yaml` (plus the GUI overlay
//! `kuma-gui-openapi.yaml` for `mesh-insights` and `service-insights`, which the upstream spec lacks)
//! and checked against the golden responses in `fixtures/`. Parsing is deliberately tolerant:
//!
//! - unknown fields are ignored (no `deny_unknown_fields`), so newer control planes still parse;
//! - every field that Kuma omits when it is zero or default is `#[serde(default)]` (README:
//!   "Zero and default values are omitted": `offline: 0`, an inbound's `state: Ready`,
//!   `serviceType: internal`);
//! - enums keep unknown values as `Other(..)` instead of failing;
//! - the next major's shapes parse too: a `Mesh` without `mtls` (`fixtures/next/get-meshes`), a
//!   `MeshTrafficPermission` with `rules[]` and no `from[]` (`fixtures/next/get_resource`).
//!
//! Old-style resources (Mesh, Dataplane, legacy policies) put their spec fields next to the
//! metadata; new-style ones (Mesh* policies, MeshService) nest `spec` and `status` (README
//! "Conventions that bite"). Both carry the same [`Meta`], flattened in.
//!
//! The types also serialise back to Kuma's shapes (camelCase, defaults omitted), so a simulator can
//! serve them; unknown fields are not preserved.

use crate::wire::{kuma_enum, opt_time, u64_lenient};
use crate::Error;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Tags (`kuma.io/service: backend`, `version: v1`, ...) and labels: string to string, ordered so
/// output is stable.
pub type Tags = BTreeMap<String, String>;

/// The tag that names a service in Kuma 2.x.
pub const SERVICE_TAG: &str = "kuma.io/service";
/// Label naming where a policy was created (`global` or `zone`); used for policy precedence.
pub const ORIGIN_LABEL: &str = "kuma.io/origin";
/// Label carrying a policy's role (`system`, `producer`, `consumer`, `workload-owner`).
pub const POLICY_ROLE_LABEL: &str = "kuma.io/policy-role";
/// Label with the user-facing name of a resource (on Kubernetes the store name has a hash suffix).
pub const DISPLAY_NAME_LABEL: &str = "kuma.io/display-name";

/// Parses a JSON body into `T`, naming `T` in the error so a poll failure says what was malformed.
pub fn parse<T: DeserializeOwned>(body: &str) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|source| Error::Json {
        what: short_type_name::<T>(),
        source,
    })
}

fn short_type_name<T>() -> &'static str {
    // `bearing_kuma::model::List<bearing_kuma::model::Mesh>` -> `List<bearing_kuma::model::Mesh>`:
    // enough to tell the endpoints apart in a log line.
    let full = std::any::type_name::<T>();
    let head_end = full.find('<').unwrap_or(full.len());
    let start = full[..head_end].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Kuma's list envelope: `{total, items, next}` (README "Conventions that bite"). `next` is an
/// absolute URL or `null`; follow it until it is `null` to read every page.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    /// Total number of items across all pages (not just this page).
    #[serde(default)]
    pub total: u64,
    /// This page's items.
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// Absolute URL of the next page, or `None` on the last page. Some list endpoints (e.g.
    /// `meshservices/{name}/_dataplanes`) omit it entirely.
    #[serde(default)]
    pub next: Option<String>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            total: 0,
            items: Vec::new(),
            next: None,
        }
    }
}

impl<T> List<T> {
    /// The next page's URL, treating an empty string like `null`.
    pub fn next_page(&self) -> Option<&str> {
        self.next.as_deref().filter(|next| !next.is_empty())
    }
}

/// Metadata every resource carries at its top level (spec `Meta` schema).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Resource type, e.g. `Mesh`, `DataplaneOverview`, `MeshTrafficPermission`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub resource_type: String,
    /// Mesh the resource belongs to; absent for global-scoped resources such as `Mesh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<String>,
    /// Store name (on Kubernetes `name.namespace` or with a hash suffix; see [`Meta::display_name`]).
    #[serde(default)]
    pub name: String,
    /// Creation time; `None` when Kuma reports its "unset" time.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<OffsetDateTime>,
    /// Last modification time.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub modification_time: Option<OffsetDateTime>,
    /// Kuma Resource Identifier (2.10+), e.g. `kri_mtp_default___mtp-1_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kri: Option<String>,
    /// Labels, including Kuma's own (`kuma.io/origin`, `kuma.io/display-name`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Tags,
}

impl Meta {
    /// The user-facing name: the `kuma.io/display-name` label if present, else the store name.
    pub fn display_name(&self) -> &str {
        self.labels.get(DISPLAY_NAME_LABEL).map_or(&self.name, String::as_str)
    }
}

// ---------------------------------------------------------------------------------------------
// Meshes

kuma_enum! {
    /// `Mesh.mtls.backends[].mode`: how inbound listeners treat plaintext. Absent means STRICT
    /// (README endpoints table: "no `mode` = STRICT").
    pub enum MtlsMode {
        /// Only mTLS traffic is accepted.
        Strict = "STRICT" => 0,
        /// mTLS and plaintext are both accepted (migration mode).
        Permissive = "PERMISSIVE" => 1,
    }
}

kuma_enum! {
    /// `Mesh.meshServices.mode`: whether MeshService resources are generated and used.
    pub enum MeshServicesMode {
        /// No MeshServices (the default).
        Disabled = "Disabled" => 0,
        /// MeshServices generated and used everywhere, alongside `kuma.io/service`.
        Everywhere = "Everywhere" => 1,
        /// Used only for reachable backends.
        ReachableBackends = "ReachableBackends" => 2,
        /// Only MeshServices; `kuma.io/service` outbounds are not generated.
        Exclusive = "Exclusive" => 3,
    }
}

/// `GET /meshes`, `GET /meshes/{mesh}`: an old-style resource, settings at the top level.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mesh {
    /// Type (`Mesh`), name, times, labels.
    #[serde(flatten)]
    pub meta: Meta,
    /// Mesh-wide mTLS. Absent when mTLS is off, and always absent in Kuma's next major, which moves
    /// identity to MeshIdentity/MeshTrust (`fixtures/next/get-meshes.golden.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MeshMtls>,
    /// MeshService generation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_services: Option<MeshServicesConfig>,
    /// Routing settings (zone egress, locality-aware load balancing, ...), kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<serde_json::Value>,
}

/// `Mesh.mtls`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshMtls {
    /// Name of the CA backend in use; empty or absent means mTLS is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_backend: Option<String>,
    /// Configured CA backends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<CaBackend>,
    /// Skip CA validation on updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
}

/// `Mesh.mtls.backends[]`: a certificate authority backend.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaBackend {
    /// Backend name, referenced by `enabledBackend` and by proxies' `issuedBackend`.
    #[serde(default)]
    pub name: String,
    /// `builtin` (Kuma's own CA) or `provided` (user-supplied CA), or a plugin's type.
    #[serde(rename = "type", default)]
    pub backend_type: String,
    /// Inbound mode; `None` means STRICT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MtlsMode>,
    /// Data plane certificate settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_cert: Option<DpCert>,
    /// Backend-specific configuration, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<serde_json::Value>,
}

/// `Mesh.mtls.backends[].dpCert`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DpCert {
    /// Certificate rotation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<DpCertRotation>,
}

/// `Mesh.mtls.backends[].dpCert.rotation`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DpCertRotation {
    /// Lifetime of generated proxy certificates as Kuma writes it (e.g. `"1d"`, `"24h"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

/// `Mesh.meshServices`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshServicesConfig {
    /// Generation mode; absent means Disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MeshServicesMode>,
}

// ---------------------------------------------------------------------------------------------
// Mesh insights

/// Dataplane counters as insights report them. Zero counters are omitted by Kuma, hence defaults.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DataplaneStat {
    /// All proxies.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Proxies connected with every inbound ready.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub online: u64,
    /// Proxies disconnected, or with no inbound ready.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offline: u64,
    /// Proxies connected with some but not all inbounds ready.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partially_degraded: u64,
}

/// `{total}` counters per policy or resource type.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct ResourceStat {
    /// Number of resources of this type.
    #[serde(default)]
    pub total: u64,
}

/// `GET /mesh-insights[/{mesh}]` (GUI overlay schema `MeshInsight`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshInsight {
    /// Type (`MeshInsight`) and name (the mesh's name).
    #[serde(flatten)]
    pub meta: Meta,
    /// When the control plane last recomputed this insight.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<OffsetDateTime>,
    /// Proxy counts by status.
    #[serde(default)]
    pub dataplanes: DataplaneStat,
    /// Proxy counts by proxy type (`standard`, `gateway`, `gatewayBuiltin`, `gatewayDelegated`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dataplanes_by_type: BTreeMap<String, DataplaneStat>,
    /// Policy counts by policy type (`TrafficPermission`, `MeshTrafficPermission`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, ResourceStat>,
    /// Resource counts by type (newer control planes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, ResourceStat>,
    /// Proxy counts by issued and supported CA backend.
    #[serde(rename = "mTLS", default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MeshInsightMtls>,
    /// Service counts (`total`, `internal`, `external`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, u64>,
}

/// `MeshInsight.mTLS`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshInsightMtls {
    /// Proxy counts by the backend that issued their current certificate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub issued_backends: BTreeMap<String, DataplaneStat>,
    /// Proxy counts by backend they support.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub supported_backends: BTreeMap<String, DataplaneStat>,
}

/// `GET /global-insight(s)`: resource counts for the whole control plane.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalInsights {
    /// Type (`GlobalInsights`) and creation time.
    #[serde(flatten)]
    pub meta: Meta,
    /// Counts by resource type (`Mesh`, `Zone`, ...).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceStat>,
}

// ---------------------------------------------------------------------------------------------
// Dataplanes

kuma_enum! {
    /// `Dataplane.networking.inbound[].state`. Absent means Ready.
    pub enum InboundState {
        /// Serving traffic.
        Ready = "Ready" => 0,
        /// Not ready (e.g. failing readiness probe on Kubernetes).
        NotReady = "NotReady" => 1,
        /// Excluded from the mesh.
        Ignored = "Ignored" => 2,
    }
}

kuma_enum! {
    /// `Dataplane.networking.gateway.type`. Absent means DELEGATED.
    pub enum GatewayType {
        /// An independently deployed gateway (Kong, Contour, ...) with a Kuma sidecar.
        Delegated = "DELEGATED" => 0,
        /// The proxy itself is configured as a gateway (MeshGateway).
        Builtin = "BUILTIN" => 1,
    }
}

/// One item of `GET /meshes/{mesh}/dataplanes/_overview` (alias `dataplanes+insights`): a
/// Dataplane with its DataplaneInsight.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataplaneOverview {
    /// Type (`DataplaneOverview`), mesh, name, times, labels.
    #[serde(flatten)]
    pub meta: Meta,
    /// The Dataplane spec.
    #[serde(default)]
    pub dataplane: Dataplane,
    /// What the control plane knows about the running proxy; absent when it never connected
    /// (`fixtures/meshes_mesh1_dataplanes_insights.json`, `dp-no-insights`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane_insight: Option<DataplaneInsight>,
}

impl DataplaneOverview {
    /// The services this proxy implements: its inbounds' `kuma.io/service` tags in order, or for
    /// a gateway its gateway tags' service. Duplicates are kept out.
    pub fn services(&self) -> Vec<&str> {
        let net = &self.dataplane.networking;
        let mut out: Vec<&str> = Vec::new();
        let tags = net
            .inbound
            .iter()
            .map(|i| &i.tags)
            .chain(net.gateway.as_ref().map(|g| &g.tags));
        for service in tags.filter_map(|t| t.get(SERVICE_TAG)) {
            if !out.contains(&service.as_str()) {
                out.push(service);
            }
        }
        out
    }
}

/// `Dataplane` (spec `DataplaneItem`, nested in the overview).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataplane {
    /// Addresses, inbounds, outbounds, gateway.
    #[serde(default)]
    pub networking: Networking,
}

/// `Dataplane.networking`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Networking {
    /// IP or hostname of the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Address other proxies use to reach this one, when different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_address: Option<String>,
    /// Services this proxy implements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inbound: Vec<Inbound>,
    /// Services this proxy consumes (explicit outbounds; transparent proxying has none listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<Outbound>,
    /// Present when the proxy is a gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
}

/// `Dataplane.networking.inbound[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbound {
    /// Port the inbound listener is exposed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Port of the application behind the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<u32>,
    /// Address of the application behind the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_address: Option<String>,
    /// Address of the inbound listener, when not the proxy's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Port name, usable with MeshService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags, including `kuma.io/service`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Health; `None` means healthy (spec: "If 'health' is nil we consider data plane proxy as
    /// healthy"); `Some` with `ready` absent means not ready (protobuf default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// State; `None` means Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<InboundState>,
}

impl Inbound {
    /// This inbound's `kuma.io/service` tag.
    pub fn service(&self) -> Option<&str> {
        self.tags.get(SERVICE_TAG).map(String::as_str)
    }
}

/// `Dataplane.networking.inbound[].health`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Health {
    /// Whether the inbound may serve traffic; an empty `health: {}` means false.
    #[serde(default)]
    pub ready: bool,
}

/// `Dataplane.networking.outbound[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outbound {
    /// Local address of the outbound listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Local port of the outbound listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Tags of the destination (`kuma.io/service`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Reference to a real destination resource (MeshService, ...), kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_ref: Option<serde_json::Value>,
}

/// `Dataplane.networking.gateway`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Gateway {
    /// Tags, including `kuma.io/service`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Gateway type; `None` means DELEGATED.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub gateway_type: Option<GatewayType>,
}

impl Gateway {
    /// The gateway type with Kuma's default applied.
    pub fn kind(&self) -> GatewayType {
        self.gateway_type.clone().unwrap_or(GatewayType::Delegated)
    }
}

/// `DataplaneOverview.dataplaneInsight`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataplaneInsight {
    /// ADS subscriptions to control-plane instances, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<DiscoverySubscription>,
    /// Certificate state; absent when the proxy has no mTLS certificate.
    #[serde(rename = "mTLS", default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<DataplaneMtls>,
}

/// `dataplaneInsight.subscriptions[]`: one ADS stream between the proxy and a control plane.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverySubscription {
    /// Subscription id.
    #[serde(default)]
    pub id: String,
    /// Control-plane instance serving the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_instance_id: Option<String>,
    /// When the proxy connected; `None` if never.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub connect_time: Option<OffsetDateTime>,
    /// When the proxy disconnected; `None` while connected.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub disconnect_time: Option<OffsetDateTime>,
    /// Increased periodically by the status sink.
    #[serde(default, with = "u64_lenient", skip_serializing_if = "is_zero")]
    pub generation: u64,
    /// xDS counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriptionStatus>,
    /// Versions of kuma-dp and Envoy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ProxyVersion>,
}

/// `subscriptions[].status`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStatus {
    /// Last time the status sink updated this subscription.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<OffsetDateTime>,
    /// Aggregate over all xDS types.
    #[serde(default)]
    pub total: XdsStats,
    /// Per xDS type (`cds`, `eds`, `lds`, `rds`).
    #[serde(flatten)]
    pub by_type: BTreeMap<String, serde_json::Value>,
}

/// xDS response counters; 64-bit, so they arrive as strings.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct XdsStats {
    /// Responses sent.
    #[serde(default, with = "u64_lenient", skip_serializing_if = "is_zero")]
    pub responses_sent: u64,
    /// Responses ACKed.
    #[serde(default, with = "u64_lenient", skip_serializing_if = "is_zero")]
    pub responses_acknowledged: u64,
    /// Responses NACKed.
    #[serde(default, with = "u64_lenient", skip_serializing_if = "is_zero")]
    pub responses_rejected: u64,
}

/// `subscriptions[].version`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyVersion {
    /// kuma-dp version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuma_dp: Option<KumaDpVersion>,
    /// Envoy version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy: Option<EnvoyVersion>,
    /// Other components (CoreDNS, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: Tags,
}

/// `version.kumaDp`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KumaDpVersion {
    /// Version number.
    #[serde(default)]
    pub version: String,
    /// Git tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_tag: Option<String>,
    /// Git commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Build date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_date: Option<String>,
}

/// `version.envoy`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyVersion {
    /// Version number.
    #[serde(default)]
    pub version: String,
    /// Full build tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
}

/// `dataplaneInsight.mTLS`: the proxy's current certificate.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataplaneMtls {
    /// When the current certificate expires; `None` when the certificate is managed outside Kuma.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub certificate_expiration_time: Option<OffsetDateTime>,
    /// When the certificate was last generated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_certificate_regeneration: Option<OffsetDateTime>,
    /// How many times it was regenerated.
    #[serde(default, with = "u64_lenient", skip_serializing_if = "is_zero")]
    pub certificate_regenerations: u64,
    /// The CA backend that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_backend: Option<String>,
    /// CA backends the proxy trusts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_backends: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Service insights

kuma_enum! {
    /// `ServiceInsight.status`, and the status [`crate::status`] computes.
    pub enum ServiceStatus {
        /// Every proxy of the service is online.
        Online = "online",
        /// No proxy of the service is online.
        Offline = "offline",
        /// Some but not all proxies are online.
        PartiallyDegraded = "partially_degraded",
        /// External services have no proxies to judge.
        NotAvailable = "not_available",
    }
}

kuma_enum! {
    /// `ServiceInsight.serviceType`. Absent means internal.
    pub enum ServiceType {
        /// A service with sidecar proxies.
        Internal = "internal",
        /// An ExternalService.
        External = "external",
        /// Served by a delegated gateway.
        GatewayDelegated = "gateway_delegated",
        /// Served by a builtin gateway.
        GatewayBuiltin = "gateway_builtin",
    }
}

/// One item of `GET /meshes/{mesh}/service-insights[/{service}]`: per `kuma.io/service` counts
/// (type `ServiceInsight`, or `ServiceOverview` in kumactl's output).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInsight {
    /// Type, mesh, name (the service), times.
    #[serde(flatten)]
    pub meta: Meta,
    /// Status as the control plane computed it; absent on some pages (`pagination_00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
    /// Proxy counts (`total`, `online`, `offline`; zeros omitted).
    #[serde(default)]
    pub dataplanes: DataplaneStat,
    /// `host:port` the service is reachable at inside the mesh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_port: Option<String>,
    /// Service type; `None` means internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Proxy counts by issuing CA backend.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub issued_backends: BTreeMap<String, u64>,
}

impl ServiceInsight {
    /// The service type with Kuma's default applied.
    pub fn kind(&self) -> ServiceType {
        self.service_type.clone().unwrap_or(ServiceType::Internal)
    }
}

// ---------------------------------------------------------------------------------------------
// MeshServices

/// One item of `GET /meshes/{mesh}/meshservices`: a new-style resource with `spec` and `status`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshService {
    /// Type, mesh, name, kri, labels.
    #[serde(flatten)]
    pub meta: Meta,
    /// SNI per port, as other proxies send it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snis: Vec<MeshServiceSni>,
    /// Desired state.
    #[serde(default)]
    pub spec: MeshServiceSpec,
    /// Observed state.
    #[serde(default)]
    pub status: MeshServiceStatus,
}

/// `MeshService.snis[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MeshServiceSni {
    /// Port.
    #[serde(default)]
    pub port: u32,
    /// SNI value.
    #[serde(default)]
    pub sni: String,
}

/// `MeshService.spec`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshServiceSpec {
    /// `Available` or `Unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Which proxies implement it (`dataplaneTags`, `dataplaneLabels`, `dataplaneRef`), raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<serde_json::Value>,
    /// Ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<MeshServicePort>,
    /// Identities (`ServiceTag` or `SpiffeID`) allowed to serve it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<serde_json::Value>,
}

/// `MeshService.spec.ports[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshServicePort {
    /// Service port.
    #[serde(default)]
    pub port: u32,
    /// Port on the proxies: a number or a named port (spec `anyOf: [integer, string]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<serde_json::Value>,
    /// `tcp`, `http`, `grpc`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `MeshService.status`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshServiceStatus {
    /// Proxy counts (`connected`, `healthy`, `total`; zeros omitted).
    #[serde(default)]
    pub dataplane_proxies: DataplaneProxies,
    /// TLS readiness (`Ready`/`NotReady`).
    #[serde(default)]
    pub tls: MeshServiceTls,
    /// Virtual IPs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<serde_json::Value>,
    /// Hostnames.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<serde_json::Value>,
}

/// `MeshService.status.dataplaneProxies`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct DataplaneProxies {
    /// Proxies connected to the control plane.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub connected: u64,
    /// Proxies with every inbound healthy.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub healthy: u64,
    /// All proxies.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: u64,
}

/// `MeshService.status.tls`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MeshServiceTls {
    /// `Ready` when every proxy has an identity certificate; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Policies

kuma_enum! {
    /// `targetRef.kind` (spec enum for MeshTrafficPermission's top-level and `from[]` refs).
    pub enum TargetRefKind {
        /// Every proxy or client in the mesh.
        Mesh = "Mesh",
        /// Proxies or clients with the given `tags`.
        MeshSubset = "MeshSubset",
        /// A builtin gateway.
        MeshGateway = "MeshGateway",
        /// A service by `name` (the `kuma.io/service` tag, or a MeshService resource).
        MeshService = "MeshService",
        /// A MeshExternalService.
        MeshExternalService = "MeshExternalService",
        /// A MeshMultiZoneService.
        MeshMultiZoneService = "MeshMultiZoneService",
        /// A service by `name` narrowed by `tags`.
        MeshServiceSubset = "MeshServiceSubset",
        /// An HTTP route.
        MeshHTTPRoute = "MeshHTTPRoute",
        /// Dataplanes by `name` or `labels` (2.9+), optionally one port by `sectionName`.
        Dataplane = "Dataplane",
    }
}

/// A policy's `targetRef` (top level or inside `from[]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// What is referenced.
    pub kind: TargetRefKind,
    /// Name, for MeshService, MeshServiceSubset and Dataplane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the referenced resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector (MeshService, Dataplane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Tags>,
    /// Tag selector (MeshSubset, MeshServiceSubset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
    /// Reserved for cross-mesh references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<String>,
    /// `Sidecar` and/or `Gateway`; empty means both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_types: Vec<String>,
    /// A port (by name) of the referenced resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

impl TargetRef {
    /// A `{kind: Mesh}` reference.
    pub fn mesh() -> Self {
        TargetRef::of(TargetRefKind::Mesh)
    }

    /// A reference of the given kind with no selectors.
    pub fn of(kind: TargetRefKind) -> Self {
        TargetRef {
            kind,
            name: None,
            namespace: None,
            labels: None,
            tags: None,
            mesh: None,
            proxy_types: Vec::new(),
            section_name: None,
        }
    }
}

kuma_enum! {
    /// MeshTrafficPermission `from[].default.action`. The upper-case spellings are Kuma 2.0's.
    pub enum Action {
        /// Let matching clients in.
        Allow = "Allow" | "ALLOW",
        /// Keep matching clients out.
        Deny = "Deny" | "DENY",
        /// Let matching clients in, but log as if denied (for trying a policy out).
        AllowWithShadowDeny = "AllowWithShadowDeny" | "ALLOW_WITH_SHADOW_DENY",
    }
}

/// `GET /meshes/{mesh}/meshtrafficpermissions[/{name}]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshTrafficPermission {
    /// Type, mesh, name, kri, labels (`kuma.io/origin`, `kuma.io/policy-role` matter for precedence).
    #[serde(flatten)]
    pub meta: Meta,
    /// The policy.
    #[serde(default)]
    pub spec: MtpSpec,
}

/// `MeshTrafficPermission.spec`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtpSpec {
    /// The proxies whose inbound traffic is governed; absent means `Mesh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<TargetRef>,
    /// Client groups and their action (Kuma 2.x; removed in the next major). `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<MtpFrom>,
    /// SPIFFE-identity rules (2.12+; the only form in the next major).
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<MtpRule>,
}

fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// `spec.from[]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtpFrom {
    /// The clients this entry is about.
    pub target_ref: TargetRef,
    /// What happens to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<MtpFromConf>,
}

/// `spec.from[].default`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtpFromConf {
    /// The action; `None` contributes nothing when entries are merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// `spec.rules[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtpRule {
    /// The matchers.
    #[serde(default)]
    pub default: MtpRuleConf,
}

/// `spec.rules[].default`: three lists of client matchers.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MtpRuleConf {
    /// Clients allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<ClientMatch>,
    /// Clients allowed but logged as denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_with_shadow_deny: Vec<ClientMatch>,
    /// Clients denied; a deny match always wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<ClientMatch>,
}

/// A client matcher in `rules[]`: by SPIFFE ID and/or by the SNI of the TLS connection.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ClientMatch {
    /// SPIFFE ID matcher (`Exact` or `Prefix`).
    #[serde(
        rename = "spiffeID",
        alias = "spiffeId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub spiffe_id: Option<StringMatch>,
    /// SNI matcher (`Exact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<StringMatch>,
}

kuma_enum! {
    /// How a [`StringMatch`] compares.
    pub enum MatchType {
        /// Equal strings.
        Exact = "Exact",
        /// The value is a prefix of the candidate.
        Prefix = "Prefix",
    }
}

/// `{type, value}` string matcher.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct StringMatch {
    /// Comparison.
    #[serde(rename = "type")]
    pub match_type: MatchType,
    /// Value compared against.
    pub value: String,
}

impl StringMatch {
    /// Whether `candidate` matches; unknown match types never match.
    pub fn matches(&self, candidate: &str) -> bool {
        match self.match_type {
            MatchType::Exact => candidate == self.value,
            MatchType::Prefix => candidate.starts_with(&self.value),
            MatchType::Other(_) => false,
        }
    }
}

/// `GET /meshes/{mesh}/traffic-permissions`: the legacy policy, flat `sources` / `destinations`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPermission {
    /// Type, mesh, name, creation time (ties between equally specific policies go to the newer).
    #[serde(flatten)]
    pub meta: Meta,
    /// Clients allowed.
    #[serde(default)]
    pub sources: Vec<Selector>,
    /// Services governed.
    #[serde(default)]
    pub destinations: Vec<Selector>,
}

/// `{match: {tag: value}}`; a value of `*` matches any value of a present tag.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Selector {
    /// The tags to match.
    #[serde(rename = "match", default)]
    pub tags: Tags,
}

/// Any new-style resource read generically (`spec`/`status` kept raw): other policy lists such as
/// `meshtimeouts`, for counting, and `meshservices/{name}/_dataplanes` items.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GenericResource {
    /// Type, mesh, name, kri, labels.
    #[serde(flatten)]
    pub meta: Meta,
    /// Spec, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Status, raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `GET /meshes/{mesh}/dataplanes/{name}/_inbounds/{kri}/_policies`: effective inbound policies.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct InboundPolicies {
    /// One entry per policy type.
    #[serde(default)]
    pub policies: Vec<InboundPolicyConf>,
}

/// `InboundPolicyConf`: one policy type's effective rules on an inbound.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct InboundPolicyConf {
    /// Policy type, e.g. `MeshTrafficPermission`.
    #[serde(default)]
    pub kind: String,
    /// Policies that contributed.
    #[serde(default)]
    pub origins: Vec<PolicyOrigin>,
    /// Effective rules in order.
    #[serde(default)]
    pub rules: Vec<InboundRuleConf>,
}

/// `InboundPolicyConf.origins[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PolicyOrigin {
    /// The contributing policy's KRI.
    #[serde(default)]
    pub kri: String,
}

/// `InboundPolicyConf.rules[]`: a configuration (raw, its shape depends on the policy type) and
/// the policy it came from.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct InboundRuleConf {
    /// The configuration; for MeshTrafficPermission an [`MtpRuleConf`] (see
    /// [`InboundRuleConf::mtp_conf`]).
    #[serde(default)]
    pub conf: serde_json::Value,
    /// The contributing policy's KRI.
    #[serde(default)]
    pub kri: String,
}

impl InboundRuleConf {
    /// Reads `conf` as a MeshTrafficPermission rule configuration.
    pub fn mtp_conf(&self) -> Result<MtpRuleConf, Error> {
        serde_json::from_value(self.conf.clone()).map_err(|source| Error::Json {
            what: "MtpRuleConf",
            source,
        })
    }
}

/// `GET /_resources`: every resource type the control plane serves, with its REST path. Lets the
/// poller skip MeshServices on control planes that do not have them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ResourceTypeList {
    /// The types.
    #[serde(default)]
    pub resources: Vec<ResourceTypeDescription>,
}

/// One `_resources` entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTypeDescription {
    /// Type name, e.g. `MeshTrafficPermission`.
    #[serde(default)]
    pub name: String,
    /// REST path segment, e.g. `meshtrafficpermissions`.
    #[serde(default)]
    pub path: String,
    /// `Mesh` or `Global`.
    #[serde(default)]
    pub scope: String,
    /// Read-only types cannot be written through the API.
    #[serde(default)]
    pub read_only: bool,
    /// Present for policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
}

/// Kuma's error body (`/std-errors`), e.g. a 400 for an invalid PUT.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// `/std-errors`.
    #[serde(rename = "type", default)]
    pub error_type: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// Detail.
    #[serde(default)]
    pub detail: String,
    /// Field-level problems.
    #[serde(rename = "invalid_parameters", default)]
    pub invalid_parameters: Vec<InvalidParameter>,
}

/// `invalid_parameters[]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct InvalidParameter {
    /// JSON path of the field, e.g. `spec.targetRef.name`.
    #[serde(default)]
    pub field: String,
    /// What is wrong.
    #[serde(default)]
    pub reason: String,
}
