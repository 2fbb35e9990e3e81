//! The resource types the simulator lets clients write, as Kuma 2.14.3 describes them.
//!
//! Bearing generates MeshTrafficPermissions and the templated policies (timeouts, retries, access
//! logs, metrics), previews them and PUTs them; Kuma 3.0-ready meshes add MeshIdentity. Each entry
//! carries what the API needs to serve the type like Kuma: its REST path, its `kri` short name,
//! whether the resource has a `status` (Kuma writes `"status": {}` for those: golden
//! `put_meshaccesslog_01.golden.json`; `HasStatus` in each type's `zz_generated.resource.go`), and
//! its `/_resources` entry copied from Kuma's golden `_resources.golden.json`.

use serde_json::{json, Value};

/// A writable resource type.
#[derive(Debug)]
pub struct Writable {
    /// `type` (`MeshTimeout`).
    pub kind: &'static str,
    /// REST collection (`meshtimeouts`).
    pub path: &'static str,
    /// `kri_<short>_...` (`mt`).
    pub short: &'static str,
    /// Whether Kuma serves a `status` object.
    pub has_status: bool,
    /// `pluralDisplayName`, `singularDisplayName` in `/_resources`.
    pub display: (&'static str, &'static str),
    /// `policy` flags in `/_resources` (`hasFromTargetRef`, `hasRulesTargetRef`,
    /// `hasToTargetRef`, `isFromAsRules`, `isTargetRef`); `None` for a non-policy.
    pub policy: Option<[bool; 5]>,
}

/// Every writable type, in `/_resources` (name) order.
pub const WRITABLE: [Writable; 6] = [
    Writable {
        kind: "MeshAccessLog",
        path: "meshaccesslogs",
        short: "mal",
        has_status: true,
        display: ("Mesh Access Logs", "Mesh Access Log"),
        policy: Some([true, true, true, true, true]),
    },
    Writable {
        kind: "MeshIdentity",
        path: "meshidentities",
        short: "mid",
        has_status: true,
        display: ("Mesh Identities", "Mesh Identity"),
        policy: None,
    },
    Writable {
        kind: "MeshMetric",
        path: "meshmetrics",
        short: "mm",
        has_status: true,
        display: ("Mesh Metrics", "Mesh Metric"),
        policy: Some([false, false, false, false, true]),
    },
    Writable {
        kind: "MeshRetry",
        path: "meshretries",
        short: "mr",
        has_status: false,
        display: ("Mesh Retries", "Mesh Retry"),
        policy: Some([false, false, true, false, true]),
    },
    Writable {
        kind: "MeshTimeout",
        path: "meshtimeouts",
        short: "mt",
        has_status: false,
        display: ("Mesh Timeouts", "Mesh Timeout"),
        policy: Some([true, true, true, true, true]),
    },
    Writable {
        kind: "MeshTrafficPermission",
        path: "meshtrafficpermissions",
        short: "mtp",
        has_status: false,
        display: ("Mesh Traffic Permissions", "Mesh Traffic Permission"),
        policy: Some([true, true, false, false, true]),
    },
];

/// The writable type of `kind`.
pub fn by_kind(kind: &str) -> Option<&'static Writable> {
    WRITABLE.iter().find(|w| w.kind == kind)
}

impl Writable {
    /// The `/_resources` entry (Kuma's `MapResourceTypeDescription`: `readOnly` is the API's
    /// read-only setting; `includeInFederation` does not change with it).
    pub fn resource_entry(&self, read_only: bool) -> Value {
        let mut entry = json!({
            "includeInFederation": true, "name": self.kind, "path": self.path,
            "pluralDisplayName": self.display.0, "readOnly": read_only, "scope": "Mesh",
            "shortName": self.short, "singularDisplayName": self.display.1,
        });
        if let Some([from, rules, to, from_as_rules, target_ref]) = self.policy {
            entry["policy"] = json!({"hasFromTargetRef": from, "hasRulesTargetRef": rules,
                "hasToTargetRef": to, "isFromAsRules": from_as_rules, "isTargetRef": target_ref});
        }
        entry
    }

    /// Kuma's `kri` for a resource of this type: `kri_<short>_<mesh>_<zone>_<namespace>_<name>_`
    /// (zone empty for resources without a `kuma.io/zone` label; golden `get_resource.golden.json`
    /// `kri_mtp_default___mtp-1_`, `put_meshaccesslog_01` `kri_mal_default_default__my-access-log_`).
    pub fn kri(&self, mesh: &str, zone: Option<&str>, name: &str) -> String {
        format!("kri_{}_{mesh}_{}__{name}_", self.short, zone.unwrap_or(""))
    }
}
