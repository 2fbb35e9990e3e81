//! Backstage-compatible catalog reads under `/api/catalog`, shaped like Backstage's catalog
//! backend so `@backstage/catalog-client` works against Bearing unchanged. The handlers adapt
//! HTTP to [`app::catalog::service::backstage`], which parses Backstage's parameters, checks the
//! caller and reads; errors answer in Backstage's shape.

use app::auth::guard::Caller;
use app::catalog::service::backstage::{self as service, ByRefsRequest, PREDICATES_UNSUPPORTED};
use app::error::AppError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::openapi::schemas::{self, EntityPath};
use crate::state::AppState;

/// An error in Backstage's shape: `{error: {name, message}, request, response: {statusCode}}`.
#[derive(Clone, Debug)]
pub struct BackstageError {
    status: StatusCode,
    name: &'static str,
    message: String,
}

impl BackstageError {
    fn input(message: impl Into<String>) -> Self {
        BackstageError {
            status: StatusCode::BAD_REQUEST,
            name: "InputError",
            message: message.into(),
        }
    }

    /// A request axum could not read (a body that is not JSON, or not sent as JSON): Backstage
    /// calls a client's malformed input an `InputError`.
    pub fn rejected(status: StatusCode, message: String) -> Self {
        let name = if status.is_client_error() && status != StatusCode::UNSUPPORTED_MEDIA_TYPE {
            "InputError"
        } else {
            "Error"
        };
        BackstageError { status, name, message }
    }
}

impl From<AppError> for BackstageError {
    /// Each error under the name Backstage gives its status. Internal details stay in the
    /// server log, as for every other route.
    fn from(err: AppError) -> Self {
        let (name, message) = match &err {
            AppError::BadRequest(message) => ("InputError", message.clone()),
            AppError::Invalid { .. } => ("InputError", err.to_string()),
            AppError::NotFound(_) => ("NotFoundError", err.to_string()),
            AppError::Unauthenticated => ("AuthenticationError", err.to_string()),
            AppError::Forbidden(_) => ("NotAllowedError", err.to_string()),
            AppError::Conflict(_) => ("ConflictError", err.to_string()),
            AppError::Internal | AppError::ServerFn(_) => ("Error", "internal error".to_owned()),
        };
        let status = match err {
            // Backstage answers every input error with 400, including ours that are 422.
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            _ => super::error::status_of(&err),
        };
        BackstageError { status, name, message }
    }
}

impl IntoResponse for BackstageError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "name": self.name, "message": self.message },
            "response": { "statusCode": self.status.as_u16() },
        });
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body of a Backstage-compatible route: rejected in Backstage's shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(BackstageError))]
pub struct BackstageJson<T>(pub T);

impl From<JsonRejection> for BackstageError {
    fn from(rejection: JsonRejection) -> Self {
        BackstageError::rejected(rejection.status(), rejection.body_text())
    }
}

type BsResult<T> = Result<T, BackstageError>;

