//! The world file: what the simulated control plane knows about.
//!
//! A world is JSON or YAML (`--world PATH`). Every field but `meshes` has a default, so a small
//! world is short:
//!
//! ```yaml
//! meshes:
//!   - name: default
//!     mtls: { backend: ca-1 }        # builtin CA, enabled
//! services:
//!   - name: web
//!     replicas: 2
//!   - name: backend
//!     proxies:
//!       - { status: online, certificate: 3d }
//!       - { status: offline }
//! traffic:
//!   - { from: web, to: backend, rps: 20, errorRatio: 0.01 }
//! ```
//!
//! `GET /_sim/world` returns the current world in this format (with every proxy spelled out), so
//! a world can be captured and replayed. See the crate README for every field.

use bearing_kuma::model::Selector;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A whole world.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorldSpec {
    /// What `GET /` says about the control plane, and which optional APIs it has.
    #[serde(default)]
    pub control_plane: ControlPlaneSpec,
    /// Meshes, at least one.
    pub meshes: Vec<MeshSpec>,
    /// Services (`kuma.io/service`) and their proxies.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// MeshTrafficPermission policies, served verbatim and evaluated for the traffic.
    #[serde(default)]
    pub mesh_traffic_permissions: Vec<MtpEntry>,
    /// Legacy TrafficPermission policies.
    #[serde(default)]
    pub traffic_permissions: Vec<TpEntry>,
    /// Other policies served and written through the API (`MeshTimeout`, `MeshRetry`,
    /// `MeshAccessLog`, `MeshMetric`, `MeshIdentity`), verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyEntry>,
    /// The traffic matrix: requests per second and error ratio between pairs of services.
    #[serde(default)]
    pub traffic: Vec<TrafficSpec>,
}

/// The control plane itself.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneSpec {
    /// Kuma version reported by `GET /` and by the proxies' `kumaDp` version.
    #[serde(default = "default_version")]
    pub version: String,
    /// Envoy version the proxies report.
    #[serde(default = "default_envoy_version")]
    pub envoy_version: String,
    /// `GET /` hostname.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// `GET /` instanceId, also each subscription's `controlPlaneInstanceId`.
    #[serde(default = "default_instance_id")]
    pub instance_id: String,
    /// `GET /` clusterId.
    #[serde(default = "default_cluster_id")]
    pub cluster_id: String,
    /// Whether the MeshService API exists (Kuma 2.9+). When false, `/meshes/{mesh}/meshservices`
    /// answers 404 like an older control plane and `/_resources` does not list it.
    #[serde(default = "yes")]
    pub mesh_services_api: bool,
    /// Whether the ServiceInsight API exists. Kuma's next major removes ServiceInsight; when false,
    /// `/meshes/{mesh}/service-insights[/{name}]` answers 404 like any unknown path.
    #[serde(default = "yes")]
    pub service_insights_api: bool,
    /// A Kubernetes control plane: the API is read-only (Kuma's Helm chart sets
    /// `KUMA_API_SERVER_READ_ONLY=true`), every write answers 405 and `/_resources` says
    /// `readOnly: true`. `POST /_sim/read-only` flips it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// The zone's name (`kuma.io/zone` label and `kri` of resources created through the API).
    #[serde(default = "default_zone")]
    pub zone: String,
}

impl Default for ControlPlaneSpec {
    fn default() -> Self {
        ControlPlaneSpec {
            version: default_version(),
            envoy_version: default_envoy_version(),
            hostname: default_hostname(),
            instance_id: default_instance_id(),
            cluster_id: default_cluster_id(),
            mesh_services_api: true,
            service_insights_api: true,
            read_only: false,
            zone: default_zone(),
        }
    }
}

fn default_version() -> String {
    "2.14.3".to_string()
}
fn default_envoy_version() -> String {
    "1.36.2".to_string()
}
fn default_hostname() -> String {
    "kuma-control-plane".to_string()
}
fn default_instance_id() -> String {
    "kuma-control-plane-6bb6b45bf9-q956w-a030".to_string()
}
fn default_cluster_id() -> String {
    "a41ed4f6-5e6b-4b5d-9f25-2c1c9b0f6e11".to_string()
}
fn yes() -> bool {
    true
}
fn is_false(b: &bool) -> bool {
    !*b
}
/// Kuma's default zone name (`multizone.zone.name`); its API golden `put_meshaccesslog_01` shows
/// `kuma.io/zone: default`.
fn default_zone() -> String {
    "default".to_string()
}

