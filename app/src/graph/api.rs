//! Server functions of `/graph`. Thin adapters: the services check the caller.

use leptos::prelude::*;

use super::{MapChoices, MapQuery, MapView};
use crate::error::AppError;

/// The map the query names; none when it names nothing to draw.
#[server(prefix = "/api/fn", endpoint = "get_map")]
pub async fn get_map(query: MapQuery) -> Result<Option<MapView>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::map::map(&ctx, &caller, query).await }).await
}

/// The teams, systems and meshes the map's pickers offer.
#[server(prefix = "/api/fn", endpoint = "get_map_choices")]
pub async fn get_map_choices() -> Result<MapChoices, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::map::choices(&ctx, &caller).await }).await
}
