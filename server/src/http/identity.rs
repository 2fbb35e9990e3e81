//! `GET /api/v1/me` and `GET /api/v1/audit`.

use app::audit::{AuditPage, AuditQuery};
use app::auth::guard::Caller;
use app::auth::CurrentUser;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};

use super::error::ApiResult;
use super::AppState;

/// Identity routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit))
}

/// The caller: user (or token), groups, roles.
async fn me(Extension(caller): Extension<Caller>) -> ApiResult<Json<CurrentUser>> {
    Ok(Json(caller.require_user()?.clone()))
}

/// Audit entries, newest first (admins and auditors).
async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(app::audit::service::list(&state.ctx, &caller, q).await?))
}
