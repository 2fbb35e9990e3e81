//! Compass mapping and id resolution (this import, then KnownIds, else stand-in references).

use serde_json::json;

use super::*;
use crate::model::{EntityRef, Kind, Link};

const TEAM: &str = "ari:cloud:identity::team/5f1c2d3e-aaaa-bbbb-cccc-123456789abc";
const DEP: &str = "ari:cloud:compass:site:component/ws/0b7e-Ledger";

fn compass_yml(owner: &str, depends_on: &str) -> String {
    format!(
        r#"name: Payments Service (EU)
id: 'ari:cloud:compass:site:component/ws/1234'
description: Takes the money
configVersion: 1
typeId: SERVICE
ownerId: '{owner}'
fields:
  tier: 2
  lifecycle: Active
links:
  - name: Repo
    type: REPOSITORY
    url: https://example.com/repo
relationships:
  DEPENDS_ON:
    - '{depends_on}'
labels:
  - payments
  - eu
customFields:
  - name: cost-center
    type: text
    value: "42"
"#
    )
}

#[test]
fn maps_a_compass_component() {
    let set = ok_named("services/payments/compass.yml", &compass_yml(TEAM, DEP));
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let e = entity(&set, "component:default/payments-service-eu");
    assert_eq!(e.kind, Kind::Component);
    assert_eq!(e.title.as_deref(), Some("Payments Service (EU)"));
    assert_eq!(e.description.as_deref(), Some("Takes the money"));
    assert_eq!(e.entity_type.as_deref(), Some("service"));
    assert_eq!(e.lifecycle.as_deref(), Some("active"));
    assert_eq!(e.tags, vec!["payments", "eu"]);
    assert_eq!(
        e.annotations.get("compass.atlassian.com/id").map(String::as_str),
        Some("ari:cloud:compass:site:component/ws/1234")
    );
    assert_eq!(
        e.annotations.get("compass.atlassian.com/tier").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        e.links,
        vec![Link {
            url: "https://example.com/repo".into(),
            title: Some("Repo".into()),
            icon: None,
            link_type: Some("REPOSITORY".into())
        }]
    );
    // The original document is kept in spec, plus Backstage-shaped type/lifecycle/tier/owner.
    assert_eq!(e.spec["fields"], json!({"tier": 2, "lifecycle": "Active"}));
    assert_eq!(e.spec["customFields"][0]["value"], json!("42"));
    assert_eq!(e.spec["name"], json!("Payments Service (EU)"));
    assert_eq!(
        (
            e.spec["type"].clone(),
            e.spec["lifecycle"].clone(),
            e.spec["tier"].clone()
        ),
        (json!("service"), json!("active"), json!("2"))
    );
    assert_eq!((e.position.line, e.position.column), (1, 1));
    // Neither the team nor the dependency is known: stand-in references in the `compass` namespace.
    assert_eq!(
        e.owner.as_ref().map(EntityRef::key).as_deref(),
        Some("group:compass/5f1c2d3e-aaaa-bbbb-cccc-123456789abc")
    );
    assert_eq!(
        e.annotations.get("compass.atlassian.com/owner-id").map(String::as_str),
        Some(TEAM)
    );
    assert_eq!(
        e.spec["owner"],
        json!("group:compass/5f1c2d3e-aaaa-bbbb-cccc-123456789abc")
    );
    assert_eq!(
        relations(e),
        vec![
            "component:default/payments-service-eu ownedBy group:compass/5f1c2d3e-aaaa-bbbb-cccc-123456789abc",
            "component:default/payments-service-eu dependsOn component:compass/0b7e-ledger",
        ]
    );
}

