//! Ownership drift (issue 12 §1): the mesh and the catalog disagree about who owns a workload.
//! A dataplane's team label (`--kuma-team-label`, `team` by default) names another team than
//! its component's catalog owner, or a service or website component has no Kuma identity at all
//! (no Kuma service with proxies maps to it). The rules are [`bearing_policy::edges::drift`]'s;
//! this module reads the whole catalog and mesh in two queries and applies them, for `/mesh`,
//! team pages and `GET /api/v1/mesh/ownership-drift`.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::{auth::guard::Caller, error::AppError, ssr::ServerCtx};
#[cfg(feature = "ssr")]
pub use bearing_policy::edges::DEFAULT_TEAM_LABEL;

/// Findings of each kind listed at most: a catalog of 100,000 components may have tens of
/// thousands without a Kuma identity, more than a page or an answer should carry. `totals`
/// counts them all.
pub const MAX_ITEMS: usize = 1_000;

/// What the catalog and the mesh disagree about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OwnershipDriftKind {
    /// A dataplane's team label names another team than the component's owner.
    TeamMismatch,
    /// A service or website component that no Kuma service with proxies maps to.
    NotInMesh,
}

/// One disagreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnershipFinding {
    pub kind: OwnershipDriftKind,
    /// The component.
    #[cfg_attr(feature = "ssr", schema(example = "component:default/payments-api"))]
    pub component: String,
    /// Its catalog owner; null when it names none.
    #[cfg_attr(feature = "ssr", schema(example = "group:default/payments"))]
    pub owner: Option<String>,
    /// `team_mismatch`: the dataplane whose label disagrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane: Option<String>,
    /// `team_mismatch`: the value of its team label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(example = "checkout"))]
    pub label: Option<String>,
    /// `team_mismatch`: the dataplane's control plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<String>,
    /// `team_mismatch`: the dataplane's mesh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<String>,
}

/// How many findings of each kind match, also those past the 1,000 listed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnershipTotals {
    /// Dataplanes whose team label names another team than the owner.
    pub team_mismatch: u64,
    /// Service and website components without a Kuma identity.
    pub not_in_mesh: u64,
}

/// `GET /api/v1/mesh/ownership-drift`: the findings and how many there are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnershipDrift {
    /// Team mismatches (by component, control plane, mesh and dataplane), then components with
    /// no Kuma identity (by component); at most 1,000 of each.
    pub items: Vec<OwnershipFinding>,
    pub totals: OwnershipTotals,
    /// The Dataplane label compared with the owner (`--kuma-team-label`).
    #[cfg_attr(feature = "ssr", schema(example = "team"))]
    pub team_label: String,
    /// Whether any control plane is configured. Without one nothing is in the mesh, and
    /// nothing is reported.
    pub polling: bool,
}

impl OwnershipDrift {
    /// The findings of one kind.
    pub fn of(&self, kind: OwnershipDriftKind) -> impl Iterator<Item = &OwnershipFinding> {
        self.items.iter().filter(move |f| f.kind == kind)
    }
}

/// Which findings to list: every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipFilter {
    /// The components this team owns (`payments` or `group:default/payments`).
    pub team: Option<String>,
    /// Team mismatches on this control plane's dataplanes. Components without a Kuma identity
    /// have no control plane and are listed whatever it is.
    pub control_plane: Option<String>,
    /// Team mismatches in this mesh; components without a Kuma identity that could be in it
    /// (their `kuma.io/mesh` annotation names it, or no mesh).
    pub mesh: Option<String>,
}

/// The ownership drift matching `filter`.
#[cfg(feature = "ssr")]
pub async fn list(ctx: &ServerCtx, caller: &Caller, filter: &OwnershipFilter) -> Result<OwnershipDrift, AppError> {
    use super::repo::{self, ownership};
    caller.require_reader(ctx)?;
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let team = given(&filter.team)
        .map(|t| crate::policy::edges::team_ref(&t))
        .transpose()?;
    let (control_plane, mesh) = (given(&filter.control_plane), given(&filter.mesh));
    let team_label = ctx.mesh.team_label.to_string();
    if repo::list_control_planes(&ctx.pool).await?.is_empty() {
        return Ok(OwnershipDrift {
            team_label,
            ..OwnershipDrift::default()
        });
    }
    let rows = ownership::labelled_dataplanes(
        &ctx.pool,
        &team_label,
        team.as_deref(),
        control_plane.as_deref(),
        mesh.as_deref(),
    )
    .await?;
    let mut items = judge::team_mismatches(&rows, &team_label);
    let mismatches = items.len() as u64;
    items.truncate(MAX_ITEMS);
    let limit = i64::try_from(MAX_ITEMS).unwrap_or(i64::MAX);
    let unmeshed = ownership::components_without_identity(&ctx.pool, team.as_deref(), mesh.as_deref(), limit).await?;
    let not_in_mesh = unmeshed.first().map_or(0, |u| u64::try_from(u.total).unwrap_or(0));
    items.extend(judge::not_in_mesh(unmeshed));
    Ok(OwnershipDrift {
        items,
        totals: OwnershipTotals {
            team_mismatch: mismatches,
            not_in_mesh,
        },
        team_label,
        polling: true,
    })
}

