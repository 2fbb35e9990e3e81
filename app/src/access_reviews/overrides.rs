//! Role overrides as admins see them, and lifting one: the person gets the role back from their
//! identity-provider groups on their next request (if the groups still grant it).

use serde_json::json;

use super::repo::{self, OverrideRow};
use super::RoleOverrideView;
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Overrides in force, newest first (admins).
pub async fn list_overrides(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<RoleOverrideView>, AppError> {
    caller.require_admin()?;
    Ok(repo::active_overrides(&ctx.pool).await?.into_iter().map(view).collect())
}

/// Lifts override `id` (admins).
pub async fn lift_override(ctx: &ServerCtx, caller: &Caller, id: i64) -> Result<RoleOverrideView, AppError> {
    let admin = caller.require_admin()?;
    let mut tx = ctx.pool.begin().await?;
    let row = repo::lift_override(&mut *tx, id, &admin.actor())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("role override {id} in force")))?;
    let lifted = view(row);
    let before = json!({
        "id": lifted.id, "role": lifted.role, "team": lifted.team, "reason": lifted.reason,
        "review_entry_id": lifted.review_entry_id,
    });
    record(
        &mut tx,
        &ctx.audit,
        caller,
        Event::new("role_override.lift", lifted.subject.clone()).change(Some(before), None),
    )
    .await?;
    tx.commit().await?;
    Ok(lifted)
}

fn view(o: OverrideRow) -> RoleOverrideView {
    let label = match (o.name, o.email) {
        (Some(n), Some(e)) => format!("{n} ({e})"),
        (n, e) => n.or(e).unwrap_or_else(|| o.subject.clone()),
    };
    RoleOverrideView {
        id: o.id,
        subject: format!("user:{}#{}", o.issuer, o.subject),
        subject_label: label,
        role: o.role,
        team: Some(o.team).filter(|t| !t.is_empty()),
        reason: o.reason,
        review_entry_id: o.review_entry_id,
        created_by: o.created_by,
        created_at: rfc3339(o.created_at),
    }
}
