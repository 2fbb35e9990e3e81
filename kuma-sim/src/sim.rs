//! The simulated control plane's state: meshes, proxies, policies, the traffic matrix and the
//! Envoy counters it drives.
//!
//! Counters are not stored as numbers but as `base + rate × (now − checkpoint)` per counter, so any
//! read at any time gives exact cumulative values and two reads give the configured rates. Every
//! change (a proxy going offline, mTLS turned off, new traffic) first folds the elapsed time into
//! the bases ("checkpoint"), then recomputes the rates from the world:
//!
//! - traffic `from → to` is sent by `from`'s connected proxies (split evenly) on the outbound
//!   cluster named after `to`;
//! - it is received, split evenly, by `to`'s connected proxies on their inbound cluster
//!   `localhost_<port>` (a gateway has no inbound cluster);
//! - if `to` has no connected proxy the caller gets `503` (no healthy upstream); otherwise, when
//!   the call is mutual TLS ([`State::verdict`]: mTLS STRICT, PERMISSIVE towards a TLS-ready
//!   service, or an initialized MeshIdentity), the mesh's policies decide through
//!   `bearing_kuma::permissions`: a denied HTTP call is the callee's RBAC filter's `403`
//!   (`http.<prefix>.rbac.denied` on the callee), a denied TCP call a closed connection (`503`),
//!   `AllowWithShadowDeny` lets it through counting `rbac.shadow_denied`; delivered calls are
//!   answered `500` for `errorRatio` of them and `200` otherwise.
//!
//! A proxy coming back online is a restarted Envoy: its counters and `server.uptime` start from
//! zero, as a poller must expect.

use crate::clock::Clock;
use crate::spec::{
    check_rates, parse_offset, GatewayKind, MeshSpec, MtlsSpec, MtpEntry, PolicyEntry, ProxySpec, ProxyState,
    ServiceSpec, TpEntry, TrafficSpec, WorldError, WorldSpec,
};
use bearing_kuma::model::{DataplaneOverview, GatewayType, MeshTrafficPermission, Meta, MtpSpec, TrafficPermission};
use bearing_kuma::permissions::{evaluate, Decision, MeshPolicies, Workload};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use time::{Duration, OffsetDateTime};

/// Counter slots per cluster.
pub const ACC_2XX: usize = 0;
/// 500s answered by the destination application.
pub const ACC_500: usize = 1;
/// 503s: no healthy upstream, or the connection refused by the destination's RBAC.
pub const ACC_503: usize = 2;
/// Upstream connections opened.
pub const ACC_CX: usize = 3;
/// Bytes received from upstream.
pub const ACC_RX: usize = 4;
/// Bytes sent upstream.
pub const ACC_TX: usize = 5;
/// 403s: the destination's HTTP RBAC filter refused the request (caller's outbound cluster).
pub const ACC_403: usize = 6;
/// Requests the destination's HTTP RBAC filter let in (`http.<prefix>.rbac.allowed`, inbound).
pub const ACC_RBAC_ALLOWED: usize = 7;
/// Requests the destination's HTTP RBAC filter refused (`http.<prefix>.rbac.denied`, inbound).
pub const ACC_RBAC_DENIED: usize = 8;
/// Requests let in by `AllowWithShadowDeny` (`http.<prefix>.rbac.shadow_denied`, inbound).
pub const ACC_SHADOW_DENIED: usize = 9;
/// Number of slots.
pub const N_ACC: usize = 10;

/// Requests per upstream connection (HTTP keep-alive), for `upstream_cx_total`.
pub const REQUESTS_PER_CONNECTION: f64 = 40.0;
/// Bytes per request sent upstream.
pub const REQUEST_BYTES: f64 = 620.0;
/// Bytes per successful response.
pub const RESPONSE_BYTES: f64 = 2_150.0;
/// Bytes per error response.
pub const ERROR_BYTES: f64 = 95.0;

/// One cumulative counter: `base + rate × (t − checkpoint)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Acc {
    /// Value at the last checkpoint (fractional, so rates stay exact).
    pub base: f64,
    /// Per second since the last checkpoint.
    pub rate: f64,
}

/// An Envoy cluster of one proxy.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterRt {
    /// `localhost_<port>` (the proxy's own application) rather than another service.
    pub inbound: bool,
    /// The counters.
    pub acc: [Acc; N_ACC],
    /// Median `upstream_rq_time` in milliseconds.
    pub latency_ms: f64,
    /// Healthy endpoints (`membership_healthy`).
    pub healthy: u32,
    /// All endpoints (`membership_total`).
    pub members: u32,
    /// HTTP/2 upstream (gRPC) rather than HTTP/1.1.
    pub http2: bool,
    /// An inbound cluster behind Kuma's HTTP RBAC filter (mesh mTLS or MeshIdentity, an HTTP
    /// protocol): `http.<prefix>.rbac.*` stats exist.
    pub rbac: bool,
}

impl ClusterRt {
    fn new(inbound: bool, latency_ms: f64, http2: bool) -> Self {
        ClusterRt {
            inbound,
            acc: [Acc::default(); N_ACC],
            latency_ms,
            healthy: 0,
            members: 0,
            http2,
            rbac: false,
        }
    }