/// The stored rows judged by [`bearing_policy::edges::ownership_drift`].
#[cfg(feature = "ssr")]
mod judge {
    use bearing_kuma::model::Tags;
    use bearing_policy::edges::{ownership_drift, Drift, DriftInput};

    use super::{OwnershipDriftKind, OwnershipFinding};
    use crate::mesh::repo::ownership::{LabelledDataplane, Unmeshed};

    /// The team mismatches among `rows` (sorted by component, control plane, mesh and
    /// dataplane), once per dataplane even when it serves two services of its component.
    pub fn team_mismatches(rows: &[LabelledDataplane], team_label: &str) -> Vec<OwnershipFinding> {
        let mut out: Vec<OwnershipFinding> = Vec::new();
        for group in
            rows.chunk_by(|a, b| (&a.component, &a.control_plane, &a.mesh) == (&b.component, &b.control_plane, &b.mesh))
        {
            let Some(first) = group.first() else { continue };
            let labels: Vec<Tags> = group
                .iter()
                .map(|r| Tags::from([(team_label.to_owned(), r.label.clone())]))
                .collect();
            let mut dataplanes: Vec<(&str, &Tags)> = group.iter().map(|r| r.dataplane.as_str()).zip(&labels).collect();
            dataplanes.dedup_by_key(|(name, _)| *name);
            // Dataplanes serve it here, so it has a Kuma identity: one of its services will do.
            let input = DriftInput {
                component: &first.component,
                owner: Some(&first.owner),
                service: Some(&first.service),
                dataplanes: &dataplanes,
                team_label,
            };
            out.extend(ownership_drift(&input).into_iter().filter_map(|d| match d {
                Drift::TeamMismatch {
                    component,
                    dataplane,
                    label,
                    owner,
                } => Some(OwnershipFinding {
                    kind: OwnershipDriftKind::TeamMismatch,
                    component,
                    owner: Some(owner),
                    dataplane: Some(dataplane),
                    label: Some(label),
                    control_plane: Some(first.control_plane.clone()),
                    mesh: Some(first.mesh.clone()),
                }),
                Drift::NotInMesh { .. } => None,
            }));
        }
        out
    }

    /// The components without a Kuma identity as findings.
    pub fn not_in_mesh(rows: Vec<Unmeshed>) -> impl Iterator<Item = OwnershipFinding> {
        rows.into_iter().map(|u| OwnershipFinding {
            kind: OwnershipDriftKind::NotInMesh,
            component: u.component,
            owner: u.owner,
            dataplane: None,
            label: None,
            control_plane: None,
            mesh: None,
        })
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::judge::team_mismatches;
    use crate::mesh::repo::ownership::LabelledDataplane;

    fn row(service: &str, dataplane: &str, label: &str) -> LabelledDataplane {
        LabelledDataplane {
            component: "component:default/payments-api".into(),
            owner: "group:default/payments".into(),
            control_plane: "eu".into(),
            mesh: "default".into(),
            service: service.into(),
            dataplane: dataplane.into(),
            label: label.into(),
        }
    }

    #[test]
    fn a_dataplane_serving_two_services_is_one_finding_and_agreeing_labels_none() {
        let rows = [
            row("payments-api", "pay-1", "checkout"),
            row("payments-admin", "pay-1", "checkout"),
            row("payments-api", "pay-2", "Payments"),
        ];
        let found = team_mismatches(&rows, "team");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].dataplane.as_deref(), Some("pay-1"));
        assert_eq!(found[0].label.as_deref(), Some("checkout"));
        assert_eq!(found[0].control_plane.as_deref(), Some("eu"));
    }
}
