//! Server functions for a component's traffic policy. Thin adapters: the service checks the
//! caller.

use leptos::prelude::*;

use super::{PolicyPreview, PolicyWriteResult, TemplatePolicies};
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
    shadow: Option<bool>,
) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let entity = ("component", namespace.as_str(), name.as_str());
        super::proposal::apply(&ctx, &caller, entity, &reason, &expected_hash, shadow.unwrap_or(false)).await
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

/// The policies admins' templates give the component; none when it is not in the mesh.
#[server(prefix = "/api/fn", endpoint = "get_component_template_policies")]
pub async fn get_component_template_policies(
    kind: String,
    namespace: String,
    name: String,
) -> Result<Option<TemplatePolicies>, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        // Without templates the page has nothing to show: no need to find the component's
        // control plane (and ask it whether it takes writes) on every render.
        if ctx.policy_templates.is_empty() {
            caller.require_reader(&ctx)?;
            return Ok(None);
        }
        match super::templated::preview(&ctx, &caller, &kind, &namespace, &name).await {
            Ok(list) => Ok(Some(list)),
            Err(AppError::NotFound(what)) if what.contains("not in the mesh") => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Applies one template's previewed policy (`expected_hash`).
#[server(prefix = "/api/fn", endpoint = "apply_template_policy")]
pub async fn apply_template_policy(
    namespace: String,
    name: String,
    template: String,
    reason: String,
    expected_hash: String,
) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let entity = ("component", namespace.as_str(), name.as_str());
        super::templated::apply(&ctx, &caller, entity, &template, &reason, &expected_hash).await
    })
    .await
}

/// Rolls back Bearing's latest write of one template's policy.
#[server(prefix = "/api/fn", endpoint = "rollback_template_policy")]
pub async fn rollback_template_policy(
    namespace: String,
    name: String,
    template: String,
    reason: String,
) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let entity = ("component", namespace.as_str(), name.as_str());
        super::templated::rollback(&ctx, &caller, entity, &template, &reason).await
    })
    .await
}

/// Keeps an edit made outside Bearing to one template's policy.
#[server(prefix = "/api/fn", endpoint = "adopt_template_policy")]
pub async fn adopt_template_policy(
    namespace: String,
    name: String,
    template: String,
    reason: String,
) -> Result<PolicyWriteResult, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let entity = ("component", namespace.as_str(), name.as_str());
        super::templated::adopt(&ctx, &caller, entity, &template, &reason).await
    })
    .await
}
