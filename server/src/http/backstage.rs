//! Backstage-compatible catalog reads under `/api/catalog`, shaped like Backstage's catalog
//! backend so `@backstage/catalog-client` works against Bearing unchanged.

mod params;

use std::collections::HashMap;

use app::catalog::repo::backstage::{self as bq, Filter};
use app::catalog::repo::{self, EntityRow};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::extract::BackstageJson;
use crate::state::AppState;
pub use params::{parse_filter, project, QueryCursor};

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

impl From<sqlx::Error> for BackstageError {
    /// Through [`AppError`]'s mapping, so input the database cannot hold (a NUL byte, a number
    /// out of range) is the caller's error here too.
    fn from(err: sqlx::Error) -> Self {
        match app::error::AppError::from(err) {
            app::error::AppError::BadRequest(message) => BackstageError::input(message),
            _ => BackstageError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                name: "Error",
                message: "internal error".into(),
            },
        }
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

type BsResult<T> = Result<T, BackstageError>;

/// Entities in Backstage's shape (uid, etag and relations in both directions added), in the
/// order of `keys`; `None` for keys not in the catalog.
async fn load(state: &AppState, keys: &[String]) -> BsResult<Vec<Option<serde_json::Value>>> {
    let rows = repo::find_by_refs(&state.ctx.pool, keys).await?;
    let rels = repo::relations_of_many(&state.ctx.pool, keys).await?;
    let mut relations: HashMap<&str, Vec<serde_json::Value>> = HashMap::new();
    for r in &rels {
        for end in [r.source_ref.as_str(), r.target_ref.as_str()] {
            if let Some((name, other)) = r.seen_from(end) {
                relations.entry(end).or_default().push(relation_json(name, other));
            }
        }
    }
    let mut by_key: HashMap<String, EntityRow> = rows.into_iter().map(|r| (r.summary.entity_ref.clone(), r)).collect();
    Ok(keys
        .iter()
        .map(|k| {
            by_key.remove(k).map(|row| {
                let mut body = row.body.0;
                if let Some(meta) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                    meta.insert("uid".into(), row.summary.id.to_string().into());
                    meta.insert("etag".into(), row.etag.clone().into());
                }
                let mut rels = relations.remove(k.as_str()).unwrap_or_default();
                rels.sort_by_key(|v| v.to_string());
                rels.dedup();
                if let Some(obj) = body.as_object_mut() {
                    obj.insert("relations".into(), rels.into());
                }
                body
            })
        })
        .collect())
}

fn relation_json(kind: &str, target: &str) -> serde_json::Value {
    let (k, ns, n) = app::catalog::split_ref(target).unwrap_or(("", "", target));
    serde_json::json!({ "type": kind, "targetRef": target, "target": { "kind": k, "namespace": ns, "name": n } })
}

