//! Builds the application (pages, server functions, HTTP API, static files) and serves it
//! until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use app::ssr::{AuthSettings, ServerCtx};
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
use crate::http::{self, AppState, AuthRuntime};
use crate::page_cache::PageCache;

/// Leptos options for serving the site built by cargo-leptos. `site_root` overrides where the
/// built assets are (`target/site` by default, relative to the working directory).
pub fn leptos_options(site_root: Option<PathBuf>) -> anyhow::Result<LeptosOptions> {
    let mut options = leptos::config::get_configuration(None)
        .context("invalid LEPTOS_* configuration")?
        .leptos_options;
    // leptos_config bakes LEPTOS_OUTPUT_NAME in at compile time, and cargo does not rebuild a
    // registry crate when that variable changes: after a plain `cargo build`/`cargo test` in the
    // same target dir, a binary built by cargo-leptos has no output name and pages load
    // `/pkg/.js`. The name is fixed by Cargo.toml's [[workspace.metadata.leptos]].
    if options.output_name.is_empty() {
        options.output_name = "bearing".into();
    }
    if let Some(root) = site_root {
        options.site_root = root.to_string_lossy().into_owned().into();
    }
    Ok(options)
}

/// The app's routes, generated once per process.
///
/// Generating them runs the whole app with resource loading suppressed through a
/// process-global flag; a resource first polled by a page rendering meanwhile, in any router
/// of the process, waits forever (leptos-rs/leptos#4773). `bearing serve` builds one router
/// before it serves, but the tests build one per test while others render, and pages hung
/// until the 30 s request timeout. Generated once, the window is before any router exists.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application router: API routes first, then pages, then static files, all behind
/// sessions, the caller middleware and the security layers. `session_layer` comes from
/// [`crate::auth::session::layer`].
pub fn app_router(
    state: AppState,
    session_layer: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>,
) -> Router {
    // What every rendered page (routes and the 404 fallback alike) finds in its context: the
    // server context and the nonce the security middleware chose for this request.
    let page_context = {
        let ctx = state.ctx.clone();
        move || {
            provide_context(ctx.clone());
            crate::security::provide_request_nonce();
        }
    };
    let routes = route_list();
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
        .leptos_routes_with_context(&state, routes, page_context.clone(), move || shell(options.clone()))
        // Inside the caller middleware below: the cache key needs to know who is asking.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::page_cache::serve,
        ))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            page_context,
            shell,
        ));
    http::router()
        .merge(pages)
        // Inner to outer: who is calling (needs the session), sessions, cross-origin refusal,
        // security headers, metrics.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware::resolve_caller,
        ))
        .layer(session_layer)
        // Scrapers authenticate with the metrics token, not as a user.
        .merge(http::metrics::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::refuse_cross_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::security_headers,
        ))
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
    let (ctx, runtime) = build_context(&args, db.pool.clone())?;
    if let Some(seed) = &args.seed_catalog {
        seed_if_empty(&db, seed, &ctx.audit, &args.import.limits()).await?;
    }
    tokio::spawn(crate::auth::session::delete_expired(db.pool.clone()));
    tokio::spawn(app::audit::service::keep_checkpointed(
        ctx.pool.clone(),
        ctx.audit.clone(),
    ));
    crate::mesh::poller::spawn_all(db.pool.clone(), &args.kuma).await?;
    if let Some(provider) = &runtime.provider {
        tokio::spawn(provider.clone().keep_discovered());
    }
    let session_layer = crate::auth::session::layer(db.pool.clone(), &args.auth)?;
    let mut state = AppState::new(ctx, options, runtime)?;
    state.pages = crate::page_cache::PageCache::new(&args.pages);
    state.metrics_token = args.metrics.metrics_token.clone().map(std::sync::Arc::new);
    state.import_limits = args.import.limits();
    follow_changes(db.pool.clone(), state.ctx.cache.clone(), state.pages.clone()).await;
    if let Some(addr) = args.metrics.metrics_listen {
        serve_metrics(addr, state.clone()).await?;
    }
    let app = app_router(state, session_layer);
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

/// Serves `/metrics` alone on `addr` (`--metrics-listen`), until the process ends.
async fn serve_metrics(addr: std::net::SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for metrics (set --metrics-listen / BEARING_METRICS_LISTEN)")
    })?;
    tracing::info!("metrics are served on http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, http::metrics::standalone(state)).await {
            tracing::error!(error = %err, "the metrics listener failed");
        }
    });
    Ok(())
}

/// The server context and sign-in runtime for `args`: auth settings (see [`auth_settings`]),
/// the audit signing key (generated on first start) and the identity provider.
pub fn build_context(args: &ServeArgs, pool: sqlx::PgPool) -> anyhow::Result<(ServerCtx, AuthRuntime)> {
    let a = &args.auth;
    let settings = auth_settings(a)?;
    let audit = args.audit.load(&args.db.data_dir)?;
    tracing::info!(
        key.fingerprint = %audit.key.fingerprint(),
        "audit checkpoints are signed with this key (SHA-256 fingerprint)"
    );
    let mut ctx = ServerCtx::new(pool, settings, audit);
    ctx.mesh.poll_interval = args.kuma.kuma_poll_interval;
    ctx.mesh.stats_interval = args.kuma.kuma_stats_interval;
    let provider = crate::auth::oidc::Provider::new(a, ctx.auth.clone())?;
    if provider.is_none() {
        tracing::warn!("no identity provider configured (BEARING_OIDC_ISSUER): nobody can sign in");
    }
    let runtime = AuthRuntime {
        provider,
        session_lifetime: time::Duration::try_from(a.session_lifetime)?,
        public_origin: a.public_origin(),
        limits: crate::auth::limit::Limits::from_args(a),
    };
    Ok((ctx, runtime))
}

