//! SQL for the audit log. Rows are only ever inserted; the database refuses anything else
//! (see migrations/20261123000002_identity.sql). The serving role appends only through the
//! functions `audit_lock_head()` and `audit_append()`, which check that each row follows the
//! chain head (migrations/20261205000001_audit_append_only_through_functions.sql).

use bearing_audit::{Checkpoint, EntryBody, StoredEntry};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

/// Locks the chain head until the end of the transaction and returns (seq, hash).
pub async fn lock_head(db: &mut PgConnection) -> sqlx::Result<(i64, Vec<u8>)> {
    sqlx::query_as("SELECT seq, hash FROM audit_lock_head()")
        .fetch_one(db)
        .await
}

/// Appends `entry` and moves the head to it. The head must have been locked with
/// [`lock_head`] in the same transaction, and `entry` must follow it.
pub async fn append(db: &mut PgConnection, entry: &StoredEntry) -> sqlx::Result<()> {
    let b = &entry.body;
    sqlx::query("SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(b.seq)
        .bind(b.at)
        .bind(&b.actor)
        .bind(&b.actor_kind)
        .bind(&b.action)
        .bind(&b.target)
        .bind(&b.before)
        .bind(&b.after)
        .bind(&b.reason)
        .bind(&b.request_id)
        .bind(&b.client_addr)
        .bind(&entry.prev_hash[..])
        .bind(&entry.hash[..])
        .execute(db)
        .await?;
    Ok(())
}

/// The newest checkpoint's (seq, time).
pub async fn last_checkpoint(db: impl PgExecutor<'_>) -> sqlx::Result<Option<(i64, OffsetDateTime)>> {
    sqlx::query_as("SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        .fetch_optional(db)
        .await
}

/// Stores a signed checkpoint.
pub async fn insert_checkpoint(db: impl PgExecutor<'_>, cp: &Checkpoint) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_checkpoints (seq, head_hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)")
        .bind(cp.seq)
        .bind(&cp.head_hash[..])
        .bind(cp.at)
        .bind(&cp.key_id)
        .bind(&cp.signature[..])
        .execute(db)
        .await?;
    Ok(())
}

/// A checkpoint row: seq, head hash, time, key id, signature.
type CheckpointRow = (i64, Vec<u8>, OffsetDateTime, String, Vec<u8>);

/// Every checkpoint, oldest first.
pub async fn checkpoints(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Checkpoint>> {
    checkpoints_after(db, i64::MIN).await
}

/// Checkpoints of rows after `seq`, oldest first.
pub async fn checkpoints_after(db: impl PgExecutor<'_>, seq: i64) -> sqlx::Result<Vec<Checkpoint>> {
    let rows: Vec<CheckpointRow> = sqlx::query_as(
        "SELECT seq, head_hash, at, key_id, signature FROM audit_checkpoints WHERE seq > $1 ORDER BY seq",
    )
    .bind(seq)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, head, at, key_id, sig)| Checkpoint {
            seq,
            head_hash: to_array(&head),
            at,
            key_id,
            signature: to_array(&sig),
        })
        .collect())
}

/// A row as stored, with its hashes.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Row {
    /// The row as the chain verifier reads it. Hashes of the wrong length become all-zero
    /// (and then fail verification, naming this row).
    pub fn into_stored(self) -> StoredEntry {
        let mut body = EntryBody::new(self.seq, self.at, self.actor, self.actor_kind, self.action);
        body.target = self.target;
        body.before = self.before;
        body.after = self.after;
        body.reason = self.reason;
        body.request_id = self.request_id;
        body.client_addr = self.client_addr;
        StoredEntry {
            body,
            prev_hash: to_array(&self.prev_hash),
            hash: to_array(&self.hash),
        }
    }
}

const COLUMNS: &str =
    "seq, at, actor, actor_kind, action, target, before, after, reason, request_id, client_addr, prev_hash, hash";

/// Rows with `seq > after`, oldest first: the verifier's page.
pub async fn rows_after(db: impl PgExecutor<'_>, after: i64, limit: i64) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Filters for [`list`]. `None` means no filter.
#[derive(Default)]
pub struct Filter {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub before_seq: Option<i64>,
}

/// Entries matching `f`, newest first. Actor and target match as substrings, action as a prefix
/// (`transfer` finds every `transfer.*`).
pub async fn list(db: impl PgExecutor<'_>, f: &Filter, limit: i64) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log
         WHERE ($1::timestamptz IS NULL OR at >= $1)
           AND ($2::timestamptz IS NULL OR at < $2)
           AND ($3::text IS NULL OR actor ILIKE '%' || $3 || '%')
           AND ($4::text IS NULL OR action LIKE $4 || '%')
           AND ($5::text IS NULL OR target ILIKE '%' || $5 || '%')
           AND ($6::bigint IS NULL OR seq < $6)
         ORDER BY seq DESC LIMIT $7"
    ))
    .bind(f.from)
    .bind(f.to)
    .bind(f.actor.as_deref().map(escape_like))
    .bind(f.action.as_deref().map(escape_like))
    .bind(f.target.as_deref().map(escape_like))
    .bind(f.before_seq)
    .bind(limit)
    .fetch_all(db)
    .await
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}
