//! Backstage entities (`apiVersion: backstage.io/v1alpha1`) to [`Entity`].
//!
//! Relation-bearing spec fields become [`Relation`]s in their stored direction, following
//! Backstage's `BuiltinKindsEntityProcessor`: reference defaults (kind per field, the entity's
//! own namespace) match Backstage, so the same YAML means the same graph in both tools.
//! Unknown spec fields are kept and only warned about: real catalogs carry extra fields, and
//! losing them (or refusing the file) would be worse than a note.

use std::collections::BTreeMap;

use super::fields::Ctx;
use super::yaml::Node;
use super::{push_relation, LocationSpec, Parsed};
use crate::model::{
    validate_name, validate_namespace, Entity, EntityRef, Kind, Relation, RelationType, DEFAULT_NAMESPACE,
};

/// The Backstage entity envelope versions Bearing reads.
pub(crate) const API_VERSIONS: [&str; 2] = ["backstage.io/v1alpha1", "backstage.io/v1beta1"];

/// Which way a relation field points: from this entity to the value, or from the value to it.
#[derive(Clone, Copy)]
enum Dir {
    /// `self --type--> value` (e.g. `dependsOn`).
    Out(RelationType),
    /// `value --type--> self` (e.g. `dependencyOf`, Group `children`).
    In(RelationType),
}

/// A relation-bearing spec field: name, whether it holds a list, the default kind of its refs.
struct RelationField {
    name: &'static str,
    many: bool,
    default_kind: Kind,
    dir: Dir,
}

const fn rel(name: &'static str, many: bool, default_kind: Kind, dir: Dir) -> RelationField {
    RelationField {
        name,
        many,
        default_kind,
        dir,
    }
}

const RELATION_FIELDS: [RelationField; 13] = [
    rel("owner", false, Kind::Group, Dir::Out(RelationType::OwnedBy)),
    rel("system", false, Kind::System, Dir::Out(RelationType::PartOf)),
    rel("domain", false, Kind::Domain, Dir::Out(RelationType::PartOf)),
    rel("subdomainOf", false, Kind::Domain, Dir::Out(RelationType::PartOf)),
    rel("subcomponentOf", false, Kind::Component, Dir::Out(RelationType::PartOf)),
    rel("providesApis", true, Kind::Api, Dir::Out(RelationType::ProvidesApi)),
    rel("consumesApis", true, Kind::Api, Dir::Out(RelationType::ConsumesApi)),
    // Backstage requires a kind in dependsOn/dependencyOf; Bearing defaults to Component.
    rel("dependsOn", true, Kind::Component, Dir::Out(RelationType::DependsOn)),
    rel("dependencyOf", true, Kind::Component, Dir::In(RelationType::DependsOn)),
    rel("parent", false, Kind::Group, Dir::Out(RelationType::ChildOf)),
    rel("children", true, Kind::Group, Dir::In(RelationType::ChildOf)),
    rel("members", true, Kind::User, Dir::In(RelationType::MemberOf)),
    rel("memberOf", true, Kind::Group, Dir::Out(RelationType::MemberOf)),
];

/// The spec fields Backstage documents for each kind.
fn known_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Component => &[
            "type",
            "lifecycle",
            "owner",
            "system",
            "subcomponentOf",
            "providesApis",
            "consumesApis",
            "dependsOn",
            "dependencyOf",
        ],
        Kind::Api => &["type", "lifecycle", "owner", "system", "definition"],
        Kind::Resource => &["type", "owner", "system", "dependsOn", "dependencyOf"],
        Kind::System => &["type", "owner", "domain"],
        Kind::Domain => &["type", "owner", "subdomainOf"],
        Kind::Group => &["type", "profile", "parent", "children", "members"],
        Kind::User => &["profile", "memberOf"],
        Kind::Location => &["type", "target", "targets", "presence"],
    }
}

const KNOWN_METADATA: [&str; 8] = [
    "name",
    "namespace",
    "title",
    "description",
    "labels",
    "annotations",
    "tags",
    "links",
];
/// Metadata the catalog itself sets; accepted silently since exported entities carry them.
const SERVER_METADATA: [&str; 3] = ["uid", "etag", "generation"];

