//! The top-level `targetRef`: which dataplanes a generated policy is configured on.
//!
//! Kuma 2.10+ lists the allowed top-level kinds of MeshTrafficPermission as `Mesh`, `Dataplane`
//! and `MeshSubset (deprecated)` (kuma-website `app/_src/policies/meshtrafficpermission.md`,
//! "TargetRef support matrix"), and its 2.10+ example selects the provider with
//! `{kind: Dataplane, labels: {app: payments}}`; Kuma's migration tool reports a top-level
//! `MeshSubset` and rewrites it to `Dataplane` with labels. A `Dataplane` selector matches the
//! dataplane resource's *labels* (`isSelectedByLabels`, `pkg/plugins/policies/core/matchers/
//! dataplane.go` at v2.14.3): on Kubernetes the pod's labels plus Kuma's own
//! (`k8s.kuma.io/namespace`, ...), on universal whatever the dataplane was created with. Those are
//! not known from a service name, so Bearing chooses labels from the dataplanes it has polled
//! ([`DataplaneSelector::choose`]) and falls back to the deprecated but still accepted
//! (`validateTop` in `meshtrafficpermission/api/v1alpha1/validator.go` allows `MeshSubset`)
//! `{kind: MeshSubset, tags: {kuma.io/service: <service>}}`, which selects exactly the inbounds
//! tagged with the service (`inboundsSelectedByTags`), when no label set is unambiguous.
//! `bearing_kuma::permissions` evaluates both (`Dataplane` by labels needs the target workload's
//! labels, which the server has from the poll).

use bearing_kuma::model::{Tags, TargetRef, TargetRefKind, SERVICE_TAG};
use serde::{Deserialize, Serialize};

/// Label keys that name an application, most specific first: the Kubernetes recommended label,
/// the `app` label of Kuma's own examples, then the service tag when a universal dataplane was
/// labelled with it.
const APP_LABEL_KEYS: [&str; 3] = ["app.kubernetes.io/name", "app", SERVICE_TAG];
/// Kuma's label with a Kubernetes dataplane's namespace, added to make an `app` label unique.
const NAMESPACE_LABEL: &str = "k8s.kuma.io/namespace";

/// How a generated policy selects the provider's dataplanes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataplaneSelector {
    /// `{kind: Dataplane, labels: {...}}`: Kuma's recommended form since 2.10.
    Labels(Tags),
    /// `{kind: MeshSubset, tags: {kuma.io/service: <service>}}`: deprecated at the top level
    /// since 2.10, still accepted by 2.14, exact by construction.
    ServiceTag,
}

impl DataplaneSelector {
    /// Chooses labels that every one of the provider's dataplanes carries with the same value
    /// and no other dataplane matches, trying each of `app.kubernetes.io/name`, `app` and
    /// `kuma.io/service`, with `k8s.kuma.io/namespace` added when the provider's dataplanes share
    /// one; [`DataplaneSelector::ServiceTag`] when none works (or the labels are unknown).
    /// `provider` and `others` are dataplane label sets; O(candidates × dataplanes).
    pub fn choose(provider: &[&Tags], others: &[&Tags]) -> DataplaneSelector {
        let Some(first) = provider.first() else {
            return DataplaneSelector::ServiceTag;
        };
        let shared = |key: &str| {
            let value = first.get(key)?;
            provider
                .iter()
                .all(|dp| dp.get(key) == Some(value))
                .then(|| value.clone())
        };
        for key in APP_LABEL_KEYS {
            let Some(value) = shared(key) else { continue };
            let mut labels = Tags::new();
            labels.insert(key.to_string(), value);
            if let Some(ns) = shared(NAMESPACE_LABEL) {
                labels.insert(NAMESPACE_LABEL.to_string(), ns);
            }
            if !others.iter().any(|dp| contains(dp, &labels)) {
                return DataplaneSelector::Labels(labels);
            }
        }
        DataplaneSelector::ServiceTag
    }

    /// The top-level `targetRef` for a provider whose Kuma service is `service`.
    pub fn target_ref(&self, service: &str) -> TargetRef {
        match self {
            DataplaneSelector::Labels(labels) => TargetRef {
                labels: Some(labels.clone()),
                ..TargetRef::of(TargetRefKind::Dataplane)
            },
            DataplaneSelector::ServiceTag => {
                let mut tags = Tags::new();
                tags.insert(SERVICE_TAG.to_string(), service.to_string());
                TargetRef {
                    tags: Some(tags),
                    ..TargetRef::of(TargetRefKind::MeshSubset)
                }
            }
        }
    }

    /// Whether the selector selects a dataplane with these labels (`ServiceTag` always does:
    /// it is built from the provider's own service).
    pub fn selects(&self, labels: &Tags) -> bool {
        match self {
            DataplaneSelector::Labels(want) => !want.is_empty() && contains(labels, want),
            DataplaneSelector::ServiceTag => true,
        }
    }
}

fn contains(labels: &Tags, want: &Tags) -> bool {
    want.iter().all(|(k, v)| labels.get(k) == Some(v))
}
