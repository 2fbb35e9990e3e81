//! Every endpoint Bearing serves, and the layers around them: the one place to look for "what
//! answers this URL". Handlers live in their modules (`http/`, `auth/routes.rs`); pages are the
//! app's route table (`app/src/routes.rs`), and server functions are the `#[server]` functions
//! in `app/src/*/api.rs`, all under `/api/fn/`.
//!
//! The API routes are registered with `routes!(module::handler)`, which takes the path and
//! method from the handler's `#[utoipa::path]` and adds its description to the OpenAPI document
//! ([`api_document`], served at `/api/openapi.json`): what is served and what is described
//! cannot differ. What the document leaves out is named in [`UNDOCUMENTED`].

use std::time::Duration;

use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use leptos_axum::LeptosRoutes;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::SessionManagerLayer;
use tower_sessions_sqlx_store::PostgresStore;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{middleware as caller, routes as sign_in};
use crate::http::{
    access_reviews, backstage, delivery, docs, edit, entities, evidence, health, identity, import, mesh, metrics,
    openapi, policy, policy_templates, scorecards,
};
use crate::state::AppState;
use crate::{page_cache, security, site, trace};

/// The whole application: the JSON APIs, sign-in, pages and server functions, static files,
/// behind sessions, the caller middleware and the security layers. `sessions` comes from
/// [`crate::auth::session::layer`].
pub fn build(state: AppState, sessions: SessionManagerLayer<PostgresStore>) -> Router {
    let options = state.leptos_options.clone();
    let close_when_draining = crate::shutdown::CloseWhenDrainingLayer(state.draining.clone());

    let (api, _) = api().split_for_parts();
    // The reference: a page for people, showing the document rather than described in it.
    let api = api
        .route("/api/docs", get(docs::page))
        .route("/api/docs/{file}", get(docs::asset).layer(CompressionLayer::new()));

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
        .merge(scrape().split_for_parts().0)
        // Then, for everything: cross-origin refusal, security headers, metrics, a time limit,
        // a 500 (counted in /metrics) instead of a dropped connection when a bug panics,
        // `Connection: close` while shutting down, and outermost the request's id and span, so
        // that everything inside logs with them.
        .layer(from_fn_with_state(state.clone(), security::refuse_cross_origin))
        .layer(from_fn_with_state(state.clone(), security::security_headers))
        .layer(from_fn(metrics::track))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(crate::http::error::panicked))
        // While shutting down, every answer closes its connection (`crate::shutdown`).
        .layer(close_when_draining)
        .layer(trace::layer())
        .layer(trace::RequestIdLayer)
        .with_state(state)
}

/// The API: health, sign-in, Bearing's JSON API and the Backstage-compatible catalog API, each
/// handler registered with its OpenAPI description. Behind sessions and the caller middleware.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        // Health: always public.
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        // Sign-in with the identity provider.
        .routes(routes!(sign_in::login))
        .routes(routes!(sign_in::callback))
        .routes(routes!(sign_in::logout))
        // Bearing's JSON API.
        .routes(routes!(openapi::get_document))
        .routes(routes!(identity::me))
        .routes(routes!(identity::audit))
        .routes(routes!(evidence::export))
        .routes(routes!(entities::list))
        .routes(routes!(entities::find, edit::patch))
        .routes(routes!(edit::transfer))
        .routes(routes!(mesh::get_component_mesh))
        .routes(routes!(edit::list))
        .routes(routes!(edit::accept))
        .routes(routes!(edit::reject))
        .routes(routes!(import::import))
        .routes(routes!(mesh::list_services))
        .routes(routes!(mesh::get_status))
        .routes(routes!(mesh::list_ownership_drift))
        .routes(routes!(policy::list_edges))
        .routes(routes!(policy::get_policy))
        .routes(routes!(policy::apply_policy))
        .routes(routes!(policy::rollback_policy))
        .routes(routes!(policy::adopt_policy))
        .routes(routes!(policy_templates::list))
        .routes(routes!(policy_templates::apply))
        .routes(routes!(policy_templates::rollback))
        .routes(routes!(policy_templates::adopt))
        .routes(routes!(delivery::post_lineage))
        .routes(routes!(delivery::post_lineage_batch))
        .routes(routes!(delivery::post_cdevents))
        .routes(routes!(delivery::list_runs))
        .routes(routes!(delivery::get_run))
        .routes(routes!(delivery::list_deployments))
        .routes(routes!(delivery::list_unmapped))
        .routes(routes!(scorecards::list_scorecards))
        .routes(routes!(scorecards::get_scorecard))
        .routes(routes!(scorecards::get_component_scorecards))
        .routes(routes!(delivery::get_dora))
        .routes(routes!(access_reviews::list_reviews, access_reviews::open_review))
        .routes(routes!(access_reviews::get_review))
        .routes(routes!(access_reviews::decide_entry))
        .routes(routes!(access_reviews::close_review))
        .routes(routes!(access_reviews::list_overrides))
        .routes(routes!(access_reviews::lift_override))
        // The Backstage-compatible catalog API (`@backstage/catalog-client`).
        .routes(routes!(backstage::list_entities))
        .routes(routes!(backstage::by_name))
        .routes(routes!(backstage::by_query, backstage::query_by_predicate))
        .routes(routes!(backstage::by_refs))
        .routes(routes!(backstage::facets, backstage::facets_by_predicate))
}

/// `/metrics` for a scraper with the metrics token: outside sessions and sign-in.
fn scrape() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics::render_for_token))
}

/// The OpenAPI document of every route in [`api`] and [`scrape`].
pub fn api_document() -> utoipa::openapi::OpenApi {
    let mut document = api().into_openapi();
    document.merge(scrape().into_openapi());
    document
}

/// Routes the API document leaves out, by path prefix, besides the pages of the app's route
/// table: the built site (`/pkg`), server functions (`/api/fn/`: the app's calls to itself,
/// whose shapes follow its pages) and the reference page showing the document (`/api/docs`).
/// Everything else is in [`api`] or [`scrape`]; the integration test
/// `openapi::the_document_and_the_router_agree` holds the router to that.
pub const UNDOCUMENTED: [&str; 3] = ["/pkg", "/api/fn/", "/api/docs"];

/// `/metrics` alone and without credentials, for the address given by `--metrics-listen`.
pub fn metrics_only(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics::render)).with_state(state)
}
