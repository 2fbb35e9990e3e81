//! Catalog SQL, one function per query. Every function takes any executor (pool or
//! transaction) so services decide the transaction boundaries.
//!
//! Queries are checked at run time (`sqlx::query_as` + `FromRow`) rather than with the
//! compile-time macros: the list query is assembled from optional filters, which the macros
//! cannot express, and the integration tests in `server/tests/integration/catalog/` execute
//! every function here against a real PostgreSQL, so a broken query fails `make test`.

use std::collections::BTreeMap;

use sqlx::{postgres::PgRow, types::Json, FromRow, PgExecutor, Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

pub mod backstage;

use super::{FacetCount, ListQuery, Sort};

/// The columns a list row needs.
const SUMMARY_COLUMNS: &str = "e.id, e.ref, e.kind, e.namespace, e.name, e.title, e.description, e.type, \
     e.lifecycle, e.owner_ref, e.tags, e.orphaned, e.updated_at";

/// A list row.
#[derive(Clone, Debug, FromRow)]
pub struct SummaryRow {
    pub id: Uuid,
    #[sqlx(rename = "ref")]
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    #[sqlx(rename = "type")]
    pub entity_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_ref: Option<String>,
    pub tags: Vec<String>,
    pub orphaned: bool,
    pub updated_at: OffsetDateTime,
}

/// A whole entity row.
#[derive(Clone, Debug, FromRow)]
pub struct EntityRow {
    #[sqlx(flatten)]
    pub summary: SummaryRow,
    pub system_ref: Option<String>,
    pub domain_ref: Option<String>,
    pub labels: Json<BTreeMap<String, String>>,
    pub annotations: Json<BTreeMap<String, String>>,
    pub links: Json<Vec<bearing_catalog::Link>>,
    pub body: Json<serde_json::Value>,
    pub etag: String,
    pub source: Option<String>,
}

/// A stored relation in its forward direction.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct RelationRow {
    pub source_ref: String,
    #[sqlx(rename = "type")]
    pub relation: String,
    pub target_ref: String,
}

/// Finds one entity by reference key.
pub async fn find_by_ref(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<EntityRow>> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS}, e.system_ref, e.domain_ref, e.labels, e.annotations, e.links, e.body, e.etag, \
                s.location AS source \
         FROM entities e LEFT JOIN sources s ON s.id = e.source_id WHERE e.ref = $1"
    ))
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Finds whole entities by reference keys (missing ones are simply absent).
pub async fn find_by_refs(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<EntityRow>> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS}, e.system_ref, e.domain_ref, e.labels, e.annotations, e.links, e.body, e.etag, \
                s.location AS source \
         FROM entities e LEFT JOIN sources s ON s.id = e.source_id WHERE e.ref = ANY($1)"
    ))
    .bind(keys)
    .fetch_all(db)
    .await
}

/// Every relation touching an entity, in either direction, each once.
pub async fn relations_of(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Vec<RelationRow>> {
    sqlx::query_as(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations \
         WHERE source_ref = $1 OR target_ref = $1 ORDER BY type, source_ref, target_ref",
    )
    .bind(key)
    .fetch_all(db)
    .await
}

/// Every relation touching any of the given entities (for graph walks), each once.
pub async fn relations_of_many(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<RelationRow>> {
    sqlx::query_as(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations \
         WHERE source_ref = ANY($1) OR target_ref = ANY($1) ORDER BY type, source_ref, target_ref",
    )
    .bind(keys)
    .fetch_all(db)
    .await
}

/// Entities on the far end of `type` relations pointing at `target` (e.g. the members of a group).
pub async fn sources_related_to(
    db: impl PgExecutor<'_>,
    relation: &str,
    target: &str,
) -> sqlx::Result<Vec<SummaryRow>> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM entities e \
         WHERE e.ref IN (SELECT source_ref FROM relations WHERE type = $1 AND target_ref = $2) \
         ORDER BY e.kind, e.name"
    ))
    .bind(relation)
    .bind(target)
    .fetch_all(db)
    .await
}

