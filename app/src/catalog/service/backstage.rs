//! Backstage-compatible catalog reads (`/api/catalog/...`), shaped like Backstage's catalog
//! backend so `@backstage/catalog-client` works against Bearing unchanged. Parameters arrive as
//! Backstage's query strings and are parsed here ([`params`]); malformed ones are
//! [`AppError::BadRequest`], which the handlers answer as Backstage's `InputError`.

pub mod params;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

use super::entity;
use crate::auth::guard::Caller;
use crate::catalog::repo::backstage as bq;
use crate::catalog::repo::{self, EntityRow};
use crate::error::AppError;
use crate::ssr::ServerCtx;
use params::{filters_from_query, form_pairs, project, QueryCursor};

pub use crate::catalog::repo::backstage::{Condition, Filter, Order};

/// Most references one `by-refs` request may name.
pub const MAX_REFS: usize = 1000;

/// Why a predicate query is refused: Backstage's predicate queries (`POST` with
/// `{query: {$all: ...}}`) are not supported yet, and a predicate silently ignored would
/// answer entities the caller filtered out.
pub const PREDICATES_UNSUPPORTED: &str =
    "predicate queries (`query` in a POST body) are not supported; use the `filter` query parameter";

/// The body of `POST /entities/by-refs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"entityRefs": ["component:default/checkout", "api:checkout-api"], "fields": ["metadata.name"]}))]
pub struct ByRefsRequest {
    /// Entity references (`kind:namespace/name`, namespace and kind defaults as Backstage's),
    /// at most 1000 (`MAX_REFS`).
    pub entity_refs: Vec<String>,
    /// Dotted paths to keep of each entity (all of it when empty).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Backstage's predicate query; refused rather than silently ignored.
    #[schema(value_type = Option<Object>)]
    pub query: Option<Value>,
}

/// One page of `GET /entities`.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityList {
    /// The entities, projected onto the requested fields.
    pub items: Vec<Value>,
    /// The query string of the next page, when one follows.
    pub next: Option<String>,
}

/// `GET /entities/by-name/{kind}/{namespace}/{name}`: the entity, or `None` when the catalog
/// has none by that name (a name that is not a valid reference included).
pub async fn by_name(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, AppError> {
    caller.require_reader(ctx)?;
    let Ok(key) = super::ref_key(kind, namespace, name) else {
        return Ok(None);
    };
    let pool = ctx.pool.clone();
    ctx.cache
        .get_or_load(format!("by-name|{key}"), async move {
            Ok::<_, AppError>(load(&pool, std::slice::from_ref(&key)).await?.pop().flatten())
        })
        .await
}

/// `GET /entities/by-query?...`: one page with its total and cursors, as `raw_query` asks.
pub async fn by_query(ctx: &ServerCtx, caller: &Caller, raw_query: &str) -> Result<Value, AppError> {
    caller.require_reader(ctx)?;
    let (pool, query) = (ctx.pool.clone(), raw_query.to_owned());
    ctx.cache
        .get_or_load(format!("by-query|{raw_query}"), async move {
            query_page(&pool, &query).await
        })
        .await
}

async fn query_page(pool: &PgPool, raw_query: &str) -> Result<Value, AppError> {
    let p = params::QueryParams::parse(raw_query)?;
    let mut conn = pool.acquire().await?;
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
    let items: Vec<Value> = load(pool, &refs)
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

/// `GET /entities?...`: one page (at most `limit`, or the server maximum without one), and
/// the next page's query string when more follow.
pub async fn list(ctx: &ServerCtx, caller: &Caller, raw_query: &str) -> Result<EntityList, AppError> {
    caller.require_reader(ctx)?;
    let p = params::ListParams::parse(raw_query)?;
    let mut conn = ctx.pool.acquire().await?;
    // One more than asked for tells whether another page follows.
    let (mut refs, _) = bq::query_ids(&mut conn, &p.filter, None, &p.order, p.offset, p.limit + 1).await?;
    drop(conn);
    let more = refs.len() as i64 > p.limit;
    refs.truncate(usize::try_from(p.limit).unwrap_or(0));
    let items = load(&ctx.pool, &refs)
        .await?
        .into_iter()
        .flatten()
        .map(|e| project(e, &p.fields))
        .collect();
    let next = more.then(|| params::with_offset(raw_query, p.offset.saturating_add(p.limit)));
    Ok(EntityList { items, next })
}

/// `POST /entities/by-refs?filter=...`: the entities named, in the order named, `null` for
/// those not in the catalog or not matching the filter.
pub async fn by_refs(
    ctx: &ServerCtx,
    caller: &Caller,
    raw_query: &str,
    request: &ByRefsRequest,
) -> Result<Vec<Value>, AppError> {
    caller.require_reader(ctx)?;
    if request.query.is_some() {
        return Err(AppError::BadRequest(PREDICATES_UNSUPPORTED.into()));
    }
    if request.entity_refs.len() > MAX_REFS {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_REFS} entityRefs per request"
        )));
    }
    let filter: Filter = filters_from_query(raw_query)?;
    let keys: Vec<String> = request
        .entity_refs
        .iter()
        .map(|r| {
            bearing_catalog::EntityRef::parse(r, None, "default")
                .map(|r| r.key())
                .unwrap_or_default()
        })
        .collect();
    let allowed: Option<HashSet<String>> = if filter.is_empty() {
        None
    } else {
        let mut conn = ctx.pool.acquire().await?;
        Some(
            bq::query_ids(&mut conn, &filter, None, &[], 0, 100_000)
                .await?
                .0
                .into_iter()
                .collect(),
        )
    };
    Ok(load(&ctx.pool, &keys)
        .await?
        .into_iter()
        .zip(&keys)
        .map(|(e, k)| match (e, &allowed) {
            (Some(_), Some(ok)) if !ok.contains(k) => Value::Null,
            (Some(e), _) => project(e, &request.fields),
            (None, _) => Value::Null,
        })
        .collect())
}

