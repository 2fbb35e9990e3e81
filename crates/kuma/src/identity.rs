//! Workload identity from MeshIdentity (Kuma 2.12+; the only identity system in Kuma 3.0, which
//! removes `Mesh.mtls`), and what it means for a mesh.
//!
//! Whether traffic permissions are enforced no longer follows from the Mesh alone. Kuma 2.14.3's
//! MeshTrafficPermission plugin skips a proxy only when `!MTLSEnabled() && WorkloadIdentity ==
//! nil` (`pkg/plugins/policies/meshtrafficpermission/plugin/v1alpha1/plugin.go`); 3.0 skips it
//! when `WorkloadIdentity == nil`. A proxy gets a workload identity
//! (`pkg/core/resources/apis/meshidentity/providers/manager.go`, `pkg/xds/sync/dataplane_watchdog.go`)
//! when:
//!
//! 1. some MeshIdentity of its mesh selects it: `spec.selector.dataplane` is set and each of its
//!    `matchLabels` equals the Dataplane's label (`AllMatched`; no selector or no `dataplane`
//!    selects nothing, empty `matchLabels` selects every dataplane);
//! 2. the best of those, most `matchLabels` first and then the smallest name (`BestMatched`), is
//!    initialized: its `status.conditions` hold `Ready` = `True` (`IsInitialized`). Kuma does not
//!    fall back to the next best: an uninitialized best match leaves the proxy without identity.
//!
//! With a workload identity a proxy's inbounds are STRICT unless a MeshTLS policy says otherwise
//! (`getMeshTLSMode` in `pkg/plugins/policies/meshtls/plugin/v1alpha1/plugin.go`), and only the
//! MeshTrafficPermissions' `rules[]` decide: `from[]` is not applied
//! (`apply-workload-identity-ignores-from.golden.yaml`).

use crate::model::{MeshTrafficPermission, Meta, Tags};
use serde::{Deserialize, Serialize};

/// `GET /meshes/{mesh}/meshidentities` items (spec `MeshIdentityItem`): a new-style resource.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MeshIdentity {
    /// Type, mesh, name, labels.
    #[serde(flatten)]
    pub meta: Meta,
    /// What it selects and how it issues identities.
    #[serde(default)]
    pub spec: MeshIdentitySpec,
    /// Conditions the control plane's reconciler writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MeshIdentityStatus>,
}

/// `MeshIdentity.spec`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshIdentitySpec {
    /// Which dataplanes get this identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<IdentitySelector>,
    /// The SPIFFE ID templates (`trustDomain`, `path`).
    #[serde(rename = "spiffeID", default, skip_serializing_if = "Option::is_none")]
    pub spiffe_id: Option<serde_json::Value>,
    /// The certificate provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<IdentityProvider>,
}

/// `MeshIdentity.spec.selector`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdentitySelector {
    /// A label selector on Dataplane labels; absent selects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane: Option<LabelSelector>,
}

/// Kuma's `common_api.LabelSelector`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels a dataplane must carry with these values; none means every dataplane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<Tags>,
}

/// `MeshIdentity.spec.provider`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdentityProvider {
    /// `Bundled`, `Spire` or `Extension`.
    #[serde(rename = "type", default)]
    pub provider_type: String,
}

/// `MeshIdentity.status`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MeshIdentityStatus {
    /// Kubernetes-style conditions (`Ready`, `Provider`, `MeshTrustCreated`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One status condition.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type", default)]
    pub condition_type: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// CamelCase reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl MeshIdentity {
    /// Whether it selects a dataplane with these labels (Kuma's `AllMatched`).
    pub fn selects(&self, labels: &Tags) -> bool {
        let Some(dataplane) = self.spec.selector.as_ref().and_then(|s| s.dataplane.as_ref()) else {
            return false;
        };
        dataplane
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Whether it can select any dataplane at all (it has a `dataplane` selector).
    pub fn has_dataplane_selector(&self) -> bool {
        self.spec.selector.as_ref().is_some_and(|s| s.dataplane.is_some())
    }

    /// Whether the control plane has initialized it (`Ready` is `True`, Kuma's `IsInitialized`).
    pub fn is_initialized(&self) -> bool {
        self.status
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.condition_type == "Ready" && c.status == "True")
    }

    /// How many labels its selector names (the specificity `BestMatched` ranks by).
    fn specificity(&self) -> usize {
        self.spec
            .selector
            .as_ref()
            .and_then(|s| s.dataplane.as_ref())
            .and_then(|d| d.match_labels.as_ref())
            .map_or(0, |m| m.len())
    }
}

