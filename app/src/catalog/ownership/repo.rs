//! SQL for overrides and transfers, and for rewriting one entity's stored row after an edit.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// The parts of an entity row an edit reads and rewrites.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EditableRow {
    pub id: Uuid,
    #[sqlx(rename = "ref")]
    pub entity_ref: String,
    pub kind: String,
    pub owner_ref: Option<String>,
    pub lifecycle: Option<String>,
    pub description: Option<String>,
    pub links: Value,
    pub body: Value,
    pub source: Option<String>,
}

/// Locks and reads one entity for editing.
pub async fn lock_entity(db: &mut PgConnection, key: &str) -> sqlx::Result<Option<EditableRow>> {
    sqlx::query_as(
        "SELECT e.id, e.ref, e.kind, e.owner_ref, e.lifecycle, e.description, e.links, e.body, s.location AS source
         FROM entities e LEFT JOIN sources s ON s.id = e.source_id WHERE e.ref = $1 FOR UPDATE OF e",
    )
    .bind(key)
    .fetch_optional(db)
    .await
}

/// An override row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OverrideRow {
    pub entity_ref: String,
    pub field: String,
    pub value: Value,
    pub source_value: Option<Value>,
    pub edited_by: String,
    pub edited_at: OffsetDateTime,
}

/// Overrides of the entities with these reference keys.
pub async fn overrides_of(db: impl PgExecutor<'_>, keys: &[String]) -> sqlx::Result<Vec<OverrideRow>> {
    sqlx::query_as(
        "SELECT e.ref AS entity_ref, o.field, o.value, o.source_value, o.edited_by, o.edited_at
         FROM entity_overrides o JOIN entities e ON e.id = o.entity_id WHERE e.ref = ANY($1) ORDER BY e.ref, o.field",
    )
    .bind(keys)
    .fetch_all(db)
    .await
}

/// Creates or replaces an override.
pub async fn upsert_override(
    db: impl PgExecutor<'_>,
    entity_id: Uuid,
    field: &str,
    value: &Value,
    source_value: Option<&Value>,
    edited_by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO entity_overrides (entity_id, field, value, source_value, edited_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (entity_id, field) DO UPDATE
           SET value = EXCLUDED.value, source_value = EXCLUDED.source_value,
               edited_by = EXCLUDED.edited_by, edited_at = now()",
    )
    .bind(entity_id)
    .bind(field)
    .bind(value)
    .bind(source_value)
    .bind(edited_by)
    .execute(db)
    .await?;
    Ok(())
}

/// Records what the source says now, keeping Bearing's value.
pub async fn set_override_source(
    db: impl PgExecutor<'_>,
    key: &str,
    field: &str,
    source_value: Option<&Value>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE entity_overrides o SET source_value = $3 FROM entities e
         WHERE e.id = o.entity_id AND e.ref = $1 AND o.field = $2",
    )
    .bind(key)
    .bind(field)
    .bind(source_value)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an override (the source agrees again).
pub async fn delete_override(db: impl PgExecutor<'_>, key: &str, field: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM entity_overrides o USING entities e WHERE e.id = o.entity_id AND e.ref = $1 AND o.field = $2",
    )
    .bind(key)
    .bind(field)
    .execute(db)
    .await?;
    Ok(())
}

/// Rewrites the edited columns, body and etag of one entity.
pub async fn update_entity_fields(db: impl PgExecutor<'_>, row: &EditableRow, etag: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE entities SET owner_ref = $2, lifecycle = $3, description = $4, links = $5, body = $6, etag = $7,
         updated_at = now() WHERE id = $1",
    )
    .bind(row.id)
    .bind(&row.owner_ref)
    .bind(&row.lifecycle)
    .bind(&row.description)
    .bind(&row.links)
    .bind(&row.body)
    .bind(etag)
    .execute(db)
    .await?;
    Ok(())
}

/// The relations an entity declares, as (source, type, target).
pub async fn declared_relations(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as("SELECT source_ref, type, target_ref FROM relations WHERE declared_by = $1 ORDER BY 1, 2, 3")
        .bind(id)
        .fetch_all(db)
        .await
}