/// Appends the WHERE clause for a list query. `skip` leaves one filter out (for its facet).
fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, q: &ListQuery, tsquery: Option<&str>) {
    qb.push(" WHERE true");
    if let Some(kind) = q.kind.as_deref() {
        qb.push(" AND e.kind = ").push_bind(kind.to_ascii_lowercase());
    }
    if let Some(t) = q.entity_type.as_deref() {
        qb.push(" AND e.type = ").push_bind(t.to_owned());
    }
    if let Some(owner) = q.owner.as_deref() {
        qb.push(" AND e.owner_ref = ").push_bind(owner.to_ascii_lowercase());
    }
    if let Some(l) = q.lifecycle.as_deref() {
        qb.push(" AND e.lifecycle = ").push_bind(l.to_owned());
    }
    if let Some(tag) = q.tag.as_deref() {
        qb.push(" AND e.tags @> ARRAY[").push_bind(tag.to_owned()).push("]::text[]");
    }
    if let Some(text) = q.q.as_deref() {
        // Full-text match (prefixes included) or, for typos, trigram similarity on the name
        // and title.
        qb.push(" AND (");
        match tsquery {
            Some(ts) => {
                qb.push("e.search @@ to_tsquery('simple', ").push_bind(ts.to_owned()).push(") OR ");
            }
            None => {}
        }
        qb.push("e.name % ").push_bind(text.to_ascii_lowercase());
        qb.push(" OR lower(e.title) % ").push_bind(text.to_ascii_lowercase()).push(")");
    }
}

/// One page of entities matching a list query, and the total.
pub async fn list(db: &mut sqlx::PgConnection, q: &ListQuery, tsquery: Option<&str>) -> sqlx::Result<(Vec<SummaryRow>, i64)> {
    let mut qb = QueryBuilder::new(format!("SELECT {SUMMARY_COLUMNS}, count(*) OVER () AS total FROM entities e"));
    push_filters(&mut qb, q, tsquery);
    qb.push(" ORDER BY ");
    match (q.sort, q.q.as_deref()) {
        (Sort::Relevance, Some(text)) => {
            match tsquery {
                Some(ts) => {
                    qb.push("ts_rank(e.search, to_tsquery('simple', ").push_bind(ts.to_owned()).push(")) + ");
                }
                None => {}
            }
            // An exact name match outranks everything; then words, then closeness of the name.
            qb.push("(e.name = ").push_bind(text.to_ascii_lowercase()).push(")::int * 10 + ");
            qb.push("similarity(e.name, ").push_bind(text.to_ascii_lowercase()).push(") DESC, e.name");
        }
        (Sort::Relevance | Sort::Name, _) => {
            qb.push("e.name, e.kind");
        }
        (Sort::NameDesc, _) => {
            qb.push("e.name DESC, e.kind");
        }
        (Sort::Kind, _) => {
            qb.push("e.kind, e.name");
        }
        (Sort::Updated, _) => {
            qb.push("e.updated_at DESC, e.name");
        }
    }
    qb.push(", e.ref LIMIT ").push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
    let rows: Vec<PgRow> = qb.build().fetch_all(&mut *db).await?;
    let total = match rows.first() {
        Some(r) => r.try_get::<i64, _>("total")?,
        // A page past the end has no row to carry the total.
        None if q.offset > 0 => {
            let mut qb = QueryBuilder::new("SELECT count(*) FROM entities e");
            push_filters(&mut qb, q, tsquery);
            qb.build_query_scalar().fetch_one(&mut *db).await?
        }
        None => 0,
    };
    let items = rows.iter().map(SummaryRow::from_row).collect::<sqlx::Result<Vec<_>>>()?;
    Ok((items, total))
}

