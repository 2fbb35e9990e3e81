//! Keeps this server's caches in step with the database, whoever changed it (another replica,
//! `bearing import`, the Kuma poller): a background task listening for `NOTIFY`.

use std::time::Duration;

use crate::page_cache::PageCache;

/// Keeps this server's caches in step with the database, whoever changed it: the read cache
/// (and with it every rendered page) is emptied when the catalog changes (imports, edits and
/// transfers `NOTIFY` on [`app::cache::CHANGED_CHANNEL`]), and rendered pages that show the
/// mesh state or scorecard results are dropped when what they show changes
/// ([`app::mesh::repo::CHANGED_CHANNEL`], whose payload names the components a write touched,
/// and [`app::scorecards::CHANGED_CHANNEL`]). If the
/// listening connection drops, notifications may have been missed, so both are emptied then
/// too, and the catalog list index, which otherwise reads only the entities changed since its
/// last read, is rebuilt whole. (Parsed mesh policy sets need no notification: they are keyed
/// by the version stored with the mesh.)
///
/// Returns once this server listens (or after ten seconds of trying, with a warning), so that
/// nothing cached after startup can miss a change; the listening goes on in the returned task.
pub async fn follow_changes(
    pool: sqlx::PgPool,
    cache: app::cache::ReadCache,
    pages: PageCache,
) -> tokio::task::JoinHandle<()> {
    let (listening, ready) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(listen_for_changes(pool, cache, pages, listening));
    if tokio::time::timeout(Duration::from_secs(10), ready).await.is_err() {
        tracing::warn!("not yet listening for catalog and mesh changes; serving anyway");
    }
    task
}

async fn listen_for_changes(
    pool: sqlx::PgPool,
    cache: app::cache::ReadCache,
    pages: PageCache,
    listening: tokio::sync::oneshot::Sender<()>,
) {
    let mut listening = Some(listening);
    let forget_all = || {
        cache.resync();
        pages.invalidate();
    };
    // Ends when the pool is closed at shutdown.
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(_) if pool.is_closed() => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for catalog and mesh changes; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let channels = [
            app::cache::CHANGED_CHANNEL,
            app::mesh::repo::CHANGED_CHANNEL,
            app::scorecards::CHANGED_CHANNEL,
        ];
        if let Err(err) = listener.listen_all(channels).await {
            tracing::warn!(error = %err, "cannot listen for catalog and mesh changes; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        forget_all();
        if let Some(listening) = listening.take() {
            // The caller may have stopped waiting; nothing to tell then.
            let _ = listening.send(());
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == app::mesh::repo::CHANGED_CHANNEL => {
                    pages.mesh_changed(&app::mesh::repo::change::Changed::from_payload(n.payload()));
                }
                Ok(Some(n)) if n.channel() == app::scorecards::CHANGED_CHANNEL => pages.scorecards_changed(),
                Ok(Some(_)) => cache.invalidate(),
                // The connection was lost; PgListener reconnects on the next call.
                Ok(None) => forget_all(),
                Err(_) if pool.is_closed() => return,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the change listener; reconnecting");
                    forget_all();
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
