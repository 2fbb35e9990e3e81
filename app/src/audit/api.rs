//! Server functions for the audit page.

use leptos::prelude::*;

use super::{AuditPage, AuditQuery, ChainStatus};
use crate::error::AppError;

/// A page of audit entries (admins and auditors).
#[server(prefix = "/api/fn")]
pub async fn get_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    let ctx = crate::ssr::ctx()?;
    super::service::list(&ctx, &crate::auth::guard::caller().await?, query).await
}

/// Walks the chain and reports whether it verifies (admins and auditors).
#[server(prefix = "/api/fn")]
pub async fn get_chain_status() -> Result<ChainStatus, AppError> {
    let ctx = crate::ssr::ctx()?;
    super::service::chain_status(&ctx, &crate::auth::guard::caller().await?).await
}
