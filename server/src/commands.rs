//! The `bearing` commands, one module each: its flags and its `run`. Flag groups several
//! commands share (database, audit key, sign-in, Kuma, limits) are in [`crate::config`].

pub mod audit;
pub mod evidence;
pub mod import;
pub mod migrate;
pub mod serve;
pub mod token;

use app::auth::guard::Caller;
use app::ssr::AuditSettings;
use sqlx::PgPool;

/// The caller for commands run from the command line: `system:cli:<os user>` in the audit log.
pub fn cli_caller() -> Caller {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Caller::system(&format!("cli:{user}"))
}

/// Signs a checkpoint of whatever a command appended, before it exits: no server may run to
/// sign it later, and rows after the last checkpoint could be deleted undetected.
pub async fn sign_checkpoint(pool: &PgPool, audit: &AuditSettings) -> anyhow::Result<()> {
    app::audit::service::checkpoint_if_due(pool, audit)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot sign an audit checkpoint: {e}"))
}
