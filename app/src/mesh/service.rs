//! Mesh reads for pages and the API: the stored state turned into what users see, with
//! staleness judged against the configured poll interval and callers evaluated by Kuma's rules
//! (`bearing_kuma::permissions`) from the stored policies. Every read checks that its caller
//! may read the catalog.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bearing_kuma::model::{GatewayType, MeshService};
use bearing_kuma::permissions::{self, MeshPolicies, Reason, Workload};
use time::OffsetDateTime;

use super::repo::{self, StoredService};
use super::*;
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::{MeshSettings, ServerCtx};
use crate::wire::rfc3339;

/// Whether data last polled at `last_success` is stale at `now`: older than 3 poll intervals.
pub fn is_stale(last_success: Option<OffsetDateTime>, now: OffsetDateTime, poll_interval: Duration) -> bool {
    match last_success {
        None => true,
        Some(at) => now - at > time::Duration::try_from(poll_interval * 3).unwrap_or(time::Duration::MAX),
    }
}

/// The oldest traffic sample that still counts as the current rate at `now`: 3 stats intervals
/// back. Stats are only read after a successful poll, so a poll interval longer than the stats
/// interval sets the pace instead. Without the cutoff, a service whose proxies all went offline
/// (or whose stats fail) would show its last rate forever.
pub fn traffic_cutoff(now: OffsetDateTime, settings: &MeshSettings) -> OffsetDateTime {
    let period = settings.stats_interval.max(settings.poll_interval) * 3;
    now - time::Duration::try_from(period).unwrap_or(time::Duration::MAX)
}

fn freshness(last_success: Option<OffsetDateTime>, now: OffsetDateTime, settings: &MeshSettings) -> Freshness {
    Freshness {
        last_success_at: last_success.map(rfc3339),
        age_s: last_success.map(|t| (now - t).whole_seconds().max(0)),
        stale: is_stale(last_success, now, settings.poll_interval),
    }
}

fn summary(s: &StoredService, now: OffsetDateTime, settings: &MeshSettings) -> ServiceSummary {
    ServiceSummary {
        control_plane: s.control_plane.clone(),
        mesh: s.mesh.clone(),
        service: s.service.clone(),
        status: s.status.clone(),
        proxies: ProxyCounts {
            total: s.total,
            online: s.online,
            offline: s.offline,
            partially_degraded: s.partially_degraded,
        },
        mtls: MtlsSummary {
            enabled: s.mtls_enabled,
            backend: s.mtls_backend.clone(),
            earliest_expiry: s.earliest_expiry.map(rfc3339),
        },
        component: s.component.clone(),
        requests_per_s: s.requests_per_s,
        errors_per_s: s.errors_per_s,
        stale: is_stale(s.last_success_at, now, settings.poll_interval),
        observed_at: rfc3339(s.observed_at),
    }
}

