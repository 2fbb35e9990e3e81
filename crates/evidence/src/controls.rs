//! `controls.csv`: which SOC 2 criterion each part of the bundle evidences, and how to test it.

use std::collections::BTreeMap;
use std::io::Write;

use crate::{BundleWriter, EvidenceError};

/// Where `controls.csv` goes.
pub const CONTROLS_PATH: &str = "controls.csv";

/// The columns of `controls.csv`.
pub const CONTROLS_HEADER: [&str; 5] = ["control", "criteria", "evidence", "auditor_test", "exceptions"];

/// One row of `controls.csv`.
#[derive(Clone, Copy, Debug)]
pub struct Control {
    /// Stable name, the key of the exception counts (and of `exceptions.csv` rows).
    pub id: &'static str,
    /// Trust Services Criteria (2017, revised points of focus 2022).
    pub criteria: &'static str,
    /// Bundle files, `;`-separated; a trailing `/` means every file in that folder.
    pub evidence: &'static str,
    /// What the auditor does with the files.
    pub test: &'static str,
}

/// Every control the bundle evidences, in the order of `controls.csv`.
pub const CONTROLS: &[Control] = &[
    Control {
        id: "entities",
        criteria: "CC6.1",
        evidence: "populations/entities.csv",
        test: "Inspect the inventory of components and other catalog entities; confirm each has an accountable owner, \
               and trace a sample (samples/entities.csv) to the running systems.",
    },
    Control {
        id: "users_and_roles",
        criteria: "CC6.1–CC6.3",
        evidence: "populations/users_and_roles.csv",
        test: "Compare users and their roles with the HR roster: leavers hold no access, and each role is appropriate \
               for the person's job.",
    },
    Control {
        id: "role_mappings_and_tokens",
        criteria: "CC6.1–CC6.2",
        evidence: "populations/role_mappings.csv; populations/api_tokens.csv",
        test: "Confirm each identity-provider group to role mapping was approved, and each API token has an owner, a \
               scope and an expiry, and was revoked when no longer needed.",
    },
    Control {
        id: "changes",
        criteria: "CC8.1",
        evidence: "changes/; delivery/deployments.csv",
        test: "For a sample of changes and deployments, confirm each was authorized, reviewed by someone other than \
               its author where required, and recorded in the audit log.",
    },
    Control {
        id: "mesh",
        criteria: "CC6.6–CC6.7, CC7.1",
        evidence: "mesh/mtls_state.csv; mesh/permitted_edges.csv; mesh/drift.csv",
        test: "Confirm mutual TLS is enforced in every mesh, review the permitted service-to-service edges against \
               the intended design, and follow each drift finding to its resolution.",
    },
    Control {
        id: "access_reviews",
        criteria: "CC6.2–CC6.3",
        evidence: "access_reviews/",
        test: "Confirm access reviews were completed in the period by reviewers other than the people reviewed, and \
               that each revocation they decided took effect.",
    },
    Control {
        id: "audit_log",
        criteria: "CC7.2",
        evidence: "audit/audit_log.jsonl; audit/checkpoints.jsonl; audit/verify_chain.py",
        test: "Run python3 audit/verify_chain.py (see VERIFY.md): the period's audit rows form an unbroken hash chain \
               whose checkpoints the signing key signed; compare its anchor with the previous period's head.",
    },
    Control {
        id: "populations",
        criteria: "CC2.1",
        evidence: "_meta/populations.json",
        test: "Confirm each population's definition (source, as-of time, row count) matches its CSV file and covers \
               the period; SHA256SUMS and its signature show the files are complete as exported.",
    },
];

/// The control ids, for error messages.
pub(crate) fn known_ids() -> String {
    CONTROLS.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
}

/// Writes `controls.csv`, one row per [`CONTROLS`] entry, with the number of exceptions found for
/// each control. A control missing from `exceptions` gets an empty cell (not assessed), which
/// is not the same as `0`; an id that is not a control is an error, so a typo cannot hide
/// exceptions.
pub fn write_controls<W: Write>(
    bundle: &mut BundleWriter<W>,
    exceptions: &BTreeMap<String, u64>,
) -> Result<(), EvidenceError> {
    if let Some(unknown) = exceptions
        .keys()
        .find(|id| !CONTROLS.iter().any(|c| c.id == id.as_str()))
    {
        return Err(EvidenceError::UnknownControl(unknown.clone()));
    }
    let mut csv = bundle.csv(CONTROLS_PATH, CONTROLS_HEADER)?;
    for control in CONTROLS {
        let count = exceptions.get(control.id).map(u64::to_string).unwrap_or_default();
        csv.row([
            control.id,
            control.criteria,
            control.evidence,
            control.test,
            count.as_str(),
        ])?;
    }
    csv.finish()?;
    Ok(())
}