/// The MeshIdentity Kuma picks for a dataplane with these labels (`BestMatched`): most
/// `matchLabels` first, then the smallest name.
pub fn best_match<'a>(labels: &Tags, identities: &'a [MeshIdentity]) -> Option<&'a MeshIdentity> {
    identities.iter().filter(|mi| mi.selects(labels)).min_by(|a, b| {
        b.specificity()
            .cmp(&a.specificity())
            .then_with(|| a.meta.name.cmp(&b.meta.name))
    })
}

/// The MeshIdentity that gives a dataplane with these labels its workload identity, if any: the
/// best match, when it is initialized.
pub fn workload_identity<'a>(labels: &Tags, identities: &'a [MeshIdentity]) -> Option<&'a MeshIdentity> {
    best_match(labels, identities).filter(|mi| mi.is_initialized())
}

/// The MeshTrafficPermissions as a proxy with a workload identity is judged by: their `rules[]`
/// only. Kuma 2.14.3 configures RBAC from a proxy's inbound rules whenever it has a workload
/// identity and falls back to `from[]` only without one (`plugin.go`: `(!ok || len(inboundRules)
/// == 0) && proxy.WorkloadIdentity == nil`); Kuma 3.0 has no `from[]`. Pass the result to
/// `permissions` for a mesh whose proxies have workload identities.
pub fn rules_only(mtps: &[MeshTrafficPermission]) -> Vec<MeshTrafficPermission> {
    mtps.iter()
        .cloned()
        .map(|mut mtp| {
            mtp.spec.from.clear();
            mtp
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str, selector: serde_json::Value, ready: bool) -> MeshIdentity {
        let mut v = serde_json::json!({"type": "MeshIdentity", "mesh": "default", "name": name,
            "spec": {"selector": selector, "provider": {"type": "Bundled"}}});
        if ready {
            v["status"] = serde_json::json!({"conditions": [
                {"type": "Ready", "status": "True", "reason": "Ready", "message": "Successfully initialized"}]});
        }
        serde_json::from_value(v).expect("identity")
    }

    fn labels(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selection_follows_kumas_all_matched() {
        let all = identity("all", serde_json::json!({"dataplane": {"matchLabels": {}}}), true);
        let none = identity("none", serde_json::json!({}), true);
        let team = identity(
            "team",
            serde_json::json!({"dataplane": {"matchLabels": {"team": "a"}}}),
            true,
        );
        let dp = labels(&[("team", "a"), ("app", "web")]);
        assert!(all.selects(&dp) && all.selects(&Tags::new()));
        assert!(!none.selects(&dp), "no dataplane selector selects nothing");
        assert!(team.selects(&dp) && !team.selects(&labels(&[("team", "b")])));
    }

    #[test]
    fn the_most_specific_then_smallest_name_wins_and_must_be_ready() {
        let ids = vec![
            identity("b-all", serde_json::json!({"dataplane": {}}), true),
            identity("a-all", serde_json::json!({"dataplane": {"matchLabels": {}}}), true),
            identity(
                "team",
                serde_json::json!({"dataplane": {"matchLabels": {"team": "a"}}}),
                false,
            ),
        ];
        let other = labels(&[("team", "b")]);
        assert_eq!(best_match(&other, &ids).map(|m| m.meta.name.as_str()), Some("a-all"));
        assert!(workload_identity(&other, &ids).is_some());
        // The best match for team a is not initialized: Kuma gives no identity, no fallback.
        let team_a = labels(&[("team", "a")]);
        assert_eq!(best_match(&team_a, &ids).map(|m| m.meta.name.as_str()), Some("team"));
        assert!(workload_identity(&team_a, &ids).is_none());
    }
}
