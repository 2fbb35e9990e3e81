//! An in-memory cache of catalog reads.
//!
//! The catalog changes only when something is imported, so reads can be cached until the
//! next import. Every import sends a PostgreSQL notification (`bearing_catalog_changed`, see
//! `catalog::import`) that the server turns into [`ReadCache::invalidate`], so an import run
//! by another process (`bearing import`) invalidates this one's cache too. Entries are weighed
//! by their serialized size so the cache stays within a fixed memory budget.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use serde::Serialize;

use crate::error::AppError;

/// The channel imports notify on.
pub const CHANGED_CHANNEL: &str = "bearing_catalog_changed";

type Entry = Arc<dyn Any + Send + Sync>;
/// A load under way, awaited by every request that missed the same key meanwhile.
type Flight = Shared<BoxFuture<'static, Result<Entry, AppError>>>;

/// Cached catalog reads, keyed by query and invalidated by imports.
#[derive(Clone)]
pub struct ReadCache {
    /// Behind one `Arc`: the context is cloned for every request and server function, and a
    /// moka cache's own clone copies several reference counts and its hasher.
    entries: Arc<moka::future::Cache<String, (u32, Entry)>>,
    generation: Arc<AtomicU64>,
    /// Times changes may have been missed ([`ReadCache::resync`]).
    resyncs: Arc<AtomicU64>,
    /// Loads under way, by key: a second miss for a key joins the first one's load.
    flights: Arc<Mutex<HashMap<String, Flight>>>,
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
            resyncs: Arc::new(AtomicU64::new(0)),
            flights: Arc::default(),
        }
    }

    /// Forgets everything; reads in flight that started before cannot repopulate old results
    /// because their keys carry the previous generation.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// Forgets everything when changes may have been missed (the change listener lost its
    /// connection, or has just started): as [`ReadCache::invalidate`], and caches that follow
    /// changes rather than forget them (the catalog list index) start again from scratch.
    pub fn resync(&self) {
        // Before the generation moves, so whoever sees the new generation sees this too.
        self.resyncs.fetch_add(1, Ordering::SeqCst);
        self.invalidate();
    }

    /// How many times [`ReadCache::resync`] was called.
    pub fn resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::SeqCst)
    }

    /// A number that changes whenever the catalog does (every [`ReadCache::invalidate`]); caches
    /// built on catalog reads, such as the server's rendered pages, put it in their keys.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The cached value for `key`, or the result of `load`, which is cached when it succeeds.
    ///
    /// Concurrent misses for one key are loaded once: the first starts `load` in a task of its
    /// own and every miss meanwhile awaits that task's result. The task runs whether or not
    /// anyone polls it, which is what moka's `try_get_with` lacked: its waiters waited on the
    /// future of whichever request started the load, and Leptos resources poll their fetcher
    /// once during rendering and resume it later from another task, so a page could wait for a
    /// load nobody drove (moka-rs/moka#240; pages hung until the request timeout).
    pub async fn get_or_load<T, F>(&self, key: String, load: F) -> Result<T, AppError>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let generation = self.generation.load(Ordering::SeqCst);
        let key = format!("{generation}|{}|{key}", std::any::type_name::<T>());
        if let Some((_, entry)) = self.entries.get(&key).await {
            return downcast(&entry);
        }
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match flights.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let flight = self.start(key.clone(), load);
                    flights.insert(key, flight.clone());
                    flight
                }
            }
        };
        downcast(&flight.await?)
    }

    /// Runs `load` in its own task; stores a success under `key` (the generation read before
    /// loading: if the catalog changed meanwhile, the value may be stale, but nothing reads that
    /// generation's keys any more) and then forgets the flight.
    fn start<T, F>(&self, key: String, load: F) -> Flight
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let (entries, flights) = (self.entries.clone(), self.flights.clone());
        let task = tokio::spawn(async move {
            let loaded = load.await;
            let result = match loaded {
                Ok(value) => {
                    let weight =
                        serde_json::to_vec(&value).map_or(u32::MAX, |v| u32::try_from(v.len()).unwrap_or(u32::MAX));
                    let entry: Entry = Arc::new(value);
                    entries.insert(key.clone(), (weight.max(1), entry.clone())).await;
                    Ok(entry)
                }
                Err(err) => Err(err),
            };
            flights
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
            result
        });
        async move {
            task.await.unwrap_or_else(|err| {
                tracing::error!(error = %err, "a read cache load failed");
                Err(AppError::Internal)
            })
        }
        .boxed()
        .shared()
    }
}

