//! The edges of one mesh from what is stored, without I/O: declared dependencies mapped to Kuma
//! services, observed pairs, each pair judged by the mesh's traffic permissions
//! (`bearing_kuma::permissions`) and classified (`bearing_policy::edges`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bearing_kuma::model::{MeshTrafficPermission, TrafficPermission};
use bearing_kuma::permissions::{self, Access, MeshPolicies, Reason, Workload};
use bearing_policy::edges::{classify, Observed, PolicyIndex};

use super::super::repo::{DeclaredDependency, ObservedPair};
use super::super::{Edge, EdgeEnd, ObservedTraffic, Permission};
use crate::mesh::service::{reason_text, Workloads};
use crate::mesh::state::RelevantPolicies;
use crate::wire::rfc3339;

/// The caller standing for "any other service" when asking whether a destination admits
/// callers nobody named: a name no policy can mention on purpose, and a SPIFFE ID that only a
/// mesh-wide or prefix match admits.
pub const ANY_OTHER_CALLER: &str = "bearing.dev/any-other-caller";

/// Everything stored about one mesh that its edges come from.
pub struct MeshInputs<'a> {
    pub control_plane: &'a str,
    pub mesh: &'a str,
    pub mtls_enabled: bool,
    /// `STRICT` or `PERMISSIVE` (none: STRICT, as in Kuma).
    pub mtls_mode: Option<&'a str>,
    /// Each service of the mesh: name, claiming component, gateway kind.
    pub services: &'a [(String, Option<String>, Option<String>)],
    pub mesh_traffic_permissions: &'a [MeshTrafficPermission],
    pub traffic_permissions: &'a [TrafficPermission],
    /// Each service's workload, from the policy set.
    pub workloads: &'a Workloads,
    /// The permissions selecting each service, kept with the policy set.
    pub relevant: &'a RelevantPolicies,
    /// Every declared component -> component dependency of the catalog.
    pub declared: &'a [DeclaredDependency],
    /// The pairs observed within the window.
    pub observed: &'a [ObservedPair],
    /// Only edges from or to these services (an entity's, a team's); none: every edge.
    pub focus: Option<&'a HashSet<String>>,
}

/// A pair of services and what is known about it before judging.
#[derive(Default)]
struct PairFacts<'a> {
    via: BTreeSet<&'a str>,
    observed: Option<&'a ObservedPair>,
}

