//! `bearing serve`: start the background work (sessions, audit checkpoints, the Kuma poller,
//! change notifications), build the application and serve it until SIGINT/SIGTERM, then drain
//! and stop ([`crate::shutdown`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use app::ssr::{AuthSettings, ServerCtx};
use clap::Args;

use crate::config::DatabaseArgs;
use crate::db::Database;
use crate::state::{AppState, AuthRuntime};

/// Flags of `bearing serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BEARING_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Catalog files imported at start when the catalog is empty (e.g. the demo in examples/).
    #[arg(long, env = "BEARING_SEED_CATALOG")]
    pub seed_catalog: Option<PathBuf>,

    /// Directory with the built site (pkg/ with wasm, JS and CSS). Defaults to cargo-leptos'
    /// `target/site`.
    #[arg(long, env = "BEARING_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// A directory of policy templates (one YAML file each; see `policy-templates/`): Kuma
    /// policies such as timeouts by tier or access logs by lifecycle, proposed for every
    /// component they select. Read and validated at start: a bad template stops the server
    /// with its file and line.
    #[arg(long, env = "BEARING_POLICY_TEMPLATES")]
    pub policy_templates: Option<PathBuf>,

    /// A directory of scorecards (one YAML file each; see `scorecards/`): levels of checks on
    /// the catalog, the mesh and delivery, evaluated for every component they select. Read and
    /// validated at start: a bad card stops the server with its file, line and column.
    #[arg(long, env = "BEARING_SCORECARDS")]
    pub scorecards: Option<PathBuf>,

    /// Time between two evaluations of every scorecard (results only change when their inputs
    /// did; a pass writes nothing otherwise).
    #[arg(long, env = "BEARING_SCORECARDS_INTERVAL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub scorecards_interval: std::time::Duration,

    /// On SIGTERM or Ctrl-C, Bearing stops accepting connections at once, and for this long keeps
    /// answering on the open ones, each answer closing its connection (`/readyz` says "shutting
    /// down"); then it closes the idle ones and finishes the requests in flight. Lets a proxy move
    /// its kept-alive connections away without losing a request (`server/src/shutdown.rs`). `0s`:
    /// no drain.
    #[arg(long, env = "BEARING_SHUTDOWN_DRAIN", default_value = "2s", value_parser = humantime::parse_duration)]
    pub shutdown_drain: std::time::Duration,

    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(flatten)]
    pub auth: crate::config::AuthArgs,

    #[command(flatten)]
    pub audit: crate::config::AuditArgs,

    #[command(flatten)]
    pub kuma: crate::config::KumaArgs,

    #[command(flatten)]
    pub pages: crate::config::PageCacheArgs,

    #[command(flatten)]
    pub metrics: crate::config::MetricsArgs,

    #[command(flatten)]
    pub import: crate::config::ImportLimitArgs,

    #[command(flatten)]
    pub delivery: crate::config::DeliveryArgs,
}

/// `bearing serve`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let options = crate::site::leptos_options(args.site_root.clone())?;
    // The event schemas compile while the database starts, not on the first producer's request.
    let schemas = tokio::task::spawn_blocking(bearing_delivery::prepare);
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
    if ctx.control_planes.is_some() {
        crate::mesh::policy_follow::spawn(ctx.clone());
    }
    crate::delivery::spawn(ctx.clone());
    // Each day's mesh state, which the evidence bundle's mesh files are read from.
    tokio::spawn(app::evidence::snapshot::keep_daily(ctx.clone()));
    if !ctx.scorecards.cards.is_empty() {
        crate::scorecards::spawn(ctx.clone());
    }
    if let Some(provider) = &runtime.provider {
        tokio::spawn(provider.clone().keep_discovered());
    }
    let session_layer = crate::auth::session::layer(db.pool.clone(), &args.auth)?;
    let mut state = AppState::new(ctx, options, runtime)?;
    state.pages = crate::page_cache::PageCache::new(&args.pages);
    state.metrics_token = args.metrics.metrics_token.clone().map(std::sync::Arc::new);
    state.import_limits = args.import.limits();
    state.ingest_limits = args.delivery.ingest_limits();
    let draining = state.draining.clone();
    crate::changes::follow_changes(db.pool.clone(), state.ctx.cache.clone(), state.pages.clone()).await;
    if let Some(addr) = args.metrics.metrics_listen {
        serve_metrics(addr, state.clone()).await?;
    }
    schemas.await.context("compiling the delivery event schemas")?;
    // The first visitors find the catalog list ready rather than waiting for its first build.
    let started = std::time::Instant::now();
    match state.ctx.list_index.warm(&state.ctx).await {
        Ok(()) => tracing::info!(
            took_ms = started.elapsed().as_millis() as u64,
            "catalog list index built"
        ),
        Err(_) => tracing::warn!("the catalog list index is not built yet; the first list request builds it"),
    }
    let app = crate::router::build(state, session_layer);
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another server using it? (set --listen / BEARING_LISTEN)",
            args.listen
        )
    })?;
    let listener = crate::shutdown::DrainingListener::new(listener, draining.clone())?;
    tracing::info!("Bearing is listening on http://{}", args.listen);
    let served = axum::serve(
        axum::serve::ListenerExt::tap_io(listener, |_| ()),
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(crate::shutdown::drain_on_signal(draining, args.shutdown_drain))
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
        if let Err(err) = axum::serve(listener, crate::router::metrics_only(state)).await {
            tracing::error!(error = %err, "the metrics listener failed");
        }
    });
    Ok(())
}

