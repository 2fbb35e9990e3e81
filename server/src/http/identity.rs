//! `GET /api/v1/me` and `GET /api/v1/audit`.

use app::audit::{AuditPage, AuditQuery};
use app::auth::guard::Caller;
use app::auth::CurrentUser;
use axum::extract::State;
use axum::Extension;

use super::error::ApiResult;
use super::extract::{Json, Query};
use super::openapi::schemas::ApiErrors;
use crate::state::AppState;

/// The caller: user (or token), groups, roles.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "me",
    tag = "identity",
    responses(
        (status = 200, description = "The caller", body = CurrentUser),
        (status = 401, description = "Not signed in", body = ApiErrors),
    ),
)]
pub async fn me(Extension(caller): Extension<Caller>) -> ApiResult<Json<CurrentUser>> {
    Ok(Json(app::auth::service::me(&caller)?))
}

/// Audit entries, newest first (admins and auditors).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "listAudit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries; pass `next_cursor` as `cursor` for the next", body = AuditPage),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 403, description = "Neither admin nor auditor", body = ApiErrors),
        (status = 422, description = "A filter is not valid", body = ApiErrors),
    ),
)]
pub async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(app::audit::service::list(&state.ctx, &caller, q).await?))
}
