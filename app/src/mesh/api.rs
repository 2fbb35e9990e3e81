//! Server functions for the mesh views. Thin adapters: get the context, check the reader, call
//! the service.

use leptos::prelude::*;

use super::{MeshCard, MeshOverview, TeamMeshRow};
use crate::error::AppError;

/// The mesh overview page.
#[server(prefix = "/api/fn", endpoint = "get_mesh_overview")]
pub async fn get_mesh_overview() -> Result<MeshOverview, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::overview(&ctx).await
        }
        .await,
    )
}

/// A component's mesh card.
#[server(prefix = "/api/fn", endpoint = "get_component_mesh")]
pub async fn get_component_mesh(kind: String, namespace: String, name: String) -> Result<MeshCard, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::component_card(&ctx, &kind, &namespace, &name).await
        }
        .await,
    )
}

/// Mesh health of a team's components.
#[server(prefix = "/api/fn", endpoint = "get_team_mesh")]
pub async fn get_team_mesh(namespace: String, name: String) -> Result<Vec<TeamMeshRow>, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::team(&ctx, &namespace, &name).await
        }
        .await,
    )
}