/// Annotations whose value Backstage's pages render as a link ("View source", "Edit"): held to
/// the same schemes as `metadata.links`, since the Backstage-compatible API hands them out.
const URL_ANNOTATIONS: [&str; 2] = ["backstage.io/view-url", "backstage.io/edit-url"];
/// Annotation holding `url:<URL>` (or `file:<path>`, not a link) for the entity's source.
const SOURCE_LOCATION: &str = "backstage.io/source-location";

/// Reads one Backstage document. `None` when it cannot become an entity (errors recorded).
pub(crate) fn parse_entity(ctx: &mut Ctx<'_>, root: &Node, source: &str) -> Option<Parsed> {
    let version_node = root.get("apiVersion").unwrap_or(root);
    match ctx.string(version_node, "apiVersion") {
        Some(v) if API_VERSIONS.contains(&v.as_str()) => {}
        Some(v) => {
            ctx.error(version_node, format!("unsupported apiVersion `{v}`; Bearing reads Backstage entities with `apiVersion: backstage.io/v1alpha1` (or v1beta1)"));
            return None;
        }
        None => {
            if version_node.is_null() {
                ctx.error(
                    version_node,
                    "`apiVersion` is empty; use `apiVersion: backstage.io/v1alpha1`",
                );
            }
            return None;
        }
    }
    let Some(kind_node) = root.get("kind").filter(|k| !k.is_null()) else {
        ctx.error(root, "missing `kind`; add e.g. `kind: Component`");
        return None;
    };
    let kind = match ctx.string(kind_node, "kind")?.parse::<Kind>() {
        Ok(kind) => kind,
        Err(e) => {
            ctx.error(kind_node, e.to_string());
            return None;
        }
    };
    let kind_pos = root
        .entries()
        .and_then(|e| e.iter().find(|(k, _)| k.key_text() == "kind"))
        .map(|(k, _)| k);
    let position = ctx.pos(kind_pos.unwrap_or(root));
    check_top_level(ctx, root);

    let metadata = root.get("metadata").filter(|m| !m.is_null());
    let metadata = match metadata {
        Some(m) if m.entries().is_some() => Some(m),
        Some(m) => {
            ctx.error(m, format!("`metadata` must be a mapping, found {}", m.shape()));
            None
        }
        None => {
            ctx.error(root, "missing `metadata.name`; add `metadata:` with `name: my-entity`");
            None
        }
    };
    let (name, namespace) = metadata.map(|m| read_identity(ctx, m)).unwrap_or((None, None));
    let spec = read_spec(ctx, root);
    let self_ref = match (&name, &namespace) {
        (Some(name), Some(namespace)) => Some(EntityRef {
            kind,
            namespace: namespace.clone(),
            name: name.clone(),
        }),
        _ => None,
    };
    let default_ns = namespace.clone().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());

    let mut entity = Entity {
        kind,
        namespace: default_ns.clone(),
        name: name.clone().unwrap_or_default(),
        title: None,
        description: None,
        entity_type: None,
        lifecycle: None,
        owner: None,
        system: None,
        domain: None,
        tags: Vec::new(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        links: Vec::new(),
        spec: spec
            .map(Node::to_json)
            .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
        relations: Vec::new(),
        source: source.to_owned(),
        position,
    };
    if let Some(m) = metadata {
        read_metadata(ctx, m, &mut entity);
    }
    let mut location = None;
    if let Some(spec) = spec {
        check_spec_fields(ctx, spec, kind);
        let known = known_fields(kind);
        if known.contains(&"type") {
            entity.entity_type = ctx.field(spec, "type", "spec.type");
        }
        if known.contains(&"lifecycle") {
            entity.lifecycle = ctx.field(spec, "lifecycle", "spec.lifecycle");
        }
        read_relations(ctx, spec, kind, &default_ns, self_ref.as_ref(), &mut entity);
        if kind == Kind::Location {
            location = Some(read_location(ctx, spec, &entity));
        }
    } else if kind == Kind::Location {
        location = Some(LocationSpec {
            name: entity.name.clone(),
            position: entity.position.clone(),
            location_type: None,
            targets: Vec::new(),
            optional: false,
        });
    }
    self_ref?;
    Some(Parsed {
        entity,
        location,
        compass: None,
    })
}

