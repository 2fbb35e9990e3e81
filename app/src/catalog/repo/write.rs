//! Catalog writes, used by the importer inside its transaction: sources, entities, the
//! relations and search rows derived from them, orphan marking and change notification.

use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

/// Serialises imports: two concurrent imports could otherwise both decide an entity is new.
pub async fn lock_for_import(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    // An arbitrary constant naming "the catalog import" lock.
    sqlx::query("SELECT pg_advisory_xact_lock(7263011)")
        .execute(db)
        .await
        .map(|_| ())
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
    pub labels: Value,
    pub annotations: Value,
    pub links: Value,
    pub body: Value,
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
    let json = |f: fn(&EntityWrite<'_>) -> Value| rows.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let source_ids: Vec<i64> = rows.iter().map(|r| r.source_id).collect();
    // text[] per row cannot be a column of UNNEST (it would flatten), so tags travel as JSON.
    let tags: Vec<Value> = rows.iter().map(|r| serde_json::json!(r.tags)).collect();
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

/// Number of entities in the catalog, orphaned ones included.
pub async fn count_entities(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM entities").fetch_one(db).await
}

/// Drops the two indexes of `entity_search` for the rest of the import's transaction (the
/// function refuses to run without the import's lock); [`create_search_indexes`] builds them
/// again. Until the transaction ends, every other query on `entity_search` waits for it.
pub async fn drop_search_indexes(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SELECT catalog_search_indexes_drop()")
        .execute(db)
        .await
        .map(|_| ())
}

/// Builds the indexes [`drop_search_indexes`] dropped, over every row at once.
pub async fn create_search_indexes(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SELECT catalog_search_indexes_create()")
        .execute(db)
        .await
        .map(|_| ())
}

/// Inserts relations in bulk with COPY (an import of a large catalog writes tens of
/// thousands): rows of `[declared_by, source_ref, type, target_ref]`. Duplicates must already
/// be removed per declaring entity.
pub async fn insert_relations(db: &mut sqlx::PgConnection, rows: &[[String; 4]]) -> sqlx::Result<()> {
    copy_rows(
        db,
        "COPY relations (declared_by, source_ref, type, target_ref) FROM STDIN",
        rows,
    )
    .await
}

/// Inserts search rows in bulk with COPY: rows of `[entity_id, key, value, original_value]`.
pub async fn insert_search(db: &mut sqlx::PgConnection, rows: &[[String; 4]]) -> sqlx::Result<()> {
    copy_rows(
        db,
        "COPY entity_search (entity_id, key, value, original_value) FROM STDIN",
        rows,
    )
    .await
}

/// Streams rows to a `COPY ... FROM STDIN` statement in PostgreSQL's text format, in chunks.
async fn copy_rows<const N: usize>(
    db: &mut sqlx::PgConnection,
    statement: &str,
    rows: &[[String; N]],
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
pub async fn orphan_unread_sources(
    db: impl PgExecutor<'_>,
    dirs: &[String],
    read: &[i64],
) -> sqlx::Result<Vec<String>> {
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
    crate::cache::notify(db, crate::cache::CHANGED_CHANNEL).await
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
