//! Writes an [`ImportSet`] into the catalog in one transaction: all or nothing.
//!
//! Parsing and validation happen in `bearing-catalog` (pure); this module adds the checks
//! that need the database (an entity already owned by another source), decides what is
//! added, updated, unchanged or orphaned, and writes it in two passes (`chunks`), so that only a
//! chunk's bodies and rows are held at once.

use std::collections::HashMap;

use bearing_catalog::import::{import_documents, ImportSet, KnownIds, Limits};
use bearing_catalog::{Entity, EntityRef, Kind, Problem, Relation, RelationType};
use sqlx::PgPool;

use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::{AuditSettings, ServerCtx};
use uuid::Uuid;

use super::ownership::repo::{self as edit_repo, OverrideRow};
use super::{repo, ImportReport};

mod chunks;

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input has problems; nothing was written. Each is `file:line:column: message`.
    #[error("the import was rejected with {} problem(s); nothing was changed", .0.len())]
    Problems(Vec<String>),
    /// The database failed; nothing was written.
    #[error("database error during import")]
    Database(#[from] sqlx::Error),
    /// The importer itself failed (the details are in the server log); nothing was written.
    #[error("the importer failed; nothing was changed")]
    Internal,
}

impl From<Vec<Problem>> for ImportError {
    fn from(problems: Vec<Problem>) -> Self {
        ImportError::Problems(problems.iter().map(ToString::to_string).collect())
    }
}

/// Compass ids already in the catalog, so Compass files resolve against earlier imports.
pub async fn known_ids(pool: &PgPool) -> sqlx::Result<KnownIds> {
    let mut known = KnownIds::default();
    for (key, value, entity_ref) in repo::write::compass_ids(pool).await? {
        let Some(r) = parse_key(&entity_ref) else { continue };
        match key.as_str() {
            "compass.atlassian.com/team-id" => known.compass_teams.insert(value, r),
            _ => known.compass_components.insert(value, r),
        };
    }
    Ok(known)
}

/// Whether the catalog holds no entity at all: a server seeds only an empty catalog.
pub async fn catalog_is_empty(pool: &PgPool) -> sqlx::Result<bool> {
    let counts = repo::count_by_kind(pool).await?;
    Ok(counts.iter().all(|(_, n)| *n == 0))
}

fn parse_key(key: &str) -> Option<EntityRef> {
    EntityRef::parse(key, None, bearing_catalog::DEFAULT_NAMESPACE).ok()
}

/// The Backstage-shaped entity (without relations), as stored in `entities.body`.
pub fn backstage_body(e: &Entity) -> serde_json::Value {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), e.name.clone().into());
    metadata.insert("namespace".into(), e.namespace.clone().into());
    if let Some(t) = &e.title {
        metadata.insert("title".into(), t.clone().into());
    }
    if let Some(d) = &e.description {
        metadata.insert("description".into(), d.clone().into());
    }
    if !e.labels.is_empty() {
        metadata.insert("labels".into(), serde_json::json!(e.labels));
    }
    if !e.annotations.is_empty() {
        metadata.insert("annotations".into(), serde_json::json!(e.annotations));
    }
    if !e.tags.is_empty() {
        metadata.insert("tags".into(), serde_json::json!(e.tags));
    }
    if !e.links.is_empty() {
        metadata.insert("links".into(), serde_json::json!(e.links));
    }
    serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": e.kind.as_str(),
        "metadata": metadata,
        "spec": e.spec,
    })
}

