//! Drift at a glance: how many edges of each class a mesh has, or touch a team's components,
//! worst first, each linking to the map of those edges. Counted from
//! [`crate::policy::edges::matching`], so the panels agree with the map and the edges API.

use serde::{Deserialize, Serialize};

use crate::policy::ClassCount;
#[cfg(feature = "ssr")]
use crate::{
    auth::guard::Caller,
    error::AppError,
    policy::{class_counts, edges, Edge, EdgeFilter},
    ssr::ServerCtx,
};

/// One mesh's edges per class, for the `/mesh` drift panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeshDrift {
    pub control_plane: String,
    pub mesh: String,
    /// Worst first; classes with no edge left out.
    pub counts: Vec<ClassCount>,
}

/// The drift of every mesh: edges per class, per control plane and mesh.
#[cfg(feature = "ssr")]
pub async fn meshes(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<MeshDrift>, AppError> {
    caller.require_reader(ctx)?;
    let all = edges::matching(ctx, caller, &EdgeFilter::default()).await?;
    let mut by_mesh: std::collections::BTreeMap<(String, String), Vec<Edge>> = Default::default();
    for e in all {
        by_mesh
            .entry((e.control_plane.clone(), e.mesh.clone()))
            .or_default()
            .push(e);
    }
    Ok(by_mesh
        .into_iter()
        .map(|((control_plane, mesh), edges)| MeshDrift {
            counts: class_counts(&edges),
            control_plane,
            mesh,
        })
        .collect())
}

/// The drift of the edges from or to the components the team `namespace/name` owns.
#[cfg(feature = "ssr")]
pub async fn team(ctx: &ServerCtx, caller: &Caller, namespace: &str, name: &str) -> Result<Vec<ClassCount>, AppError> {
    caller.require_reader(ctx)?;
    let filter = EdgeFilter {
        team: Some(crate::catalog::service::ref_key("group", namespace, name)?),
        ..EdgeFilter::default()
    };
    Ok(class_counts(&edges::matching(ctx, caller, &filter).await?))
}
