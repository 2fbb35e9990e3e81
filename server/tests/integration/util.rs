//! Test support: a private PostgreSQL cluster shared by the test process, a fresh migrated
//! database per test, and an in-process app to send requests to.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use server::page_cache::PageCache;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tower::ServiceExt;

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared test cluster (started once per process, left running for the next run;
/// `scripts/stop-test-pg.sh` stops it): how to connect as its owner (the superuser, who
/// migrates) and as the serving role.
#[derive(Clone)]
pub struct TestCluster {
    /// The superuser, database `postgres`.
    pub owner: PgConnectOptions,
    /// The serving role ([`server::db::embedded::access::SERVER_ROLE`]), database `postgres`.
    pub server: PgConnectOptions,
    /// The socket directory.
    pub socket_dir: PathBuf,
    /// PostgreSQL's programs.
    pub bin_dir: PathBuf,
}

/// The shared test cluster.
pub fn cluster() -> TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            // A dedicated thread with its own runtime: tests each run on their own runtime,
            // and this must happen exactly once regardless of which test gets here first.
            std::thread::spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("test runtime");
                rt.block_on(async {
                    let dir = repo_root().join("target/test-pg");
                    let cluster = server::db::embedded::Embedded::ensure(&dir, None)
                        .await
                        .expect("start test PostgreSQL");
                    let test_cluster = TestCluster {
                        owner: cluster.owner_options("postgres"),
                        server: cluster.server_options("postgres"),
                        socket_dir: cluster.socket_dir().to_owned(),
                        bin_dir: cluster.bin_dir().to_owned(),
                    };
                    drop_leftover_databases(&test_cluster.owner).await;
                    test_cluster
                })
            })
            .join()
            .expect("cluster thread")
        })
        .clone()
}

/// Drops the databases earlier test runs left behind (each test creates one), so the test
/// cluster does not grow run after run. Runs once per test process, before any test starts.
/// Only databases of processes that have ended are dropped: two test runs at once (two
/// checkouts, or `cargo test` beside an editor's test runner) share the cluster and must not
/// drop each other's databases.
async fn drop_leftover_databases(options: &PgConnectOptions) {
    let mut conn = options.connect().await.expect("connect to test cluster");
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
        .fetch_all(&mut conn)
        .await
        .expect("list test databases");
    for name in names.iter().filter(|n| !owner_is_running(n)) {
        // Names come from the cluster and match `t_<pid>_<uuid>`; quoted anyway.
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop leftover test database");
    }
    conn.close().await.ok();
}

/// Whether the test process that created database `name` (`t_<pid>_<uuid>`) still runs.
fn owner_is_running(name: &str) -> bool {
    let pid = name.strip_prefix("t_").and_then(|rest| rest.split('_').next());
    match pid.and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => std::path::Path::new(&format!("/proc/{pid}")).exists(),
        // Named before databases carried their process id: left over.
        None => false,
    }
}

/// A fresh database with migrations applied, unique to one test. Returns the pool the server
/// uses (the serving login role, acting as `bearing_app`) and a superuser pool (the migration
/// owner) for tests that must go around the application, such as tampering with the audit log.
pub async fn fresh_db() -> (PgPool, PgPool) {
    let cluster = cluster();
    let admin = cluster.owner;
    let name = format!("t_{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let mut conn = admin.connect().await.expect("connect to test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let options = admin.database(&name);
    server::db::migrate_with(&options).await.expect("migrate");
    let app = server::db::app_pool_options(5)
        .connect_with(cluster.server.database(&name))
        .await
        .expect("connect");
    let superuser = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("connect");
    (app, superuser)
}

/// A fresh database (the server's pool only).
pub async fn fresh_pool() -> PgPool {
    fresh_db().await.0
}

/// The secret tests' scrapers send to read `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The public URL tests pretend the server has; the only origin allowed to change state.
pub const ORIGIN: &str = "http://bearing.test";

/// Server settings for tests: anonymous reads as given, a fresh audit key, no identity provider.
pub fn context(pool: PgPool, anonymous_read: bool) -> app::ssr::ServerCtx {
    let auth = app::ssr::AuthSettings {
        anonymous_read,
        lead_group_suffix: "-leads".into(),
        ..Default::default()
    };
    app::ssr::ServerCtx::new(pool, auth, app::ssr::AuditSettings::ephemeral())
}

/// The real router for `ctx`, with sessions in the same database and the default page cache.
pub fn router(ctx: app::ssr::ServerCtx, options: leptos::config::LeptosOptions) -> Router {
    let pages = PageCache::new(&server::config::PageCacheArgs::default());
    router_with_pages(ctx, options, pages)
}

/// [`router`] with the given page cache.
pub fn router_with_pages(ctx: app::ssr::ServerCtx, options: leptos::config::LeptosOptions, pages: PageCache) -> Router {
    router_with(ctx, options, pages, bearing_catalog::import::Limits::default())
}

/// [`router`] with the given page cache and import limits (`--import-max-file-size`).
pub fn router_with(
    ctx: app::ssr::ServerCtx,
    options: leptos::config::LeptosOptions,
    pages: PageCache,
    import_limits: bearing_catalog::import::Limits,
) -> Router {
    router_at(ORIGIN, ctx, options, pages, import_limits)
}

/// [`router_with`] for a server whose public URL is `origin` (e.g. an https one).
pub fn router_at(
    origin: &str,
    ctx: app::ssr::ServerCtx,
    options: leptos::config::LeptosOptions,
    pages: PageCache,
    import_limits: bearing_catalog::import::Limits,
) -> Router {
    router_and_state(origin, ctx, options, pages, import_limits).0
}

/// [`router_at`], and the state it serves (for tests that change it while serving, such as
/// starting the shutdown drain).
pub fn router_and_state(
    origin: &str,
    ctx: app::ssr::ServerCtx,
    options: leptos::config::LeptosOptions,
    pages: PageCache,
    import_limits: bearing_catalog::import::Limits,
) -> (Router, server::state::AppState) {
    let pool = ctx.pool.clone();
    let runtime = server::state::AuthRuntime {
        provider: None,
        session_lifetime: time::Duration::hours(24),
        public_origin: origin.into(),
        limits: Default::default(),
        producer_clients: None,
    };
    let args = auth_args_at(origin);
    let mut state = server::state::AppState::new(ctx, options, runtime).expect("state");
    state.pages = pages;
    state.metrics_token = Some(std::sync::Arc::new(METRICS_TOKEN.to_owned().into()));
    state.import_limits = import_limits;
    let router = server::router::build(
        state.clone(),
        server::auth::session::layer(pool, &args).expect("session layer"),
    );
    (router, state)
}

/// Default auth flags with the test origin.
pub fn auth_args() -> server::config::AuthArgs {
    auth_args_at(ORIGIN)
}

/// Default auth flags with the public URL `origin`.
pub fn auth_args_at(origin: &str) -> server::config::AuthArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        a: server::config::AuthArgs,
    }
    P::parse_from(["test", "--public-url", origin]).a
}

