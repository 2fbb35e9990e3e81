//! Server functions for the catalog pages. Thin adapters: get the context, call the service.

use leptos::prelude::*;

use super::{CatalogView, EntityDetail, HomeView, ListQuery};
use crate::error::AppError;
use crate::graph::GraphView;

/// Home page data.
#[server(prefix = "/api/fn", endpoint = "get_home")]
pub async fn get_home() -> Result<HomeView, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::home(&ctx).await
        }
        .await,
    )
}

/// A page of the catalog with facet counts.
#[server(prefix = "/api/fn", endpoint = "get_catalog")]
pub async fn get_catalog(query: ListQuery) -> Result<CatalogView, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::catalog_view(&ctx, query).await
        }
        .await,
    )
}

/// One entity with its relations.
#[server(prefix = "/api/fn", endpoint = "get_entity")]
pub async fn get_entity(kind: String, namespace: String, name: String) -> Result<EntityDetail, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            super::service::entity_detail(&ctx, &kind, &namespace, &name).await
        }
        .await,
    )
}

/// The dependency graph around one entity.
#[server(prefix = "/api/fn", endpoint = "get_entity_graph")]
pub async fn get_entity_graph(kind: String, namespace: String, name: String, depth: u8) -> Result<GraphView, AppError> {
    crate::ssr::respond(
        async move {
            let ctx = crate::ssr::ctx()?;
            crate::auth::guard::reader(&ctx).await?;
            let key = super::service::ref_key(&kind, &namespace, &name)?;
            crate::graph::service::cached_entity_graph(&ctx, key, depth).await
        }
        .await,
    )
}
