//! Ownership drift: the mesh and the catalog disagree about who owns a workload.
//!
//! Teams label their workloads (`team: payments`) and the catalog names an owner
//! (`group:default/payments`). Kubernetes label values cannot hold `:` or `/`, so a team label
//! is the owner's bare name; the two agree when the label equals, ignoring ASCII case, either the
//! owner's name (the part after the last `/`, kind and namespace dropped) or the whole reference
//! (for universal dataplanes, whose labels may hold one). A dataplane without the label is not
//! drift (there is nothing to compare), nor is a component without an owner.

use bearing_kuma::model::Tags;
use serde::{Deserialize, Serialize};

/// The dataplane label holding the owning team, unless configured otherwise.
pub const DEFAULT_TEAM_LABEL: &str = "team";

/// One component and what the mesh knows of it.
#[derive(Clone, Copy, Debug)]
pub struct DriftInput<'a> {
    /// The component's catalog reference.
    pub component: &'a str,
    /// Its owner's reference, e.g. `group:default/payments`.
    pub owner: Option<&'a str>,
    /// The Kuma service it maps to, `None` when it has no Kuma identity. Pass only components
    /// that should be in the mesh (services and websites).
    pub service: Option<&'a str>,
    /// Its dataplanes: (name, labels).
    pub dataplanes: &'a [(&'a str, &'a Tags)],
    /// The team label's key ([`DEFAULT_TEAM_LABEL`] by default).
    pub team_label: &'a str,
}

/// A disagreement between the catalog and the mesh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// A dataplane's team label names another team than the component's owner.
    TeamMismatch {
        /// The component.
        component: String,
        /// The dataplane.
        dataplane: String,
        /// The label's value.
        label: String,
        /// The catalog owner.
        owner: String,
    },
    /// The component has no Kuma identity (no service maps to it).
    NotInMesh {
        /// The component.
        component: String,
    },
}

/// The drift findings for one component, in dataplane order.
pub fn ownership_drift(input: &DriftInput<'_>) -> Vec<Drift> {
    let Some(_) = input.service else {
        return vec![Drift::NotInMesh {
            component: input.component.to_string(),
        }];
    };
    let Some(owner) = input.owner else {
        return Vec::new();
    };
    input
        .dataplanes
        .iter()
        .filter_map(|(name, labels)| {
            let label = labels.get(input.team_label)?;
            (!same_team(label, owner)).then(|| Drift::TeamMismatch {
                component: input.component.to_string(),
                dataplane: (*name).to_string(),
                label: label.clone(),
                owner: owner.to_string(),
            })
        })
        .collect()
}

/// Whether a team label names the owner (see the module docs).
fn same_team(label: &str, owner: &str) -> bool {
    let label = label.trim();
    let owner = owner.trim();
    let name = owner.rsplit(['/', ':']).next().unwrap_or(owner);
    label.eq_ignore_ascii_case(name) || label.eq_ignore_ascii_case(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_refs_match_bare_team_labels() {
        assert!(same_team("payments", "group:default/payments"));
        assert!(same_team("Payments", "group:default/payments"));
        assert!(same_team("payments", "payments"));
        assert!(same_team("group:default/payments", "group:default/payments"));
        assert!(!same_team("checkout", "group:default/payments"));
        assert!(!same_team("pay", "group:default/payments"));
    }
}
