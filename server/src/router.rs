//! Every endpoint Bearing serves, and the layers around them: the one place to look for "what
//! answers this URL". Handlers live in their modules (`http/`, `auth/routes.rs`); pages are the
//! app's route table (`app/src/routes.rs`), and server functions are the `#[server]` functions
//! in `app/src/*/api.rs`, all under `/api/fn/`.

use std::time::Duration;

use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use leptos_axum::LeptosRoutes;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::SessionManagerLayer;
use tower_sessions_sqlx_store::PostgresStore;

use crate::auth::{middleware as caller, routes as sign_in};
use crate::http::{backstage, edit, entities, health, identity, import, mesh, metrics, openapi};
use crate::state::AppState;
use crate::{page_cache, security, site, trace};

/// The whole application: the JSON APIs, sign-in, pages and server functions, static files,
/// behind sessions, the caller middleware and the security layers. `sessions` comes from
/// [`crate::auth::session::layer`].
pub fn build(state: AppState, sessions: SessionManagerLayer<PostgresStore>) -> Router {
    let options = state.leptos_options.clone();

    let api = Router::new()
        // Health: always public.
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // Sign-in with the identity provider.
        .route("/auth/login", get(sign_in::login))
        .route("/auth/callback", get(sign_in::callback))
        .route("/auth/logout", post(sign_in::logout))
        // Bearing's JSON API.
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/v1/me", get(identity::me))
        .route("/api/v1/audit", get(identity::audit))
        .route("/api/v1/entities", get(entities::list))
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}",
            get(entities::find).patch(edit::patch),
        )
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/transfer",
            post(edit::transfer),
        )
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/mesh",
            get(mesh::get_component_mesh),
        )
        .route("/api/v1/transfers", get(edit::list))
        .route("/api/v1/transfers/{id}/accept", post(edit::accept))
        .route("/api/v1/transfers/{id}/reject", post(edit::reject))
        .route("/api/v1/import", post(import::import))
        .route("/api/v1/mesh/services", get(mesh::list_services))
        .route("/api/v1/mesh/status", get(mesh::get_status))
        // The Backstage-compatible catalog API (`@backstage/catalog-client`).
        .route("/api/catalog/entities", get(backstage::list_entities))
        .route(
            "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
            get(backstage::by_name),
        )
        .route(
            "/api/catalog/entities/by-query",
            get(backstage::by_query).post(backstage::predicates_unsupported),
        )
        .route("/api/catalog/entities/by-refs", post(backstage::by_refs))
        .route(
            "/api/catalog/entity-facets",
            get(backstage::facets).post(backstage::predicates_unsupported),
        );

    let pages = Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), site::assets(&options))
        // Every page of the app's route table, and every server function under /api/fn/.
        .leptos_routes_with_context(&state, site::page_routes(), site::page_context(&state), {
            let options = options.clone();
            move || site::shell(options.clone())
        })
        // Inside the caller middleware below: the cache key needs to know who is asking.
        .route_layer(from_fn_with_state(state.clone(), page_cache::serve))
        // Files under the site root (favicon), else the app's 404 page.
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            site::page_context(&state),
            site::shell,
        ));

    api.merge(pages)
        // Inner to outer: who is calling (needs the session), sessions.
        .layer(from_fn_with_state(state.clone(), caller::resolve_caller))
        .layer(sessions)
        // Scrapers authenticate with the metrics token, not as a user: outside sign-in.
        .route("/metrics", get(metrics::render_for_token))
        // Then, for everything: cross-origin refusal, security headers, metrics, a time limit,
        // a 500 (counted in /metrics) instead of a dropped connection when a bug panics, and
        // outermost the request's id and span, so that everything inside logs with them.
        .layer(from_fn_with_state(state.clone(), security::refuse_cross_origin))
        .layer(from_fn_with_state(state.clone(), security::security_headers))
        .layer(from_fn(metrics::track))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(crate::http::error::panicked))
        .layer(trace::layer())
        .layer(from_fn(trace::assign_request_id))
        .with_state(state)
}

/// `/metrics` alone and without credentials, for the address given by `--metrics-listen`.
pub fn metrics_only(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics::render)).with_state(state)
}
