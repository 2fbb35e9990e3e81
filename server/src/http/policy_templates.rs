//! The policies admins' templates (`--policy-templates`) give a component: previewed, applied,
//! adopted and rolled back one template at a time, with the roles and audit of the traffic
//! policy (`http/policy.rs`).

use app::auth::guard::Caller;
use app::policy::{templated, ApplyRequest, PolicyWriteResult, RollbackRequest, TemplatePolicies};
use axum::extract::State;
use axum::Extension;

use super::error::ApiResult;
use super::extract::{Json, Path};
use super::openapi::schemas::{ApiErrors, EntityPath, TemplatePolicyPath};
use crate::state::AppState;

/// The policies the templates give the component: for each matching template, the policy in
/// the mesh, the proposal, the diff and whether they agree.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/templates",
    operation_id = "getComponentTemplatePolicies",
    tag = "mesh",
    params(EntityPath),
    responses(
        (status = 200, description = "One item per matching template (none without `--policy-templates`)", body = TemplatePolicies),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such component, or it is not in the mesh", body = ApiErrors),
        (status = 422, description = "Not a component", body = ApiErrors),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Json<TemplatePolicies>> {
    Ok(Json(
        templated::preview(&state.ctx, &caller, &kind, &namespace, &name).await?,
    ))
}

/// Applies one template's policy (a lead of the owning team, or an admin), if it is still the
/// one previewed (`expected_hash`); audited with before and after.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/templates/{template}/apply",
    operation_id = "applyComponentTemplatePolicy",
    tag = "mesh",
    params(TemplatePolicyPath),
    request_body(content = ApplyRequest, example = json!({
        "reason": "tier-1 timeouts for checkout",
        "expected_hash": "3f9a0c1d2e4b5a69"
    })),
    responses(
        (status = 200, description = "Written; Kuma's warnings, if any", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component in the mesh, or no such template applies to it", body = ApiErrors),
        (status = 409, description = "The proposal changed since the preview, or the control plane is read-only or refused it", body = ApiErrors),
        (status = 422, description = "No reason given, or `shadow` asked for", body = ApiErrors),
    ),
)]
pub async fn apply(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name, template)): Path<(String, String, String, String)>,
    Json(body): Json<ApplyRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    if body.shadow {
        return Err(app::error::AppError::invalid("shadow", "templated policies have no shadow phase").into());
    }
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(
        templated::apply(
            &state.ctx,
            &caller,
            entity,
            &template,
            &body.reason,
            &body.expected_hash,
        )
        .await?,
    ))
}

/// Undoes Bearing's latest write of one template's policy (puts back what it replaced, or
/// deletes what it created).
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/templates/{template}/rollback",
    operation_id = "rollbackComponentTemplatePolicy",
    tag = "mesh",
    params(TemplatePolicyPath),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Restored or deleted", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component in the mesh, or no such template applies to it", body = ApiErrors),
        (status = 409, description = "Nothing to roll back, or the control plane is read-only", body = ApiErrors),
        (status = 422, description = "No reason given", body = ApiErrors),
    ),
)]
pub async fn rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name, template)): Path<(String, String, String, String)>,
    Json(body): Json<RollbackRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(
        templated::rollback(&state.ctx, &caller, entity, &template, &body.reason).await?,
    ))
}

/// Keeps an edit made outside Bearing to one template's policy.
#[utoipa::path(
    post,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/policy/templates/{template}/adopt",
    operation_id = "adoptComponentTemplatePolicy",
    tag = "mesh",
    params(TemplatePolicyPath),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Adopted", body = PolicyWriteResult),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Not a lead of the owning team, nor an admin", body = ApiErrors),
        (status = 404, description = "No such component in the mesh, or no such template applies to it", body = ApiErrors),
        (status = 409, description = "Nothing edited outside Bearing, or the control plane is read-only", body = ApiErrors),
        (status = 422, description = "No reason given", body = ApiErrors),
    ),
)]
pub async fn adopt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name, template)): Path<(String, String, String, String)>,
    Json(body): Json<RollbackRequest>,
) -> ApiResult<Json<PolicyWriteResult>> {
    let entity = (kind.as_str(), namespace.as_str(), name.as_str());
    Ok(Json(
        templated::adopt(&state.ctx, &caller, entity, &template, &body.reason).await?,
    ))
}
