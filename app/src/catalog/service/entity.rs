//! The shapes an entity is shown in, all built here from its stored row: the JSON API's
//! [`Entity`], the entity page's [`EntityDetail`] (made from the `Entity`, so the two cannot
//! disagree) and Backstage's entity (the stored body with `uid`, `etag` and relations added).

use serde_json::Value;

use super::is_safe_url;
use crate::catalog::repo::{EntityRow, SummaryRow};
use crate::catalog::{Entity, EntityDetail, EntitySummary, GroupView, Link, LinkView, RelationView};
use crate::wire::rfc3339;

impl From<SummaryRow> for EntitySummary {
    fn from(r: SummaryRow) -> Self {
        EntitySummary {
            entity_ref: r.entity_ref,
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            title: r.title,
            description: r.description,
            entity_type: r.entity_type,
            lifecycle: r.lifecycle,
            owner: r.owner_ref,
            tags: r.tags,
            orphaned: r.orphaned,
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// The API's entity: `row` with its `relations` as seen from it.
pub(super) fn entity(row: EntityRow, relations: Vec<RelationView>) -> Entity {
    Entity {
        system: row.system_ref,
        domain: row.domain_ref,
        labels: row.labels.0,
        annotations: row.annotations.0,
        links: row
            .links
            .0
            .into_iter()
            .map(|l| Link {
                url: l.url,
                title: l.title,
                icon: l.icon,
                link_type: l.link_type,
            })
            .collect(),
        spec: row.body.0.get("spec").cloned().unwrap_or_default(),
        source: row.source,
        relations,
        summary: row.summary.into(),
    }
}

/// What the entity page shows of `entity`; `group` for Group entities.
pub(super) fn detail(entity: Entity, group: Option<GroupView>) -> EntityDetail {
    let spec = &entity.spec;
    EntityDetail {
        labels: entity.labels.into_iter().collect(),
        annotations: entity.annotations.into_iter().collect(),
        links: entity
            .links
            .into_iter()
            .map(|l| LinkView {
                safe: is_safe_url(&l.url),
                url: l.url,
                title: l.title,
                link_type: l.link_type,
            })
            .collect(),
        spec_json: serde_json::to_string_pretty(spec).unwrap_or_default(),
        profile: spec
            .get("profile")
            .and_then(|p| p.as_object())
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        definition: spec.get("definition").and_then(|d| d.as_str()).map(str::to_owned),
        system: entity.system,
        domain: entity.domain,
        source: entity.source,
        relations: entity.relations,
        group,
        summary: entity.summary,
    }
}

/// Backstage's entity: the stored body (as Backstage writes it) with `metadata.uid`,
/// `metadata.etag` and `relations` added. `relations` are (type, other end) as seen from this
/// entity, in any order and possibly repeated.
pub(super) fn backstage(row: EntityRow, relations: &[(&str, &str)]) -> Value {
    let mut body = row.body.0;
    if let Some(meta) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("uid".into(), row.summary.id.to_string().into());
        meta.insert("etag".into(), row.etag.into());
    }
    let mut rels: Vec<Value> = relations
        .iter()
        .map(|(t, other)| backstage_relation(t, other))
        .collect();
    rels.sort_by_key(|v| v.to_string());
    rels.dedup();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("relations".into(), rels.into());
    }
    body
}

fn backstage_relation(kind: &str, target: &str) -> Value {
    let (k, ns, n) = crate::catalog::split_ref(target).unwrap_or(("", "", target));
    serde_json::json!({ "type": kind, "targetRef": target, "target": { "kind": k, "namespace": ns, "name": n } })
}
