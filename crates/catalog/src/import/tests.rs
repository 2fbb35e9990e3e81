//! Importer tests, one file per concern, sharing the helpers below.

use super::{import_documents, import_paths, ImportSet, KnownIds, Limits};
use crate::model::{Entity, Problem};

mod backstage;
mod compass;
mod errors;
mod files;
mod links;

/// Imports `yaml` as an uploaded `catalog-info.yaml`, expecting success.
#[track_caller]
fn ok(yaml: &str) -> ImportSet {
    ok_named("catalog-info.yaml", yaml)
}

#[track_caller]
fn ok_named(source: &str, yaml: &str) -> ImportSet {
    match import_documents(source, yaml, &KnownIds::default(), &Limits::default()) {
        Ok(set) => set,
        Err(problems) => panic!("expected success, got:\n{}", show(&problems)),
    }
}

/// Imports `yaml` as an uploaded `catalog-info.yaml`, expecting failure; returns `line:col: message`.
#[track_caller]
fn errors(yaml: &str) -> Vec<String> {
    match import_documents("catalog-info.yaml", yaml, &KnownIds::default(), &Limits::default()) {
        Ok(set) => panic!("expected errors, got {} entities", set.entities.len()),
        Err(problems) => {
            assert!(problems.iter().all(|p| p.position.file == "catalog-info.yaml"));
            problems
                .iter()
                .map(|p| format!("{}:{}: {}", p.position.line, p.position.column, p.message))
                .collect()
        }
    }
}

fn show(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

/// The entity with this key (`component:default/foo`).
#[track_caller]
fn entity<'a>(set: &'a ImportSet, key: &str) -> &'a Entity {
    set.entities
        .iter()
        .find(|e| e.entity_ref().key() == key)
        .unwrap_or_else(|| {
            let keys: Vec<String> = set.entities.iter().map(|e| e.entity_ref().key()).collect();
            panic!("no entity {key}; have {keys:?}")
        })
}

/// An entity's relations as `source type target` strings.
fn relations(e: &Entity) -> Vec<String> {
    e.relations
        .iter()
        .map(|r| format!("{} {} {}", r.source, r.kind.as_str(), r.target))
        .collect()
}

/// Asserts that some message contains `needle`.
#[track_caller]
fn assert_has(messages: &[String], needle: &str) {
    assert!(
        messages.iter().any(|m| m.contains(needle)),
        "no message contains {needle:?}:\n{}",
        messages.join("\n")
    );
}
