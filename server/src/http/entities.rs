//! `GET /api/v1/entities` and `GET /api/v1/entities/{kind}/{namespace}/{name}`.

use app::auth::guard::Caller;
use app::catalog::{service, Entity, EntitySummary, ListQuery, Sort};
use app::error::AppError;
use axum::extract::State;
use axum::Extension;
use base64::Engine;
use serde::{Deserialize, Serialize};

use utoipa::{IntoParams, ToSchema};

use super::error::ApiResult;
use super::extract::{Json, Path, Query};
use super::openapi::schemas::{ApiErrors, EntityPath};
use crate::state::AppState;

/// Query string of the list route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Kind filter.
    #[param(example = "component")]
    kind: Option<String>,
    /// `spec.type` filter.
    #[serde(rename = "type")]
    #[param(example = "service")]
    entity_type: Option<String>,
    /// Owner reference, e.g. `group:default/team-payments`.
    owner: Option<String>,
    /// Lifecycle filter.
    #[param(example = "production")]
    lifecycle: Option<String>,
    /// Tag filter.
    tag: Option<String>,
    /// Full-text search with prefix matching and typo tolerance.
    q: Option<String>,
    /// Order (default `relevance`: by search rank when searching, else by name).
    #[param(value_type = Option<app::catalog::Sort>, inline)]
    sort: Option<String>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of entities.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EntityList)]
pub struct ListResponse {
    items: Vec<EntitySummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    next_cursor: Option<String>,
    /// Entities matching the filters, over all pages.
    total: i64,
}

/// Cursors are opaque to clients; today they carry the offset.
pub fn encode_cursor(offset: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(|| AppError::invalid("cursor", "not a cursor returned by this API; start again without it"))
}

/// Lists entities, filtered, searched and sorted, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/entities",
    operation_id = "listEntities",
    tag = "catalog",
    params(ListParams),
    responses(
        (status = 200, description = "A page of entities", body = ListResponse),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = ApiErrors),
        (status = 422, description = "A parameter is not valid", body = ApiErrors,
         example = json!({"errors": [{"detail": "invalid limit: must be between 1 and 500, got 0"}]})),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListResponse>> {
    let offset = p.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or(0);
    let limit = p.limit.unwrap_or(50);
    let query = ListQuery {
        kind: p.kind,
        entity_type: p.entity_type,
        owner: p.owner,
        lifecycle: p.lifecycle,
        tag: p.tag,
        q: p.q,
        sort: p.sort.as_deref().map(Sort::parse).unwrap_or_default(),
        offset,
        limit,
    };
    let page = service::list(&state.ctx, &caller, query).await?;
    let next = offset + page.items.len() as i64;
    Ok(Json(ListResponse {
        next_cursor: (next < page.total && !page.items.is_empty()).then(|| encode_cursor(next)),
        items: page.items,
        total: page.total,
    }))
}

/// One entity with its relations in both directions.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{kind}/{namespace}/{name}",
    operation_id = "getEntity",
    tag = "catalog",
    params(EntityPath),
    responses(
        (status = 200, description = "The entity", body = Entity),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = ApiErrors),
        (status = 404, description = "No such entity", body = ApiErrors),
        (status = 422, description = "Not a valid entity reference", body = ApiErrors),
    ),
)]
pub async fn find(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Json<Entity>> {
    Ok(Json(
        service::entity(&state.ctx, &caller, &kind, &namespace, &name).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(75)).unwrap(), 75);
        assert!(decode_cursor("nope").is_err());
        assert!(decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("o:-5")).is_err());
    }
}
