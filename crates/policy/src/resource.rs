//! A generated Kuma resource and its two YAML renderings.

use crate::canonical::spec_hash;
use crate::yaml::to_yaml;
use bearing_kuma::model::Tags;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Label naming the catalog component a generated policy belongs to (its token, see
/// [`crate::names::component_label`]).
pub const COMPONENT_LABEL: &str = "bearing.dev/component";
/// Label holding [`crate::spec_hash`] of the spec, to tell whether the applied policy is still
/// what Bearing generates.
pub const SPEC_HASH_LABEL: &str = "bearing.dev/spec-hash";
/// Label naming the template a policy came from.
pub const TEMPLATE_LABEL: &str = "bearing.dev/template";
/// Namespace of generated policies on Kubernetes: Kuma's system namespace, so that, like the
/// universal resources Bearing also proposes, they are mesh-level policies with policy role
/// `system` (kuma-website `app/_src/policies/introduction.md`: "system: Policies defined on
/// global or in the zone's system namespace"), which owners' policies in their own namespaces
/// can still override.
pub const KUBERNETES_NAMESPACE: &str = "kuma-system";

/// A Kuma policy Bearing proposes: what to show, diff and apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Kuma resource type, e.g. `MeshTrafficPermission`.
    pub kind: String,
    /// The mesh it belongs to.
    pub mesh: String,
    /// Its name, a DNS-1123 label ([`crate::names`]).
    pub name: String,
    /// `bearing.dev/component`, `bearing.dev/spec-hash` (and `bearing.dev/template`).
    pub labels: Tags,
    /// The spec, shaped exactly as Kuma's `<Kind>Item.spec`.
    pub spec: Value,
    /// Kuma universal resource (`kumactl apply -f`): `type`, `mesh`, `name`, `labels`, `spec`.
    pub universal_yaml: String,
    /// Kubernetes manifest (`kubectl apply -f`): `apiVersion: kuma.io/v1alpha1`, `kind`,
    /// `metadata` (name, namespace `kuma-system`, labels with `kuma.io/mesh`), `spec`.
    pub kubernetes_yaml: String,
}

impl Proposal {
    /// Builds a proposal; `labels` gets the spec hash added.
    pub(crate) fn new(kind: &str, mesh: &str, name: String, mut labels: Tags, spec: Value) -> Proposal {
        labels.insert(SPEC_HASH_LABEL.to_string(), spec_hash(&spec));
        let universal_yaml = universal_yaml(kind, mesh, &name, &labels, &spec);
        let kubernetes_yaml = kubernetes_yaml(kind, mesh, &name, &labels, &spec);
        Proposal {
            kind: kind.to_string(),
            mesh: mesh.to_string(),
            name,
            labels,
            spec,
            universal_yaml,
            kubernetes_yaml,
        }
    }

    /// The resource as Kuma's REST API reads and writes it (`PUT /meshes/{mesh}/<path>/{name}`),
    /// the `<Kind>Item` schema of Kuma's OpenAPI spec: `type`, `mesh`, `name`, `labels`, `spec`.
    pub fn resource_json(&self) -> Value {
        resource_json(&self.kind, &self.mesh, &self.name, &self.labels, &self.spec)
    }
}

/// `{type, mesh, name, labels, spec}` (YAML prints them in that order, see `yaml.rs`).
pub fn resource_json(kind: &str, mesh: &str, name: &str, labels: &Tags, spec: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), Value::String(kind.into()));
    out.insert("mesh".into(), Value::String(mesh.into()));
    out.insert("name".into(), Value::String(name.into()));
    if !labels.is_empty() {
        out.insert("labels".into(), json!(labels));
    }
    out.insert("spec".into(), spec.clone());
    Value::Object(out)
}

/// Kuma universal YAML of a resource. Public so the server can render the policy currently in
/// Kuma the same way before [`crate::diff`]ing it with a proposal.
pub fn universal_yaml(kind: &str, mesh: &str, name: &str, labels: &Tags, spec: &Value) -> String {
    to_yaml(&resource_json(kind, mesh, name, labels, spec))
}

/// Kubernetes manifest of a resource, in [`KUBERNETES_NAMESPACE`], labelled with its mesh
/// (`kuma.io/mesh`, as in every Kubernetes example of Kuma's policy docs).
pub fn kubernetes_yaml(kind: &str, mesh: &str, name: &str, labels: &Tags, spec: &Value) -> String {
    let mut k8s_labels = labels.clone();
    k8s_labels.insert("kuma.io/mesh".to_string(), mesh.to_string());
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(name.into()));
    metadata.insert("namespace".into(), Value::String(KUBERNETES_NAMESPACE.into()));
    metadata.insert("labels".into(), json!(k8s_labels));
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String("kuma.io/v1alpha1".into()));
    out.insert("kind".into(), Value::String(kind.into()));
    out.insert("metadata".into(), Value::Object(metadata));
    out.insert("spec".into(), spec.clone());
    to_yaml(&Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_yaml, Limits};

    #[test]
    fn yaml_reads_back_as_the_resource() {
        let spec = json!({
            "targetRef": {"kind": "Dataplane", "labels": {"app": "payments"}},
            "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://td/ns/a/sa/b"}}]}}]
        });
        let labels: Tags = [(COMPONENT_LABEL.to_string(), "payments".to_string())].into();
        let proposal = Proposal::new(
            "MeshTrafficPermission",
            "default",
            "bearing-payments".into(),
            labels,
            spec,
        );
        let limits = Limits {
            max_depth: 32,
            max_nodes: 10_000,
        };
        assert_eq!(
            from_yaml(&proposal.universal_yaml, limits).unwrap(),
            proposal.resource_json()
        );
        let k8s = from_yaml(&proposal.kubernetes_yaml, limits).unwrap();
        assert_eq!(k8s["spec"], proposal.spec);
        assert_eq!(k8s["metadata"]["labels"]["kuma.io/mesh"], json!("default"));
        assert_eq!(k8s["metadata"]["namespace"], json!(KUBERNETES_NAMESPACE));
    }
}
