//! Who may call whom: the effective result of a mesh's traffic permissions.
//!
//! The component page lists, for a service, the callers that Kuma lets in and those it keeps out.
//! That answer must be the one Envoy enforces, so this module follows Kuma 2.x's own evaluation
//! (the `meshtrafficpermission` plugin, `rules.BuildRules` and the legacy
//! `SelectInboundConnectionPolicy`), summarised in `crates/kuma/README.md`:
//!
//! 1. **mTLS off**: Kuma skips MeshTrafficPermission and TrafficPermission entirely (RBAC is only
//!    configured on mTLS listeners), so traffic is not restricted: [`Reason::MtlsDisabled`].
//! 2. **Gateways** (builtin or delegated) get no MeshTrafficPermission RBAC on their listeners:
//!    [`Reason::GatewayNotEnforced`].
//! 3. **MeshTrafficPermission**: the policies whose top-level `targetRef` selects the target are
//!    ordered from least to most specific (kind `Mesh` < `Dataplane` < `MeshSubset` < `MeshService`
//!    < `MeshServiceSubset`; then, for `Dataplane`, a name beats labels and a `sectionName` beats
//!    none; then origin `global` < unlabelled < `zone`; then policy role; then by display name,
//!    the lexicographically *smaller* name last). Their `from[]` entries are concatenated in that
//!    order and the **last entry whose `targetRef` contains the caller decides** (Kuma merges the
//!    entries' `default`s in order, later overriding earlier). No entry containing the caller
//!    means denied.
//! 4. **`rules[]`** (SPIFFE-identity matchers, the next major's only form): a matching `deny`
//!    always wins; otherwise a matching `allowWithShadowDeny` or `allow` lets the caller in;
//!    otherwise `from[]` decides as above, and if it does not, the caller is denied (rules are
//!    default-deny).
//! 5. **Legacy TrafficPermission** applies only when no MeshTrafficPermission selects the target:
//!    the single policy whose `destinations` match the target's tags most specifically (most tags,
//!    then most exact values; ties to the newest, then the first by name) decides, and the caller is
//!    allowed iff one of its `sources` matches.
//! 6. **Nothing selects the target** with mTLS on: Kuma installs a deny-all RBAC, so denied
//!    ([`Reason::NoPolicy`]).
//!
//! A caller's SPIFFE ID, for `rules[]`, is the one given on the [`Workload`] or else Kuma's
//! builtin-CA form `spiffe://<mesh>/<service>`. What cannot be judged from the data at hand (a
//! `Dataplane` selector when the workload's labels are unknown, an SNI matcher without known SNIs)
//! never matches and is reported in [`Access::unresolved`] instead of being guessed.

use crate::model::{
    Action, ClientMatch, GatewayType, MeshTrafficPermission, MtpRuleConf, Tags, TargetRef, TargetRefKind,
    TrafficPermission, DISPLAY_NAME_LABEL, ORIGIN_LABEL, POLICY_ROLE_LABEL, SERVICE_TAG,
};
use std::cmp::Reverse;

/// A service (or one proxy of it) as a caller or a target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// The `kuma.io/service` value.
    pub service: String,
    /// Inbound tags, always including `kuma.io/service`.
    pub tags: Tags,
    /// Dataplane labels (Kubernetes labels, `k8s.kuma.io/namespace`, ...), for `Dataplane`
    /// selectors. Empty means unknown.
    pub labels: Tags,
    /// A specific dataplane's name, for `Dataplane` selectors by name.
    pub dataplane: Option<String>,
    /// The port name or number being called, for `sectionName`.
    pub section: Option<String>,
    /// The workload's SPIFFE ID, when it is not Kuma's `spiffe://<mesh>/<service>`.
    pub spiffe_id: Option<String>,
    /// SNIs clients use to reach this workload (from `MeshService.snis`), for SNI matchers.
    pub snis: Vec<String>,
    /// Set when the workload is a gateway.
    pub gateway: Option<GatewayType>,
}

