//! The two passes that write an import without holding all of it at once.
//!
//! A 100,000-entity catalog makes 3.7 million search rows and 770,000 relations; building every
//! entity's body and rows before writing any took 2.4 GB. So the first pass ([`plan`]) only
//! decides, entity by entity, what is added, updated or unchanged (which needs the body and
//! relations, for the etag, but keeps only the etag), and the second ([`write`]) builds and
//! writes [`CHUNK`] entities at a time, dropping each parsed entity once it is written. What
//! needs the whole import in between (the policy watch, the orphans, the search indexes) works
//! from the keys and the plan, which are small.

use std::collections::{HashMap, HashSet};

use bearing_catalog::{Entity, EntityRef};
use sqlx::PgConnection;
use uuid::Uuid;

use super::super::index::{etag, search_rows};
use super::super::{repo, ImportReport};
use super::backstage_body;

/// Entities built and written per round: bounds the rows held at once (about 31 search rows
/// and 6.5 relations per entity in the benchmark catalog) and the size of each statement.
pub const CHUNK: usize = 2000;

/// An entity the import writes: its id (kept from the stored entity, or new) and etag.
pub struct Planned {
    pub id: Uuid,
    pub etag: String,
}

/// First pass: for each entity (by position in the import), whether it is written and with
/// which id, filling the report's added, updated and unchanged lists. `patched` holds the
/// entities that Bearing's edits override, by position.
pub fn plan(
    entities: &[Entity],
    patched: &HashMap<usize, Entity>,
    keys: &[String],
    existing: &HashMap<String, repo::write::ExistingRow>,
    source_ids: &HashMap<String, i64>,
    report: &mut ImportReport,
) -> Vec<Option<Planned>> {
    let mut plan = Vec::with_capacity(entities.len());
    for (i, (e, key)) in entities.iter().zip(keys).enumerate() {
        let e = patched.get(&i).unwrap_or(e);
        let tag = etag(&backstage_body(e), &relations_of(e));
        let source_id = source_ids.get(&e.source).copied().unwrap_or_default();
        let id = match existing.get(key) {
            Some(old) if old.etag == tag && !old.orphaned && old.source_id == Some(source_id) => {
                report.unchanged.push(key.clone());
                plan.push(None);
                continue;
            }
            Some(old) => {
                report.updated.push(key.clone());
                old.id
            }
            None => {
                report.added.push(key.clone());
                Uuid::new_v4()
            }
        };
        plan.push(Some(Planned { id, etag: tag }));
    }
    plan
}

/// Second pass: builds and writes the planned entities [`CHUNK`] at a time (their old
/// relations and search rows must already be cleared), consuming the parsed entities.
pub async fn write(
    tx: &mut PgConnection,
    entities: Vec<Entity>,
    mut patched: HashMap<usize, Entity>,
    keys: &[String],
    plan: Vec<Option<Planned>>,
    source_ids: &HashMap<String, i64>,
) -> sqlx::Result<()> {
    let mut chunk: Vec<(Entity, &str, Planned)> = Vec::with_capacity(CHUNK);
    for (i, ((e, key), planned)) in entities.into_iter().zip(keys).zip(plan).enumerate() {
        let Some(planned) = planned else { continue };
        let e = patched.remove(&i).unwrap_or(e);
        chunk.push((e, key, planned));
        if chunk.len() == CHUNK {
            write_chunk(tx, &chunk, source_ids).await?;
            chunk.clear();
        }
    }
    write_chunk(tx, &chunk, source_ids).await
}

/// Builds one chunk's rows and writes them: the entities, then their relations and search rows.
async fn write_chunk(
    tx: &mut PgConnection,
    chunk: &[(Entity, &str, Planned)],
    source_ids: &HashMap<String, i64>,
) -> sqlx::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let mut writes = Vec::with_capacity(chunk.len());
    let mut relation_rows: Vec<[String; 4]> = Vec::new();
    let mut search_table_rows: Vec<[String; 4]> = Vec::new();
    for (e, key, planned) in chunk {
        let body = backstage_body(e);
        let relations = relations_of(e);
        let id_text = planned.id.to_string();
        search_table_rows.extend(
            search_rows(&body, &relations)
                .into_iter()
                .map(|(k, v, o)| [id_text.clone(), k, v, o]),
        );
        relation_rows.extend(relations.into_iter().map(|(s, t, d)| [id_text.clone(), s, t, d]));
        writes.push(repo::write::EntityWrite {
            id: planned.id,
            entity_ref: key,
            kind: e.kind.slug(),
            namespace: &e.namespace,
            name: &e.name,
            title: e.title.as_deref(),
            description: e.description.as_deref(),
            entity_type: e.entity_type.as_deref(),
            lifecycle: e.lifecycle.as_deref(),
            owner_ref: e.owner.as_ref().map(EntityRef::key),
            system_ref: e.system.as_ref().map(EntityRef::key),
            domain_ref: e.domain.as_ref().map(EntityRef::key),
            tags: &e.tags,
            labels: serde_json::json!(e.labels),
            annotations: serde_json::json!(e.annotations),
            links: serde_json::json!(e.links),
            body,
            etag: planned.etag.clone(),
            source_id: source_ids.get(&e.source).copied().unwrap_or_default(),
        });
    }
    repo::write::upsert_entities(&mut *tx, &writes).await?;
    repo::write::insert_relations(&mut *tx, &relation_rows).await?;
    repo::write::insert_search(&mut *tx, &search_table_rows).await
}

/// An entity's relations as stored: `(source, type, target)`, each once.
fn relations_of(e: &Entity) -> Vec<(String, String, String)> {
    let mut seen = HashSet::new();
    e.relations
        .iter()
        .map(|r| (r.source.key(), r.kind.as_str().to_owned(), r.target.key()))
        .filter(|r| seen.insert(r.clone()))
        .collect()
}
