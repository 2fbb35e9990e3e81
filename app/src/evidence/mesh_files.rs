//! `mesh/mtls_state.csv`, `mesh/permitted_edges.csv` and `mesh/drift.csv`: the mesh over the
//! period, from the daily snapshots ([`super::snapshot`]), each row a run of days in one state.

use sqlx::PgConnection;

use super::export::{cell, ExportError, Out, Table};
use super::repo;

const MTLS_STATE: Table = Table {
    file: "mesh/mtls_state.csv",
    population: "mtls_state",
    header: &[
        "control_plane",
        "mesh",
        "service",
        "component",
        "mtls_enabled",
        "mtls_mode",
        "mtls_backend",
        "first_day",
        "last_day",
        "days",
        "earliest_cert_expiry",
    ],
    key: None,
};

const PERMITTED_EDGES: Table = Table {
    file: "mesh/permitted_edges.csv",
    population: "permitted_edges",
    header: &[
        "control_plane",
        "mesh",
        "caller",
        "callee",
        "caller_component",
        "callee_component",
        "enforced",
        "policy",
        "first_day",
        "last_day",
        "days",
    ],
    key: None,
};

const DRIFT: Table = Table {
    file: "mesh/drift.csv",
    population: "drift",
    header: &[
        "control_plane",
        "mesh",
        "caller",
        "callee",
        "caller_component",
        "callee_component",
        "class",
        "first_day",
        "last_day",
        "days",
    ],
    key: None,
};

/// Drift classes an auditor must see as exceptions (issue 14): a declared dependency the mesh
/// refuses, and a grant nobody declared or used.
const EXCEPTION_CLASSES: [&str; 2] = ["declared_denied", "over_permitted"];

pub(super) async fn write(out: &mut Out, conn: &mut PgConnection) -> Result<(), ExportError> {
    let (from, to) = (out.period.from, out.period.to);
    out.exceptions.assessed("mesh");
    let sql = repo::mtls_state_sql();
    let rows = sqlx::query_as::<_, repo::MtlsRow>(&sql)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&MTLS_STATE, &sql, rows, |m, ex| {
        let subject = format!("{}/{}/{}", m.control_plane, m.mesh, m.service);
        let days = format!("{}..{}", m.first_day, m.last_day);
        if !m.mtls_enabled
            || m.mtls_mode
                .as_deref()
                .is_some_and(|mode| !mode.eq_ignore_ascii_case("strict"))
        {
            let how = if m.mtls_enabled {
                format!("mTLS {}", m.mtls_mode.as_deref().unwrap_or_default())
            } else {
                "no mTLS".to_owned()
            };
            ex.flag(
                "mesh",
                "service_without_mtls",
                &subject,
                format!("{how} on {} days ({days})", m.days),
                String::new(),
            );
        }
        if let Some(expiry) = m.earliest_cert_expiry.filter(|e| *e >= from && *e < to) {
            ex.flag(
                "mesh",
                "certificate_expired",
                &subject,
                format!("a proxy certificate expired within the period (seen {days})"),
                cell::time(expiry),
            );
        }
        vec![
            m.control_plane,
            m.mesh,
            m.service,
            cell::opt(m.component),
            cell::yes_no(m.mtls_enabled),
            cell::opt(m.mtls_mode),
            cell::opt(m.mtls_backend),
            m.first_day.to_string(),
            m.last_day.to_string(),
            m.days.to_string(),
            cell::opt_time(m.earliest_cert_expiry),
        ]
    })
    .await?;

    let sql = repo::permitted_edges_sql();
    let rows = sqlx::query_as::<_, repo::PermittedRow>(&sql)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&PERMITTED_EDGES, &sql, rows, |e, _| {
        vec![
            e.control_plane,
            e.mesh,
            e.caller,
            e.callee,
            cell::opt(e.caller_component),
            cell::opt(e.callee_component),
            cell::yes_no(e.enforced),
            cell::opt(e.policy),
            e.first_day.to_string(),
            e.last_day.to_string(),
            e.days.to_string(),
        ]
    })
    .await?;

    let sql = repo::drift_sql();
    let rows = sqlx::query_as::<_, repo::DriftRow>(&sql)
        .bind(from)
        .bind(to)
        .fetch(&mut *conn);
    out.stream(&DRIFT, &sql, rows, |d, ex| {
        if EXCEPTION_CLASSES.contains(&d.class.as_str()) {
            ex.flag(
                "mesh",
                &d.class,
                &format!("{}/{}/{} -> {}", d.control_plane, d.mesh, d.caller, d.callee),
                format!("{} on {} days ({}..{})", d.class, d.days, d.first_day, d.last_day),
                String::new(),
            );
        }
        vec![
            d.control_plane,
            d.mesh,
            d.caller,
            d.callee,
            cell::opt(d.caller_component),
            cell::opt(d.callee_component),
            d.class,
            d.first_day.to_string(),
            d.last_day.to_string(),
            d.days.to_string(),
        ]
    })
    .await?;
    Ok(())
}
