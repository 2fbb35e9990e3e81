//! `access_reviews/`: the reviews of the period as [`crate::access_reviews::evidence`] writes
//! them, and the exceptions an auditor looks for in them.

use time::OffsetDateTime;

use super::export::{ExportError, Out};
use crate::ssr::ServerCtx;

/// `access_reviews/`: the reviews opened or closed in the period, with their entries and signed
/// attestations ([`crate::access_reviews::evidence`]). Flags a review still open past its due
/// date at the period's end, and a period in which no review was completed.
pub(super) async fn write(out: &mut Out, ctx: &ServerCtx) -> Result<(), ExportError> {
    let (from, to) = (out.period.from, out.period.to);
    let reviews = crate::access_reviews::evidence::reviews_for_period(&ctx.pool, from, to).await?;
    let entries = crate::access_reviews::evidence::write_reviews(&mut out.bundle, &reviews)?;
    out.exceptions.assessed("access_reviews");
    let closed_in_period = |r: &crate::access_reviews::ReviewSummary| {
        r.closed_at
            .as_deref()
            .and_then(|c| OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok())
            .is_some_and(|c| c < to)
    };
    for r in reviews.iter().map(|r| &r.review) {
        let due = time::Date::parse(&r.due_on, time::macros::format_description!("[year]-[month]-[day]")).ok();
        if !closed_in_period(r) && due.is_some_and(|d| d < to.date()) {
            out.exceptions.flag(
                "access_reviews",
                "review_overdue",
                &format!("access_review:{}", r.id),
                format!(
                    "review of {} was due {} and still open at the period's end ({} of {} entries decided)",
                    r.scope, r.due_on, r.decided, r.entries
                ),
                r.opened_at.clone(),
            );
        }
    }
    if !reviews.iter().any(|r| closed_in_period(&r.review)) {
        out.exceptions.flag(
            "access_reviews",
            "no_review_completed",
            "access_reviews",
            "no access review was completed within the period".into(),
            String::new(),
        );
    }
    out.record(
        "access_reviews/",
        "access reviews opened or closed in the period (app::access_reviews::evidence::reviews_for_period)".into(),
        entries,
    );
    out.pipe.pump().await?;
    Ok(())
}
