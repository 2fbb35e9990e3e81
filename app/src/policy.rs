//! Policy follows the catalog: each caller -> destination edge of a mesh as the catalog
//! declares it, as Envoy observed it and as the mesh's traffic permissions decide it, with one
//! class saying what is wrong with it (if anything). Wire types shared by pages, server
//! functions and `GET /api/v1/mesh/edges`.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod edges;
#[cfg(feature = "ssr")]
pub mod follow;
#[cfg(feature = "ssr")]
pub mod proposal;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod templated;
#[cfg(feature = "ssr")]
mod write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One end of an edge: the Kuma service, and the component claiming it (null: not in the
/// catalog). `service` is `*` on the caller side of an `over_permitted` edge: any service of the
/// mesh that is neither declared nor observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EdgeEnd {
    pub service: String,
    pub component: Option<String>,
}

/// Traffic Envoy saw on the caller's outbound cluster to the destination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ObservedTraffic {
    /// Requests per second at the latest stats read.
    pub requests_per_s: f64,
    /// 5xx responses per second at the latest stats read.
    pub errors_per_s: f64,
    /// Calls the destination's traffic permissions refused (403s) per second, latest read.
    pub denied_per_s: f64,
    /// When the pair last carried requests (RFC 3339).
    pub last_seen: String,
}

/// What the mesh's traffic permissions decide for the edge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Permission {
    /// Whether the caller's requests get through (true for shadow-deny too).
    pub allowed: bool,
    /// Whether Kuma enforces anything here: false when mTLS is off or PERMISSIVE, or the
    /// destination is a gateway; then every call gets through whatever the policies say.
    pub enforced: bool,
    /// The deciding policy, when one decides.
    pub policy: Option<String>,
    /// The deciding entry in it: `from[0]`, `rules[1]`, `sources` (legacy).
    pub rule: Option<String>,
    /// The decision in words, e.g. `allow-web, from[0]` or `no policy selects this service`.
    pub reason: String,
}

/// One caller -> destination edge of a mesh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Edge {
    pub control_plane: String,
    pub mesh: String,
    pub from: EdgeEnd,
    pub to: EdgeEnd,
    /// The catalog declares that the caller depends on the destination.
    pub declared: bool,
    /// How: `dependsOn`, or `consumesApi api:default/orders-api` (the destination provides it).
    pub declared_via: Vec<String>,
    /// Null when the pair carried no request within the observation window.
    pub observed: Option<ObservedTraffic>,
    pub permitted: Permission,
    /// Mesh mTLS is on (the lock on the map).
    pub mtls: bool,
    /// One of [`CLASSES`].
    pub class: String,
}

/// Edge classes, worst first: the order of the drift panel and of the edge list.
pub const CLASSES: [&str; 8] = [
    "declared_denied",
    "denied_unknown",
    "will_break",
    "shadow_denied",
    "undeclared",
    "over_permitted",
    "unused_grant",
    "healthy",
];

/// `GET /api/v1/mesh/edges`: the matching edges (one page, worst first) and, over all of them,
/// how many are in each class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EdgeList {
    pub items: Vec<Edge>,
    /// Matching edges per class (classes with none are left out).
    pub counts: BTreeMap<String, u64>,
    /// Matching edges in all.
    pub total: u64,
    /// Offset of the next page, null on the last.
    pub next_offset: Option<u64>,
}

/// Which edges to list: every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeFilter {
    /// Only this mesh.
    pub mesh: Option<String>,
    /// Edges from or to this Kuma service.
    pub service: Option<String>,
    /// Edges from or to a component this team owns (`group:default/payments` or `payments`).
    pub team: Option<String>,
    /// Only these classes (comma-separated).
    pub class: Option<String>,
    /// Edges from or to this component (`component:default/orders`).
    pub component: Option<String>,
}

/// The MeshTrafficPermission that governs who may call a provider, as it is in the mesh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentPolicy {
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub spec: serde_json::Value,
    /// Universal YAML of the policy as it is.
    pub yaml: String,
    /// Bearing created it (it carries `bearing.dev/component`).
    pub managed: bool,
    /// The `bearing.dev/spec-hash` it carries, if any.
    pub hash: Option<String>,
    /// Managed, but its spec no longer matches its hash: someone edited it outside Bearing.
    pub edited_outside: bool,
}

/// The policy Bearing proposes for a provider: exactly its declared consumers may call it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProposedPolicy {
    pub name: String,
    /// Kuma universal YAML (`kumactl apply -f`).
    pub yaml: String,
    /// The Kubernetes manifest (`kubectl apply -f`), for a read-only control plane.
    pub kubernetes_yaml: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub spec: serde_json::Value,
    /// Hash of the spec: send it back as `expected_hash` to apply exactly what was previewed.
    pub hash: String,
}

