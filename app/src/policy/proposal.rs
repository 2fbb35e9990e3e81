//! The MeshTrafficPermission that follows a provider's declared consumers: previewed (what it
//! is, what Bearing proposes, the diff, whom it would deny or let in), applied to the control
//! plane by the owning team's lead or an admin, adopted and rolled back through [`write`].

use std::collections::{HashMap, HashSet};

use bearing_kuma::model::MeshTrafficPermission;
use bearing_kuma::permissions::{MeshPolicies, Workload};
use bearing_policy::generate::{self, DataplaneSelector, Form, Request, Shadow};
use bearing_policy::{spec_hash, Proposal};
use serde_json::Value;
use time::OffsetDateTime;

use super::repo;
use super::write::{self, Target};
use super::{CallerChange, EdgeEnd, OutOfDate, PolicyMode, PolicyPreview, PolicyWriteResult, ProposedPolicy};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// The kind of policy this module proposes.
pub(super) const KIND: &str = "MeshTrafficPermission";

/// Everything known about one provider's policy, before any decision about it.
pub(super) struct Situation {
    /// Where the policy goes and what the mesh holds under its name.
    pub(super) target: Target,
    pub(super) service: String,
    pub(super) form: Form,
    pub(super) consumers: Vec<EdgeEnd>,
    pub(super) proposal: Proposal,
    /// The proposal with a shadow phase (everyone else let in, logged as denied).
    pub(super) shadow: Proposal,
    pub(super) change: generate::Change,
    /// The mesh's services and the components claiming them.
    pub(super) components: HashMap<String, Option<String>>,
    /// Policies Kuma ranks above the proposal for this service.
    pub(super) outranked_by: Vec<String>,
}

/// The preview of the entity's policy.
pub async fn preview(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<PolicyPreview, AppError> {
    caller.require_reader(ctx)?;
    let s = situation(ctx, kind, namespace, name).await?;
    let t = &s.target;
    let (history, can_rollback) = write::history_view(&t.history(ctx).await?);
    let mode = write::mode(ctx, &t.control_plane);
    let can_apply = mode != PolicyMode::Off && t.may_write(caller);
    let current = t.current_view();
    let out_of_date = match repo::out_of_date(&ctx.pool, &t.component, KIND).await? {
        Some(mark) if mode != PolicyMode::Off && t.follows(s.in_current_phase()) == Some(false) => Some(OutOfDate {
            since: rfc3339(mark.since),
            cause: mark.cause,
            imported_by: importer(&mark.importer).map_or_else(|| "unknown".to_owned(), |c| c.actor()),
            attempts: mark.attempts,
            last_error: mark.last_error,
        }),
        _ => None,
    };
    let view = |list: &[generate::CallerChange]| {
        list.iter()
            .map(|c| CallerChange {
                component: s.components.get(&c.service).cloned().flatten(),
                service: c.service.clone(),
                before: c.before.as_str().to_owned(),
                after: c.after.as_str().to_owned(),
            })
            .collect::<Vec<_>>()
    };
    Ok(PolicyPreview {
        control_plane: t.control_plane.clone(),
        mesh: t.mesh.clone(),
        service: s.service.clone(),
        form: match s.form {
            Form::Rules => "rules",
            Form::From => "from",
        }
        .to_owned(),
        consumers: s.consumers.clone(),
        diff: bearing_policy::diff(current.as_ref().map(|c| c.yaml.as_str()), &s.proposal.universal_yaml),
        current,
        proposed: proposed(&s.proposal),
        shadow_phase: proposed(&s.shadow),
        in_shadow: s.in_shadow(),
        outranked_by: s.outranked_by.clone(),
        would_deny: view(&s.change.would_deny),
        would_allow: view(&s.change.would_allow),
        write_path: if t.read_only { "read_only" } else { "api" }.to_owned(),
        can_apply,
        can_rollback: can_apply && can_rollback,
        history,
        mode,
        out_of_date,
    })
}

impl Situation {
    /// Bearing's policy in the mesh is its shadow phase (its spec is the shadow proposal's, or
    /// was edited from it: it still lets everyone in through `AllowWithShadowDeny`).
    pub(super) fn in_shadow(&self) -> bool {
        let Some(spec) = self.target.current.as_ref().and_then(|c| c.get("spec")) else {
            return false;
        };
        let from_shadow = spec
            .get("from")
            .and_then(Value::as_array)
            .and_then(|f| f.first())
            .is_some_and(|e| e.pointer("/default/action").and_then(Value::as_str) == Some("AllowWithShadowDeny"));
        let rules_shadow = spec
            .get("rules")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|e| e.pointer("/default/allowWithShadowDeny").is_some()));
        from_shadow || rules_shadow
    }

    /// The proposal in the phase the mesh is in: re-applying after the catalog changes keeps a
    /// shadow phase running.
    pub(super) fn in_current_phase(&self) -> &Proposal {
        if self.in_shadow() {
            &self.shadow
        } else {
            &self.proposal
        }
    }
}

/// A proposal as shown.
pub(super) fn proposed(p: &Proposal) -> ProposedPolicy {
    ProposedPolicy {
        name: p.name.clone(),
        yaml: p.universal_yaml.clone(),
        kubernetes_yaml: p.kubernetes_yaml.clone(),
        spec: p.spec.clone(),
        hash: spec_hash(&p.spec),
    }
}

