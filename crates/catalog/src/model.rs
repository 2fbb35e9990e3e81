//! The one catalog model both Backstage and Compass map into.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of entity Bearing knows. `Location` only appears in imports (it points at files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// A piece of software: a service, website, library, pipeline.
    Component,
    /// An interface a component provides or consumes (OpenAPI, gRPC, AsyncAPI, ...).
    #[serde(rename = "API")]
    Api,
    /// A collection of components, APIs and resources that together expose a capability.
    System,
    /// A business area grouping systems.
    Domain,
    /// Infrastructure a component needs at runtime (database, bucket, queue).
    Resource,
    /// A team or organisational unit.
    Group,
    /// A person.
    User,
    /// A pointer to more catalog files; followed during import.
    Location,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 8] = [
        Kind::Component,
        Kind::Api,
        Kind::System,
        Kind::Domain,
        Kind::Resource,
        Kind::Group,
        Kind::User,
        Kind::Location,
    ];

    /// The kind as Backstage spells it in `kind:` (`Component`, `API`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Component => "Component",
            Kind::Api => "API",
            Kind::System => "System",
            Kind::Domain => "Domain",
            Kind::Resource => "Resource",
            Kind::Group => "Group",
            Kind::User => "User",
            Kind::Location => "Location",
        }
    }

    /// The lower-case form used in entity references and URLs (`component`, `api`, ...).
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Component => "component",
            Kind::Api => "api",
            Kind::System => "system",
            Kind::Domain => "domain",
            Kind::Resource => "resource",
            Kind::Group => "group",
            Kind::User => "user",
            Kind::Location => "location",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one of [`Kind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`; expected one of Component, API, System, Domain, Resource, Group, User, Location")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Kinds are case-insensitive, as in Backstage references.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

/// The namespace used when a reference or entity leaves it out.
pub const DEFAULT_NAMESPACE: &str = "default";

/// `kind:namespace/name`, normalised: kind as [`Kind`], namespace and name as written
/// (Backstage compares them case-insensitively; Bearing stores the lower-cased [`EntityRef::key`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityRef {
    /// The kind of the referenced entity.
    pub kind: Kind,
    /// Its namespace, as written (`default` when the reference left it out).
    pub namespace: String,
    /// Its name, as written.
    pub name: String,
}

impl EntityRef {
    /// Builds a reference, validating namespace and name.
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Result<Self, RefError> {
        validate_namespace(namespace)?;
        validate_name(name)?;
        Ok(EntityRef {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Parses `[kind:][namespace/]name`. `default_kind` is used when the kind is omitted
    /// (Backstage: `owner` defaults to Group, `system` to System, ...); without one a kind is required.
    pub fn parse(s: &str, default_kind: Option<Kind>, default_namespace: &str) -> Result<Self, RefError> {
        let s = s.trim();
        let (kind, rest) = match s.split_once(':') {
            Some((k, rest)) => (k.parse::<Kind>().map_err(|e| RefError::Kind(e.0))?, rest),
            None => (default_kind.ok_or_else(|| RefError::MissingKind(s.to_owned()))?, s),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => (default_namespace, rest),
        };
        EntityRef::new(kind, namespace, name)
    }

    /// The canonical lower-case string used as the database key: `component:default/foo`.
    pub fn key(&self) -> String {
        format!(
            "{}:{}/{}",
            self.kind.slug(),
            self.namespace.to_ascii_lowercase(),
            self.name.to_ascii_lowercase()
        )
    }
}

impl fmt::Display for EntityRef {
    /// `component:default/foo`, the form Backstage prints (`stringifyEntityRef`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind.slug(), self.namespace, self.name)
    }
}

/// Why a reference, name or namespace is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The kind before `:` is not a [`Kind`].
    #[error("unknown kind `{0}` in entity reference")]
    Kind(String),
    /// No kind was written and the field has no default kind.
    #[error("entity reference `{0}` needs a kind, e.g. `component:{0}`")]
    MissingKind(String),
    /// The name breaks [`validate_name`].
    #[error("invalid name `{0}`: use 1-63 letters, digits and single `-`, `_` or `.` between them")]
    Name(String),
    /// The namespace breaks [`validate_namespace`].
    #[error("invalid namespace `{0}`: use 1-63 lower-case letters, digits and single dashes")]
    Namespace(String),
}

/// Backstage's name rule: `^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$`, at most 63 characters.
pub fn validate_name(name: &str) -> Result<(), RefError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .split(['-', '_', '.'])
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(RefError::Name(name.to_owned()))
    }
}