/// Counts how many entities have each value of `column` among those matching `q`.
/// `column` is one of a fixed set chosen by the caller, never user input.
pub async fn facet(
    db: impl PgExecutor<'_>,
    column: FacetColumn,
    q: &ListQuery,
    tsquery: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<FacetCount>> {
    let expr = match column {
        FacetColumn::Kind => "e.kind",
        FacetColumn::Type => "e.type",
        FacetColumn::Owner => "e.owner_ref",
        FacetColumn::Lifecycle => "e.lifecycle",
        FacetColumn::Tag => "unnest(e.tags)",
    };
    let mut qb = QueryBuilder::new(format!("SELECT v AS value, count(*) AS count FROM (SELECT {expr} AS v FROM entities e"));
    push_filters(&mut qb, q, tsquery);
    qb.push(") f WHERE v IS NOT NULL GROUP BY v ORDER BY count(*) DESC, v LIMIT ").push_bind(limit);
    let rows: Vec<PgRow> = qb.build().fetch_all(db).await?;
    rows.iter()
        .map(|r| Ok(FacetCount { value: r.try_get("value")?, count: r.try_get("count")? }))
        .collect()
}

/// The columns the catalog list can facet on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FacetColumn {
    Kind,
    Type,
    Owner,
    Lifecycle,
    Tag,
}

/// Number of entities of each kind.
pub async fn count_by_kind(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT kind, count(*) FROM entities GROUP BY kind").fetch_all(db).await
}

/// Number of orphaned entities.
pub async fn count_orphaned(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM entities WHERE orphaned").fetch_one(db).await
}

/// The most recently changed entities.
pub async fn recently_updated(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<SummaryRow>> {
    sqlx::query_as(&format!("SELECT {SUMMARY_COLUMNS} FROM entities e ORDER BY e.updated_at DESC, e.ref LIMIT $1"))
        .bind(limit)
        .fetch_all(db)
        .await
}

/// Reference keys among `keys` that exist, with their titles.
pub async fn existing_titles(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
    sqlx::query_as("SELECT ref, title FROM entities WHERE ref = ANY($1)").bind(keys).fetch_all(db).await
}

/// Owned-component completeness for one owner.
pub async fn coverage_for_owner(db: impl PgExecutor<'_>, owner: &str) -> sqlx::Result<(i64, i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT count(*), \
                count(*) FILTER (WHERE coalesce(description, '') <> ''), \
                count(*) FILTER (WHERE lifecycle IS NOT NULL), \
                count(*) FILTER (WHERE system_ref IS NOT NULL AND system_ref IN (SELECT ref FROM entities)), \
                count(*) FILTER (WHERE jsonb_array_length(links) > 0) \
         FROM entities WHERE kind = 'component' AND owner_ref = $1",
    )
    .bind(owner)
    .fetch_one(db)
    .await
}

// ---- Writes, used by the importer (always inside its transaction) ----

/// Serialises imports: two concurrent imports could otherwise both decide an entity is new.
pub async fn lock_for_import(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    // An arbitrary constant naming "the catalog import" lock.
    sqlx::query("SELECT pg_advisory_xact_lock(7263011)").execute(db).await.map(|_| ())
}

/// Inserts or touches a source, returning its id.
pub async fn upsert_source(db: impl PgExecutor<'_>, location: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO sources (location) VALUES ($1) \
         ON CONFLICT (location) DO UPDATE SET last_import_at = now() RETURNING id",
    )
    .bind(location)
    .fetch_one(db)
    .await
}

/// What the importer needs to know about an entity that already exists.
#[derive(Clone, Debug, FromRow)]
pub struct ExistingRow {
    pub id: Uuid,
    #[sqlx(rename = "ref")]
    pub entity_ref: String,
    pub etag: String,
    pub source_id: Option<i64>,
    pub source: Option<String>,
    pub orphaned: bool,
}