    /// Counter value at `t` (clock seconds), given the state's last checkpoint.
    pub fn value(&self, slot: usize, t: f64, checkpoint: f64) -> u64 {
        let a = self.acc[slot];
        (a.base + a.rate * (t - checkpoint).max(0.0)).floor() as u64
    }

    /// Whether requests are flowing now.
    pub fn active(&self) -> bool {
        self.acc[ACC_2XX].rate + self.acc[ACC_500].rate + self.acc[ACC_503].rate + self.acc[ACC_403].rate > 0.0
    }
}

/// A proxy's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// Issued by Kuma's CA: generated at `issued`, expires at `expires`.
    Issued {
        /// Last regeneration.
        issued: OffsetDateTime,
        /// Expiry.
        expires: OffsetDateTime,
    },
    /// mTLS with a certificate Kuma does not manage (no expiry reported).
    External,
    /// No certificate.
    None,
}

/// One ADS subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Stream id.
    pub id: String,
    /// Connected at.
    pub connect: OffsetDateTime,
    /// Disconnected at, if it has.
    pub disconnect: Option<OffsetDateTime>,
}

/// A proxy.
#[derive(Clone, Debug)]
pub struct ProxyRt {
    /// Mesh.
    pub mesh: String,
    /// Dataplane name.
    pub name: String,
    /// Index into [`State::services`].
    pub service: usize,
    /// Connection and readiness.
    pub state: ProxyState,
    /// Certificate (shown only while the mesh has mTLS enabled).
    pub cert: Cert,
    /// `certificateRegenerations`.
    pub cert_regenerations: u32,
    /// `creationTime`.
    pub created: OffsetDateTime,
    /// ADS subscriptions, oldest first; empty when it never connected.
    pub subscriptions: Vec<Subscription>,
    /// Clock seconds at which the running Envoy started (for `server.uptime`).
    pub envoy_start_s: f64,
    /// Envoy clusters by name.
    pub clusters: BTreeMap<String, ClusterRt>,
    /// `networking.address`.
    pub address: String,
    /// Its own labels as configured (the service's are added when served).
    pub labels: BTreeMap<String, String>,
}

/// A service.
#[derive(Clone, Debug)]
pub struct ServiceRt {
    /// As configured.
    pub spec: ServiceSpec,
    /// Its proxies (indexes into [`State::proxies`]).
    pub proxies: Vec<usize>,
    /// Median latency.
    pub latency_ms: f64,
    /// MeshService VIP.
    pub vip: String,
}

impl ServiceRt {
    /// The gateway type, for gateway services.
    pub fn gateway_type(&self) -> Option<GatewayType> {
        self.spec.gateway.map(|g| match g {
            GatewayKind::Delegated => GatewayType::Delegated,
            GatewayKind::Builtin => GatewayType::Builtin,
        })
    }

    /// The name of the Envoy cluster receiving this service's traffic on its proxies.
    pub fn inbound_cluster(&self) -> String {
        format!("localhost_{}", self.spec.port)
    }

    /// Whether requests to it go through an HTTP connection manager (Kuma then puts the RBAC
    /// filter inside it and a denied request gets a 403; for TCP the network RBAC filter closes
    /// the connection). `meshtrafficpermission/xds/rbac_configurer.go`.
    pub fn http(&self) -> bool {
        matches!(self.spec.protocol.as_str(), "http" | "http2" | "grpc")
    }

    /// The workload as `bearing_kuma::permissions` sees it; `spiffe` set in MeshIdentity meshes.
    pub fn workload(&self, spiffe: Option<String>) -> Workload {
        let mut w = Workload::service(self.spec.name.clone());
        if let Some(id) = spiffe {
            w = w.with_spiffe_id(id);
        }
        for (k, v) in &self.spec.tags {
            w = w.with_tag(k.clone(), v.clone());
        }
        if let Some(gw) = self.gateway_type() {
            w = w.as_gateway(gw);
        }
        w
    }
}

/// A mesh with its policies.
#[derive(Clone, Debug)]
pub struct MeshRt {
    /// As configured (mTLS toggled by the control endpoint).
    pub spec: MeshSpec,
    /// `creationTime`.
    pub created: OffsetDateTime,
    /// MeshTrafficPermissions: as configured and parsed.
    pub mtps: Vec<(MtpEntry, MeshTrafficPermission)>,
    /// Legacy TrafficPermissions: as configured and parsed.
    pub tps: Vec<(TpEntry, TrafficPermission)>,
    /// Other policies (MeshTimeout, MeshRetry, MeshAccessLog, MeshMetric, MeshIdentity), sorted by
    /// (kind, name).
    pub policies: Vec<PolicyEntry>,
    /// `(creationTime, modificationTime)` of resources written through the API, by (kind, name).
    pub stamps: BTreeMap<(String, String), (OffsetDateTime, OffsetDateTime)>,
}

impl MeshRt {
    /// Whether mTLS is enabled.
    pub fn mtls_enabled(&self) -> bool {
        self.spec.mtls.as_ref().is_some_and(|m| m.enabled)
    }

