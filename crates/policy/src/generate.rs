//! The MeshTrafficPermission that lets in exactly a provider's declared consumers.
//!
//! Two forms, as Kuma 2.14's spec (`MeshTrafficPermissionItem.spec`) has them; Kuma refuses a
//! policy with both (`validator.go`: "field 'from' must be empty when 'rules' is defined"):
//!
//! - [`Form::From`], for meshes with `Mesh.mtls` (Kuma ignores `from[]` on proxies with a
//!   MeshIdentity: plugin testdata `apply-workload-identity-ignores-from.golden.yaml`):
//!   ```yaml
//!   from:
//!     - targetRef: {kind: Mesh}
//!       default: {action: Deny}          # AllowWithShadowDeny in the shadow phase
//!     - targetRef: {kind: MeshSubset, tags: {kuma.io/service: orders}}
//!       default: {action: Allow}         # one entry per declared consumer
//!   ```
//!   Kuma merges `from[]` entries in order, later ones overriding earlier ones for the clients they
//!   contain (`bearing_kuma::permissions`, step 3), so the leading `Mesh` entry also overrides a
//!   broader policy's allow for everyone not named: the provider admits exactly its consumers.
//!   The shadow phase turns that entry into `AllowWithShadowDeny` (the action Kuma documents for
//!   "rolling new restrictive policies without breaking things"): everyone else still gets in,
//!   logged as if denied; the consumers stay plain `Allow`.
//! - [`Form::Rules`], the SPIFFE-identity form for meshes with MeshIdentity (the only form Kuma's
//!   next major keeps, `fixtures/next/get_resource.golden.json`):
//!   ```yaml
//!   rules:
//!     - default:
//!         allow:
//!           - spiffeID: {type: Exact, value: "spiffe://td/ns/shop/sa/orders"}
//!         allowWithShadowDeny:           # shadow phase only
//!           - spiffeID: {type: Prefix, value: "spiffe://td"}
//!   ```
//!   Rules are default-deny, but additive: a deny always wins and there is no "everyone but"
//!   matcher, so this form cannot take back what another policy allows; the proposal admits
//!   exactly the consumers *itself*, and [`would_change`] shows the net effect. A provider with no
//!   declared consumer gets `deny: [Prefix spiffe://<trust domain>]` (an empty rule is refused by
//!   Kuma's `validateRules`). The shadow phase's `Prefix` is a plain string prefix in Envoy
//!   (`pkg/envoy/builders/xds/matchers/matchers.go`); go-spiffe refuses a trailing `/`, so the
//!   value is the bare `spiffe://<trust domain>`. Kuma builds the RBAC shadow matcher from the
//!   shadow-deny matchers alone with a DENY fallback (`rbac_configurer.go`
//!   `createShadowMatcher`), so in this phase every request to the provider, consumers' too, is
//!   logged as shadow-denied, and `bearing_kuma::permissions` reports the consumers as
//!   `AllowWithShadowDeny`; where a per-caller shadow matters, use the `from[]` form.
//!
//! The proposal's top-level `targetRef` comes from [`DataplaneSelector`]. Consumers are
//! deduplicated and sorted, so the same set always gives the same spec and hash.

mod change;
mod spiffe;
mod target;

pub use change::{diff, would_change, CallerChange, Change};
pub use target::DataplaneSelector;

use crate::names::{component_label, proposal_name};
use crate::resource::{Proposal, COMPONENT_LABEL};
use crate::Error;
use bearing_kuma::model::{MeshTrafficPermission, Tags, SERVICE_TAG};
use bearing_kuma::permissions::Workload;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The Kuma resource type generated here.
pub const KIND: &str = "MeshTrafficPermission";

/// Which MeshTrafficPermission form to write (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `rules[]` with SPIFFE-ID matchers: meshes using MeshIdentity.
    Rules,
    /// `from[]` with `MeshSubset` client groups: meshes with `Mesh.mtls`.
    From,
}

/// A shadow phase: everyone who is not a declared consumer is let in, but logged as denied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shadow {
    /// For [`Form::Rules`], the trust domains whose workloads are "everyone else"; empty means
    /// the provider's own (from its SPIFFE ID). Callers from other trust domains stay denied.
    /// Ignored by [`Form::From`], whose `Mesh` entry covers every client.
    #[serde(default)]
    pub trust_domains: Vec<String>,
}

/// What to generate a policy for.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The mesh the policy goes into (also the builtin SPIFFE trust domain).
    pub mesh: &'a str,
    /// The provider's catalog reference, e.g. `component:default/payments`.
    pub component: &'a str,
    /// The provider: its Kuma service (`service`), tags, dataplane labels and SPIFFE ID.
    pub provider: &'a Workload,
    /// How the policy selects the provider's dataplanes.
    pub selector: &'a DataplaneSelector,
    /// The declared consumers (with SPIFFE IDs where the mesh uses MeshIdentity; otherwise
    /// Kuma's builtin `spiffe://<mesh>/<service>` is used for [`Form::Rules`]).
    pub consumers: &'a [Workload],
    /// The form to write.
    pub form: Form,
    /// A shadow phase, or `None` to enforce at once.
    pub shadow: Option<&'a Shadow>,
}

