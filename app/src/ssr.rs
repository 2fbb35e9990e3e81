//! Server-side context handed to every page render and server function.

pub mod control_plane;
mod settings;

use std::sync::Arc;

use leptos::prelude::*;
use sqlx::PgPool;

pub use settings::{
    AuditSettings, AuthSettings, DeliverySettings, MeshSettings, ScorecardSettings, DEFAULT_TOKEN_EXPIRY_DAYS,
};

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
    /// Writes to the Kuma control planes (policies); none when the server configured none, and
    /// then every control plane counts as read-only.
    pub control_planes: Option<Arc<dyn control_plane::ControlPlaneWriter>>,
    /// Admins' policy templates (`--policy-templates`), loaded and validated at start.
    pub policy_templates: Arc<[bearing_policy::templates::Template]>,
    /// How delivery events are kept and judged.
    pub delivery: DeliverySettings,
    /// Each mesh's parsed policies and services, until the mesh or the catalog changes.
    pub mesh_state: crate::mesh::state::MeshStateCache,
    /// Admins' scorecards (`--scorecards`) and the worker's interval.
    pub scorecards: ScorecardSettings,
    /// The catalog list, search and facets in memory, rebuilt when the catalog changes.
    pub list_index: crate::catalog::list_index::ListIndex,
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
            control_planes: None,
            policy_templates: Arc::from(Vec::new()),
            delivery: DeliverySettings::default(),
            mesh_state: Default::default(),
            scorecards: ScorecardSettings::default(),
            list_index: Default::default(),
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
