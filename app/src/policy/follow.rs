//! Policies that follow the catalog as it changes (`--kuma-policy-mode`).
//!
//! An import that changes what a provider's consumers declare leaves its MeshTrafficPermission
//! behind the catalog. The import cannot act on it: it runs in one transaction (from the CLI
//! too), knows nothing of control planes, and the provider may not even be in the mesh yet.
//! So it only marks the affected providers ([`Watch`], [`mark`]), in its own transaction; the
//! server's policy worker then looks at each mark ([`follow_marks`]) under the mode of the
//! provider's control plane:
//!
//! - `off`: the mark is dropped; Bearing writes nothing there.
//! - `propose`: the mark stays while Bearing's policy in the mesh differs from the proposal,
//!   and the Policy tab says since when and why; a lead applies it (which clears the mark).
//! - `apply`: the proposal is applied at once, as the identity that imported (with the roles it
//!   had then), audited like an apply by hand. A policy edited outside Bearing, or one of the
//!   same name Bearing did not create, is never overwritten this way: the attempt fails with a
//!   reason shown on the Policy tab, and is retried with a growing delay.
//!
//! A provider with no Bearing policy in the mesh is not out of date in `propose` mode (its
//! proposal waits on the Policy tab); in `apply` mode it gets one.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::proposal::{self, importer, KIND};
use super::repo::{self, OutOfDateRow};
use super::templated;
use super::write::{self, write_proposal};
use super::PolicyMode;
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Most marks looked at in one pass of the worker.
const BATCH: i64 = 200;

/// The (consumer, provider) pairs the catalog declared, around the entities an import writes,
/// as they were before it wrote them.
pub struct Watch {
    focus: Vec<String>,
    before: BTreeSet<(String, String)>,
}

impl Watch {
    /// Reads the declared dependencies from or to `focus` (the entities the import adds or
    /// changes) before the import writes them.
    pub async fn before(db: &mut PgConnection, focus: Vec<String>) -> sqlx::Result<Watch> {
        let before = pairs(db, &focus).await?;
        Ok(Watch { focus, before })
    }

    /// After the import wrote: the providers whose declared consumers changed.
    pub async fn changed_providers(self, db: &mut PgConnection) -> sqlx::Result<Vec<String>> {
        let after = pairs(db, &self.focus).await?;
        Ok(changed_providers(&self.before, &after))
    }
}

async fn pairs(db: &mut PgConnection, focus: &[String]) -> sqlx::Result<BTreeSet<(String, String)>> {
    if focus.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(repo::declared_dependencies(db, Some(focus))
        .await?
        .into_iter()
        .map(|d| (d.from_ref, d.to_ref))
        .collect())
}

