//! What is wrong with a caller→callee edge: declared in the catalog, observed in the mesh,
//! permitted by Kuma, or some mismatch of the three.
//!
//! The server builds one [`Permitted`] per edge from `bearing_kuma::permissions::evaluate`
//! (with [`PolicyIndex::permitted`], which also works out whether the grant is broad) and calls
//! [`classify`], which is O(1) and allocation-free: 5,000 edges cost the evaluation, not this.
//!
//! **Observed** means the caller passed `Some(Observed)`: the server filters by the window
//! itself ([`Observed::seen_within`] helps), because it also decides what counts as traffic.
//!
//! **Denied** means Kuma enforces a deny: `permitted.enforced && !permitted.allowed`. When nothing
//! is enforced (mTLS off, or PERMISSIVE, where plaintext still gets through; or a gateway, which
//! gets no MeshTrafficPermission RBAC) traffic flows, so no edge is denied: it is classified as if
//! allowed, and [`Classification::latent_deny`] says the policies would deny it once enforced.
//! Likewise a grant that only exists because nothing is enforced is not "over-permitted": that is
//! a finding about the mesh (mTLS), not about an edge.
//!
//! **Precedence**, worst first, exactly one class per edge (the order of [`EdgeClass`]):
//! 1. `declared_denied`: declared, observed and denied; something that should work is failing.
//! 2. `denied_unknown`: observed and denied, not declared.
//! 3. `will_break`: declared, not observed, denied; the first call will fail.
//! 4. `shadow_denied`: declared or observed, and let in only by `AllowWithShadowDeny`: it stops
//!    working when the shadow phase is enforced. It wins over `undeclared`, `healthy` and
//!    `unused_grant`, because it is the one that changes soonest; whether that is intended is
//!    what `declared` tells (a declared consumer here is a mistake, an undeclared caller the
//!    point of the shadow phase).
//! 5. `undeclared`: observed and permitted, not declared.
//! 6. `over_permitted`: neither declared nor observed, permitted by a broad grant (mesh-wide
//!    `targetRef`/`from` of kind `Mesh`, a `MeshSubset` not naming the caller's service, a
//!    `Prefix` SPIFFE matcher, a legacy wildcard), with enforcement on.
//! 7. `unused_grant`: declared and permitted, not observed in the window.
//! 8. `healthy`: declared, observed and permitted.
//!
//! Anything else (neither declared nor observed, and not broadly permitted) is not an edge:
//! [`classify`] returns `None`.

mod broad;
mod drift;

pub use broad::PolicyIndex;
pub use drift::{ownership_drift, Drift, DriftInput, DEFAULT_TEAM_LABEL};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Traffic seen from the caller to the callee in the window (rates per second).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Requests per second.
    pub requests_per_s: f64,
    /// 5xx responses per second.
    pub errors_per_s: f64,
    /// Requests refused by RBAC (403) per second.
    pub denied_per_s: f64,
    /// When traffic was last seen.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

impl Observed {
    /// Whether this traffic was seen in the `window` ending at `now`.
    pub fn seen_within(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.last_seen >= now - window && self.last_seen <= now
    }
}

/// What Kuma's policies say about the edge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permitted {
    /// The evaluated decision lets requests in (shadow-deny included).
    pub allowed: bool,
    /// Let in only through `AllowWithShadowDeny`.
    pub shadow: bool,
    /// Kuma enforces the decision: mTLS on and STRICT, and the callee is not a gateway.
    pub enforced: bool,
    /// Let in by a grant that does not name the caller (see the module docs).
    pub broad: bool,
    /// The deciding policy, if one decided.
    pub policy: Option<String>,
    /// The deciding entry in it, e.g. `from[2]` or `rules[0]`.
    pub rule: Option<String>,
}

/// The class of an edge; the declaration order is the severity order (worst first), so sorting
/// by class puts the worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeClass {
    /// Declared, observed and denied.
    DeclaredDenied,
    /// Observed and denied, not declared.
    DeniedUnknown,
    /// Declared, not observed, not permitted.
    WillBreak,
    /// Let in only through `AllowWithShadowDeny`.
    ShadowDenied,
    /// Observed and permitted, not declared.
    Undeclared,
    /// Permitted by a broad grant, neither declared nor observed.
    OverPermitted,
    /// Declared and permitted, not observed in the window.
    UnusedGrant,
    /// Declared, observed and permitted.
    Healthy,
}

impl EdgeClass {
    /// Every class, worst first.
    pub const ALL: [EdgeClass; 8] = [
        EdgeClass::DeclaredDenied,
        EdgeClass::DeniedUnknown,
        EdgeClass::WillBreak,
        EdgeClass::ShadowDenied,
        EdgeClass::Undeclared,
        EdgeClass::OverPermitted,
        EdgeClass::UnusedGrant,
        EdgeClass::Healthy,
    ];

    /// Stable snake_case name (the serde name), for the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeClass::DeclaredDenied => "declared_denied",
            EdgeClass::DeniedUnknown => "denied_unknown",
            EdgeClass::WillBreak => "will_break",
            EdgeClass::ShadowDenied => "shadow_denied",
            EdgeClass::Undeclared => "undeclared",
            EdgeClass::OverPermitted => "over_permitted",
            EdgeClass::UnusedGrant => "unused_grant",
            EdgeClass::Healthy => "healthy",
        }
    }

    /// 0 for the worst class, 7 for `healthy`.
    pub fn severity(self) -> u8 {
        self as u8
    }

    /// Whether the class needs someone's attention (everything but `healthy`).
    pub fn is_problem(self) -> bool {
        self != EdgeClass::Healthy
    }
}

/// An edge's class, with what the caller should show beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The class.
    pub class: EdgeClass,
    /// Copied from [`Permitted::enforced`]: with `false`, nothing was denied because nothing is
    /// enforced, whatever the policies say.
    pub enforced: bool,
    /// Not enforced, and the policies would deny this edge once they are.
    pub latent_deny: bool,
}

/// Classifies one edge (see the module docs for the rules and precedence).
pub fn classify(declared: bool, observed: Option<&Observed>, permitted: &Permitted) -> Option<Classification> {
    let observed = observed.is_some();
    let denied = permitted.enforced && !permitted.allowed;
    let shadow = permitted.enforced && permitted.allowed && permitted.shadow;
    let class = match (declared, observed) {
        (true, true) if denied => EdgeClass::DeclaredDenied,
        (false, true) if denied => EdgeClass::DeniedUnknown,
        (true, false) if denied => EdgeClass::WillBreak,
        (false, false) if denied => return None,
        (true, _) | (_, true) if shadow => EdgeClass::ShadowDenied,
        (false, true) => EdgeClass::Undeclared,
        (true, false) => EdgeClass::UnusedGrant,
        (true, true) => EdgeClass::Healthy,
        (false, false) if permitted.broad && permitted.enforced => EdgeClass::OverPermitted,
        (false, false) => return None,
    };
    Some(Classification {
        class,
        enforced: permitted.enforced,
        latent_deny: !permitted.enforced && !permitted.allowed,
    })
}