impl Workload {
    /// A service known only by name: tags `{kuma.io/service: name}`.
    pub fn service(name: impl Into<String>) -> Self {
        let service = name.into();
        let mut tags = Tags::new();
        tags.insert(SERVICE_TAG.to_string(), service.clone());
        Workload {
            service,
            tags,
            ..Workload::default()
        }
    }

    /// Adds a tag.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds a dataplane label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the SPIFFE ID.
    pub fn with_spiffe_id(mut self, id: impl Into<String>) -> Self {
        self.spiffe_id = Some(id.into());
        self
    }

    /// Marks the workload as a gateway.
    pub fn as_gateway(mut self, kind: GatewayType) -> Self {
        self.gateway = Some(kind);
        self
    }

    /// The SPIFFE ID used for `rules[]` matching in `mesh`.
    pub fn spiffe_id_in(&self, mesh: &str) -> String {
        self.spiffe_id
            .clone()
            .unwrap_or_else(|| format!("spiffe://{mesh}/{}", self.service))
    }
}

/// Everything that decides access in one mesh.
#[derive(Clone, Copy, Debug)]
pub struct MeshPolicies<'a> {
    /// The mesh's name (policies of other meshes are ignored; also the SPIFFE trust domain).
    pub mesh: &'a str,
    /// Whether mesh mTLS is on ([`crate::status::mesh_mtls`]); with it off nothing is enforced.
    pub mtls_enabled: bool,
    /// The mesh's MeshTrafficPermissions, in any order.
    pub mesh_traffic_permissions: &'a [MeshTrafficPermission],
    /// The mesh's legacy TrafficPermissions, in any order.
    pub traffic_permissions: &'a [TrafficPermission],
}

/// What happens to the caller's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Let in.
    Allow,
    /// Let in, but logged as if denied (a policy being tried out).
    AllowWithShadowDeny,
    /// Kept out.
    Deny,
}

impl Decision {
    /// Whether requests get through.
    pub fn allows(self) -> bool {
        !matches!(self, Decision::Deny)
    }

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::AllowWithShadowDeny => "allow_with_shadow_deny",
            Decision::Deny => "deny",
        }
    }
}

/// Why the decision is what it is, naming the deciding policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Mesh mTLS is off: Kuma does not restrict traffic.
    MtlsDisabled,
    /// The target is a gateway: Kuma puts no MeshTrafficPermission RBAC on gateway listeners.
    GatewayNotEnforced,
    /// `from[index]` of `policy` was the last entry containing the caller.
    FromEntry {
        /// Display name of the policy.
        policy: String,
        /// Index in its `from[]`.
        index: usize,
    },
    /// A `deny` matcher in `rules[rule]` of `policy` matched the caller.
    RuleDeny {
        /// Display name of the policy.
        policy: String,
        /// Index in its `rules[]`.
        rule: usize,
    },
    /// An `allow` or `allowWithShadowDeny` matcher in `rules[rule]` of `policy` matched.
    RuleAllow {
        /// Display name of the policy.
        policy: String,
        /// Index in its `rules[]`.
        rule: usize,
    },
    /// These MeshTrafficPermissions select the target, but none of their entries admits the caller.
    NoMatchingEntry {
        /// Display names, least to most specific.
        policies: Vec<String>,
    },
    /// The legacy TrafficPermission chosen for the target lists the caller among its sources.
    LegacyPermission {
        /// Policy name.
        policy: String,
    },
    /// The legacy TrafficPermission chosen for the target does not list the caller.
    LegacyNotInSources {
        /// Policy name.
        policy: String,
    },
    /// mTLS is on and no policy selects the target: Kuma denies everything.
    NoPolicy,
}

/// The effective access of one caller to one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The verdict.
    pub decision: Decision,
    /// Why.
    pub reason: Reason,
    /// Selectors that could not be judged from the data given (treated as not matching), e.g.
    /// `mtp-a: targetRef Dataplane by labels, but the target's labels are unknown`.
    pub unresolved: Vec<String>,
}

