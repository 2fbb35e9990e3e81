//! The MeshTrafficPermission that follows a provider's declared consumers: previewed (what it
//! is, what Bearing proposes, the diff, whom it would deny or let in), applied to the control
//! plane by the owning team's lead or an admin, and rolled back. Every write is stored with the
//! resource before and after and audited in the same transaction.

use std::collections::{HashMap, HashSet};

use bearing_kuma::model::{MeshService, Tags, TrafficPermission};
use bearing_kuma::permissions::{MeshPolicies, Workload};
use bearing_policy::generate::{self, DataplaneSelector, Form, Request};
use bearing_policy::{spec_hash, universal_yaml, Proposal, COMPONENT_LABEL, SPEC_HASH_LABEL};
use serde_json::Value;
use time::OffsetDateTime;

use super::repo::{self, NewChange, PolicyKey};
use super::{
    CallerChange, CurrentPolicy, EdgeEnd, OutOfDate, PolicyChange, PolicyMode, PolicyPreview, PolicyWriteResult,
    ProposedPolicy,
};
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::catalog::ownership::service::may_edit;
use crate::error::AppError;
use crate::mesh::repo as mesh_repo;
use crate::mesh::service::{parse_all, traffic_permissions, workload};
use crate::ssr::control_plane::{WriteError, Written};
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Longest reason kept.
const MAX_REASON: usize = 1_000;

/// The kind of policy this module proposes.
pub(super) const KIND: &str = "MeshTrafficPermission";

/// Everything known about one provider's policy, before any decision about it.
pub(super) struct Situation {
    pub(super) component: String,
    pub(super) owner: Option<String>,
    pub(super) control_plane: String,
    pub(super) mesh: String,
    pub(super) service: String,
    pub(super) form: Form,
    pub(super) consumers: Vec<EdgeEnd>,
    pub(super) proposal: Proposal,
    /// The stored resource of the proposal's name, as Kuma served it.
    pub(super) current: Option<Value>,
    pub(super) change: generate::Change,
    pub(super) components: HashMap<String, Option<String>>,
    pub(super) read_only: bool,
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
    let history = repo::changes(&ctx.pool, key(&s)).await?;
    let mode = mode(ctx, &s.control_plane);
    let can_apply = mode != PolicyMode::Off && caller.user.as_ref().is_some_and(|u| may_edit(u, s.owner.as_deref()));
    let current = s.current.as_ref().map(current_view);
    let out_of_date = match repo::out_of_date(&ctx.pool, &s.component, KIND).await? {
        Some(mark) if mode != PolicyMode::Off && s.follows_catalog() == Some(false) => Some(OutOfDate {
            since: rfc3339(mark.since),
            cause: mark.cause,
            imported_by: importer(&mark.importer).map_or_else(|| "unknown".to_owned(), |c| c.actor()),
            attempts: mark.attempts,
            last_error: mark.last_error,
        }),
        _ => None,
    };
    let current_yaml = current.as_ref().map(|c| c.yaml.clone());
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
        control_plane: s.control_plane.clone(),
        mesh: s.mesh.clone(),
        service: s.service.clone(),
        form: match s.form {
            Form::Rules => "rules",
            Form::From => "from",
        }
        .to_owned(),
        consumers: s.consumers.clone(),
        diff: bearing_policy::diff(current_yaml.as_deref(), &s.proposal.universal_yaml),
        current,
        proposed: ProposedPolicy {
            name: s.proposal.name.clone(),
            yaml: s.proposal.universal_yaml.clone(),
            kubernetes_yaml: s.proposal.kubernetes_yaml.clone(),
            spec: s.proposal.spec.clone(),
            hash: spec_hash(&s.proposal.spec),
        },
        would_deny: view(&s.change.would_deny),
        would_allow: view(&s.change.would_allow),
        write_path: if s.read_only { "read_only" } else { "api" }.to_owned(),
        can_apply,
        can_rollback: can_apply && rollback_target(&history).is_some(),
        history: history
            .iter()
            .take(20)
            .map(|c| PolicyChange {
                action: c.action.clone(),
                actor: c.actor.clone(),
                reason: c.reason.clone(),
                at: rfc3339(c.at),
            })
            .collect(),
        mode,
        out_of_date,
    })
}

