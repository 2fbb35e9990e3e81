//! Rendered pages, kept so that a page many requests ask for is rendered once, not once per
//! request.
//!
//! Even with every catalog read served from [`app::cache::ReadCache`], server-side rendering
//! costs a few tenths of a millisecond of CPU per page (Leptos building the HTML string), and
//! under load that is most of what a page request costs. This middleware keeps the finished
//! HTML of the read-only pages and serves it again to every viewer with the same rights, for
//! as long as nothing it shows has changed. What a page may depend on, and how each is covered:
//!
//! - **the URL**, path and query: part of the key;
//! - **what the viewer may see and do** (kind of caller, roles, teams they lead, a producer's
//!   scopes: [`app::auth::Rights`]): part of the key, so a page's edit controls and links are
//!   those of its viewer, and a new role is a new key. **Who** the viewer is (name, email, id)
//!   is not: no cacheable page renders it. The header's name is fetched by the browser after
//!   hydration (`app::ui::layout`), and the services behind these pages decide from rights
//!   alone (a test renders a page for two people with equal rights and checks neither name is
//!   in it);
//! - **the catalog, overrides and transfers**: the read cache's generation is part of the key;
//!   it moves on every import (in any process, through `NOTIFY`) and every edit or transfer;
//! - **mesh state and scorecard results**: a page that shows them says so while it renders
//!   ([`app::rendered`]: a component's page the components it shows, with its graph's; a team's
//!   its components; the mesh overview all of it), and the entry remembers how many changes it
//!   had seen. Every write of mesh state notifies [`app::mesh::repo::CHANGED_CHANNEL`] naming
//!   the components it touched, or everything ([`app::mesh::repo::change`]; scorecard rounds
//!   notify [`app::scorecards::CHANGED_CHANNEL`]); [`crate::changes::follow_changes`] records
//!   it here, and an entry showing what changed is rendered again. The others (the catalog
//!   list, search, the home page, most API and user pages, and pages of components whose
//!   services did not change) are kept. Changes are counted from before the render starts, so
//!   a change made while a page renders drops that page too;
//! - **the clock** (relative times such as "last read 20 s ago") and **delivery runs**: bounded
//!   by the time to live (`--page-cache-ttl`, 5 s by default) plus the time an expired page may
//!   still be served while it is rendered again (`--page-cache-stale`, 5 s; see below);
//! - **the CSP nonce**: each response still gets its own, chosen for the request by
//!   [`crate::security::security_headers`] before it reaches this cache. The cached body is kept
//!   split at the nonce it was rendered with, and joined with the new request's nonce whenever
//!   it is served; the policy header is set outside, with the same nonce.
//!
//! A page being rendered is rendered once: requests for it arriving meanwhile wait for that
//! render (`flights`). A page past its time to live but within `--page-cache-stale` of it is
//! served as it is, and one render in the background replaces it (`refresh`): a page people
//! keep asking for is rendered again as often as before, but nobody waits for it. Background
//! renders are bounded (a few per core at a time); a page whose refresh could not start is
//! rendered on request once it is too old.
//!
//! Only the pages in [`is_cacheable`] are cached; pages that show per-request state (sign-in,
//! the admin page with tokens' last use, the audit log, transfers) are always rendered. Only
//! complete `200 text/html` answers are kept, so errors, redirects and 404s are rendered every
//! time, and so are pages marked `Cache-Control: no-store` because a part of them failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::auth::guard::Caller;
use app::cache::ReadCache;
use app::mesh::repo::change::Changed;
use app::rendered::{RenderMarks, Shown};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::nonce::Nonce;

use crate::config::PageCacheArgs;

mod flights;
mod live;
mod refresh;

use flights::{Flights, Joined};
use live::{LiveChanges, Seen};
use refresh::Refreshes;

/// How long a request waits for another request's render of the same page before rendering it
/// itself.
const WAIT_FOR_RENDER: std::time::Duration = std::time::Duration::from_secs(5);