pub async fn by_name(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> BsResult<Json<serde_json::Value>> {
    let not_found = || BackstageError {
        status: StatusCode::NOT_FOUND,
        name: "NotFoundError",
        message: format!("No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"),
    };
    let key = app::catalog::service::ref_key(&kind, &namespace, &name).map_err(|_| not_found())?;
    let found = state
        .ctx
        .cache
        .get_or_load(format!("by-name|{key}"), async {
            Ok::<_, BackstageError>(load(&state, std::slice::from_ref(&key)).await?.pop().flatten())
        })
        .await?;
    found.map(Json).ok_or_else(not_found)
}

pub async fn by_query(State(state): State<AppState>, uri: Uri) -> BsResult<Json<serde_json::Value>> {
    let query = uri.query().unwrap_or("").to_owned();
    let key = format!("by-query|{query}");
    state
        .ctx
        .cache
        .get_or_load(key, query_page(&state, query))
        .await
        .map(Json)
}

async fn query_page(state: &AppState, query: String) -> BsResult<serde_json::Value> {
    let p = params::QueryParams::parse(&query)?;
    let mut conn = state.ctx.pool.acquire().await?;
    let (refs, total) = bq::query_ids(
        &mut conn,
        &p.cursor.filter,
        p.cursor.full_text.as_ref().map(|(t, f)| (t.as_str(), f.as_slice())),
        &p.cursor.order,
        p.cursor.offset,
        p.limit,
    )
    .await?;
    drop(conn);
    let items: Vec<serde_json::Value> = load(state, &refs)
        .await?
        .into_iter()
        .flatten()
        .map(|e| project(e, &p.fields))
        .collect();
    let next = p.cursor.offset + refs.len() as i64;
    let mut page_info = serde_json::Map::new();
    if next < total && !refs.is_empty() {
        page_info.insert(
            "nextCursor".into(),
            QueryCursor {
                offset: next,
                ..p.cursor.clone()
            }
            .encode()
            .into(),
        );
    }
    if p.cursor.offset > 0 {
        page_info.insert(
            "prevCursor".into(),
            QueryCursor {
                offset: (p.cursor.offset - p.limit).max(0),
                ..p.cursor.clone()
            }
            .encode()
            .into(),
        );
    }
    Ok(serde_json::json!({ "items": items, "totalItems": total, "pageInfo": page_info }))
}

/// `GET /entities`: one page (at most `limit`, or the server maximum without one); when more
/// follow, a `Link: <...>; rel="next"` header gives the next page's address, as Backstage's
/// paginated answers do.
pub async fn list_entities(State(state): State<AppState>, RawQuery(q): RawQuery) -> BsResult<Response> {
    let q = q.unwrap_or_default();
    let p = params::ListParams::parse(&q)?;
    let mut conn = state.ctx.pool.acquire().await?;
    // One more than asked for tells whether another page follows.
    let (mut refs, _) = bq::query_ids(&mut conn, &p.filter, None, &p.order, p.offset, p.limit + 1).await?;
    drop(conn);
    let more = refs.len() as i64 > p.limit;
    refs.truncate(usize::try_from(p.limit).unwrap_or(0));
    let entities: Vec<serde_json::Value> = load(&state, &refs)
        .await?
        .into_iter()
        .flatten()
        .map(|e| project(e, &p.fields))
        .collect();
    let mut response = Json(entities).into_response();
    if more {
        let next = params::with_offset(&q, p.offset.saturating_add(p.limit));
        if let Ok(link) = HeaderValue::from_str(&format!("</api/catalog/entities?{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

/// Body of `POST /api/catalog/entities/by-refs`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByRefs {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
    /// Backstage's predicate query; refused rather than silently ignored.
    query: Option<serde_json::Value>,
}

/// Backstage's predicate queries (`POST` with `{query: {$all: ...}}`) are not supported yet;
/// say so clearly instead of answering 405 or ignoring the predicate.
pub async fn predicates_unsupported() -> BackstageError {
    BackstageError::input(
        "predicate queries (`query` in a POST body) are not supported; use the `filter` query parameter",
    )
}

pub async fn by_refs(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    BackstageJson(body): BackstageJson<ByRefs>,
) -> BsResult<Json<serde_json::Value>> {
    if body.query.is_some() {
        return Err(predicates_unsupported().await);
    }
    if body.entity_refs.len() > 1000 {
        return Err(BackstageError::input("at most 1000 entityRefs per request"));
    }
    let filter: Filter = params::filters_from_query(q.as_deref().unwrap_or(""))?;
    let keys: Vec<String> = body
        .entity_refs
        .iter()
        .map(|r| {
            bearing_catalog::EntityRef::parse(r, None, "default")
                .map(|r| r.key())
                .unwrap_or_default()
        })
        .collect();
    let allowed: Option<std::collections::HashSet<String>> = if filter.is_empty() {
        None
    } else {
        let mut conn = state.ctx.pool.acquire().await?;
        Some(
            bq::query_ids(&mut conn, &filter, None, &[], 0, 100_000)
                .await?
                .0
                .into_iter()
                .collect(),
        )
    };
    let items: Vec<serde_json::Value> = load(&state, &keys)
        .await?
        .into_iter()
        .zip(&keys)
        .map(|(e, k)| match (e, &allowed) {
            (Some(_), Some(ok)) if !ok.contains(k) => serde_json::Value::Null,
            (Some(e), _) => project(e, &body.fields),
            (None, _) => serde_json::Value::Null,
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

pub async fn facets(State(state): State<AppState>, RawQuery(q): RawQuery) -> BsResult<Json<serde_json::Value>> {
    let q = q.unwrap_or_default();
    state
        .ctx
        .cache
        .get_or_load(format!("facets|{q}"), count_facets(&state, q.clone()))
        .await
        .map(Json)
}

async fn count_facets(state: &AppState, q: String) -> BsResult<serde_json::Value> {
    let filter = params::filters_from_query(&q)?;
    let names: Vec<String> = form_pairs(&q)
        .into_iter()
        .filter(|(k, _)| k == "facet")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect();
    if names.is_empty() {
        return Err(BackstageError::input(
            "missing required parameter `facet`, e.g. ?facet=kind",
        ));
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let counts = bq::facet(&state.ctx.pool, &name, &filter).await?;
        let values: Vec<_> = counts
            .into_iter()
            .map(|(value, count)| serde_json::json!({ "value": value, "count": count }))
            .collect();
        out.insert(name, values.into());
    }
    Ok(serde_json::json!({ "facets": out }))
}

/// Query-string pairs, decoded (`+` as space, percent escapes).
pub(crate) fn form_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}
