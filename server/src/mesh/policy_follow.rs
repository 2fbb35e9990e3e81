//! The policy worker: every poll interval, one pass of
//! [`app::policy::follow::follow_marks`] over the policies imports left out of date, under each
//! control plane's `--kuma-policy-mode`. One server of a deployment does a pass at a time.

use app::ssr::ServerCtx;

/// Runs the worker until the process ends.
pub fn spawn(ctx: ServerCtx) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(ctx.mesh.poll_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app::policy::follow::follow_marks(&ctx).await {
                Ok(done) if !(done.applied.is_empty() && done.failed.is_empty()) => tracing::info!(
                    applied = ?done.applied,
                    failed = done.failed.len(),
                    "policies out of date looked at"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the policy worker's pass failed; it runs again next interval"),
            }
        }
    });
}
