//! The policies admins' templates give a component (`--policy-templates`: timeouts and retries
//! by tier, access logs and metrics by lifecycle, ...): previewed against what the mesh holds,
//! applied, adopted and rolled back through [`write`] exactly like the traffic permission, with
//! the same roles and audit.

use bearing_policy::generate::DataplaneSelector;
use bearing_policy::templates::{self, ComponentMeta};

use super::proposal::proposed;
use super::repo;
use super::write::{self, Place, Target};
use super::{PolicyMode, PolicyWriteResult, TemplatePolicies, TemplatePolicy};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// One matching template's policy, where it goes and what is there.
pub(super) struct Item {
    pub(super) template: String,
    description: Option<String>,
    pub(super) policy: bearing_policy::templates::TemplatePolicy,
    pub(super) target: Target,
}

/// The policies the templates give `kind:namespace/name`.
pub async fn preview(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<TemplatePolicies, AppError> {
    caller.require_reader(ctx)?;
    let (place, items) = items(ctx, kind, namespace, name).await?;
    let mode = write::mode(ctx, &place.service.control_plane);
    let can_apply = mode != PolicyMode::Off && place.may_write(caller);
    let mut shown = Vec::with_capacity(items.len());
    for item in items {
        let (history, can_rollback) = write::history_view(&item.target.history(ctx).await?);
        let current = item.target.current_view();
        let proposal = &item.policy.proposal;
        shown.push(TemplatePolicy {
            template: item.template,
            description: item.description,
            kind: item.policy.kind.as_str().to_owned(),
            diff: bearing_policy::diff(current.as_ref().map(|c| c.yaml.as_str()), &proposal.universal_yaml),
            up_to_date: item.target.follows(proposal) == Some(true),
            current,
            proposed: proposed(proposal),
            can_rollback: can_apply && can_rollback,
            history,
        });
    }
    Ok(TemplatePolicies {
        control_plane: place.service.control_plane.clone(),
        mesh: place.service.mesh.clone(),
        service: place.service.service.clone(),
        write_path: if place.read_only { "read_only" } else { "api" }.to_owned(),
        mode,
        can_apply,
        items: shown,
    })
}

/// Applies template `template`'s policy, if it is still the one previewed.
pub async fn apply(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    template: &str,
    reason: &str,
    expected_hash: &str,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let item = item(ctx, entity, template).await?;
    write::apply(ctx, caller, &item.target, &item.policy.proposal, reason, expected_hash).await
}

/// Keeps an edit made outside Bearing to template `template`'s policy.
pub async fn adopt(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    template: &str,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let item = item(ctx, entity, template).await?;
    write::adopt(ctx, caller, &item.target, reason).await
}

/// Undoes Bearing's latest write of template `template`'s policy.
pub async fn rollback(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    template: &str,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let item = item(ctx, entity, template).await?;
    write::rollback(ctx, caller, &item.target, reason).await
}

async fn item(ctx: &ServerCtx, entity: (&str, &str, &str), template: &str) -> Result<Item, AppError> {
    let (_, items) = items(ctx, entity.0, entity.1, entity.2).await?;
    items.into_iter().find(|i| i.template == template).ok_or_else(|| {
        AppError::NotFound(format!(
            "a template {template:?} that applies to this component (see .../policy/templates)"
        ))
    })
}

/// Every template's policy for the component, with where it goes.
pub(super) async fn items(
    ctx: &ServerCtx,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(Place, Vec<Item>), AppError> {
    let place = write::locate(ctx, kind, namespace, name).await?;
    if ctx.policy_templates.is_empty() {
        return Ok((place, Vec::new()));
    }
    let Some(meta) = repo::component_meta(&ctx.pool, &place.component).await? else {
        return Err(AppError::NotFound(format!("component {}", place.component)));
    };
    let tier = templates::tier_of(&meta.annotations, &meta.labels);
    let policies = templates::for_component(
        &ctx.policy_templates,
        &ComponentMeta {
            component: &place.component,
            mesh: &place.service.mesh,
            service: &place.service.service,
            selector: &DataplaneSelector::ServiceTag,
            entity_type: meta.entity_type.as_deref(),
            lifecycle: meta.lifecycle.as_deref(),
            tier,
            tags: &meta.tags,
            system: meta.system_ref.as_deref(),
        },
    );
    let mut items = Vec::with_capacity(policies.len());
    for policy in policies {
        let target = place.target(ctx, policy.kind.as_str(), &policy.proposal.name).await?;
        let template = ctx.policy_templates.iter().find(|t| t.name == policy.template);
        items.push(Item {
            template: policy.template.clone(),
            description: template.and_then(|t| t.description.clone()),
            target,
            policy,
        });
    }
    Ok((place, items))
}
