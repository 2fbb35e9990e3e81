//! The mesh state the poller stored: `GET /api/v1/mesh/services`, `GET /api/v1/mesh/status` and
//! one component's card, `GET /api/v1/entities/{kind}/{namespace}/{name}/mesh`.

use app::auth::guard::Caller;
use app::mesh::service;
use app::mesh::MeshCard;
use axum::extract::State;
use axum::Extension;
use serde_json::{json, Value};

use super::error::ApiResult;
use super::extract::{Json, Path};
use crate::state::AppState;

pub async fn list_services(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let items = service::list_services(&state.ctx, &caller).await?;
    Ok(Json(json!({ "items": items })))
}

pub async fn get_status(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = service::control_planes(&state.ctx, &caller)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "control_plane": c.name,
                "last_success_at": c.freshness.last_success_at,
                "last_error": c.last_error,
                "last_error_at": c.last_error_at,
                "stale": c.freshness.stale,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn get_component_mesh(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Json<MeshCard>> {
    Ok(Json(
        service::component_card(&state.ctx, &caller, &kind, &namespace, &name).await?,
    ))
}
