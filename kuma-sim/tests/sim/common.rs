//! Shared helpers: an in-process simulator on a manual clock, requests through the router, and
//! Kuma's OpenAPI spec as JSON Schema.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use kuma_sim::clock::ManualClock;
use kuma_sim::{Sim, WorldSpec};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

/// `<workspace>/../shared/kuma`, or `$BEARING_KUMA_SHARED`. Panics with instructions when missing:
/// these tests are the contract with Kuma's real shapes and must not pass vacuously.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("BEARING_KUMA_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/kuma"),
    };
    assert!(
        dir.join("openapi").is_dir() && dir.join("fixtures").is_dir(),
        "Kuma's spec and fixtures not found at {}: these tests need ../shared/kuma next to the workspace \
         root (or BEARING_KUMA_SHARED pointing at it)",
        dir.display()
    );
    dir
}

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = shared_dir().join("fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A JSON fixture.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The workspace's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A simulator on a manual clock, with its router.
pub struct TestSim {
    pub sim: Arc<Sim>,
    pub clock: Arc<ManualClock>,
    pub router: Router,
}

/// A fixed origin so runs are reproducible.
pub fn origin() -> time::OffsetDateTime {
    time::macros::datetime!(2025-03-01 12:00:00 UTC)
}

impl TestSim {
    /// The built-in world.
    pub fn default_world() -> TestSim {
        TestSim::new(kuma_sim::default_world::world())
    }

    /// Any world.
    pub fn new(world: WorldSpec) -> TestSim {
        let clock = Arc::new(ManualClock::new(origin()));
        let sim = Arc::new(Sim::new(world, clock.clone()).expect("valid world"));
        let router = kuma_sim::router(sim.clone());
        TestSim { sim, clock, router }
    }

    /// Moves simulated time forward.
    pub fn advance(&self, secs: f64) {
        self.clock.advance(Duration::from_secs_f64(secs));
    }

    /// Sends a request; returns status, content type and body.
    pub async fn request(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "sim.test:5681");
        let body = match body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(builder.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            content_type,
            body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
        }
    }

    /// GET.
    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Method::GET, uri, None).await
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, uri: &str) -> Value {
        let reply = self.get(uri).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {uri}: {}", reply.body);
        reply.json()
    }

    /// POST JSON that must answer 200.
    pub async fn post_ok(&self, uri: &str, body: Value) -> Value {
        let reply = self.request(Method::POST, uri, Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "POST {uri}: {}", reply.body);
        reply.json()
    }

    /// Every item of a list endpoint, following `next`.
    pub async fn all_items(&self, uri: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(uri.to_string());
        while let Some(url) = next {
            let path = url.strip_prefix("http://sim.test:5681").unwrap_or(&url).to_string();
            let page = self.get_json(&path).await;
            out.extend(page["items"].as_array().expect("items").iter().cloned());
            next = page["next"].as_str().map(str::to_string);
        }
        out
    }
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

// ------------------------------------------------------------------------------------------
// Kuma's OpenAPI spec as JSON Schema

/// Which spec document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    /// `kuma-v2.14.3-openapi.yaml`.
    Kuma,
    /// `kuma-gui-openapi.yaml` (mesh-insights, service-insights).
    Gui,
}

/// How strictly to read the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As published.
    Raw,
    /// With the protojson realities Kuma's own goldens show (see [`adjust`]).
    Wire,
    /// `Wire`, and also not requiring what the goldens (from Kuma's tests, without tracing and
    /// labels) leave out: `Meta.labels`, `Error.instance`.
    Goldens,
}

