//! Kuma's JSON shapes, written the way Kuma writes them.
//!
//! Shapes follow `openapi/kuma-v2.14.3-openapi.yaml` (plus the GUI overlay for `mesh-insights`
//! and `service-insights`) and, where the spec and the wire differ, Kuma's own golden responses:
//! protojson writes timestamps as RFC 3339 strings (the spec says `{seconds, nanos}`), 64-bit
//! counters as strings (`"responsesSent": "10"`), omits zero and default values (`offline: 0`, an
//! inbound's `state: Ready`, a delegated gateway's `type`, an unready inbound's `ready: false`,
//! giving `health: {}`), and lists end with `"next": null`. Resources are structs rather than
//! `json!` maps so fields come out in Kuma's order (type, mesh, name, times, labels, kri, ...).

use crate::sim::{Cert, ProxyRt, State};
use crate::spec::{GatewayKind, ProxyState};
use bearing_kuma::model::{DataplaneOverview, ServiceType};
use bearing_kuma::status::{proxy_status, services_from_proxies, ProxyCounts, ProxyStatus};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 in UTC, whole seconds (`2024-03-19T12:04:00Z`).
pub fn ts(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "0001-01-01T00:00:00Z".to_string())
}

/// Labels Kuma puts on resources created in a (non-federated) zone, plus the policy's own.
pub fn policy_labels(mesh: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut labels = extra.clone();
    labels.entry("kuma.io/mesh".into()).or_insert_with(|| mesh.into());
    labels.entry("kuma.io/origin".into()).or_insert_with(|| "zone".into());
    labels
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Kuma's list envelope `{total, items, next}` around already serialised items; `next` is `null`
/// on the last page.
pub fn list_body<S: AsRef<str>>(total: usize, items: &[S], next: Option<&str>) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.as_ref().len() + 1).sum::<usize>() + 64);
    out.push_str("{\"total\":");
    out.push_str(&total.to_string());
    out.push_str(",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_ref());
    }
    out.push_str("],\"next\":");
    out.push_str(&serde_json::to_string(&next).expect("serialisable"));
    out.push('}');
    out
}

/// `GET /`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    hostname: String,
    tagline: String,
    product: String,
    version: String,
    instance_id: String,
    cluster_id: String,
    gui: String,
    based_on_kuma: String,
}

impl Index {
    /// From the control-plane settings.
    pub fn new(st: &State) -> Self {
        Index {
            hostname: st.cp.hostname.clone(),
            tagline: "Kuma".into(),
            product: "Kuma".into(),
            version: st.cp.version.clone(),
            instance_id: st.cp.instance_id.clone(),
            cluster_id: st.cp.cluster_id.clone(),
            gui: "/gui".into(),
            based_on_kuma: st.cp.version.clone(),
        }
    }
}

/// Kuma's error body (`/std-errors`; `details` and `causes` are the legacy copies Kuma still
/// writes). `instance` is the trace id Kuma adds when tracing is on; the spec requires it.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    error_type: &'static str,
    status: u16,
    title: String,
    detail: String,
    instance: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_parameters: Vec<InvalidParameter>,
    details: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<Cause>,
}

#[derive(Debug, Serialize)]
struct InvalidParameter {
    field: String,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Cause {
    field: String,
    message: String,
}

impl ApiError {
    /// A rejected request body: `invalid` lists Kuma's `(field, reason)` violations, written
    /// without `source` (Kuma's PUT goldens, e.g. `put_mtp_00.golden.json`).
    pub fn body(status: u16, title: &str, detail: &str, invalid: &[(String, String)]) -> Self {
        let mut e = ApiError::new(status, title, detail, &[]);
        for (field, reason) in invalid {
            e.invalid_parameters.push(InvalidParameter {
                field: field.clone(),
                reason: reason.clone(),
                source: None,
            });
            e.causes.push(Cause {
                field: field.clone(),
                message: reason.clone(),
            });
        }
        e
    }