/// Applies an import. `scanned_dirs` are directories read completely (canonical paths):
/// entities from files under them that no longer exist are orphaned too. With `dry_run`,
/// everything is computed and checked inside the transaction, which is then rolled back.
pub async fn apply(
    pool: &PgPool,
    set: ImportSet,
    scanned_dirs: &[String],
    dry_run: bool,
    audit: &AuditSettings,
    caller: &Caller,
) -> Result<ImportReport, ImportError> {
    let ImportSet {
        entities,
        warnings,
        mut sources,
    } = set;
    let mut tx = pool.begin().await?;
    repo::write::lock_for_import(&mut *tx).await?;

    let mut source_ids = HashMap::new();
    for location in &sources {
        source_ids.insert(location.clone(), repo::write::upsert_source(&mut *tx, location).await?);
    }
    let keys: Vec<String> = entities.iter().map(|e| e.entity_ref().key()).collect();
    let existing: HashMap<String, repo::write::ExistingRow> = repo::write::existing_by_refs(&mut *tx, &keys)
        .await?
        .into_iter()
        .map(|r| (r.entity_ref.clone(), r))
        .collect();

    // An entity owned by a source outside this import may not be taken over silently. A source
    // under a scanned directory that was not read is gone (deleted or renamed): its entities
    // may move to the file that now holds them.
    let gone = |s: &str| {
        scanned_dirs
            .iter()
            .any(|d| s.strip_prefix(d.as_str()).is_some_and(|rest| rest.starts_with('/')))
    };
    let mut problems = Vec::new();
    for (e, key) in entities.iter().zip(&keys) {
        if let Some(old) = existing.get(key) {
            let other = old
                .source
                .as_deref()
                .filter(|s| !source_ids.contains_key(*s) && !gone(s));
            if let (Some(other), false) = (other, old.orphaned) {
                problems.push(Problem {
                    position: e.position.clone(),
                    message: format!(
                        "duplicate entity {key}: already imported from {other}; remove it from one of the two sources"
                    ),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }

    let mut report = ImportReport {
        dry_run,
        ..Default::default()
    };
    report.warnings = warnings.iter().map(ToString::to_string).collect();
    drop(warnings);

    // Edits made in Bearing win over the files until a file agrees with them.
    let mut overrides: HashMap<String, Vec<OverrideRow>> = HashMap::new();
    for o in edit_repo::overrides_of(&mut *tx, &keys).await? {
        overrides.entry(o.entity_ref.clone()).or_default().push(o);
    }

    let mut patched: HashMap<usize, Entity> = HashMap::new();
    for (i, (e, key)) in entities.iter().zip(&keys).enumerate() {
        let Some(list) = overrides.get(key) else { continue };
        let mut copy = e.clone();
        for o in list {
            let from_source = source_field_value(&copy, &o.field);
            let edited = Some(o.value.clone()).filter(|v| !v.is_null());
            if from_source == edited {
                edit_repo::delete_override(&mut *tx, key, &o.field).await?;
                report.overrides_cleared.push(format!("{key} {}", o.field));
            } else {
                apply_override(&mut copy, &o.field, &o.value);
                edit_repo::set_override_source(&mut *tx, key, &o.field, from_source.as_ref()).await?;
                report.override_conflicts.push(format!(
                    "{key}: {} was edited in Bearing by {} ({}), the source {} says {}; Bearing's edit is kept",
                    o.field,
                    o.edited_by,
                    compact(&o.value),
                    e.source,
                    from_source.as_ref().map(compact).unwrap_or_else(|| "nothing".into()),
                ));
            }
        }
        patched.insert(i, copy);
    }

    // First pass: what is written. Nothing of it is kept but ids and etags.
    let plan = chunks::plan(&entities, &patched, &keys, &existing, &source_ids, &mut report);
    let written_refs: Vec<String> = (plan.iter().zip(&keys))
        .filter(|(p, _)| p.is_some())
        .map(|(_, key)| key.clone())
        .collect();
    let changed_ids: Vec<Uuid> = plan.iter().flatten().map(|p| p.id).collect();
    // What consumers declared around the entities written, before writing them: a provider
    // that gains or loses one has a traffic policy that no longer follows the catalog.
    let watch = crate::policy::follow::Watch::before(&mut tx, written_refs).await?;
    // When the import rewrites at least half of the catalog, its search rows go into the bare
    // table and are indexed once at the end: row by row into both indexes, 3.7 million rows took
    // 34.5 s of a 100,000-entity import. The indexes are gone only inside this transaction.
    let after = repo::write::count_entities(&mut *tx).await? + report.added.len() as i64;
    let rebuild_indexes = !changed_ids.is_empty() && changed_ids.len() as i64 * 2 >= after;
    if rebuild_indexes {
        repo::write::drop_search_indexes(&mut *tx).await?;
    }
    repo::write::clear_derived(&mut *tx, &changed_ids).await?;
    drop(changed_ids);
    // Second pass: built and written a chunk at a time.
    chunks::write(&mut tx, entities, patched, &keys, plan, &source_ids).await?;
    if rebuild_indexes {
        repo::write::create_search_indexes(&mut *tx).await?;
    }

    let ids: Vec<i64> = source_ids.values().copied().collect();
    report.orphaned = repo::write::orphan_missing(&mut *tx, &ids, &keys).await?;
    if !scanned_dirs.is_empty() {
        report
            .orphaned
            .extend(repo::write::orphan_unread_sources(&mut *tx, scanned_dirs, &ids).await?);
    }
    report.orphaned.sort();
    report.consumers_changed = watch.changed_providers(&mut tx).await?;
    // A transfer asked for by the team the import just took an entity from is void.
    super::ownership::service::cancel_transfers_after_import(&mut tx, audit, caller, &keys)
        .await
        .map_err(|_| {
            ImportError::Problems(vec![
                "could not cancel the transfers of moved entities; nothing was imported".into(),
            ])
        })?;

    if dry_run {
        tx.rollback().await?;
    } else {
        let changed = !(report.added.is_empty() && report.updated.is_empty() && report.orphaned.is_empty());
        if changed || !report.overrides_cleared.is_empty() || !report.override_conflicts.is_empty() {
            sources.sort();
            let event = Event {
                action: "catalog.import".into(),
                target: Some(import_target(&sources)),
                after: Some(serde_json::json!({
                    "sources": sources,
                    "added": report.added, "updated": report.updated, "orphaned": report.orphaned,
                    "unchanged": report.unchanged.len(),
                    "overrides_cleared": report.overrides_cleared,
                    "override_conflicts": report.override_conflicts,
                })),
                ..Event::default()
            };
            record(&mut tx, audit, caller, event).await.map_err(|_| {
                ImportError::Problems(vec!["could not write the audit log; nothing was imported".into()])
            })?;
        }
        let added_components: Vec<String> = report
            .added
            .iter()
            .filter(|r| r.starts_with("component:"))
            .cloned()
            .collect();
        let cause = import_cause(&sources);
        crate::policy::follow::mark(&mut tx, &report.consumers_changed, &added_components, &cause, caller)
            .await
            .map_err(|_| {
                ImportError::Problems(vec![
                    "could not mark the traffic policies this import changes; nothing was imported".into(),
                ])
            })?;
        // Delivered on commit to every server on this database, which then drops its cache.
        repo::write::notify_changed(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(report)
}

/// `import of <sources>`, naming at most three of them: what an out-of-date policy says changed it.
fn import_cause(sources: &[String]) -> String {
    let mut sorted: Vec<&str> = sources.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let shown: Vec<&str> = sorted.iter().take(3).copied().collect();
    match sorted.len() {
        0 => "an import".to_owned(),
        n if n <= 3 => format!("import of {}", shown.join(", ")),
        n => format!("import of {} and {} more", shown.join(", "), n - 3),
    }
}

/// An admin's permission to import through the API, checked before anything they send is read:
/// [`Importer::for_caller`] is the only way to get one.
pub struct Importer<'a> {
    ctx: &'a ServerCtx,
    caller: &'a Caller,
}

impl<'a> Importer<'a> {
    /// The caller's importer: admins only (`Unauthenticated` or `Forbidden` otherwise).
    pub fn for_caller(ctx: &'a ServerCtx, caller: &'a Caller) -> Result<Self, AppError> {
        caller.require_admin()?;
        Ok(Importer { ctx, caller })
    }

    /// Imports `text` (one or more YAML documents, named `source` in problems and orphan
    /// detection), all or nothing. It is parsed on a blocking thread within `limits`: a hostile
    /// document costs one thread for a bounded time and memory, never an async worker. This
    /// server's read cache is emptied at once; other servers hear the import's `NOTIFY`.
    pub async fn import_text(
        &self,
        source: &str,
        text: String,
        limits: &Limits,
        dry_run: bool,
    ) -> Result<ImportReport, ImportError> {
        let known = known_ids(&self.ctx.pool).await?;
        let (name, limits) = (source.to_owned(), limits.clone());
        let set = tokio::task::spawn_blocking(move || import_documents(&name, &text, &known, &limits))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the importer failed");
                ImportError::Internal
            })??;
        let report = apply(&self.ctx.pool, set, &[], dry_run, &self.ctx.audit, self.caller).await?;
        if !report.dry_run {
            self.ctx.cache.invalidate();
        }
        Ok(report)
    }
}

/// What the parsed source says for an editable field, as stored in overrides.
fn source_field_value(e: &Entity, field: &str) -> Option<serde_json::Value> {
    match field {
        "owner" => e.owner.as_ref().map(|o| o.key().into()),
        "lifecycle" => e.lifecycle.clone().map(Into::into),
        "description" => e.description.clone().map(Into::into),
        "links" => (!e.links.is_empty()).then(|| serde_json::json!(e.links)),
        _ => None,
    }
}

/// Puts Bearing's edited value into a parsed entity, where the importer would have put the
/// source's (the typed field, `spec`, and for the owner the `ownedBy` relation).
fn apply_override(e: &mut Entity, field: &str, value: &serde_json::Value) {
    let text = value.as_str().map(str::to_owned);
    match field {
        "owner" => {
            let owner = text
                .as_deref()
                .and_then(|t| EntityRef::parse(t, Some(Kind::Group), &e.namespace).ok());
            let me = e.entity_ref();
            e.relations
                .retain(|r| !(r.kind == RelationType::OwnedBy && r.source == me));
            if let Some(o) = &owner {
                e.relations.push(Relation {
                    source: me,
                    kind: RelationType::OwnedBy,
                    target: o.clone(),
                });
            }
            set_spec(e, "owner", value);
            e.owner = owner;
        }
        "lifecycle" => {
            set_spec(e, "lifecycle", value);
            e.lifecycle = text;
        }
        "description" => e.description = text,
        "links" => e.links = serde_json::from_value(value.clone()).unwrap_or_default(),
        _ => {}
    }
}

fn set_spec(e: &mut Entity, name: &str, value: &serde_json::Value) {
    if let Some(spec) = e.spec.as_object_mut() {
        if value.is_null() {
            spec.remove(name);
        } else {
            spec.insert(name.to_owned(), value.clone());
        }
    }
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Longest audit target an import writes: the column is indexed, and PostgreSQL refuses a
/// btree row over 2,704 bytes (a 100,000-entity catalog in 1,007 files made a 60 kB target and
/// the import failed).
const MAX_TARGET_BYTES: usize = 400;

/// The audit entry's target for an import: its sources, as many as fit in
/// [`MAX_TARGET_BYTES`], then how many more (the entry's `after.sources` lists them all).
fn import_target(sources: &[String]) -> String {
    let all = sources.join(", ");
    if all.len() <= MAX_TARGET_BYTES {
        return all;
    }
    let room = MAX_TARGET_BYTES - 32;
    let mut shown = String::new();
    let mut count = 0;
    for source in sources {
        if shown.len() + source.len() + 2 > room {
            break;
        }
        if !shown.is_empty() {
            shown.push_str(", ");
        }
        shown.push_str(source);
        count += 1;
    }
    if count == 0 {
        // One source longer than the room: its start, cut at a character boundary.
        let first = sources.first().map(String::as_str).unwrap_or_default();
        let mut end = room.min(first.len());
        while !first.is_char_boundary(end) {
            end -= 1;
        }
        shown = format!("{}…", &first[..end]);
        count = 1;
    }
    format!("{shown} (+{} more)", sources.len() - count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_target_stays_short_and_says_how_many_it_left_out() {
        let few = vec!["a.yaml".to_owned(), "b.yaml".to_owned()];
        assert_eq!(import_target(&few), "a.yaml, b.yaml");

        let many: Vec<String> = (0..1007)
            .map(|i| format!("/data/catalog/components/team-{i:03}.yaml"))
            .collect();
        let target = import_target(&many);
        assert!(target.len() <= MAX_TARGET_BYTES, "{} bytes", target.len());
        assert!(target.starts_with("/data/catalog/components/team-000.yaml, "));
        let shown = target.matches(".yaml").count();
        assert!(target.ends_with(&format!("(+{} more)", 1007 - shown)), "{target}");

        let long = vec![format!("/{}", "é".repeat(400)), "b.yaml".to_owned()];
        let target = import_target(&long);
        assert!(
            target.len() <= MAX_TARGET_BYTES && target.ends_with("… (+1 more)"),
            "{target}"
        );
    }
}
