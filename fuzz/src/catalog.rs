//! Catalog import: the YAML stream the HTTP API accepts (`POST /api/v1/import`).

use bearing_catalog::import::{import_documents, KnownIds, Limits};
use bearing_catalog::{Entity, EntityRef, Kind, Problem};

/// Imports `data` as one uploaded file named `source` and checks what comes out.
///
/// The HTTP API refuses a body that is not UTF-8 before the importer sees it, so such inputs are
/// skipped rather than fuzzed.
pub fn check_import(source: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match import_documents(source, text, &known_ids(), &Limits::default()) {
        Ok(set) => {
            for entity in &set.entities {
                check_stored_form(entity);
            }
            check_problems(source, &set.warnings);
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "a refused import must say why");
            check_problems(source, &problems);
        }
    }
}

/// Compass ids the catalog already knows, so the resolution against earlier imports runs too.
fn known_ids() -> KnownIds {
    let mut known = KnownIds::default();
    let entity = |kind, name: &str| EntityRef {
        kind,
        namespace: "default".to_owned(),
        name: name.to_owned(),
    };
    known.compass_components.insert(
        "ari:cloud:compass:1/component/c1".to_owned(),
        entity(Kind::Component, "known"),
    );
    known
        .compass_teams
        .insert("ari:cloud:teams::team/t1".to_owned(), entity(Kind::Group, "known-team"));
    known
}

/// An accepted entity is stored as JSON and read back for every page and API answer: it must
/// read back with serde_json's defaults (its recursion limit included), or it is accepted,
/// stored, and then breaks every page that lists it.
fn check_stored_form(entity: &Entity) {
    let json = serde_json::to_string(entity).expect("an entity always serialises");
    if let Err(e) = serde_json::from_str::<Entity>(&json) {
        panic!(
            "accepted entity {} cannot be read back from its stored JSON: {e}",
            entity.entity_ref()
        );
    }
}

/// Every problem names the file and a 1-based position, with a message.
fn check_problems(source: &str, problems: &[Problem]) {
    for p in problems {
        assert_eq!(p.position.file, source, "problem outside the file: {p:?}");
        assert!(
            p.position.line >= 1 && p.position.column >= 1,
            "problem without a position: {p:?}"
        );
        assert!(!p.message.trim().is_empty(), "problem without a message: {p:?}");
    }
}
