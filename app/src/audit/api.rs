//! Server functions for the audit page. Thin adapters: the service checks the caller.

use leptos::prelude::*;

use super::{AuditKeyInfo, AuditPage, AuditQuery, ChainStatus};
use crate::error::AppError;

/// A page of audit entries (admins and auditors).
#[server(prefix = "/api/fn", endpoint = "get_audit")]
pub async fn get_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::list(&ctx, &caller, query).await }).await
}

/// Walks the chain and reports whether it verifies (admins and auditors).
#[server(prefix = "/api/fn", endpoint = "get_chain_status")]
pub async fn get_chain_status() -> Result<ChainStatus, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::chain_status(&ctx, &caller).await }).await
}

/// The audit signing key's fingerprint and public key (admins and auditors).
#[server(prefix = "/api/fn", endpoint = "get_audit_key")]
pub async fn get_audit_key() -> Result<AuditKeyInfo, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::key_info(&ctx, &caller).await }).await
}