fn downcast<T: Clone + 'static>(entry: &Entry) -> Result<T, AppError> {
    match entry.downcast_ref::<T>() {
        Some(v) => Ok(v.clone()),
        // Unreachable: the key includes the type name.
        None => Err(unreachable_type_mismatch()),
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

    fn counting(
        loads: &Arc<AtomicUsize>,
        value: Vec<i32>,
    ) -> impl Future<Output = Result<Vec<i32>, AppError>> + Send + 'static {
        let loads = loads.clone();
        async move {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(value)
        }
    }

    #[tokio::test]
    async fn caches_until_invalidated_and_never_caches_errors() {
        let cache = ReadCache::new(1 << 20);
        let loads = Arc::new(AtomicUsize::new(0));
        assert_eq!(
            cache.get_or_load("k".into(), counting(&loads, vec![1, 2, 3])).await,
            Ok(vec![1, 2, 3])
        );
        assert_eq!(
            cache.get_or_load("k".into(), counting(&loads, vec![9])).await,
            Ok(vec![1, 2, 3])
        );
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        cache.invalidate();
        assert_eq!(
            cache.get_or_load("k".into(), counting(&loads, vec![4])).await,
            Ok(vec![4])
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);

        let failing = cache
            .get_or_load::<Vec<i32>, _>("e".into(), async { Err(AppError::NotFound("x".into())) })
            .await;
        assert_eq!(failing, Err(AppError::NotFound("x".into())));
        let ok = cache
            .get_or_load("e".into(), async { Ok::<_, AppError>(vec![7]) })
            .await;
        assert_eq!(ok, Ok(vec![7]), "errors are not cached");
    }

    /// Many requests missing one key at once cost one load, and all get its value.
    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let cache = ReadCache::new(1 << 20);
        let loads = Arc::new(AtomicUsize::new(0));
        let slow = |value: i32| {
            let loads = loads.clone();
            async move {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, AppError>(value)
            }
        };
        let all = futures::future::join_all((0..16).map(|i| cache.get_or_load("k".into(), slow(i)))).await;
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for sixteen misses");
        assert!(
            all.iter().all(|r| *r == Ok(0)),
            "everyone gets the first load's value: {all:?}"
        );
    }

    /// Leptos polls a resource's fetcher once while rendering and resumes it later from another
    /// task. A load started that way and not polled since must not hold up anyone else asking
    /// for the same key (with moka's `try_get_with` this waited forever: moka-rs/moka#240): the
    /// load runs in its own task, and the second caller gets its value.
    #[tokio::test]
    async fn a_load_started_and_left_unpolled_blocks_no_one() {
        let cache = ReadCache::new(1 << 20);
        let mut first = Box::pin(cache.get_or_load("k".into(), async {
            tokio::task::yield_now().await;
            Ok::<_, AppError>(1)
        }));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(first.as_mut().poll(&mut cx).is_pending(), "the first load is under way");
        let second = tokio::time::timeout(
            Duration::from_secs(5),
            cache.get_or_load("k".into(), async { Ok::<_, AppError>(2) }),
        )
        .await;
        assert_eq!(second, Ok(Ok(1)), "the second caller gets the first load's value");
        assert_eq!(first.await, Ok(1));
    }
}
