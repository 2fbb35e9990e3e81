//! Shapes in the API document that no Rust type of the handlers spells out: answers built as
//! JSON values (Backstage entities, health, mesh status), the error bodies, and parameters
//! read from the raw query string. Each says where the real answer is made; when a handler
//! gets a type of its own, describe that type instead and drop the shape here.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

// Made by `crate::http::error::ApiError`.
/// An error of Bearing's own routes: one or more problems, each a sentence naming the thing and
/// the input. An import lists every problem it found.
#[derive(ToSchema)]
#[schema(example = json!({"errors": [{"detail": "entity component:default/nope not found"}]}))]
pub struct ApiErrors {
    pub errors: Vec<ApiErrorDetail>,
}

/// One problem.
#[derive(ToSchema)]
pub struct ApiErrorDetail {
    /// What went wrong, for people; an import problem starts with `file:line:column:`.
    pub detail: String,
}

// Made by `crate::http::backstage::BackstageError`.
/// An error of the Backstage-compatible routes, in Backstage's shape, so
/// `@backstage/catalog-client` reads it. Backstage also sends `request`; Bearing leaves it out.
#[derive(ToSchema)]
#[schema(example = json!({
    "error": {"name": "NotFoundError", "message": "No entity named 'nope' found, with kind 'component' in namespace 'default'"},
    "response": {"statusCode": 404}
}))]
pub struct BackstageError {
    pub error: BackstageErrorName,
    pub response: BackstageErrorResponse,
}

/// Backstage's error class and message.
#[derive(ToSchema)]
pub struct BackstageErrorName {
    /// `InputError`, `NotFoundError`, `NotAllowedError`, `ConflictError`,
    /// `AuthenticationError` or `Error`.
    pub name: String,
    pub message: String,
}

/// The status, repeated in the body as Backstage does.
#[derive(ToSchema)]
pub struct BackstageErrorResponse {
    #[schema(rename = "statusCode")]
    pub status_code: u16,
}

/// The path of one entity.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EntityPath {
    /// Entity kind, case-insensitive (component, api, system, domain, resource, group, user,
    /// location).
    #[param(example = "component")]
    pub kind: String,
    /// Namespace, usually `default`.
    #[param(example = "default")]
    pub namespace: String,
    /// Entity name.
    #[param(example = "checkout")]
    pub name: String,
}

/// The path of one template's policy for one entity.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TemplatePolicyPath {
    /// Entity kind (`component`).
    #[param(example = "component")]
    pub kind: String,
    /// Namespace, usually `default`.
    #[param(example = "default")]
    pub namespace: String,
    /// Entity name.
    #[param(example = "checkout")]
    pub name: String,
    /// The template's name (its file's `name:`).
    #[param(example = "timeouts-tier1")]
    pub template: String,
}

/// The path of one transfer.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TransferPath {
    /// The transfer's `id`.
    #[param(example = 1)]
    pub id: i64,
}

/// `filter`: which entities, as Backstage writes it.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Backstage filter, `key=value` pairs separated by commas (AND); repeat the parameter for
    /// OR. A key alone means the key exists.
    #[param(example = json!(["kind=component,spec.type=service"]))]
    pub filter: Option<Vec<String>>,
}

// Read by `app::catalog::service::backstage::params::ListParams`.
/// The query of `GET /api/catalog/entities`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEntitiesParams {
    /// Backstage filter, `key=value` pairs separated by commas (AND); repeat the parameter for
    /// OR. A key alone means the key exists.
    #[param(example = json!(["kind=component,spec.type=service"]))]
    pub filter: Option<Vec<String>>,
    /// Dotted fields to return, comma-separated (e.g. `kind,metadata.name`); all when absent.
    pub fields: Option<Vec<String>>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Rows, 1-1000. Without it the answer stops at 1000 entities, and a `Link: <...>;
    /// rel="next"` header gives the next page whenever more follow.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `asc:field` or `desc:field`, repeatable.
    #[param(example = "asc:metadata.name")]
    pub order: Option<Vec<String>>,
}

// Read by `app::catalog::service::backstage::params::QueryParams`.
/// The query of `GET /api/catalog/entities/by-query`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueryEntitiesParams {
    /// Backstage filter, `key=value` pairs separated by commas (AND); repeat the parameter for
    /// OR. A key alone means the key exists.
    #[param(example = json!(["kind=component,spec.type=service"]))]
    pub filter: Option<Vec<String>>,
    /// Dotted fields to return, comma-separated (e.g. `kind,metadata.name`); all when absent.
    pub fields: Option<Vec<String>>,
    /// Page size (default 20, max 1000).
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `field,asc|desc`, repeatable.
    #[param(rename = "orderField", example = "metadata.name,asc")]
    pub order_field: Option<Vec<String>>,
    /// Substring to look for.
    #[param(rename = "fullTextFilterTerm")]
    pub full_text_filter_term: Option<String>,
    /// Fields to search, comma-separated (default: the first `orderField`).
    #[param(rename = "fullTextFilterFields")]
    pub full_text_filter_fields: Option<String>,
    /// `pageInfo.nextCursor` or `prevCursor` of an earlier answer; its filter and order win
    /// over the other parameters.
    pub cursor: Option<String>,
}