/// The identity an out-of-date mark names as its importer.
pub(super) fn importer(stored: &Value) -> Option<crate::auth::CurrentUser> {
    serde_json::from_value(stored.clone()).ok()
}

impl Situation {
    /// Whether Bearing's policy in the mesh is its proposal: `None` when the mesh holds no
    /// policy Bearing manages under the proposal's name (nothing to be out of date).
    pub(super) fn follows_catalog(&self) -> Option<bool> {
        let current = self.current.as_ref()?;
        current_view(current)
            .managed
            .then(|| current.get("spec").map(spec_hash).as_deref() == Some(spec_hash(&self.proposal.spec).as_str()))
    }

    /// Bearing's policy in the mesh was edited outside Bearing since it was applied.
    pub(super) fn edited_outside(&self) -> bool {
        self.current.as_ref().is_some_and(|c| current_view(c).edited_outside)
    }
}

/// Applies the proposal, if it is still the one previewed (`expected_hash`).
pub async fn apply(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
    expected_hash: &str,
) -> Result<PolicyWriteResult, AppError> {
    let user = caller.require_user()?;
    let reason = checked_reason(reason)?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    if !may_edit(user, s.owner.as_deref()) {
        return Err(AppError::forbidden(
            "only a lead of the owning team or an admin can apply this component's policy",
        ));
    }
    let hash = spec_hash(&s.proposal.spec);
    if expected_hash != hash {
        return Err(AppError::Conflict(format!(
            "the proposal changed since it was previewed (now {hash}); preview it again"
        )));
    }
    write_proposal(ctx, caller, &s, &reason).await
}

/// Writes the proposal of `s` to the control plane and records it, for a caller already allowed
/// to (a lead or admin applying by hand, or the identity whose import changed it).
pub(super) async fn write_proposal(
    ctx: &ServerCtx,
    caller: &Caller,
    s: &Situation,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    let writer = writer(ctx, s)?;
    let resource = s.proposal.resource_json();
    refuse_invalid(&resource)?;
    let written = writer.put(&s.control_plane, &resource).await.map_err(write_error)?;
    record_change(ctx, caller, s, "apply", s.current.as_ref(), Some(&resource), reason).await?;
    Ok(result(
        &s.proposal.name,
        &written,
        if written.created { "created" } else { "updated" },
    ))
}

/// Keeps an edit made outside Bearing to Bearing's policy: the policy in the mesh is written back
/// with its spec unchanged and the hash label of that spec, so it no longer shows as edited
/// outside (until the catalog changes the proposal). The opposite, reverting the edit, is
/// [`apply`].
pub async fn adopt(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    let user = caller.require_user()?;
    let reason = checked_reason(reason)?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    if !may_edit(user, s.owner.as_deref()) {
        return Err(AppError::forbidden(
            "only a lead of the owning team or an admin can adopt this component's policy",
        ));
    }
    let Some(current) = s.current.as_ref().filter(|c| current_view(c).edited_outside) else {
        return Err(AppError::Conflict(
            "the policy in the mesh is not an edited copy of Bearing's: nothing to adopt".into(),
        ));
    };
    let spec = current.get("spec").cloned().unwrap_or(Value::Null);
    let mut resource = writable(current);
    if let Some(labels) = resource.get_mut("labels").and_then(Value::as_object_mut) {
        labels.insert(SPEC_HASH_LABEL.to_owned(), Value::String(spec_hash(&spec)));
    }
    refuse_invalid(&resource)?;
    let writer = writer(ctx, &s)?;
    let written = writer.put(&s.control_plane, &resource).await.map_err(write_error)?;
    record_change(ctx, caller, &s, "adopt", Some(current), Some(&resource), &reason).await?;
    Ok(result(&s.proposal.name, &written, "updated"))
}

