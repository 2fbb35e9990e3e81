//! Writing one of Bearing's policies to a control plane, whichever produced it (the traffic
//! permission from declared consumers, or an admin's template): apply a proposal, adopt an edit
//! made outside Bearing, roll back. Every write is stored with the resource before and after,
//! and audited, in one transaction; the caller's right to write is checked here, once.

use bearing_kuma::model::Tags;
use bearing_policy::{spec_hash, universal_yaml, Proposal, COMPONENT_LABEL, SPEC_HASH_LABEL};
use serde_json::Value;

use super::repo::{self, NewChange, PolicyKey, StoredChange};
use super::{CurrentPolicy, PolicyChange, PolicyMode, PolicyWriteResult};
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::auth::CurrentUser;
use crate::catalog::ownership::service::may_edit;
use crate::error::AppError;
use crate::mesh::repo::{self as mesh_repo, StoredService};
use crate::ssr::control_plane::{ControlPlaneWriter, WriteError, Written};
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Longest reason kept.
const MAX_REASON: usize = 1_000;

/// Most history lines shown per policy.
const SHOWN_HISTORY: usize = 20;

/// Where a component's policies go: its Kuma service, and that service's mesh.
#[derive(Clone, Debug)]
pub(super) struct Place {
    /// The component's reference key.
    pub component: String,
    /// Its owner's reference key.
    pub owner: Option<String>,
    /// The Kuma service it maps to, as the poller stored it.
    pub service: StoredService,
    /// The control plane takes no writes (Kubernetes, a zone).
    pub read_only: bool,
}

/// The place of the component `kind:namespace/name`: `NotFound` when there is no such
/// component, or it is not in a mesh.
pub(super) async fn locate(ctx: &ServerCtx, kind: &str, namespace: &str, name: &str) -> Result<Place, AppError> {
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
    let since = time::OffsetDateTime::UNIX_EPOCH;
    let stored = mesh_repo::services_named(&ctx.pool, since, &kuma_service, kuma_mesh.as_deref()).await?;
    let Some(service) = stored.into_iter().next() else {
        return Err(AppError::NotFound(format!(
            "a Kuma service {kuma_service} for {component}: it is not in the mesh"
        )));
    };
    let read_only = match &ctx.control_planes {
        None => true,
        Some(w) => w.read_only(&service.control_plane).await.unwrap_or_else(|e| {
            tracing::warn!(control_plane = %service.control_plane, error = %e,
                "could not tell whether the control plane takes writes");
            false
        }),
    };
    Ok(Place {
        component,
        owner,
        service,
        read_only,
    })
}

impl Place {
    /// Whether `caller` may write this component's policies: a lead of the owning team or an
    /// admin.
    pub(super) fn may_write(&self, caller: &Caller) -> bool {
        caller.user.as_ref().is_some_and(|u| may_edit(u, self.owner.as_deref()))
    }

    /// The policy `kind`/`name` of this component, with what the mesh holds under that name
    /// (`stored`: the mesh's resources of that kind, as the poller or Bearing's last write
    /// stored them).
    /// The policy `kind`/`name` of this place, with what the mesh holds under that name now
    /// (one indexed read, not every policy of the kind: a large mesh has thousands).
    pub(super) async fn target(&self, ctx: &ServerCtx, kind: &str, name: &str) -> Result<Target, AppError> {
        let current =
            mesh_repo::resource(&ctx.pool, &self.service.control_plane, &self.service.mesh, kind, name).await?;
        Ok(Target {
            component: self.component.clone(),
            owner: self.owner.clone(),
            control_plane: self.service.control_plane.clone(),
            mesh: self.service.mesh.clone(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            current,
            read_only: self.read_only,
        })
    }
}

/// One policy Bearing keeps for a component: where it goes, and what is there now.
#[derive(Clone, Debug)]
pub(super) struct Target {
    /// The component's reference key.
    pub component: String,
    /// Its owner's reference key.
    pub owner: Option<String>,
    pub control_plane: String,
    pub mesh: String,
    /// Kuma's type, e.g. `MeshTrafficPermission`.
    pub kind: String,
    pub name: String,
    /// The stored resource of that name, as Kuma served it.
    pub current: Option<Value>,
    /// The control plane takes no writes (Kubernetes, a zone).
    pub read_only: bool,
}

impl Target {
    fn key(&self) -> PolicyKey<'_> {
        (&self.control_plane, &self.mesh, &self.kind, &self.name)
    }

    /// Whether `caller` may write this policy: a lead of the owning team or an admin.
    pub(super) fn may_write(&self, caller: &Caller) -> bool {
        caller.user.as_ref().is_some_and(|u| may_edit(u, self.owner.as_deref()))
    }

