//! The delivery worker: once a minute, closes runs that stopped reporting as `lost` and deletes
//! events past their retention ([`app::delivery::runs::sweep`]). Both are single idempotent
//! statements, so several replicas sweeping at once only repeat each other's work.

use std::time::Duration;

use app::ssr::ServerCtx;

/// How often the worker sweeps.
const INTERVAL: Duration = Duration::from_secs(60);

/// Runs the worker until the process ends.
pub fn spawn(ctx: ServerCtx) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app::delivery::runs::sweep(&ctx).await {
                Ok(swept) if swept.lost > 0 || swept.expired > 0 => {
                    tracing::info!(
                        lost = swept.lost,
                        expired = swept.expired,
                        "delivery runs and events swept"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the delivery sweep failed; it runs again in a minute"),
            }
        }
    });
}