    /// Whether mesh traffic is mutual TLS with Kuma's RBAC on the receiving side: mTLS enabled, or
    /// a MeshIdentity (Kuma's MTP plugin skips RBAC only when `!MTLSEnabled() && WorkloadIdentity
    /// == nil`, `meshtrafficpermission/plugin/v1alpha1/plugin.go`).
    pub fn rbac_configured(&self) -> bool {
        self.mtls_enabled() || self.identity_initialized()
    }

    /// Whether the mesh's MeshIdentity is initialized, so its proxies have a workload identity:
    /// Kuma's reconciler initializes one only in a mesh whose MeshServices are `Exclusive`
    /// (`pkg/core/resources/apis/meshidentity/status/updater.go`), and a proxy gets an identity
    /// only from an initialized one (`IsInitialized` in `providers/manager.go`).
    pub fn identity_initialized(&self) -> bool {
        self.spec.mesh_identity.is_some() && self.spec.mesh_services.as_deref() == Some("Exclusive")
    }

    /// The MeshIdentity trust domain (Kuma's default template `{{ .Mesh }}.{{ .Zone }}.mesh.local`).
    pub fn trust_domain(&self, zone: &str) -> Option<String> {
        let id = self.spec.mesh_identity.as_ref()?;
        Some(
            id.trust_domain
                .clone()
                .unwrap_or_else(|| format!("{}.{zone}.mesh.local", self.spec.name)),
        )
    }

    /// A service's SPIFFE ID under the MeshIdentity: Kuma's Universal default path template
    /// `/workload/{{ .Workload }}` (`meshidentity/api/v1alpha1/helpers.go`).
    pub fn spiffe_id(&self, zone: &str, service: &str) -> Option<String> {
        self.trust_domain(zone)
            .map(|td| format!("spiffe://{td}/workload/{service}"))
    }
}

/// What Envoy does with one caller → callee pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No RBAC on the way (mTLS off, PERMISSIVE plaintext, a gateway): delivered.
    Open,
    /// RBAC let it in.
    Allowed,
    /// RBAC let it in under `AllowWithShadowDeny` (counted `shadow_denied`).
    ShadowDenied,
    /// RBAC refused it.
    Denied,
}

impl Verdict {
    /// Whether the request reaches the destination.
    pub fn delivers(self) -> bool {
        self != Verdict::Denied
    }
}

/// One traffic matrix cell.
#[derive(Clone, Debug)]
pub struct TrafficRt {
    /// As configured.
    pub spec: TrafficSpec,
    /// Mesh of both services.
    pub mesh: String,
    /// Calling service (index).
    pub from: usize,
    /// Called service (index).
    pub to: usize,
}

/// How the non-`/_sim` routes misbehave.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// Answer normally.
    #[default]
    None,
    /// 500 with Kuma's error body.
    Error500,
    /// Never answer.
    Hang,
    /// 200 with a malformed body.
    Garbage,
    /// Answer normally after `delay_ms`.
    Slow,
}

/// The current fault.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Mode.
    pub mode: FaultMode,
    /// Delay before answering (default 3000 ms for `slow`; also applies to `error500` and
    /// `garbage` when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// Everything the simulator knows, behind [`Sim`]'s lock.
#[derive(Clone, Debug)]
pub struct State {
    /// The control plane.
    pub cp: crate::spec::ControlPlaneSpec,
    /// Clock seconds at which this world started (0, or the last reset).
    pub epoch_s: f64,
    /// Wall time at which this world started.
    pub epoch: OffsetDateTime,
    /// Meshes by name.
    pub meshes: Vec<MeshRt>,
    /// Services sorted by (mesh, name).
    pub services: Vec<ServiceRt>,
    /// Proxies sorted by (mesh, name).
    pub proxies: Vec<ProxyRt>,
    /// The traffic matrix.
    pub traffic: Vec<TrafficRt>,
    /// The fault mode.
    pub fault: Fault,
    /// Clock seconds of the last checkpoint.
    pub checkpoint_s: f64,
    /// Rendered views, rebuilt after a change.
    views: Option<Arc<crate::wire::Views>>,
}

fn api_err<T>(status: u16, message: impl Into<String>) -> Result<T, SimError> {
    Err(SimError {
        status,
        message: message.into(),
    })
}

/// A control request that cannot be carried out.
#[derive(Debug, PartialEq, Eq)]
pub struct SimError {
    /// HTTP status to answer.
    pub status: u16,
    /// Why.
    pub message: String,
}

impl From<WorldError> for SimError {
    fn from(e: WorldError) -> Self {
        SimError {
            status: 400,
            message: e.0,
        }
    }
}

/// Stable pseudo-random number from a name (FNV-1a).
pub fn hash(text: &str) -> u64 {
    crate::default_world::stable_hash(text)
}

