//! Rules for edits and transfers. Each function checks the caller's role, validates, changes
//! the entity and writes the audit row in one transaction.

use serde_json::{json, Value};
use sqlx::PgConnection;

use super::repo::{self, EditableRow, OverrideRow, TransferRow};
use super::{EditState, EntityPatch, OverrideView, TransferOutcome, TransferView, EDITABLE_KINDS};
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::auth::service::team_key;
use crate::auth::CurrentUser;
use crate::catalog::index::{etag, search_rows};
use crate::catalog::repo::write::notify_changed;
use crate::catalog::Entity;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Whether `user` may edit an entity owned by `owner`: its team's lead, or an admin.
pub fn may_edit(user: &CurrentUser, owner: Option<&str>) -> bool {
    user.is_admin() || owner.is_some_and(|o| user.leads(o))
}

async fn lock_editable(tx: &mut PgConnection, key: &str) -> Result<EditableRow, AppError> {
    let row = repo::lock_entity(tx, key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("entity {key}")))?;
    if !EDITABLE_KINDS.contains(&row.kind.as_str()) {
        return Err(AppError::invalid(
            "kind",
            "only components, APIs, resources and systems can be edited",
        ));
    }
    Ok(row)
}

/// Moves an entity to team `to`: at once for admins (audited as `entity.transfer`; a request
/// pending for the entity is cancelled), as a pending request (the receiving lead accepts) for
/// the lead of the current owner.
pub async fn transfer(
    ctx: &ServerCtx,
    caller: &Caller,
    key: &str,
    to: &str,
    reason: &str,
) -> Result<TransferOutcome, AppError> {
    let user = caller.require_user()?;
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(AppError::invalid(
            "reason",
            "say why the entity moves (1 to 1000 characters)",
        ));
    }
    if reason.contains('\0') {
        // PostgreSQL text cannot hold NUL: refused here rather than failing the insert.
        return Err(AppError::BadRequest(
            "the reason must not contain NUL (\\0) characters".into(),
        ));
    }
    let to = team_key(ctx, to.trim()).await.map_err(|e| match e {
        AppError::Invalid { message, .. } => AppError::invalid("to", message),
        other => other,
    })?;
    let mut tx = ctx.pool.begin().await?;
    let mut row = lock_editable(&mut tx, key).await?;
    if !may_edit(user, row.owner_ref.as_deref()) {
        return Err(AppError::forbidden(
            "only a lead of the owning team or an admin can move this entity",
        ));
    }
    if row.owner_ref.as_deref() == Some(to.as_str()) {
        return Err(AppError::invalid("to", format!("{key} is already owned by {to}")));
    }
    let applied = user.is_admin();
    // An admin's direct transfer goes ahead and cancels a pending request (below); a lead's
    // request waits for the one already pending.
    if !applied && repo::pending_for_entity(&mut *tx, key).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "{key} already has a pending transfer; it must be accepted or rejected first"
        )));
    }
    let actor = user.actor();
    let transfer = repo::insert_transfer(
        &mut *tx,
        &row,
        &to,
        reason,
        &actor,
        if applied { "accepted" } else { "pending" },
    )
    .await?;
    let view = transfer_view(&transfer);
    if applied {
        let (before, after) =
            set_fields(&mut tx, &mut row, &[("owner", Some(Value::String(to.clone())))], &actor).await?;
        let event = Event::new("entity.transfer", key)
            .change(Some(before), Some(after))
            .reason(reason);
        record(&mut tx, &ctx.audit, caller, event).await?;
        let cause = format!("a direct transfer by {actor}");
        cancel_stale(
            &mut tx,
            &ctx.audit,
            caller,
            std::slice::from_ref(&row.entity_ref),
            &cause,
        )
        .await?;
    } else {
        let event = Event::new("transfer.request", key)
            .change(None, serde_json::to_value(&view).ok())
            .reason(reason);
        record(&mut tx, &ctx.audit, caller, event).await?;
    }
    // A pending request changes the entity page too (its edit panel shows the request), so
    // cached reads and rendered pages are dropped either way.
    notify_changed(&mut *tx).await?;
    tx.commit().await?;
    ctx.cache.invalidate();
    Ok(TransferOutcome {
        applied,
        transfer: view,
    })
}