/// Backstage's namespace rule: a DNS label, `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 63 characters.
pub fn validate_namespace(ns: &str) -> Result<(), RefError> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(RefError::Namespace(ns.to_owned()))
    }
}

/// Relation types in their stored (forward) direction. Each has an inverse that is derived
/// when reading, so a relation is stored once and queryable both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RelationType {
    /// Entity is owned by a Group or User (`spec.owner`).
    #[serde(rename = "ownedBy")]
    OwnedBy,
    /// Component or Resource depends on another (`spec.dependsOn`, inverted `spec.dependencyOf`).
    #[serde(rename = "dependsOn")]
    DependsOn,
    /// Component provides an API (`spec.providesApis`).
    #[serde(rename = "providesApi")]
    ProvidesApi,
    /// Component consumes an API (`spec.consumesApis`).
    #[serde(rename = "consumesApi")]
    ConsumesApi,
    /// Entity is part of a System, Domain or Component (`spec.system`, `spec.domain`, `spec.subcomponentOf`).
    #[serde(rename = "partOf")]
    PartOf,
    /// User is a member of a Group (`spec.memberOf`, inverted Group `spec.members`).
    #[serde(rename = "memberOf")]
    MemberOf,
    /// Group is a child of another Group (`spec.parent`, inverted `spec.children`).
    #[serde(rename = "childOf")]
    ChildOf,
}

impl RelationType {
    /// Every stored relation type.
    pub const ALL: [RelationType; 7] = [
        RelationType::OwnedBy,
        RelationType::DependsOn,
        RelationType::ProvidesApi,
        RelationType::ConsumesApi,
        RelationType::PartOf,
        RelationType::MemberOf,
        RelationType::ChildOf,
    ];

    /// Backstage's name for the forward direction (`ownedBy`).
    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::OwnedBy => "ownedBy",
            RelationType::DependsOn => "dependsOn",
            RelationType::ProvidesApi => "providesApi",
            RelationType::ConsumesApi => "consumesApi",
            RelationType::PartOf => "partOf",
            RelationType::MemberOf => "memberOf",
            RelationType::ChildOf => "childOf",
        }
    }

    /// Backstage's name for the inverse direction (`ownerOf`).
    pub fn inverse_str(self) -> &'static str {
        match self {
            RelationType::OwnedBy => "ownerOf",
            RelationType::DependsOn => "dependencyOf",
            RelationType::ProvidesApi => "apiProvidedBy",
            RelationType::ConsumesApi => "apiConsumedBy",
            RelationType::PartOf => "hasPart",
            RelationType::MemberOf => "hasMember",
            RelationType::ChildOf => "parentOf",
        }
    }

    /// Parses either direction's name; `true` means the name was the inverse.
    pub fn parse_any(s: &str) -> Option<(RelationType, bool)> {
        RelationType::ALL.into_iter().find_map(|t| {
            if t.as_str() == s {
                Some((t, false))
            } else if t.inverse_str() == s {
                Some((t, true))
            } else {
                None
            }
        })
    }
}

/// A relation in its stored direction: `source --type--> target`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relation {
    /// The entity the relation starts from (`a` in `a dependsOn b`).
    pub source: EntityRef,
    /// The relation type, in stored direction.
    #[serde(rename = "type")]
    pub kind: RelationType,
    /// The entity the relation points at (`b` in `a dependsOn b`); may not exist (yet).
    pub target: EntityRef,
}

/// A link from `metadata.links` (Backstage) or `links` (Compass).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Where the link goes.
    pub url: String,
    /// Backstage `title`, Compass `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Backstage `icon` (a well-known icon id such as `github` or `dashboard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Backstage `type`, Compass `type` (`REPOSITORY`, `DASHBOARD`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
}

/// The schemes a link may use: a browser follows these to another page or a mail client, and
/// none runs code in the portal's origin as `javascript:` (or `data:`, `vbscript:`) would.
pub const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Checks that `url` is an absolute `http`, `https` or `mailto` URL, read the way a browser
/// reads an `href` (the WHATWG URL standard: leading spaces and control characters dropped,
/// tabs and newlines removed, scheme case ignored), so `" JaVa\tScript:..."` counts as the
/// `javascript:` URL it is.
///
/// # Errors
/// Why the URL is refused, to end a sentence like "link `x` dropped: ...".
pub fn check_link_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(parsed) if LINK_SCHEMES.contains(&parsed.scheme()) => Ok(()),
        Ok(parsed) => Err(format!(
            "scheme `{}:` is not allowed; links must be http, https or mailto URLs",
            parsed.scheme()
        )),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Err("not an absolute URL; write the full address, e.g. https://example.com/docs".into())
        }
        Err(e) => Err(format!("not a valid URL ({e})")),
    }
}

