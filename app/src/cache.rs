//! An in-memory cache of catalog reads.
//!
//! The catalog changes only when something is imported, so reads can be cached until the
//! next import. Every import sends a PostgreSQL notification (`bearing_catalog_changed`, see
//! `catalog::import`) that the server turns into [`ReadCache::invalidate`], so an import run
//! by another process (`bearing import`) invalidates this one's cache too. Entries are weighed
//! by their serialized size so the cache stays within a fixed memory budget.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// The channel imports notify on.
pub const CHANGED_CHANNEL: &str = "bearing_catalog_changed";

type Entry = Arc<dyn Any + Send + Sync>;

/// Cached catalog reads, keyed by query and invalidated by imports.
#[derive(Clone)]
pub struct ReadCache {
    /// Behind one `Arc`: the context is cloned for every request and server function, and a
    /// moka cache's own clone copies several reference counts and its hasher.
    entries: Arc<moka::future::Cache<String, (u32, Entry)>>,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl ReadCache {
    /// A cache holding at most about `budget_bytes` of (serialized) results.
    pub fn new(budget_bytes: u64) -> Self {
        let entries = moka::future::Cache::builder()
            .max_capacity(budget_bytes)
            .weigher(|_key: &String, value: &(u32, Entry)| value.0)
            // A safety net only: imports invalidate explicitly.
            .time_to_live(Duration::from_secs(600))
            .build();
        ReadCache {
            entries: Arc::new(entries),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Forgets everything; reads in flight that started before cannot repopulate old results
    /// because their keys carry the previous generation.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// A number that changes whenever the catalog does (every [`ReadCache::invalidate`]); caches
    /// built on catalog reads, such as the server's rendered pages, put it in their keys.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The cached value for `key`, or the result of `load`, which is cached when it succeeds.
    ///
    /// Concurrent misses for one key each load (once per catalog change, so the cost is
    /// bounded). They are deliberately not coalesced through moka's `try_get_with`: its waiters
    /// wait on whichever future started the load, and Leptos resources poll their fetcher once
    /// during rendering and resume it later from another task, the pattern under which those
    /// waiters can stall (moka-rs/moka#240; we saw pages hang until the request timeout).
    pub async fn get_or_load<T, E, F>(&self, key: String, load: F) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        let generation = self.generation.load(Ordering::SeqCst);
        let key = format!("{generation}|{}|{key}", std::any::type_name::<T>());
        if let Some((_, entry)) = self.entries.get(&key).await {
            return match entry.downcast_ref::<T>() {
                Some(v) => Ok(v.clone()),
                // Unreachable: the key includes the type name.
                None => Err(unreachable_type_mismatch()),
            };
        }
        // Stored under the generation read before loading: if the catalog changed meanwhile,
        // the value may be stale, but nothing reads that generation's keys any more.
        let value = load.await?;
        let weight = serde_json::to_vec(&value).map_or(u32::MAX, |v| u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.entries
            .insert(key, (weight.max(1), Arc::new(value.clone()) as Entry))
            .await;
        Ok(value)
    }
}

/// Notifies every server listening on `channel` (delivered when the transaction commits); how
/// writes tell each server's caches that what they hold is out of date.
pub async fn notify(db: impl sqlx::PgExecutor<'_>, channel: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(db)
        .await
        .map(|_| ())
}

#[cold]
fn unreachable_type_mismatch<E>() -> E {
    panic!("read cache entry has a different type than its key says")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn caches_until_invalidated_and_never_caches_errors() {
        let cache = ReadCache::new(1 << 20);
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(vec![1, 2, 3])
        };
        assert_eq!(cache.get_or_load("k".into(), load()).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(cache.get_or_load("k".into(), load()).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        cache.invalidate();
        cache.get_or_load("k".into(), load()).await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2);

        let failing = cache
            .get_or_load::<Vec<i32>, String, _>("e".into(), async { Err("boom".to_owned()) })
            .await;
        assert_eq!(failing, Err("boom".to_owned()));
        let ok = cache.get_or_load("e".into(), async { Ok::<_, String>(vec![7]) }).await;
        assert_eq!(ok, Ok(vec![7]), "errors are not cached");
    }

    /// Leptos polls a resource's fetcher once while rendering and resumes it later from another
    /// task. A load started that way and not polled since must not hold up anyone else asking
    /// for the same key (with moka's `try_get_with` this waited forever: moka-rs/moka#240).
    #[tokio::test]
    async fn a_load_started_and_left_unpolled_blocks_no_one() {
        let cache = ReadCache::new(1 << 20);
        let mut first = Box::pin(cache.get_or_load("k".into(), async {
            tokio::task::yield_now().await;
            Ok::<_, String>(1)
        }));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(first.as_mut().poll(&mut cx).is_pending(), "the first load is under way");
        let second = tokio::time::timeout(
            Duration::from_secs(5),
            cache.get_or_load("k".into(), async { Ok::<_, String>(2) }),
        )
        .await;
        assert_eq!(second, Ok(Ok(2)), "the second caller loads for itself");
        assert_eq!(first.await, Ok(1));
    }
}