/// Accepts (`accept`) or rejects a pending transfer: the receiving team's lead, or an admin,
/// never the person (or token) who asked for it. A transfer whose entity is no longer owned by
/// the team that asked (an import or an admin moved it since) is cancelled instead, and the
/// decision refused: accepting it would let the receiving team take an entity from a team that
/// never offered it.
pub async fn decide(ctx: &ServerCtx, caller: &Caller, id: i64, accept: bool) -> Result<TransferView, AppError> {
    let user = caller.require_user()?;
    let mut tx = ctx.pool.begin().await?;
    let t = repo::lock_pending_transfer(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("pending transfer {id}")))?;
    if !(user.is_admin() || user.leads(&t.to_team)) {
        return Err(AppError::forbidden(format!(
            "only a lead of {} or an admin can decide this transfer",
            t.to_team
        )));
    }
    if is_requester(user, &t.requested_by) {
        return Err(AppError::forbidden(format!(
            "you asked for this transfer; another lead of {} or an admin decides it",
            t.to_team
        )));
    }
    let actor = user.actor();
    let mut row = lock_editable(&mut tx, &t.entity_ref).await?;
    if row.owner_ref != t.from_team {
        let now = row.owner_ref.clone().unwrap_or_else(|| "no team".into());
        let why = format!(
            "{} is now owned by {now}, not by {} who asked for the transfer; the request is cancelled",
            t.entity_ref,
            t.from_team.as_deref().unwrap_or("no team"),
        );
        repo::decide_transfer(&mut *tx, id, "cancelled", &actor).await?;
        let mut view = transfer_view(&t);
        view.status = "cancelled".to_owned();
        let event = Event::new("transfer.cancel", &t.entity_ref)
            .change(serde_json::to_value(&view).ok(), None)
            .reason(why.clone());
        record(&mut tx, &ctx.audit, caller, event).await?;
        notify_changed(&mut *tx).await?;
        tx.commit().await?;
        ctx.cache.invalidate();
        return Err(AppError::Conflict(why));
    }
    let status = if accept { "accepted" } else { "rejected" };
    repo::decide_transfer(&mut *tx, id, status, &actor).await?;
    let mut view = transfer_view(&t);
    view.status = status.to_owned();
    if accept {
        let (before, after) = set_fields(
            &mut tx,
            &mut row,
            &[("owner", Some(Value::String(t.to_team.clone())))],
            &actor,
        )
        .await?;
        let event = Event::new("transfer.accept", &t.entity_ref)
            .change(Some(before), Some(after))
            .reason(t.reason.clone());
        record(&mut tx, &ctx.audit, caller, event).await?;
    } else {
        let event = Event::new("transfer.reject", &t.entity_ref).change(serde_json::to_value(&view).ok(), None);
        record(&mut tx, &ctx.audit, caller, event).await?;
    }
    // Rejecting clears the pending request from the entity page as well.
    notify_changed(&mut *tx).await?;
    tx.commit().await?;
    ctx.cache.invalidate();
    Ok(view)
}

/// Whether `user` asked for a transfer recorded as `requested_by`. Besides today's actor name,
/// a person is matched by the `user:<email>` name the audit used before actors were named by
/// issuer and subject, so a request from before an upgrade cannot be accepted by its author.
fn is_requester(user: &CurrentUser, requested_by: &str) -> bool {
    requested_by == user.actor()
        || (user.kind == crate::auth::ActorKind::User
            && user
                .email
                .as_deref()
                .is_some_and(|email| requested_by.eq_ignore_ascii_case(&format!("user:{email}"))))
}

/// Cancels, inside an import's transaction, the pending transfers of the entities `keys` that the
/// import moved to another team, each with its own audit row by `system:import` (the reason
/// names who ran the import). Returns how many were cancelled.
pub async fn cancel_transfers_after_import(
    tx: &mut PgConnection,
    audit: &crate::ssr::AuditSettings,
    importer: &Caller,
    keys: &[String],
) -> Result<usize, AppError> {
    let import = Caller {
        user: Caller::system("import").user,
        ..importer.clone()
    };
    let who = importer
        .user
        .as_ref()
        .map(CurrentUser::actor)
        .unwrap_or_else(|| "anonymous".into());
    cancel_stale(tx, audit, &import, keys, &format!("an import by {who}")).await
}