/// The server context and sign-in runtime for `args`: auth settings (see [`auth_settings`]),
/// the audit signing key (generated on first start) and the identity provider.
pub fn build_context(args: &ServeArgs, pool: sqlx::PgPool) -> anyhow::Result<(ServerCtx, AuthRuntime)> {
    let a = &args.auth;
    // First: a bad template is an operator's typo, reported before anything is created.
    let templates = match &args.policy_templates {
        Some(dir) => {
            let loaded = bearing_policy::templates::load_dir(dir)
                .with_context(|| format!("the policy templates in {} (--policy-templates)", dir.display()))?;
            tracing::info!(count = loaded.len(), dir = %dir.display(), "policy templates loaded");
            loaded
        }
        None => Vec::new(),
    };
    let scorecards = match &args.scorecards {
        Some(dir) => {
            let loaded = bearing_scorecards::card::load_dir(dir)
                .with_context(|| format!("the scorecards in {} (--scorecards)", dir.display()))?;
            tracing::info!(count = loaded.len(), dir = %dir.display(), "scorecards loaded");
            loaded
        }
        None => Vec::new(),
    };
    let settings = auth_settings(a)?;
    let audit = args.audit.load(&args.db.data_dir)?;
    tracing::info!(
        key.fingerprint = %audit.key.fingerprint(),
        "audit checkpoints are signed with this key (SHA-256 fingerprint)"
    );
    let mut ctx = ServerCtx::new(pool, settings, audit);
    ctx.policy_templates = templates.into();
    ctx.scorecards.cards = scorecards.into();
    ctx.scorecards.interval = args.scorecards_interval;
    ctx.mesh.poll_interval = args.kuma.kuma_poll_interval;
    ctx.mesh.stats_interval = args.kuma.kuma_stats_interval;
    ctx.mesh.observed_window = args.kuma.kuma_observed_window;
    ctx.mesh.team_label = args.kuma.kuma_team_label.as_str().into();
    ctx.delivery = args.delivery.settings();
    // Policy writes go to the same control planes the poller reads.
    let control_planes = args.kuma.control_planes()?;
    if !control_planes.is_empty() {
        ctx.control_planes = Some(crate::mesh::writer::Writer::new(&control_planes, &args.kuma)?);
    }
    let provider = crate::auth::oidc::Provider::new(a, ctx.auth.clone())?;
    if provider.is_none() {
        tracing::warn!("no identity provider configured (BEARING_OIDC_ISSUER): nobody can sign in");
    }
    let producer_clients = producer_clients(a)?;
    let runtime = AuthRuntime {
        provider,
        session_lifetime: time::Duration::try_from(a.session_lifetime)?,
        public_origin: a.public_origin(),
        limits: crate::auth::limit::Limits::from_args(a),
        producer_clients,
    };
    Ok((ctx, runtime))
}

/// The producers that authenticate with client-credentials access tokens (`--producer-clients`),
/// checked at start: a bad file stops the server with its name and the entry.
pub fn producer_clients(
    a: &crate::config::AuthArgs,
) -> anyhow::Result<Option<std::sync::Arc<crate::auth::producers::ProducerClients>>> {
    let Some(path) = &a.producer_clients else {
        return Ok(None);
    };
    if a.oidc_issuer.as_deref().is_none_or(str::is_empty) {
        anyhow::bail!(
            "--producer-clients names clients of the identity provider, whose tokens Bearing verifies with its keys: set --oidc-issuer too"
        );
    }
    let clients = crate::auth::producers::load(path, &a.producer_audience())?;
    tracing::info!(
        clients = clients.len(),
        audience = %clients.audience,
        file = %path.display(),
        "client-credentials producers loaded"
    );
    Ok(Some(std::sync::Arc::new(clients)))
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
    audit: &app::ssr::AuditSettings,
    limits: &bearing_catalog::import::Limits,
) -> anyhow::Result<()> {
    if !app::catalog::import::catalog_is_empty(&db.pool).await? {
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
        Err(e @ app::catalog::import::ImportError::Internal) => Err(e.into()),
    }
}
