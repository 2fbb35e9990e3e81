//! The catalog domain: wire types shared by pages, server functions and the HTTP API.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod index;
#[cfg(feature = "ssr")]
pub mod list_index;
pub mod ownership;
pub mod pages;
/// SQL, for this crate's services only: the server reads through the services, which check
/// the caller.
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kinds in the order pages list them, as (URL slug, display name).
pub const KINDS: [(&str, &str); 8] = [
    ("component", "Component"),
    ("api", "API"),
    ("system", "System"),
    ("domain", "Domain"),
    ("resource", "Resource"),
    ("group", "Group"),
    ("user", "User"),
    ("location", "Location"),
];

/// Splits a stored reference key `kind:namespace/name` into its parts.
pub fn split_ref(key: &str) -> Option<(&str, &str, &str)> {
    let (kind, rest) = key.split_once(':')?;
    let (ns, name) = rest.split_once('/')?;
    Some((kind, ns, name))
}

/// The page address of an entity reference key.
pub fn ref_href(key: &str) -> String {
    match split_ref(key) {
        Some((kind, ns, name)) => format!("/catalog/{kind}/{ns}/{name}"),
        None => "/catalog".to_owned(),
    }
}

/// One row of a list: enough to show and link an entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EntitySummary {
    /// `component:default/checkout`, lower case.
    #[serde(rename = "ref")]
    #[cfg_attr(feature = "ssr", schema(example = "component:default/checkout"))]
    pub entity_ref: String,
    #[cfg_attr(feature = "ssr", schema(example = "component"))]
    pub kind: String,
    #[cfg_attr(feature = "ssr", schema(example = "default"))]
    pub namespace: String,
    #[cfg_attr(feature = "ssr", schema(example = "checkout"))]
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    pub lifecycle: Option<String>,
    /// Owner reference key, when declared.
    #[cfg_attr(feature = "ssr", schema(example = "group:default/team-checkout"))]
    pub owner: Option<String>,
    #[cfg_attr(feature = "ssr", schema(example = json!(["payments", "kafka"])))]
    pub tags: Vec<String>,
    /// The entity disappeared from the source it came from.
    pub orphaned: bool,
    /// RFC 3339.
    #[cfg_attr(feature = "ssr", schema(example = "2026-03-01T12:00:00Z"))]
    pub updated_at: String,
}

impl EntitySummary {
    /// The entity page address.
    pub fn href(&self) -> String {
        ref_href(&self.entity_ref)
    }

    /// Title when set, name otherwise.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}

/// How a list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// By search rank when searching, else by name.
    #[default]
    Relevance,
    Name,
    NameDesc,
    Kind,
    Updated,
}

impl Sort {
    /// Every sort order with its label, for the sort control.
    pub const ALL: [(Sort, &'static str); 5] = [
        (Sort::Relevance, "Relevance"),
        (Sort::Name, "Name (A–Z)"),
        (Sort::NameDesc, "Name (Z–A)"),
        (Sort::Kind, "Kind"),
        (Sort::Updated, "Recently updated"),
    ];

    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Name => "name",
            Sort::NameDesc => "name_desc",
            Sort::Kind => "kind",
            Sort::Updated => "updated",
        }
    }

    /// Parses the query-string value; unknown values fall back to the default.
    pub fn parse(s: &str) -> Sort {
        Sort::ALL
            .iter()
            .map(|(s, _)| *s)
            .find(|v| v.as_str() == s)
            .unwrap_or_default()
    }
}

/// Filters, search and paging for a catalog list. Empty strings mean "no filter".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    pub kind: Option<String>,
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub tag: Option<String>,
    pub q: Option<String>,
    #[serde(default)]
    pub sort: Sort,
    /// Rows to skip.
    #[serde(default)]
    pub offset: i64,
    /// Rows to return (1..=500).
    pub limit: i64,
}

/// A page of entities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityPageResult {
    pub items: Vec<EntitySummary>,
    /// Entities matching the filters, over all pages.
    pub total: i64,
}

/// One value of a facet and how many entities have it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

/// Counts for the filter side bar, computed under the current filters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    pub kind: Vec<FacetCount>,
    #[serde(rename = "type")]
    pub entity_type: Vec<FacetCount>,
    pub owner: Vec<FacetCount>,
    pub lifecycle: Vec<FacetCount>,
    pub tag: Vec<FacetCount>,
}

/// What the catalog list page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogView {
    pub page: EntityPageResult,
    pub facets: Facets,
}