/// Cancels the pending transfers of `keys` whose entity is no longer owned by the team that
/// asked for it, auditing each as `transfer.cancel` by `by`; `cause` says what moved the entity.
async fn cancel_stale(
    tx: &mut PgConnection,
    audit: &crate::ssr::AuditSettings,
    by: &Caller,
    keys: &[String],
    cause: &str,
) -> Result<usize, AppError> {
    let actor = by.user.as_ref().map(CurrentUser::actor).unwrap_or_default();
    let stale = repo::cancel_stale_transfers(&mut *tx, keys, &actor).await?;
    for s in &stale {
        let t = &s.transfer;
        let why = format!(
            "{cause} changed the owner of {} to {}; {} no longer owns it",
            t.entity_ref,
            s.owner_now.as_deref().unwrap_or("no team"),
            t.from_team.as_deref().unwrap_or("the requesting team"),
        );
        let event = Event::new("transfer.cancel", &t.entity_ref)
            .change(serde_json::to_value(transfer_view(t)).ok(), None)
            .reason(why);
        record(&mut *tx, audit, by, event).await?;
    }
    Ok(stale.len())
}

/// Pending transfers the caller may act on or asked for (admins: all).
pub async fn pending(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<TransferView>, AppError> {
    let user = caller.require_user()?;
    let rows = repo::pending_transfers(&ctx.pool, &user.lead_of, &user.actor(), user.is_admin()).await?;
    Ok(rows.iter().map(transfer_view).collect())
}

/// Changes lifecycle, description and links (the owning team's lead, or an admin).
pub async fn patch(ctx: &ServerCtx, caller: &Caller, key: &str, patch: EntityPatch) -> Result<(), AppError> {
    let user = caller.require_user()?;
    let mut changes: Vec<(&str, Option<Value>)> = Vec::new();
    if let Some(lifecycle) = &patch.lifecycle {
        let l = lifecycle.trim();
        let valid =
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AppError::invalid(
                "lifecycle",
                "use a short word such as experimental, production or deprecated",
            ));
        }
        changes.push(("lifecycle", Some(Value::String(l.to_owned()))));
    }
    if let Some(description) = &patch.description {
        let d = description.trim();
        if d.len() > 2000 {
            return Err(AppError::invalid("description", "keep it under 2000 characters"));
        }
        changes.push(("description", (!d.is_empty()).then(|| Value::String(d.to_owned()))));
    }
    if let Some(links) = &patch.links {
        if links.len() > 20 {
            return Err(AppError::invalid("links", "at most 20 links"));
        }
        let mut out = Vec::new();
        for (i, l) in links.iter().enumerate() {
            let url = l.url.trim();
            let scheme_ok = ["http://", "https://", "mailto:"]
                .iter()
                .any(|s| url.to_ascii_lowercase().starts_with(s));
            if !scheme_ok || url.len() > 2000 || url.chars().any(char::is_whitespace) {
                return Err(AppError::invalid(
                    format!("links[{i}].url"),
                    "must be an http, https or mailto URL",
                ));
            }
            let mut link = json!({ "url": url });
            if let Some(t) = l.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                link["title"] = Value::String(t.chars().take(200).collect());
            }
            out.push(link);
        }
        changes.push(("links", (!out.is_empty()).then_some(Value::Array(out))));
    }
    if changes.is_empty() {
        return Err(AppError::invalid(
            "body",
            "give at least one of lifecycle, description, links",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let mut row = lock_editable(&mut tx, key).await?;
    if !may_edit(user, row.owner_ref.as_deref()) {
        return Err(AppError::forbidden(
            "only a lead of the owning team or an admin can edit this entity",
        ));
    }
    let (before, after) = set_fields(&mut tx, &mut row, &changes, &user.actor()).await?;
    let mut event = Event::new("entity.update", key).change(Some(before), Some(after));
    event.reason = patch.reason.filter(|r| !r.trim().is_empty());
    record(&mut tx, &ctx.audit, caller, event).await?;
    notify_changed(&mut *tx).await?;
    tx.commit().await?;
    ctx.cache.invalidate();
    Ok(())
}

/// [`patch`] for the JSON API, which answers with the entity as it reads after the edit (the
/// same shape as `GET /api/v1/entities/{kind}/{namespace}/{name}`).
pub async fn patch_entity(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
    changes: EntityPatch,
) -> Result<Entity, AppError> {
    let key = crate::catalog::service::ref_key(kind, namespace, name)?;
    patch(ctx, caller, &key, changes).await?;
    crate::catalog::service::entity(ctx, caller, kind, namespace, name).await
}

/// Applies field changes to a locked entity, keeping overrides: the source file's value is
/// remembered, and an edit back to it removes the override. Rewrites relations (owner), search
/// rows and etag exactly as an import of the edited entity would. Returns (before, after).
async fn set_fields(
    tx: &mut PgConnection,
    row: &mut EditableRow,
    changes: &[(&str, Option<Value>)],
    editor: &str,
) -> Result<(Value, Value), AppError> {
    let existing = repo::overrides_of(&mut *tx, std::slice::from_ref(&row.entity_ref)).await?;
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (field, new) in changes {
        let current = field_value(row, field);
        before.insert((*field).to_owned(), current.clone().unwrap_or(Value::Null));
        after.insert((*field).to_owned(), new.clone().unwrap_or(Value::Null));
        let source_value = match existing.iter().find(|o| o.field == *field) {
            Some(o) => o.source_value.clone().filter(|v| !v.is_null()),
            None => current,
        };
        if *new == source_value {
            repo::delete_override(&mut *tx, &row.entity_ref, field).await?;
        } else {
            let value = new.clone().unwrap_or(Value::Null);
            repo::upsert_override(&mut *tx, row.id, field, &value, source_value.as_ref(), editor).await?;
        }
        set_field(row, field, new.as_ref());
        if *field == "owner" {
            if let Some(owner) = new.as_ref().and_then(Value::as_str) {
                repo::replace_owner_relation(tx, row.id, &row.entity_ref, owner).await?;
            }
        }
    }
    let relations = repo::declared_relations(&mut *tx, row.id).await?;
    let tag = etag(&row.body, &relations);
    repo::replace_search_rows(tx, row.id, &search_rows(&row.body, &relations)).await?;
    repo::update_entity_fields(&mut *tx, row, &tag).await?;
    Ok((Value::Object(before), Value::Object(after)))
}

/// The current value of an editable field, as JSON (`None` when absent).
pub fn field_value(row: &EditableRow, field: &str) -> Option<Value> {
    match field {
        "owner" => row.owner_ref.clone().map(Value::String),
        "lifecycle" => row.lifecycle.clone().map(Value::String),
        "description" => row.description.clone().map(Value::String),
        "links" => Some(row.links.clone()).filter(|l| l.as_array().is_some_and(|a| !a.is_empty())),
        _ => None,
    }
}

/// Writes a field into the row's columns and its Backstage-shaped body, at the same places the
/// importer puts it (`spec.owner`, `spec.lifecycle`, `metadata.description`, `metadata.links`).
fn set_field(row: &mut EditableRow, field: &str, value: Option<&Value>) {
    let (section, name) = match field {
        "owner" => ("spec", "owner"),
        "lifecycle" => ("spec", "lifecycle"),
        "description" => ("metadata", "description"),
        _ => ("metadata", "links"),
    };
    let text = value.and_then(Value::as_str).map(str::to_owned);
    match field {
        "owner" => row.owner_ref = text,
        "lifecycle" => row.lifecycle = text,
        "description" => row.description = text,
        _ => row.links = value.cloned().unwrap_or_else(|| json!([])),
    }
    if let Some(obj) = row.body.get_mut(section).and_then(Value::as_object_mut) {
        match value {
            Some(v) => {
                obj.insert(name.to_owned(), v.clone());
            }
            None => {
                obj.remove(name);
            }
        }
    }
}

/// What the caller may do on an entity page, with its overrides and pending transfer.
pub async fn edit_state(ctx: &ServerCtx, caller: &Caller, key: &str) -> Result<EditState, AppError> {
    caller.require_reader(ctx)?;
    let facts = ctx
        .cache
        .get_or_load(key.to_owned(), load_edit_facts(ctx.pool.clone(), key.to_owned()))
        .await?;
    let Some(facts) = facts else {
        return Err(AppError::NotFound(format!("entity {key}")));
    };
    let editable = EDITABLE_KINDS.contains(&facts.kind.as_str());
    let can_edit = editable
        && caller
            .user
            .as_ref()
            .is_some_and(|u| may_edit(u, facts.owner_ref.as_deref()));
    let transfers_directly = can_edit && caller.user.as_ref().is_some_and(CurrentUser::is_admin);
    let teams = if can_edit {
        let pool = ctx.pool.clone();
        ctx.cache
            .get_or_load("teams".to_owned(), async move {
                Ok::<_, AppError>(repo::teams(&pool).await?)
            })
            .await?
    } else {
        Vec::new()
    };
    Ok(EditState {
        can_edit,
        can_transfer: can_edit && facts.pending_transfer.is_none(),
        transfers_directly,
        overrides: facts.overrides,
        pending_transfer: facts.pending_transfer,
        teams,
    })
}

/// The part of an entity's edit panel that is the same for every caller. It is cached with the
/// catalog reads: only imports, edits and transfers change it, and each empties that cache.
#[derive(Clone, Debug, serde::Serialize)]
struct EditFacts {
    kind: String,
    owner_ref: Option<String>,
    overrides: Vec<OverrideView>,
    pending_transfer: Option<TransferView>,
}

/// The edit facts of `key`; `None` when no such entity exists.
async fn load_edit_facts(pool: sqlx::PgPool, key: String) -> Result<Option<EditFacts>, AppError> {
    let overrides = repo::overrides_of(&pool, std::slice::from_ref(&key)).await?;
    let pending = repo::pending_for_entity(&pool, &key).await?;
    let Some(entity) = crate::catalog::repo::find_by_ref(&pool, &key).await? else {
        return Ok(None);
    };
    let source_file = entity.source.clone();
    Ok(Some(EditFacts {
        kind: entity.summary.kind,
        owner_ref: entity.summary.owner_ref,
        overrides: overrides
            .iter()
            .map(|o| override_view(o, source_file.clone()))
            .collect(),
        pending_transfer: pending.as_ref().map(transfer_view),
    }))
}

fn override_view(o: &OverrideRow, source: Option<String>) -> OverrideView {
    OverrideView {
        field: o.field.clone(),
        value: display(Some(&o.value)),
        source_value: display(o.source_value.as_ref()),
        edited_by: o.edited_by.clone(),
        edited_at: rfc3339(o.edited_at),
        source,
        yaml: yaml_for(&o.field, &o.value),
    }
}

fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(links)) => links
            .iter()
            .filter_map(|l| l.get("url").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The YAML to write into the source file so that it agrees with Bearing's value.
pub fn yaml_for(field: &str, value: &Value) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    match (field, value) {
        (_, Value::Null) => format!("# remove `{field}` from the entity"),
        ("owner" | "lifecycle", Value::String(s)) => format!("spec:\n  {field}: {s}"),
        ("description", Value::String(s)) => format!("metadata:\n  description: {}", quote(s)),
        ("links", Value::Array(links)) => {
            let mut out = String::from("metadata:\n  links:");
            for l in links {
                out.push_str(&format!(
                    "\n    - url: {}",
                    l.get("url").and_then(Value::as_str).unwrap_or_default()
                ));
                if let Some(t) = l.get("title").and_then(Value::as_str) {
                    out.push_str(&format!("\n      title: {}", quote(t)));
                }
            }
            out
        }
        _ => format!("{field}: {value}"),
    }
}

fn transfer_view(t: &TransferRow) -> TransferView {
    TransferView {
        id: t.id,
        entity: t.entity_ref.clone(),
        from: t.from_team.clone(),
        to: t.to_team.clone(),
        reason: t.reason.clone(),
        requested_by: t.requested_by.clone(),
        status: t.status.clone(),
        created_at: rfc3339(t.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_suggestions() {
        assert_eq!(
            yaml_for("owner", &json!("group:default/team-b")),
            "spec:\n  owner: group:default/team-b"
        );
        assert_eq!(
            yaml_for("description", &json!("Says \"hi\"")),
            "metadata:\n  description: \"Says \\\"hi\\\"\""
        );
        assert_eq!(
            yaml_for("links", &json!([{"url": "https://x.example", "title": "Docs"}])),
            "metadata:\n  links:\n    - url: https://x.example\n      title: \"Docs\""
        );
    }
}