/// A mesh.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshSpec {
    /// Mesh name.
    pub name: String,
    /// Mesh-wide mTLS; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MtlsSpec>,
    /// `meshServices.mode` (`Disabled`, `Everywhere`, `ReachableBackends`, `Exclusive`); absent means
    /// Disabled: `GET /meshes/{mesh}/meshservices` is then an empty list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_services: Option<String>,
    /// A MeshIdentity (Kuma 2.12+, the only identity in 3.0): workloads get SPIFFE IDs
    /// `spiffe://<trustDomain>/workload/<service>`, MeshServices list them in `spec.identities`,
    /// and MeshTrafficPermission `rules[]` match them. Enforced like mTLS on (Kuma's MTP plugin
    /// applies RBAC when the proxy has a workload identity even without `Mesh.mtls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_identity: Option<MeshIdentitySpec>,
}

/// A mesh's MeshIdentity, Bundled provider, autogenerated CA.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshIdentitySpec {
    /// Resource name.
    #[serde(default = "default_identity_name")]
    pub name: String,
    /// The trust domain; absent: Kuma's default template `{{ .Mesh }}.{{ .Zone }}.mesh.local`
    /// (`meshidentity/api/v1alpha1/helpers.go`), i.e. `<mesh>.<zone>.mesh.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_domain: Option<String>,
}

fn default_identity_name() -> String {
    "identity".to_string()
}

/// Any other policy: `kind` one of `MeshTimeout`, `MeshRetry`, `MeshAccessLog`, `MeshMetric`,
/// `MeshIdentity`; `spec` served verbatim (it must pass Kuma's schema for the kind).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyEntry {
    /// Resource type.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Mesh.
    #[serde(default = "default_mesh")]
    pub mesh: String,
    /// Labels as stored (Kuma adds `kuma.io/mesh`, `kuma.io/origin: zone`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `spec`.
    pub spec: serde_json::Value,
}

/// `Mesh.mtls` with one CA backend.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtlsSpec {
    /// Backend name (`enabledBackend`, proxies' `issuedBackend`).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Backend type: `builtin` or `provided`.
    #[serde(rename = "type", default = "default_backend_type")]
    pub backend_type: String,
    /// Whether the backend is enabled (`enabledBackend` set). `POST /_sim/meshes/{mesh}/mtls`
    /// flips it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `STRICT` or `PERMISSIVE`; absent is STRICT and is left out of the Mesh, like Kuma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `dpCert.rotation.expiration`, also the lifetime of certificates issued while the simulator
    /// runs (e.g. when mTLS is turned on): `30d`, `24h`, ...
    #[serde(default = "default_cert_lifetime")]
    pub cert_lifetime: String,
}

fn default_backend() -> String {
    "ca-1".to_string()
}
fn default_backend_type() -> String {
    "builtin".to_string()
}
fn default_cert_lifetime() -> String {
    "30d".to_string()
}

/// A service: the proxies whose inbound carries `kuma.io/service: <name>`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The `kuma.io/service` value.
    pub name: String,
    /// Mesh.
    #[serde(default = "default_mesh")]
    pub mesh: String,
    /// Inbound port; Envoy's inbound cluster is `localhost_<port>`.
    #[serde(default = "default_port")]
    pub port: u32,
    /// `kuma.io/protocol` tag.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Set for a gateway service: `delegated` (Kong, Contour, ... with a Kuma sidecar) or `builtin`
    /// (MeshGateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayKind>,
    /// Extra inbound tags (`version`, `team`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Labels of each of its Dataplanes (`app`, `team`, `k8s.kuma.io/namespace`, ...), served in
    /// the resource's top-level `labels` beside Kuma's own `kuma.io/mesh` and `kuma.io/origin`.
    /// Not checked: a world may serve labels Kuma would refuse, to test what reads them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Median request latency in milliseconds (Envoy `upstream_rq_time`); derived from the name
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Shorthand for that many online proxies with default certificates, used when `proxies` is
    /// empty. Neither given means one proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// The proxies, named `<service>-<n>` unless named here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxySpec>,
    /// Informational: the catalog component this service stands for (shown by `GET /_sim/world`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

fn default_mesh() -> String {
    "default".to_string()
}
fn default_port() -> u32 {
    8080
}
fn default_protocol() -> String {
    "http".to_string()
}

/// Gateway flavour.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    /// A gateway with its own proxy (Kong, Contour, ...) and a Kuma sidecar: `gateway.type` left out.
    Delegated,
    /// A MeshGateway: `gateway.type: BUILTIN`.
    Builtin,
}