fn check_top_level(ctx: &mut Ctx<'_>, root: &Node) {
    for (key, _) in root.entries().unwrap_or_default() {
        match key.key_text() {
            "apiVersion" | "kind" | "metadata" | "spec" => {}
            k @ ("relations" | "status") => ctx.warn(
                key,
                format!("`{k}` is computed by the catalog; the written value is ignored"),
            ),
            k => ctx.warn(
                key,
                format!("unknown top-level field `{k}` is ignored; entity fields go under `metadata` or `spec`"),
            ),
        }
    }
}

/// `metadata.name` and `metadata.namespace`, validated; `None` where invalid (error recorded).
fn read_identity(ctx: &mut Ctx<'_>, metadata: &Node) -> (Option<String>, Option<String>) {
    let name = match metadata.get("name") {
        None => {
            ctx.error(metadata, "missing `metadata.name`; add `name: my-entity`");
            None
        }
        Some(n) => match ctx.string(n, "metadata.name") {
            None if n.is_null() => {
                ctx.error(n, "`metadata.name` is empty; give the entity a name");
                None
            }
            None => None,
            Some(name) => match validate_name(&name) {
                Ok(()) => Some(name),
                Err(e) => {
                    ctx.error(n, format!("metadata.name: {e}"));
                    None
                }
            },
        },
    };
    let namespace = match metadata.get("namespace").filter(|n| !n.is_null()) {
        None => Some(DEFAULT_NAMESPACE.to_owned()),
        Some(n) => ctx
            .string(n, "metadata.namespace")
            .and_then(|ns| match validate_namespace(&ns) {
                Ok(()) => Some(ns),
                Err(e) => {
                    ctx.error(n, format!("metadata.namespace: {e}"));
                    None
                }
            }),
    };
    (name, namespace)
}

fn read_metadata(ctx: &mut Ctx<'_>, m: &Node, entity: &mut Entity) {
    entity.title = ctx.field(m, "title", "metadata.title");
    entity.description = ctx.field(m, "description", "metadata.description");
    if let Some(n) = m.get("labels") {
        entity.labels = ctx.string_map(n, "metadata.labels");
    }
    if let Some(n) = m.get("annotations") {
        entity.annotations = ctx.string_map(n, "metadata.annotations");
        drop_unsafe_url_annotations(ctx, n, &mut entity.annotations);
    }
    if let Some(n) = m.get("tags") {
        entity.tags = ctx
            .string_list(n, "metadata.tags")
            .into_iter()
            .map(|(t, _)| t)
            .collect();
    }
    if let Some(n) = m.get("links") {
        entity.links = ctx.links(
            n,
            "metadata.links",
            [Some("url"), Some("title"), Some("icon"), Some("type")],
        );
    }
    for (key, _) in m.entries().unwrap_or_default() {
        let k = key.key_text();
        if !KNOWN_METADATA.contains(&k) && !SERVER_METADATA.contains(&k) {
            ctx.warn(key, format!("unknown field `metadata.{k}` is ignored; custom data belongs in `metadata.annotations` or `metadata.labels`"));
        }
    }
}

/// Drops URL annotations ([`URL_ANNOTATIONS`], a `url:` [`SOURCE_LOCATION`]) whose URL is not
/// http, https or mailto, warning at the value.
fn drop_unsafe_url_annotations(ctx: &mut Ctx<'_>, node: &Node, annotations: &mut BTreeMap<String, String>) {
    for key in URL_ANNOTATIONS.into_iter().chain([SOURCE_LOCATION]) {
        let Some(value) = annotations.get(key) else { continue };
        let url = match (key, value.get(..4)) {
            (SOURCE_LOCATION, Some(p)) if p.eq_ignore_ascii_case("url:") => &value[4..],
            (SOURCE_LOCATION, _) => continue,
            _ => value.as_str(),
        };
        let at = node.get(key).unwrap_or(node);
        if !ctx.keep_url(at, url, &format!("metadata.annotations.{key}")) {
            annotations.remove(key);
        }
    }
}

fn read_spec<'n>(ctx: &mut Ctx<'_>, root: &'n Node) -> Option<&'n Node> {
    match root.get("spec") {
        Some(s) if s.entries().is_some() => Some(s),
        Some(s) if !s.is_null() => {
            ctx.error(s, format!("`spec` must be a mapping, found {}", s.shape()));
            None
        }
        _ => None,
    }
}

