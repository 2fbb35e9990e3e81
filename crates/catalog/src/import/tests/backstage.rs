//! Backstage mapping: fields, relation directions, defaults, warnings.

use serde_json::json;

use super::*;
use crate::model::{EntityRef, Kind, Link};

const COMPONENT: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  title: Payments
  description: Takes the money
  labels: {tier: "1"}
  annotations:
    github.com/project-slug: acme/payments
  tags: [java, money]
  links:
    - url: https://example.com/dash
      title: Dashboard
      icon: dashboard
      type: metrics
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: billing
  providesApis: [payments-api]
  consumesApis: ['api:other/fx-rates']
  dependsOn: ['resource:payments-db', ledger]
  customThing: {keep: me}
"#;

#[test]
fn maps_a_component_with_all_metadata() {
    let set = ok(COMPONENT);
    assert_eq!(set.entities.len(), 1);
    assert_eq!(set.sources, vec!["catalog-info.yaml".to_owned()]);
    let e = entity(&set, "component:default/payments");
    assert_eq!(e.kind, Kind::Component);
    assert_eq!(
        (e.title.as_deref(), e.description.as_deref()),
        (Some("Payments"), Some("Takes the money"))
    );
    assert_eq!(
        (e.entity_type.as_deref(), e.lifecycle.as_deref()),
        (Some("service"), Some("production"))
    );
    assert_eq!(
        e.owner.as_ref().map(EntityRef::key).as_deref(),
        Some("group:default/team-a")
    );
    assert_eq!(
        e.system.as_ref().map(EntityRef::key).as_deref(),
        Some("system:default/billing")
    );
    assert_eq!(e.domain, None);
    assert_eq!(e.tags, vec!["java", "money"]);
    assert_eq!(e.labels.get("tier").map(String::as_str), Some("1"));
    assert_eq!(
        e.annotations.get("github.com/project-slug").map(String::as_str),
        Some("acme/payments")
    );
    assert_eq!(
        e.links,
        vec![Link {
            url: "https://example.com/dash".into(),
            title: Some("Dashboard".into()),
            icon: Some("dashboard".into()),
            link_type: Some("metrics".into()),
        }]
    );
    assert_eq!(e.source, "catalog-info.yaml");
    // The position is the `kind:` key.
    assert_eq!((e.position.line, e.position.column), (3, 1));
    assert_eq!(
        relations(e),
        vec![
            "component:default/payments ownedBy group:default/team-a",
            "component:default/payments partOf system:default/billing",
            "component:default/payments providesApi api:default/payments-api",
            "component:default/payments consumesApi api:other/fx-rates",
            "component:default/payments dependsOn resource:default/payments-db",
            "component:default/payments dependsOn component:default/ledger",
        ]
    );
    // The whole spec is kept as written, unknown fields included, and the unknown field warns.
    assert_eq!(e.spec["customThing"], json!({"keep": "me"}));
    assert_eq!(e.spec["dependsOn"], json!(["resource:payments-db", "ledger"]));
    assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
    let w = &set.warnings[0];
    assert_eq!((w.position.line, w.position.column), (25, 3));
    assert!(
        w.message
            .contains("unknown field `spec.customThing` for kind Component"),
        "{}",
        w.message
    );
}

#[test]
fn kinds_are_case_insensitive_and_normalised() {
    let set = ok("apiVersion: backstage.io/v1beta1\nkind: api\nmetadata: {name: a}\nspec: {type: openapi, owner: x, definition: '{}'}\n---\napiVersion: backstage.io/v1alpha1\nkind: GROUP\nmetadata: {name: g}\n");
    assert_eq!(entity(&set, "api:default/a").kind, Kind::Api);
    assert_eq!(entity(&set, "group:default/g").kind, Kind::Group);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
}

#[test]
fn inverse_fields_are_stored_in_forward_direction() {
    let set = ok(r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: core, namespace: shop}
spec:
  type: library
  owner: user:default/ann
  subcomponentOf: platform
  dependencyOf: [checkout, 'component:default/web']
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: eng}
spec:
  type: department
  parent: acme
  children: [team-a, 'group:other/team-b']
  members: [ann, bob]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: carl}
