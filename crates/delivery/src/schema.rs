//! The specifications' own JSON schemas, vendored in `schemas/` (see its README for where each
//! came from), and validation against them with errors that point at the field.
//!
//! Every document is registered under its `$id` in one offline [`Registry`]: the `jsonschema`
//! crate is built without HTTP or file resolving, so a `$ref` that is not vendored fails when the
//! validators are compiled (once, on first use), never at a request. The unit tests compile them
//! all.

use crate::error::{escape_token, EventError};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Registry, Resource, ValidationError, Validator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `$id` of OpenLineage 2-0-2's core schema.
pub const OPENLINEAGE_ID: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json";

const OPENLINEAGE: &str = include_str!("../schemas/openlineage/OpenLineage.json");

/// The run facets Bearing reads, each validated against its own schema: (facet key, document).
const FACETS: [(&str, &str); 4] = [
    (
        "parent",
        include_str!("../schemas/openlineage/facets/ParentRunFacet.json"),
    ),
    (
        "errorMessage",
        include_str!("../schemas/openlineage/facets/ErrorMessageRunFacet.json"),
    ),
    (
        "nominalTime",
        include_str!("../schemas/openlineage/facets/NominalTimeRunFacet.json"),
    ),
    (
        "jobDependencies",
        include_str!("../schemas/openlineage/facets/JobDependenciesRunFacet.json"),
    ),
];

macro_rules! cdevents_release {
    ($release:literal) => {
        [
            include_str!(concat!("../schemas/cdevents/", $release, "/pipelinerunqueued.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/pipelinerunstarted.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/pipelinerunfinished.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/taskrunstarted.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/taskrunfinished.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/servicedeployed.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/serviceupgraded.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/servicerolledback.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/serviceremoved.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/changemerged.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/incidentdetected.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/incidentresolved.json")),
            include_str!(concat!("../schemas/cdevents/", $release, "/buildfinished.json")),
            include_str!(concat!(
                "../schemas/cdevents/",
                $release,
                "/links/embeddedlinksarray.json"
            )),
            include_str!(concat!("../schemas/cdevents/", $release, "/links/embeddedlinkend.json")),
            include_str!(concat!(
                "../schemas/cdevents/",
                $release,
                "/links/embeddedlinkpath.json"
            )),
            include_str!(concat!(
                "../schemas/cdevents/",
                $release,
                "/links/embeddedlinkrelation.json"
            )),
        ]
    };
}

/// CDEvents 0.4.1 and 0.5.1: the thirteen event schemas Bearing takes, then the `links` schemas
/// they refer to.
const CDEVENTS: [(&str, [&str; 17]); 2] = [("0.4", cdevents_release!("0.4.1")), ("0.5", cdevents_release!("0.5.1"))];

/// CloudEvents 1.0.2's JSON format schema (draft-07, no `$id`, no `$ref` outside itself).
const CLOUDEVENTS: &str = include_str!("../schemas/cloudevents/cloudevents.json");

fn document(text: &str) -> Value {
    serde_json::from_str(text).expect("a vendored schema is JSON")
}

fn id_of(doc: &Value) -> String {
    doc["$id"].as_str().expect("a vendored schema has an $id").to_string()
}

static REGISTRY: LazyLock<Registry<'static>> = LazyLock::new(|| {
    let mut docs = vec![document(OPENLINEAGE)];
    docs.extend(FACETS.iter().map(|(_, text)| document(text)));
    docs.extend(CDEVENTS.iter().flat_map(|(_, texts)| texts.iter().map(|t| document(t))));
    let pairs: Vec<(String, Resource)> = docs
        .into_iter()
        .map(|d| (id_of(&d), Resource::from_contents(d)))
        .collect();
    Registry::new()
        .extend(pairs)
        .and_then(|b| b.prepare())
        .unwrap_or_else(|e| panic!("the vendored schemas do not form a registry: {e}"))
});

fn compile(schema: &Value) -> Validator {
    jsonschema::options()
        .with_registry(&REGISTRY)
        .build(schema)
        .unwrap_or_else(|e| panic!("vendored schema {schema} does not compile: {e}"))
}

/// Compiles every vendored schema now rather than on the first event that needs it: compiling
/// takes seconds, and the first requests would wait for it (and hold a runtime thread).
pub fn prepare() {
    LazyLock::force(&RUN_EVENT);
    LazyLock::force(&RUN_FACETS);
    LazyLock::force(&CDEVENT_TYPES);
    LazyLock::force(&CLOUDEVENT);
}

/// OpenLineage's `RunEvent` definition (not the whole document, whose `oneOf` of run, job and
/// dataset events would report every mistake as "valid under none").
pub(crate) static RUN_EVENT: LazyLock<Validator> =
    LazyLock::new(|| compile(&json!({"$ref": format!("{OPENLINEAGE_ID}#/$defs/RunEvent")})));

/// Facet schemas, applied to `run.facets` (each document describes the facets object).
pub(crate) static RUN_FACETS: LazyLock<Vec<(&'static str, Validator)>> = LazyLock::new(|| {
    FACETS
        .iter()
        .map(|(name, text)| (*name, compile(&json!({"$ref": id_of(&document(text))}))))
        .collect()
});

/// A CDEvent schema: which release it is from, and its validator.
pub(crate) struct CdSchema {
    /// `0.4` or `0.5`.
    pub release: &'static str,
    pub validator: Validator,
}