fn check_spec_fields(ctx: &mut Ctx<'_>, spec: &Node, kind: Kind) {
    let known = known_fields(kind);
    for (key, _) in spec.entries().unwrap_or_default() {
        let k = key.key_text();
        if known.contains(&k) {
            continue;
        }
        let hint = if let Some(field) = known.iter().find(|f| f.eq_ignore_ascii_case(k)) {
            format!("; did you mean `{field}`?")
        } else if let Some(how) = relation_hint(k) {
            format!("; `{k}` is a relation name, not a spec field: {how}")
        } else {
            String::new()
        };
        ctx.warn(
            key,
            format!("unknown field `spec.{k}` for kind {kind}: kept in spec but not used{hint}"),
        );
    }
}

/// How to declare a relation whose name was written as a spec field (`apiConsumedBy: [...]`).
fn relation_hint(field: &str) -> Option<&'static str> {
    Some(match field {
        "ownedBy" => "use `owner`",
        "ownerOf" => "set `owner` on the owned entities instead",
        "partOf" => "use `system`, `domain` or `subcomponentOf`",
        "hasPart" => "set `system`, `domain` or `subcomponentOf` on the parts instead",
        "providesApi" => "use `providesApis`",
        "apiProvidedBy" => "set `providesApis` on the providing component instead",
        "consumesApi" => "use `consumesApis`",
        "apiConsumedBy" => "set `consumesApis` on the consuming component instead",
        "dependsOn" | "dependencyOf" => "only Components and Resources declare dependencies",
        "childOf" => "use `parent` on a Group",
        "parentOf" => "use `children` on a Group",
        "memberOf" => "only Users declare `memberOf`",
        "hasMember" => "use `members` on a Group",
        _ => return None,
    })
}

fn read_relations(ctx: &mut Ctx<'_>, spec: &Node, kind: Kind, ns: &str, me: Option<&EntityRef>, entity: &mut Entity) {
    let known = known_fields(kind);
    for field in RELATION_FIELDS.iter().filter(|f| known.contains(&f.name)) {
        let Some(node) = spec.get(field.name) else { continue };
        let what = format!("spec.{}", field.name);
        let values = if field.many {
            ctx.string_list(node, &what)
        } else {
            ctx.string(node, &what).map(|s| vec![(s, node)]).unwrap_or_default()
        };
        for (value, at) in values {
            let target = match EntityRef::parse(&value, Some(field.default_kind), ns) {
                Ok(r) => r,
                Err(e) => {
                    ctx.error(at, format!("{what}: {e}"));
                    continue;
                }
            };
            match field.name {
                "owner" => entity.owner = Some(target.clone()),
                "system" => entity.system = Some(target.clone()),
                "domain" => entity.domain = Some(target.clone()),
                _ => {}
            }
            let Some(me) = me else { continue };
            let relation = match field.dir {
                Dir::Out(kind) => Relation {
                    source: me.clone(),
                    kind,
                    target,
                },
                Dir::In(kind) => Relation {
                    source: target,
                    kind,
                    target: me.clone(),
                },
            };
            push_relation(&mut entity.relations, relation);
        }
    }
}

fn read_location(ctx: &mut Ctx<'_>, spec: &Node, entity: &Entity) -> LocationSpec {
    let location_type = spec
        .get("type")
        .and_then(|n| Some((ctx.string(n, "spec.type")?, ctx.pos(n))));
    let mut targets = Vec::new();
    if let Some(n) = spec.get("target") {
        targets.extend(ctx.string(n, "spec.target").map(|t| (t, ctx.pos(n))));
    }
    if let Some(n) = spec.get("targets") {
        for (t, at) in ctx.string_list(n, "spec.targets") {
            targets.push((t, ctx.pos(at)));
        }
    }
    let optional = ctx
        .field(spec, "presence", "spec.presence")
        .is_some_and(|p| p.eq_ignore_ascii_case("optional"));
    LocationSpec {
        name: entity.name.clone(),
        position: entity.position.clone(),
        location_type,
        targets,
        optional,
    }
}