/// Replaces the `ownedBy` relation an entity declares.
pub async fn replace_owner_relation(db: &mut PgConnection, id: Uuid, key: &str, owner: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM relations WHERE declared_by = $1 AND source_ref = $2 AND type = 'ownedBy'")
        .bind(id)
        .bind(key)
        .execute(&mut *db)
        .await?;
    sqlx::query("INSERT INTO relations (declared_by, source_ref, type, target_ref) VALUES ($1, $2, 'ownedBy', $3)")
        .bind(id)
        .bind(key)
        .bind(owner)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces an entity's search rows.
pub async fn replace_search_rows(
    db: &mut PgConnection,
    id: Uuid,
    rows: &[(String, String, String)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM entity_search WHERE entity_id = $1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    let (keys, values, originals): (Vec<_>, Vec<_>, Vec<_>) = rows.iter().cloned().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut k, mut v, mut o), (a, b, c)| {
            k.push(a);
            v.push(b);
            o.push(c);
            (k, v, o)
        },
    );
    sqlx::query(
        "INSERT INTO entity_search (entity_id, key, value, original_value)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])",
    )
    .bind(id)
    .bind(keys)
    .bind(values)
    .bind(originals)
    .execute(db)
    .await?;
    Ok(())
}

/// A transfer row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TransferRow {
    pub id: i64,
    pub entity_ref: String,
    pub from_team: Option<String>,
    pub to_team: String,
    pub reason: String,
    pub requested_by: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

const TRANSFER_COLUMNS: &str =
    "id, entity_id, entity_ref, from_team, to_team, reason, requested_by, status, created_at";

/// Records a transfer (`pending`, or `accepted` when an admin transferred directly).
pub async fn insert_transfer(
    db: impl PgExecutor<'_>,
    row: &EditableRow,
    to: &str,
    reason: &str,
    by: &str,
    status: &str,
) -> sqlx::Result<TransferRow> {
    sqlx::query_as(&format!(
        "INSERT INTO transfers (entity_id, entity_ref, from_team, to_team, reason, requested_by, status, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = 'pending' THEN NULL ELSE $6 END,
                 CASE WHEN $7 = 'pending' THEN NULL ELSE now() END)
         RETURNING {TRANSFER_COLUMNS}"
    ))
    .bind(row.id)
    .bind(&row.entity_ref)
    .bind(&row.owner_ref)
    .bind(to)
    .bind(reason)
    .bind(by)
    .bind(status)
    .fetch_one(db)
    .await
}

/// The pending transfer of an entity, if any.
pub async fn pending_for_entity(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<TransferRow>> {
    sqlx::query_as(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE entity_ref = $1 AND status = 'pending'"
    ))
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Pending transfers from or to these teams or requested by `actor`; all pending ones when
/// `all`.
pub async fn pending_transfers(
    db: impl PgExecutor<'_>,
    teams: &[String],
    actor: &str,
    all: bool,
) -> sqlx::Result<Vec<TransferRow>> {
    sqlx::query_as(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE status = 'pending'
           AND ($3 OR to_team = ANY($1) OR from_team = ANY($1) OR requested_by = $2)
         ORDER BY created_at DESC, id DESC LIMIT 500"
    ))
    .bind(teams)
    .bind(actor)
    .bind(all)
    .fetch_all(db)
    .await
}

/// Locks a pending transfer for a decision.
pub async fn lock_pending_transfer(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<TransferRow>> {
    sqlx::query_as(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = $1 AND status = 'pending' FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Accepts, rejects or cancels a transfer.
pub async fn decide_transfer(db: impl PgExecutor<'_>, id: i64, status: &str, by: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE transfers SET status = $2, decided_by = $3, decided_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(by)
        .execute(db)
        .await?;
    Ok(())
}

/// A pending transfer cancelled because its entity changed owner.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StaleTransfer {
    #[sqlx(flatten)]
    pub transfer: TransferRow,
    /// The entity's owner now.
    pub owner_now: Option<String>,
}

/// Cancels the pending transfers of the entities `keys` whose entity is no longer owned by the
/// team that asked for it (an import or a direct transfer moved it since), recording `by` as
/// who cancelled them.
pub async fn cancel_stale_transfers(
    db: impl PgExecutor<'_>,
    keys: &[String],
    by: &str,
) -> sqlx::Result<Vec<StaleTransfer>> {
    sqlx::query_as(
        "UPDATE transfers t SET status = 'cancelled', decided_by = $1, decided_at = now()
         FROM entities e
         WHERE e.id = t.entity_id AND t.status = 'pending' AND t.entity_ref = ANY($2)
           AND e.owner_ref IS DISTINCT FROM t.from_team
         RETURNING t.id, t.entity_id, t.entity_ref, t.from_team, t.to_team, t.reason, t.requested_by, t.status,
                   t.created_at, e.owner_ref AS owner_now",
    )
    .bind(by)
    .bind(keys)
    .fetch_all(db)
    .await
}

/// Teams (Groups of type team, or all Groups) as (key, title or name), by name.
pub async fn teams(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT ref, coalesce(title, name) FROM entities WHERE kind = 'group' ORDER BY name LIMIT 1000")
        .fetch_all(db)
        .await
}