/// Every Kuma service seen, for `GET /api/v1/mesh/services`.
pub async fn list_services(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<ServiceSummary>, AppError> {
    caller.require_reader(ctx)?;
    let now = OffsetDateTime::now_utc();
    Ok(repo::list_services(&ctx.pool, traffic_cutoff(now, &ctx.mesh))
        .await?
        .iter()
        .map(|s| summary(s, now, &ctx.mesh))
        .collect())
}

/// Every control plane's poll record without its meshes, for `GET /api/v1/mesh/status`.
pub async fn control_planes(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<ControlPlaneOverview>, AppError> {
    caller.require_reader(ctx)?;
    let now = OffsetDateTime::now_utc();
    Ok(repo::list_control_planes(&ctx.pool)
        .await?
        .into_iter()
        .map(|c| ControlPlaneOverview {
            freshness: freshness(c.last_success_at, now, &ctx.mesh),
            name: c.name,
            last_error: c.last_error,
            last_error_at: c.last_error_at.map(rfc3339),
            meshes: Vec::new(),
        })
        .collect())
}

/// The mesh card of the component `kind:namespace/name`.
pub async fn component_card(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<MeshCard, AppError> {
    caller.require_reader(ctx)?;
    let entity_ref = crate::catalog::service::ref_key(kind, namespace, name)?;
    let Some((kuma_service, kuma_mesh, polling)) = repo::component_mapping(&ctx.pool, &entity_ref).await? else {
        return Err(AppError::NotFound(format!("component {entity_ref}")));
    };
    let now = OffsetDateTime::now_utc();
    let mut services = Vec::new();
    let since = traffic_cutoff(now, &ctx.mesh);
    for s in repo::services_named(&ctx.pool, since, &kuma_service, kuma_mesh.as_deref()).await? {
        services.push(service_card(ctx, &s, now).await?);
    }
    Ok(MeshCard {
        entity_ref,
        kuma_service,
        kuma_mesh,
        services,
        polling,
    })
}

async fn service_card(ctx: &ServerCtx, s: &StoredService, now: OffsetDateTime) -> Result<ServiceCard, AppError> {
    let key = (s.control_plane.as_str(), s.mesh.as_str(), s.service.as_str());
    let proxies = repo::proxies_of(&ctx.pool, key.0, key.1, key.2).await?;
    let history_since = now - time::Duration::try_from(ctx.mesh.history).unwrap_or(time::Duration::HOUR);
    // About 60 points, whatever the window.
    let bucket_s = (ctx.mesh.history.as_secs() as i64 / 60).max(60);
    let history = repo::traffic_history(&ctx.pool, key, history_since, bucket_s)
        .await?
        .into_iter()
        .map(|(at, rps, eps)| TrafficPoint {
            at: rfc3339(at),
            requests_per_s: rps,
            errors_per_s: eps,
        })
        .collect();
    Ok(ServiceCard {
        summary: summary(s, now, &ctx.mesh),
        mtls_mode: s.mtls_mode.clone(),
        mtls_type: s.mtls_type.clone(),
        proxies: proxies
            .into_iter()
            .map(|p| ProxyView {
                name: p.name,
                status: p.status,
                gateway: p.gateway.map(|g| g.to_ascii_lowercase()),
                cert_state: p.cert_state,
                cert_expires_at: p.cert_expires_at.map(rfc3339),
            })
            .collect(),
        callers: callers(ctx, s).await?,
        p99_ms: s.p99_ms,
        history,
        freshness: freshness(s.last_success_at, now, &ctx.mesh),
    })
}

/// Parses stored resources, skipping (and logging) any that no longer parse: a resource Bearing
/// cannot read must not take the whole card down.
pub(crate) fn parse_all<T: serde::de::DeserializeOwned>(bodies: Vec<serde_json::Value>, what: &str) -> Vec<T> {
    bodies
        .into_iter()
        .filter_map(|b| match serde_json::from_value(b) {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::warn!(error = %err, what, "stored Kuma resource does not parse; skipped");
                None
            }
        })
        .collect()
}

/// Every service of the target's mesh as a caller, judged by the mesh's permissions.
async fn callers(ctx: &ServerCtx, s: &StoredService) -> Result<CallersView, AppError> {
    let (cp, mesh) = (s.control_plane.as_str(), s.mesh.as_str());
    let set = super::state::policy_set(
        ctx,
        super::state::MeshRef {
            control_plane: cp,
            mesh,
            mtls_enabled: s.mtls_enabled,
            identity: s.identity.as_deref(),
            policy_version: &s.policy_version,
        },
    )
    .await?;
    Ok(evaluate_callers(
        &MeshPolicies {
            mesh,
            mtls_enabled: s.mtls_enabled,
            mesh_traffic_permissions: &set.mesh_traffic_permissions,
            traffic_permissions: &set.traffic_permissions,
        },
        &set.workloads,
        &set.mesh_services,
        &set.services,
        &s.service,
    ))
}

/// A mesh's MeshServices found by the `kuma.io/service` they stand for: the MeshService of that
/// name, or the first (by name) whose selector picks that service tag. One lookup per service
/// instead of a scan of every MeshService, which on a 3,000-service mesh made each page judge
/// 9 million candidates.
#[derive(Debug, Default)]
pub struct MeshServiceIndex {
    list: Vec<MeshService>,
    by_service: HashMap<String, usize>,
}

impl MeshServiceIndex {
    /// Indexes `list`, in the order given (the first match wins, as in a scan).
    pub fn new(list: Vec<MeshService>) -> Self {
        let mut by_service = HashMap::new();
        for (i, ms) in list.iter().enumerate() {
            by_service.entry(ms.meta.name.clone()).or_insert(i);
            let selected = ms
                .spec
                .selector
                .as_ref()
                .and_then(|sel| sel.get("dataplaneTags"))
                .and_then(|tags| tags.get("kuma.io/service"))
                .and_then(|v| v.as_str());
            if let Some(service) = selected {
                by_service.entry(service.to_owned()).or_insert(i);
            }
        }
        MeshServiceIndex { list, by_service }
    }

    /// The MeshService standing for `service`, if any.
    pub fn find(&self, service: &str) -> Option<&MeshService> {
        self.by_service.get(service).and_then(|&i| self.list.get(i))
    }
}

/// A service as a workload: its tags, its gateway kind, and the SPIFFE identity and SNIs its
/// MeshService declares (when the control plane has MeshServices).
pub(crate) fn workload(service: &str, gateway: Option<&str>, mesh_services: &MeshServiceIndex) -> Workload {
    let mut w = Workload::service(service);
    if let Some(kind) = gateway.and_then(|g| serde_json::from_value::<GatewayType>(serde_json::json!(g)).ok()) {
        w = w.as_gateway(kind);
    }
    if let Some(ms) = mesh_services.find(service) {
        w.snis = ms.snis.iter().map(|s| s.sni.clone()).collect();
        if let Some(id) = ms.spec.identities.iter().find_map(|i| {
            (i.get("type")?.as_str()? == "SpiffeID").then(|| i.get("value")?.as_str().map(str::to_owned))?
        }) {
            w = w.with_spiffe_id(id);
        }
    }
    w
}

/// Every service of a mesh as a [`Workload`], by name. Built once per policy set
/// ([`super::state::MeshPolicySet`]): judging one page's callers and edges needs all of them,
/// and building 3,000 of them for each section of each page was a third of its CPU.
#[derive(Debug, Default)]
pub struct Workloads(HashMap<String, Workload>);

impl Workloads {
    /// The workloads of `services` (service, component, gateway).
    pub fn new(services: &[(String, Option<String>, Option<String>)], mesh_services: &MeshServiceIndex) -> Self {
        Workloads(
            services
                .iter()
                .map(|(s, _, g)| (s.clone(), workload(s, g.as_deref(), mesh_services)))
                .collect(),
        )
    }

    /// The workload of `service`.
    pub fn get(&self, service: &str) -> Option<&Workload> {
        self.0.get(service)
    }

    /// The workload of `service`, with the name as stored.
    pub fn get_key_value(&self, service: &str) -> Option<(&str, &Workload)> {
        self.0.get_key_value(service).map(|(k, w)| (k.as_str(), w))
    }

    /// The workload of `service`; built from `mesh_services` (as no gateway) when the set does
    /// not list it.
    pub fn of(&self, service: &str, mesh_services: &MeshServiceIndex) -> Workload {
        self.get(service)
            .cloned()
            .unwrap_or_else(|| workload(service, None, mesh_services))
    }

    /// Every service and its workload, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Workload)> {
        self.0.iter().map(|(k, w)| (k.as_str(), w))
    }
}

/// Splits `names` (service, component, gateway) into allowed and denied callers of `target`.
pub fn evaluate_callers(
    policies: &MeshPolicies<'_>,
    workloads: &Workloads,
    mesh_services: &MeshServiceIndex,
    names: &[(String, Option<String>, Option<String>)],
    target: &str,
) -> CallersView {
    let target_w = workloads.of(target, mesh_services);
    let components: BTreeMap<&str, Option<String>> = names.iter().map(|(n, c, _)| (n.as_str(), c.clone())).collect();
    let known = names
        .iter()
        .filter(|(n, _, _)| n != target)
        .filter_map(|(n, _, _)| workloads.get(n));
    let result = permissions::callers(policies, &target_w, known);
    let view = |list: Vec<permissions::CallerAccess>| {
        list.into_iter()
            .map(|c| CallerView {
                component: components.get(c.service.as_str()).cloned().flatten(),
                decision: c.access.decision.as_str().to_owned(),
                reason: reason_text(&c.access.reason),
                service: c.service,
            })
            .collect::<Vec<_>>()
    };
    let note = if !policies.mtls_enabled {
        Some("mTLS is off in this mesh, so Kuma does not restrict who may call it.".to_owned())
    } else if target_w.gateway.is_some() {
        Some("Gateways get no traffic-permission checks in Kuma.".to_owned())
    } else {
        None
    };
    CallersView {
        enforced: note.is_none(),
        note,
        allowed_total: result.allowed.len(),
        denied_total: result.denied.len(),
        allowed: view(result.allowed),
        denied: view(result.denied),
    }
}

/// A reason in words, naming the deciding policy.
pub fn reason_text(reason: &Reason) -> String {
    match reason {
        Reason::MtlsDisabled => "mTLS off: not enforced".into(),
        Reason::GatewayNotEnforced => "gateway: not enforced".into(),
        Reason::FromEntry { policy, index } => format!("{policy}, from[{index}]"),
        Reason::RuleDeny { policy, rule } => format!("{policy}, rules[{rule}] deny"),
        Reason::RuleAllow { policy, rule } => format!("{policy}, rules[{rule}] allow"),
        Reason::NoMatchingEntry { policies } => format!("no entry admits it in {}", policies.join(", ")),
        Reason::LegacyPermission { policy } => format!("TrafficPermission {policy}"),
        Reason::LegacyNotInSources { policy } => format!("not a source of TrafficPermission {policy}"),
        Reason::NoPolicy => "no policy selects this service (deny all)".into(),
    }
}

/// Statuses from worst to best, for rollups and ordering.
const STATUS_ORDER: [&str; 4] = ["offline", "partially_degraded", "not_available", "online"];

fn status_rank(status: &str) -> usize {
    STATUS_ORDER
        .iter()
        .position(|s| *s == status)
        .unwrap_or(STATUS_ORDER.len())
}

/// The mesh overview page.
pub async fn overview(ctx: &ServerCtx, caller: &Caller) -> Result<MeshOverview, AppError> {
    caller.require_reader(ctx)?;
    let since = traffic_cutoff(OffsetDateTime::now_utc(), &ctx.mesh);
    let services = repo::list_services(&ctx.pool, since).await?;
    let meshes = repo::list_meshes(&ctx.pool).await?;
    let mut control_planes = control_planes(ctx, caller).await?;
    for cp in &mut control_planes {
        let expiring = repo::expiring_certificates(&ctx.pool, &cp.name, 200).await?;
        let all_proxies = repo::list_proxies(&ctx.pool, &cp.name).await?;
        for m in meshes.iter().filter(|m| m.control_plane == cp.name) {
            let own: Vec<&StoredService> = services
                .iter()
                .filter(|s| s.control_plane == cp.name && s.mesh == m.mesh)
                .collect();
            let mut by_status: BTreeMap<usize, (String, i64)> = BTreeMap::new();
            let mut proxies = ProxyCounts::default();
            for s in &own {
                by_status
                    .entry(status_rank(&s.status))
                    .or_insert((s.status.clone(), 0))
                    .1 += 1;
            }
            for p in all_proxies.iter().filter(|p| p.mesh == m.mesh) {
                proxies.total += 1;
                match p.status.as_str() {
                    "online" => proxies.online += 1,
                    "offline" => proxies.offline += 1,
                    _ => proxies.partially_degraded += 1,
                }
            }
            let policy_counts = m
                .policy_counts
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
                        .filter(|(_, n)| *n > 0)
                        .collect()
                })
                .unwrap_or_default();
            cp.meshes.push(MeshOverviewRow {
                mesh: m.mesh.clone(),
                mtls_enabled: m.mtls_enabled,
                mtls_backend: m.mtls_backend.clone(),
                mtls_type: m.mtls_type.clone(),
                mtls_mode: m.mtls_mode.clone(),
                proxies,
                services_by_status: by_status.into_values().collect(),
                expiring: expiring
                    .iter()
                    .filter(|p| p.mesh == m.mesh)
                    .take(5)
                    .filter_map(|p| {
                        Some(ExpiringCert {
                            proxy: p.name.clone(),
                            service: p.services.first().cloned(),
                            cert_state: p.cert_state.clone(),
                            expires_at: rfc3339(p.cert_expires_at?),
                        })
                    })
                    .collect(),
                policy_counts,
                unmapped: own
                    .iter()
                    .filter(|s| s.component.is_none())
                    .map(|s| s.service.clone())
                    .collect(),
            });
        }
    }
    Ok(MeshOverview { control_planes })
}

