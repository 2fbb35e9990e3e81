//! Test support: a private PostgreSQL cluster shared by the test process, a fresh migrated
//! database per test, and an in-process app to send requests to.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tower::ServiceExt;

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Connection options of the shared test cluster (started once per process, left running
/// for the next run; `scripts/stop-test-pg.sh` stops it).
fn cluster() -> PgConnectOptions {
    static OPTIONS: OnceLock<PgConnectOptions> = OnceLock::new();
    OPTIONS
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
                    let options = cluster.connect_options("postgres");
                    drop_leftover_databases(&options).await;
                    options
                })
            })
            .join()
            .expect("cluster thread")
        })
        .clone()
}

/// Drops the databases earlier test runs left behind (each test creates one), so the test
/// cluster does not grow run after run. Runs once per test process, before any test starts.
async fn drop_leftover_databases(options: &PgConnectOptions) {
    let mut conn = options.connect().await.expect("connect to test cluster");
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
        .fetch_all(&mut conn)
        .await
        .expect("list test databases");
    for name in names {
        // Names come from the cluster and match `t_<uuid>`; quoted anyway.
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop leftover test database");
    }
    conn.close().await.ok();
}

/// A fresh database with migrations applied, unique to one test.
pub async fn fresh_pool() -> PgPool {
    let admin = cluster();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin.connect().await.expect("connect to test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(admin.database(&name))
        .await
        .expect("connect");
    server::MIGRATOR.run(&pool).await.expect("migrate");
    pool
}

/// The real router on a fresh database.
pub struct TestApp {
    pub pool: PgPool,
    pub cache: app::cache::ReadCache,
    pub router: Router,
}

impl TestApp {
    /// A new app on its own database.
    pub async fn new() -> TestApp {
        let pool = fresh_pool().await;
        let options = server::startup::leptos_options(None).expect("leptos options");
        let ctx = app::ssr::ServerCtx::new(pool.clone());
        let cache = ctx.cache.clone();
        let state = server::http::AppState::new(ctx, options).expect("state");
        TestApp {
            router: server::startup::app_router(state),
            pool,
            cache,
        }
    }

    /// A new app with the demo catalog imported.
    pub async fn with_demo() -> TestApp {
        let app = TestApp::new().await;
        server::import::import_paths(&app.pool, &[repo_root().join("examples")], false)
            .await
            .expect("demo imports");
        app
    }

    /// Sends a request; returns status and body text.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
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

    /// POST a body with a content type; returns status and parsed JSON.
    pub async fn post(&self, uri: &str, content_type: &str, body: impl Into<Body>) -> (StatusCode, serde_json::Value) {
        let req = Request::post(uri)
            .header("content-type", content_type)
            .body(body.into())
            .expect("request");
        let (status, text) = self.send(req).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}