/// Puts back what the latest apply (or adopt) not yet rolled back replaced, or deletes the
/// policy if that apply created it.
pub async fn rollback(
    ctx: &ServerCtx,
    caller: &Caller,
    entity: (&str, &str, &str),
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    let user = caller.require_user()?;
    let reason = checked_reason(reason)?;
    let s = situation(ctx, entity.0, entity.1, entity.2).await?;
    if !may_edit(user, s.owner.as_deref()) {
        return Err(AppError::forbidden(
            "only a lead of the owning team or an admin can roll back this component's policy",
        ));
    }
    let history = repo::changes(&ctx.pool, key(&s)).await?;
    let Some(target) = rollback_target(&history) else {
        return Err(AppError::Conflict(
            "Bearing has applied nothing here to roll back".into(),
        ));
    };
    let writer = writer(ctx, &s)?;
    let restore = target.before.clone();
    let (written, outcome) = match &restore {
        Some(previous) => {
            let w = writer
                .put(&s.control_plane, &writable(previous))
                .await
                .map_err(write_error)?;
            (w, "updated")
        }
        None => match writer.delete(&s.control_plane, &s.mesh, KIND, &s.proposal.name).await {
            Ok(w) => (w, "deleted"),
            // Already gone (deleted outside Bearing): the rollback's goal holds.
            Err(WriteError::NotFound) => (Written::default(), "deleted"),
            Err(e) => return Err(write_error(e)),
        },
    };
    record_change(
        ctx,
        caller,
        &s,
        "rollback",
        s.current.as_ref(),
        restore.as_ref(),
        &reason,
    )
    .await?;
    Ok(result(&s.proposal.name, &written, outcome))
}

/// The write a rollback undoes: walking newest first, each rollback cancels the next older
/// apply or adopt; the first one left over is it.
fn rollback_target(history: &[repo::StoredChange]) -> Option<&repo::StoredChange> {
    let mut pending = 0usize;
    for change in history {
        match change.action.as_str() {
            "rollback" => pending += 1,
            "apply" | "adopt" if pending > 0 => pending -= 1,
            "apply" | "adopt" => return Some(change),
            _ => {}
        }
    }
    None
}

/// A resource as the control plane served it, made fit to be written back: only `type`, `mesh`,
/// `name`, `labels` and `spec`, without the labels Kuma sets itself (`kuma.io/*`: mesh, origin,
/// display name, ...), which a write may not set or change.
fn writable(served: &Value) -> Value {
    let text = |key: &str| served.get(key).and_then(Value::as_str).unwrap_or_default();
    let labels: Tags = served
        .get("labels")
        .and_then(|l| serde_json::from_value::<Tags>(l.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("kuma.io/"))
        .collect();
    let spec = served.get("spec").cloned().unwrap_or(Value::Null);
    bearing_policy::resource_json(text("type"), text("mesh"), text("name"), &labels, &spec)
}

fn result(name: &str, written: &Written, outcome: &str) -> PolicyWriteResult {
    PolicyWriteResult {
        name: name.to_owned(),
        outcome: outcome.to_owned(),
        warnings: written.warnings.clone(),
    }
}

fn key(s: &Situation) -> PolicyKey<'_> {
    (&s.control_plane, &s.mesh, KIND, &s.proposal.name)
}

fn checked_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why (it is kept in the audit log)"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(AppError::invalid("reason", format!("at most {MAX_REASON} characters")));
    }
    Ok(reason.to_owned())
}

/// What Bearing does with the control plane's policies; `off` when it cannot write at all.
pub(super) fn mode(ctx: &ServerCtx, control_plane: &str) -> PolicyMode {
    ctx.control_planes
        .as_ref()
        .map_or(PolicyMode::Off, |w| w.policy_mode(control_plane))
}

fn writer<'a>(
    ctx: &'a ServerCtx,
    s: &Situation,
) -> Result<&'a dyn crate::ssr::control_plane::ControlPlaneWriter, AppError> {
    if mode(ctx, &s.control_plane) == PolicyMode::Off {
        return Err(AppError::Conflict(format!(
            "Bearing does not write policies to control plane {} (--kuma-policy-mode off)",
            s.control_plane
        )));
    }
    match &ctx.control_planes {
        Some(w) if !s.read_only => Ok(w.as_ref()),
        _ => Err(AppError::Conflict(format!(
            "control plane {} is read-only: download the Kubernetes manifest and apply it with kubectl or GitOps",
            s.control_plane
        ))),
    }
}