/// The oldest last successful read behind `services`: the age a row made of them shows. None
/// when there are none, or one was never read (the row is stale without an age).
fn oldest_read(services: &[&StoredService]) -> Option<OffsetDateTime> {
    let reads: Option<Vec<OffsetDateTime>> = services.iter().map(|s| s.last_success_at).collect();
    reads?.into_iter().min()
}

/// Mesh health of the components a team owns, worst first.
pub async fn team(ctx: &ServerCtx, caller: &Caller, namespace: &str, name: &str) -> Result<Vec<TeamMeshRow>, AppError> {
    caller.require_reader(ctx)?;
    let owner = crate::catalog::service::ref_key("group", namespace, name)?;
    let now = OffsetDateTime::now_utc();
    let services = repo::services_of_owner(&ctx.pool, traffic_cutoff(now, &ctx.mesh), &owner).await?;
    let mut rows: Vec<TeamMeshRow> = Vec::new();
    for component in repo::components_of_owner(&ctx.pool, &owner).await? {
        let mine: Vec<&StoredService> = services
            .iter()
            .filter(|s| s.component.as_deref() == Some(component.as_str()))
            .collect();
        let mut row = TeamMeshRow {
            entity_ref: component,
            status: mine
                .iter()
                .map(|s| s.status.as_str())
                .min_by_key(|s| status_rank(s))
                .map(str::to_owned),
            proxies: ProxyCounts::default(),
            mtls_enabled: !mine.is_empty() && mine.iter().all(|s| s.mtls_enabled),
            earliest_expiry: mine.iter().filter_map(|s| s.earliest_expiry).min().map(rfc3339),
            requests_per_s: None,
            errors_per_s: None,
            stale: mine
                .iter()
                .any(|s| is_stale(s.last_success_at, now, ctx.mesh.poll_interval)),
            age_s: oldest_read(&mine).map(|t| (now - t).whole_seconds().max(0)),
        };
        for s in &mine {
            row.proxies.total += s.total;
            row.proxies.online += s.online;
            row.proxies.offline += s.offline;
            row.proxies.partially_degraded += s.partially_degraded;
            if let Some(r) = s.requests_per_s {
                *row.requests_per_s.get_or_insert(0.0) += r;
            }
            if let Some(e) = s.errors_per_s {
                *row.errors_per_s.get_or_insert(0.0) += e;
            }
        }
        rows.push(row);
    }
    // Components in the mesh first, worst status first; then those not in the mesh.
    rows.sort_by_key(|r| (r.status.is_none(), r.status.as_deref().map(status_rank)));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_kuma::model::MeshTrafficPermission;

    #[test]
    fn stale_after_three_intervals() {
        let now = OffsetDateTime::now_utc();
        let i = Duration::from_secs(10);
        assert!(is_stale(None, now, i));
        assert!(!is_stale(Some(now - time::Duration::seconds(29)), now, i));
        assert!(is_stale(Some(now - time::Duration::seconds(31)), now, i));
    }

    #[test]
    fn traffic_counts_for_three_stats_intervals_or_polls() {
        let now = OffsetDateTime::now_utc();
        let settings = MeshSettings {
            poll_interval: Duration::from_secs(15),
            stats_interval: Duration::from_secs(60),
            ..MeshSettings::default()
        };
        assert_eq!(now - traffic_cutoff(now, &settings), time::Duration::seconds(180));
        let slow_polls = MeshSettings {
            poll_interval: Duration::from_secs(120),
            ..settings
        };
        assert_eq!(
            now - traffic_cutoff(now, &slow_polls),
            time::Duration::seconds(360),
            "stats follow polls, so slower polls widen the window"
        );
    }

    /// [`evaluate_callers`] with the workloads built from `names`, as a policy set builds them.
    fn judge(
        policies: &MeshPolicies<'_>,
        names: &[(String, Option<String>, Option<String>)],
        target: &str,
    ) -> CallersView {
        let index = MeshServiceIndex::default();
        evaluate_callers(policies, &Workloads::new(names, &index), &index, names, target)
    }

    fn names(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>, Option<String>)> {
        list.iter()
            .map(|(n, g)| {
                (
                    n.to_string(),
                    Some(format!("component:default/{n}")),
                    g.map(str::to_owned),
                )
            })
            .collect()
    }

    fn mtp(json: serde_json::Value) -> MeshTrafficPermission {
        serde_json::from_value(json).expect("mtp")
    }

    #[test]
    fn callers_follow_the_deciding_policy() {
        let mtps = vec![mtp(serde_json::json!({
            "type": "MeshTrafficPermission", "mesh": "default", "name": "orders-callers",
            "spec": {
                "targetRef": {"kind": "MeshService", "name": "orders"},
                "from": [
                    {"targetRef": {"kind": "Mesh"}, "default": {"action": "Deny"}},
                    {"targetRef": {"kind": "MeshService", "name": "checkout"}, "default": {"action": "Allow"}}
                ]
            }
        }))];
        let policies = MeshPolicies {
            mesh: "default",
            mtls_enabled: true,
            mesh_traffic_permissions: &mtps,
            traffic_permissions: &[],
        };
        let view = judge(
            &policies,
            &names(&[("orders", None), ("checkout", None), ("search", None)]),
            "orders",
        );
        assert!(view.enforced);
        let allowed: Vec<&str> = view.allowed.iter().map(|c| c.service.as_str()).collect();
        let denied: Vec<&str> = view.denied.iter().map(|c| c.service.as_str()).collect();
        assert_eq!(allowed, ["checkout"]);
        assert_eq!(denied, ["search"]);
        assert_eq!(view.allowed[0].component.as_deref(), Some("component:default/checkout"));
        assert_eq!(view.allowed[0].reason, "orders-callers, from[1]");
    }

    #[test]
    fn a_page_lists_the_first_callers_and_counts_them_all() {
        let policies = MeshPolicies {
            mesh: "default",
            mtls_enabled: true,
            mesh_traffic_permissions: &[],
            traffic_permissions: &[],
        };
        let many: Vec<String> = (0..250).map(|i| format!("svc-{i:03}")).collect();
        let list: Vec<(&str, Option<&str>)> = many.iter().map(|n| (n.as_str(), None)).collect();
        let view = judge(&policies, &names(&list), "svc-000");
        assert_eq!((view.allowed_total, view.denied_total), (0, 249));
        assert_eq!(view.denied.len(), 249, "the API keeps every caller");
        let page = view.truncated(crate::mesh::CALLERS_ON_A_PAGE);
        assert_eq!(page.denied.len(), crate::mesh::CALLERS_ON_A_PAGE);
        assert_eq!(page.denied_total, 249);
        assert_eq!(page.denied[0].service, "svc-001");
    }

    #[test]
    fn nothing_is_enforced_without_mtls_or_on_gateways() {
        let policies = MeshPolicies {
            mesh: "default",
            mtls_enabled: false,
            mesh_traffic_permissions: &[],
            traffic_permissions: &[],
        };
        let view = judge(&policies, &names(&[("orders", None), ("checkout", None)]), "orders");
        assert!(!view.enforced);
        assert_eq!(view.allowed.len(), 1);
        let on = MeshPolicies {
            mtls_enabled: true,
            ..policies
        };
        let gw = judge(&on, &names(&[("edge", Some("DELEGATED")), ("checkout", None)]), "edge");
        assert!(!gw.enforced);
        let plain = judge(&on, &names(&[("orders", None), ("checkout", None)]), "orders");
        assert!(plain.enforced);
        assert_eq!(plain.denied[0].reason, "no policy selects this service (deny all)");
    }
}