    /// An error; `invalid` lists `(field, reason)` (query parameters).
    pub fn new(status: u16, title: &str, detail: &str, invalid: &[(&str, String)]) -> Self {
        ApiError {
            error_type: "/std-errors",
            status,
            title: title.into(),
            detail: detail.into(),
            instance: format!(
                "{:032x}",
                u128::from(crate::sim::hash(&format!("{title}{detail}"))) << 17
            ),
            invalid_parameters: invalid
                .iter()
                .map(|(f, r)| InvalidParameter {
                    field: (*f).into(),
                    reason: r.clone(),
                    source: Some("query"),
                })
                .collect(),
            details: detail.into(),
            causes: invalid
                .iter()
                .map(|(f, r)| Cause {
                    field: (*f).into(),
                    message: r.clone(),
                })
                .collect(),
        }
    }
}

/// Resource metadata, first in every resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(rename = "type")]
    resource_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mesh: Option<String>,
    name: String,
    creation_time: String,
    modification_time: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kri: Option<String>,
}

// ------------------------------------------------------------------------------------------
// Meshes

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshOut {
    #[serde(flatten)]
    meta: Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtls: Option<MtlsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mesh_services: Option<MeshServicesOut>,
    tracing: BTreeMap<String, Value>,
    logging: BTreeMap<String, Value>,
    metrics: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MtlsOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled_backend: Option<String>,
    backends: Vec<BackendOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendOut {
    name: String,
    #[serde(rename = "type")]
    backend_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    dp_cert: DpCertOut,
}

#[derive(Debug, Serialize)]
struct DpCertOut {
    rotation: RotationOut,
}

#[derive(Debug, Serialize)]
struct RotationOut {
    expiration: String,
}

#[derive(Debug, Serialize)]
struct MeshServicesOut {
    mode: String,
}

fn mesh_json(st: &State, index: usize) -> String {
    let m = &st.meshes[index];
    let out = MeshOut {
        meta: Meta {
            resource_type: "Mesh",
            mesh: None,
            name: m.spec.name.clone(),
            creation_time: ts(m.created),
            modification_time: ts(m.created),
            labels: BTreeMap::new(),
            kri: Some(format!("kri_m____{}_", m.spec.name)),
        },
        mtls: m.spec.mtls.as_ref().map(|mtls| MtlsOut {
            enabled_backend: mtls.enabled.then(|| mtls.backend.clone()),
            backends: vec![BackendOut {
                name: mtls.backend.clone(),
                backend_type: mtls.backend_type.clone(),
                mode: mtls.mode.clone(),
                dp_cert: DpCertOut {
                    rotation: RotationOut {
                        expiration: mtls.cert_lifetime.clone(),
                    },
                },
            }],
        }),
        mesh_services: m
            .spec
            .mesh_services
            .as_ref()
            .map(|mode| MeshServicesOut { mode: mode.clone() }),
        tracing: BTreeMap::new(),
        logging: BTreeMap::new(),
        metrics: BTreeMap::new(),
    };
    serde_json::to_string(&out).expect("serialisable")
}

// ------------------------------------------------------------------------------------------
// Dataplanes

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OverviewOut {
    #[serde(flatten)]
    meta: Meta,
    dataplane: DataplaneOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataplane_insight: Option<InsightOut>,
}

#[derive(Debug, Serialize)]
struct DataplaneOut {
    networking: NetworkingOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkingOut {
    address: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inbound: Vec<InboundOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<GatewayOut>,
    admin: AdminOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundOut {
    port: u32,
    service_port: u32,
    tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<HealthOut>,
}

#[derive(Debug, Serialize)]
struct HealthOut {
    #[serde(skip_serializing_if = "is_false")]
    ready: bool,
}

#[derive(Debug, Serialize)]
struct GatewayOut {
    tags: BTreeMap<String, String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    gateway_type: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct AdminOut {
    port: u32,
}

#[derive(Debug, Serialize)]
struct InsightOut {
    subscriptions: Vec<SubscriptionOut>,
    #[serde(rename = "mTLS", skip_serializing_if = "Option::is_none")]
    mtls: Option<InsightMtlsOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionOut {
    id: String,
    control_plane_instance_id: String,
    connect_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnect_time: Option<String>,
    status: SubscriptionStatusOut,
    version: VersionOut,
    #[serde(skip_serializing_if = "is_zero")]
    generation: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionStatusOut {
    last_update_time: String,
    total: XdsOut,
    cds: XdsOut,
    eds: XdsOut,
    lds: XdsOut,
    rds: XdsOut,
}

/// protojson writes these `uint64` counters as strings and leaves out zeros.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct XdsOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    responses_sent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    responses_acknowledged: Option<String>,
}

impl XdsOut {
    fn new(sent: u64) -> Self {
        let text = |n: u64| (n > 0).then(|| n.to_string());
        XdsOut {
            responses_sent: text(sent),
            responses_acknowledged: text(sent),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionOut {
    kuma_dp: KumaDpOut,
    envoy: EnvoyOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KumaDpOut {
    version: String,
    git_tag: String,
    git_commit: String,
    build_date: String,
    kuma_cp_compatible: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvoyOut {
    version: String,
    build: String,
    kuma_dp_compatible: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InsightMtlsOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_expiration_time: Option<String>,
    last_certificate_regeneration: String,
    certificate_regenerations: u32,
    issued_backend: String,
    supported_backends: Vec<String>,
}

fn service_tags(st: &State, p: &ProxyRt) -> BTreeMap<String, String> {
    let s = &st.services[p.service].spec;
    let mut tags = s.tags.clone();
    tags.insert("kuma.io/service".into(), s.name.clone());
    tags.insert("kuma.io/protocol".into(), s.protocol.clone());
    tags
}

/// The `DataplaneOverview` of one proxy.
pub fn overview_json(st: &State, index: usize) -> String {
    let p = &st.proxies[index];
    let service = &st.services[p.service];
    let mesh = st.mesh(&p.mesh).expect("proxy mesh exists");
    let tags = service_tags(st, p);
    let (inbound, gateway) = match service.spec.gateway {
        Some(kind) => (
            Vec::new(),
            Some(GatewayOut {
                tags: BTreeMap::from([("kuma.io/service".to_string(), service.spec.name.clone())]),
                gateway_type: (kind == GatewayKind::Builtin).then_some("BUILTIN"),
            }),
        ),
        None => {
            let mut inbound = vec![InboundOut {
                port: service.spec.port,
                service_port: service.spec.port,
                tags: tags.clone(),
                health: None,
            }];
            if p.state == ProxyState::PartiallyDegraded {
                inbound.push(InboundOut {
                    port: service.spec.port + 1,
                    service_port: service.spec.port + 1,
                    tags,
                    health: Some(HealthOut { ready: false }),
                });
            }
            (inbound, None)
        }
    };
    let version = &st.cp.version;
    let insight = (!p.subscriptions.is_empty()).then(|| InsightOut {
        subscriptions: p
            .subscriptions
            .iter()
            .enumerate()
            .map(|(i, s)| SubscriptionOut {
                id: s.id.clone(),
                control_plane_instance_id: st.cp.instance_id.clone(),
                connect_time: ts(s.connect),
                disconnect_time: s.disconnect.map(ts),
                status: SubscriptionStatusOut {
                    last_update_time: ts(s.disconnect.unwrap_or(s.connect)),
                    total: XdsOut::new(4 + 2 * i as u64),
                    cds: XdsOut::new(1),
                    eds: XdsOut::new(1 + 2 * i as u64),
                    lds: XdsOut::new(1),
                    rds: XdsOut::new(1),
                },
                version: VersionOut {
                    kuma_dp: KumaDpOut {
                        version: version.clone(),
                        git_tag: format!("v{version}"),
                        git_commit: "0c7aaec033b7dad03c3a9f4d5b56eb6d941bfff9".into(),
                        build_date: "2025-06-30T08:12:41Z".into(),
                        kuma_cp_compatible: true,
                    },
                    envoy: EnvoyOut {
                        version: st.cp.envoy_version.clone(),
                        build: format!("9a9a7e2b5d4c/{}/Clean/RELEASE/BoringSSL", st.cp.envoy_version),
                        kuma_dp_compatible: true,
                    },
                },
                generation: 0,
            })
            .collect(),
        mtls: match (mesh.spec.mtls.as_ref().filter(|m| m.enabled), p.cert) {
            (Some(mtls), Cert::Issued { issued, expires }) => Some(InsightMtlsOut {
                certificate_expiration_time: Some(ts(expires)),
                last_certificate_regeneration: ts(issued),
                certificate_regenerations: p.cert_regenerations,
                issued_backend: mtls.backend.clone(),
                supported_backends: vec![mtls.backend.clone()],
            }),
            (Some(mtls), Cert::External) => Some(InsightMtlsOut {
                certificate_expiration_time: None,
                last_certificate_regeneration: ts(p.created),
                certificate_regenerations: p.cert_regenerations,
                issued_backend: mtls.backend.clone(),
                supported_backends: vec![mtls.backend.clone()],
            }),
            _ => None,
        },
    });
    // The world's labels, then Kuma's own, which a Dataplane cannot set otherwise.
    let mut labels = service.spec.labels.clone();
    labels.extend(p.labels.clone());
    labels.insert("kuma.io/mesh".to_string(), p.mesh.clone());
    labels.insert("kuma.io/origin".to_string(), "zone".to_string());
    let out = OverviewOut {
        meta: Meta {
            resource_type: "DataplaneOverview",
            mesh: Some(p.mesh.clone()),
            name: p.name.clone(),
            creation_time: ts(p.created),
            modification_time: ts(p.created),
            labels,
            kri: Some(format!("kri_dp_{}___{}_", p.mesh, p.name)),
        },
        dataplane: DataplaneOut {
            networking: NetworkingOut {
                address: p.address.clone(),
                inbound,
                gateway,
                admin: AdminOut { port: 9901 },
            },
        },
        dataplane_insight: insight,
    };
    serde_json::to_string(&out).expect("serialisable")
}

// ------------------------------------------------------------------------------------------
// Policies

#[derive(Debug, Serialize)]
struct TpOut {
    #[serde(flatten)]
    meta: Meta,
    sources: Vec<crate::spec::SelectorSpec>,
    destinations: Vec<crate::spec::SelectorSpec>,
}

/// A mesh's MeshTrafficPermissions, sorted by name.
pub fn mtps_json(st: &State, mesh: &str) -> Vec<String> {
    resources_json(st, mesh, "MeshTrafficPermission")
}

#[derive(Debug, Serialize)]
struct PolicyOut {
    #[serde(flatten)]
    meta: Meta,
    spec: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Value>,
}

/// The MeshIdentity a mesh's `meshIdentity` setting stands for: Bundled, an autogenerated CA,
/// every dataplane selected, Kuma's default SPIFFE ID templates (Universal path
/// `/workload/{{ .Workload }}`, `meshidentity/api/v1alpha1/helpers.go`).
pub fn world_identity_spec(m: &crate::sim::MeshRt) -> Option<(String, Value)> {
    let id = m.spec.mesh_identity.as_ref()?;
    let trust_domain = id
        .trust_domain
        .clone()
        .unwrap_or_else(|| "{{ .Mesh }}.{{ .Zone }}.mesh.local".to_string());
    let spec = serde_json::json!({
        "selector": {"dataplane": {"matchLabels": {}}},
        "spiffeID": {"trustDomain": trust_domain, "path": "/workload/{{ .Workload }}"},
        "provider": {"type": "Bundled", "bundled": {"meshTrustCreation": "Enabled", "autogenerate": {"enabled": true}}},
    });
    Some((id.name.clone(), spec))
}

/// The status Kuma's reconciler gives the world's MeshIdentity (`meshidentity/status/updater.go`):
/// with MeshServices `Exclusive`, the Bundled provider initialized, its MeshTrust created and
/// `Ready`; otherwise the dependency missing and not ready.
fn identity_status(initialized: bool) -> Value {
    let condition = |t: &str, s: &str, reason: &str, message: &str| serde_json::json!({"type": t, "status": s, "reason": reason, "message": message});
    let conditions = if initialized {
        vec![
            condition(
                "Provider",
                "True",
                "ProviderInitialized",
                "Provider successfully initialized",
            ),
            condition(
                "MeshTrustCreated",
                "True",
                "MeshTrustCreated",
                "MeshTrust has been successfully created",
            ),
            condition("Ready", "True", "Ready", "Successfully initialized"),
        ]
    } else {
        vec![
            condition(
                "DependenciesReady",
                "False",
                "MeshServicesDisabled",
                "MeshIdentity requires MeshServices to be enabled on the mesh. To enable, set `spec.meshServices.mode: Exclusive` on the mesh.",
            ),
            condition("Ready", "False", "Failure", "One of initialization steps failed"),
        ]
    };
    serde_json::json!({ "conditions": conditions })
}

/// A mesh's resources of a writable `kind` (MeshTrafficPermission from the policy list, the others
/// from the generic store plus, for MeshIdentity, the mesh's own), sorted by name, in Kuma's
/// new-style shape: metadata, `kri`, `spec`, and `status: {}` for types that have one.
pub fn resources_json(st: &State, mesh: &str, kind: &str) -> Vec<String> {
    let (Some(m), Some(w)) = (st.mesh(mesh), crate::policies::by_kind(kind)) else {
        return Vec::new();
    };
    let world_identity = world_identity_spec(m).map(|(name, _)| name);
    let mut entries: Vec<(String, BTreeMap<String, String>, Value)> = if kind == "MeshTrafficPermission" {
        m.mtps
            .iter()
            .map(|(e, _)| (e.name.clone(), e.labels.clone(), e.spec.clone()))
            .collect()
    } else {
        m.policies
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| (p.name.clone(), p.labels.clone(), p.spec.clone()))
            .collect()
    };
    if kind == "MeshIdentity" {
        if let Some((name, spec)) = world_identity_spec(m) {
            if !entries.iter().any(|e| e.0 == name) {
                entries.push((name, BTreeMap::new(), spec));
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let default_time = m.created + time::Duration::days(1);
    entries
        .into_iter()
        .map(|(name, labels, spec)| {
            let labels = policy_labels(mesh, &labels);
            let (created, modified) = m
                .stamps
                .get(&(kind.to_string(), name.clone()))
                .copied()
                .unwrap_or((default_time, default_time));
            let kri = w.kri(mesh, labels.get("kuma.io/zone").map(String::as_str), &name);
            let status = if kind == "MeshIdentity" && world_identity.as_deref() == Some(name.as_str()) {
                Some(identity_status(m.identity_initialized()))
            } else {
                w.has_status.then(|| serde_json::json!({}))
            };
            serde_json::to_string(&PolicyOut {
                meta: Meta {
                    resource_type: w.kind,
                    mesh: Some(mesh.into()),
                    name,
                    creation_time: ts(created),
                    modification_time: ts(modified),
                    labels,
                    kri: Some(kri),
                },
                spec,
                status,
            })
            .expect("serialisable")
        })
        .collect()
}

/// A mesh's legacy TrafficPermissions, sorted by name.
pub fn tps_json(st: &State, mesh: &str) -> Vec<String> {
    let Some(m) = st.mesh(mesh) else {
        return Vec::new();
    };
    m.tps
        .iter()
        .map(|(entry, model)| {
            let created = model.meta.creation_time.unwrap_or(m.created);
            serde_json::to_string(&TpOut {
                meta: Meta {
                    resource_type: "TrafficPermission",
                    mesh: Some(mesh.into()),
                    name: entry.name.clone(),
                    creation_time: ts(created),
                    modification_time: ts(created),
                    labels: BTreeMap::new(),
                    kri: None,
                },
                sources: entry.sources.clone(),
                destinations: entry.destinations.clone(),
            })
            .expect("serialisable")
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Insights

/// MeshInsight/ServiceInsight dataplane counters; zeros left out.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatOut {
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
    #[serde(skip_serializing_if = "is_zero")]
    online: u64,
    #[serde(skip_serializing_if = "is_zero")]
    offline: u64,
    #[serde(skip_serializing_if = "is_zero")]
    partially_degraded: u64,
}

impl From<ProxyCounts> for StatOut {
    fn from(c: ProxyCounts) -> Self {
        StatOut {
            total: c.total,
            online: c.online,
            offline: c.offline,
            partially_degraded: c.partially_degraded,
        }
    }
}

#[derive(Debug, Serialize)]
struct TotalOut {
    total: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshInsightOut {
    #[serde(rename = "type")]
    resource_type: &'static str,
    name: String,
    creation_time: String,
    modification_time: String,
    last_sync: String,
    dataplanes: StatOut,
    dataplanes_by_type: BTreeMap<&'static str, StatOut>,
    policies: BTreeMap<&'static str, TotalOut>,
    resources: BTreeMap<&'static str, TotalOut>,
    dp_versions: DpVersionsOut,
    #[serde(rename = "mTLS")]
    mtls: MeshInsightMtlsOut,
    services: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DpVersionsOut {
    kuma_dp: BTreeMap<String, StatOut>,
    envoy: BTreeMap<String, StatOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshInsightMtlsOut {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    issued_backends: BTreeMap<String, StatOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    supported_backends: BTreeMap<String, StatOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceInsightOut {
    #[serde(rename = "type")]
    resource_type: &'static str,
    mesh: String,
    name: String,
    creation_time: String,
    modification_time: String,
    status: String,
    dataplanes: StatOut,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    issued_backends: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_port: Option<String>,
}

// ------------------------------------------------------------------------------------------
// MeshServices

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshServiceOut {
    #[serde(flatten)]
    meta: Meta,
    snis: Vec<SniOut>,
    spec: MeshServiceSpecOut,
    status: MeshServiceStatusOut,
}

#[derive(Debug, Serialize)]
struct SniOut {
    port: u32,
    sni: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshServiceSpecOut {
    selector: Value,
    ports: Vec<Value>,
    state: &'static str,
    /// The SPIFFE IDs of the service's workloads, in a MeshIdentity mesh (Kuma 2.12+).
    #[serde(skip_serializing_if = "Option::is_none")]
    identities: Option<Vec<Value>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MeshServiceStatusOut {
    addresses: Vec<Value>,
    vips: Vec<Value>,
    tls: Value,
    dataplane_proxies: ProxiesOut,
}

#[derive(Debug, Serialize)]
struct ProxiesOut {
    #[serde(skip_serializing_if = "is_zero")]
    connected: u64,
    #[serde(skip_serializing_if = "is_zero")]
    healthy: u64,
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
}

/// Everything list endpoints serve, rendered once per change of the world.
#[derive(Debug, Default)]
pub struct Views {
    /// `DataplaneOverview` JSON per proxy, in proxy order ((mesh, name)).
    pub overviews: Vec<String>,
    /// The same, parsed with `bearing_kuma` (what a poller sees).
    pub models: Vec<DataplaneOverview>,
    /// Proxy statuses as Kuma computes them.
    pub statuses: Vec<ProxyStatus>,
    /// `GET /meshes` items.
    pub meshes: Vec<String>,
    /// `GET /mesh-insights` items.
    pub mesh_insights: Vec<String>,
    /// `GET /meshes/{mesh}/service-insights` items per mesh.
    pub service_insights: BTreeMap<String, Vec<String>>,
    /// `GET /meshes/{mesh}/meshservices` items per mesh.
    pub mesh_services: BTreeMap<String, Vec<String>>,
    /// Range of each mesh's proxies in `overviews`.
    pub mesh_ranges: BTreeMap<String, std::ops::Range<usize>>,
}

impl Views {
    /// Renders everything from the state.
    pub fn build(st: &State) -> Views {
        let overviews: Vec<String> = (0..st.proxies.len()).map(|i| overview_json(st, i)).collect();
        let models: Vec<DataplaneOverview> = overviews
            .iter()
            .map(|v| serde_json::from_str(v).expect("the simulator's overviews parse with bearing-kuma"))
            .collect();
        let statuses: Vec<ProxyStatus> = models.iter().map(proxy_status).collect();
        let mut mesh_ranges = BTreeMap::new();
        for (i, p) in st.proxies.iter().enumerate() {
            let r = mesh_ranges.entry(p.mesh.clone()).or_insert(i..i);
            r.end = i + 1;
        }
        let mut views = Views {
            meshes: (0..st.meshes.len()).map(|i| mesh_json(st, i)).collect(),
            overviews,
            models,
            statuses,
            mesh_ranges,
            ..Views::default()
        };
        for m in &st.meshes {
            let name = m.spec.name.clone();
            let range = views.mesh_ranges.get(&name).cloned().unwrap_or(0..0);
            views
                .mesh_services
                .insert(name.clone(), views.mesh_services_of(st, &name));
            views
                .service_insights
                .insert(name.clone(), views.service_insights_of(st, &name, range.clone()));
            views.mesh_insights.push(views.mesh_insight(st, &name, range));
        }
        views
    }

    fn mesh_insight(&self, st: &State, mesh: &str, range: std::ops::Range<usize>) -> String {
        let m = st.mesh(mesh).expect("mesh exists");
        let mut all = ProxyCounts::default();
        let mut by_type: BTreeMap<&'static str, ProxyCounts> =
            ["standard", "gateway", "gatewayBuiltin", "gatewayDelegated"]
                .into_iter()
                .map(|k| (k, ProxyCounts::default()))
                .collect();
        let mut issued: BTreeMap<String, ProxyCounts> = BTreeMap::new();
        for i in range.clone() {
            let status = self.statuses[i];
            all.add(status);
            let kind = st.services[st.proxies[i].service].spec.gateway;
            match kind {
                None => by_type.entry("standard").or_default().add(status),
                Some(k) => {
                    by_type.entry("gateway").or_default().add(status);
                    let key = if k == GatewayKind::Builtin {
                        "gatewayBuiltin"
                    } else {
                        "gatewayDelegated"
                    };
                    by_type.entry(key).or_default().add(status);
                }
            }
            let backend = self.models[i]
                .dataplane_insight
                .as_ref()
                .and_then(|x| x.mtls.as_ref())
                .and_then(|x| x.issued_backend.clone());
            if let Some(backend) = backend {
                issued.entry(backend).or_default().add(status);
            }
        }
        // Kuma's resyncer counts every proxy under its last subscription's versions ("unknown"
        // when it never connected) and sets those totals to online + offline, leaving partially
        // degraded proxies out of `total` (`updateTotal` in pkg/insights/resyncer.go).
        let mut versions: BTreeMap<String, ProxyCounts> = BTreeMap::new();
        let mut envoys: BTreeMap<String, ProxyCounts> = BTreeMap::new();
        for i in range.clone() {
            let connected_ever = !st.proxies[i].subscriptions.is_empty();
            let (dp, envoy) = if connected_ever {
                (st.cp.version.clone(), st.cp.envoy_version.clone())
            } else {
                ("unknown".to_string(), "unknown".to_string())
            };
            versions.entry(dp).or_default().add(self.statuses[i]);
            envoys.entry(envoy).or_default().add(self.statuses[i]);
        }
        for counts in versions.values_mut().chain(envoys.values_mut()) {
            counts.total = counts.online + counts.offline;
        }
        // `resources` counts every non-insight type with items; `policies` repeats the policies
        // (backwards compatibility), as the resyncer writes them.
        let mut policies = BTreeMap::new();
        let mut resources = BTreeMap::new();
        if !m.mtps.is_empty() {
            policies.insert(
                "MeshTrafficPermission",
                TotalOut {
                    total: m.mtps.len() as u64,
                },
            );
            resources.insert(
                "MeshTrafficPermission",
                TotalOut {
                    total: m.mtps.len() as u64,
                },
            );
        }
        if !m.tps.is_empty() {
            policies.insert(
                "TrafficPermission",
                TotalOut {
                    total: m.tps.len() as u64,
                },
            );
            resources.insert(
                "TrafficPermission",
                TotalOut {
                    total: m.tps.len() as u64,
                },
            );
        }
        for w in &crate::policies::WRITABLE {
            if w.kind == "MeshTrafficPermission" {
                continue;
            }
            let n = m.policies.iter().filter(|p| p.kind == w.kind).count() as u64
                + u64::from(w.kind == "MeshIdentity" && m.spec.mesh_identity.is_some());
            if n > 0 {
                if w.policy.is_some() {
                    policies.insert(w.kind, TotalOut { total: n });
                }
                resources.insert(w.kind, TotalOut { total: n });
            }
        }
        if !range.is_empty() {
            resources.insert(
                "Dataplane",
                TotalOut {
                    total: range.len() as u64,
                },
            );
        }
        let mesh_services = self.mesh_services.get(mesh).map_or(0, Vec::len) as u64;
        if mesh_services > 0 {
            resources.insert("MeshService", TotalOut { total: mesh_services });
        }
        let services_in_mesh = st
            .services
            .iter()
            .filter(|s| s.spec.mesh == mesh && !s.proxies.is_empty())
            .count() as u64;
        let stat = |counts: BTreeMap<String, ProxyCounts>| counts.into_iter().map(|(k, v)| (k, v.into())).collect();
        let out = MeshInsightOut {
            resource_type: "MeshInsight",
            name: mesh.into(),
            creation_time: ts(m.created),
            modification_time: ts(st.epoch),
            last_sync: ts(st.epoch),
            dataplanes: all.into(),
            dataplanes_by_type: by_type.into_iter().map(|(k, v)| (k, v.into())).collect(),
            policies,
            resources,
            dp_versions: DpVersionsOut {
                kuma_dp: stat(versions),
                envoy: stat(envoys),
            },
            mtls: MeshInsightMtlsOut {
                supported_backends: stat(issued.clone()),
                issued_backends: stat(issued),
            },
            services: BTreeMap::from([("total", services_in_mesh), ("internal", services_in_mesh)]),
        };
        serde_json::to_string(&out).expect("serialisable")
    }

    fn service_insights_of(&self, st: &State, mesh: &str, range: std::ops::Range<usize>) -> Vec<String> {
        let rollups = services_from_proxies(&self.models[range.clone()]);
        let mut issued: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
        for i in range {
            let model = &self.models[i];
            let backend = model
                .dataplane_insight
                .as_ref()
                .and_then(|x| x.mtls.as_ref())
                .and_then(|x| x.issued_backend.clone());
            if let Some(backend) = backend {
                // One count per inbound (or for the gateway), like the insight resyncer.
                let service = st.services[st.proxies[i].service].spec.name.as_str();
                let times = model.dataplane.networking.inbound.len().max(1) as u64;
                *issued.entry(service).or_default().entry(backend).or_default() += times;
            }
        }
        let created = st.mesh(mesh).map_or(st.epoch, |m| m.created);
        rollups
            .into_iter()
            .map(|(name, rollup)| {
                let internal = rollup.service_type == ServiceType::Internal;
                let out = ServiceInsightOut {
                    resource_type: "ServiceInsight",
                    mesh: mesh.into(),
                    address_port: internal.then(|| format!("{name}.mesh:80")),
                    issued_backends: issued.get(name.as_str()).cloned().unwrap_or_default(),
                    service_type: (!internal).then(|| rollup.service_type.as_str().to_string()),
                    name,
                    creation_time: ts(created),
                    modification_time: ts(st.epoch),
                    status: rollup.status.as_str().to_string(),
                    dataplanes: StatOut {
                        total: rollup.proxies.total,
                        online: rollup.proxies.online,
                        offline: rollup.proxies.kuma_offline(),
                        partially_degraded: 0,
                    },
                };
                serde_json::to_string(&out).expect("serialisable")
            })
            .collect()
    }

    fn mesh_services_of(&self, st: &State, mesh: &str) -> Vec<String> {
        let Some(m) = st.mesh(mesh) else {
            return Vec::new();
        };
        if m.spec.mesh_services.as_deref().unwrap_or("Disabled") == "Disabled" {
            return Vec::new();
        }
        let mtls = m.mtls_enabled();
        st.services
            .iter()
            .filter(|s| s.spec.mesh == mesh && s.spec.gateway.is_none())
            .map(|s| {
                let connected = s.proxies.iter().filter(|&&i| st.proxies[i].state.connected()).count() as u64;
                let healthy = s
                    .proxies
                    .iter()
                    .filter(|&&i| st.proxies[i].state == ProxyState::Online)
                    .count() as u64;
                let certified = s
                    .proxies
                    .iter()
                    .all(|&i| matches!(st.proxies[i].cert, Cert::Issued { .. } | Cert::External));
                let name = &s.spec.name;
                let port = s.spec.port;
                let out = MeshServiceOut {
                    meta: Meta {
                        resource_type: "MeshService",
                        mesh: Some(mesh.into()),
                        name: name.clone(),
                        creation_time: ts(m.created + time::Duration::days(2)),
                        modification_time: ts(st.epoch),
                        labels: policy_labels(mesh, &BTreeMap::new()),
                        kri: Some(format!("kri_msvc_{mesh}___{name}_")),
                    },
                    snis: vec![SniOut {
                        port,
                        sni: format!("sni.msvc.{mesh}.{name}.{port}"),
                    }],
                    spec: MeshServiceSpecOut {
                        selector: serde_json::json!({"dataplaneTags": {"kuma.io/service": name}}),
                        ports: vec![
                            serde_json::json!({"port": port, "targetPort": port, "appProtocol": s.spec.protocol}),
                        ],
                        state: if healthy > 0 { "Available" } else { "Unavailable" },
                        identities: m
                            .spiffe_id(&st.cp.zone, name)
                            .map(|id| vec![serde_json::json!({"type": "SpiffeID", "value": id})]),
                    },
                    status: MeshServiceStatusOut {
                        addresses: vec![serde_json::json!({
                            "hostname": format!("{name}.svc.mesh.local"),
                            "origin": "HostnameGenerator",
                            "hostnameGeneratorRef": {"coreName": "local-mesh-service"}
                        })],
                        vips: vec![serde_json::json!({"ip": s.vip})],
                        tls: if mtls && certified {
                            serde_json::json!({"status": "Ready"})
                        } else if mtls {
                            serde_json::json!({"status": "NotReady"})
                        } else {
                            serde_json::json!({})
                        },
                        dataplane_proxies: ProxiesOut {
                            connected,
                            healthy,
                            total: s.proxies.len() as u64,
                        },
                    },
                };
                serde_json::to_string(&out).expect("serialisable")
            })
            .collect()
    }
}