/// One proxy (Dataplane).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxySpec {
    /// Dataplane name; `<service>-<n>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Connection and readiness.
    #[serde(default)]
    pub status: ProxyState,
    /// Certificate: a duration from the world's start (`30d`, `6h`, `-2d` for expired), `external`
    /// (mTLS without an expiry: managed outside Kuma) or `none` (no mTLS insight). Absent means the
    /// mesh's certificate lifetime (minus a little, so expiries differ). Ignored while the mesh has
    /// no mTLS enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Labels of this Dataplane on top of its service's `labels` (a key here wins).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A proxy's connection and readiness.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ProxyState {
    /// Connected, every inbound ready.
    #[default]
    Online,
    /// Was connected; its subscription has a `disconnectTime`.
    Offline,
    /// Connected with two inbounds, one of them not ready (`health: {}`).
    PartiallyDegraded,
    /// Registered but never connected: no `dataplaneInsight` at all.
    NeverConnected,
}

impl ProxyState {
    /// Whether Envoy is running and connected (serves stats, sends and receives traffic).
    pub fn connected(self) -> bool {
        matches!(self, ProxyState::Online | ProxyState::PartiallyDegraded)
    }
}

impl fmt::Display for ProxyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyState::Online => "online",
            ProxyState::Offline => "offline",
            ProxyState::PartiallyDegraded => "partially_degraded",
            ProxyState::NeverConnected => "never_connected",
        })
    }
}

/// A MeshTrafficPermission. `spec` is served verbatim (and must parse as one).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtpEntry {
    /// Policy name.
    pub name: String,
    /// Mesh.
    #[serde(default = "default_mesh")]
    pub mesh: String,
    /// Extra labels (Kuma adds `kuma.io/mesh` and `kuma.io/origin: zone`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `spec`: `targetRef`, `from[]`, `rules[]`.
    pub spec: serde_json::Value,
}

/// A legacy TrafficPermission.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TpEntry {
    /// Policy name.
    pub name: String,
    /// Mesh.
    #[serde(default = "default_mesh")]
    pub mesh: String,
    /// `sources[].match`.
    pub sources: Vec<SelectorSpec>,
    /// `destinations[].match`.
    pub destinations: Vec<SelectorSpec>,
}

/// `{match: {tag: value}}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelectorSpec {
    /// Tags to match (`*` matches any value).
    #[serde(rename = "match")]
    pub tags: BTreeMap<String, String>,
}

impl From<&SelectorSpec> for Selector {
    fn from(s: &SelectorSpec) -> Self {
        Selector { tags: s.tags.clone() }
    }
}

/// One cell of the traffic matrix.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficSpec {
    /// Calling service.
    pub from: String,
    /// Called service.
    pub to: String,
    /// Mesh of both; needed only when the names exist in several meshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<String>,
    /// Requests per second from all of `from`'s connected proxies together.
    pub rps: f64,
    /// Fraction answered 5xx by the destination application (0..=1).
    #[serde(default)]
    pub error_ratio: f64,
    /// Informational: whether the catalog declares this dependency (the default world sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<bool>,
}

/// Why a world is not acceptable.
#[derive(Debug, PartialEq, Eq)]
pub struct WorldError(pub String);

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorldError {}

fn err<T>(message: String) -> Result<T, WorldError> {
    Err(WorldError(message))
}

/// A signed offset such as `30d`, `6h 30m` or `-2d` (humantime units, optional leading `-`).
pub fn parse_offset(text: &str) -> Result<time::Duration, WorldError> {
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, trimmed),
    };
    let std = humantime::parse_duration(rest)
        .map_err(|e| WorldError(format!("invalid duration {text:?}: {e} (use e.g. 30d, 6h, -2d)")))?;
    let d = time::Duration::try_from(std).map_err(|e| WorldError(format!("duration {text:?} too large: {e}")))?;
    Ok(if negative { -d } else { d })
}

