//! Server-side context handed to every page render and server function.

use leptos::prelude::*;
use sqlx::PgPool;

use crate::error::AppError;

/// What server functions need from the running server. Built once at startup and provided
/// to both the page renderer and the server-function handler.
#[derive(Clone, Debug)]
pub struct ServerCtx {
    /// The catalog database.
    pub pool: PgPool,
}

/// The server context of the current request.
pub fn ctx() -> Result<ServerCtx, AppError> {
    use_context::<ServerCtx>().ok_or_else(|| {
        tracing::error!("ServerCtx missing from the Leptos context; startup did not provide it");
        AppError::Internal
    })
}
