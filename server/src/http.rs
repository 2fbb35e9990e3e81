//! The HTTP API: Bearing's own JSON API under `/api/v1`, Backstage-compatible catalog reads
//! under `/api/catalog`, the OpenAPI document, health and metrics.

pub mod backstage;
pub mod edit;
pub mod entities;
pub mod error;
pub mod health;
pub mod identity;
pub mod import;
pub mod mesh;
pub mod metrics;
pub mod openapi;

use std::sync::Arc;

use app::ssr::ServerCtx;
use axum::extract::FromRef;
use axum::Router;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
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
}

impl AppState {
    /// State for a server with context `ctx` and a page cache with the default settings.
    pub fn new(ctx: ServerCtx, leptos_options: LeptosOptions, auth: AuthRuntime) -> anyhow::Result<AppState> {
        Ok(AppState {
            ctx,
            leptos_options,
            metrics: metrics::recorder()?,
            auth: Arc::new(auth),
            pages: crate::page_cache::PageCache::new(&crate::config::PageCacheArgs::default()),
            metrics_token: None,
            import_limits: bearing_catalog::import::Limits::default(),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Every API route behind sign-in (`/metrics` has its own check: [`metrics::router`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(crate::auth::routes::router())
        .merge(entities::router())
        .merge(edit::router())
        .merge(identity::router())
        .merge(import::router())
        .merge(mesh::router())
        .merge(backstage::router())
        .merge(openapi::router())
}