/// Effective access of `caller` to `target` under `policies`.
pub fn evaluate(policies: &MeshPolicies<'_>, caller: &Workload, target: &Workload) -> Access {
    let mut notes = Notes::default();
    let (decision, reason) = decide(policies, caller, target, &mut notes);
    Access {
        decision,
        reason,
        unresolved: notes.0,
    }
}

/// One caller's access, for [`callers`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerAccess {
    /// The caller's service.
    pub service: String,
    /// Its access.
    pub access: Access,
}

/// A target's callers split by verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Callers {
    /// Callers whose requests get through (including shadow-deny).
    pub allowed: Vec<CallerAccess>,
    /// Callers kept out.
    pub denied: Vec<CallerAccess>,
}

/// The MeshTrafficPermissions of `policies` that can decide anything about calls to `target`:
/// those of its mesh whose top-level targetRef selects it, and those that could not be judged
/// (so that evaluating against them still reports them as unresolved). Which policies apply
/// depends on the target alone, so judging many callers of one target against this subset gives
/// the same answers as against every policy of the mesh, without asking each of thousands of
/// policies again for every caller.
pub fn relevant_to(policies: &MeshPolicies<'_>, target: &Workload) -> Vec<MeshTrafficPermission> {
    policies
        .mesh_traffic_permissions
        .iter()
        .filter(|p| p.meta.mesh.as_deref().is_none_or(|m| m == policies.mesh))
        .filter(|p| {
            let mut notes = Notes::default();
            selects_target(p, target, &mut notes) || !notes.0.is_empty()
        })
        .cloned()
        .collect()
}

/// For `target`, which of the `known` services may call it and which may not.
pub fn callers<'w>(
    policies: &MeshPolicies<'_>,
    target: &Workload,
    known: impl IntoIterator<Item = &'w Workload>,
) -> Callers {
    let relevant = relevant_to(policies, target);
    let policies = MeshPolicies {
        mesh_traffic_permissions: &relevant,
        ..*policies
    };
    let mut out = Callers::default();
    for caller in known {
        let access = evaluate(&policies, caller, target);
        let entry = CallerAccess {
            service: caller.service.clone(),
            access,
        };
        if entry.access.decision.allows() {
            out.allowed.push(entry);
        } else {
            out.denied.push(entry);
        }
    }
    out
}

/// Evaluates MeshTrafficPermission `rules[]` configurations alone, e.g. the effective rules the
/// inspect endpoint `_inbounds/{kri}/_policies` returns: `Some(Deny)` if any deny matcher matches,
/// else `Some(Allow)`/`Some(AllowWithShadowDeny)` if an allow matcher does, else `None` (which
/// Kuma treats as deny).
pub fn evaluate_rule_confs(
    confs: &[MtpRuleConf],
    mesh: &str,
    caller: &Workload,
    target: &Workload,
) -> Option<(Decision, usize)> {
    let mut notes = Notes::default();
    let spiffe = caller.spiffe_id_in(mesh);
    let matches =
        |list: &[ClientMatch], notes: &mut Notes| list.iter().any(|m| client_matches(m, &spiffe, target, notes));
    if let Some(i) = confs.iter().position(|c| matches(&c.deny, &mut notes)) {
        return Some((Decision::Deny, i));
    }
    if let Some(i) = confs
        .iter()
        .position(|c| matches(&c.allow_with_shadow_deny, &mut notes))
    {
        return Some((Decision::AllowWithShadowDeny, i));
    }
    confs
        .iter()
        .position(|c| matches(&c.allow, &mut notes))
        .map(|i| (Decision::Allow, i))
}

#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn add(&mut self, note: String) {
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

