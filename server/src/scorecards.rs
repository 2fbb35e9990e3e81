//! The scorecard worker: a pass of [`app::scorecards::service::evaluate_all`] at start, every
//! `--scorecards-interval`, and soon after the catalog changes (an import or an edit notifies
//! [`app::cache::CHANGED_CHANNEL`]), so a fixed description shows on its page within seconds
//! rather than minutes. Mesh state and delivery events change continually and are picked up by
//! the interval. One server of a deployment does a pass at a time (an advisory lock).

use std::time::Duration;

use app::ssr::ServerCtx;
use sqlx::postgres::PgListener;

/// The least time between two passes, however often the catalog changes (an import of many
/// files notifies once per file).
const MIN_GAP: Duration = Duration::from_secs(5);

/// Runs the worker until the process ends.
pub fn spawn(ctx: ServerCtx) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(ctx.scorecards.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut listener = listen(&ctx).await;
        loop {
            let woken = match listener.as_mut() {
                Some(l) => tokio::select! {
                    _ = ticks.tick() => Wake::Tick,
                    got = l.recv() => if got.is_ok() { Wake::Changed } else { Wake::Lost },
                },
                None => {
                    ticks.tick().await;
                    Wake::Tick
                }
            };
            match woken {
                // Let the rest of an import arrive before looking.
                Wake::Changed => tokio::time::sleep(MIN_GAP).await,
                // Lost the connection: the interval alone until it is back.
                Wake::Lost => listener = None,
                Wake::Tick if listener.is_none() => listener = listen(&ctx).await,
                Wake::Tick => {}
            }
            if ctx.pool.is_closed() {
                return;
            }
            pass(&ctx).await;
        }
    });
}

/// Why the worker woke up.
enum Wake {
    Tick,
    Changed,
    Lost,
}

async fn listen(ctx: &ServerCtx) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(&ctx.pool).await.ok()?;
    listener.listen(app::cache::CHANGED_CHANNEL).await.ok()?;
    Some(listener)
}

async fn pass(ctx: &ServerCtx) {
    let started = std::time::Instant::now();
    match app::scorecards::service::evaluate_all(ctx).await {
        Ok(done) if done.skipped => tracing::debug!("another server is evaluating the scorecards"),
        Ok(done) => tracing::info!(
            components = done.components,
            results = done.results,
            changed = done.changed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "scorecards evaluated"
        ),
        Err(e) => tracing::warn!(error = %e, "the scorecard pass failed; it runs again next interval"),
    }
}