/// What Kuma itself would refuse never leaves Bearing (a bug here, not a user's mistake).
fn refuse_invalid(resource: &Value) -> Result<(), AppError> {
    let schema = bearing_kuma::schema::validate(KIND, resource).err().unwrap_or_default();
    let rules = bearing_kuma::checks::spec_violations(KIND, resource);
    if schema.is_empty() && rules.is_empty() {
        return Ok(());
    }
    tracing::error!(?schema, ?rules, "a generated policy fails Kuma's validation");
    Err(AppError::Internal)
}

fn write_error(e: WriteError) -> AppError {
    match e {
        WriteError::ReadOnly(detail) => AppError::Conflict(format!(
            "the control plane is read-only ({detail}): download the Kubernetes manifest and apply it with kubectl or GitOps"
        )),
        WriteError::Rejected { detail, invalid } => {
            tracing::error!(%detail, ?invalid, "the control plane refused a generated policy");
            AppError::Conflict(format!("the control plane refused the policy: {detail}; {}", invalid.join("; ")))
        }
        other => {
            tracing::warn!(error = %other, "writing a policy to the control plane failed");
            AppError::Conflict(other.to_string())
        }
    }
}

/// Stores the change, its audit row and the resource as now written, in one transaction.
async fn record_change(
    ctx: &ServerCtx,
    caller: &Caller,
    s: &Situation,
    action: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    reason: &str,
) -> Result<(), AppError> {
    let actor = caller
        .user
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |u| u.actor());
    let mut tx = ctx.pool.begin().await?;
    repo::insert_change(
        &mut *tx,
        &NewChange {
            key: key(s),
            component: &s.component,
            action,
            before,
            after,
            actor: &actor,
            reason,
        },
    )
    .await?;
    repo::store_written(&mut *tx, key(s), after).await?;
    if action == "apply" {
        // The policy in the mesh is the proposal again: it follows the catalog.
        repo::clear_out_of_date(&mut *tx, &s.component, KIND).await?;
    }
    let event = Event::new(&format!("mesh.policy.{action}"), s.component.clone())
        .change(before.cloned(), after.cloned())
        .reason(reason);
    record(&mut tx, &ctx.audit, caller, event).await?;
    crate::cache::notify(&mut *tx, crate::mesh::repo::CHANGED_CHANNEL).await?;
    tx.commit().await?;
    Ok(())
}

