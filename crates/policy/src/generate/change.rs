//! What applying a proposal would change, and how its text differs from what is applied.

use super::to_mesh_traffic_permission;
use crate::resource::Proposal;
use crate::Error;
use bearing_kuma::model::{MeshTrafficPermission, DISPLAY_NAME_LABEL, ORIGIN_LABEL, POLICY_ROLE_LABEL};
use bearing_kuma::permissions::{evaluate, relevant_to, Decision, MeshPolicies, Workload};
use similar::TextDiff;

/// One caller whose access changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerChange {
    /// The caller's Kuma service.
    pub service: String,
    /// Its access with the mesh's policies as they are.
    pub before: Decision,
    /// Its access once the proposal is applied.
    pub after: Decision,
}

/// The effect of a proposal on a provider's callers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Callers let in now (plainly or shadow) and denied after: what would break.
    pub would_deny: Vec<CallerChange>,
    /// Callers denied now and let in after.
    pub would_allow: Vec<CallerChange>,
    /// Callers plainly allowed now and allowed only with shadow-deny logging after.
    pub would_shadow: Vec<CallerChange>,
    /// Selectors the evaluation could not judge (see `bearing_kuma::permissions::Access`).
    pub unresolved: Vec<String>,
}

/// Evaluates each of `callers` (typically those observed calling `target` in the window, plus
/// the declared consumers) against `target` with the mesh's policies as they are, then with the
/// proposal replacing the policy of the same name in the same mesh (or added). The replacement
/// keeps the replaced policy's `kuma.io/origin`, `kuma.io/policy-role` and display-name labels,
/// which Kuma sets itself and which decide precedence. Callers are reported in input order.
pub fn would_change(
    policies: &MeshPolicies<'_>,
    proposal: &Proposal,
    target: &Workload,
    callers: &[Workload],
) -> Result<Change, Error> {
    let mut replacement = to_mesh_traffic_permission(proposal)?;
    let same = |p: &MeshTrafficPermission| {
        p.meta.mesh.as_deref().is_none_or(|m| m == policies.mesh)
            && (p.meta.name == proposal.name || p.meta.display_name() == proposal.name)
    };
    if let Some(policy) = policies.mesh_traffic_permissions.iter().find(|p| same(p)) {
        for key in [ORIGIN_LABEL, POLICY_ROLE_LABEL, DISPLAY_NAME_LABEL] {
            if let Some(value) = policy.meta.labels.get(key) {
                replacement.meta.labels.insert(key.to_string(), value.clone());
            }
        }
        replacement.meta.name = policy.meta.name.clone();
    }
    replacement.meta.mesh = Some(policies.mesh.to_string());
    // Only the policies that select the target decide its callers (`relevant_to`): judging
    // against those, not copies of every policy of a mesh with thousands, gives the same answers.
    let relevant = relevant_to(policies, target);
    let policies = &MeshPolicies {
        mesh_traffic_permissions: &relevant,
        ..*policies
    };
    let mut after: Vec<MeshTrafficPermission> = relevant.iter().filter(|p| !same(p)).cloned().collect();
    after.push(replacement);
    let after_policies = MeshPolicies {
        mesh_traffic_permissions: &after,
        ..*policies
    };

    let mut change = Change::default();
    for caller in callers {
        let before = evaluate(policies, caller, target).decision;
        let access = evaluate(&after_policies, caller, target);
        for note in access.unresolved {
            if !change.unresolved.contains(&note) {
                change.unresolved.push(note);
            }
        }
        let entry = CallerChange {
            service: caller.service.clone(),
            before,
            after: access.decision,
        };
        match (before.allows(), access.decision.allows()) {
            (true, false) => change.would_deny.push(entry),
            (false, true) => change.would_allow.push(entry),
            (true, true) if before == Decision::Allow && access.decision == Decision::AllowWithShadowDeny => {
                change.would_shadow.push(entry);
            }
            _ => {}
        }
    }
    Ok(change)
}

/// A unified diff (3 lines of context) from the applied resource's YAML (`None`: nothing is
/// applied yet) to the proposal's. Empty when they are equal. Render the applied resource with
/// [`crate::universal_yaml`] or [`crate::kubernetes_yaml`] first, so only
/// real differences show.
pub fn diff(current: Option<&str>, proposed: &str) -> String {
    let old = current.unwrap_or("");
    if old == proposed {
        return String::new();
    }
    let from = if current.is_some() { "applied" } else { "/dev/null" };
    TextDiff::from_lines(old, proposed)
        .unified_diff()
        .context_radius(3)
        .header(from, "proposed")
        .to_string()
}
