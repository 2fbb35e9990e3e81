//! Reading the catalog for the list index: every entity (a full build), or only the entities
//! written since the previous index's snapshot (an update).
//!
//! Each read runs in one repeatable-read transaction and remembers its snapshot. The next read
//! asks for the rows written by transactions that snapshot did not see (the `changed_xid` every
//! write of `entities` carries, and `entity_removals` for rows that went away), so it finds
//! every change committed since, by this server or any other, whether or not a notification
//! arrived: unlike a timestamp or a sequence, a snapshot does not miss a transaction that began
//! before the read and committed after it.

use std::sync::Arc;

use bearing_catalog_index::{CatalogIndex, Entry};
use time::OffsetDateTime;

use super::{BuildError, Built};
use crate::catalog::repo::{self, SummaryRow};
use crate::catalog::EntitySummary;

/// Longest since the previous read that an update may cover: `entity_removals` keeps a week,
/// and a transaction that started well before its rows were read back must still find its
/// removals there.
const MAX_AGE: time::Duration = time::Duration::days(3);

/// The next index, and how it was made.
pub(super) struct Next {
    pub index: Arc<CatalogIndex<EntitySummary>>,
    pub snapshot: String,
    pub read_at: OffsetDateTime,
    /// Read and indexed whole (rather than updated from the previous index).
    pub full: bool,
    /// Entities changed or removed, for an update.
    pub changes: usize,
}

/// The index as of now: `base` updated with the entities changed since its read when that is
/// possible and cheaper, a full build otherwise (no base, changes possibly missed since it was
/// read, too many changes, an old base, or one with many removed entries).
pub(super) async fn next(pool: &sqlx::PgPool, base: Option<Arc<Built>>, resyncs: u64) -> Result<Next, BuildError> {
    if let Some(base) = base.filter(|b| b.resyncs == resyncs && b.index.holes() <= b.index.len() / 4 + 100) {
        if let Some(next) = changed_since(pool, base).await? {
            return Ok(next);
        }
    }
    full(pool).await
}

/// Most changed entities an update takes on before a full build is the better choice (an
/// import): the update indexes each one's text, and the full build everything at once.
fn update_limit(len: usize) -> usize {
    (len / 4).clamp(100, 10_000)
}

/// `base` with the entities written since its snapshot; `None` when a full build should be
/// made instead.
async fn changed_since(pool: &sqlx::PgPool, base: Arc<Built>) -> Result<Option<Next>, BuildError> {
    let mut tx = pool.begin().await?;
    repo::repeatable_read(&mut *tx).await?;
    let (snapshot, read_at) = repo::read_snapshot(&mut *tx).await?;
    if read_at - base.read_at > MAX_AGE {
        return Ok(None);
    }
    let limit = update_limit(base.index.len());
    let rows =
        repo::summaries_changed_since(&mut *tx, &base.snapshot, i64::try_from(limit + 1).unwrap_or(i64::MAX)).await?;
    if rows.len() > limit {
        return Ok(None);
    }
    let removed = repo::removed_since(&mut *tx, &base.snapshot).await?;
    tx.rollback().await?;
    let changes = rows.len() + removed.len();
    if changes == 0 {
        // A change that left every list row as it was (a transfer requested, say).
        let index = base.index.clone();
        return Ok(Some(Next {
            index,
            snapshot,
            read_at,
            full: false,
            changes,
        }));
    }
    let entries: Vec<Entry<EntitySummary>> = rows.into_iter().map(entry).collect();
    let previous = base.index.clone();
    let index = tokio::task::spawn_blocking(move || previous.with_changes(entries, &removed))
        .await
        .map_err(|e| BuildError::Task(e.to_string()))??;
    Ok(Some(Next {
        index: Arc::new(index),
        snapshot,
        read_at,
        full: false,
        changes,
    }))
}

/// Reads every entity's summary and indexes it (on a blocking thread: indexing 100,000
/// entities takes seconds of CPU).
async fn full(pool: &sqlx::PgPool) -> Result<Next, BuildError> {
    let mut tx = pool.begin().await?;
    repo::repeatable_read(&mut *tx).await?;
    let (snapshot, read_at) = repo::read_snapshot(&mut *tx).await?;
    let rows = repo::all_summaries(&mut *tx).await?;
    tx.rollback().await?;
    let entries: Vec<Entry<EntitySummary>> = rows.into_iter().map(entry).collect();
    let index = tokio::task::spawn_blocking(move || CatalogIndex::build(entries))
        .await
        .map_err(|e| BuildError::Task(e.to_string()))??;
    Ok(Next {
        changes: index.len(),
        index: Arc::new(index),
        snapshot,
        read_at,
        full: true,
    })
}

/// A list row as the index keeps it.
fn entry(r: SummaryRow) -> Entry<EntitySummary> {
    Entry {
        key: r.entity_ref.clone(),
        kind: r.kind.clone(),
        name: r.name.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        entity_type: r.entity_type.clone(),
        lifecycle: r.lifecycle.clone(),
        owner: r.owner_ref.clone(),
        tags: r.tags.clone(),
        orphaned: r.orphaned,
        updated_at: i64::try_from(r.updated_at.unix_timestamp_nanos()).unwrap_or(i64::MAX),
        payload: r.into(),
    }
}
