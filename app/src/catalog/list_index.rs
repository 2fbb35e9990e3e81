//! The catalog list, search, facets and home counts, answered from an in-memory
//! [`CatalogIndex`] of every entity's summary instead of SQL on each request.
//!
//! The index is rebuilt from PostgreSQL whenever the catalog changes: the read cache's
//! generation moves on every change this server makes or hears of (imports, edits and
//! transfers notify every replica), and a reader that finds the index older than the
//! generation starts one rebuild and waits for it. Everyone else arriving meanwhile waits for
//! that same rebuild: concurrent misses cost one load, not one each. The rebuild runs in a task
//! of its own, so a reader whose future is dropped or left unpolled (Leptos resumes resource
//! loads from other tasks) never holds anyone up. A reader therefore always sees the catalog as
//! of its request or later: an import's own response is followed by lists that include it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bearing_catalog_index::{CatalogIndex, Entry};
use tokio::sync::watch;

use super::repo;
use super::EntitySummary;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Longest a reader waits for a rebuild before giving up with a server error (a rebuild of
/// 100,000 entities takes a few seconds on two cores).
const WAIT: Duration = Duration::from_secs(30);

/// An index and the catalog generation it was built from.
pub struct Built {
    pub generation: u64,
    pub index: CatalogIndex<EntitySummary>,
}

/// Progress of the rebuilds, as readers watch it.
#[derive(Clone, Debug, Default)]
struct Progress {
    /// The generation of the latest index (`None` before the first).
    built: Option<u64>,
    /// Rebuilds that failed so far: a waiter seeing this move gives up.
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
    rebuilding: Arc<AtomicBool>,
}

impl Default for ListIndex {
    fn default() -> Self {
        ListIndex {
            current: Arc::default(),
            progress: Arc::new(watch::channel(Progress::default()).0),
            rebuilding: Arc::default(),
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
    /// The index as of the catalog's current generation or later, rebuilding it first if the
    /// catalog changed since it was built.
    pub async fn get(&self, ctx: &ServerCtx) -> Result<Arc<Built>, AppError> {
        let wanted = ctx.cache.generation();
        if let Some(built) = self.fresh(wanted) {
            return Ok(built);
        }
        let mut progress = self.progress.subscribe();
        let failures = progress.borrow_and_update().failures;
        self.start_rebuild(ctx);
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

    fn fresh(&self, wanted: u64) -> Option<Arc<Built>> {
        let current = self.current.read().ok()?;
        current.as_ref().filter(|b| b.generation >= wanted).cloned()
    }

    /// Starts a rebuild unless one is running; it goes on until the index it published is as
    /// new as the catalog's generation.
    fn start_rebuild(&self, ctx: &ServerCtx) {
        if self.rebuilding.swap(true, Ordering::SeqCst) {
            return;
        }
        let (this, pool, cache) = (self.clone(), ctx.pool.clone(), ctx.cache.clone());
        tokio::spawn(async move {
            loop {
                let generation = cache.generation();
                match build(&pool).await {
                    Ok(index) => {
                        if let Ok(mut current) = this.current.write() {
                            *current = Some(Arc::new(Built { generation, index }));
                        }
                        this.progress.send_modify(|p| p.built = Some(generation));
                    }
                    Err(err) => {
                        this.progress.send_modify(|p| {
                            p.failures += 1;
                            p.last_error = Some(Arc::new(err));
                        });
                        this.rebuilding.store(false, Ordering::SeqCst);
                        return;
                    }
                }
                this.rebuilding.store(false, Ordering::SeqCst);
                // A change that arrived during the build, and whose reader found this rebuild
                // still running, is caught here.
                if cache.generation() == generation || this.rebuilding.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        });
    }
}

/// Reads every entity's summary and indexes it (on a blocking thread: indexing 100,000
/// entities takes seconds of CPU).
async fn build(pool: &sqlx::PgPool) -> Result<CatalogIndex<EntitySummary>, BuildError> {
    let rows = repo::all_summaries(pool).await?;
    let entries: Vec<Entry<EntitySummary>> = rows
        .into_iter()
        .map(|r| Entry {
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
        })
        .collect();
    let index = tokio::task::spawn_blocking(move || CatalogIndex::build(entries))
        .await
        .map_err(|e| BuildError::Task(e.to_string()))??;
    Ok(index)
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
