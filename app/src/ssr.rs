//! Server-side context handed to every page render and server function.

mod settings;

use std::future::Future;
use std::sync::Arc;

use leptos::prelude::*;
use sqlx::PgPool;

pub use settings::{AuditSettings, AuthSettings, MeshSettings, DEFAULT_TOKEN_EXPIRY_DAYS};

use crate::auth::guard::Caller;
use crate::cache::ReadCache;
use crate::error::AppError;

/// What server functions and API handlers need from the running server. Built once at
/// startup and provided to the page renderer, the server-function handler and the HTTP API.
#[derive(Clone, Debug)]
pub struct ServerCtx {
    /// The catalog database.
    pub pool: PgPool,
    /// Catalog reads, cached until the next import.
    pub cache: ReadCache,
    /// Who may read, and how groups become roles.
    pub auth: Arc<AuthSettings>,
    /// How the audit log's checkpoints are signed.
    pub audit: AuditSettings,
    /// How mesh state is judged (staleness) and shown.
    pub mesh: MeshSettings,
}

impl ServerCtx {
    /// A context on `pool` with a read cache of the default size (32 MiB).
    pub fn new(pool: PgPool, auth: AuthSettings, audit: AuditSettings) -> Self {
        ServerCtx {
            pool,
            cache: ReadCache::new(32 * 1024 * 1024),
            auth: Arc::new(auth),
            audit,
            mesh: MeshSettings::default(),
        }
    }
}

/// The server context of the current request.
pub fn ctx() -> Result<ServerCtx, AppError> {
    use_context::<ServerCtx>().ok_or_else(|| {
        tracing::error!("ServerCtx missing from the Leptos context; startup did not provide it");
        AppError::Internal
    })
}

/// Runs one server function: gets the server context and the caller, hands both to `service`
/// (which checks the caller's rights itself) and, when it fails, sets the response status to
/// the error's (see [`respond`]).
///
/// ```ignore
/// ssr::call(|ctx, caller| async move { service::home(&ctx, &caller).await }).await
/// ```
pub async fn call<T, F, Fut>(service: F) -> Result<T, AppError>
where
    F: FnOnce(ServerCtx, Caller) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let result = async {
        let ctx = ctx()?;
        let caller = crate::auth::guard::caller().await?;
        service(ctx, caller).await
    };
    respond(result.await)
}

/// Sets the HTTP status of a failed server-function call to the error's status (403 for a
/// forbidden action, 401 without sign-in, ...) instead of a blanket 500, then passes the
/// result on.
fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let (Some(response), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(err.status()),
        ) {
            response.set_status(code);
        }
    }
    result
}