/// The query of `GET /api/catalog/entity-facets`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacetParams {
    /// Field to count, repeatable (e.g. `kind`, `spec.type`, `metadata.tags`).
    #[param(example = json!(["kind", "spec.type"]))]
    pub facet: Vec<String>,
    /// Backstage filter, `key=value` pairs separated by commas (AND); repeat the parameter for
    /// OR. A key alone means the key exists.
    pub filter: Option<Vec<String>>,
}

// Made by `app::catalog::service::backstage::load`.
/// An entity exactly as Backstage's catalog returns it: the stored document with
/// `metadata.uid`, `metadata.etag` and `relations` in both directions.
#[derive(ToSchema)]
#[schema(example = json!({
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "checkout", "namespace": "default", "uid": "6f1c...", "etag": "3b2a..."},
    "spec": {"type": "service", "lifecycle": "production", "owner": "team-checkout"},
    "relations": [{"type": "ownedBy", "targetRef": "group:default/team-checkout",
                   "target": {"kind": "group", "namespace": "default", "name": "team-checkout"}}]
}))]
pub struct BackstageEntity {
    #[schema(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[schema(value_type = Object)]
    pub spec: Value,
    pub relations: Vec<BackstageRelation>,
}

/// A relation as Backstage writes it.
#[derive(ToSchema)]
pub struct BackstageRelation {
    #[schema(rename = "type")]
    pub relation: String,
    #[schema(rename = "targetRef")]
    pub target_ref: String,
    pub target: BackstageRelationTarget,
}

/// The parts of a relation's other end.
#[derive(ToSchema)]
pub struct BackstageRelationTarget {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// A page of `by-query`.
#[derive(ToSchema)]
pub struct BackstageQueryPage {
    pub items: Vec<BackstageEntity>,
    /// Entities matching, over all pages.
    #[schema(rename = "totalItems")]
    pub total_items: i64,
    #[schema(rename = "pageInfo")]
    pub page_info: BackstagePageInfo,
}

/// Cursors to the neighbouring pages, absent at the ends.
#[derive(ToSchema)]
pub struct BackstagePageInfo {
    #[schema(rename = "nextCursor")]
    pub next_cursor: Option<String>,
    #[schema(rename = "prevCursor")]
    pub prev_cursor: Option<String>,
}

/// The answer of `by-refs`: one item per reference, in request order.
#[derive(ToSchema)]
pub struct ByRefsResponse {
    /// The entity, or null when it does not exist or the filter excludes it.
    pub items: Vec<Option<BackstageEntity>>,
}

// Made by `app::catalog::service::backstage::facets`.
/// Value counts per field.
#[derive(ToSchema)]
#[schema(example = json!({"facets": {"kind": [{"value": "component", "count": 42}, {"value": "api", "count": 9}]}}))]
pub struct FacetsResponse {
    /// By field named in `facet`.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// One value of a field and how many entities have it.
#[derive(ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

// Made by `crate::http::health`.
/// How the server is: `/healthz` and `/readyz`.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ready", "migration": 20260301000000_i64}))]
pub struct Health {
    /// `ok` (healthz); `ready`, `migrations pending`, `database unreachable`, `shutting down` (readyz).
    pub status: String,
    /// The latest migration applied, when ready.
    pub migration: Option<i64>,
    /// The latest migration applied, when migrations are pending.
    pub applied: Option<i64>,
    /// The latest migration this build knows, when migrations are pending.
    pub expected: Option<i64>,
}

// Made by `crate::http::mesh::list_services`.
/// Every Kuma service seen.
#[derive(ToSchema)]
pub struct MeshServices {
    pub items: Vec<app::mesh::ServiceSummary>,
}

// Made by `crate::http::mesh::get_status`.
/// The poller's state, by control plane.
#[derive(ToSchema)]
pub struct MeshStatus {
    pub items: Vec<ControlPlaneStatus>,
}

/// How the poller fares with one control plane.
#[derive(ToSchema)]
pub struct ControlPlaneStatus {
    #[schema(example = "kuma-eu")]
    pub control_plane: String,
    /// RFC 3339; null before the first successful poll.
    pub last_success_at: Option<String>,
    /// The last poll's error, when it failed.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub last_error_at: Option<String>,
    /// Not read successfully for 3 poll intervals.
    pub stale: bool,
}

/// A file download (`type: string, format: binary`), such as the evidence bundle's zip.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BinaryFile(pub Vec<u8>);
