//! The state every handler, middleware and page render shares, built once by `bearing serve`.

use std::sync::Arc;

use app::ssr::ServerCtx;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;

/// Shared state of every handler: one reference-counted [`Shared`].
///
/// Cheap to clone on purpose. axum clones a route's service, and each `from_fn` middleware its
/// inner stack, on every request, and every clone clones the state it holds: with the fields
/// inline, each request copied the Leptos options, the caches and the pool several times over
/// (about 40 % of a cached page's CPU time under `perf`). A clone is now one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds. Changed only while the server is being built
/// ([`std::ops::DerefMut`] copies it if it is already shared).
#[derive(Clone)]
pub struct Shared {
    /// Database and read cache, shared with pages and server functions.
    pub ctx: ServerCtx,
    /// Where the built site lives, and other rendering options.
    pub leptos_options: LeptosOptions,
    /// Renders the Prometheus metrics.
    pub metrics: PrometheusHandle,
    /// Sign-in: the identity provider and session rules.
    pub auth: Arc<AuthRuntime>,
    /// Rendered pages, served again to the same viewer until something they show changes.
    pub pages: crate::page_cache::PageCache,
    /// The secret a scraper sends to read `/metrics` on the main address (none: refused).
    pub metrics_token: Option<Arc<secrecy::SecretString>>,
    /// How much `POST /api/v1/import` reads (`--import-max-file-size`).
    pub import_limits: bearing_catalog::import::Limits,
    /// How much delivery-event ingest reads and how many requests it takes at once.
    pub ingest_limits: crate::http::delivery::IngestLimits,
    /// Set when shutdown begins: answers close their connection, `/readyz` says so.
    pub draining: crate::shutdown::Draining,
}

/// What the sign-in routes and the auth middleware need besides [`ServerCtx`].
pub struct AuthRuntime {
    /// The identity provider; `None` when none is configured.
    pub provider: Option<Arc<crate::auth::oidc::Provider>>,
    /// A session ends this long after sign-in.
    pub session_lifetime: time::Duration,
    /// `scheme://host[:port]` of the public URL: the only origin allowed to change state.
    pub public_origin: String,
    /// Per-client limits on sign-in requests and failed token authentications.
    pub limits: crate::auth::limit::Limits,
    /// The identity provider's clients that may report as producers with a client-credentials
    /// access token (`--producer-clients`); `None`: such tokens are refused.
    pub producer_clients: Option<Arc<crate::auth::producers::ProducerClients>>,
}

impl AppState {
    /// State for a server with context `ctx` and a page cache with the default settings.
    pub fn new(ctx: ServerCtx, leptos_options: LeptosOptions, auth: AuthRuntime) -> anyhow::Result<AppState> {
        Ok(AppState(Arc::new(Shared {
            ctx,
            leptos_options,
            metrics: crate::telemetry::metrics_recorder()?,
            auth: Arc::new(auth),
            pages: crate::page_cache::PageCache::new(&crate::config::PageCacheArgs::default()),
            metrics_token: None,
            import_limits: bearing_catalog::import::Limits::default(),
            ingest_limits: crate::http::delivery::IngestLimits::default(),
            draining: Default::default(),
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for ServerCtx {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.clone()
    }
}

impl FromRef<AppState> for app::cache::ReadCache {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.cache.clone()
    }
}

impl FromRef<AppState> for Arc<app::ssr::AuthSettings> {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.auth.clone()
    }
}

impl FromRef<AppState> for crate::page_cache::PageCache {
    fn from_ref(state: &AppState) -> Self {
        state.pages.clone()
    }
}

impl FromRef<AppState> for Arc<AuthRuntime> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