fn decide(policies: &MeshPolicies<'_>, caller: &Workload, target: &Workload, notes: &mut Notes) -> (Decision, Reason) {
    if !policies.mtls_enabled {
        return (Decision::Allow, Reason::MtlsDisabled);
    }
    if target.gateway.is_some() {
        return (Decision::Allow, Reason::GatewayNotEnforced);
    }

    let in_mesh = |mesh: &Option<String>| mesh.as_deref().is_none_or(|m| m == policies.mesh);
    let mut applicable: Vec<&MeshTrafficPermission> = policies
        .mesh_traffic_permissions
        .iter()
        .filter(|p| in_mesh(&p.meta.mesh))
        .filter(|p| selects_target(p, target, notes))
        .collect();
    if applicable.is_empty() {
        return legacy(policies, caller, target);
    }
    applicable.sort_by_key(|p| priority(p));

    // rules[]: deny wins over everything, in any order.
    let spiffe = caller.spiffe_id_in(policies.mesh);
    let mut rule_allow: Option<(Decision, Reason)> = None;
    for policy in &applicable {
        for (index, rule) in policy.spec.rules.iter().enumerate() {
            let hit = |list: &[ClientMatch], notes: &mut Notes| {
                list.iter().any(|m| client_matches(m, &spiffe, target, notes))
            };
            if hit(&rule.default.deny, notes) {
                return (
                    Decision::Deny,
                    Reason::RuleDeny {
                        policy: display_name(policy),
                        rule: index,
                    },
                );
            }
            let allow = if hit(&rule.default.allow_with_shadow_deny, notes) {
                Some(Decision::AllowWithShadowDeny)
            } else if hit(&rule.default.allow, notes) {
                Some(Decision::Allow)
            } else {
                None
            };
            if let Some(decision) = allow {
                // A shadow-deny match anywhere keeps the shadow log, so it outranks a plain allow.
                let replace = match &rule_allow {
                    None => true,
                    Some((previous, _)) => *previous == Decision::Allow && decision == Decision::AllowWithShadowDeny,
                };
                if replace {
                    rule_allow = Some((
                        decision,
                        Reason::RuleAllow {
                            policy: display_name(policy),
                            rule: index,
                        },
                    ));
                }
            }
        }
    }
    if let Some(found) = rule_allow {
        return found;
    }

    // from[]: the last entry (in precedence order) containing the caller decides.
    let mut last: Option<(&Action, String, usize)> = None;
    for policy in &applicable {
        for (index, entry) in policy.spec.from.iter().enumerate() {
            let Some(action) = entry.default.as_ref().and_then(|d| d.action.as_ref()) else {
                continue;
            };
            if caller_in(&entry.target_ref, caller, &display_name(policy), notes) {
                last = Some((action, display_name(policy), index));
            }
        }
    }
    match last {
        Some((action, policy, index)) => {
            let decision = match action {
                Action::Allow => Decision::Allow,
                Action::AllowWithShadowDeny => Decision::AllowWithShadowDeny,
                // Deny, and actions this version does not know: not among Envoy's ALLOW principals.
                Action::Deny | Action::Other(_) => Decision::Deny,
            };
            (decision, Reason::FromEntry { policy, index })
        }
        None => (
            Decision::Deny,
            Reason::NoMatchingEntry {
                policies: applicable.iter().map(|p| display_name(p)).collect(),
            },
        ),
    }
}

/// The policies of `policies` that select `target` and that Kuma ranks above `policy`, by
/// display name: their `from[]` entries merge after its own, so for every caller they name they
/// decide, not `policy`. A generated policy is previewed with this, so a lead knows before
/// applying it that, say, an older `MeshService`-targeted policy keeps deciding.
pub fn ranked_above(
    policies: &[MeshTrafficPermission],
    policy: &MeshTrafficPermission,
    target: &Workload,
) -> Vec<String> {
    let mut notes = Notes::default();
    let own = priority(policy);
    policies
        .iter()
        .filter(|p| p.meta.name != policy.meta.name && !p.spec.from.is_empty())
        .filter(|p| selects_target(p, target, &mut notes))
        .filter(|p| priority(p) > own)
        .map(display_name)
        .collect()
}

fn display_name(policy: &MeshTrafficPermission) -> String {
    policy.meta.display_name().to_string()
}