/// CDEvent schemas by full type (`dev.cdevents.service.deployed.0.3.0`).
pub(crate) static CDEVENT_TYPES: LazyLock<BTreeMap<String, CdSchema>> = LazyLock::new(|| {
    let mut map = BTreeMap::new();
    for (release, texts) in CDEVENTS {
        for text in texts.iter().take(13) {
            let doc = document(text);
            let ty = doc["properties"]["context"]["properties"]["type"]["enum"][0]
                .as_str()
                .expect("a CDEvent schema names its type")
                .to_string();
            let validator = compile(&json!({"$ref": id_of(&doc)}));
            map.insert(ty, CdSchema { release, validator });
        }
    }
    map
});

pub(crate) static CLOUDEVENT: LazyLock<Validator> = LazyLock::new(|| {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&document(CLOUDEVENTS))
        .unwrap_or_else(|e| panic!("the CloudEvents schema does not compile: {e}"))
});

/// Validates `instance`; the first problem, if any, as an [`EventError`]. `what` names the
/// schema in hints ("OpenLineage 2-0-2 RunEvent").
pub(crate) fn check(validator: &Validator, instance: &Value, what: &str) -> Result<(), EventError> {
    // `validate` stops at the first error; `iter_errors` would collect them all.
    validator
        .validate(instance)
        .map_err(|error| to_event_error(&error, what))
}

/// The error to report: where an `anyOf`/`oneOf` failed, the first error of the branch that
/// came closest (fewest errors), so a one-branch `anyOf` (OpenLineage wraps every facets map in
/// one) is looked through. Returns (kind, pointer, offending value).
fn located<'e>(error: &'e ValidationError<'_>) -> (&'e ValidationErrorKind, String, &'e Value) {
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } = error.kind() {
        // A branch whose discriminator (`linkType: {enum: [RELATION]}`) failed is the wrong
        // branch, however few its errors.
        let closest = context
            .iter()
            .filter(|branch| !branch.is_empty())
            .min_by_key(|branch| (branch.iter().any(|e| is_discriminator(e.kind())), branch.len()))
            .and_then(|branch| branch.first());
        if let Some(inner) = closest {
            return located(inner);
        }
    }
    (
        error.kind(),
        error.instance_path().as_str().to_string(),
        error.instance().as_ref(),
    )
}

fn is_discriminator(kind: &ValidationErrorKind) -> bool {
    matches!(
        kind,
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
    )
}

fn to_event_error(error: &ValidationError<'_>, what: &str) -> EventError {
    let (kind, pointer, instance) = located(error);
    describe(kind, &pointer, instance, what)
}

/// "a string" for `string`.
fn with_article(type_name: &str) -> String {
    match type_name {
        "null" => "null".to_string(),
        "array" | "integer" | "object" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for a message, short.
pub(crate) fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 64 {
        format!("{}…", text.chars().take(64).collect::<String>())
    } else {
        text
    }
}

fn describe(kind: &ValidationErrorKind, pointer: &str, instance: &Value, what: &str) -> EventError {
    let at = if pointer.is_empty() { "the top level" } else { pointer };
    match kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            EventError::invalid(
                format!("{pointer}/{}", escape_token(name)),
                format!("required property {name:?} is missing"),
                format!("add {name:?} to the object at {at} (schema: {what})"),
            )
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => with_article(&t.to_string()),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| with_article(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            EventError::invalid(
                pointer,
                format!("must be {expected}, not {}", json_type(instance)),
                format!("send {expected} here (schema: {what})"),
            )
        }
        ValidationErrorKind::Enum { options } => {
            let list = options
                .as_array()
                .map(|a| a.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            EventError::invalid(
                pointer,
                format!("{} is not one of the allowed values", shown(instance)),
                format!("use one of {list} (schema: {what})"),
            )
        }
        ValidationErrorKind::MinLength { limit } => EventError::invalid(
            pointer,
            format!("must be at least {limit} character(s) long"),
            format!("send a non-empty value (schema: {what})"),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => EventError::invalid(
            pointer,
            format!("unexpected properties {}", unexpected.join(", ")),
            format!("remove them: the schema allows no other properties here (schema: {what})"),
        ),
        other => EventError::invalid(
            pointer,
            format!(
                "{} does not satisfy the schema's {:?} keyword",
                shown(instance),
                other.keyword()
            ),
            format!("see the schema: {what}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_schema_compiles_offline() {
        assert_eq!(RUN_FACETS.len(), 4);
        assert_eq!(CDEVENT_TYPES.len(), 26);
        assert_eq!(CDEVENT_TYPES["dev.cdevents.service.deployed.0.2.0"].release, "0.4");
        assert_eq!(CDEVENT_TYPES["dev.cdevents.service.deployed.0.3.0"].release, "0.5");
        assert!(CLOUDEVENT.is_valid(&json!({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"})));
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = check(
            &RUN_EVENT,
            &json!({"run": {}, "job": {"namespace": "n", "name": 5}}),
            "RunEvent",
        )
        .unwrap_err();
        // BaseEvent's requirements come first (allOf order): eventTime.
        assert_eq!(e.pointer, "/eventTime");
        let full = json!({"eventTime": "2024-01-01T00:00:00Z", "producer": "p", "schemaURL": "s",
                           "run": {"runId": "x"}, "job": {"namespace": "n", "name": 5}});
        let e = check(&RUN_EVENT, &full, "RunEvent").unwrap_err();
        assert_eq!(e.pointer, "/job/name");
        assert_eq!(e.message, "must be a string, not a number");
    }
}