#[test]
fn resolves_owner_and_dependencies_within_the_import() {
    let group = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: payments-team\n  annotations:\n    compass.atlassian.com/team-id: '{TEAM}'\nspec: {{type: team}}\n"
    );
    let ledger = format!("name: Ledger\nid: '{DEP}'\ntypeId: SERVICE\n");
    let stream = format!("{}---\n{group}---\n{ledger}", compass_yml(TEAM, DEP));
    let set = ok_named("all.yaml", &stream);
    let e = entity(&set, "component:default/payments-service-eu");
    assert_eq!(
        e.owner.as_ref().map(EntityRef::key).as_deref(),
        Some("group:default/payments-team")
    );
    assert_eq!(
        relations(e),
        vec![
            "component:default/payments-service-eu ownedBy group:default/payments-team",
            "component:default/payments-service-eu dependsOn component:default/ledger",
        ]
    );
    // Detected by `typeId` in a file not named compass.yml.
    assert_eq!(
        entity(&set, "component:default/ledger").entity_type.as_deref(),
        Some("service")
    );
}

#[test]
fn resolves_through_known_ids() {
    let mut known = KnownIds::default();
    known.compass_teams.insert(
        TEAM.to_owned(),
        EntityRef {
            kind: Kind::Group,
            namespace: "default".into(),
            name: "payments".into(),
        },
    );
    known.compass_components.insert(
        DEP.to_owned(),
        EntityRef {
            kind: Kind::Resource,
            namespace: "data".into(),
            name: "ledger-db".into(),
        },
    );
    let set = match import_documents(
        "compass.yaml",
        &compass_yml(TEAM, DEP),
        &known,
        &crate::import::Limits::default(),
    ) {
        Ok(set) => set,
        Err(p) => panic!("{}", show(&p)),
    };
    let e = &set.entities[0];
    assert_eq!(
        e.owner.as_ref().map(EntityRef::key).as_deref(),
        Some("group:default/payments")
    );
    assert_eq!(
        relations(e)[1],
        "component:default/payments-service-eu dependsOn resource:data/ledger-db"
    );
}

#[test]
fn the_import_set_wins_over_known_ids() {
    let mut known = KnownIds::default();
    known.compass_teams.insert(
        TEAM.to_owned(),
        EntityRef {
            kind: Kind::Group,
            namespace: "default".into(),
            name: "old-team".into(),
        },
    );
    let group = format!("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: new-team\n  annotations: {{compass.atlassian.com/team-id: '{TEAM}'}}\n");
    let set = import_documents(
        "x.yaml",
        &format!("{}---\n{group}", compass_yml(TEAM, DEP)),
        &known,
        &crate::import::Limits::default(),
    )
    .unwrap_or_default();
    assert_eq!(
        entity(&set, "component:default/payments-service-eu")
            .owner
            .as_ref()
            .map(|r| r.name.as_str()),
        Some("new-team")
    );
}

#[test]
fn compass_file_name_means_compass_even_without_markers() {
    let set = ok_named("compass.yml", "name: tiny\n");
    assert_eq!(set.entities[0].name, "tiny");
    assert!(set.entities[0].owner.is_none() && set.entities[0].relations.is_empty());
}

#[test]
fn compass_errors_and_warnings_have_positions() {
    let Err(problems) = import_documents(
        "compass.yml",
        "name: '***'\ntypeId: [x]\nownerId: '/'\nfields: 3\n",
        &KnownIds::default(),
        &crate::import::Limits::default(),
    ) else {
        panic!("accepted")
    };
    let msgs: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.position.line, p.position.column, p.message))
        .collect();
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    assert_has(&msgs, "1:7: Compass name `***` has no letters or digits");
    assert_has(&msgs, "2:9: `typeId` must be a string, found a list");
    assert_has(&msgs, "3:10: ownerId `/` has no letters or digits");
    assert_has(&msgs, "4:9: `fields` must be a mapping, found a scalar");
    let Err(problems) = import_documents(
        "compass.yml",
        "description: no name\n",
        &KnownIds::default(),
        &crate::import::Limits::default(),
    ) else {
        panic!("accepted")
    };
    assert!(problems[0].message.starts_with("Compass component has no `name`"));

    let set = ok_named("compass.yml", "name: a\nrelationships:\n  CHILD_OF: [x]\nsurprise: 1\n");
    let w: Vec<String> = set
        .warnings
        .iter()
        .map(|p| format!("{}:{}: {}", p.position.line, p.position.column, p.message))
        .collect();
    assert_has(&w, "3:3: Compass relationship type `CHILD_OF` is not supported");
    assert_has(&w, "4:1: unknown Compass field `surprise`");
}