/// Every edge of the mesh (touching the focus, if any): each declared or observed pair of its
/// services, and for each destination that admits callers nobody named, one `over_permitted`
/// edge from `*`.
pub fn mesh_edges(input: &MeshInputs<'_>) -> Vec<Edge> {
    let in_focus = |service: &str| input.focus.is_none_or(|f| f.contains(service));
    let policies = MeshPolicies {
        mesh: input.mesh,
        mtls_enabled: input.mtls_enabled,
        mesh_traffic_permissions: input.mesh_traffic_permissions,
        traffic_permissions: input.traffic_permissions,
    };
    // PERMISSIVE mTLS lets plaintext through, so nothing is refused (Kuma's docs, "mutual TLS":
    // permissive mode accepts both mTLS and plaintext traffic).
    let strict = input.mtls_enabled && !input.mtls_mode.is_some_and(|m| m.eq_ignore_ascii_case("PERMISSIVE"));
    let components: HashMap<&str, Option<&str>> = input
        .services
        .iter()
        .map(|(s, c, _)| (s.as_str(), c.as_deref()))
        .collect();
    let workloads = input.workloads;
    let mut services_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (service, component, _) in input.services {
        if let Some(c) = component {
            services_of.entry(c.as_str()).or_default().push(service.as_str());
        }
    }

    let mut pairs: BTreeMap<(&str, &str), PairFacts<'_>> = BTreeMap::new();
    for dep in input.declared {
        let (Some(froms), Some(tos)) = (
            services_of.get(dep.from_ref.as_str()),
            services_of.get(dep.to_ref.as_str()),
        ) else {
            continue;
        };
        for from in froms {
            for to in tos.iter().filter(|to| *to != from && (in_focus(from) || in_focus(to))) {
                pairs.entry((*from, *to)).or_default().via.insert(dep.via.as_str());
            }
        }
    }
    for pair in input.observed {
        let wanted = in_focus(&pair.caller) || in_focus(&pair.callee);
        if wanted && pair.caller != pair.callee && workloads.get(&pair.caller).is_some() {
            if let Some((callee, _)) = workloads.get_key_value(pair.callee.as_str()) {
                pairs.entry((pair.caller.as_str(), callee)).or_default().observed = Some(pair);
            }
        }
    }

    let index = PolicyIndex::new(&policies);
    let any_other = Workload::service(ANY_OTHER_CALLER);
    // The policies that apply to each destination, found once per policy set rather than once
    // per caller (or per page).
    let judge = |caller: &Workload, to: &str, target: &Workload| {
        let subset = input
            .relevant
            .get_or_find(to, || permissions::relevant_to(&policies, target));
        let narrowed = MeshPolicies {
            mesh_traffic_permissions: &subset,
            ..policies
        };
        permissions::evaluate(&narrowed, caller, target)
    };
    let mut edges = Vec::with_capacity(pairs.len());
    for ((from, to), facts) in &pairs {
        let (Some(caller), Some(target)) = (workloads.get(from), workloads.get(to)) else {
            continue;
        };
        let access = judge(caller, to, target);
        let permitted = index.permitted(&access, caller, strict);
        let observed = facts.observed.map(|o| Observed {
            requests_per_s: o.requests_per_s,
            errors_per_s: o.errors_per_s,
            denied_per_s: o.denied_per_s,
            last_seen: o.last_seen,
        });
        let declared = !facts.via.is_empty();
        let Some(class) = classify(declared, observed.as_ref(), &permitted) else {
            continue;
        };
        edges.push(Edge {
            control_plane: input.control_plane.to_owned(),
            mesh: input.mesh.to_owned(),
            from: end(from, &components),
            to: end(to, &components),
            declared,
            declared_via: facts.via.iter().map(|v| (*v).to_owned()).collect(),
            observed: observed.map(|o| ObservedTraffic {
                requests_per_s: o.requests_per_s,
                errors_per_s: o.errors_per_s,
                denied_per_s: o.denied_per_s,
                last_seen: rfc3339(o.last_seen),
            }),
            permitted: permission(&access, permitted),
            mtls: input.mtls_enabled,
            class: class.class.as_str().to_owned(),
        });
    }

    // Destinations that let in a caller no policy names: one edge from `*` each.
    for (service, target) in workloads.iter() {
        if !strict || !in_focus(service) {
            continue;
        }
        let access = judge(&any_other, service, target);
        let permitted = index.permitted(&access, &any_other, strict);
        let Some(class) = classify(false, None, &permitted) else {
            continue;
        };
        edges.push(Edge {
            control_plane: input.control_plane.to_owned(),
            mesh: input.mesh.to_owned(),
            from: EdgeEnd {
                service: "*".to_owned(),
                component: None,
            },
            to: end(service, &components),
            declared: false,
            declared_via: Vec::new(),
            observed: None,
            permitted: permission(&access, permitted),
            mtls: input.mtls_enabled,
            class: class.class.as_str().to_owned(),
        });
    }
    edges
}

fn end(service: &str, components: &HashMap<&str, Option<&str>>) -> EdgeEnd {
    EdgeEnd {
        service: service.to_owned(),
        component: components.get(service).copied().flatten().map(str::to_owned),
    }
}

/// The wire form of a decision: the classifier's facts, and the deciding rule in words.
fn permission(access: &Access, permitted: bearing_policy::edges::Permitted) -> Permission {
    let policy = match (&permitted.policy, &access.reason) {
        (Some(p), _) => Some(p.clone()),
        (None, Reason::NoMatchingEntry { policies }) => policies.last().cloned(),
        (None, _) => None,
    };
    Permission {
        allowed: permitted.allowed,
        enforced: permitted.enforced,
        policy,
        rule: permitted.rule,
        reason: reason_text(&access.reason),
    }
}