/// Pages larger than this are not cached (nor expected: the largest are a few hundred kB).
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The rendered-page cache of one server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PageCache(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// `None` when the cache is switched off (`--page-cache-ttl 0s`).
    entries: Option<moka::future::Cache<String, Arc<CachedPage>>>,
    /// Changes of the mesh state and scorecard results told so far.
    live: LiveChanges,
    /// Renders in progress, which requests for the same page wait for.
    flights: Flights<Arc<CachedPage>>,
    /// How long a page is served before it is rendered again in the background; `None` when
    /// expired pages are not served (`--page-cache-stale 0s`).
    refresh_after: Option<std::time::Duration>,
    /// Background renders of pages served past `refresh_after`.
    refreshes: Refreshes,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often the cache answered, for tests and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCacheStats {
    /// Requests answered without rendering: from the cache, or with the page another request
    /// was rendering.
    pub hits: u64,
    /// Requests that rendered the page (and cached it, when it could be).
    pub misses: u64,
    /// Renders in the background of pages served past their time to live.
    pub refreshes: u64,
}

impl PageCache {
    /// A cache with `args`' time to live and memory budget.
    pub fn new(args: &PageCacheArgs) -> PageCache {
        let entries = (!args.page_cache_ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(args.page_cache_mb.saturating_mul(1024 * 1024))
                .weigher(|key: &String, page: &Arc<CachedPage>| {
                    u32::try_from(key.len() + page.weight()).unwrap_or(u32::MAX)
                })
                .time_to_live(args.page_cache_ttl.saturating_add(args.page_cache_stale))
                .build()
        });
        PageCache(Arc::new(Inner {
            entries,
            live: LiveChanges::default(),
            flights: Flights::default(),
            refresh_after: (!args.page_cache_stale.is_zero()).then_some(args.page_cache_ttl),
            refreshes: Refreshes::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }))
    }

    /// No page rendered before now is served again: notifications may have been missed.
    /// (Catalog changes need no call: the read cache's generation is in every key.)
    pub fn invalidate(&self) {
        self.mesh_changed(&Changed::Everything);
        self.scorecards_changed();
        if let Some(entries) = &self.0.entries {
            entries.invalidate_all();
        }
    }

    /// The mesh state changed as `changed` says: pages that show what changed are rendered
    /// again.
    pub fn mesh_changed(&self, changed: &Changed) {
        self.0.live.mesh_changed(changed);
        let scope = match changed {
            Changed::Everything => "everything",
            Changed::Components(_) => "components",
        };
        metrics::counter!("bearing_mesh_changes_total", "scope" => scope).increment(1);
    }

    /// How many changes of the mesh state this server was told of (each write, from any
    /// replica or poller).
    pub fn mesh_changes(&self) -> u64 {
        self.0.live.mesh_changes()
    }

    /// Scorecard results changed: pages that show them are rendered again.
    pub fn scorecards_changed(&self) {
        self.0.live.scorecards_changed();
    }

    /// How often pages were served from the cache and rendered.
    pub fn stats(&self) -> PageCacheStats {
        PageCacheStats {
            hits: self.0.hits.load(Ordering::Relaxed),
            misses: self.0.misses.load(Ordering::Relaxed),
            refreshes: self.0.refreshes.started(),
        }
    }

    fn count(&self, hit: bool) {
        let (counter, label) = if hit {
            (&self.0.hits, "hit")
        } else {
            (&self.0.misses, "miss")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("bearing_page_cache_requests_total", "result" => label).increment(1);
    }
}

/// The pages whose HTML depends only on what the cache key covers (see the module docs).
pub fn is_cacheable(path: &str) -> bool {
    matches!(path, "/" | "/catalog" | "/search" | "/mesh") || path.starts_with("/catalog/")
}

/// The cache key of `req`, or `None` if it must be rendered.
fn key(cache: &ReadCache, req: &Request) -> Option<String> {
    if req.method() != Method::GET || !is_cacheable(req.uri().path()) {
        return None;
    }
    // Set by the auth middleware on every request; without it, nothing is cached.
    let caller = req.extensions().get::<Caller>()?;
    let viewer = match &caller.user {
        Some(user) => serde_json::to_string(&user.rights()).ok()?,
        None => String::new(),
    };
    Some(format!(
        "{}\n{}\n{}",
        cache.generation(),
        req.uri().path_and_query().map_or("", |p| p.as_str()),
        viewer,
    ))
}

/// The middleware, installed on the page routes inside the auth middleware.
///
/// A miss renders in the request's own task and stores the result afterwards; requests for the
/// same page arriving meanwhile wait for that render ([`flights`], at most [`WAIT_FOR_RENDER`])
/// and are served its page, still checked against changes told since. The render is
/// deliberately not run as a moka `get_with` initializer: other requests would then wait on
/// whichever future first started the render, and a Leptos render polls futures once and
/// resumes them from other tasks, the pattern under which moka's waiters can stall
/// (moka-rs/moka#240). We saw exactly that: about one test run in two had an entity page wait
/// out the 30 s request timeout.
pub async fn serve(
    State(pages): State<PageCache>,
    State(cache): State<ReadCache>,
    req: Request,
    next: Next,
) -> Response {
    // The request's nonce, set by the security middleware outside; without one, nothing is
    // cached (a page could not be given a fresh nonce).
    let nonce = req.extensions().get::<Nonce>().cloned();
    let (Some(entries), Some(key), Some(nonce)) = (pages.0.entries.as_ref(), key(&cache, &req), nonce) else {
        return next.run(req).await;
    };
    let seen = pages.0.live.seen();
    if let Some(page) = entries
        .get(&key)
        .await
        .filter(|page| pages.0.live.is_current(&page.shown, page.seen))
    {
        pages.count(true);
        let response = page.respond(&nonce);
        if page.is_due(pages.0.refresh_after) {
            refresh::start(&pages, key, req, next);
        }
        return response;
    }
    let lead = match pages.0.flights.join(&key) {
        Joined::Lead(lead) => Some(lead),
        Joined::Follow(render) => {
            let rendered = flights::wait(render, WAIT_FOR_RENDER).await;
            if let Some(page) = rendered.filter(|page| pages.0.live.is_current(&page.shown, page.seen)) {
                pages.count(true);
                return page.respond(&nonce);
            }
            // Nothing to share, or it took too long: render it here.
            None
        }
    };
    pages.count(false);
    match render(entries, key, req, next, &nonce, seen).await {
        Ok(page) => {
            if let Some(lead) = lead {
                lead.finish(page.clone());
            }
            page.respond(&nonce)
        }
        // Dropping `lead` tells the waiters to render for themselves.
        Err(response) => response,
    }
}

/// Renders `req` and keeps the page under `key` when it may be kept; otherwise the response
/// as it is. `seen` is the changes told before the render began.
async fn render(
    entries: &moka::future::Cache<String, Arc<CachedPage>>,
    key: String,
    mut req: Request,
    next: Next,
    nonce: &Nonce,
    seen: Seen,
) -> Result<Arc<CachedPage>, Response> {
    let marks = RenderMarks::default();
    req.extensions_mut().insert(marks.clone());
    let response = next.run(req).await;
    let page = Arc::new(CachedPage::from_response(response, nonce, &marks, seen).await?);
    entries.insert(key, page.clone()).await;
    Ok(page)
}

/// A rendered page, split at the nonce it was rendered with.
#[derive(Debug)]
struct CachedPage {
    /// The response headers (the security middleware adds its own outside this cache).
    headers: HeaderMap,
    /// The body, split where the nonce was.
    body: Vec<Bytes>,
    /// The live state the page showed, and the changes told before its render began.
    shown: Shown,
    seen: Seen,
    /// When it was rendered, to tell when it is to be rendered again.
    rendered_at: std::time::Instant,
}

impl CachedPage {
    /// The page in `response`, rendered with `nonce` after the changes in `seen` and showing
    /// what `marks` collected, or the response itself when it cannot be cached.
    async fn from_response(
        response: Response,
        nonce: &Nonce,
        marks: &RenderMarks,
        seen: Seen,
    ) -> Result<CachedPage, Response> {
        let headers = response.headers();
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        // `no-store`: part of the page failed or fell back (see `app::error::mark_not_cacheable`).
        let no_store = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("no-store")));
        if response.status() != StatusCode::OK || !is_html || no_store || headers.contains_key(header::SET_COOKIE) {
            return Err(response);
        }
        let (mut parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!(error = %err, "a rendered page could not be read (larger than 8 MiB?)");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        Ok(CachedPage {
            headers: parts.headers,
            body: split_at_every(&bytes, nonce.as_bytes()),
            // Read once the body is complete: every load of the page has finished.
            shown: marks.shown(),
            seen,
            rendered_at: std::time::Instant::now(),
        })
    }

    /// Whether the page is `refresh_after` old, and to be rendered again in the background
    /// (never when `None`).
    fn is_due(&self, refresh_after: Option<std::time::Duration>) -> bool {
        refresh_after.is_some_and(|after| self.rendered_at.elapsed() >= after)
    }

    /// Bytes this entry holds, for the memory budget.
    fn weight(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
        self.body.iter().map(Bytes::len).sum::<usize>() + headers
    }

    /// The page as a response whose scripts carry `nonce`.
    fn respond(&self, nonce: &Nonce) -> Response {
        let size = self.body.iter().map(Bytes::len).sum::<usize>() + self.body.len() * nonce.len();
        let mut body = Vec::with_capacity(size);
        for (i, part) in self.body.iter().enumerate() {
            if i > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(part);
        }
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// `bytes` split at every occurrence of `separator` (which is dropped); zero-copy.
fn split_at_every(bytes: &Bytes, separator: &[u8]) -> Vec<Bytes> {
    let mut parts = Vec::new();
    let mut start = 0;
    for at in memchr::memmem::find_iter(bytes, separator) {
        parts.push(bytes.slice(start..at));
        start = at + separator.len();
    }
    parts.push(bytes.slice(start..));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_every_separator() {
        let bytes = Bytes::from_static(b"<script nonce=\"N1\">a</script><p>N1</p>end");
        let parts = split_at_every(&bytes, b"N1");
        assert_eq!(parts, vec!["<script nonce=\"", "\">a</script><p>", "</p>end"]);
        assert_eq!(
            split_at_every(&Bytes::from_static(b"none here"), b"N1"),
            vec!["none here"]
        );
    }

    #[test]
    fn only_read_only_pages_are_cacheable() {
        for path in ["/", "/catalog", "/catalog/component/default/a", "/search", "/mesh"] {
            assert!(is_cacheable(path), "{path}");
        }
        for path in [
            "/login",
            "/admin",
            "/audit",
            "/transfers",
            "/api/v1/entities",
            "/catalogue",
            "/pkg/x.js",
        ] {
            assert!(!is_cacheable(path), "{path}");
        }
    }

    #[tokio::test]
    async fn a_cached_page_is_served_with_each_requests_nonce() {
        let rendered_with = Nonce::new();
        let body = format!("<script nonce=\"{rendered_with}\">x</script><script nonce=\"{rendered_with}\">y</script>");
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from(body.clone()))
            .unwrap();
        let page = CachedPage::from_response(response, &rendered_with, &RenderMarks::default(), Seen::default())
            .await
            .expect("cacheable");
        for _ in 0..2 {
            let nonce = Nonce::new();
            let response = page.respond(&nonce);
            let text = String::from_utf8(
                axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap()
                    .to_vec(),
            )
            .unwrap();
            assert!(!text.contains(&*rendered_with), "{text}");
            assert_eq!(text, body.replace(&*rendered_with, &nonce));
        }
    }

    #[tokio::test]
    async fn errors_redirects_cookies_and_degraded_pages_are_not_cached() {
        let not_found = Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::empty())
            .unwrap();
        let json = Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .unwrap();
        let cookie = Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .header(header::SET_COOKIE, "a=b")
            .body(Body::empty())
            .unwrap();
        let degraded = Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::empty())
            .unwrap();
        for response in [not_found, json, cookie, degraded] {
            assert!(
                CachedPage::from_response(response, &Nonce::new(), &RenderMarks::default(), Seen::default())
                    .await
                    .is_err()
            );
        }
    }
}