/// Precedence key, ascending: the last applicable policy merges last and wins.
fn priority(policy: &MeshTrafficPermission) -> (u8, (u8, u8), u8, u8, Reverse<String>, Reverse<String>) {
    let top = policy.spec.target_ref.clone().unwrap_or_else(TargetRef::mesh);
    let kind_rank = match top.kind {
        TargetRefKind::Mesh => 1,
        TargetRefKind::Dataplane => 2,
        TargetRefKind::MeshSubset => 3,
        TargetRefKind::MeshGateway => 4,
        TargetRefKind::MeshService => 5,
        TargetRefKind::MeshExternalService => 6,
        TargetRefKind::MeshMultiZoneService => 7,
        TargetRefKind::MeshServiceSubset => 8,
        TargetRefKind::MeshHTTPRoute => 9,
        TargetRefKind::Other(_) => 0,
    };
    let dataplane_rank = if top.kind == TargetRefKind::Dataplane {
        let by = if top.name.as_deref().is_some_and(|n| !n.is_empty()) {
            2
        } else if top.labels.is_some() {
            1
        } else {
            0
        };
        (by, u8::from(top.section_name.as_deref().is_some_and(|s| !s.is_empty())))
    } else {
        (0, 0)
    };
    let origin_rank = match policy.meta.labels.get(ORIGIN_LABEL).map(String::as_str) {
        Some("global") => 1,
        Some("zone") => 3,
        _ => 2,
    };
    let role_rank = match policy.meta.labels.get(POLICY_ROLE_LABEL).map(String::as_str) {
        Some("system") => 1,
        Some("producer") => 2,
        Some("consumer") => 3,
        Some("workload-owner") => 4,
        _ => 0,
    };
    let display = policy
        .meta
        .labels
        .get(DISPLAY_NAME_LABEL)
        .cloned()
        .unwrap_or_else(|| policy.meta.name.clone());
    (
        kind_rank,
        dataplane_rank,
        origin_rank,
        role_rank,
        Reverse(display),
        Reverse(policy.meta.name.clone()),
    )
}

fn tags_contain(selector: Option<&Tags>, tags: &Tags) -> bool {
    selector.is_none_or(|sel| sel.iter().all(|(k, v)| tags.get(k) == Some(v)))
}

/// Whether a policy's top-level targetRef selects the target's inbound.
fn selects_target(policy: &MeshTrafficPermission, target: &Workload, notes: &mut Notes) -> bool {
    let Some(top) = policy.spec.target_ref.as_ref() else {
        return true; // absent targetRef is Mesh
    };
    // Looked up only for a note: every evaluation asks every policy of the mesh, and the
    // display-name label lookup per policy was most of a large mesh's page.
    let name = || policy.meta.display_name();
    // Targets here are sidecar inbounds (gateways are decided earlier).
    if !top.proxy_types.is_empty() && !top.proxy_types.iter().any(|t| t == "Sidecar") {
        return false;
    }
    let section_ok = |notes: &mut Notes| match (top.section_name.as_deref(), target.section.as_deref()) {
        (None, _) | (Some(""), _) => true,
        (Some(want), Some(have)) => want == have,
        (Some(want), None) => {
            notes.add(format!(
                "{}: applies only to port {want:?}; evaluated as covering the whole service",
                name()
            ));
            true
        }
    };
    match &top.kind {
        TargetRefKind::Mesh => true,
        TargetRefKind::MeshSubset => tags_contain(top.tags.as_ref(), &target.tags),
        TargetRefKind::MeshService => match (&top.name, &top.labels) {
            (Some(service), _) => *service == target.service && section_ok(notes),
            (None, Some(_)) => {
                notes.add(format!(
                    "{}: targetRef MeshService by labels cannot be matched to a service name",
                    name()
                ));
                false
            }
            (None, None) => false,
        },
        TargetRefKind::MeshServiceSubset => {
            top.name.as_deref() == Some(target.service.as_str()) && tags_contain(top.tags.as_ref(), &target.tags)
        }
        TargetRefKind::Dataplane => {
            let selected = if let Some(dp) = top.name.as_deref().filter(|n| !n.is_empty()) {
                match target.dataplane.as_deref() {
                    Some(have) => have == dp,
                    None => {
                        notes.add(format!(
                            "{}: targetRef Dataplane {dp:?}, but the target's dataplane is unknown",
                            name()
                        ));
                        false
                    }
                }
            } else if let Some(labels) = &top.labels {
                if target.labels.is_empty() && !labels.is_empty() {
                    notes.add(format!(
                        "{}: targetRef Dataplane by labels, but the target's labels are unknown",
                        name()
                    ));
                    false
                } else {
                    tags_contain(Some(labels), &target.labels)
                }
            } else {
                true
            };
            selected && section_ok(notes)
        }
        // MeshGateway, routes, external/multizone services: not a sidecar inbound.
        _ => false,
    }
}

