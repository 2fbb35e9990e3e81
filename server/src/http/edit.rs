//! Ownership and field edits as JSON: transfer, transfers list, accept/reject, PATCH.

use app::auth::guard::Caller;
use app::catalog::ownership::{service, EntityPatch, TransferOutcome, TransferView};
use app::catalog::Entity;
use axum::extract::State;
use axum::Extension;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Json, Path};
use crate::state::AppState;

/// `PATCH /api/v1/entities/{kind}/{namespace}/{name}`, merged into the entity route: the entity
/// as `GET` shows it after the edit.
pub async fn patch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Json(body): Json<EntityPatch>,
) -> ApiResult<Json<Entity>> {
    Ok(Json(
        service::patch_entity(&state.ctx, &caller, &kind, &namespace, &name, body).await?,
    ))
}

/// Body of a transfer request.
#[derive(Deserialize)]
pub struct TransferBody {
    to: String,
    reason: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Json(body): Json<TransferBody>,
) -> ApiResult<Json<TransferOutcome>> {
    let key = app::catalog::service::ref_key(&kind, &namespace, &name)?;
    Ok(Json(
        service::transfer(&state.ctx, &caller, &key, &body.to, &body.reason).await?,
    ))
}

/// The transfers the caller may see.
#[derive(Serialize)]
pub struct TransferList {
    items: Vec<TransferView>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<TransferList>> {
    Ok(Json(TransferList {
        items: service::pending(&state.ctx, &caller).await?,
    }))
}

pub async fn accept(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(service::decide(&state.ctx, &caller, id, true).await?))
}

pub async fn reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(service::decide(&state.ctx, &caller, id, false).await?))
}
