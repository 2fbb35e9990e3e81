//! Writes: `PUT` and `DELETE` of MeshTrafficPermissions and the templated policies, answered the
//! way Kuma 2.14.3's API server answers them (`pkg/api-server/resource_endpoints.go`,
//! `createOrUpdateResource`, `deleteResource`; errors through `pkg/core/rest/errors/error_handler.go`).
//!
//! A PUT goes through Kuma's steps in Kuma's order: the mesh must exist (404 "Failed to retrieve
//! Mesh"); the body must be a JSON object (400 "Bad Request", `invalid <Kind> object: "…"`); schema
//! defaults are applied and the body validated against Kuma's schema, then by Kuma's own rules
//! for the type (400 "Could not process a resource" / "Resource is not valid" with the fields);
//! the URL's name and mesh must match the body's and the labels be valid (same 400). It is then
//! created (201) or replaced (200), both answering `{}` or `{"warnings": [...]}` with the type's
//! deprecations. Kuma stores what its Go types keep, so unknown fields are dropped, and computes
//! labels (`kuma.io/mesh`, `kuma.io/origin: zone`, `kuma.io/zone`, `kuma.io/env: universal`,
//! `pkg/core/resources/labels/compute.go`). The world changes at once: counters fold first, then
//! enforcement follows the new policies.
//!
//! With the API read-only (a Kubernetes control plane) every write answers 405 before anything
//! else, as Kuma registers `methodNotAllowed` in place of the write handlers.

use crate::policies::Writable;
use crate::sim::{MeshRt, State};
use crate::spec::{MtpEntry, PolicyEntry};
use crate::wire::ApiError;
use bearing_kuma::model::{MeshTrafficPermission, Meta, MtpSpec};
use bearing_kuma::{checks, schema};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Largest request body accepted (the simulator's own bound; Kuma reads bodies whole).
pub const MAX_BODY: usize = 1024 * 1024;

/// Kuma's message for a write to a read-only API in zone mode. A Kubernetes control plane runs in
/// zone mode (the Helm chart's `controlPlane.mode: zone`; `standalone` is rewritten to `zone` at
/// start, `app/kuma-cp/cmd/run.go`), so `readOnlyMessage()` picks this one, not the `k8sReadOnlyMessage`
/// constant, which only the deprecated `standalone` mode would reach.
pub const ZONE_READ_ONLY_MESSAGE: &str = "On zone control plane you can only modify zone resources with 'kumactl apply' or via the HTTP API. You can still use 'kumactl' or the HTTP API to modify the rest of the resource on the global control plane.\n";

/// A write Kuma refuses: status, title, detail and `(field, reason)` violations.
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// `title`.
    pub title: &'static str,
    /// `detail`.
    pub detail: String,
    /// `invalid_parameters`.
    pub invalid: Vec<(String, String)>,
}

impl Refusal {
    fn new(status: u16, title: &'static str, detail: impl Into<String>) -> Self {
        Refusal {
            status,
            title,
            detail: detail.into(),
            invalid: Vec::new(),
        }
    }

    fn invalid(invalid: Vec<(String, String)>) -> Self {
        Refusal {
            status: 400,
            title: "Could not process a resource",
            detail: "Resource is not valid".into(),
            invalid,
        }
    }

    /// Kuma's error body.
    pub fn body(&self) -> ApiError {
        ApiError::body(self.status, self.title, &self.detail, &self.invalid)
    }
}

/// The 405 every write gets while the API is read-only (`methodNotAllowed`: title "Method not
/// allowed", the detail the read-only message).
pub fn read_only_refusal() -> Refusal {
    Refusal::new(405, "Method not allowed", ZONE_READ_ONLY_MESSAGE)
}

/// Created (201) or updated (200), with Kuma's warnings.
#[derive(Debug)]
pub struct Written {
    /// 201 or 200.
    pub status: u16,
    /// Deprecation warnings (empty: the body is `{}`).
    pub warnings: Vec<String>,
}

impl Written {
    /// `CreateOrUpdateSuccessResponse`: `warnings` is `omitempty`.
    pub fn body(&self) -> Value {
        if self.warnings.is_empty() {
            json!({})
        } else {
            json!({ "warnings": self.warnings })
        }
    }
}

/// Go's `json.Unmarshal` message for a body that is JSON but not an object.
fn go_type_error(v: &Value) -> Option<String> {
    let kind = match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Object(_) | Value::Null => return None,
    };
    Some(format!(
        "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
    ))
}

fn parse_body(kind: &str, body: &[u8]) -> Result<Value, Refusal> {
    let bad = |reason: String| Refusal::new(400, "Bad Request", format!("invalid {kind} object: {reason:?}"));
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // Go's wording for an empty or truncated body; otherwise serde_json's (Kuma's parser is
        // Go's encoding/json, whose syntax messages differ in detail).
        bad(if e.is_eof() {
            "unexpected end of JSON input".to_string()
        } else {
            e.to_string()
        })
    })?;
    if let Some(reason) = go_type_error(&value) {
        return Err(bad(reason));
    }
    Ok(if value.is_null() { json!({}) } else { value })
}

fn computed_labels(st: &State, mesh: &str, body: &Value) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = body
        .get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    labels.entry("kuma.io/mesh".into()).or_insert_with(|| mesh.into());
    let origin = labels
        .entry("kuma.io/origin".into())
        .or_insert_with(|| "zone".into())
        .clone();
    if origin != "global" {
        labels
            .entry("kuma.io/zone".into())
            .or_insert_with(|| st.cp.zone.clone());
        labels.entry("kuma.io/env".into()).or_insert_with(|| "universal".into());
    }
    labels
}