/// `GET /entity-facets?facet=...&filter=...`: counts of each value of every facet asked for.
pub async fn facets(ctx: &ServerCtx, caller: &Caller, raw_query: &str) -> Result<Value, AppError> {
    caller.require_reader(ctx)?;
    ctx.cache
        .get_or_load(format!("facets|{raw_query}"), {
            let (pool, query) = (ctx.pool.clone(), raw_query.to_owned());
            async move { count_facets(&pool, &query).await }
        })
        .await
}

async fn count_facets(pool: &PgPool, raw_query: &str) -> Result<Value, AppError> {
    let filter = filters_from_query(raw_query)?;
    let names: Vec<String> = form_pairs(raw_query)
        .into_iter()
        .filter(|(k, _)| k == "facet")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect();
    if names.is_empty() {
        return Err(AppError::BadRequest(
            "missing required parameter `facet`, e.g. ?facet=kind".into(),
        ));
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let counts = bq::facet(pool, &name, &filter).await?;
        let values: Vec<_> = counts
            .into_iter()
            .map(|(value, count)| serde_json::json!({ "value": value, "count": count }))
            .collect();
        out.insert(name, values.into());
    }
    Ok(serde_json::json!({ "facets": out }))
}

/// Entities in Backstage's shape, in the order of `keys`; `None` for keys not in the catalog
/// and for a key repeated (each entity is answered once).
async fn load(pool: &PgPool, keys: &[String]) -> Result<Vec<Option<Value>>, AppError> {
    let rows = repo::find_by_refs(pool, keys).await?;
    let rels = repo::relations_of_many(pool, keys).await?;
    let mut relations: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for r in &rels {
        for end in [r.source_ref.as_str(), r.target_ref.as_str()] {
            if let Some(seen) = r.seen_from(end) {
                relations.entry(end).or_default().push(seen);
            }
        }
    }
    let mut by_key: HashMap<String, EntityRow> = rows.into_iter().map(|r| (r.summary.entity_ref.clone(), r)).collect();
    Ok(keys
        .iter()
        .map(|k| {
            by_key
                .remove(k)
                .map(|row| entity::backstage(row, relations.get(k.as_str()).map(Vec::as_slice).unwrap_or(&[])))
        })
        .collect())
}
