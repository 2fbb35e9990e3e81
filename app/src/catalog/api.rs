//! Server functions for the catalog pages. Thin adapters: the service checks the caller.

use leptos::prelude::*;

use super::{CatalogView, EntityDetail, HomeView, ListQuery};
use crate::error::AppError;
use crate::graph::GraphView;

/// Home page data.
#[server(prefix = "/api/fn", endpoint = "get_home")]
pub async fn get_home() -> Result<HomeView, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::home(&ctx, &caller).await }).await
}

/// A page of the catalog with facet counts.
#[server(prefix = "/api/fn", endpoint = "get_catalog")]
pub async fn get_catalog(query: ListQuery) -> Result<CatalogView, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::catalog_view(&ctx, &caller, query).await })
        .await
}

/// One entity with its relations.
#[server(prefix = "/api/fn", endpoint = "get_entity")]
pub async fn get_entity(kind: String, namespace: String, name: String) -> Result<EntityDetail, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::service::entity_detail(&ctx, &caller, &kind, &namespace, &name).await
    })
    .await
}

/// The dependency graph around one entity.
#[server(prefix = "/api/fn", endpoint = "get_entity_graph")]
pub async fn get_entity_graph(kind: String, namespace: String, name: String, depth: u8) -> Result<GraphView, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        crate::graph::service::entity_graph(&ctx, &caller, &kind, &namespace, &name, depth).await
    })
    .await
}
