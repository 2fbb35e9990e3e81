//! Server functions for a component's traffic policy. Thin adapters: the service checks the
//! caller.

use leptos::prelude::*;

use super::{PolicyPreview, PolicyWriteResult};
use crate::error::AppError;

/// The component's policy preview; none when the component is not in the mesh.
#[server(prefix = "/api/fn", endpoint = "get_component_policy")]
pub async fn get_component_policy(
    kind: String,
    namespace: String,
    name: String,
) -> Result<Option<PolicyPreview>, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        match super::proposal::preview(&ctx, &caller, &kind, &namespace, &name).await {
            Ok(preview) => Ok(Some(preview)),
            // Not in the mesh (or not mapped to a Kuma service): the page says so, no error.
            Err(AppError::NotFound(what)) if what.contains("not in the mesh") => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Applies the previewed policy (`expected_hash`) to the control plane.
#[server(prefix = "/api/fn", endpoint = "apply_policy")]
pub async fn apply_policy(
    namespace: String,
    name: String,
    reason: String,
    expected_hash: String,
) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::proposal::apply(&ctx, &caller, ("component", &namespace, &name), &reason, &expected_hash).await
    })
    .await
}

/// Rolls back Bearing's latest apply of the component's policy.
#[server(prefix = "/api/fn", endpoint = "rollback_policy")]
pub async fn rollback_policy(namespace: String, name: String, reason: String) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::proposal::rollback(&ctx, &caller, ("component", &namespace, &name), &reason).await
    })
    .await
}

/// Keeps an edit made outside Bearing to the component's policy.
#[server(prefix = "/api/fn", endpoint = "adopt_policy")]
pub async fn adopt_policy(namespace: String, name: String, reason: String) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::proposal::adopt(&ctx, &caller, ("component", &namespace, &name), &reason).await
    })
    .await
}