/// Who may read and how people get privileges, from the flags: the demo users of the
/// development provider (if configured), the role-mapping file and the bootstrap admins. Fails,
/// naming the flag, on a file or value that cannot be used.
pub fn auth_settings(a: &crate::config::AuthArgs) -> anyhow::Result<AuthSettings> {
    let dev_users = match &a.dev_users {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read BEARING_DEV_USERS file {}", path.display()))?;
            serde_json::from_str::<Vec<app::auth::DevUser>>(&text)
                .with_context(|| format!("{} is not a JSON list of {{login, name, role_hint}}", path.display()))?
        }
        None => Vec::new(),
    };
    let file_mappings = match &a.role_mapping_file {
        Some(path) => crate::auth::roles::load_mapping_file(path)?,
        None => Vec::new(),
    };
    let bootstrap_admins = crate::auth::roles::parse_bootstrap_admins(&a.bootstrap_admins, a.oidc_issuer.as_deref())?;
    if file_mappings.is_empty() && bootstrap_admins.is_empty() {
        tracing::info!(
            "no --role-mapping-file and no --bootstrap-admin: signed-in people are viewers until an admin maps groups on /admin"
        );
    }
    Ok(AuthSettings {
        anonymous_read: a.anonymous_read,
        lead_group_suffix: a.lead_group_suffix.trim().to_owned(),
        issuer: a.oidc_issuer.clone(),
        provider_ready: Default::default(),
        dev_users,
        bootstrap_admins,
        file_mappings,
        mapping_file: a.role_mapping_file.as_ref().map(|p| p.display().to_string()),
        token_expiry_days: a.token_expiry_days,
    })
}

async fn seed_if_empty(
    db: &Database,
    seed: &std::path::Path,
    audit: &app::audit::service::AuditSettings,
    limits: &bearing_catalog::import::Limits,
) -> anyhow::Result<()> {
    let count: i64 = app::catalog::repo::count_by_kind(&db.pool)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    if count > 0 {
        return Ok(());
    }
    tracing::info!(path = %seed.display(), "catalog is empty: importing the seed catalog");
    match crate::import::import_paths(
        &db.pool,
        &[seed.to_owned()],
        false,
        audit,
        &app::auth::guard::Caller::system("seed"),
        limits,
    )
    .await
    {
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

/// Keeps this server's caches in step with the database, whoever changed it: the read cache
/// (and with it every rendered page) is emptied when the catalog changes (imports, edits and
/// transfers `NOTIFY` on [`app::cache::CHANGED_CHANNEL`]), and rendered pages are dropped when
/// the mesh state changes ([`app::mesh::repo::CHANGED_CHANNEL`]). If the listening connection
/// drops, notifications may have been missed, so both are emptied then too.
///
/// Returns once this server listens (or after ten seconds of trying, with a warning), so that
/// nothing cached after startup can miss a change; the listening goes on in the returned task.
pub async fn follow_changes(
    pool: sqlx::PgPool,
    cache: app::cache::ReadCache,
    pages: PageCache,
) -> tokio::task::JoinHandle<()> {
    let (listening, ready) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(listen_for_changes(pool, cache, pages, listening));
    if tokio::time::timeout(Duration::from_secs(10), ready).await.is_err() {
        tracing::warn!("not yet listening for catalog and mesh changes; serving anyway");
    }
    task
}

async fn listen_for_changes(
    pool: sqlx::PgPool,
    cache: app::cache::ReadCache,
    pages: PageCache,
    listening: tokio::sync::oneshot::Sender<()>,
) {
    let mut listening = Some(listening);
    let forget_all = || {
        cache.invalidate();
        pages.invalidate();
    };
    // Ends when the pool is closed at shutdown.
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(_) if pool.is_closed() => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for catalog and mesh changes; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let channels = [app::cache::CHANGED_CHANNEL, app::mesh::repo::CHANGED_CHANNEL];
        if let Err(err) = listener.listen_all(channels).await {
            tracing::warn!(error = %err, "cannot listen for catalog and mesh changes; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        forget_all();
        if let Some(listening) = listening.take() {
            // The caller may have stopped waiting; nothing to tell then.
            let _ = listening.send(());
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == app::mesh::repo::CHANGED_CHANNEL => pages.invalidate(),
                Ok(Some(_)) => cache.invalidate(),
                // The connection was lost; PgListener reconnects on the next call.
                Ok(None) => forget_all(),
                Err(_) if pool.is_closed() => return,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the change listener; reconnecting");
                    forget_all();
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