fn mesh_mut<'a>(st: &'a mut State, mesh: &str) -> Result<&'a mut MeshRt, Refusal> {
    st.meshes
        .iter_mut()
        .find(|m| m.spec.name == mesh)
        .ok_or_else(|| Refusal::new(404, "Failed to retrieve Mesh", "Not found"))
}

impl State {
    /// `PUT /meshes/{mesh}/<kind path>/{name}` with `body`, at clock time `t`.
    pub fn put_resource(
        &mut self,
        w: &Writable,
        mesh: &str,
        name: &str,
        body: &[u8],
        t: f64,
    ) -> Result<Written, Refusal> {
        let now = self.wall(t);
        mesh_mut(self, mesh)?;
        let mut resource = parse_body(w.kind, body)?;
        schema::apply_defaults(w.kind, &mut resource);
        if let Err(errors) = schema::validate(w.kind, &resource) {
            return Err(Refusal::invalid(errors.iter().map(|e| e.kuma_violation()).collect()));
        }
        let spec_problems = checks::spec_violations(w.kind, &resource);
        if !spec_problems.is_empty() {
            return Err(Refusal::invalid(
                spec_problems.into_iter().map(|v| (v.field, v.message)).collect(),
            ));
        }
        let request_problems = checks::request_violations(mesh, name, &resource);
        if !request_problems.is_empty() {
            return Err(Refusal::invalid(
                request_problems.into_iter().map(|v| (v.field, v.message)).collect(),
            ));
        }
        schema::prune_unknown(w.kind, &mut resource);
        let labels = computed_labels(self, mesh, &resource);
        let spec = resource.get("spec").cloned().unwrap_or_else(|| json!({}));
        let warnings = checks::warnings(w.kind, &resource);
        let model = if w.kind == "MeshTrafficPermission" {
            let parsed = serde_json::from_value::<MtpSpec>(spec.clone()).map_err(|e| {
                Refusal::new(
                    400,
                    "Bad Request",
                    format!("invalid MeshTrafficPermission object: {:?}", e.to_string()),
                )
            })?;
            Some(MeshTrafficPermission {
                meta: Meta {
                    resource_type: "MeshTrafficPermission".into(),
                    mesh: Some(mesh.into()),
                    name: name.into(),
                    labels: labels.clone(),
                    ..Meta::default()
                },
                spec: parsed,
            })
        } else {
            None
        };
        let m = mesh_mut(self, mesh)?;
        let key = (w.kind.to_string(), name.to_string());
        let created = match model {
            Some(model) => {
                let entry = MtpEntry {
                    name: name.into(),
                    mesh: mesh.into(),
                    labels,
                    spec,
                };
                let existing = m.mtps.iter().position(|(e, _)| e.name == name);
                match existing {
                    Some(i) => m.mtps[i] = (entry, model),
                    None => {
                        m.mtps.push((entry, model));
                        m.mtps.sort_by(|a, b| a.0.name.cmp(&b.0.name));
                    }
                }
                existing.is_none()
            }
            None => {
                let entry = PolicyEntry {
                    kind: w.kind.into(),
                    name: name.into(),
                    mesh: mesh.into(),
                    labels,
                    spec,
                };
                let existing = m.policies.iter().position(|p| p.kind == w.kind && p.name == name);
                let world_identity =
                    w.kind == "MeshIdentity" && m.spec.mesh_identity.as_ref().is_some_and(|id| id.name == name);
                match existing {
                    Some(i) => m.policies[i] = entry,
                    None => {
                        m.policies.push(entry);
                        m.policies.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
                    }
                }
                existing.is_none() && !world_identity
            }
        };
        let created_at = match m.stamps.get(&key) {
            Some((c, _)) if !created => *c,
            _ if created => now,
            _ => m.created + time::Duration::days(1),
        };
        m.stamps.insert(key, (created_at, now));
        Ok(Written {
            status: if created { 201 } else { 200 },
            warnings,
        })
    }

    /// `DELETE /meshes/{mesh}/<kind path>/{name}`.
    pub fn delete_resource(&mut self, w: &Writable, mesh: &str, name: &str) -> Result<(), Refusal> {
        let m = mesh_mut(self, mesh)?;
        let not_found = || Refusal::new(404, "Could not delete a resource", "Not found");
        if w.kind == "MeshTrafficPermission" {
            let i = m.mtps.iter().position(|(e, _)| e.name == name).ok_or_else(not_found)?;
            m.mtps.remove(i);
        } else {
            let stored = m.policies.iter().position(|p| p.kind == w.kind && p.name == name);
            let world_identity =
                w.kind == "MeshIdentity" && m.spec.mesh_identity.as_ref().is_some_and(|id| id.name == name);
            if stored.is_none() && !world_identity {
                return Err(not_found());
            }
            if let Some(i) = stored {
                m.policies.remove(i);
            }
            if world_identity {
                m.spec.mesh_identity = None;
            }
        }
        m.stamps.remove(&(w.kind.to_string(), name.to_string()));
        Ok(())
    }
}

/// `(creationTime, modificationTime)` for tests and `/_sim/world`.
pub fn stamp_of(m: &MeshRt, kind: &str, name: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    m.stamps.get(&(kind.to_string(), name.to_string())).copied()
}
