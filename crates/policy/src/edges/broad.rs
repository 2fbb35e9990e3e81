//! From an evaluated `Access` to [`Permitted`]: enforcement, shadow, and whether the deciding
//! grant names the caller or only covers it.

use super::Permitted;
use bearing_kuma::model::{MeshTrafficPermission, TargetRefKind, TrafficPermission, SERVICE_TAG};
use bearing_kuma::permissions::{Access, Decision, MeshPolicies, Reason, Workload};
use std::collections::HashMap;

/// The mesh's policies by the name `bearing_kuma::permissions::Reason` uses for them (display
/// name for MeshTrafficPermissions, store name for legacy ones), built once per mesh so that
/// looking up each edge's deciding policy is O(1), not a scan of every policy.
#[derive(Debug)]
pub struct PolicyIndex<'a> {
    mesh: &'a str,
    mesh_traffic_permissions: HashMap<&'a str, &'a MeshTrafficPermission>,
    traffic_permissions: HashMap<&'a str, &'a TrafficPermission>,
}

impl<'a> PolicyIndex<'a> {
    /// Indexes `policies`. With two policies of one display name (possible on Kubernetes, in two
    /// namespaces) the first is kept; only the broadness of a grant can be misjudged by that.
    pub fn new(policies: &MeshPolicies<'a>) -> PolicyIndex<'a> {
        let mut mesh_traffic_permissions = HashMap::with_capacity(policies.mesh_traffic_permissions.len());
        for policy in policies.mesh_traffic_permissions {
            mesh_traffic_permissions
                .entry(policy.meta.display_name())
                .or_insert(policy);
        }
        let mut traffic_permissions = HashMap::with_capacity(policies.traffic_permissions.len());
        for policy in policies.traffic_permissions {
            traffic_permissions.entry(policy.meta.name.as_str()).or_insert(policy);
        }
        PolicyIndex {
            mesh: policies.mesh,
            mesh_traffic_permissions,
            traffic_permissions,
        }
    }

    /// [`Permitted`] for `caller`'s `access` (from `bearing_kuma::permissions::evaluate`).
    /// `mesh_enforced` is whether the mesh enforces traffic permissions at all: mTLS enabled
    /// and its backend's mode STRICT (`bearing_kuma::status::mesh_mtls`); a gateway callee or mTLS
    /// off (as the evaluation found) also make the edge unenforced.
    pub fn permitted(&self, access: &Access, caller: &Workload, mesh_enforced: bool) -> Permitted {
        let enforced = mesh_enforced && !matches!(access.reason, Reason::MtlsDisabled | Reason::GatewayNotEnforced);
        let allowed = access.decision.allows();
        let (policy, rule, broad) = match &access.reason {
            Reason::FromEntry { policy, index } => {
                let broad = allowed && self.entry_is_broad(policy, *index, caller);
                (Some(policy.clone()), Some(format!("from[{index}]")), broad)
            }
            Reason::RuleAllow { policy, rule } => {
                let broad = self.rule_is_broad(policy, *rule, caller);
                (Some(policy.clone()), Some(format!("rules[{rule}]")), broad)
            }
            Reason::RuleDeny { policy, rule } => (Some(policy.clone()), Some(format!("rules[{rule}]")), false),
            Reason::LegacyPermission { policy } => {
                let broad = self.legacy_is_broad(policy, caller);
                (Some(policy.clone()), Some("sources".to_string()), broad)
            }
            Reason::LegacyNotInSources { policy } => (Some(policy.clone()), None, false),
            Reason::MtlsDisabled | Reason::GatewayNotEnforced | Reason::NoMatchingEntry { .. } | Reason::NoPolicy => {
                (None, None, false)
            }
        };
        Permitted {
            allowed,
            shadow: access.decision == Decision::AllowWithShadowDeny,
            enforced,
            broad,
            policy,
            rule,
        }
    }

    /// A policy whose top-level `targetRef` is the whole mesh grants every target.
    fn top_is_mesh(policy: &MeshTrafficPermission) -> bool {
        policy
            .spec
            .target_ref
            .as_ref()
            .is_none_or(|t| t.kind == TargetRefKind::Mesh)
    }

    fn entry_is_broad(&self, name: &str, index: usize, caller: &Workload) -> bool {
        let Some(policy) = self.mesh_traffic_permissions.get(name) else {
            return false;
        };
        let Some(entry) = policy.spec.from.get(index) else {
            return false;
        };
        let names_caller = match entry.target_ref.kind {
            TargetRefKind::MeshSubset => entry
                .target_ref
                .tags
                .as_ref()
                .and_then(|t| t.get(SERVICE_TAG))
                .is_some_and(|s| *s == caller.service),
            TargetRefKind::MeshService | TargetRefKind::MeshServiceSubset => {
                entry.target_ref.name.as_deref() == Some(caller.service.as_str())
            }
            _ => false,
        };
        Self::top_is_mesh(policy) || !names_caller
    }

    fn rule_is_broad(&self, name: &str, index: usize, caller: &Workload) -> bool {
        let Some(policy) = self.mesh_traffic_permissions.get(name) else {
            return false;
        };
        let Some(rule) = policy.spec.rules.get(index) else {
            return false;
        };
        let spiffe = caller.spiffe_id_in(self.mesh);
        let exact = rule
            .default
            .allow
            .iter()
            .chain(&rule.default.allow_with_shadow_deny)
            .filter_map(|m| m.spiffe_id.as_ref())
            .any(|m| m.match_type == bearing_kuma::model::MatchType::Exact && m.value == spiffe);
        Self::top_is_mesh(policy) || !exact
    }

    fn legacy_is_broad(&self, name: &str, caller: &Workload) -> bool {
        let Some(policy) = self.traffic_permissions.get(name) else {
            return false;
        };
        let names_caller = policy
            .sources
            .iter()
            .any(|s| s.tags.get(SERVICE_TAG).is_some_and(|v| *v == caller.service));
        let wildcard_target = policy
            .destinations
            .iter()
            .all(|d| d.tags.get(SERVICE_TAG).is_none_or(|v| v == "*"));
        !names_caller || wildcard_target
    }
}