/// The providers of every pair declared on one side only: each gained or lost a consumer. How a
/// pair is declared (`dependsOn` or through an API) does not matter to who may call whom.
pub fn changed_providers(before: &BTreeSet<(String, String)>, after: &BTreeSet<(String, String)>) -> Vec<String> {
    before
        .symmetric_difference(after)
        .map(|(_, provider)| provider.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The kind a mark has when it is about a new component's templated policies.
pub(super) const TEMPLATES: &str = "templates";

/// Marks, in the import's transaction, the MeshTrafficPermissions of `providers` out of date,
/// and the templated policies of the components the import added as not yet there.
pub async fn mark(
    db: &mut PgConnection,
    providers: &[String],
    added: &[String],
    cause: &str,
    caller: &Caller,
) -> Result<(), AppError> {
    if providers.is_empty() && added.is_empty() {
        return Ok(());
    }
    let importer = serde_json::to_value(&caller.user).map_err(|e| {
        tracing::error!(error = %e, "the importing identity cannot be stored");
        AppError::Internal
    })?;
    if !providers.is_empty() {
        repo::mark_out_of_date(&mut *db, providers, KIND, cause, &importer).await?;
    }
    if !added.is_empty() {
        repo::mark_out_of_date(&mut *db, added, TEMPLATES, cause, &importer).await?;
    }
    Ok(())
}

/// What one pass of the worker did with the marks it looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followed {
    /// Applied as the importing identity (`apply` mode).
    pub applied: Vec<String>,
    /// Left for a lead to apply (`propose` mode).
    pub proposed: Vec<String>,
    /// Dropped: the policy follows the catalog, Bearing manages none, the mode is `off`, or the
    /// component is gone.
    pub cleared: Vec<String>,
    /// Not in the mesh yet; looked at again next pass.
    pub waiting: Vec<String>,
    /// Could not be applied; retried later. `component: why`.
    pub failed: Vec<String>,
}

/// One pass over the marks that are due. Only one server of a deployment runs a pass at a time
/// (the others return at once with nothing done).
pub async fn follow_marks(ctx: &ServerCtx) -> Result<Followed, AppError> {
    let mut lock = ctx.pool.begin().await?;
    if !repo::try_lock_follow(&mut *lock).await? {
        return Ok(Followed::default());
    }
    let mut done = Followed::default();
    for mark in repo::due_out_of_date(&ctx.pool, KIND, ctx.mesh.poll_interval, BATCH).await? {
        follow_one(ctx, mark, &mut done).await?;
    }
    // Templated policies are only ever applied on their own in `apply` mode: without it (or
    // without templates) a whole first import's marks go at once, not a batch per pass.
    let applies = ctx.control_planes.as_ref().is_some_and(|w| w.applies_anywhere());
    if !applies || ctx.policy_templates.is_empty() {
        repo::clear_all_out_of_date(&ctx.pool, TEMPLATES).await?;
    }
    for mark in repo::due_out_of_date(&ctx.pool, TEMPLATES, ctx.mesh.poll_interval, BATCH).await? {
        follow_templates(ctx, mark, &mut done).await?;
    }
    lock.rollback().await?;
    Ok(done)
}

/// What the mode of the provider's control plane asks for one mark.
async fn follow_one(ctx: &ServerCtx, mark: OutOfDateRow, done: &mut Followed) -> Result<(), AppError> {
    let component = mark.component.clone();
    let Some((_, namespace, name)) = crate::catalog::split_ref(&component) else {
        repo::clear_out_of_date(&ctx.pool, &component, KIND).await?;
        done.cleared.push(component);
        return Ok(());
    };
    let s = match proposal::situation(ctx, "component", namespace, name).await {
        Ok(s) => s,
        Err(AppError::NotFound(_)) if !repo::component_exists(&ctx.pool, &component).await? => {
            repo::clear_out_of_date(&ctx.pool, &component, KIND).await?;
            done.cleared.push(component);
            return Ok(());
        }
        Err(AppError::NotFound(_)) => {
            // Looked at again after a poll interval, so marks that wait long do not hold up
            // the others (each pass takes the oldest due ones).
            repo::looked_at(&ctx.pool, &component, KIND).await?;
            done.waiting.push(component);
            return Ok(());
        }
        Err(e) => return failed(ctx, &component, &e.to_string(), done).await,
    };
    let t = &s.target;
    let mode = write::mode(ctx, &t.control_plane);
    let proposal = s.in_current_phase();
    let follows = t.follows(proposal);
    match (mode, follows) {
        (PolicyMode::Off, _) | (_, Some(true)) | (PolicyMode::Propose, None) => {
            repo::clear_out_of_date(&ctx.pool, &component, KIND).await?;
            done.cleared.push(component);
        }
        (PolicyMode::Propose, Some(false)) => {
            repo::looked_at(&ctx.pool, &component, KIND).await?;
            done.proposed.push(component);
        }
        (PolicyMode::Apply, _) if t.current.is_some() && follows.is_none() => {
            let why = format!(
                "a policy named {} that Bearing did not create is in the mesh; Bearing does not overwrite it on its own",
                s.proposal.name
            );
            return failed(ctx, &component, &why, done).await;
        }
        (PolicyMode::Apply, _) if t.edited_outside() => {
            let why = "the policy was edited outside Bearing: adopt or revert the edit on the Policy tab first";
            return failed(ctx, &component, why, done).await;
        }
        (PolicyMode::Apply, _) => {
            let Some(user) = importer(&mark.importer) else {
                return failed(ctx, &component, "the importing identity cannot be read", done).await;
            };
            if !crate::catalog::ownership::service::may_edit(&user, t.owner.as_deref()) {
                let why = format!("{} may not change this component's policy", user.actor());
                return failed(ctx, &component, &why, done).await;
            }
            let caller = Caller {
                user: Some(user),
                request_id: None,
                client_addr: None,
            };
            let reason = format!(
                "{} changed the declared consumers (--kuma-policy-mode apply)",
                mark.cause
            );
            match write_proposal(ctx, &caller, t, proposal, &reason).await {
                Ok(_) => done.applied.push(component),
                Err(e) => return failed(ctx, &component, &e.to_string(), done).await,
            }
        }
    }
    Ok(())
}

async fn failed(ctx: &ServerCtx, component: &str, why: &str, done: &mut Followed) -> Result<(), AppError> {
    failed_kind(ctx, component, KIND, why, done).await
}

async fn failed_kind(
    ctx: &ServerCtx,
    component: &str,
    kind: &str,
    why: &str,
    done: &mut Followed,
) -> Result<(), AppError> {
    tracing::warn!(%component, %kind, reason = %why, "a policy out of date could not be applied");
    repo::failed_attempt(&ctx.pool, component, kind, why).await?;
    done.failed.push(format!("{component}: {why}"));
    Ok(())
}

/// A new component's templated policies: applied as the importer in `apply` mode (never over a
/// policy Bearing did not create or one edited outside it); otherwise the mark is dropped, the
/// proposals waiting on the entity page.
async fn follow_templates(ctx: &ServerCtx, mark: OutOfDateRow, done: &mut Followed) -> Result<(), AppError> {
    let component = mark.component.clone();
    let Some((_, namespace, name)) = crate::catalog::split_ref(&component) else {
        repo::clear_out_of_date(&ctx.pool, &component, TEMPLATES).await?;
        done.cleared.push(component);
        return Ok(());
    };
    let (place, items) = match templated::items(ctx, "component", namespace, name).await {
        Ok(found) => found,
        Err(AppError::NotFound(_)) if !repo::component_exists(&ctx.pool, &component).await? => {
            repo::clear_out_of_date(&ctx.pool, &component, TEMPLATES).await?;
            done.cleared.push(component);
            return Ok(());
        }
        Err(AppError::NotFound(_)) => {
            repo::looked_at(&ctx.pool, &component, TEMPLATES).await?;
            done.waiting.push(component);
            return Ok(());
        }
        Err(e) => return failed_kind(ctx, &component, TEMPLATES, &e.to_string(), done).await,
    };
    if write::mode(ctx, &place.service.control_plane) != PolicyMode::Apply {
        repo::clear_out_of_date(&ctx.pool, &component, TEMPLATES).await?;
        done.cleared.push(component);
        return Ok(());
    }
    let caller = match importer(&mark.importer) {
        Some(user) => Caller {
            user: Some(user),
            request_id: None,
            client_addr: None,
        },
        None => {
            return failed_kind(
                ctx,
                &component,
                TEMPLATES,
                "the importing identity cannot be read",
                done,
            )
            .await
        }
    };
    if !place.may_write(&caller) {
        let why = "the importing identity may not change this component's policies";
        return failed_kind(ctx, &component, TEMPLATES, why, done).await;
    }
    let reason = format!("{} added the component (--kuma-policy-mode apply)", mark.cause);
    let mut problems = Vec::new();
    for item in &items {
        let t = &item.target;
        match t.follows(&item.policy.proposal) {
            Some(true) => continue,
            None if t.current.is_some() => {
                problems.push(format!(
                    "{}: a policy named {} that Bearing did not create is in the mesh",
                    item.template, t.name
                ));
                continue;
            }
            _ if t.edited_outside() => {
                problems.push(format!("{}: edited outside Bearing", item.template));
                continue;
            }
            _ => {}
        }
        if let Err(e) = write_proposal(ctx, &caller, t, &item.policy.proposal, &reason).await {
            problems.push(format!("{}: {e}", item.template));
        }
    }
    if problems.is_empty() {
        repo::clear_out_of_date(&ctx.pool, &component, TEMPLATES).await?;
        done.applied.push(component);
        Ok(())
    } else {
        failed_kind(ctx, &component, TEMPLATES, &problems.join("; "), done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn a_provider_changes_when_it_gains_or_loses_a_consumer() {
        let before = set(&[("web", "api"), ("web", "db"), ("jobs", "db")]);
        let after = set(&[("web", "api"), ("jobs", "db"), ("jobs", "queue"), ("cli", "api")]);
        assert_eq!(changed_providers(&before, &after), vec!["api", "db", "queue"]);
        assert!(changed_providers(&before, &before).is_empty());
        assert_eq!(changed_providers(&BTreeSet::new(), &set(&[("a", "b")])), vec!["b"]);
    }
}
