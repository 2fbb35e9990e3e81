//! Who may export evidence, and the export's start: checked, audited, then streamed by a task of
//! its own while the caller (an HTTP response, the CLI) reads the chunks.

use std::io;

use futures::Stream;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::export::{self, ExportError, Plan, Summary};
use super::period::{rfc3339, Period};
use super::{EvidenceOverview, EvidenceQuery, PastExport};
use crate::audit::service::{record_alone, Event};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// An export under way.
pub struct Started {
    /// `bearing-evidence-<from>-<to>.zip`.
    pub filename: String,
    /// The zip's bytes, in order; the channel closes when the export ends (well or not).
    pub chunks: mpsc::Receiver<Vec<u8>>,
    /// How it ended.
    pub done: JoinHandle<Result<Summary, ExportError>>,
}

fn require_auditor(caller: &Caller) -> Result<(), AppError> {
    let user = caller.require_user()?;
    if user.can_read_audit() {
        Ok(())
    } else {
        Err(AppError::forbidden("evidence is exported by admins and auditors"))
    }
}

/// Checks the caller and the period, records the export in the audit log and starts it.
pub async fn start(ctx: &ServerCtx, caller: &Caller, q: &EvidenceQuery) -> Result<Started, AppError> {
    require_auditor(caller)?;
    let now = OffsetDateTime::now_utc();
    let period = Period::parse(q, now)?;
    // Today's mesh state is part of a period that includes today.
    if period.to > now.date().midnight().assume_utc() {
        if let Err(err) = super::snapshot::take_daily(ctx).await {
            tracing::warn!(error = %err, "cannot take today's mesh snapshot for an export; exporting without it");
        }
    }
    let (from, to) = (rfc3339(period.from), rfc3339(period.to));
    let event = Event::new("evidence.export", format!("period:{from}..{to}")).change(
        None,
        Some(serde_json::json!({"from": from, "to": to, "sample_seed": period.sample_seed})),
    );
    record_alone(&ctx.pool, &ctx.audit, caller, event).await?;
    let requested_by = caller.user.as_ref().map(|u| u.actor()).unwrap_or_default();
    let filename = format!("bearing-evidence-{}-{}.zip", period.from.date(), period.to.date());
    let plan = Plan {
        period,
        requested_by,
        generated_at: now,
    };
    let (pipe, writer, chunks) = super::sink::pipe();
    let task_ctx = ctx.clone();
    let done = tokio::spawn(async move {
        let result = export::run(&task_ctx, plan, pipe, writer).await;
        match &result {
            Ok(s) => tracing::info!(
                evidence.rows = s.rows,
                evidence.audit_rows = s.audit_rows,
                evidence.exceptions = s.exceptions,
                "evidence bundle exported"
            ),
            Err(ExportError::Closed(_)) => tracing::info!("evidence export stopped: the client went away"),
            Err(err) => tracing::error!(error = %err, "evidence export failed"),
        }
        result
    });
    Ok(Started { filename, chunks, done })
}

/// The bundle's bytes as a stream that ends with an error if the export failed, so that an
/// HTTP client sees a broken download rather than a zip that looks whole.
pub fn into_stream(started: Started) -> impl Stream<Item = Result<Vec<u8>, io::Error>> + Send {
    futures::stream::unfold((started.chunks, Some(started.done)), |(mut chunks, done)| async move {
        if let Some(chunk) = chunks.recv().await {
            return Some((Ok(chunk), (chunks, done)));
        }
        let failed = match done?.await {
            Ok(Ok(_)) => return None,
            Ok(Err(err)) => err.to_string(),
            Err(err) => format!("the export task ended abnormally: {err}"),
        };
        Some((Err(io::Error::other(failed)), (chunks, None)))
    })
}

/// The `/evidence` page's facts: the signing key and the latest exports.
pub async fn overview(ctx: &ServerCtx, caller: &Caller) -> Result<EvidenceOverview, AppError> {
    require_auditor(caller)?;
    let key = ctx.audit.key.verifying_key();
    let recent = super::repo::recent_exports(&ctx.pool, 20)
        .await?
        .into_iter()
        .map(|(seq, at, actor, after)| {
            let field = |name: &str| {
                after
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            PastExport {
                seq,
                at: rfc3339(at),
                actor,
                from: field("from").unwrap_or_default(),
                to: field("to").unwrap_or_default(),
                sample_seed: field("sample_seed"),
            }
        })
        .collect();
    Ok(EvidenceOverview {
        key_id: key.key_id(),
        fingerprint: key.fingerprint(),
        recent,
    })
}