impl WorldSpec {
    /// Parses a world file: JSON when it starts with `{`, else YAML.
    pub fn parse(text: &str) -> Result<WorldSpec, WorldError> {
        let value = if text.trim_start().starts_with('{') {
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| WorldError(format!("world JSON: {e}")))?
        } else {
            crate::yaml::to_json(text).map_err(|e| WorldError(format!("world YAML: {e}")))?
        };
        let spec: WorldSpec = serde_json::from_value(value).map_err(|e| WorldError(format!("world: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }

    /// The names of every proxy of `service`, in order.
    pub fn proxy_names(service: &ServiceSpec) -> Vec<String> {
        Self::expanded_proxies(service)
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.name.unwrap_or_else(|| format!("{}-{}", service.name, i + 1)))
            .collect()
    }

    /// A service's proxies with the `replicas` shorthand expanded (names not yet filled in).
    pub fn expanded_proxies(service: &ServiceSpec) -> Vec<ProxySpec> {
        if !service.proxies.is_empty() {
            service.proxies.clone()
        } else {
            vec![ProxySpec::default(); service.replicas.unwrap_or(1) as usize]
        }
    }

    /// Checks references and values; [`crate::sim::Sim::new`] calls it too.
    pub fn validate(&self) -> Result<(), WorldError> {
        if self.meshes.is_empty() {
            return err("a world needs at least one mesh".into());
        }
        let mut meshes = BTreeSet::new();
        for mesh in &self.meshes {
            if !valid_name(&mesh.name) {
                return err(format!("mesh name {:?} is not a valid Kuma name", mesh.name));
            }
            if !meshes.insert(mesh.name.as_str()) {
                return err(format!("mesh {:?} is defined twice", mesh.name));
            }
            if let Some(mtls) = &mesh.mtls {
                parse_offset(&mtls.cert_lifetime)?;
                if let Some(mode) = &mtls.mode {
                    if mode != "STRICT" && mode != "PERMISSIVE" {
                        return err(format!("mesh {:?}: mtls.mode must be STRICT or PERMISSIVE", mesh.name));
                    }
                }
            }
            if let Some(mode) = &mesh.mesh_services {
                if !["Disabled", "Everywhere", "ReachableBackends", "Exclusive"].contains(&mode.as_str()) {
                    return err(format!("mesh {:?}: unknown meshServices mode {mode:?}", mesh.name));
                }
            }
        }
        let mut services = BTreeSet::new();
        let mut proxies = BTreeSet::new();
        for service in &self.services {
            if !meshes.contains(service.mesh.as_str()) {
                return err(format!("service {:?}: unknown mesh {:?}", service.name, service.mesh));
            }
            if service.name.is_empty() || service.name.contains(char::is_whitespace) {
                return err(format!(
                    "service name {:?} is not usable as kuma.io/service",
                    service.name
                ));
            }
            if !services.insert((service.mesh.as_str(), service.name.as_str())) {
                return err(format!(
                    "service {:?} is defined twice in mesh {:?}",
                    service.name, service.mesh
                ));
            }
            if service.port == 0 || service.port >= 65535 {
                return err(format!(
                    "service {:?}: port {} out of range",
                    service.name, service.port
                ));
            }
            for (proxy, name) in Self::expanded_proxies(service).iter().zip(Self::proxy_names(service)) {
                if !valid_name(&name) {
                    return err(format!("proxy name {name:?} is not a valid Kuma name"));
                }
                if !proxies.insert((service.mesh.clone(), name.clone())) {
                    return err(format!("proxy {name:?} is defined twice in mesh {:?}", service.mesh));
                }
                if let Some(cert) = &proxy.certificate {
                    if cert != "external" && cert != "none" {
                        parse_offset(cert)?;
                    }
                }
            }
        }
        let mut policies = BTreeSet::new();
        for mtp in &self.mesh_traffic_permissions {
            if !meshes.contains(mtp.mesh.as_str()) {
                return err(format!(
                    "MeshTrafficPermission {:?}: unknown mesh {:?}",
                    mtp.name, mtp.mesh
                ));
            }
            if !valid_name(&mtp.name) || !policies.insert(("mtp", mtp.mesh.as_str(), mtp.name.as_str())) {
                return err(format!(
                    "MeshTrafficPermission name {:?} is invalid or used twice",
                    mtp.name
                ));
            }
            serde_json::from_value::<bearing_kuma::model::MtpSpec>(mtp.spec.clone())
                .map_err(|e| WorldError(format!("MeshTrafficPermission {:?}: invalid spec: {e}", mtp.name)))?;
        }
        for p in &self.policies {
            if !crate::policies::WRITABLE.iter().any(|k| k.kind == p.kind) || p.kind == "MeshTrafficPermission" {
                return err(format!("policy {:?}: unsupported kind {:?}", p.name, p.kind));
            }
            if !meshes.contains(p.mesh.as_str()) {
                return err(format!("{} {:?}: unknown mesh {:?}", p.kind, p.name, p.mesh));
            }
            if !valid_name(&p.name) || !policies.insert((p.kind.as_str(), p.mesh.as_str(), p.name.as_str())) {
                return err(format!("{} name {:?} is invalid or used twice", p.kind, p.name));
            }
            let resource = serde_json::json!({"type": p.kind, "name": p.name, "mesh": p.mesh, "spec": p.spec});
            if let Err(errors) = bearing_kuma::schema::validate(&p.kind, &resource) {
                let first = errors.first().map(ToString::to_string).unwrap_or_default();
                return err(format!("{} {:?}: invalid spec: {first}", p.kind, p.name));
            }
        }
        for tp in &self.traffic_permissions {
            if !meshes.contains(tp.mesh.as_str()) {
                return err(format!("TrafficPermission {:?}: unknown mesh {:?}", tp.name, tp.mesh));
            }
            if !valid_name(&tp.name) || !policies.insert(("tp", tp.mesh.as_str(), tp.name.as_str())) {
                return err(format!("TrafficPermission name {:?} is invalid or used twice", tp.name));
            }
        }
        for t in &self.traffic {
            self.resolve_pair(&t.from, &t.to, t.mesh.as_deref())?;
            check_rates(t.rps, t.error_ratio)?;
        }
        Ok(())
    }

    /// The mesh in which `from` and `to` both exist (the given one, or the only one).
    pub fn resolve_pair(&self, from: &str, to: &str, mesh: Option<&str>) -> Result<String, WorldError> {
        let meshes_of = |name: &str| -> BTreeSet<&str> {
            self.services
                .iter()
                .filter(|s| s.name == name)
                .map(|s| s.mesh.as_str())
                .collect()
        };
        let (a, b) = (meshes_of(from), meshes_of(to));
        if a.is_empty() {
            return err(format!("traffic: unknown service {from:?}"));
        }
        if b.is_empty() {
            return err(format!("traffic: unknown service {to:?}"));
        }
        let common: Vec<&str> = a.intersection(&b).copied().collect();
        match (mesh, common.as_slice()) {
            (Some(m), _) if common.contains(&m) => Ok(m.to_string()),
            (Some(m), _) => err(format!("traffic: {from:?} and {to:?} are not both in mesh {m:?}")),
            (None, [only]) => Ok((*only).to_string()),
            (None, []) => err(format!(
                "traffic: {from:?} and {to:?} are in different meshes (Kuma routes no traffic across meshes)"
            )),
            (None, _) => err(format!(
                "traffic: {from:?} -> {to:?} exists in several meshes; give `mesh`"
            )),
        }
    }
}

/// Checks a traffic cell's numbers.
pub fn check_rates(rps: f64, error_ratio: f64) -> Result<(), WorldError> {
    if !rps.is_finite() || rps < 0.0 {
        return err(format!("traffic: rps must be a non-negative number, got {rps}"));
    }
    if !(0.0..=1.0).contains(&error_ratio) {
        return err(format!(
            "traffic: errorRatio must be between 0 and 1, got {error_ratio}"
        ));
    }
    Ok(())
}

/// Kuma resource names: lower-case alphanumerics, `-` and `.`, starting and ending alphanumeric.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("30d").unwrap(), time::Duration::days(30));
        assert_eq!(parse_offset("-2d").unwrap(), -time::Duration::days(2));
        assert_eq!(parse_offset("6h 30m").unwrap(), time::Duration::minutes(390));
        assert!(parse_offset("soon").is_err());
    }

