//! Kuma's own JSON schemas for the resources Bearing writes, and validation against them.
//!
//! Bearing generates policies from its catalog and PUTs them to a control plane; Kuma checks every
//! PUT body against the `components.schemas.<Kind>Item` schema of its OpenAPI spec before anything
//! else (`pkg/core/resources/model/rest/unmarshaller.go`: defaulting, then
//! `desc.Validator.Validate`, a kube-openapi validator built in each type's
//! `zz_generated.resource.go`). Validating here first means a preview shows the same problems Kuma
//! would answer with, and `kuma-sim` rejects what Kuma rejects.
//!
//! The schemas are vendored from Kuma 2.14.3 in `schemas/kuma-2.14.3.json` by
//! `schemas/extract.py` (see its header to regenerate). They contain no `$ref`, so the validator
//! needs no resolving (the `jsonschema` crate is built without HTTP or file access) and each is
//! compiled once, on first use.
//!
//! Messages follow kube-openapi's (`k8s.io/kube-openapi/pkg/validation/errors/schema.go`), which
//! Kuma answers verbatim: `spec.targetRef.name in body must be of type string: "number"` becomes
//! [`SchemaError::field`] `spec.targetRef.name` and [`SchemaError::message`]
//! `in body must be of type string: "number"` (Kuma's golden `put_mtp_00.golden.json`).
//!
//! ```
//! use bearing_kuma::schema;
//! let mtp = serde_json::json!({
//!     "type": "MeshTrafficPermission", "name": "allow-web", "mesh": "default",
//!     "spec": {"targetRef": {"kind": "Mesh"},
//!              "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/web"}}]}}]}
//! });
//! assert!(schema::validate("MeshTrafficPermission", &mtp).is_ok());
//! let bad = serde_json::json!({"type": "MeshTrafficPermission", "name": "x",
//!                              "spec": {"targetRef": {"kind": "Mesh", "name": 2}}});
//! let errors = schema::validate("MeshTrafficPermission", &bad).unwrap_err();
//! assert_eq!(errors[0].field(), "spec.targetRef.name");
//! assert_eq!(errors[0].message, "in body must be of type string: \"number\"");
//! ```

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The vendored schemas (`schemas/kuma-2.14.3.json`).
const SCHEMAS_JSON: &str = include_str!("../schemas/kuma-2.14.3.json");

/// The resource kinds with a schema, sorted.
pub const KINDS: [&str; 7] = [
    "MeshAccessLog",
    "MeshIdentity",
    "MeshMetric",
    "MeshRetry",
    "MeshService",
    "MeshTimeout",
    "MeshTrafficPermission",
];

/// One problem with a resource, located in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// RFC 6901 JSON pointer to the offending value (`/spec/targetRef/name`); for a missing
    /// property, the pointer the property would have (`/spec/targetRef/kind`). Empty for the
    /// whole resource.
    pub pointer: String,
    /// Kuma's reason, without the field: `in body must be of type string: "number"`,
    /// `in body is required`, `in body should be one of [Mesh MeshSubset]`.
    pub message: String,
    /// kube-openapi's path to the value (`spec.from[0].targetRef.kind`; `.name` for a missing
    /// top-level property, as kube-openapi writes it).
    path: String,
}

impl SchemaError {
    /// The field in kube-openapi's notation: `spec.from[0].targetRef.kind`.
    pub fn field(&self) -> &str {
        &self.path
    }

    /// The `(field, reason)` pair Kuma's API answers in `invalid_parameters`: errors under `spec.`
    /// keep their field; any other is reported with an empty field and the whole message
    /// (`toValidationError` in Kuma's `unmarshaller.go`; golden `put_mtp_01.golden.json`:
    /// `{"field": "", "reason": "type in body should be one of [MeshTrafficPermission]"}`).
    pub fn kuma_violation(&self) -> (String, String) {
        if self.path.starts_with("spec.") {
            (self.path.clone(), self.message.clone())
        } else {
            (String::new(), format!("{} {}", self.path, self.message))
        }
    }
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.path, self.message)
    }
}

struct Compiled {
    schema: Value,
    validator: jsonschema::Validator,
}

static COMPILED: LazyLock<BTreeMap<&'static str, Compiled>> = LazyLock::new(|| {
    let document: Value = serde_json::from_str(SCHEMAS_JSON).expect("schemas/kuma-2.14.3.json is JSON");
    KINDS
        .iter()
        .map(|kind| {
            let schema = document["schemas"][kind].clone();
            assert!(schema.is_object(), "schemas/kuma-2.14.3.json lacks {kind}");
            // OpenAPI 3.1 schemas are JSON Schema 2020-12.
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .unwrap_or_else(|e| panic!("Kuma's {kind} schema does not compile: {e}"));
            (*kind, Compiled { schema, validator })
        })
        .collect()
});

fn compiled(kind: &str) -> Result<&'static Compiled, Vec<SchemaError>> {
    COMPILED.get(kind).ok_or_else(|| {
        vec![SchemaError {
            pointer: String::new(),
            message: format!(
                "unknown resource kind {kind:?}: bearing-kuma has schemas for {}",
                KINDS.join(", ")
            ),
            path: "type".into(),
        }]
    })
}

/// The JSON Schema of `kind` (`components.schemas.<kind>Item`), if vendored.
pub fn schema_of(kind: &str) -> Option<&'static Value> {
    COMPILED.get(kind).map(|c| &c.schema)
}