/// Where an entity (or a problem) was found: a file and a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// The file as shown to the user (relative to the current directory when possible).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One catalog entity, normalised from whichever format it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity's kind.
    pub kind: Kind,
    /// `metadata.namespace`, `default` when absent.
    pub namespace: String,
    /// `metadata.name` (Compass: the name made a valid entity name).
    pub name: String,
    /// `metadata.title` (Compass: the original `name`).
    pub title: Option<String>,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `spec.type` (Component, API, Resource, Group), or Compass `typeId` lower-cased.
    pub entity_type: Option<String>,
    /// `spec.lifecycle` (Compass: `fields.lifecycle` lower-cased).
    pub lifecycle: Option<String>,
    /// `spec.owner`, parsed (Compass: the resolved `ownerId`).
    pub owner: Option<EntityRef>,
    /// `spec.system`, parsed.
    pub system: Option<EntityRef>,
    /// `spec.domain` of a System, parsed.
    pub domain: Option<EntityRef>,
    /// `metadata.tags` (Compass: `labels`).
    pub tags: Vec<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations` (Compass: ids and tier under `compass.atlassian.com/`).
    pub annotations: BTreeMap<String, String>,
    /// `metadata.links` (Compass: `links`).
    pub links: Vec<Link>,
    /// The full `spec` as written (kind-specific fields such as Group `profile`, API
    /// `definition`, unknown fields too), so Backstage-shaped reads return it unchanged.
    pub spec: serde_json::Value,
    /// Relations this entity declares, in stored direction. A `dependencyOf: [x]` on `a`
    /// is stored as `x dependsOn a`; Group `children`/`members` likewise become `childOf`/`memberOf`
    /// with the child/member as source.
    pub relations: Vec<Relation>,
    /// The canonical path of the file it came from (its "source"), used for orphan detection.
    pub source: String,
    /// Where `kind:` (or the document start) was found, for messages.
    pub position: Position,
}

impl Entity {
    /// This entity's reference.
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef {
            kind: self.kind,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// A problem found while importing, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    /// Where the problem is.
    pub position: Position,
    /// What is wrong, naming the thing and suggesting a fix where there is an obvious one.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_https_and_mailto_links_pass() {
        for ok in [
            "https://x.example/a?b#c",
            "http://x",
            "mailto:a@b.example",
            " HTTPS://x",
            "https:x.example",
        ] {
            assert_eq!(check_link_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://x",
            "//evil.example/x",
            "/relative",
            "",
        ] {
            assert!(check_link_url(bad).is_err(), "{bad:?}");
        }
        assert!(check_link_url("javascript:x")
            .unwrap_err()
            .contains("scheme `javascript:`"));
    }

    #[test]
    fn parses_refs_with_defaults_and_any_case_kind() {
        let r = EntityRef::parse("Component:team-a/web.site", None, "default").unwrap();
        assert_eq!(r.to_string(), "component:team-a/web.site");
        let r = EntityRef::parse("guests", Some(Kind::Group), "default").unwrap();
        assert_eq!(r.key(), "group:default/guests");
        assert_eq!(EntityRef::parse("API:foo", None, "default").unwrap().kind, Kind::Api);
        assert_eq!(
            EntityRef::parse("foo", None, "default"),
            Err(RefError::MissingKind("foo".into()))
        );
        assert!(matches!(
            EntityRef::parse("widget:foo", None, "default"),
            Err(RefError::Kind(_))
        ));
        assert!(matches!(
            EntityRef::parse("component:Bad_NS/foo", None, "default"),
            Err(RefError::Namespace(_))
        ));
        assert!(matches!(
            EntityRef::parse("component:foo--bar", None, "default"),
            Err(RefError::Name(_))
        ));
    }

    #[test]
    fn relation_names_parse_in_both_directions() {
        assert_eq!(RelationType::parse_any("ownerOf"), Some((RelationType::OwnedBy, true)));
        assert_eq!(
            RelationType::parse_any("dependsOn"),
            Some((RelationType::DependsOn, false))
        );
        assert_eq!(RelationType::parse_any("nope"), None);
    }
}