fn load(doc: Doc) -> &'static Value {
    static KUMA: OnceLock<Value> = OnceLock::new();
    static GUI: OnceLock<Value> = OnceLock::new();
    let (cell, file) = match doc {
        Doc::Kuma => (&KUMA, "kuma-v2.14.3-openapi.yaml"),
        Doc::Gui => (&GUI, "kuma-gui-openapi.yaml"),
    };
    cell.get_or_init(|| {
        let path = shared_dir().join("openapi").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        kuma_sim::yaml::to_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The spec with the adjustments of `mode` applied.
pub fn spec(doc: Doc, mode: Mode) -> Value {
    let mut v = load(doc).clone();
    if mode != Mode::Raw {
        adjust(&mut v, mode == Mode::Goldens);
    }
    v
}

/// Where the spec and Kuma's actual wire format differ, the wire wins; each adjustment is what
/// Kuma's own golden responses require (a test shows the raw spec rejects them):
///
/// 1. `google.protobuf.Timestamp` is described as `{seconds, nanos}`; protojson writes RFC 3339
///    strings (`connectTime: "2018-07-17T16:05:36.995Z"`).
/// 2. `uint64` xDS counters are described as integers; protojson writes them as strings
///    (`"responsesSent": "10"`).
/// 3. List envelopes describe `next` as a string; the last page has `"next": null`.
/// 4. The GUI overlay's OpenAPI-3.0 `nullable: true` means "or null" (JSON Schema ignores it).
///
/// For the goldens only (`Mode::Goldens`), also: `Meta.labels`, `Error.instance` and
/// `InvalidParameters.source` not required (Kuma's test fixtures have no labels, no tracing and
/// no `source`), and `oneOf` read as `anyOf` (the mesh
/// golden's logging/tracing backend `conf` matches several alternatives that require nothing).
pub fn adjust(v: &mut Value, goldens: bool) {
    match v {
        Value::Object(map) => {
            for value in map.values_mut() {
                adjust(value, goldens);
            }
            let is_timestamp = map
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.len() == 2 && p.contains_key("seconds") && p.contains_key("nanos"));
            if is_timestamp {
                let original = Value::Object(std::mem::take(map));
                *map = serde_json::json!({"anyOf": [original, {"type": "string", "format": "date-time"}]})
                    .as_object()
                    .unwrap()
                    .clone();
                return;
            }
            if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
                for key in ["responsesSent", "responsesAcknowledged", "responsesRejected"] {
                    if let Some(p) = props.get_mut(key) {
                        if p.get("type") == Some(&Value::from("integer")) {
                            *p = serde_json::json!({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]});
                        }
                    }
                }
                if props.contains_key("items") && props.contains_key("total") {
                    if let Some(next) = props.get_mut("next") {
                        if next.get("type") == Some(&Value::from("string")) {
                            *next = serde_json::json!({"type": ["string", "null"]});
                        }
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let original = Value::Object(std::mem::take(map));
                *map = serde_json::json!({"anyOf": [original, {"type": "null"}]})
                    .as_object()
                    .unwrap()
                    .clone();
                return;
            }
            if goldens {
                // The spec's `oneOf` over backend configurations whose alternatives have no
                // required fields matches several at once for Kuma's own mesh golden; read it as
                // `anyOf`.
                if let Some(one_of) = map.remove("oneOf") {
                    map.insert("anyOf".into(), one_of);
                }
                if let Some(required) = map.get_mut("required").and_then(Value::as_array_mut) {
                    let is_meta = required.iter().any(|r| r == "labels") && required.iter().any(|r| r == "mesh");
                    let is_error = required.iter().any(|r| r == "instance");
                    if is_meta {
                        required.retain(|r| r != "labels");
                    }
                    if is_error {
                        required.retain(|r| r != "instance");
                    }
                    if required.iter().any(|r| r == "source") && required.iter().any(|r| r == "reason") {
                        required.retain(|r| r != "source");
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| adjust(i, goldens)),
        _ => {}
    }
}

fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// JSON pointer (with `#`) to the schema of `method path` answering `status`, following the
/// response's `$ref` and taking its JSON content.
pub fn response_schema(doc: &Value, path: &str, status: &str) -> String {
    let response = &doc["paths"][path]["get"]["responses"][status];
    assert!(!response.is_null(), "spec has no GET {path} {status}");
    let base = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => r.trim_start_matches('#').to_string(),
        None => format!(
            "/paths/{}/get/responses/{}",
            pointer_escape(path),
            pointer_escape(status)
        ),
    };
    component_schema(doc, &base)
}

/// JSON pointer to the schema of a response component (`/components/responses/X`).
pub fn component_schema(doc: &Value, base: &str) -> String {
    let content = doc
        .pointer(&format!("{base}/content"))
        .unwrap_or_else(|| panic!("no content at {base}"));
    let media = content
        .as_object()
        .and_then(|c| c.keys().next().cloned())
        .unwrap_or_else(|| panic!("no media type at {base}"));
    let pointer = format!("{base}/content/{}/schema", pointer_escape(&media));
    // A URI fragment: `{mesh}` and friends must be percent-encoded.
    format!(
        "#{}",
        pointer
            .replace('%', "%25")
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace(' ', "%20")
    )
}

/// Validates `instance` against the schema at `pointer` in `doc`; returns the problems.
pub fn check(doc: &Value, pointer: &str, instance: &Value) -> Vec<String> {
    let mut root = doc.clone();
    root.as_object_mut()
        .unwrap()
        .insert("$ref".into(), Value::from(pointer));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {pointer}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(20)
        .collect()
}

/// Asserts validity.
pub fn assert_valid(doc: &Value, pointer: &str, instance: &Value, what: &str) {
    let problems = check(doc, pointer, instance);
    assert!(
        problems.is_empty(),
        "{what} does not match {pointer}:\n{}",
        problems.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Shape comparison with golden responses, for endpoints whose spec schema says nothing
// (`service-insights` is `type: object` in the GUI overlay; legacy `traffic-permissions` is not in
// either spec).

/// Object keys whose values are maps with arbitrary keys.
const MAP_KEYS: [&str; 5] = ["tags", "labels", "match", "issuedBackends", "policies"];

/// Checks that every key of `actual` appears at the same place in some golden, with the same JSON
/// type (`next` may be a string or null). `extra` names keys Kuma's source shows but no golden
/// happens to contain (`path.key`).
pub fn shape_problems(actual: &Value, goldens: &[&Value], path: &str, extra: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let same = |a: &Value, g: &Value| kind(a) == kind(g) || (path.ends_with(".next") && matches!(a, Value::String(_)));
    if !goldens.iter().any(|g| same(actual, g)) {
        out.push(format!(
            "{path}: {} where the goldens have {:?}",
            kind(actual),
            goldens.iter().map(|g| kind(g)).collect::<Vec<_>>()
        ));
        return out;
    }
    match actual {
        Value::Object(map) => {
            let is_map = MAP_KEYS.iter().any(|k| path.ends_with(&format!(".{k}")));
            for (key, value) in map {
                let at = format!("{path}.{key}");
                let golden_values: Vec<&Value> = goldens
                    .iter()
                    .filter_map(|g| g.as_object())
                    .flat_map(|g| {
                        if is_map {
                            g.values().collect::<Vec<_>>()
                        } else {
                            g.get(key).into_iter().collect()
                        }
                    })
                    .collect();
                if golden_values.is_empty() {
                    if !extra.contains(&at.trim_start_matches('$').trim_start_matches('.')) {
                        out.push(format!("{at}: not in any golden"));
                    }
                    continue;
                }
                out.extend(shape_problems(value, &golden_values, &at, extra));
            }
        }
        Value::Array(items) => {
            let golden_items: Vec<&Value> = goldens.iter().filter_map(|g| g.as_array()).flatten().collect();
            if !golden_items.is_empty() {
                for item in items {
                    out.extend(shape_problems(item, &golden_items, &format!("{path}[]"), extra));
                }
            }
        }
        _ => {}
    }
    out
}
