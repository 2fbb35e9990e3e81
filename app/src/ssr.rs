//! Server-side context handed to every page render and server function.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use sqlx::PgPool;

use crate::audit::service::AuditSettings;
use crate::auth::{DevUser, RoleMapping};
use crate::cache::ReadCache;
use crate::error::AppError;
use crate::mesh::service::MeshSettings;

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

/// Days an API token lives when whoever creates it gives no expiry.
pub const DEFAULT_TOKEN_EXPIRY_DAYS: u32 = 90;

/// Authentication settings the pages and services need.
#[derive(Debug)]
pub struct AuthSettings {
    /// Anonymous visitors may read the catalog (`BEARING_ANONYMOUS_READ`).
    pub anonymous_read: bool,
    /// Identity-provider groups named `<team><suffix>` make leads of `<team>`.
    pub lead_group_suffix: String,
    /// The identity provider's issuer, if one is configured.
    pub issuer: Option<String>,
    /// Set once discovery succeeded: sign-in can start.
    pub provider_ready: AtomicBool,
    /// Demo users of the development identity provider, shown on the login page.
    pub dev_users: Vec<DevUser>,
    /// People who are admins because the operator said so (`--bootstrap-admin`), as
    /// (issuer, subject): how a fresh install gets its first admin.
    pub bootstrap_admins: Vec<(String, String)>,
    /// Group-to-role mappings from `--role-mapping-file`, read at startup. They add to the
    /// mappings admins edit on /admin and cannot be changed there.
    pub file_mappings: Vec<RoleMapping>,
    /// The role-mapping file, to say on /admin where [`AuthSettings::file_mappings`] come from.
    pub mapping_file: Option<String>,
    /// Days an API token lives when whoever creates it gives no expiry.
    pub token_expiry_days: u32,
}

impl Default for AuthSettings {
    /// Nothing privileged: no anonymous reads, no lead convention, no mappings, no admins.
    fn default() -> Self {
        AuthSettings {
            anonymous_read: false,
            lead_group_suffix: String::new(),
            issuer: None,
            provider_ready: AtomicBool::new(false),
            dev_users: Vec::new(),
            bootstrap_admins: Vec::new(),
            file_mappings: Vec::new(),
            mapping_file: None,
            token_expiry_days: DEFAULT_TOKEN_EXPIRY_DAYS,
        }
    }
}

impl AuthSettings {
    /// Whether sign-in can start now.
    pub fn ready(&self) -> bool {
        self.provider_ready.load(Ordering::Acquire)
    }
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

/// Sets the HTTP status of a failed server-function call to the error's status (403 for a
/// forbidden action, 401 without sign-in, ...) instead of a blanket 500, then passes the
/// result on.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
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
