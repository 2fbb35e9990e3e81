//! The scorecard worker: a pass of [`app::scorecards::service::evaluate_all`] at start, every
//! `--scorecards-interval`, and soon after any of a scorecard's inputs changes:
//!
//! - the catalog (an import or an edit notifies [`app::cache::CHANGED_CHANNEL`]): 5 s later, so
//!   a fixed description shows on its page within seconds;
//! - mesh state ([`app::mesh::repo::CHANGED_CHANNEL`], every poll that read a changed state and
//!   every stats round) and delivery facts ([`app::delivery::CHANGED_CHANNEL`], every ingest
//!   that stored something): at most once a minute, because both change continually and a pass
//!   reads every component's facts.
//!
//! Notifications that arrive while the worker waits are folded into the one pass. One server of
//! a deployment does a pass at a time (an advisory lock).

use std::time::{Duration, Instant};

use app::ssr::ServerCtx;
use sqlx::postgres::PgListener;

/// The least time between a catalog change and the pass, however often the catalog changes (an
/// import of many files notifies once per file).
const CATALOG_GAP: Duration = Duration::from_secs(5);

/// The least time between two passes woken by mesh or delivery changes.
const FACTS_GAP: Duration = Duration::from_secs(60);

/// The channels a pass is woken by.
const CHANNELS: [&str; 3] = [
    app::cache::CHANGED_CHANNEL,
    app::mesh::repo::CHANGED_CHANNEL,
    app::delivery::CHANGED_CHANNEL,
];

/// Runs the worker until the process ends.
pub fn spawn(ctx: ServerCtx) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(ctx.scorecards.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut listener = listen(&ctx).await;
        let mut last_pass = Instant::now();
        loop {
            let woken = match listener.as_mut() {
                Some(l) => tokio::select! {
                    _ = ticks.tick() => Wake::Tick,
                    got = l.recv() => match got {
                        Ok(n) => Wake::Changed(n.channel() == app::cache::CHANGED_CHANNEL),
                        Err(_) => Wake::Lost,
                    },
                },
                None => {
                    ticks.tick().await;
                    Wake::Tick
                }
            };
            match woken {
                Wake::Changed(catalog) => {
                    let gap = if catalog { CATALOG_GAP } else { FACTS_GAP };
                    tokio::time::sleep(gap.saturating_sub(last_pass.elapsed()).max(CATALOG_GAP)).await;
                    if let Some(l) = listener.as_mut() {
                        drain(l).await;
                    }
                }
                // Lost the connection: the interval alone until it is back.
                Wake::Lost => listener = None,
                Wake::Tick if listener.is_none() => listener = listen(&ctx).await,
                Wake::Tick => {}
            }
            if ctx.pool.is_closed() {
                return;
            }
            pass(&ctx).await;
            last_pass = Instant::now();
        }
    });
}

/// Why the worker woke up.
enum Wake {
    Tick,
    /// A change was notified; `true` when the catalog changed.
    Changed(bool),
    Lost,
}

async fn listen(ctx: &ServerCtx) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(&ctx.pool).await.ok()?;
    listener.listen_all(CHANNELS).await.ok()?;
    Some(listener)
}

/// Takes the notifications already waiting: the pass about to run covers them.
async fn drain(listener: &mut PgListener) {
    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_millis(5), listener.try_recv()).await {}
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