spec:
  memberOf: [eng]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: billing}
spec: {owner: eng, domain: finance}
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata: {name: finance}
spec: {owner: eng}
"#);
    let core = entity(&set, "component:shop/core");
    assert_eq!(
        relations(core),
        vec![
            "component:shop/core ownedBy user:default/ann",
            // The entity's own namespace is the default for references (Backstage behaviour).
            "component:shop/core partOf component:shop/platform",
            "component:shop/checkout dependsOn component:shop/core",
            "component:default/web dependsOn component:shop/core",
        ]
    );
    assert_eq!(
        relations(entity(&set, "group:default/eng")),
        vec![
            "group:default/eng childOf group:default/acme",
            "group:default/team-a childOf group:default/eng",
            "group:other/team-b childOf group:default/eng",
            "user:default/ann memberOf group:default/eng",
            "user:default/bob memberOf group:default/eng",
        ]
    );
    assert_eq!(
        relations(entity(&set, "user:default/carl")),
        vec!["user:default/carl memberOf group:default/eng"]
    );
    let billing = entity(&set, "system:default/billing");
    assert_eq!(
        billing.domain.as_ref().map(EntityRef::key).as_deref(),
        Some("domain:default/finance")
    );
    assert_eq!(
        relations(billing),
        vec![
            "system:default/billing ownedBy group:default/eng",
            "system:default/billing partOf domain:default/finance"
        ]
    );
    assert_eq!(
        entity(&set, "group:default/eng").entity_type.as_deref(),
        Some("department")
    );
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
}

#[test]
fn identical_relations_are_kept_once() {
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec:\n  dependsOn: [b, component:b, 'component:default/B']\n");
    // References compare case-insensitively, as in Backstage: all three are one relation.
    assert_eq!(
        relations(entity(&set, "component:default/a")),
        vec!["component:default/a dependsOn component:default/b"]
    );
}

#[test]
fn single_string_is_accepted_where_a_list_is_expected() {
    let set =
        ok("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec: {providesApis: one}\n");
    assert_eq!(
        relations(entity(&set, "component:default/a")),
        vec!["component:default/a providesApi api:default/one"]
    );
}

#[test]
fn unknown_fields_warn_with_hints_and_do_not_fail() {
    let set = ok(r#"
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: a
  owner: nobody
spec:
  type: openapi
  Lifecycle: production
  apiConsumedBy: ['component:www']
  definition: "x"
extra: 1
"#);
    let warnings: Vec<String> = set
        .warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.position.line, w.position.column, w.message))
        .collect();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    assert_has(&warnings, "6:3: unknown field `metadata.owner`");
    assert_has(
        &warnings,
        "9:3: unknown field `spec.Lifecycle` for kind API: kept in spec but not used; did you mean `lifecycle`?",
    );
    assert_has(&warnings, "10:3: unknown field `spec.apiConsumedBy`");
    assert_has(&warnings, "set `consumesApis` on the consuming component instead");
    assert_has(&warnings, "12:1: unknown top-level field `extra`");
    let e = entity(&set, "api:default/a");
    assert_eq!(e.lifecycle, None);
    assert_eq!(e.spec["Lifecycle"], json!("production"));
    assert!(e.relations.is_empty());
}

#[test]
fn relation_fields_of_other_kinds_are_not_turned_into_relations() {
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: u}\nspec: {owner: g}\n");
    let e = entity(&set, "user:default/u");
    assert!(e.relations.is_empty() && e.owner.is_none());
    assert_eq!(set.warnings.len(), 1);
}

#[test]
fn location_without_targets_is_an_entity_in_an_upload() {
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: empty}\nspec: {type: file}\n");
    let e = entity(&set, "location:default/empty");
    assert_eq!(e.entity_type.as_deref(), Some("file"));
}
