//! `changes/`: ownership transfers with the approver's roles and four eyes, entity edits and
//! imports from the audit log, and the mesh policies Bearing wrote, all within the period.

use sqlx::PgConnection;

use super::export::{cell, ExportError, Out, Table};
use super::repo;

const TRANSFERS: Table = Table {
    file: "changes/ownership_transfers.csv",
    population: "ownership_transfers",
    header: &[
        "id",
        "entity",
        "from_team",
        "to_team",
        "reason",
        "requested_by",
        "requested_at",
        "status_at_end",
        "decided_by",
        "decided_at",
        "approver_roles_at_decision",
        "four_eyes_held",
    ],
    key: Some("id"),
};

const ENTITY_EDITS: Table = Table {
    file: "changes/entity_edits.csv",
    population: "entity_edits",
    header: &[
        "seq",
        "at",
        "actor",
        "action",
        "target",
        "before_sha256",
        "after_sha256",
        "reason",
    ],
    key: Some("seq"),
};

const IMPORTS: Table = Table {
    file: "changes/imports.csv",
    population: "imports",
    header: &[
        "seq",
        "at",
        "actor",
        "sources",
        "added",
        "updated",
        "orphaned",
        "after_sha256",
    ],
    key: None,
};

const POLICY_CHANGES: Table = Table {
    file: "changes/mesh_policy_changes.csv",
    population: "mesh_policy_changes",
    header: &[
        "id",
        "at",
        "actor",
        "action",
        "control_plane",
        "mesh",
        "kind",
        "name",
        "component",
        "before_sha256",
        "after_sha256",
        "reason",
    ],
    key: Some("id"),
};

/// Audit actions that change an entity.
const ENTITY_EDIT_ACTIONS: [&str; 3] = ["entity.update", "entity.transfer", "transfer.accept"];

pub(super) async fn write(out: &mut Out, conn: &mut PgConnection) -> Result<(), ExportError> {
    let (from, to) = (out.period.from, out.period.to);
    out.exceptions.assessed("changes");
    let stale_before = to - time::Duration::days(14);
    let transfers = sqlx::query_as::<_, repo::TransferRow>(repo::TRANSFERS)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&TRANSFERS, repo::TRANSFERS, transfers, |t, ex| {
        let subject = format!("transfer:{}", t.id);
        let four_eyes = t.decided_by.as_ref().map(|d| *d != t.requested_by);
        if t.status == "accepted" && four_eyes == Some(false) {
            ex.flag(
                "changes",
                "self_approved_transfer",
                &subject,
                format!(
                    "{} -> {} of {} was requested and accepted by {}",
                    t.from_team.as_deref().unwrap_or("no owner"),
                    t.to_team,
                    t.entity_ref,
                    t.requested_by
                ),
                cell::opt_time(t.decided_at),
            );
        }
        if t.status == "pending" && t.created_at < stale_before {
            ex.flag(
                "changes",
                "stale_transfer",
                &subject,
                format!(
                    "{} -> {} of {} was still pending at the period's end, 14 days or more after it was requested",
                    t.from_team.as_deref().unwrap_or("no owner"),
                    t.to_team,
                    t.entity_ref
                ),
                cell::time(t.created_at),
            );
        }
        vec![
            t.id.to_string(),
            t.entity_ref,
            cell::opt(t.from_team),
            t.to_team,
            t.reason,
            t.requested_by,
            cell::time(t.created_at),
            t.status,
            cell::opt(t.decided_by),
            cell::opt_time(t.decided_at),
            approver_roles(t.approver_login.as_ref()),
            four_eyes.map(cell::yes_no).unwrap_or_default(),
        ]
    })
    .await?;

    let edits = sqlx::query_as::<_, repo::ChangeRow>(repo::CHANGES)
        .bind(from)
        .bind(to)
        .bind(&ENTITY_EDIT_ACTIONS[..])
        .fetch(&mut *conn);
    out.stream(&ENTITY_EDITS, repo::CHANGES, edits, |c, _| {
        vec![
            c.seq.to_string(),
            cell::time(c.at),
            c.actor,
            c.action,
            cell::opt(c.target),
            cell::json_sha256(c.before.as_ref()),
            cell::json_sha256(c.after.as_ref()),
            cell::opt(c.reason),
        ]
    })
    .await?;

    let imports = sqlx::query_as::<_, repo::ChangeRow>(repo::CHANGES)
        .bind(from)
        .bind(to)
        .bind(&["catalog.import"][..])
        .fetch(&mut *conn);
    out.stream(&IMPORTS, repo::CHANGES, imports, |c, _| {
        let count = |field: &str| {
            c.after
                .as_ref()
                .and_then(|a| a.get(field))
                .and_then(|v| v.as_array())
                .map(|a| a.len().to_string())
                .unwrap_or_default()
        };
        let (added, updated, orphaned) = (count("added"), count("updated"), count("orphaned"));
        vec![
            c.seq.to_string(),
            cell::time(c.at),
            c.actor,
            cell::opt(c.target),
            added,
            updated,
            orphaned,
            cell::json_sha256(c.after.as_ref()),
        ]
    })
    .await?;

    let policies = sqlx::query_as::<_, repo::PolicyChangeRow>(repo::POLICY_CHANGES)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&POLICY_CHANGES, repo::POLICY_CHANGES, policies, |p, _| {
        vec![
            p.id.to_string(),
            cell::time(p.at),
            p.actor,
            p.action,
            p.control_plane,
            p.mesh,
            p.kind,
            p.name,
            p.component,
            cell::json_sha256(p.before.as_ref()),
            cell::json_sha256(p.after.as_ref()),
            p.reason,
        ]
    })
    .await?;
    Ok(())
}

/// The roles the approver's last sign-in before the decision gave: `admin; lead of group:…`.
fn approver_roles(login: Option<&serde_json::Value>) -> String {
    let Some(login) = login else {
        return String::new();
    };
    let list = |field: &str| -> Vec<String> {
        login
            .get(field)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut roles: Vec<String> = list("roles")
        .into_iter()
        .filter(|r| r != "viewer" && r != "lead")
        .collect();
    roles.extend(list("lead_of").into_iter().map(|t| format!("lead of {t}")));
    roles.join("; ")
}
