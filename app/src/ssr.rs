//! Server-side context handed to every page render and server function.

use leptos::prelude::*;
use sqlx::PgPool;

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
}

impl ServerCtx {
    /// A context on `pool` with a read cache of the default size (32 MiB).
    pub fn new(pool: PgPool) -> Self {
        ServerCtx {
            pool,
            cache: ReadCache::new(32 * 1024 * 1024),
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