/// Backstage: one entity by kind, namespace and name.
#[utoipa::path(
    get,
    path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
    operation_id = "backstageGetEntityByName",
    tag = "backstage",
    params(EntityPath),
    responses(
        (status = 200, description = "The entity", body = schemas::BackstageEntity),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = schemas::ApiErrors),
        (status = 404, description = "No such entity", body = schemas::BackstageError),
    ),
)]
pub async fn by_name(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> BsResult<Json<serde_json::Value>> {
    service::by_name(&state.ctx, &caller, &kind, &namespace, &name)
        .await?
        .map(Json)
        .ok_or_else(|| BackstageError {
            status: StatusCode::NOT_FOUND,
            name: "NotFoundError",
            message: format!("No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"),
        })
}

/// Backstage: entities matching a filter, with cursor paging and full-text search.
#[utoipa::path(
    get,
    path = "/api/catalog/entities/by-query",
    operation_id = "backstageQueryEntities",
    tag = "backstage",
    params(schemas::QueryEntitiesParams),
    responses(
        (status = 200, description = "A page", body = schemas::BackstageQueryPage),
        (status = 400, description = "A parameter is not valid", body = schemas::BackstageError),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = schemas::ApiErrors),
    ),
)]
pub async fn by_query(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> BsResult<Json<serde_json::Value>> {
    let page = service::by_query(&state.ctx, &caller, q.as_deref().unwrap_or("")).await?;
    Ok(Json(page))
}

/// `GET /entities`: one page; when more follow, a `Link: <...>; rel="next"` header gives the
/// next page's address, as Backstage's paginated answers do.
#[utoipa::path(
    get,
    path = "/api/catalog/entities",
    operation_id = "backstageGetEntities",
    summary = "Backstage: list entities (legacy)",
    tag = "backstage",
    params(schemas::ListEntitiesParams),
    responses(
        (status = 200, description = "Entities", body = Vec<schemas::BackstageEntity>,
         headers(("Link" = String, description = "`</api/catalog/entities?...>; rel=\"next\"` when more follow"))),
        (status = 400, description = "A parameter is not valid", body = schemas::BackstageError),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = schemas::ApiErrors),
    ),
)]
pub async fn list_entities(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> BsResult<Response> {
    let list = service::list(&state.ctx, &caller, q.as_deref().unwrap_or("")).await?;
    let mut response = Json(list.items).into_response();
    if let Some(next) = list.next {
        if let Ok(link) = HeaderValue::from_str(&format!("</api/catalog/entities?{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

/// Backstage's predicate queries are not supported yet; say so clearly instead of answering
/// 405 or ignoring the predicate.
pub async fn predicates_unsupported() -> BackstageError {
    BackstageError::input(PREDICATES_UNSUPPORTED)
}

/// Backstage: entities matching a predicate query, which Bearing does not support yet.
#[utoipa::path(
    post,
    path = "/api/catalog/entities/by-query",
    operation_id = "backstageQueryEntitiesByPredicate",
    tag = "backstage",
    responses((status = 400, description = "Always: use `GET` with `filter`", body = schemas::BackstageError)),
)]
pub async fn query_by_predicate() -> BackstageError {
    predicates_unsupported().await
}

/// Backstage: facets of the entities matching a predicate query, which Bearing does not
/// support yet.
#[utoipa::path(
    post,
    path = "/api/catalog/entity-facets",
    operation_id = "backstageGetEntityFacetsByPredicate",
    tag = "backstage",
    responses((status = 400, description = "Always: use `GET` with `filter`", body = schemas::BackstageError)),
)]
pub async fn facets_by_predicate() -> BackstageError {
    predicates_unsupported().await
}

/// Backstage: entities by reference, in request order (null where missing).
#[utoipa::path(
    post,
    path = "/api/catalog/entities/by-refs",
    operation_id = "backstageGetEntitiesByRefs",
    tag = "backstage",
    params(schemas::FilterParams),
    request_body = ByRefsRequest,
    responses(
        (status = 200, description = "One item per reference", body = schemas::ByRefsResponse),
        (status = 400, description = "A parameter is not valid", body = schemas::BackstageError),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = schemas::ApiErrors),
    ),
)]
pub async fn by_refs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
    BackstageJson(request): BackstageJson<ByRefsRequest>,
) -> BsResult<Json<serde_json::Value>> {
    let items = service::by_refs(&state.ctx, &caller, q.as_deref().unwrap_or(""), &request).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// Backstage: how many entities have each value of some fields.
#[utoipa::path(
    get,
    path = "/api/catalog/entity-facets",
    operation_id = "backstageGetEntityFacets",
    tag = "backstage",
    params(schemas::FacetParams),
    responses(
        (status = 200, description = "Value counts by field", body = schemas::FacetsResponse),
        (status = 400, description = "A parameter is not valid", body = schemas::BackstageError),
        (status = 401, description = "Not signed in (when anonymous reading is off)", body = schemas::ApiErrors),
    ),
)]
pub async fn facets(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> BsResult<Json<serde_json::Value>> {
    let facets = service::facets(&state.ctx, &caller, q.as_deref().unwrap_or("")).await?;
    Ok(Json(facets))
}
