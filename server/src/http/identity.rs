//! `GET /api/v1/me` and `GET /api/v1/audit`.

use app::audit::{AuditPage, AuditQuery};
use app::auth::guard::Caller;
use app::auth::CurrentUser;
use axum::extract::State;
use axum::Extension;

use super::error::ApiResult;
use super::extract::{Json, Query};
use crate::state::AppState;

/// The caller: user (or token), groups, roles.
pub async fn me(Extension(caller): Extension<Caller>) -> ApiResult<Json<CurrentUser>> {
    Ok(Json(app::auth::service::me(&caller)?))
}

/// Audit entries, newest first (admins and auditors).
pub async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(app::audit::service::list(&state.ctx, &caller, q).await?))
}