    fn require_writer<'c>(&self, caller: &'c Caller, what: &str) -> Result<&'c CurrentUser, AppError> {
        let user = caller.require_user()?;
        if !may_edit(user, self.owner.as_deref()) {
            return Err(AppError::forbidden(format!(
                "only a lead of the owning team or an admin can {what} this component's policy"
            )));
        }
        Ok(user)
    }

    /// The policy in the mesh, as shown.
    pub(super) fn current_view(&self) -> Option<CurrentPolicy> {
        self.current.as_ref().map(|c| current_view(&self.kind, c))
    }

    /// Whether Bearing's policy in the mesh is `proposal`: `None` when the mesh holds no policy
    /// Bearing manages under that name (nothing to be out of date).
    pub(super) fn follows(&self, proposal: &Proposal) -> Option<bool> {
        let current = self.current.as_ref()?;
        current_view(&self.kind, current)
            .managed
            .then(|| current.get("spec").map(spec_hash).as_deref() == Some(spec_hash(&proposal.spec).as_str()))
    }

    /// Bearing's policy in the mesh was edited outside Bearing since it was written.
    pub(super) fn edited_outside(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| current_view(&self.kind, c).edited_outside)
    }

    /// Bearing's changes to it, newest first.
    pub(super) async fn history(&self, ctx: &ServerCtx) -> Result<Vec<StoredChange>, AppError> {
        Ok(repo::changes(&ctx.pool, self.key()).await?)
    }
}

/// The history as shown, and whether there is a write to roll back.
pub(super) fn history_view(history: &[StoredChange]) -> (Vec<PolicyChange>, bool) {
    let shown = history
        .iter()
        .take(SHOWN_HISTORY)
        .map(|c| PolicyChange {
            action: c.action.clone(),
            actor: c.actor.clone(),
            reason: c.reason.clone(),
            at: rfc3339(c.at),
        })
        .collect();
    (shown, rollback_target(history).is_some())
}

/// Applies `proposal` after checking the caller may, that it is still the one previewed
/// (`expected_hash`) and that a reason is given.
pub(super) async fn apply(
    ctx: &ServerCtx,
    caller: &Caller,
    target: &Target,
    proposal: &Proposal,
    reason: &str,
    expected_hash: &str,
) -> Result<PolicyWriteResult, AppError> {
    target.require_writer(caller, "apply")?;
    let reason = checked_reason(reason)?;
    let hash = spec_hash(&proposal.spec);
    if expected_hash != hash {
        return Err(AppError::Conflict(format!(
            "the proposal changed since it was previewed (now {hash}); preview it again"
        )));
    }
    write_proposal(ctx, caller, target, proposal, &reason).await
}

/// Writes `proposal` and records it, for a caller already allowed to (checked by [`apply`], or
/// the identity whose import changed it).
pub(super) async fn write_proposal(
    ctx: &ServerCtx,
    caller: &Caller,
    target: &Target,
    proposal: &Proposal,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    let writer = writer(ctx, target)?;
    let resource = proposal.resource_json();
    refuse_invalid(&target.kind, &resource)?;
    let written = writer
        .put(&target.control_plane, &resource)
        .await
        .map_err(write_error)?;
    record_change(
        ctx,
        caller,
        target,
        "apply",
        target.current.as_ref(),
        Some(&resource),
        reason,
    )
    .await?;
    Ok(result(
        &target.name,
        &written,
        if written.created { "created" } else { "updated" },
    ))
}

/// Keeps an edit made outside Bearing to Bearing's policy: the policy in the mesh is written back
/// with its spec unchanged and the hash label of that spec, so it no longer shows as edited
/// outside (until the proposal changes). The opposite, reverting the edit, is [`apply`].
pub(super) async fn adopt(
    ctx: &ServerCtx,
    caller: &Caller,
    target: &Target,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    target.require_writer(caller, "adopt")?;
    let reason = checked_reason(reason)?;
    let Some(current) = target
        .current
        .as_ref()
        .filter(|c| current_view(&target.kind, c).edited_outside)
    else {
        return Err(AppError::Conflict(
            "the policy in the mesh is not an edited copy of Bearing's: nothing to adopt".into(),
        ));
    };
    let spec = current.get("spec").cloned().unwrap_or(Value::Null);
    let mut resource = writable(current);
    if let Some(labels) = resource.get_mut("labels").and_then(Value::as_object_mut) {
        labels.insert(SPEC_HASH_LABEL.to_owned(), Value::String(spec_hash(&spec)));
    }
    refuse_invalid(&target.kind, &resource)?;
    let writer = writer(ctx, target)?;
    let written = writer
        .put(&target.control_plane, &resource)
        .await
        .map_err(write_error)?;
    record_change(ctx, caller, target, "adopt", Some(current), Some(&resource), &reason).await?;
    Ok(result(&target.name, &written, "updated"))
}

