//! Atlassian Compass `compass.yml` to [`Entity`] (kind Component).
//!
//! Compass refers to teams and components by opaque ids (`ari:cloud:...`), not names, so its
//! owner and dependencies can only be resolved once the whole import is read: parsing records
//! the raw ids ([`CompassRefs`]) and [`resolve`] runs after every file, looking first in this
//! import, then in the ids the catalog already knows. What stays unresolved gets a stable
//! stand-in reference in the `compass` namespace, so a later import can fill it in.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::fields::Ctx;
use super::yaml::Node;
use super::{push_relation, KnownIds, Parsed};
use crate::model::{Entity, EntityRef, Kind, Relation, RelationType, DEFAULT_NAMESPACE};

/// Annotation holding a Compass component id.
pub const ID_ANNOTATION: &str = "compass.atlassian.com/id";
/// Annotation on a Group holding the Compass (Atlassian) team id it stands for.
pub const TEAM_ID_ANNOTATION: &str = "compass.atlassian.com/team-id";
/// Annotation keeping the raw `ownerId` of a Compass component.
pub const OWNER_ID_ANNOTATION: &str = "compass.atlassian.com/owner-id";
/// Annotation keeping `fields.tier` of a Compass component.
pub const TIER_ANNOTATION: &str = "compass.atlassian.com/tier";
/// Namespace of stand-in references to Compass teams and components not (yet) in the catalog.
pub const UNRESOLVED_NAMESPACE: &str = "compass";

const KNOWN_FIELDS: [&str; 11] = [
    "name",
    "id",
    "description",
    "configVersion",
    "typeId",
    "ownerId",
    "fields",
    "links",
    "relationships",
    "labels",
    "customFields",
];

/// Compass ids of one component, resolved to references after the whole import is read.
#[derive(Clone, Debug, Default)]
pub(crate) struct CompassRefs {
    /// Raw `ownerId` and its stand-in reference.
    owner: Option<(String, EntityRef)>,
    /// Raw `relationships.DEPENDS_ON` ids and their stand-in references.
    depends_on: Vec<(String, EntityRef)>,
}

/// True for `compass.yml` / `compass.yaml` (any directory, any case).
pub(crate) fn is_compass_file(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_ascii_lowercase();
    base == "compass.yml" || base == "compass.yaml"
}

/// True for a document shaped like a Compass component: `configVersion` or `typeId` and no `apiVersion`.
pub(crate) fn looks_like_compass(root: &Node) -> bool {
    root.get("apiVersion").is_none() && (root.get("configVersion").is_some() || root.get("typeId").is_some())
}

/// Converts any text to a valid entity name: lower case, runs of other characters become
/// one dash, trimmed, at most 63 characters. Empty when there is nothing to keep.
pub fn to_entity_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(63);
    out.trim_end_matches('-').to_owned()
}

/// The stand-in name for a Compass id: its last non-empty `/` segment, made a valid name.
fn id_to_name(id: &str) -> String {
    to_entity_name(id.rsplit('/').find(|s| !s.trim().is_empty()).unwrap_or(id))
}

