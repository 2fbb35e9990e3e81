//! Pages served past their time to live, rendered again in the background.
//!
//! Without this, the first request after a page expired rendered it while its viewer waited,
//! so a page many people keep open cost one slow request every time to live: under load those
//! renders were the slowest answers. Now that request is served the page it expired with, and
//! a render of it starts in the background; the requests after it get the new page. How old a
//! page may be is still bounded: moka drops it `--page-cache-stale` after its time to live,
//! and a request then renders it as before.
//!
//! A refresh is one of the renders in [`super::flights`]: a request that misses (a change
//! dropped the page meanwhile) waits for it as for any render, and a page is never refreshed
//! twice at once. At most [`PER_CORE`] background renders per core run at a time; when none is
//! free a stale page is served without starting one (the next request tries again).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use leptos::nonce::Nonce;
use tokio::sync::Semaphore;

use super::flights::Joined;
use super::{render, PageCache};

/// Background renders at a time, per core. A render spends most of its time waiting for its
/// queries (about twenty), so one per core left most expired pages to be rendered on request
/// under load (measured: 557 background renders against 1,668 on request in 10 s of random
/// entity pages); more than this would take more of the database pool (16 by default) from
/// requests.
const PER_CORE: usize = 4;

/// A background render taking longer than this is given up, as the request timeout gives up
/// a render on request.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The background renders of one page cache.
#[derive(Debug)]
pub(super) struct Refreshes {
    /// One per background render allowed at a time.
    permits: Arc<Semaphore>,
    started: AtomicU64,
}

impl Refreshes {
    /// [`PER_CORE`] background renders at a time per core.
    pub(super) fn new() -> Refreshes {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Refreshes {
            permits: Arc::new(Semaphore::new(cores * PER_CORE)),
            started: AtomicU64::new(0),
        }
    }

    /// How many background renders were started.
    pub(super) fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }
}

/// Renders the page of `req` (a GET whose page under `key` was just served past its time to
/// live) again in the background, unless it is being rendered already or every background
/// render is taken.
pub(super) fn start(pages: &PageCache, key: String, req: Request, next: Next) {
    if pages.0.flights.is_running(&key) {
        return;
    }
    let Ok(permit) = pages.0.refreshes.permits.clone().try_acquire_owned() else {
        return;
    };
    // Set by the security middleware on every page request; the page is kept split at it.
    let Some(nonce) = req.extensions().get::<Nonce>().cloned() else {
        return;
    };
    // Only GETs are cached: the body is empty.
    let (parts, _) = req.into_parts();
    let req = Request::from_parts(parts, Body::empty());
    let pages = pages.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let Some(entries) = pages.0.entries.as_ref() else {
            return;
        };
        // Between the check above and here another request may have begun a render.
        let Joined::Lead(lead) = pages.0.flights.join(&key) else {
            return;
        };
        pages.0.refreshes.started.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("bearing_page_cache_refreshes_total").increment(1);
        let seen = pages.0.live.seen();
        match tokio::time::timeout(REFRESH_TIMEOUT, render(entries, key.clone(), req, next, &nonce, seen)).await {
            Ok(Ok(page)) => lead.finish(page),
            // The page may not be kept now (a section failed) or took too long: the expired
            // one is no longer served, so the next request renders it and shows what it shows.
            // Dropping `lead` tells requests waiting meanwhile to do the same.
            Ok(Err(_)) | Err(_) => entries.invalidate(&key).await,
        }
    });
}