/// A caller whose access the proposal changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallerChange {
    pub service: String,
    pub component: Option<String>,
    /// `allow`, `allow_with_shadow_deny` or `deny`, now and after applying.
    pub before: String,
    pub after: String,
}

/// One change Bearing made to a policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyChange {
    /// `apply`, `adopt` or `rollback`.
    pub action: String,
    pub actor: String,
    pub reason: String,
    /// RFC 3339.
    pub at: String,
}

/// `GET /api/v1/entities/{kind}/{namespace}/{name}/policy` and the entity page's Policy tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyPreview {
    pub control_plane: String,
    pub mesh: String,
    /// The provider's Kuma service.
    pub service: String,
    /// `rules` (SPIFFE IDs, meshes with MeshIdentity) or `from` (meshes with `Mesh.mtls`).
    pub form: String,
    /// The declared consumers the proposal allows.
    pub consumers: Vec<EdgeEnd>,
    pub current: Option<CurrentPolicy>,
    pub proposed: ProposedPolicy,
    /// The same policy for a shadow phase before enforcing: everyone else is still let in
    /// (`AllowWithShadowDeny`), and Envoy logs whom the policy would deny. Apply it with
    /// `shadow: true` and this hash.
    pub shadow_phase: ProposedPolicy,
    /// Bearing's policy in the mesh is in its shadow phase.
    pub in_shadow: bool,
    /// Policies selecting this service that Kuma ranks above the proposal (`from[]` form): for
    /// every caller they name, they decide, not Bearing's policy.
    pub outranked_by: Vec<String>,
    /// Unified diff from the current policy's YAML to the proposal's.
    pub diff: String,
    /// Callers (observed or declared) let in now and denied once applied.
    pub would_deny: Vec<CallerChange>,
    /// Callers denied now and let in once applied.
    pub would_allow: Vec<CallerChange>,
    /// `api` (Bearing writes it) or `read_only` (download the YAML and apply it with kubectl
    /// or GitOps).
    pub write_path: String,
    /// The caller may apply and roll back (a lead of the owning team, or an admin).
    pub can_apply: bool,
    /// There is an applied change to roll back.
    pub can_rollback: bool,
    /// Bearing's changes to this policy, newest first.
    pub history: Vec<PolicyChange>,
    /// What Bearing does with this control plane's policies (`--kuma-policy-mode`): `off`,
    /// `propose` or `apply`.
    pub mode: PolicyMode,
    /// An import changed the declared consumers and the policy in the mesh no longer follows
    /// them; null when it does (or nothing changed since it was applied).
    pub out_of_date: Option<OutOfDate>,
}

/// `GET /api/v1/entities/{kind}/{namespace}/{name}/policy/templates` and the entity page: the
/// policies admins' templates (`--policy-templates`) give this component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplatePolicies {
    pub control_plane: String,
    pub mesh: String,
    /// The component's Kuma service.
    pub service: String,
    /// `api` or `read_only` (apply the Kubernetes manifests instead).
    pub write_path: String,
    pub mode: PolicyMode,
    /// The caller may apply, adopt and roll back (a lead of the owning team, or an admin).
    pub can_apply: bool,
    /// One per template whose selector matches the component, in template order.
    pub items: Vec<TemplatePolicy>,
}

/// One template's policy for one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplatePolicy {
    /// The template's name.
    pub template: String,
    pub description: Option<String>,
    /// Kuma's type: MeshTimeout, MeshRetry, MeshAccessLog or MeshMetric.
    pub kind: String,
    pub current: Option<CurrentPolicy>,
    pub proposed: ProposedPolicy,
    /// Unified diff from the policy in the mesh to the proposal.
    pub diff: String,
    /// Bearing's policy in the mesh is the proposal.
    pub up_to_date: bool,
    /// There is an applied change to roll back (and the caller may).
    pub can_rollback: bool,
    /// Bearing's changes to this policy, newest first.
    pub history: Vec<PolicyChange>,
}

/// What Bearing does with one control plane's policies when an import changes what they follow
/// (`--kuma-policy-mode`, or `policy_mode` per control plane in `--kuma-config`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// Bearing shows what it would propose but never writes, and marks nothing.
    Off,
    /// Affected providers' policies are marked out of date; a lead applies them.
    #[default]
    Propose,
    /// Affected providers' policies are applied at once, as the identity that imported.
    Apply,
}

