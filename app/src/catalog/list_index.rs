//! The catalog list, search, facets and home counts, answered from an in-memory
//! [`CatalogIndex`] of every entity's summary instead of SQL on each request.
//!
//! The index follows the catalog: the read cache's generation moves on every change this server
//! makes or hears of (imports, edits and transfers notify every replica), and a reader that
//! finds the index older than the generation starts one update and waits for it. Everyone else
//! arriving meanwhile waits for that same update: concurrent misses cost one load, not one
//! each. The update runs in a task of its own, so a reader whose future is dropped or left
//! unpolled (Leptos resumes resource loads from other tasks) never holds anyone up. A reader
//! therefore always sees the catalog as of its request or later: an edit's own response is
//! followed by lists that include it.
//!
//! An update reads only the entities written since the previous index's database snapshot and
//! makes the next index from the previous one ([`CatalogIndex::with_changes`]): milliseconds
//! for an edit where reading and indexing everything takes seconds at 100,000 entities. It
//! falls back to a full build for the first index, after many changes (an import), and when
//! changes may have been missed (the change listener reconnected: [`ReadCache::resync`]). How
//! the changed entities are found is in [`load`].
//!
//! [`ReadCache::resync`]: crate::cache::ReadCache::resync

mod load;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bearing_catalog_index::CatalogIndex;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::EntitySummary;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Longest a reader waits for an update before giving up with a server error (a full build of
/// 100,000 entities takes a few seconds on two cores).
const WAIT: Duration = Duration::from_secs(30);

/// An index and the catalog generation it was built from.
pub struct Built {
    /// The read cache's generation when its read began: the index holds every change that
    /// moved the generation up to this one.
    pub generation: u64,
    /// The index; shared with the next version when a change leaves every list row as it was.
    pub index: Arc<CatalogIndex<EntitySummary>>,
    /// The database snapshot it was read with (PostgreSQL's text form): the next update reads
    /// what that snapshot did not see.
    snapshot: String,
    /// The database's clock at that read.
    read_at: OffsetDateTime,
    /// The read cache's [`resyncs`](crate::cache::ReadCache::resyncs) before that read.
    resyncs: u64,
}

/// How many indexes were made, for tests and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Builds {
    /// Read and indexed whole.
    pub full: u64,
    /// Made from the previous index and the entities changed since (or the previous index
    /// again, when nothing listed had changed).
    pub updates: u64,
}

/// Progress of the updates, as readers watch it.
#[derive(Clone, Debug, Default)]
struct Progress {
    /// The generation of the latest index (`None` before the first).
    built: Option<u64>,
    /// Updates that failed so far: a waiter seeing this move gives up.
    failures: u64,
    /// Why the latest failed one did. Each waiting request logs it inside its own span, so the
    /// failure shows under the request id its client sees.
    last_error: Option<Arc<BuildError>>,
}

/// The current index, shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct ListIndex {
    current: Arc<RwLock<Option<Arc<Built>>>>,
    progress: Arc<watch::Sender<Progress>>,
    updating: Arc<AtomicBool>,
    full_builds: Arc<AtomicU64>,
    updates: Arc<AtomicU64>,
}

impl Default for ListIndex {
    fn default() -> Self {
        ListIndex {
            current: Arc::default(),
            progress: Arc::new(watch::channel(Progress::default()).0),
            updating: Arc::default(),
            full_builds: Arc::default(),
            updates: Arc::default(),
        }
    }
}

impl std::fmt::Debug for ListIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListIndex")
            .field("progress", &*self.progress.borrow())
            .finish()
    }
}

impl ListIndex {
    /// The index as of the catalog's current generation or later, updating it first if the
    /// catalog changed since it was made.
    pub async fn get(&self, ctx: &ServerCtx) -> Result<Arc<Built>, AppError> {
        let wanted = ctx.cache.generation();
        if let Some(built) = self.fresh(wanted) {
            return Ok(built);
        }
        let mut progress = self.progress.subscribe();
        let failures = progress.borrow_and_update().failures;
        self.start_update(ctx);
        let settled = tokio::time::timeout(
            WAIT,
            progress.wait_for(|p| p.built.is_some_and(|b| b >= wanted) || p.failures != failures),
        )
        .await
        .is_ok_and(|changed| changed.is_ok());
        if let Some(built) = self.fresh(wanted) {
            return Ok(built);
        }
        let last_error = self.progress.borrow().last_error.clone();
        match (settled, last_error) {
            (true, Some(err)) => Err(err.to_app_error()),
            _ => {
                tracing::error!(wait_s = WAIT.as_secs(), "no catalog list index in time");
                Err(AppError::Internal)
            }
        }
    }

    /// Builds the first index now (at start, so the first visitors find it ready).
    pub async fn warm(&self, ctx: &ServerCtx) -> Result<(), AppError> {
        self.get(ctx).await.map(|_| ())
    }

    /// How many indexes this server made so far, whole and by update.
    pub fn builds(&self) -> Builds {
        Builds {
            full: self.full_builds.load(Ordering::SeqCst),
            updates: self.updates.load(Ordering::SeqCst),
        }
    }

    fn fresh(&self, wanted: u64) -> Option<Arc<Built>> {
        self.latest().filter(|b| b.generation >= wanted)
    }

    fn latest(&self) -> Option<Arc<Built>> {
        self.current.read().ok()?.clone()
    }

    /// Starts an update unless one is running; it goes on until the index it published is as
    /// new as the catalog's generation.
    fn start_update(&self, ctx: &ServerCtx) {
        if self.updating.swap(true, Ordering::SeqCst) {
            return;
        }
        let (this, pool, cache) = (self.clone(), ctx.pool.clone(), ctx.cache.clone());
        tokio::spawn(async move {
            loop {
                let generation = cache.generation();
                let resyncs = cache.resyncs();
                let started = std::time::Instant::now();
                match load::next(&pool, this.latest(), resyncs).await {
                    Ok(next) => {
                        let counter = if next.full { &this.full_builds } else { &this.updates };
                        counter.fetch_add(1, Ordering::SeqCst);
                        tracing::debug!(
                            full = next.full,
                            changes = next.changes,
                            entities = next.index.len(),
                            took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                            "catalog list index made"
                        );
                        let built = Built {
                            generation,
                            index: next.index,
                            snapshot: next.snapshot,
                            read_at: next.read_at,
                            resyncs,
                        };
                        if let Ok(mut current) = this.current.write() {
                            *current = Some(Arc::new(built));
                        }
                        this.progress.send_modify(|p| p.built = Some(generation));
                    }
                    Err(err) => {
                        this.progress.send_modify(|p| {
                            p.failures += 1;
                            p.last_error = Some(Arc::new(err));
                        });
                        this.updating.store(false, Ordering::SeqCst);
                        return;
                    }
                }
                this.updating.store(false, Ordering::SeqCst);
                // A change that arrived during the build, and whose reader found this update
                // still running, is caught here.
                if cache.generation() == generation || this.updating.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        });
    }
}

impl BuildError {
    /// The error a request answers with, logged (by the caller's span) as the cause's layer
    /// logs it.
    fn to_app_error(&self) -> AppError {
        match self {
            BuildError::Db(err) => {
                tracing::error!(error = %err, "database error (building the catalog list index)");
                AppError::Internal
            }
            other => {
                tracing::error!(error = %other, "cannot build the catalog list index");
                AppError::Internal
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error("reading the entities: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Index(#[from] bearing_catalog_index::IndexError),
    #[error("the indexing task failed: {0}")]
    Task(String),
}