/// Validates a whole resource (`{type, name, mesh, labels, spec}`) against Kuma's schema for
/// `kind`. An unknown kind is one error naming the kinds there are.
pub fn validate(kind: &str, resource: &Value) -> Result<(), Vec<SchemaError>> {
    let compiled = compiled(kind)?;
    let errors: Vec<SchemaError> = compiled
        .validator
        .iter_errors(resource)
        .map(|e| to_schema_error(e.kind(), e.instance_path().as_str(), e.instance().as_ref()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Fills in the schema's `default`s for absent properties (top-level `mesh: default`, ...), as
/// Kuma does before validating (`defaulting.Default` in `unmarshaller.go`). Unknown kinds are left
/// alone.
pub fn apply_defaults(kind: &str, resource: &mut Value) {
    if let Some(schema) = schema_of(kind) {
        defaults(schema, resource);
    }
}

/// Drops properties the schema does not describe, as Kuma does when it decodes the body into its
/// Go types and stores them (a GET afterwards does not show them). Objects marked
/// `x-kubernetes-preserve-unknown-fields` or without `properties` are kept whole.
pub fn prune_unknown(kind: &str, resource: &mut Value) {
    if let Some(schema) = schema_of(kind) {
        prune(schema, resource);
    }
}

fn defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    match map.get_mut(name) {
                        Some(v) => defaults(prop, v),
                        None => {
                            if let Some(d) = prop.get("default") {
                                map.insert(name.clone(), d.clone());
                            }
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                items.iter_mut().for_each(|v| defaults(item, v));
            }
        }
        _ => {}
    }
}

fn prune(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
                return;
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                map.retain(|k, _| props.contains_key(k));
                for (k, v) in map.iter_mut() {
                    prune(&props[k], v);
                }
            } else if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                map.values_mut().for_each(|v| prune(extra, v));
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                items.iter_mut().for_each(|v| prune(item, v));
            }
        }
        _ => {}
    }
}

/// kube-openapi's path for a JSON pointer: `/spec/from/0/targetRef` → `spec.from[0].targetRef`.
fn openapi_path(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// The type name Go's decoder gives a JSON value (numbers are float64: "number").
fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `%v` of a `[]interface{}` of strings and numbers: `[Mesh MeshSubset]`.
fn go_list(options: &Value) -> String {
    let items: Vec<String> = options
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    format!("[{}]", items.join(" "))
}

fn to_schema_error(kind: &ValidationErrorKind, pointer: &str, instance: &Value) -> SchemaError {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let (pointer, path, message) = match kind {
        // kube-openapi: `errors.Required(o.Path+"."+k, "body")`, so a missing top-level property
        // is `.name in body is required`.
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let parent = openapi_path(pointer);
            (
                format!("{pointer}/{}", escape(name)),
                format!("{parent}.{name}"),
                "in body is required".to_string(),
            )
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","),
            };
            let message = format!("in body must be of type {expected}: {:?}", go_type(instance));
            (pointer.to_string(), openapi_path(pointer), message)
        }
        ValidationErrorKind::Enum { options } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should be one of {}", go_list(options)),
        ),
        ValidationErrorKind::Pattern { pattern } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should match '{pattern}'"),
        ),
        ValidationErrorKind::MaxLength { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should be at most {limit} chars long"),
        ),
        ValidationErrorKind::MinLength { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should be at least {limit} chars long"),
        ),
        ValidationErrorKind::Minimum { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should be greater than or equal to {limit}"),
        ),
        ValidationErrorKind::Maximum { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should be less than or equal to {limit}"),
        ),
        ValidationErrorKind::MinItems { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should have at least {limit} items"),
        ),
        ValidationErrorKind::MaxItems { limit } => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body should have at most {limit} items"),
        ),
        // Keywords kube-openapi words differently or Kuma's schemas barely use (`anyOf` of the
        // one int-or-string field): the validator's own wording, prefixed like the others.
        other => (
            pointer.to_string(),
            openapi_path(pointer),
            format!("in body {}", describe(other, instance)),
        ),
    };
    SchemaError { pointer, message, path }
}

fn describe(kind: &ValidationErrorKind, instance: &Value) -> String {
    match kind {
        ValidationErrorKind::AnyOf { .. } => format!("must be of type integer or string: {:?}", go_type(instance)),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("has unexpected properties {}", unexpected.join(", "))
        }
        _ => format!("is not valid ({})", kind.keyword()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_compiles_and_unknown_kinds_are_named() {
        for kind in KINDS {
            assert!(schema_of(kind).is_some(), "{kind}");
        }
        let errors = validate("MeshGateway", &json!({})).unwrap_err();
        assert!(errors[0].message.contains("unknown resource kind \"MeshGateway\""));
        assert!(errors[0].message.contains("MeshTrafficPermission"));
    }

    #[test]
    fn paths_in_kube_openapi_notation() {
        assert_eq!(
            openapi_path("/spec/from/0/targetRef/kind"),
            "spec.from[0].targetRef.kind"
        );
        assert_eq!(openapi_path(""), "");
        assert_eq!(openapi_path("/labels/a~1b"), "labels.a/b");
    }

    #[test]
    fn defaults_and_pruning() {
        let mut mtp = json!({"type": "MeshTrafficPermission", "name": "a", "bogus": 1,
                              "spec": {"targetRef": {"kind": "Mesh", "extra": true}, "rules": []}});
        apply_defaults("MeshTrafficPermission", &mut mtp);
        prune_unknown("MeshTrafficPermission", &mut mtp);
        assert_eq!(mtp["mesh"], "default");
        assert!(mtp.get("bogus").is_none());
        assert_eq!(mtp["spec"]["targetRef"], json!({"kind": "Mesh"}));
    }
}