impl PolicyMode {
    /// Every mode, as the flag spells it.
    pub const NAMES: [&'static str; 3] = ["off", "propose", "apply"];

    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Off => "off",
            PolicyMode::Propose => "propose",
            PolicyMode::Apply => "apply",
        }
    }
}

impl std::str::FromStr for PolicyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(PolicyMode::Off),
            "propose" => Ok(PolicyMode::Propose),
            "apply" => Ok(PolicyMode::Apply),
            other => Err(format!(
                "{other:?} is not a policy mode: use one of {}",
                PolicyMode::NAMES.join(", ")
            )),
        }
    }
}

/// Why a policy is out of date, and (in `apply` mode) how re-applying it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutOfDate {
    /// When the first import that changed it ran (RFC 3339).
    pub since: String,
    /// What changed it, e.g. `import of /srv/catalog/web.yaml`.
    pub cause: String,
    /// Who imported (the audit log's actor).
    pub imported_by: String,
    /// `apply` mode: failed attempts to re-apply it so far.
    pub attempts: i32,
    /// `apply` mode: why the last attempt failed.
    pub last_error: Option<String>,
}

/// `POST .../policy/apply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplyRequest {
    /// Why (kept in the audit log).
    pub reason: String,
    /// `proposed.hash` of the preview being applied; a different proposal by now is refused
    /// (409) instead of applying something nobody saw.
    pub expected_hash: String,
    /// Apply the shadow phase (`shadow_phase` of the preview, whose hash `expected_hash` is)
    /// instead of the enforcing policy. Templated policies have no shadow phase.
    #[serde(default)]
    pub shadow: bool,
}

/// `POST .../policy/rollback` and `POST .../policy/adopt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RollbackRequest {
    pub reason: String,
}

/// What an apply or a rollback did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyWriteResult {
    pub name: String,
    /// `created`, `updated` or `deleted`.
    pub outcome: String,
    /// Kuma's warnings about the resource.
    pub warnings: Vec<String>,
}

/// How many edges are in one class: a line of a drift panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCount {
    /// One of [`CLASSES`].
    pub class: String,
    pub count: u64,
}

/// Edges per class, worst first, classes with none left out: what drift panels and the map's
/// class filters show. Counted here once so that every panel counts the same way.
pub fn class_counts(edges: &[Edge]) -> Vec<ClassCount> {
    let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
    for e in edges {
        *counts.entry(class_rank(&e.class)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(rank, count)| ClassCount {
            class: CLASSES.get(rank).map_or("unknown", |c| *c).to_owned(),
            count,
        })
        .collect()
}

/// Position of `class` in [`CLASSES`] (worst first); unknown classes sort last.
pub fn class_rank(class: &str) -> usize {
    CLASSES.iter().position(|c| *c == class).unwrap_or(CLASSES.len())
}

/// How a class reads on the map and in lists.
pub fn class_label(class: &str) -> &'static str {
    match class {
        "declared_denied" => "Declared, denied",
        "denied_unknown" => "Denied, undeclared",
        "will_break" => "Will break",
        "shadow_denied" => "Shadow-denied",
        "undeclared" => "Undeclared",
        "over_permitted" => "Over-permitted",
        "unused_grant" => "Unused grant",
        "healthy" => "Healthy",
        _ => "Unknown",
    }
}

/// What a class means, for legends and tooltips.
pub fn class_meaning(class: &str) -> &'static str {
    match class {
        "declared_denied" => "declared and called, but the mesh denies it",
        "denied_unknown" => "called and denied, and the catalog does not declare it",
        "will_break" => "declared, not called yet, and not permitted: the first call will fail",
        "shadow_denied" => "allowed only through AllowWithShadowDeny: denied once the policy is enforced",
        "undeclared" => "called and permitted, but the catalog does not declare it",
        "over_permitted" => "permitted by a mesh-wide or prefix rule, neither declared nor called",
        "unused_grant" => "declared and permitted, but not called within the window",
        "healthy" => "declared, called and permitted",
        _ => "",
    }
}

/// The stroke colour of a class on the map (SVG attribute, so a hex value, not a class name).
pub fn class_color(class: &str) -> &'static str {
    match class {
        "declared_denied" => "#dc2626",
        "denied_unknown" => "#ea580c",
        "will_break" => "#be123c",
        "shadow_denied" => "#9333ea",
        "undeclared" => "#d97706",
        "over_permitted" => "#a16207",
        "unused_grant" => "#64748b",
        "healthy" => "#16a34a",
        _ => "#94a3b8",
    }
}