/// The real router on a fresh database.
pub struct TestApp {
    /// The server's pool (the serving login role, acting as `bearing_app`).
    pub pool: PgPool,
    /// A superuser pool on the same database.
    pub superuser: PgPool,
    pub ctx: app::ssr::ServerCtx,
    pub cache: app::cache::ReadCache,
    /// Rendered pages; kept for an hour unless something changes (see [`TestApp::page_args`]).
    pub pages: PageCache,
    pub router: Router,
    /// An admin API token, used by [`TestApp::post`].
    pub admin_token: String,
}

impl TestApp {
    /// A new app on its own database; anonymous visitors may read.
    pub async fn new() -> TestApp {
        TestApp::build(true, TestApp::page_args()).await
    }

    /// A new app where every route needs credentials (the default in production).
    pub async fn strict() -> TestApp {
        TestApp::build(false, TestApp::page_args()).await
    }

    /// An app with the demo catalog whose rendered pages follow `pages` (anonymous visitors may
    /// read).
    pub async fn with_demo_and_pages(pages: server::config::PageCacheArgs) -> TestApp {
        let app = TestApp::build(true, pages).await;
        app.import_demo().await;
        app
    }

    /// Rendered pages kept for an hour unless something changes, so a test sees invalidation
    /// rather than expiry.
    fn page_args() -> server::config::PageCacheArgs {
        server::config::PageCacheArgs {
            page_cache_ttl: std::time::Duration::from_secs(3600),
            ..Default::default()
        }
    }

    async fn build(anonymous_read: bool, page_args: server::config::PageCacheArgs) -> TestApp {
        crate::logs::install();
        let (pool, superuser) = fresh_db().await;
        let options = server::site::leptos_options(None).expect("leptos options");
        let ctx = context(pool.clone(), anonymous_read);
        let cache = ctx.cache.clone();
        let pages = PageCache::new(&page_args);
        let router = router_with_pages(ctx.clone(), options, pages.clone());
        // What `bearing serve` runs beside the router: imports, edits and mesh writes from any
        // process empty the caches.
        server::changes::follow_changes(pool.clone(), cache.clone(), pages.clone()).await;
        let mut app = TestApp {
            router,
            pages,
            pool,
            superuser,
            ctx,
            cache,
            admin_token: String::new(),
        };
        app.admin_token = app.token("admin", None).await;
        app
    }

    /// A new app with the demo catalog imported.
    pub async fn with_demo() -> TestApp {
        let app = TestApp::new().await;
        app.import_demo().await;
        app
    }

    /// A strict app with the demo catalog.
    pub async fn strict_with_demo() -> TestApp {
        let app = TestApp::strict().await;
        app.import_demo().await;
        app
    }

    /// Imports examples/ as the command line would.
    pub async fn import_demo(&self) {
        let before = self.cache.generation();
        server::import::import_paths(
            &self.pool,
            &[repo_root().join("examples")],
            false,
            &self.ctx.audit,
            &server::commands::cli_caller(),
            &Default::default(),
        )
        .await
        .expect("demo imports");
        self.seen_change(before).await;
    }