/// Generates the proposal (see the module docs). Fails on a selector that misses the provider
/// and on SPIFFE IDs or trust domains Kuma would refuse.
pub fn generate(request: &Request<'_>) -> Result<Proposal, Error> {
    let provider = request.provider;
    if !request.selector.selects(&provider.labels) {
        return Err(Error::SelectorMissesProvider {
            service: provider.service.clone(),
            selector: match request.selector {
                DataplaneSelector::Labels(labels) => labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                DataplaneSelector::ServiceTag => format!("{SERVICE_TAG}={}", provider.service),
            },
        });
    }
    let target_ref =
        serde_json::to_value(request.selector.target_ref(&provider.service)).map_err(|source| Error::Model {
            kind: KIND,
            name: proposal_name(request.component),
            source,
        })?;
    let body = match request.form {
        Form::From => from_entries(request),
        Form::Rules => rules(request)?,
    };
    let mut spec = serde_json::Map::new();
    spec.insert("targetRef".into(), target_ref);
    let key = match request.form {
        Form::From => "from",
        Form::Rules => "rules",
    };
    spec.insert(key.into(), body);
    let mut labels = Tags::new();
    labels.insert(COMPONENT_LABEL.to_string(), component_label(request.component));
    let proposal = Proposal::new(
        KIND,
        request.mesh,
        proposal_name(request.component),
        labels,
        Value::Object(spec),
    );
    // The invariant the server relies on: what is proposed reads back through Kuma's model.
    to_mesh_traffic_permission(&proposal)?;
    Ok(proposal)
}

/// The proposal as `bearing_kuma`'s model, for evaluating it with `bearing_kuma::permissions`.
pub fn to_mesh_traffic_permission(proposal: &Proposal) -> Result<MeshTrafficPermission, Error> {
    serde_json::from_value(proposal.resource_json()).map_err(|source| Error::Model {
        kind: KIND,
        name: proposal.name.clone(),
        source,
    })
}

fn consumer_services(consumers: &[Workload]) -> BTreeSet<&str> {
    consumers
        .iter()
        .map(|c| c.service.as_str())
        .filter(|s| !s.is_empty())
        .collect()
}

fn from_entries(request: &Request<'_>) -> Value {
    let others = if request.shadow.is_some() {
        "AllowWithShadowDeny"
    } else {
        "Deny"
    };
    let mut entries = vec![json!({"targetRef": {"kind": "Mesh"}, "default": {"action": others}})];
    for service in consumer_services(request.consumers) {
        entries.push(json!({
            "targetRef": {"kind": "MeshSubset", "tags": {SERVICE_TAG: service}},
            "default": {"action": "Allow"},
        }));
    }
    Value::Array(entries)
}

fn rules(request: &Request<'_>) -> Result<Value, Error> {
    let mut ids = BTreeSet::new();
    for consumer in request.consumers.iter().filter(|c| !c.service.is_empty()) {
        let id = consumer.spiffe_id_in(request.mesh);
        spiffe::check_id(&consumer.service, &id)?;
        ids.insert(id);
    }
    let provider_id = request.provider.spiffe_id_in(request.mesh);
    spiffe::check_id(&request.provider.service, &provider_id)?;
    let own_domain = spiffe::trust_domain(&provider_id).unwrap_or(request.mesh).to_string();
    let prefixes = |domains: &[String]| -> Result<Vec<Value>, Error> {
        let domains: BTreeSet<&str> = if domains.is_empty() {
            BTreeSet::from([own_domain.as_str()])
        } else {
            domains.iter().map(String::as_str).collect()
        };
        domains
            .into_iter()
            .map(|d| {
                if spiffe::is_trust_domain(d) {
                    Ok(json!({"spiffeID": {"type": "Prefix", "value": format!("spiffe://{d}")}}))
                } else {
                    Err(Error::InvalidTrustDomain(d.to_string()))
                }
            })
            .collect()
    };
    let mut default = serde_json::Map::new();
    if !ids.is_empty() {
        let allow: Vec<Value> = ids
            .iter()
            .map(|id| json!({"spiffeID": {"type": "Exact", "value": id}}))
            .collect();
        default.insert("allow".into(), Value::Array(allow));
    }
    match request.shadow {
        Some(shadow) => {
            default.insert(
                "allowWithShadowDeny".into(),
                Value::Array(prefixes(&shadow.trust_domains)?),
            );
        }
        None if ids.is_empty() => {
            default.insert("deny".into(), Value::Array(prefixes(&[])?));
        }
        None => {}
    }
    Ok(json!([{"default": default}]))
}