/// Existing entities among `keys`.
pub async fn existing_by_refs(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<ExistingRow>> {
    sqlx::query_as(
        "SELECT e.id, e.ref, e.etag, e.source_id, s.location AS source, e.orphaned \
         FROM entities e LEFT JOIN sources s ON s.id = e.source_id WHERE e.ref = ANY($1)",
    )
    .bind(keys)
    .fetch_all(db)
    .await
}

/// Compass ids already in the catalog: (annotation key, value, entity ref).
pub async fn compass_ids(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as(
        "SELECT a.key, a.value, e.ref FROM entities e, jsonb_each_text(e.annotations) a \
         WHERE a.key IN ('compass.atlassian.com/id', 'compass.atlassian.com/team-id')",
    )
    .fetch_all(db)
    .await
}

/// The stored columns of one entity.
#[derive(Clone, Debug)]
pub struct EntityWrite<'a> {
    pub id: Uuid,
    pub entity_ref: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub entity_type: Option<&'a str>,
    pub lifecycle: Option<&'a str>,
    pub owner_ref: Option<String>,
    pub system_ref: Option<String>,
    pub domain_ref: Option<String>,
    pub tags: &'a [String],
    pub labels: serde_json::Value,
    pub annotations: serde_json::Value,
    pub links: serde_json::Value,
    pub body: serde_json::Value,
    pub etag: String,
    pub source_id: i64,
}

/// Inserts entities, or replaces every column of existing ones with the same id, in one
/// statement (an import writes thousands; one round trip each would dominate its time).
pub async fn upsert_entities(db: impl PgExecutor<'_>, rows: &[EntityWrite<'_>]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&EntityWrite<'_>) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let json = |f: fn(&EntityWrite<'_>) -> serde_json::Value| rows.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let source_ids: Vec<i64> = rows.iter().map(|r| r.source_id).collect();
    // text[] per row cannot be a column of UNNEST (it would flatten), so tags travel as JSON.
    let tags: Vec<serde_json::Value> = rows.iter().map(|r| serde_json::json!(r.tags)).collect();
    sqlx::query(
        "INSERT INTO entities (id, ref, kind, namespace, name, title, description, type, lifecycle, \
             owner_ref, system_ref, domain_ref, tags, labels, annotations, links, body, etag, source_id, orphaned) \
         SELECT id, ref, kind, namespace, name, title, description, type, lifecycle, owner_ref, system_ref, domain_ref, \
             ARRAY(SELECT jsonb_array_elements_text(tags)), labels, annotations, links, body, etag, source_id, false \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::jsonb[], $15::jsonb[], $16::jsonb[], \
             $17::jsonb[], $18::text[], $19::bigint[]) \
             AS t(id, ref, kind, namespace, name, title, description, type, lifecycle, owner_ref, system_ref, domain_ref, \
                  tags, labels, annotations, links, body, etag, source_id) \
         ON CONFLICT (id) DO UPDATE SET ref = EXCLUDED.ref, kind = EXCLUDED.kind, namespace = EXCLUDED.namespace, \
             name = EXCLUDED.name, title = EXCLUDED.title, description = EXCLUDED.description, type = EXCLUDED.type, \
             lifecycle = EXCLUDED.lifecycle, owner_ref = EXCLUDED.owner_ref, system_ref = EXCLUDED.system_ref, \
             domain_ref = EXCLUDED.domain_ref, tags = EXCLUDED.tags, labels = EXCLUDED.labels, \
             annotations = EXCLUDED.annotations, links = EXCLUDED.links, body = EXCLUDED.body, etag = EXCLUDED.etag, \
             source_id = EXCLUDED.source_id, orphaned = false, updated_at = now()",
    )
    .bind(ids)
    .bind(col(|r| Some(r.entity_ref.to_owned())))
    .bind(col(|r| Some(r.kind.to_owned())))
    .bind(col(|r| Some(r.namespace.to_owned())))
    .bind(col(|r| Some(r.name.to_owned())))
    .bind(col(|r| r.title.map(str::to_owned)))
    .bind(col(|r| r.description.map(str::to_owned)))
    .bind(col(|r| r.entity_type.map(str::to_owned)))
    .bind(col(|r| r.lifecycle.map(str::to_owned)))
    .bind(col(|r| r.owner_ref.clone()))
    .bind(col(|r| r.system_ref.clone()))
    .bind(col(|r| r.domain_ref.clone()))
    .bind(tags)
    .bind(json(|r| r.labels.clone()))
    .bind(json(|r| r.annotations.clone()))
    .bind(json(|r| r.links.clone()))
    .bind(json(|r| r.body.clone()))
    .bind(col(|r| Some(r.etag.to_owned())))
    .bind(source_ids)
    .execute(db)
    .await
    .map(|_| ())
}

