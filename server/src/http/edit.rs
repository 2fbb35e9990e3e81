//! Ownership and field edits as JSON: transfer, transfers list, accept/reject, PATCH.

use app::auth::guard::Caller;
use app::catalog::ownership::{service, EntityPatch, TransferOutcome, TransferView};
use app::catalog::Entity;
use axum::extract::State;
use axum::Extension;
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::{Json, Path};
use super::openapi::schemas::{ApiErrors, EntityPath, TransferPath};
use crate::state::AppState;

/// Edits lifecycle, description and links (lead of the owning team, or admin); answers the
/// entity as `GET` shows it after the edit.
///
/// Kept as an override when the entity comes from a file: the next import of that file shows
/// whether the file agrees (the override is cleared) or not (Bearing's value is kept).
#[utoipa::path(
    patch,
    path = "/api/v1/entities/{kind}/{namespace}/{name}",
    operation_id = "patchEntity",
    tag = "ownership",
    params(EntityPath),
    request_body(content = EntityPatch, example = json!({
        "lifecycle": "deprecated",
        "reason": "replaced by checkout-v2"
    })),
    responses(
        (status = 200, description = "The entity after the edit", body = Entity),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such entity", body = ApiErrors),
        (status = 422, description = "A field is not valid, or the kind cannot be edited", body = ApiErrors),
    ),
)]
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
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"to": "team-payments", "reason": "payments now runs checkout"}))]
pub struct TransferBody {
    /// Team: `team-a` or `group:default/team-a`.
    to: String,
    /// Why, for the audit log and the receiving lead.
    reason: String,
}

/// Moves an entity to another team.
///
/// Admins move it at once; leads of the owning team ask, and a lead of the receiving team
/// accepts or rejects.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/transfer",
    operation_id = "transferEntity",
    tag = "ownership",
    params(EntityPath),
    request_body = TransferBody,
    responses(
        (status = 200, description = "Applied, or pending until the receiving lead decides", body = TransferOutcome),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such entity or team", body = ApiErrors),
        (status = 409, description = "A transfer of this entity is already pending", body = ApiErrors),
        (status = 422, description = "A field is not valid", body = ApiErrors),
    ),
)]
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
#[derive(Serialize, ToSchema)]
pub struct TransferList {
    items: Vec<TransferView>,
}

/// Pending transfers the caller may act on or has asked for (admins: all).
#[utoipa::path(
    get,
    path = "/api/v1/transfers",
    operation_id = "listTransfers",
    tag = "ownership",
    responses(
        (status = 200, description = "Pending transfers", body = TransferList),
        (status = 401, description = "Not signed in", body = ApiErrors),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<TransferList>> {
    Ok(Json(TransferList {
        items: service::pending(&state.ctx, &caller).await?,
    }))
}

/// Accepts a pending transfer (a lead of the receiving team, or an admin; never whoever asked
/// for it).
///
/// If the asking team no longer owns the entity, the transfer is cancelled and the answer is 409.
#[utoipa::path(
    post,
    path = "/api/v1/transfers/{id}/accept",
    operation_id = "acceptTransfer",
    tag = "ownership",
    params(TransferPath),
    responses(
        (status = 200, description = "The decided transfer", body = TransferView),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the receiving team, nor an admin; or the one who asked", body = ApiErrors),
        (status = 404, description = "No pending transfer with this id", body = ApiErrors),
        (status = 409, description = "Cancelled instead: the asking team no longer owns the entity", body = ApiErrors),
    ),
)]
pub async fn accept(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(service::decide(&state.ctx, &caller, id, true).await?))
}

/// Rejects a pending transfer (a lead of the receiving team, or an admin; never whoever asked
/// for it).
///
/// If the asking team no longer owns the entity, the transfer is cancelled and the answer is 409.
#[utoipa::path(
    post,
    path = "/api/v1/transfers/{id}/reject",
    operation_id = "rejectTransfer",
    tag = "ownership",
    params(TransferPath),
    responses(
        (status = 200, description = "The decided transfer", body = TransferView),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the receiving team, nor an admin; or the one who asked", body = ApiErrors),
        (status = 404, description = "No pending transfer with this id", body = ApiErrors),
        (status = 409, description = "Cancelled instead: the asking team no longer owns the entity", body = ApiErrors),
    ),
)]
pub async fn reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(service::decide(&state.ctx, &caller, id, false).await?))
}