    /// Waits until this server has heard of a catalog change after `before` (the read cache's
    /// generation then): a change written by "another process" reaches the caches through
    /// `NOTIFY`, asynchronously, and a test that reads right after it must not race it.
    pub async fn seen_change(&self, before: u64) {
        for _ in 0..200 {
            if self.cache.generation() > before {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the change notification never reached this server");
    }

    /// Imports files and directories as the command line would.
    pub async fn import_paths(
        &self,
        paths: &[PathBuf],
    ) -> Result<app::catalog::ImportReport, app::catalog::import::ImportError> {
        self.import_paths_within(paths, &Default::default()).await
    }

    /// [`TestApp::import_paths`] with the given limits.
    pub async fn import_paths_within(
        &self,
        paths: &[PathBuf],
        limits: &bearing_catalog::import::Limits,
    ) -> Result<app::catalog::ImportReport, app::catalog::import::ImportError> {
        server::import::import_paths(
            &self.pool,
            paths,
            false,
            &self.ctx.audit,
            &server::commands::cli_caller(),
            limits,
        )
        .await
    }

    /// This app with `POST /api/v1/import` reading within `limits`, as `bearing serve
    /// --import-max-file-size` would.
    pub fn with_import_limits(mut self, limits: bearing_catalog::import::Limits) -> TestApp {
        let options = server::site::leptos_options(None).expect("leptos options");
        self.router = router_with(self.ctx.clone(), options, self.pages.clone(), limits);
        self
    }

    /// This app writing policies to `writer`, as `bearing serve` does to its control planes.
    pub fn with_control_planes(
        mut self,
        writer: std::sync::Arc<dyn app::ssr::control_plane::ControlPlaneWriter>,
    ) -> TestApp {
        self.ctx.control_planes = Some(writer);
        let options = server::site::leptos_options(None).expect("leptos options");
        self.router = router_with_pages(self.ctx.clone(), options, self.pages.clone());
        self
    }

    /// This app with the scorecards in `dir`, as `bearing serve --scorecards DIR` loads them.
    pub fn with_scorecards(mut self, dir: &std::path::Path) -> TestApp {
        self.ctx.scorecards.cards = bearing_scorecards::card::load_dir(dir).expect("scorecards").into();
        let options = server::site::leptos_options(None).expect("leptos options");
        self.router = router_with_pages(self.ctx.clone(), options, self.pages.clone());
        self
    }

    /// Creates an API token with `role` (and `team` for leads).
    pub async fn token(&self, role: &str, team: Option<&str>) -> String {
        let req = app::auth::TokenRequest {
            name: format!("test-{role}-{}", uuid::Uuid::new_v4().simple()),
            role: role.into(),
            team: team.map(str::to_owned),
            expires_days: None,
            ..Default::default()
        };
        app::auth::service::create_token(&self.ctx, &app::auth::guard::Caller::system("test"), req)
            .await
            .expect("create token")
            .token
    }

    /// Creates a `producer` token named `name`, scoped to `scopes` (teams or components); its
    /// identity is `token:<name>`, which `bearing.dev/producers` names as `<name>`.
    pub async fn producer_token(&self, name: &str, scopes: &[&str]) -> String {
        let req = app::auth::TokenRequest {
            name: name.into(),
            role: "producer".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        app::auth::service::create_token(&self.ctx, &app::auth::guard::Caller::system("test"), req)
            .await
            .expect("create producer token")
            .token
    }

    /// Sends `method uri` with a bearer token and an optional JSON body; returns status and JSON
    /// (or the text as a JSON string).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let (status, text) = self.send(req).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Sends a request; returns status and body text.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `/metrics`, as a scraper with the metrics token reads it.
    pub async fn metrics(&self) -> String {
        let req = Request::get("/metrics")
            .header("authorization", format!("Bearer {METRICS_TOKEN}"))
            .body(Body::empty())
            .expect("request");
        let (status, text) = self.send(req).await;
        assert_eq!(status, StatusCode::OK, "/metrics: {text}");
        text
    }

    /// GET, returning status and body.
    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.send(Request::get(uri).body(Body::empty()).expect("request")).await
    }

    /// GET expecting 200 and JSON.
    pub async fn get_json(&self, uri: &str) -> serde_json::Value {
        let (status, body) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {uri}: not JSON ({e}): {body}"))
    }

    /// GET with a bearer token, expecting 200 and JSON.
    pub async fn get_json_as(&self, uri: &str, token: &str) -> serde_json::Value {
        let (status, body) = self.call("GET", uri, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        body
    }

    /// POST a body with a content type; returns status and parsed JSON.
    pub async fn post(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> (StatusCode, serde_json::Value) {
        let req = Request::post(uri)
            .header("content-type", content_type)
            .header("authorization", format!("Bearer {}", self.admin_token))
            .body(body.into())
            .expect("request");
        let (status, text) = self.send(req).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}