/// Reads one Compass document. `None` when it cannot become an entity (errors recorded).
pub(crate) fn parse_component(ctx: &mut Ctx<'_>, root: &Node, source: &str) -> Option<Parsed> {
    for (key, _) in root.entries().unwrap_or_default() {
        let k = key.key_text();
        if !KNOWN_FIELDS.contains(&k) {
            ctx.warn(key, format!("unknown Compass field `{k}`: kept in spec but not used"));
        }
    }
    let raw_name = match root.get("name") {
        Some(n) => ctx.string(n, "name").map(|s| (s, n)),
        None => {
            ctx.error(root, "Compass component has no `name`; add `name: My Service`");
            None
        }
    };
    let name = raw_name.and_then(|(raw, node)| {
        let name = to_entity_name(&raw);
        if name.is_empty() {
            ctx.error(
                node,
                format!("Compass name `{raw}` has no letters or digits to make an entity name from"),
            );
            return None;
        }
        Some((raw, name))
    });

    let mut annotations = BTreeMap::new();
    if let Some(id) = ctx.field(root, "id", "id") {
        annotations.insert(ID_ANNOTATION.to_owned(), id);
    }
    let fields = root.get("fields").filter(|f| !f.is_null());
    if let Some(f) = fields.filter(|f| f.entries().is_none()) {
        ctx.error(f, format!("`fields` must be a mapping, found {}", f.shape()));
    }
    let fields = fields.filter(|f| f.entries().is_some());
    let tier = fields.and_then(|f| ctx.field(f, "tier", "fields.tier"));
    let lifecycle = fields
        .and_then(|f| ctx.field(f, "lifecycle", "fields.lifecycle"))
        .map(|l| l.to_lowercase());
    if let Some(tier) = &tier {
        annotations.insert(TIER_ANNOTATION.to_owned(), tier.clone());
    }
    let entity_type = ctx.field(root, "typeId", "typeId").map(|t| t.to_lowercase());

    let mut refs = CompassRefs::default();
    if let Some(node) = root.get("ownerId") {
        if let Some(id) = ctx.string(node, "ownerId") {
            annotations.insert(OWNER_ID_ANNOTATION.to_owned(), id.clone());
            match stand_in(Kind::Group, &id) {
                Some(r) => refs.owner = Some((id, r)),
                None => ctx.error(
                    node,
                    format!("ownerId `{id}` has no letters or digits to name the team by"),
                ),
            }
        }
    }
    read_relationships(ctx, root, &mut refs);

    let links = root
        .get("links")
        .map(|n| ctx.links(n, "links", [Some("url"), Some("name"), None, Some("type")]))
        .unwrap_or_default();
    let mut spec = match root.to_json() {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    // The raw links stay in spec, as every field does, but only those kept above.
    if let Some(Value::Array(raw)) = spec.get_mut("links") {
        let kept: HashSet<&str> = links.iter().map(|l| l.url.as_str()).collect();
        raw.retain(|l| l.get("url").and_then(Value::as_str).is_some_and(|u| kept.contains(u)));
    }
    // Derived values in Backstage's places, so Backstage-shaped reads find them.
    for (key, value) in [("type", &entity_type), ("lifecycle", &lifecycle), ("tier", &tier)] {
        if let Some(v) = value {
            spec.entry(key).or_insert_with(|| Value::String(v.clone()));
        }
    }
    let (title, name) = name?;
    let entity = Entity {
        kind: Kind::Component,
        namespace: DEFAULT_NAMESPACE.to_owned(),
        name,
        title: Some(title),
        description: ctx.field(root, "description", "description"),
        entity_type,
        lifecycle,
        owner: None,
        system: None,
        domain: None,
        tags: root
            .get("labels")
            .map(|n| ctx.string_list(n, "labels"))
            .unwrap_or_default()
            .into_iter()
            .map(|(t, _)| t)
            .collect(),
        labels: BTreeMap::new(),
        annotations,
        links,
        spec: Value::Object(spec),
        relations: Vec::new(),
        source: source.to_owned(),
        position: ctx.pos(root),
    };
    Some(Parsed {
        entity,
        location: None,
        compass: Some(refs),
    })
}

fn stand_in(kind: Kind, id: &str) -> Option<EntityRef> {
    let name = id_to_name(id);
    (!name.is_empty()).then(|| EntityRef {
        kind,
        namespace: UNRESOLVED_NAMESPACE.to_owned(),
        name,
    })
}

fn read_relationships(ctx: &mut Ctx<'_>, root: &Node, refs: &mut CompassRefs) {
    let Some(rels) = root.get("relationships").filter(|n| !n.is_null()) else {
        return;
    };
    let Some(entries) = rels.entries() else {
        ctx.error(
            rels,
            format!(
                "`relationships` must be a mapping like `DEPENDS_ON: [...]`, found {}",
                rels.shape()
            ),
        );
        return;
    };
    for (key, value) in entries {
        if key.key_text() != "DEPENDS_ON" {
            ctx.warn(
                key,
                format!(
                    "Compass relationship type `{}` is not supported (only DEPENDS_ON); it is kept in spec",
                    key.key_text()
                ),
            );
            continue;
        }
        for (id, at) in ctx.string_list(value, "relationships.DEPENDS_ON") {
            match stand_in(Kind::Component, &id) {
                Some(r) => refs.depends_on.push((id, r)),
                None => ctx.error(
                    at,
                    format!("DEPENDS_ON id `{id}` has no letters or digits to name the component by"),
                ),
            }
        }
    }
}

/// Resolves every Compass component's owner and dependencies: teams by the Group annotation
/// [`TEAM_ID_ANNOTATION`], components by [`ID_ANNOTATION`], this import first, then `known`.
pub(crate) fn resolve(parsed: &mut [Parsed], known: &KnownIds) {
    let mut teams: HashMap<String, EntityRef> = HashMap::new();
    let mut components: HashMap<String, EntityRef> = HashMap::new();
    for p in parsed.iter() {
        let e = &p.entity;
        if let (Kind::Group, Some(id)) = (e.kind, e.annotations.get(TEAM_ID_ANNOTATION)) {
            teams.entry(id.clone()).or_insert_with(|| e.entity_ref());
        }
        if let Some(id) = e.annotations.get(ID_ANNOTATION) {
            components.entry(id.clone()).or_insert_with(|| e.entity_ref());
        }
    }
    for p in parsed.iter_mut() {
        let Some(refs) = p.compass.take() else { continue };
        let me = p.entity.entity_ref();
        if let Some((id, fallback)) = refs.owner {
            let owner = teams
                .get(&id)
                .or_else(|| known.compass_teams.get(&id))
                .cloned()
                .unwrap_or(fallback);
            if let Value::Object(spec) = &mut p.entity.spec {
                spec.entry("owner").or_insert_with(|| Value::String(owner.to_string()));
            }
            push_relation(
                &mut p.entity.relations,
                Relation {
                    source: me.clone(),
                    kind: RelationType::OwnedBy,
                    target: owner.clone(),
                },
            );
            p.entity.owner = Some(owner);
        }
        for (id, fallback) in refs.depends_on {
            let target = components
                .get(&id)
                .or_else(|| known.compass_components.get(&id))
                .cloned()
                .unwrap_or(fallback);
            push_relation(
                &mut p.entity.relations,
                Relation {
                    source: me.clone(),
                    kind: RelationType::DependsOn,
                    target,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_valid_entity_names() {
        assert_eq!(to_entity_name("My Cool  Service!"), "my-cool-service");
        assert_eq!(to_entity_name("--Payments__API--"), "payments-api");
        assert_eq!(to_entity_name("!!!"), "");
        let long = to_entity_name(&"ab-".repeat(40));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
        assert!(crate::model::validate_name(&long).is_ok());
        assert_eq!(id_to_name("ari:cloud:teams::team/0A1b-2c3d/"), "0a1b-2c3d");
    }

    #[test]
    fn recognises_compass_files() {
        assert!(is_compass_file("repo/Compass.YML"));
        assert!(is_compass_file("compass.yaml"));
        assert!(!is_compass_file("my-compass.yml"));
    }
}
