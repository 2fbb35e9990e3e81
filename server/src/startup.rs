//! Builds the application (pages, server functions, HTTP API, static files) and serves it
//! until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use app::ssr::ServerCtx;
use app::{shell, App};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::cli::ServeArgs;
use crate::db::Database;
use crate::http::{self, AppState};

/// Leptos options for serving the site built by cargo-leptos. `site_root` overrides where the
/// built assets are (`target/site` by default, relative to the working directory).
pub fn leptos_options(site_root: Option<PathBuf>) -> anyhow::Result<LeptosOptions> {
    let mut options = leptos::config::get_configuration(None)
        .context("invalid LEPTOS_* configuration")?
        .leptos_options;
    if let Some(root) = site_root {
        options.site_root = root.to_string_lossy().into_owned().into();
    }
    Ok(options)
}

/// The whole application router: API routes first, then pages, then static files.
pub fn app_router(state: AppState) -> Router {
    let ctx = state.ctx.clone();
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    // The wasm bundle, JS and CSS, gzip-compressed for the browser (the wasm shrinks to about
    // a third). Pages are not compressed: on loopback and LANs the CPU costs more than it saves.
    let pkg_dir = PathBuf::from(&*options.site_root).join(&*options.site_pkg_dir);
    let assets = ServeDir::new(pkg_dir);
    let pages: Router<AppState> = Router::new()
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            tower::ServiceBuilder::new()
                .layer(CompressionLayer::new())
                .service(assets),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(ctx.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    http::router()
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::metrics::track,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        // A bug that panics answers 500 (and is counted in /metrics) instead of dropping the
        // connection.
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// `bearing serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let options = leptos_options(args.site_root.clone())?;
    let db = Database::open(&args.db, true).await?;
    if let Some(seed) = &args.seed_catalog {
        seed_if_empty(&db, seed).await?;
    }
    let ctx = ServerCtx::new(db.pool.clone());
    tokio::spawn(invalidate_on_import(db.pool.clone(), ctx.cache.clone()));
    let state = AppState::new(ctx, options)?;
    let app = app_router(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another server using it? (set --listen / BEARING_LISTEN)",
            args.listen
        )
    })?;
    tracing::info!("Bearing is listening on http://{}", args.listen);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the HTTP server failed");
    tracing::info!("shutting down");
    db.close().await?;
    served
}

async fn seed_if_empty(db: &Database, seed: &std::path::Path) -> anyhow::Result<()> {
    let count: i64 = app::catalog::repo::count_by_kind(&db.pool)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    if count > 0 {
        return Ok(());
    }
    tracing::info!(path = %seed.display(), "catalog is empty: importing the seed catalog");
    match crate::import::import_paths(&db.pool, &[seed.to_owned()], false).await {
        Ok(r) => {
            tracing::info!(added = r.added.len(), "seed catalog imported");
            Ok(())
        }
        Err(app::catalog::import::ImportError::Problems(p)) => {
            anyhow::bail!("the seed catalog {} has problems:\n{}", seed.display(), p.join("\n"))
        }
        Err(app::catalog::import::ImportError::Database(e)) => Err(e.into()),
    }
}

/// Empties the read cache whenever an import commits, in this process or another one
/// (imports `NOTIFY` on [`app::cache::CHANGED_CHANNEL`]). If the listening connection drops,
/// notifications may have been missed, so the cache is emptied then too.
pub async fn invalidate_on_import(pool: sqlx::PgPool, cache: app::cache::ReadCache) {
    // Ends when the pool is closed at shutdown.
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(_) if pool.is_closed() => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for catalog changes; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(app::cache::CHANGED_CHANNEL).await {
            tracing::warn!(error = %err, "cannot listen for catalog changes; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        cache.invalidate();
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => cache.invalidate(),
                // The connection was lost; PgListener reconnects on the next call.
                Ok(None) => cache.invalidate(),
                Err(_) if pool.is_closed() => return,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the catalog change listener; reconnecting");
                    cache.invalidate();
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
