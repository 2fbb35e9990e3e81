//! The mesh state the poller stored: `GET /api/v1/mesh/services`, `GET /api/v1/mesh/status`,
//! one component's card, `GET /api/v1/entities/{kind}/{namespace}/{name}/mesh`, and where the
//! mesh and the catalog disagree about owners, `GET /api/v1/mesh/ownership-drift`.

use app::auth::guard::Caller;
use app::mesh::ownership::{self, OwnershipDrift, OwnershipFilter};
use app::mesh::service;
use app::mesh::MeshCard;
use axum::extract::State;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::error::ApiResult;
use super::extract::{Json, Path, Query};
use super::openapi::schemas::{ApiErrors, EntityPath, MeshServices, MeshStatus};
use crate::state::AppState;

/// Every Kuma service seen, with proxies, mTLS, mapped component and traffic.
#[utoipa::path(
    get,
    path = "/api/v1/mesh/services",
    operation_id = "listMeshServices",
    tag = "mesh",
    responses(
        (status = 200, description = "Every service of every control plane", body = MeshServices),
        (status = 401, description = "Not signed in", body = ApiErrors),
    ),
)]
pub async fn list_services(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let items = service::list_services(&state.ctx, &caller).await?;
    Ok(Json(json!({ "items": items })))
}

/// Per control plane: last successful poll, last error, stale.
#[utoipa::path(
    get,
    path = "/api/v1/mesh/status",
    operation_id = "getMeshStatus",
    tag = "mesh",
    responses(
        (status = 200, description = "One item per configured control plane", body = MeshStatus),
        (status = 401, description = "Not signed in", body = ApiErrors),
    ),
)]
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

/// One component's mesh card: each Kuma service it maps to, with its proxies, mTLS, allowed
/// and denied callers, current traffic and recent history.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/mesh",
    operation_id = "getComponentMesh",
    tag = "mesh",
    params(EntityPath),
    responses(
        (status = 200, description = "The card; `services` is empty when the component is not in the mesh", body = MeshCard),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such component", body = ApiErrors),
    ),
)]
pub async fn get_component_mesh(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Json<MeshCard>> {
    Ok(Json(
        service::component_card(&state.ctx, &caller, &kind, &namespace, &name).await?,
    ))
}

/// Query string of `GET /api/v1/mesh/ownership-drift`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnershipParams {
    /// Only the components this team owns (`payments` or `group:default/payments`).
    team: Option<String>,
    /// Team mismatches on this control plane's dataplanes (components without a Kuma identity
    /// have none and are listed whatever it is).
    control_plane: Option<String>,
    /// Team mismatches in this mesh, and the components without a Kuma identity that could be
    /// in it (their `kuma.io/mesh` annotation names it, or no mesh).
    #[param(example = "default")]
    mesh: Option<String>,
}

/// Ownership drift: dataplanes whose team label (`--kuma-team-label`, `team` by default) names
/// another team than their component's catalog owner, and service and website components no
/// Kuma service with proxies maps to. At most 1,000 findings of each kind; `totals` counts all.
/// Nothing is reported while no control plane is configured.
#[utoipa::path(
    get,
    path = "/api/v1/mesh/ownership-drift",
    operation_id = "listOwnershipDrift",
    tag = "mesh",
    params(OwnershipParams),
    responses(
        (status = 200, description = "The findings, team mismatches first", body = OwnershipDrift),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 422, description = "A team that is not a group", body = ApiErrors),
    ),
)]
pub async fn list_ownership_drift(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<OwnershipParams>,
) -> ApiResult<Json<OwnershipDrift>> {
    let filter = OwnershipFilter {
        team: params.team,
        control_plane: params.control_plane,
        mesh: params.mesh,
    };
    Ok(Json(ownership::list(&state.ctx, &caller, &filter).await?))
}
