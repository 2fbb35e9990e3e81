//! Server functions of `/graph`. Thin adapters: the services check the caller.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::MapQuery;
use super::{MapChoices, MapView};
use crate::error::AppError;

/// The map the query names; none when it names nothing to draw. The fields are arguments of
/// their own: a struct whose fields are all absent would not survive the URL encoding of
/// server-function arguments (the request would lack the struct, a 400).
#[server(prefix = "/api/fn", endpoint = "get_map")]
pub async fn get_map(
    team: Option<String>,
    system: Option<String>,
    mesh: Option<String>,
    class: Option<String>,
) -> Result<Option<MapView>, AppError> {
    let query = MapQuery {
        team,
        system,
        mesh,
        class,
    };
    crate::server_call::call(|ctx, caller| async move { super::map::map(&ctx, &caller, query).await }).await
}

/// The teams, systems and meshes the map's pickers offer.
#[server(prefix = "/api/fn", endpoint = "get_map_choices")]
pub async fn get_map_choices() -> Result<MapChoices, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::map::choices(&ctx, &caller).await }).await
}
