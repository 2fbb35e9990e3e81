//! The daily mesh snapshot: once a day, each service's mTLS state and each edge's permission and
//! class, kept for the evidence bundle's `mesh/` files. The live mesh tables hold only the latest
//! poll, so without this an export for last quarter could only show today's mesh.
//!
//! Taken by the server's evidence worker (hourly; the first pass of a day writes it) and by an
//! export whose period includes today. One server writes a day (an advisory lock, then a check
//! that nobody did); a later pass the same day changes nothing.

use time::OffsetDateTime;

use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::policy::EdgeFilter;
use crate::ssr::ServerCtx;

/// The advisory lock held while a day's snapshot is written.
const LOCK_KEY: i64 = 0x6265_6172_6576_6964; // "bearevid"

/// Takes today's snapshot unless one exists. True when this call wrote it.
pub async fn take_daily(ctx: &ServerCtx) -> Result<bool, AppError> {
    let now = OffsetDateTime::now_utc();
    let day = now.date();
    if taken(&ctx.pool, day).await? {
        return Ok(false);
    }
    let since = crate::mesh::service::traffic_cutoff(now, &ctx.mesh);
    let services = crate::mesh::repo::list_services(&ctx.pool, since).await?;
    if services.is_empty() {
        return Ok(false);
    }
    let edges = crate::policy::edges::matching(ctx, &Caller::system("evidence"), &EdgeFilter::default()).await?;

    let mut tx = ctx.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    if taken(&mut *tx, day).await? {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO mesh_daily_services
                (day, control_plane, mesh, service, component, mtls_enabled, mtls_mode, mtls_backend, earliest_cert_expiry)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[],
                                  $9::timestamptz[])
         ON CONFLICT DO NOTHING",
    )
    .bind(day)
    .bind(services.iter().map(|s| s.control_plane.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.mesh.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.service.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.component.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.mtls_enabled).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.mtls_mode.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.mtls_backend.clone()).collect::<Vec<_>>())
    .bind(services.iter().map(|s| s.earliest_expiry).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO mesh_daily_edges
                (day, control_plane, mesh, caller, callee, caller_component, callee_component, declared, observed,
                 allowed, enforced, policy, class)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[],
                                  $9::bool[], $10::bool[], $11::bool[], $12::text[], $13::text[])
         ON CONFLICT DO NOTHING",
    )
    .bind(day)
    .bind(edges.iter().map(|e| e.control_plane.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.mesh.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.from.service.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.to.service.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.from.component.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.to.component.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.declared).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.observed.is_some()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.permitted.allowed).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.permitted.enforced).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.permitted.policy.clone()).collect::<Vec<_>>())
    .bind(edges.iter().map(|e| e.class.clone()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        evidence.services = services.len(),
        evidence.edges = edges.len(),
        "daily mesh snapshot taken"
    );
    Ok(true)
}

async fn taken(db: impl sqlx::PgExecutor<'_>, day: time::Date) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM mesh_daily_services WHERE day = $1)")
        .bind(day)
        .fetch_one(db)
        .await
}

/// Runs [`take_daily`] now and then every hour until the pool closes.
pub async fn keep_daily(ctx: ServerCtx) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(3600));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !ctx.pool.is_closed() {
        ticks.tick().await;
        if let Err(err) = take_daily(&ctx).await {
            tracing::warn!(error = %err, "cannot take the daily mesh snapshot; trying again in an hour");
        }
    }
}