    #[test]
    fn small_yaml_world() {
        let world = WorldSpec::parse(
            "meshes:\n  - name: default\n    mtls: { backend: ca-1 }\nservices:\n  - name: web\n    replicas: 2\n  \
             - name: backend\n    proxies:\n      - { status: online, certificate: 3d }\n      - { status: offline }\n\
             traffic:\n  - { from: web, to: backend, rps: 20, errorRatio: 0.01 }\n",
        )
        .unwrap();
        assert_eq!(world.services.len(), 2);
        assert_eq!(WorldSpec::proxy_names(&world.services[0]), ["web-1", "web-2"]);
        assert_eq!(world.services[1].proxies[1].status, ProxyState::Offline);
        assert_eq!(world.traffic[0].error_ratio, 0.01);
    }

    #[test]
    fn rejects_bad_references() {
        let bad = |text: &str| WorldSpec::parse(text).unwrap_err().0;
        assert!(bad(r#"{"meshes": []}"#).contains("at least one mesh"));
        assert!(
            bad(r#"{"meshes": [{"name": "m"}], "services": [{"name": "a", "mesh": "x"}]}"#).contains("unknown mesh")
        );
        assert!(
            bad(r#"{"meshes": [{"name": "m"}], "services": [{"name": "a", "mesh": "m"}],
                "traffic": [{"from": "a", "to": "b", "rps": 1}]}"#)
            .contains("unknown service")
        );
        assert!(bad(r#"{"meshes": [{"name": "m"}], "bogus": 1}"#).contains("unknown field"));
    }
}