fn uuid_like(seed: &str) -> String {
    let a = hash(seed);
    let b = hash(&format!("{seed}#"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

impl State {
    /// Builds the world `spec` as if it had been running for a while when the clock read `epoch_s`.
    pub fn build(spec: &WorldSpec, epoch_s: f64, origin: OffsetDateTime) -> Result<State, WorldError> {
        spec.validate()?;
        let epoch = (origin + Duration::seconds_f64(epoch_s))
            .replace_nanosecond(0)
            .unwrap_or(origin);
        let mut meshes: Vec<MeshRt> = spec
            .meshes
            .iter()
            .map(|m| MeshRt {
                spec: m.clone(),
                created: epoch - Duration::days(30),
                mtps: Vec::new(),
                tps: Vec::new(),
                policies: Vec::new(),
                stamps: BTreeMap::new(),
            })
            .collect();
        meshes.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        for mtp in &spec.mesh_traffic_permissions {
            let model = MeshTrafficPermission {
                meta: Meta {
                    resource_type: "MeshTrafficPermission".into(),
                    mesh: Some(mtp.mesh.clone()),
                    name: mtp.name.clone(),
                    labels: crate::wire::policy_labels(&mtp.mesh, &mtp.labels),
                    ..Meta::default()
                },
                spec: serde_json::from_value::<MtpSpec>(mtp.spec.clone())
                    .map_err(|e| WorldError(format!("MeshTrafficPermission {:?}: {e}", mtp.name)))?,
            };
            let mesh = meshes.iter_mut().find(|m| m.spec.name == mtp.mesh).expect("validated");
            mesh.mtps.push((mtp.clone(), model));
        }
        for tp in &spec.traffic_permissions {
            let model = TrafficPermission {
                meta: Meta {
                    resource_type: "TrafficPermission".into(),
                    mesh: Some(tp.mesh.clone()),
                    name: tp.name.clone(),
                    creation_time: Some(epoch - Duration::days(20)),
                    ..Meta::default()
                },
                sources: tp.sources.iter().map(Into::into).collect(),
                destinations: tp.destinations.iter().map(Into::into).collect(),
            };
            let mesh = meshes.iter_mut().find(|m| m.spec.name == tp.mesh).expect("validated");
            mesh.tps.push((tp.clone(), model));
        }
        for p in &spec.policies {
            let mesh = meshes.iter_mut().find(|m| m.spec.name == p.mesh).expect("validated");
            mesh.policies.push(p.clone());
        }
        for mesh in &mut meshes {
            mesh.policies
                .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
            mesh.mtps.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            mesh.tps.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        }

        let mut service_specs: Vec<&ServiceSpec> = spec.services.iter().collect();
        service_specs.sort_by(|a, b| (&a.mesh, &a.name).cmp(&(&b.mesh, &b.name)));
        let mut services: Vec<ServiceRt> = Vec::new();
        let mut pending: Vec<(usize, String, ProxySpec)> = Vec::new();
        for (si, s) in service_specs.iter().enumerate() {
            let mesh_index = meshes.iter().position(|m| m.spec.name == s.mesh).unwrap_or(0);
            let n = (si % 250) + 1;
            services.push(ServiceRt {
                spec: (*s).clone(),
                proxies: Vec::new(),
                latency_ms: s
                    .latency_ms
                    .unwrap_or_else(|| 3.0 + (hash(&s.name) % 37) as f64)
                    .max(0.1),
                vip: format!("241.{}.{}.{}", mesh_index, si / 250, n),
            });
            for (proxy, name) in WorldSpec::expanded_proxies(s)
                .into_iter()
                .zip(WorldSpec::proxy_names(s))
            {
                pending.push((si, name, proxy));
            }
        }
        pending.sort_by(|a, b| (&services[a.0].spec.mesh, &a.1).cmp(&(&services[b.0].spec.mesh, &b.1)));

        let mut proxies = Vec::with_capacity(pending.len());
        for (pi, (si, name, proxy)) in pending.into_iter().enumerate() {
            let service = &services[si];
            let mesh = meshes
                .iter()
                .find(|m| m.spec.name == service.spec.mesh)
                .expect("validated");
            let key = format!("{}/{}", service.spec.mesh, name);
            let h = hash(&key);
            let connected_for = Duration::minutes(120 + (h % 600) as i64);
            let mut subscriptions = Vec::new();
            match proxy.status {
                ProxyState::Online | ProxyState::PartiallyDegraded => subscriptions.push(Subscription {
                    id: uuid_like(&format!("{key}/1")),
                    connect: epoch - connected_for,
                    disconnect: None,
                }),
                ProxyState::Offline => subscriptions.push(Subscription {
                    id: uuid_like(&format!("{key}/1")),
                    connect: epoch - Duration::days(1) - connected_for,
                    disconnect: Some(epoch - Duration::minutes(40 + (h % 30) as i64)),
                }),
                ProxyState::NeverConnected => {}
            }
            let lifetime = mesh
                .spec
                .mtls
                .as_ref()
                .map(|m| parse_offset(&m.cert_lifetime))
                .transpose()?
                .unwrap_or(Duration::days(30));
            let cert = match proxy.certificate.as_deref() {
                Some("external") => Cert::External,
                Some("none") => Cert::None,
                Some(offset) => {
                    let expires = epoch + parse_offset(offset)?;
                    Cert::Issued {
                        issued: expires - lifetime,
                        expires,
                    }
                }
                None if mesh.spec.mtls.is_some() => {
                    let expires = epoch + lifetime - Duration::minutes((h % (48 * 60)) as i64);
                    Cert::Issued {
                        issued: expires - lifetime,
                        expires,
                    }
                }
                None => Cert::None,
            };
            let mesh_index = meshes
                .iter()
                .position(|m| m.spec.name == service.spec.mesh)
                .unwrap_or(0);
            proxies.push(ProxyRt {
                mesh: service.spec.mesh.clone(),
                name,
                service: si,
                state: proxy.status,
                cert,
                cert_regenerations: 1 + (h % 9) as u32,
                created: epoch - Duration::days(7) - Duration::minutes((h % 5000) as i64),
                subscriptions,
                envoy_start_s: epoch_s,
                clusters: BTreeMap::new(),
                address: format!("10.{}.{}.{}", 40 + mesh_index, (pi / 250) % 256, pi % 250 + 1),
                labels: proxy.labels.clone(),
            });
            services[si].proxies.push(pi);
        }

        let mut state = State {
            cp: spec.control_plane.clone(),
            epoch_s,
            epoch,
            meshes,
            services,
            proxies,
            traffic: Vec::new(),
            fault: Fault::default(),
            checkpoint_s: epoch_s,
            views: None,
        };
        for t in &spec.traffic {
            state.upsert_traffic(t.clone()).map_err(|e| WorldError(e.message))?;
        }
        state.ensure_clusters();
        state.recompute_rates();
        // The world has been running: counters hold what the current rates produced since each
        // Envoy connected.
        for p in &mut state.proxies {
            let Some(current) = p.subscriptions.last().filter(|s| s.disconnect.is_none()) else {
                continue;
            };
            let prior = (epoch - current.connect).as_seconds_f64().max(0.0);
            p.envoy_start_s = epoch_s - prior;
            for c in p.clusters.values_mut() {
                for a in &mut c.acc {
                    a.base = a.rate * prior;
                }
            }
        }
        Ok(state)
    }

    /// Wall time at clock seconds `t`.
    pub fn wall(&self, t: f64) -> OffsetDateTime {
        let at = self.epoch + Duration::seconds_f64(t - self.epoch_s);
        at.replace_nanosecond(0).unwrap_or(at)
    }

    /// The mesh named `name`.
    pub fn mesh(&self, name: &str) -> Option<&MeshRt> {
        self.meshes.iter().find(|m| m.spec.name == name)
    }

    /// Index of the proxy `mesh/name`.
    pub fn proxy_index(&self, mesh: &str, name: &str) -> Option<usize> {
        self.proxies
            .binary_search_by(|p| (p.mesh.as_str(), p.name.as_str()).cmp(&(mesh, name)))
            .ok()
    }

    fn service_index(&self, mesh: &str, name: &str) -> Option<usize> {
        self.services
            .binary_search_by(|s| (s.spec.mesh.as_str(), s.spec.name.as_str()).cmp(&(mesh, name)))
            .ok()
    }

    fn resolve_traffic(&self, t: &TrafficSpec) -> Result<(String, usize, usize), SimError> {
        let meshes_of = |name: &str| -> Vec<&str> {
            self.services
                .iter()
                .filter(|s| s.spec.name == name)
                .map(|s| s.spec.mesh.as_str())
                .collect()
        };
        let (a, b) = (meshes_of(&t.from), meshes_of(&t.to));
        if a.is_empty() {
            return api_err(404, format!("unknown service {:?}", t.from));
        }
        if b.is_empty() {
            return api_err(404, format!("unknown service {:?}", t.to));
        }
        let common: Vec<&str> = a.iter().filter(|m| b.contains(m)).copied().collect();
        let mesh = match (&t.mesh, common.as_slice()) {
            (Some(m), _) if common.contains(&m.as_str()) => m.clone(),
            (Some(m), _) => return api_err(400, format!("{:?} and {:?} are not both in mesh {m:?}", t.from, t.to)),
            (None, [only]) => (*only).to_string(),
            (None, []) => {
                return api_err(
                    400,
                    format!(
                        "{:?} and {:?} are in different meshes; Kuma routes no traffic across meshes",
                        t.from, t.to
                    ),
                )
            }
            (None, _) => {
                return api_err(
                    400,
                    format!("{:?} -> {:?} exists in several meshes; give `mesh`", t.from, t.to),
                )
            }
        };
        let from = self.service_index(&mesh, &t.from).expect("found above");
        let to = self.service_index(&mesh, &t.to).expect("found above");
        Ok((mesh, from, to))
    }

    fn upsert_traffic(&mut self, t: TrafficSpec) -> Result<(), SimError> {
        check_rates(t.rps, t.error_ratio)?;
        let (mesh, from, to) = self.resolve_traffic(&t)?;
        match self.traffic.iter_mut().find(|x| x.from == from && x.to == to) {
            Some(existing) => {
                existing.spec.rps = t.rps;
                existing.spec.error_ratio = t.error_ratio;
            }
            None => self.traffic.push(TrafficRt {
                spec: t,
                mesh,
                from,
                to,
            }),
        }
        Ok(())
    }

    /// Folds the time since the last checkpoint into every counter's base.
    pub fn checkpoint(&mut self, t: f64) {
        let dt = (t - self.checkpoint_s).max(0.0);
        if dt > 0.0 {
            for p in &mut self.proxies {
                for c in p.clusters.values_mut() {
                    for a in &mut c.acc {
                        a.base += a.rate * dt;
                    }
                }
            }
        }
        self.checkpoint_s = self.checkpoint_s.max(t);
    }

    /// Makes sure every proxy has its inbound clusters and an outbound cluster per service it
    /// calls. Clusters are never removed (Envoy keeps them while the destination exists).
    pub fn ensure_clusters(&mut self) {
        let mut outbound: HashMap<usize, Vec<usize>> = HashMap::new();
        for t in &self.traffic {
            outbound.entry(t.from).or_default().push(t.to);
        }
        for p in &mut self.proxies {
            let service = &self.services[p.service];
            let http2 = service.spec.protocol == "grpc" || service.spec.protocol == "http2";
            if service.spec.gateway.is_none() {
                p.clusters
                    .entry(service.inbound_cluster())
                    .or_insert_with(|| ClusterRt::new(true, service.latency_ms, http2));
                if p.state == ProxyState::PartiallyDegraded {
                    p.clusters
                        .entry(format!("localhost_{}", service.spec.port + 1))
                        .or_insert_with(|| ClusterRt::new(true, service.latency_ms, http2));
                }
            }
            for to in outbound.get(&p.service).into_iter().flatten() {
                let target = &self.services[*to];
                let http2 = target.spec.protocol == "grpc" || target.spec.protocol == "http2";
                p.clusters
                    .entry(target.spec.name.clone())
                    .or_insert_with(|| ClusterRt::new(false, target.latency_ms + 1.0, http2));
            }
        }
    }

    /// Whether `mesh`'s policies let `from` call `to` (requests get through).
    pub fn allowed(&self, mesh: &str, from: usize, to: usize) -> bool {
        self.verdict(mesh, from, to).delivers()
    }

    /// Whether a caller's requests to `to` are mutual TLS, so the callee's RBAC sees them. With a
    /// PERMISSIVE backend a caller uses TLS only towards a service whose every proxy has a
    /// certificate from the backend (Kuma's `ClientSideMTLSConfigurer` and `resolveTLSReadiness`
    /// in `pkg/xds/context/mesh_context_builder.go`: `issuedBackends[backend] == online +
    /// offline`); otherwise it sends plaintext, which Kuma's RBAC (on the TLS filter chain only)
    /// never sees.
    fn mutual_tls_to(&self, m: &MeshRt, to: usize) -> bool {
        if m.identity_initialized() {
            return true;
        }
        let Some(mtls) = m.spec.mtls.as_ref().filter(|x| x.enabled) else {
            return false;
        };
        if mtls.mode.as_deref() != Some("PERMISSIVE") {
            return true;
        }
        self.services[to]
            .proxies
            .iter()
            .all(|&i| matches!(self.proxies[i].cert, Cert::Issued { .. } | Cert::External))
    }

    /// The workload of service `index` as a caller or callee in mesh `m`.
    pub fn workload_of(&self, m: &MeshRt, index: usize) -> Workload {
        let service = &self.services[index];
        service.workload(m.spiffe_id(&self.cp.zone, &service.spec.name))
    }

    /// What the callee's RBAC does with `from → to`, evaluated by `bearing_kuma::permissions`
    /// (the evaluation Bearing uses) over the mesh's current policies.
    pub fn verdict(&self, mesh: &str, from: usize, to: usize) -> Verdict {
        let Some(m) = self.mesh(mesh) else {
            return Verdict::Denied;
        };
        if !self.mutual_tls_to(m, to) || self.services[to].spec.gateway.is_some() {
            return Verdict::Open;
        }
        let mut mtps: Vec<MeshTrafficPermission> = m.mtps.iter().map(|(_, model)| model.clone()).collect();
        if m.identity_initialized() {
            // Proxies with a workload identity are judged by rules[] only.
            mtps = bearing_kuma::identity::rules_only(&mtps);
        }
        let tps: Vec<TrafficPermission> = m.tps.iter().map(|(_, model)| model.clone()).collect();
        let policies = MeshPolicies {
            mesh,
            mtls_enabled: true,
            mesh_traffic_permissions: &mtps,
            traffic_permissions: &tps,
        };
        match evaluate(&policies, &self.workload_of(m, from), &self.workload_of(m, to)).decision {
            Decision::Allow => Verdict::Allowed,
            Decision::AllowWithShadowDeny => Verdict::ShadowDenied,
            Decision::Deny => Verdict::Denied,
        }
    }

    /// Recomputes every counter's rate from the traffic matrix and the world.
    pub fn recompute_rates(&mut self) {
        for p in &mut self.proxies {
            for c in p.clusters.values_mut() {
                for a in &mut c.acc {
                    a.rate = 0.0;
                }
            }
        }
        let verdicts: Vec<Verdict> = self
            .traffic
            .iter()
            .map(|t| self.verdict(&t.mesh, t.from, t.to))
            .collect();
        for (t, verdict) in self.traffic.iter().zip(verdicts) {
            let from = &self.services[t.from];
            let to = &self.services[t.to];
            let senders: Vec<usize> = from
                .proxies
                .iter()
                .copied()
                .filter(|&i| self.proxies[i].state.connected())
                .collect();
            let receivers: Vec<usize> = to
                .proxies
                .iter()
                .copied()
                .filter(|&i| self.proxies[i].state.connected())
                .collect();
            for &i in &from.proxies {
                if let Some(c) = self.proxies[i].clusters.get_mut(&to.spec.name) {
                    c.healthy = receivers.len() as u32;
                    c.members = to.proxies.len() as u32;
                }
            }
            if t.spec.rps <= 0.0 || senders.is_empty() {
                continue;
            }
            // No healthy upstream: 503 whatever the permissions. A denial over HTTP is the RBAC
            // filter's 403; over TCP the network RBAC filter closes the connection (503).
            let reaches = !receivers.is_empty();
            let delivered = reaches && verdict.delivers();
            let http_denied = reaches && !verdict.delivers() && to.http();
            let err = t.spec.error_ratio;
            let r = t.spec.rps / senders.len() as f64;
            for &i in &senders {
                let c = self.proxies[i]
                    .clusters
                    .get_mut(&to.spec.name)
                    .expect("ensure_clusters adds outbound clusters");
                if delivered {
                    c.acc[ACC_2XX].rate += r * (1.0 - err);
                    c.acc[ACC_500].rate += r * err;
                    c.acc[ACC_RX].rate += r * ((1.0 - err) * RESPONSE_BYTES + err * ERROR_BYTES);
                } else if http_denied {
                    c.acc[ACC_403].rate += r;
                    c.acc[ACC_RX].rate += r * ERROR_BYTES;
                } else {
                    c.acc[ACC_503].rate += r;
                    c.acc[ACC_RX].rate += r * ERROR_BYTES;
                }
                c.acc[ACC_CX].rate += r / REQUESTS_PER_CONNECTION;
                c.acc[ACC_TX].rate += r * REQUEST_BYTES;
            }
            if !reaches || to.spec.gateway.is_some() {
                continue;
            }
            let rr = t.spec.rps / receivers.len() as f64;
            let cluster = to.inbound_cluster();
            for &i in &receivers {
                let c = self.proxies[i]
                    .clusters
                    .get_mut(&cluster)
                    .expect("ensure_clusters adds inbound clusters");
                if to.http() {
                    match verdict {
                        Verdict::Open => {}
                        Verdict::Allowed => c.acc[ACC_RBAC_ALLOWED].rate += rr,
                        Verdict::ShadowDenied => {
                            c.acc[ACC_RBAC_ALLOWED].rate += rr;
                            c.acc[ACC_SHADOW_DENIED].rate += rr;
                        }
                        Verdict::Denied => c.acc[ACC_RBAC_DENIED].rate += rr,
                    }
                }
                if !verdict.delivers() {
                    continue;
                }
                c.acc[ACC_2XX].rate += rr * (1.0 - err);
                c.acc[ACC_500].rate += rr * err;
                c.acc[ACC_RX].rate += rr * ((1.0 - err) * RESPONSE_BYTES + err * ERROR_BYTES);
                c.acc[ACC_CX].rate += rr / REQUESTS_PER_CONNECTION;
                c.acc[ACC_TX].rate += rr * REQUEST_BYTES;
            }
        }
        for si in 0..self.services.len() {
            let s = &self.services[si];
            let cluster = s.inbound_cluster();
            let rbac =
                s.http() && s.spec.gateway.is_none() && self.mesh(&s.spec.mesh).is_some_and(MeshRt::rbac_configured);
            for &i in &s.proxies {
                let connected = self.proxies[i].state.connected();
                if let Some(c) = self.proxies[i].clusters.get_mut(&cluster) {
                    c.healthy = u32::from(connected);
                    c.members = 1;
                    c.rbac = rbac;
                }
            }
        }
        self.views = None;
    }

    /// The rendered views, built on first use after a change.
    pub fn views(&mut self) -> Arc<crate::wire::Views> {
        if let Some(v) = &self.views {
            return v.clone();
        }
        let v = Arc::new(crate::wire::Views::build(self));
        self.views = Some(v.clone());
        v
    }

    /// The parsed overview of every proxy (what a poller would read), in proxy order.
    pub fn models(&mut self) -> Vec<DataplaneOverview> {
        self.views().models.clone()
    }

    fn restart_envoy(&mut self, index: usize, t: f64) {
        let p = &mut self.proxies[index];
        p.envoy_start_s = t;
        for c in p.clusters.values_mut() {
            for a in &mut c.acc {
                a.base = 0.0;
            }
        }
    }

    /// Connects, disconnects or degrades a proxy at clock time `t` (after a checkpoint).
    pub fn set_proxy_state(&mut self, mesh: &str, name: &str, target: ProxyState, t: f64) -> Result<(), SimError> {
        let Some(index) = self.proxy_index(mesh, name) else {
            return api_err(404, format!("no proxy {name:?} in mesh {mesh:?}"));
        };
        let now = self.wall(t);
        let was_connected = self.proxies[index].state.connected();
        match target {
            ProxyState::Offline | ProxyState::NeverConnected => {
                if was_connected {
                    if let Some(s) = self.proxies[index].subscriptions.last_mut() {
                        s.disconnect = Some(now);
                    }
                    self.proxies[index].state = ProxyState::Offline;
                }
            }
            ProxyState::Online | ProxyState::PartiallyDegraded => {
                if !was_connected {
                    let p = &mut self.proxies[index];
                    let id = uuid_like(&format!("{}/{}/{}", p.mesh, p.name, p.subscriptions.len() + 1));
                    p.subscriptions.push(Subscription {
                        id,
                        connect: now,
                        disconnect: None,
                    });
                    if p.subscriptions.len() > 5 {
                        p.subscriptions.remove(0);
                    }
                    self.restart_envoy(index, t);
                }
                self.proxies[index].state = target;
            }
        }
        Ok(())
    }

    /// Turns a mesh's mTLS on or off at clock time `t`. Turning it on issues certificates (for the
    /// mesh's certificate lifetime) to proxies that have none.
    pub fn set_mtls(&mut self, mesh: &str, enabled: bool, t: f64) -> Result<(), SimError> {
        let now = self.wall(t);
        let Some(m) = self.meshes.iter_mut().find(|m| m.spec.name == mesh) else {
            return api_err(404, format!("no mesh {mesh:?}"));
        };
        let mtls = m.spec.mtls.get_or_insert_with(|| MtlsSpec {
            backend: "ca-1".into(),
            backend_type: "builtin".into(),
            enabled,
            mode: None,
            cert_lifetime: "30d".into(),
        });
        mtls.enabled = enabled;
        let lifetime = parse_offset(&mtls.cert_lifetime)?;
        if enabled {
            for p in self.proxies.iter_mut().filter(|p| p.mesh == mesh) {
                if p.cert == Cert::None {
                    p.cert = Cert::Issued {
                        issued: now,
                        expires: now + lifetime,
                    };
                    p.cert_regenerations += 1;
                }
            }
        }
        Ok(())
    }

    /// Sets one traffic matrix cell.
    pub fn set_traffic(&mut self, t: TrafficSpec) -> Result<(), SimError> {
        self.upsert_traffic(t)
    }

    /// The current world in world-file form, every proxy spelled out, certificates relative to the
    /// world's start. Loading it gives the same world (counters restart).
    pub fn world_spec(&self) -> WorldSpec {
        let services = self
            .services
            .iter()
            .map(|s| {
                let mut spec = s.spec.clone();
                spec.replicas = None;
                spec.proxies = s
                    .proxies
                    .iter()
                    .map(|&i| {
                        let p = &self.proxies[i];
                        ProxySpec {
                            name: Some(p.name.clone()),
                            status: p.state,
                            certificate: Some(match p.cert {
                                Cert::Issued { expires, .. } => offset_text(expires - self.epoch),
                                Cert::External => "external".into(),
                                Cert::None => "none".into(),
                            }),
                            labels: p.labels.clone(),
                        }
                    })
                    .collect();
                spec
            })
            .collect();
        WorldSpec {
            control_plane: self.cp.clone(),
            meshes: self.meshes.iter().map(|m| m.spec.clone()).collect(),
            services,
            mesh_traffic_permissions: self
                .meshes
                .iter()
                .flat_map(|m| m.mtps.iter().map(|x| x.0.clone()))
                .collect(),
            traffic_permissions: self
                .meshes
                .iter()
                .flat_map(|m| m.tps.iter().map(|x| x.0.clone()))
                .collect(),
            policies: self.meshes.iter().flat_map(|m| m.policies.iter().cloned()).collect(),
            traffic: self.traffic.iter().map(|t| t.spec.clone()).collect(),
        }
    }
}

/// `-2d 3h`-style text for a signed duration, in whole seconds.
pub fn offset_text(d: Duration) -> String {
    let secs = d.whole_seconds();
    let text = humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs())).to_string();
    let text = if text.is_empty() { "0s".to_string() } else { text };
    if secs < 0 {
        format!("-{text}")
    } else {
        text
    }
}

/// The simulator: state behind a lock, a clock, and the world to reset to.
pub struct Sim {
    clock: Arc<dyn Clock>,
    initial: WorldSpec,
    state: Mutex<State>,
}

impl Sim {
    /// A simulator for `world`, starting now on `clock`.
    pub fn new(world: WorldSpec, clock: Arc<dyn Clock>) -> Result<Sim, WorldError> {
        let state = State::build(&world, clock.elapsed_s(), clock.origin())?;
        Ok(Sim {
            clock,
            initial: world,
            state: Mutex::new(state),
        })
    }

    /// Clock seconds now.
    pub fn now_s(&self) -> f64 {
        self.clock.elapsed_s()
    }

    /// The state, locked (a panic in another handler does not wedge the simulator).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a change at the current time: checkpoint, change, recompute.
    pub fn change<T>(&self, f: impl FnOnce(&mut State, f64) -> Result<T, SimError>) -> Result<T, SimError> {
        let t = self.now_s();
        let mut st = self.lock();
        st.checkpoint(t);
        let out = f(&mut st, t)?;
        st.ensure_clusters();
        st.recompute_rates();
        Ok(out)
    }

    /// Back to the initial world, started now (counters from zero... as freshly seeded).
    pub fn reset(&self) -> Result<(), SimError> {
        let t = self.now_s();
        let fresh = State::build(&self.initial, t, self.clock.origin())?;
        *self.lock() = fresh;
        Ok(())
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        self.lock().fault
    }

    /// Sets the fault (no counters change).
    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }

    /// Whether a service of this name exists in the mesh (for tests and the API).
    pub fn has_service(&self, mesh: &str, name: &str) -> bool {
        self.lock().service_index(mesh, name).is_some()
    }
}