/// Whether a `from[].targetRef` contains the caller (Kuma turns it into a tag subset).
fn caller_in(from: &TargetRef, caller: &Workload, policy: &str, notes: &mut Notes) -> bool {
    match &from.kind {
        TargetRefKind::Mesh => true,
        TargetRefKind::MeshSubset => tags_contain(from.tags.as_ref(), &caller.tags),
        TargetRefKind::MeshService => from.name.as_deref() == Some(caller.service.as_str()),
        TargetRefKind::MeshServiceSubset => {
            from.name.as_deref() == Some(caller.service.as_str()) && tags_contain(from.tags.as_ref(), &caller.tags)
        }
        other => {
            notes.add(format!(
                "{policy}: from[] targetRef kind {other} cannot be expressed as client tags"
            ));
            false
        }
    }
}

fn client_matches(m: &ClientMatch, caller_spiffe: &str, target: &Workload, notes: &mut Notes) -> bool {
    let spiffe_ok = m.spiffe_id.as_ref().is_none_or(|s| s.matches(caller_spiffe));
    let sni_ok = match &m.sni {
        None => true,
        Some(_) if target.snis.is_empty() => {
            notes.add("rules[]: SNI matcher, but the target's SNIs are unknown".to_string());
            false
        }
        Some(sni) => target.snis.iter().any(|s| sni.matches(s)),
    };
    spiffe_ok && sni_ok
}

/// Legacy TrafficPermission: Kuma's `SelectInboundConnectionPolicy` then a source match.
fn legacy(policies: &MeshPolicies<'_>, caller: &Workload, target: &Workload) -> (Decision, Reason) {
    let mut candidates: Vec<&TrafficPermission> = policies
        .traffic_permissions
        .iter()
        .filter(|p| p.meta.mesh.as_deref().is_none_or(|m| m == policies.mesh))
        .collect();
    candidates.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let mut best: Option<(&TrafficPermission, (usize, usize))> = None;
    for policy in candidates {
        for destination in &policy.destinations {
            if !selector_matches(&destination.tags, &target.tags) {
                continue;
            }
            let rank = selector_rank(&destination.tags);
            let better = match best {
                None => true,
                Some((current, current_rank)) => {
                    rank > current_rank
                        || (rank == current_rank && policy.meta.creation_time > current.meta.creation_time)
                }
            };
            if better {
                best = Some((policy, rank));
            }
        }
    }
    match best {
        None => (Decision::Deny, Reason::NoPolicy),
        Some((policy, _)) => {
            let name = policy.meta.name.clone();
            if policy.sources.iter().any(|s| selector_matches(&s.tags, &caller.tags)) {
                (Decision::Allow, Reason::LegacyPermission { policy: name })
            } else {
                (Decision::Deny, Reason::LegacyNotInSources { policy: name })
            }
        }
    }
}

/// Kuma's `TagSelector.Matches`: every selector tag present, with an equal value or `*`.
fn selector_matches(selector: &Tags, tags: &Tags) -> bool {
    selector
        .iter()
        .all(|(k, v)| tags.get(k).is_some_and(|have| v == "*" || have == v))
}

/// Kuma's `TagSelectorRank`, compared by total tags then exact matches.
fn selector_rank(selector: &Tags) -> (usize, usize) {
    let exact = selector.values().filter(|v| *v != "*").count();
    (selector.len(), exact)
}