/// The identity an out-of-date mark names as its importer.
pub(super) fn importer(stored: &Value) -> Option<crate::auth::CurrentUser> {
    serde_json::from_value(stored.clone()).ok()
}

/// Applies the proposal (or, with `shadow`, its shadow phase), if it is still the one previewed
/// (`expected_hash`).
pub async fn apply(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
    expected_hash: &str,
    shadow: bool,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    let proposal = if shadow { &s.shadow } else { &s.proposal };
    write::apply(ctx, caller, &s.target, proposal, reason, expected_hash).await
}

/// Keeps an edit made outside Bearing (see [`write::adopt`]).
pub async fn adopt(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    write::adopt(ctx, caller, &s.target, reason).await
}

/// Undoes Bearing's latest write (see [`write::rollback`]).
pub async fn rollback(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    caller.require_user()?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    write::rollback(ctx, caller, &s.target, reason).await
}

/// Reads what a preview, an apply or a rollback needs.
pub(super) async fn situation(ctx: &ServerCtx, kind: &str, namespace: &str, name: &str) -> Result<Situation, AppError> {
    let place = write::locate(ctx, kind, namespace, name).await?;
    let stored = &place.service;
    let (component, kuma_service) = (place.component.clone(), stored.service.clone());
    let (cp, mesh) = (stored.control_plane.clone(), stored.mesh.clone());
    let set = crate::mesh::state::policy_set(
        ctx,
        crate::mesh::state::MeshRef {
            control_plane: &cp,
            mesh: &mesh,
            mtls_enabled: stored.mtls_enabled,
            identity: stored.identity.as_deref(),
            policy_version: &stored.policy_version,
        },
    )
    .await?;
    let (names, workloads) = (&set.services, &set.workloads);
    let (mtps, tps) = (&set.mesh_traffic_permissions, &set.traffic_permissions);
    let components: HashMap<String, Option<String>> = names.iter().map(|(s, c, _)| (s.clone(), c.clone())).collect();
    let provider = workloads.of(&kuma_service, &set.mesh_services);

    // Declared consumers: components depending on this one, by their services in this mesh.
    let declared = repo::declared_dependencies(&ctx.pool, Some(std::slice::from_ref(&component))).await?;
    let consumer_components: HashSet<&str> = declared
        .iter()
        .filter(|d| d.to_ref == component && d.from_ref != component)
        .map(|d| d.from_ref.as_str())
        .collect();
    let consumer_names: Vec<&(String, Option<String>, Option<String>)> = names
        .iter()
        .filter(|(s, c, _)| *s != kuma_service && c.as_deref().is_some_and(|c| consumer_components.contains(c)))
        .collect();
    let consumers: Vec<Workload> = consumer_names
        .iter()
        .map(|(s, _, _)| workloads.of(s, &set.mesh_services))
        .collect();

    // MeshIdentity meshes give their services SPIFFE IDs (MeshService `spec.identities`); only
    // the `rules[]` form can name those, and Kuma 3.0 keeps only it.
    let form = if provider.spiffe_id.is_some() {
        Form::Rules
    } else {
        Form::From
    };
    let request = Request {
        mesh: &mesh,
        component: &component,
        provider: &provider,
        selector: &DataplaneSelector::ServiceTag,
        consumers: &consumers,
        form,
        shadow: None,
    };
    let proposal = generate::generate(&request).map_err(|e| AppError::invalid("policy", e.to_string()))?;
    let shadow = generate::generate(&Request {
        shadow: Some(&Shadow::default()),
        ..request
    })
    .map_err(|e| AppError::invalid("policy", e.to_string()))?;
    let target = place.target(ctx, KIND, &proposal.name).await?;

    // Whom it changes: everyone observed calling the provider, and the declared consumers.
    let window = time::Duration::try_from(ctx.mesh.observed_window).unwrap_or(time::Duration::MAX);
    let observed = repo::observed_pairs(
        &ctx.pool,
        &cp,
        &mesh,
        OffsetDateTime::now_utc() - window,
        Some(std::slice::from_ref(&kuma_service)),
    )
    .await?;
    let mut callers: Vec<Workload> = consumers.clone();
    for pair in observed
        .iter()
        .filter(|p| p.callee == kuma_service && p.caller != kuma_service)
    {
        if !callers.iter().any(|w| w.service == pair.caller) && components.contains_key(&pair.caller) {
            callers.push(workloads.of(&pair.caller, &set.mesh_services));
        }
    }
    let policies = MeshPolicies {
        mesh: &mesh,
        mtls_enabled: stored.mtls_enabled,
        mesh_traffic_permissions: mtps,
        traffic_permissions: tps,
    };
    // `rules[]` are additive, whatever the ranking; `from[]` entries merge by rank.
    let outranked_by = match (
        form,
        serde_json::from_value::<MeshTrafficPermission>(proposal.resource_json()),
    ) {
        (Form::From, Ok(own)) => bearing_kuma::permissions::ranked_above(mtps, &own, &provider),
        _ => Vec::new(),
    };
    let change = generate::would_change(&policies, &proposal, &provider, &callers)
        .map_err(|e| AppError::invalid("policy", e.to_string()))?;
    Ok(Situation {
        consumers: consumer_names
            .iter()
            .map(|(s, c, _)| EdgeEnd {
                service: s.clone(),
                component: c.clone(),
            })
            .collect(),
        target,
        service: kuma_service,
        form,
        proposal,
        shadow,
        change,
        components,
        outranked_by,
    })
}