fn current_view(body: &Value) -> CurrentPolicy {
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let labels: Tags = body
        .get("labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let hash = labels.get(SPEC_HASH_LABEL).cloned();
    let managed = labels.contains_key(COMPONENT_LABEL);
    let mesh = body.get("mesh").and_then(Value::as_str).unwrap_or_default();
    // Kuma adds labels of its own (mesh, origin, ...); the YAML diffs against Bearing's.
    let shown: Tags = labels
        .iter()
        .filter(|(k, _)| k.starts_with("bearing.dev/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    CurrentPolicy {
        yaml: universal_yaml(KIND, mesh, &name, &shown, &spec),
        edited_outside: managed && hash.as_deref() != Some(spec_hash(&spec).as_str()),
        name,
        spec,
        managed,
        hash,
    }
}

/// Reads what a preview, an apply or a rollback needs.
pub(super) async fn situation(ctx: &ServerCtx, kind: &str, namespace: &str, name: &str) -> Result<Situation, AppError> {
    if kind != "component" {
        return Err(AppError::invalid("kind", "only components have traffic policies"));
    }
    let component = crate::catalog::service::ref_key(kind, namespace, name)?;
    let Some(owner) = repo::component_owner(&ctx.pool, &component).await? else {
        return Err(AppError::NotFound(format!("component {component}")));
    };
    let Some((kuma_service, kuma_mesh, _)) = mesh_repo::component_mapping(&ctx.pool, &component).await? else {
        return Err(AppError::NotFound(format!("component {component}")));
    };
    let since = OffsetDateTime::UNIX_EPOCH;
    let stored = mesh_repo::services_named(&ctx.pool, since, &kuma_service, kuma_mesh.as_deref()).await?;
    let Some(stored) = stored.into_iter().next() else {
        return Err(AppError::NotFound(format!(
            "a Kuma service {kuma_service} for {component}: it is not in the mesh"
        )));
    };
    let (cp, mesh) = (stored.control_plane.clone(), stored.mesh.clone());
    let names = mesh_repo::mesh_service_names(&ctx.pool, &cp, &mesh).await?;
    let mesh_services: Vec<MeshService> = parse_all(
        mesh_repo::resources(&ctx.pool, &cp, &mesh, "MeshService").await?,
        "MeshService",
    );
    let mtps = traffic_permissions(ctx, &cp, &mesh, stored.mtls_enabled, stored.identity.as_deref()).await?;
    let tps: Vec<TrafficPermission> = parse_all(
        mesh_repo::resources(&ctx.pool, &cp, &mesh, "TrafficPermission").await?,
        "TrafficPermission",
    );
    let components: HashMap<String, Option<String>> = names.iter().map(|(s, c, _)| (s.clone(), c.clone())).collect();
    let gateway_of = |service: &str| {
        names
            .iter()
            .find(|(s, _, _)| s == service)
            .and_then(|(_, _, g)| g.clone())
    };
    let provider = workload(&kuma_service, gateway_of(&kuma_service).as_deref(), &mesh_services);

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
        .map(|(s, _, g)| workload(s, g.as_deref(), &mesh_services))
        .collect();

    // MeshIdentity meshes give their services SPIFFE IDs (MeshService `spec.identities`); only
    // the `rules[]` form can name those, and Kuma 3.0 keeps only it.
    let form = if provider.spiffe_id.is_some() {
        Form::Rules
    } else {
        Form::From
    };
    let proposal = generate::generate(&Request {
        mesh: &mesh,
        component: &component,
        provider: &provider,
        selector: &DataplaneSelector::ServiceTag,
        consumers: &consumers,
        form,
        shadow: None,
    })
    .map_err(|e| AppError::invalid("policy", e.to_string()))?;
    let current = mesh_repo::resources(&ctx.pool, &cp, &mesh, KIND)
        .await?
        .into_iter()
        .find(|b| b.get("name").and_then(Value::as_str) == Some(proposal.name.as_str()));

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
            callers.push(workload(
                &pair.caller,
                gateway_of(&pair.caller).as_deref(),
                &mesh_services,
            ));
        }
    }
    let policies = MeshPolicies {
        mesh: &mesh,
        mtls_enabled: stored.mtls_enabled,
        mesh_traffic_permissions: &mtps,
        traffic_permissions: &tps,
    };
    let change = generate::would_change(&policies, &proposal, &provider, &callers)
        .map_err(|e| AppError::invalid("policy", e.to_string()))?;
    let read_only = match &ctx.control_planes {
        None => true,
        Some(w) => w.read_only(&cp).await.unwrap_or_else(|e| {
            tracing::warn!(control_plane = %cp, error = %e, "could not tell whether the control plane takes writes");
            false
        }),
    };
    Ok(Situation {
        consumers: consumer_names
            .iter()
            .map(|(s, c, _)| EdgeEnd {
                service: s.clone(),
                component: c.clone(),
            })
            .collect(),
        component,
        owner,
        control_plane: cp,
        mesh,
        service: kuma_service,
        form,
        proposal,
        current,
        change,
        components,
        read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::rollback_target;
    use crate::policy::repo::StoredChange;

    fn change(action: &str, n: i64) -> StoredChange {
        StoredChange {
            action: action.to_owned(),
            before: Some(serde_json::json!(n)),
            after: None,
            actor: "t".into(),
            reason: "r".into(),
            at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn each_rollback_undoes_the_next_older_write() {
        let target = |h: &[StoredChange]| rollback_target(h).and_then(|c| c.before.clone());
        // Newest first.
        assert_eq!(target(&[]), None);
        assert_eq!(target(&[change("apply", 1)]), Some(serde_json::json!(1)));
        assert_eq!(target(&[change("rollback", 0), change("apply", 1)]), None);
        assert_eq!(
            target(&[change("rollback", 0), change("apply", 2), change("apply", 1)]),
            Some(serde_json::json!(1))
        );
        assert_eq!(
            target(&[
                change("adopt", 3),
                change("rollback", 0),
                change("apply", 2),
                change("apply", 1)
            ]),
            Some(serde_json::json!(3))
        );
        assert_eq!(
            target(&[
                change("rollback", 0),
                change("rollback", 0),
                change("apply", 2),
                change("apply", 1)
            ]),
            None
        );
    }
}