/// What the home page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HomeView {
    /// (kind slug, count) for every kind, zero included.
    pub counts: Vec<FacetCount>,
    pub recent: Vec<EntitySummary>,
    pub orphaned: i64,
}

/// A relation as seen from one entity: direction-specific name and the other end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RelationView {
    /// Name in this direction, e.g. `dependsOn` or its inverse `dependencyOf`.
    #[serde(rename = "type")]
    pub relation: String,
    /// The other end's reference key.
    pub target: String,
    /// The other end exists in the catalog.
    pub resolved: bool,
    /// The other end's title, when resolved and set.
    pub target_title: Option<String>,
}

/// A link from an entity; `safe` is false for schemes other than http, https and mailto,
/// which are shown as text, never as links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    pub url: String,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub link_type: Option<String>,
    pub safe: bool,
}

/// Ownership facts for a Group (team) page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub members: Vec<EntitySummary>,
    pub children: Vec<EntitySummary>,
    pub owned: Vec<EntitySummary>,
    pub coverage: Coverage,
}

/// How completely a team's owned components are described in the catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Components the team owns.
    pub components: i64,
    pub with_description: i64,
    pub with_lifecycle: i64,
    pub with_system: i64,
    pub with_links: i64,
}

impl Coverage {
    /// Percentage of owned components with a property, 100 when there are none.
    pub fn percent(&self, n: i64) -> i64 {
        if self.components == 0 {
            100
        } else {
            n * 100 / self.components
        }
    }
}

/// Everything the entity page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityDetail {
    #[serde(flatten)]
    pub summary: EntitySummary,
    pub system: Option<String>,
    pub domain: Option<String>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub links: Vec<LinkView>,
    /// The kind-specific `spec`, pretty-printed.
    pub spec_json: String,
    /// Where it was imported from.
    pub source: Option<String>,
    pub relations: Vec<RelationView>,
    /// Present for Group entities.
    pub group: Option<GroupView>,
    /// `spec.profile` of Groups and Users (display name, email, picture), as label/value pairs.
    pub profile: Vec<(String, String)>,
    /// `spec.definition` of APIs: the OpenAPI, AsyncAPI, gRPC or GraphQL text.
    pub definition: Option<String>,
}

/// A link as the catalog file declares it (`metadata.links`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Link {
    #[cfg_attr(feature = "ssr", schema(example = "https://github.com/acme/checkout"))]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A well-known icon id such as `github` or `dashboard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
}

/// One entity as the JSON API shows it (`GET /api/v1/entities/{kind}/{namespace}/{name}`, and
/// the answer to an edit): the summary's fields, the details, `spec` as written and the
/// relations in both directions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Entity {
    #[serde(flatten)]
    pub summary: EntitySummary,
    /// The System it belongs to, as a reference key.
    pub system: Option<String>,
    /// The Domain it belongs to, as a reference key.
    pub domain: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub links: Vec<Link>,
    /// The kind-specific `spec`, as the catalog file wrote it.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub spec: serde_json::Value,
    /// Where it was imported from.
    pub source: Option<String>,
    pub relations: Vec<RelationView>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub orphaned: Vec<String>,
    /// `file:line:column: message` lines that did not stop the import.
    pub warnings: Vec<String>,
    /// Edits made in Bearing that this import's files now agree with (the override is gone),
    /// as `entity field`.
    #[serde(default)]
    pub overrides_cleared: Vec<String>,
    /// Edits made in Bearing that the files disagree with; Bearing's value is kept.
    #[serde(default)]
    pub override_conflicts: Vec<String>,
    /// Components that gained or lost a declared consumer: their traffic policy is looked at
    /// again under `--kuma-policy-mode` (marked out of date, or re-applied).
    #[serde(default)]
    pub consumers_changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_helpers() {
        assert_eq!(split_ref("component:default/a"), Some(("component", "default", "a")));
        assert_eq!(ref_href("group:acme/team-a"), "/catalog/group/acme/team-a");
        assert_eq!(ref_href("garbage"), "/catalog");
    }

    #[test]
    fn sort_round_trips() {
        for (s, _) in Sort::ALL {
            assert_eq!(Sort::parse(s.as_str()), s);
        }
        assert_eq!(Sort::parse("bogus"), Sort::Relevance);
    }

    #[test]
    fn coverage_percent() {
        let c = Coverage {
            components: 4,
            with_description: 3,
            ..Default::default()
        };
        assert_eq!(c.percent(c.with_description), 75);
        assert_eq!(Coverage::default().percent(0), 100);
    }
}
