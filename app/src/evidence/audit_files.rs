//! `audit/`: the period's stretch of the audit chain, its signed checkpoints and the checker.

use bearing_evidence::AUDIT_LOG_PATH;
use futures::TryStreamExt;
use sqlx::PgConnection;

use super::export::{cell, ExportError, Out};
use super::repo;

/// `audit/audit_log.jsonl` (the period's rows, each checked against its predecessor and its hash
/// on the way), `audit/checkpoints.jsonl` and `audit/verify_chain.py`. Returns the rows written.
pub(super) async fn write(out: &mut Out, conn: &mut PgConnection) -> Result<u64, ExportError> {
    let (from, to) = (out.period.from, out.period.to);
    out.exceptions.assessed("audit_log");
    let span = repo::audit_span(&mut *conn, from, to).await?;
    let mut n = 0u64;
    {
        let mut log = out.bundle.writer(AUDIT_LOG_PATH)?;
        if let Some((first, last)) = span {
            let mut rows = sqlx::query_as::<_, crate::audit::repo::Row>(repo::AUDIT_ROWS)
                .bind(first)
                .bind(last)
                .fetch(&mut *conn);
            let mut prev: Option<(i64, [u8; 32])> = None;
            while let Some(row) = rows.try_next().await? {
                let entry = row.into_stored();
                let seq = entry.body.seq;
                let problem = match prev {
                    Some((p, _)) if seq != p + 1 => Some(format!("row {seq} follows row {p}: rows are missing")),
                    Some((_, hash)) if entry.prev_hash != hash => {
                        Some(format!("row {seq} does not link to the row before it"))
                    }
                    _ if bearing_audit::entry_hash(&entry.prev_hash, &entry.body) != entry.hash => {
                        Some(format!("row {seq}: its content does not match its hash"))
                    }
                    _ => None,
                };
                if let Some(problem) = problem {
                    out.exceptions.flag(
                        "audit_log",
                        "chain_problem",
                        &format!("audit:{seq}"),
                        problem,
                        cell::time(entry.body.at),
                    );
                }
                log.json_line(&bearing_evidence::AuditLogLine::from_entry(&entry))?;
                prev = Some((seq, entry.hash));
                n += 1;
                out.pipe.pump().await?;
            }
        }
    }
    let checkpoints = match span {
        Some((first, last)) => repo::checkpoints_within(&mut *conn, first, last).await?,
        None => Vec::new(),
    };
    bearing_evidence::write_checkpoints_and_checker(&mut out.bundle, &checkpoints)?;
    out.record(AUDIT_LOG_PATH, repo::AUDIT_ROWS.trim().to_owned(), n);
    out.pipe.pump().await?;
    Ok(n)
}