/// Removes the relations and search rows an entity declared, before writing new ones.
pub async fn clear_derived(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query(
        "WITH r AS (DELETE FROM relations WHERE declared_by = ANY($1)) \
         DELETE FROM entity_search WHERE entity_id = ANY($1)",
    )
    .bind(ids)
    .execute(db)
    .await
    .map(|_| ())
}

/// Inserts relations in bulk with COPY (an import of a large catalog writes tens of
/// thousands); the four slices are columns of the same rows. Duplicates must already be
/// removed per declaring entity.
pub async fn insert_relations(
    db: &mut sqlx::PgConnection,
    declared_by: &[Uuid],
    sources: &[String],
    types: &[String],
    targets: &[String],
) -> sqlx::Result<()> {
    let rows = declared_by.iter().zip(sources).zip(types).zip(targets).map(|(((id, s), t), d)| [id.to_string(), s.clone(), t.clone(), d.clone()]);
    copy_rows(db, "COPY relations (declared_by, source_ref, type, target_ref) FROM STDIN", rows).await
}

/// Inserts search rows in bulk with COPY; the four slices are columns of the same rows.
pub async fn insert_search(
    db: &mut sqlx::PgConnection,
    ids: &[Uuid],
    keys: &[String],
    values: &[String],
    originals: &[String],
) -> sqlx::Result<()> {
    let rows = ids.iter().zip(keys).zip(values).zip(originals).map(|(((id, k), v), o)| [id.to_string(), k.clone(), v.clone(), o.clone()]);
    copy_rows(db, "COPY entity_search (entity_id, key, value, original_value) FROM STDIN", rows).await
}

/// Streams rows to a `COPY ... FROM STDIN` statement in PostgreSQL's text format, in chunks.
async fn copy_rows<const N: usize>(
    db: &mut sqlx::PgConnection,
    statement: &str,
    rows: impl Iterator<Item = [String; N]>,
) -> sqlx::Result<()> {
    let mut copy = db.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(1 << 20);
    for row in rows {
        for (i, field) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            push_copy_text(&mut buf, field);
        }
        buf.push('\n');
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    copy.finish().await.map(|_| ())
}

/// Escapes a value for COPY's text format (backslash, tab, newline, carriage return).
fn push_copy_text(buf: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

/// Marks entities of the given sources orphaned unless their ref is in `keep`; returns the
/// refs newly orphaned.
pub async fn orphan_missing(db: impl PgExecutor<'_>, source_ids: &[i64], keep: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE entities SET orphaned = true, updated_at = now() \
         WHERE source_id = ANY($1) AND NOT orphaned AND ref NOT IN (SELECT unnest($2::text[])) RETURNING ref",
    )
    .bind(source_ids)
    .bind(keep)
    .fetch_all(db)
    .await
}

/// Marks orphaned the entities of sources that lie under one of `dirs` but were not read by
/// this import (their file was deleted or moved); returns the refs newly orphaned.
pub async fn orphan_unread_sources(db: impl PgExecutor<'_>, dirs: &[String], read: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE entities SET orphaned = true, updated_at = now() \
         WHERE NOT orphaned AND source_id IN ( \
             SELECT id FROM sources s WHERE NOT (s.id = ANY($2)) \
               AND EXISTS (SELECT 1 FROM unnest($1::text[]) d WHERE starts_with(s.location, d || '/'))) \
         RETURNING ref",
    )
    .bind(dirs)
    .bind(read)
    .fetch_all(db)
    .await
}

/// Tells every listening server that the catalog changed (delivered when the transaction commits).
pub async fn notify_changed(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')").bind(crate::cache::CHANGED_CHANNEL).execute(db).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_separators() {
        let mut buf = String::new();
        push_copy_text(&mut buf, "a\tb\nc\\d\re");
        assert_eq!(buf, "a\\tb\\nc\\\\d\\re");
    }
}
