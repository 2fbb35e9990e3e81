//! Server functions for the mesh views. Thin adapters: the service checks the caller.

use leptos::prelude::*;

use super::drift::MeshDrift;
use super::ownership::OwnershipDrift;
use super::{MeshCard, MeshOverview, TeamMeshRow};
use crate::error::AppError;
use crate::policy::ClassCount;

/// The mesh overview page.
#[server(prefix = "/api/fn", endpoint = "get_mesh_overview")]
pub async fn get_mesh_overview() -> Result<MeshOverview, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::overview(&ctx, &caller).await }).await
}

/// A component's mesh card.
#[server(prefix = "/api/fn", endpoint = "get_component_mesh")]
pub async fn get_component_mesh(kind: String, namespace: String, name: String) -> Result<MeshCard, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::service::component_card(&ctx, &caller, &kind, &namespace, &name)
            .await
            .map(MeshCard::for_page)
    })
    .await
}

/// Mesh health of a team's components.
#[server(prefix = "/api/fn", endpoint = "get_team_mesh")]
pub async fn get_team_mesh(namespace: String, name: String) -> Result<Vec<TeamMeshRow>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::team(&ctx, &caller, &namespace, &name).await })
        .await
}

/// Edges per class of every mesh, for the overview's drift panels.
#[server(prefix = "/api/fn", endpoint = "get_mesh_drift")]
pub async fn get_mesh_drift() -> Result<Vec<MeshDrift>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::drift::meshes(&ctx, &caller).await }).await
}

/// Edges per class touching a team's components, for its page.
#[server(prefix = "/api/fn", endpoint = "get_team_drift")]
pub async fn get_team_drift(namespace: String, name: String) -> Result<Vec<ClassCount>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::drift::team(&ctx, &caller, &namespace, &name).await })
        .await
}

/// Ownership drift, of a team's components when `team` is given (`payments` or
/// `group:default/payments`). The filters are arguments of their own (see
/// [`crate::graph::api::get_map`]).
#[server(prefix = "/api/fn", endpoint = "get_ownership_drift")]
pub async fn get_ownership_drift(team: Option<String>) -> Result<OwnershipDrift, AppError> {
    let filter = super::ownership::OwnershipFilter {
        team,
        ..Default::default()
    };
    crate::server_call::call(|ctx, caller| async move { super::ownership::list(&ctx, &caller, &filter).await }).await
}
