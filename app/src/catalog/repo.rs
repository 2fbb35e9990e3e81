//! Catalog SQL, one function per query. Every function takes any executor (pool or
//! transaction) so services decide the transaction boundaries.
//!
//! Queries are checked at run time (`sqlx::query_as` + `FromRow`) rather than with the
//! compile-time macros: the list query is assembled from optional filters, which the macros
//! cannot express, and the integration tests in `server/tests/integration/catalog/` execute
//! every function here against a real PostgreSQL, so a broken query fails `make test`.

use std::collections::BTreeMap;

use sqlx::{types::Json, FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

pub mod backstage;
pub mod write;

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

impl RelationRow {
    /// The relation as seen from the entity `key`: its name in that direction (`dependsOn`
    /// from the source, `dependencyOf` from the target) and the other end. `None` when `key`
    /// is neither end, or the stored type is unknown.
    pub fn seen_from(&self, key: &str) -> Option<(&'static str, &str)> {
        let (t, _) = bearing_catalog::RelationType::parse_any(&self.relation)?;
        if self.source_ref == key {
            Some((t.as_str(), &self.target_ref))
        } else if self.target_ref == key {
            Some((t.inverse_str(), &self.source_ref))
        } else {
            None
        }
    }
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

/// Every entity's list row: what the in-memory list index is built from.
pub async fn all_summaries(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<SummaryRow>> {
    sqlx::query_as(&format!("SELECT {SUMMARY_COLUMNS} FROM entities e"))
        .fetch_all(db)
        .await
}

/// Makes the transaction just begun on `db` read-only and repeatable-read: all its statements
/// read one snapshot of the database.
pub async fn repeatable_read(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(db)
        .await
        .map(drop)
}

/// The snapshot the current statement reads with (PostgreSQL's text form, `xmin:xmax:xip,...`)
/// and the database's clock. In a repeatable-read transaction, every later statement reads with
/// the same snapshot: the list index remembers it to read only what changed after it.
pub async fn read_snapshot(db: impl PgExecutor<'_>) -> sqlx::Result<(String, OffsetDateTime)> {
    sqlx::query_as("SELECT pg_current_snapshot()::text, now()")
        .fetch_one(db)
        .await
}

/// The list rows of entities written by a transaction that `snapshot` did not see (committed
/// since, or still running then), at most `limit`. Reads the `changed_xid` index from the
/// snapshot's oldest running transaction on: a few rows after an edit.
pub async fn summaries_changed_since(
    db: impl PgExecutor<'_>,
    snapshot: &str,
    limit: i64,
) -> sqlx::Result<Vec<SummaryRow>> {
    sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM entities e \
         WHERE e.changed_xid >= pg_snapshot_xmin($1::pg_snapshot) \
           AND NOT pg_visible_in_snapshot(e.changed_xid, $1::pg_snapshot) \
         LIMIT $2"
    ))
    .bind(snapshot)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Reference keys that stopped naming a row (deleted, or renamed) in a transaction that
/// `snapshot` did not see. Kept a week (see the migration `catalog_changes_by_transaction`).
pub async fn removed_since(db: impl PgExecutor<'_>, snapshot: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT ref FROM entity_removals \
         WHERE removed_xid >= pg_snapshot_xmin($1::pg_snapshot) \
           AND NOT pg_visible_in_snapshot(removed_xid, $1::pg_snapshot)",
    )
    .bind(snapshot)
    .fetch_all(db)
    .await
}

/// Number of entities of each kind.
pub async fn count_by_kind(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT kind, count(*) FROM entities GROUP BY kind")
        .fetch_all(db)
        .await
}

/// Reference keys among `keys` that exist, with their titles.
pub async fn existing_titles(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<(String, Option<String>)>> {
    sqlx::query_as("SELECT ref, title FROM entities WHERE ref = ANY($1)")
        .bind(keys)
        .fetch_all(db)
        .await
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

/// Whether an entity with reference key `key` is in the catalog.
pub async fn entity_exists(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM entities WHERE ref = $1)")
        .bind(key)
        .fetch_one(db)
        .await
}