/// Puts back what the latest apply (or adopt) not yet rolled back replaced, or deletes the
/// policy if that apply created it.
pub(super) async fn rollback(
    ctx: &ServerCtx,
    caller: &Caller,
    target: &Target,
    reason: &str,
) -> Result<PolicyWriteResult, AppError> {
    target.require_writer(caller, "roll back")?;
    let reason = checked_reason(reason)?;
    let history = target.history(ctx).await?;
    let Some(undone) = rollback_target(&history) else {
        return Err(AppError::Conflict(
            "Bearing has applied nothing here to roll back".into(),
        ));
    };
    let writer = writer(ctx, target)?;
    let restore = undone.before.clone();
    let (written, outcome) = match &restore {
        Some(previous) => {
            let w = writer
                .put(&target.control_plane, &writable(previous))
                .await
                .map_err(write_error)?;
            (w, "updated")
        }
        None => match writer
            .delete(&target.control_plane, &target.mesh, &target.kind, &target.name)
            .await
        {
            Ok(w) => (w, "deleted"),
            // Already gone (deleted outside Bearing): the rollback's goal holds.
            Err(WriteError::NotFound) => (Written::default(), "deleted"),
            Err(e) => return Err(write_error(e)),
        },
    };
    record_change(
        ctx,
        caller,
        target,
        "rollback",
        target.current.as_ref(),
        restore.as_ref(),
        &reason,
    )
    .await?;
    Ok(result(&target.name, &written, outcome))
}

/// The write a rollback undoes: walking newest first, each rollback cancels the next older
/// apply or adopt; the first one left over is it.
fn rollback_target(history: &[StoredChange]) -> Option<&StoredChange> {
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

fn writer<'a>(ctx: &'a ServerCtx, target: &Target) -> Result<&'a dyn ControlPlaneWriter, AppError> {
    if mode(ctx, &target.control_plane) == PolicyMode::Off {
        return Err(AppError::Conflict(format!(
            "Bearing does not write policies to control plane {} (--kuma-policy-mode off)",
            target.control_plane
        )));
    }
    match &ctx.control_planes {
        Some(w) if !target.read_only => Ok(w.as_ref()),
        _ => Err(AppError::Conflict(format!(
            "control plane {} is read-only: download the Kubernetes manifest and apply it with kubectl or GitOps",
            target.control_plane
        ))),
    }
}

/// What Kuma itself would refuse never leaves Bearing (a bug or a bad template, not a user's
/// mistake).
fn refuse_invalid(kind: &str, resource: &Value) -> Result<(), AppError> {
    let schema = bearing_kuma::schema::validate(kind, resource).err().unwrap_or_default();
    let rules = bearing_kuma::checks::spec_violations(kind, resource);
    if schema.is_empty() && rules.is_empty() {
        return Ok(());
    }
    tracing::error!(%kind, ?schema, ?rules, "a generated policy fails Kuma's validation");
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
    target: &Target,
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
            key: target.key(),
            component: &target.component,
            action,
            before,
            after,
            actor: &actor,
            reason,
        },
    )
    .await?;
    repo::store_written(&mut *tx, target.key(), after).await?;
    if action == "apply" {
        // The policy in the mesh is the proposal again: it follows the catalog.
        repo::clear_out_of_date(&mut *tx, &target.component, &target.kind).await?;
    }
    let event = Event::new(&format!("mesh.policy.{action}"), target.component.clone())
        .change(before.cloned(), after.cloned())
        .reason(reason);
    record(&mut tx, &ctx.audit, caller, event).await?;
    crate::cache::notify(&mut *tx, crate::mesh::repo::CHANGED_CHANNEL).await?;
    tx.commit().await?;
    Ok(())
}

/// A policy as the control plane served it, as shown: Bearing's labels only (Kuma adds its own:
/// mesh, origin, ...), so the YAML diffs against the proposal's.
fn current_view(kind: &str, body: &Value) -> CurrentPolicy {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    let labels: Tags = body
        .get("labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let hash = labels.get(SPEC_HASH_LABEL).cloned();
    let managed = labels.contains_key(COMPONENT_LABEL);
    let shown: Tags = labels
        .iter()
        .filter(|(k, _)| k.starts_with("bearing.dev/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    CurrentPolicy {
        yaml: universal_yaml(kind, text("mesh"), text("name"), &shown, &spec),
        edited_outside: managed && hash.as_deref() != Some(spec_hash(&spec).as_str()),
        name: text("name").to_owned(),
        spec,
        managed,
        hash,
    }
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
