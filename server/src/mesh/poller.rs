//! The background worker: holds the lease, polls the control plane, reads Envoy stats, and backs
//! off on failure. A failed or partial poll never touches the stored state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bearing_kuma::identity::MeshIdentity;
use bearing_kuma::model::{Mesh, MeshInsight};
use bearing_kuma::stats::{self, ClusterKind, Sample};
use futures::StreamExt;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::client::{ClientError, KumaClient};
use super::labels::{self, DroppedLabels};
use super::snapshot::{self, MeshRead, ProxyDigest, TEMPLATED_KINDS};
use crate::config::kuma::{ControlPlane, KumaArgs};
use app::mesh::repo::write::{self, TrafficRow};

/// Hourly traffic averages older than this are deleted.
pub const HOURLY_RETENTION: time::Duration = time::Duration::days(90);

/// One control plane's poller.
pub struct Poller {
    /// The control plane's name in Bearing.
    pub name: String,
    client: KumaClient,
    pool: PgPool,
    holder: String,
    poll_interval: Duration,
    stats_interval: Duration,
    concurrency: usize,
    expires_soon: time::Duration,
    traffic_retention: time::Duration,
    /// Previous stats sample per `(mesh, proxy)`.
    samples: HashMap<(String, String), (Instant, Sample)>,
    /// Online proxies from the last successful poll: `(mesh, name, service)`.
    online: Vec<(String, String, String)>,
    /// Whether the last poll failed (to log once per change of state).
    failing: bool,
    /// Whether the control plane has the ServiceInsight API, as the last poll found (`None`
    /// before the first). Kuma 3.0 removes it; its 404 is expected then, not an error.
    service_insights_api: Option<bool>,
    /// Woken to poll before the interval is up (a deployment was reported; see
    /// [`listen_for_refresh`]).
    pub refresh: Arc<tokio::sync::Notify>,
}

/// A poll asked for early waits this long first, so a burst of reported deployments costs one
/// poll, and early polls come at most this often.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(2);

impl Poller {
    /// A poller for `cp`, timed and bounded by `args`.
    pub async fn new(pool: PgPool, cp: &ControlPlane, args: &KumaArgs) -> anyhow::Result<Poller> {
        let client = KumaClient::new(&cp.url, cp.token.clone(), args.kuma_timeout, args.kuma_max_body_size)
            .with_context(|| format!("Kuma control plane {:?}", cp.name))?;
        write::upsert_control_plane(&pool, &cp.name, &cp.url).await?;
        Ok(Poller {
            name: cp.name.clone(),
            client,
            pool,
            holder: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            poll_interval: args.kuma_poll_interval,
            stats_interval: args.kuma_stats_interval,
            concurrency: args.kuma_concurrency.max(1),
            expires_soon: time::Duration::try_from(args.kuma_expires_soon)?,
            traffic_retention: time::Duration::try_from(args.kuma_traffic_retention)?,
            samples: HashMap::new(),
            online: Vec::new(),
            failing: false,
            service_insights_api: None,
            refresh: Arc::default(),
        })
    }

    /// Reads everything, then replaces the stored state in one transaction. On any error the
    /// stored state is kept and the error recorded.
    pub async fn poll_once(&mut self) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        let writes_before_read = write::bearing_writes(&self.pool, &self.name).await?;
        match self.read_all(now).await {
            Ok(reads) => {
                let snap = snapshot::snapshot(reads);
                let stored =
                    write::replace_state_read_after(&self.pool, &self.name, &snap, now, Some(writes_before_read))
                        .await?;
                if !stored {
                    tracing::debug!(control_plane = %self.name,
                        "Bearing wrote a policy while this poll read; the next poll stores the state");
                }
                self.online = snap
                    .proxies
                    .iter()
                    .filter(|p| p.status != "offline")
                    .filter_map(|p| Some((p.mesh.clone(), p.name.clone(), p.services.first()?.clone())))
                    .collect();
                if self.failing {
                    tracing::info!(control_plane = %self.name, "Kuma control plane polls succeed again");
                    self.failing = false;
                }
                Ok(())
            }
            Err(err) => {
                write::record_error(&self.pool, &self.name, &err.to_string(), now).await?;
                if !self.failing {
                    tracing::warn!(control_plane = %self.name, error = %err, "polling the Kuma control plane failed; keeping the last state");
                    self.failing = true;
                }
                metrics::counter!("bearing_kuma_poll_errors_total").increment(1);
                Err(err.into())
            }
        }
    }

    async fn read_all(&mut self, now: OffsetDateTime) -> Result<Vec<MeshRead>, ClientError> {
        let meshes: Vec<Mesh> = self.client.list(&["meshes"]).await?;
        let mut insights: HashMap<String, MeshInsight> = self
            .client
            .list::<MeshInsight>(&["mesh-insights"])
            .await?
            .into_iter()
            .map(|i| (i.meta.name.clone(), i))
            .collect();
        // Decided afresh each poll, at its first mesh, so an upgraded control plane is followed.
        let mut insights_api: Option<bool> = None;
        let mut dropped = DroppedLabels::default();
        let mut reads = Vec::with_capacity(meshes.len());
        for mesh in meshes {
            let m = mesh.meta.name.clone();
            // Identities first: the digest decides each proxy's workload identity by its labels.
            let identities: Vec<MeshIdentity> = self
                .optional_list(&["meshes", &m, "meshidentities"])
                .await?
                .unwrap_or_default();
            let mut proxies = ProxyDigest::new(&m, now, self.expires_soon, identities.clone());
            self.client
                .for_each_page(&["meshes", &m, "dataplanes+insights"], |page| proxies.add(&page))
                .await?;
            dropped.merge(&proxies.dropped_labels);
            let service_insights = if insights_api == Some(false) {
                Vec::new()
            } else {
                let found = self.optional_list(&["meshes", &m, "service-insights"]).await?;
                insights_api = Some(found.is_some());
                found.unwrap_or_default()
            };
            reads.push(MeshRead {
                insight: insights.remove(&m),
                proxies,
                service_insights,
                mtps: self.client.list(&["meshes", &m, "meshtrafficpermissions"]).await?,
                tps: self.client.list(&["meshes", &m, "traffic-permissions"]).await?,
                mesh_services: self
                    .optional_list(&["meshes", &m, "meshservices"])
                    .await?
                    .unwrap_or_default(),
                identities,
                templated: self.templated(&m).await?,
                mesh,
            });
        }
        if let Some(has) = insights_api {
            if self.service_insights_api != Some(has) {
                if !has {
                    tracing::info!(control_plane = %self.name,
                        "the Kuma control plane has no ServiceInsight API (Kuma 3.0); service status comes from its dataplanes");
                }
                self.service_insights_api = Some(has);
            }
        }
        if dropped.any() {
            tracing::warn!(control_plane = %self.name, proxies = dropped.proxies, invalid = dropped.invalid,
                over_limit = dropped.over_limit, first = dropped.first_proxy.as_deref().unwrap_or_default(),
                max = labels::MAX_LABELS,
                "dataplane labels Kuma would refuse, or beyond the limit per proxy, were not stored");
        }
        Ok(reads)
    }

    /// The mesh's policies of the kinds templates produce; a kind the control plane lacks is
    /// empty.
    async fn templated(&self, mesh: &str) -> Result<Vec<(&'static str, Vec<serde_json::Value>)>, ClientError> {
        let mut out = Vec::with_capacity(TEMPLATED_KINDS.len());
        for (kind, path) in TEMPLATED_KINDS {
            let items = self.optional_list(&["meshes", mesh, path]).await?.unwrap_or_default();
            out.push((kind, items));
        }
        Ok(out)
    }

    /// A list whose API a control plane may lack, answering 404 for it: MeshServices before Kuma
    /// 2.9, MeshIdentities before 2.12, ServiceInsights from 3.0. `None` when it is absent. (A
    /// list in a mesh that does not exist is empty in Kuma, not a 404.)
    async fn optional_list<T: serde::de::DeserializeOwned>(
        &self,
        segments: super::client::Segments<'_>,
    ) -> Result<Option<Vec<T>>, ClientError> {
        match self.client.list(segments).await {
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    /// Reads the stats of every proxy online at the last poll, turns counter deltas since the
    /// previous sample into traffic rows, and folds old traffic into hourly averages.
    pub async fn stats_once(&mut self) -> anyhow::Result<usize> {
        self.stats_at(Instant::now()).await
    }

    /// [`Poller::stats_once`] with the samples taken as of `at` (tests drive a simulated clock).
    pub async fn stats_at(&mut self, at: Instant) -> anyhow::Result<usize> {
        let client = self.client.clone();
        let fetched: Vec<_> = futures::stream::iter(self.online.clone())
            .map(|(mesh, name, svc)| {
                let client = client.clone();
                // Parsed as each answer arrives: only the small samples are kept, never every
                // proxy's stats text at once (about 25 kB each).
                async move {
                    let sample = client
                        .get_text(&["meshes", &mesh, "dataplanes", &name, "stats"])
                        .await
                        .map_err(anyhow::Error::from)
                        .and_then(|b| Ok(Sample::parse(&b)?));
                    (mesh, name, svc, sample)
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut agg: HashMap<(String, String, String, &'static str), TrafficRow> = HashMap::new();
        // Proxies whose stats were over the body cap: one warning per round names the first.
        let mut oversized: Option<(usize, anyhow::Error)> = None;
        for (mesh, name, svc, sample) in fetched {
            let sample = match sample {
                Ok(sample) => sample,
                // A proxy that just disconnected answers 500: that is expected and not logged.
                Err(err) => {
                    if matches!(err.downcast_ref(), Some(ClientError::TooLarge { .. })) {
                        let (count, _) = oversized.get_or_insert((0, err));
                        *count += 1;
                    }
                    continue;
                }
            };
            let key = (mesh.clone(), name);
            if let Some((prev_at, prev)) = self.samples.get(&key) {
                let rates = stats::rates(prev, &sample, at.saturating_duration_since(*prev_at));
                for (cluster, c) in &rates.clusters {
                    let (peer, direction) = match c.kind {
                        ClusterKind::Inbound => (String::new(), "inbound"),
                        ClusterKind::Outbound => (cluster.clone(), "outbound"),
                        _ => continue,
                    };
                    let row = agg
                        .entry((mesh.clone(), svc.clone(), peer.clone(), direction))
                        .or_insert_with(|| TrafficRow {
                            mesh: mesh.clone(),
                            service: svc.clone(),
                            peer,
                            direction,
                            requests_per_s: 0.0,
                            errors_per_s: 0.0,
                            denied_per_s: 0.0,
                            p99_ms: None,
                        });
                    row.requests_per_s += c.requests_per_s;
                    row.errors_per_s += c.rq_5xx_per_s;
                    if direction == "outbound" {
                        row.denied_per_s += c.denied_per_s;
                    }
                    if let Some(p99) = c.latency.and_then(|l| l.p99_ms) {
                        row.p99_ms = Some(row.p99_ms.map_or(p99, |v: f64| v.max(p99)));
                    }
                }
            }
            // Only counters are differenced; latency comes from the newer sample's histogram, so
            // the kept sample drops its histograms (most of its size).
            let mut sample = sample;
            for cluster in sample.clusters.values_mut() {
                cluster.latency = None;
            }
            self.samples.insert(key, (at, sample));
        }
        if let Some((count, first)) = oversized {
            tracing::warn!(control_plane = %self.name, proxies = count, error = %first,
                "Envoy stats over the body cap were not read; those proxies' traffic is not counted");
        }
        // Forget proxies that went away, so the sample map does not grow with churn.
        let live: std::collections::HashSet<(&str, &str)> =
            self.online.iter().map(|(m, n, _)| (m.as_str(), n.as_str())).collect();
        self.samples
            .retain(|(m, n), _| live.contains(&(m.as_str(), n.as_str())));
        let rows: Vec<TrafficRow> = agg.into_values().collect();
        let now = OffsetDateTime::now_utc();
        if !rows.is_empty() {
            write::insert_traffic(&self.pool, &self.name, now, &rows).await?;
        }
        write::downsample_traffic(&self.pool, now - self.traffic_retention, now - HOURLY_RETENTION).await?;
        Ok(rows.len())
    }

    /// Polls forever while this process holds the lease; backs off exponentially with jitter
    /// after failures. The lease is kept by its own task, so a long poll or backoff never lets it
    /// lapse while this process is alive; when the process dies, the lease expires after one
    /// interval and another replica (checking every quarter interval) takes over well within two.
    pub async fn run(mut self) {
        let holding = Arc::new(AtomicBool::new(false));
        tokio::spawn(keep_lease(
            self.pool.clone(),
            self.name.clone(),
            self.holder.clone(),
            self.poll_interval,
            holding.clone(),
        ));
        let mut last_stats: Option<Instant> = None;
        let mut failures: u32 = 0;
        while !self.pool.is_closed() {
            if !holding.load(Ordering::Acquire) {
                tokio::time::sleep(self.poll_interval / 4).await;
                continue;
            }
            let mut wait = self.poll_interval;
            if self.poll_once().await.is_ok() {
                failures = 0;
                if last_stats.is_none_or(|t| t.elapsed() >= self.stats_interval) {
                    last_stats = Some(Instant::now());
                    if let Err(err) = self.stats_once().await {
                        tracing::debug!(error = %err, "reading Envoy stats failed");
                    }
                }
            } else {
                failures = failures.saturating_add(1);
                wait = backoff(self.poll_interval, failures);
                tokio::time::sleep(wait).await;
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.refresh.notified() => {
                    tracing::debug!(control_plane = %self.name, "reading the mesh now: a deployment was reported");
                    tokio::time::sleep(MIN_REFRESH_GAP).await;
                }
            }
        }
    }
}

/// Wakes every poller of this process when someone asks for a mesh re-read
/// ([`app::mesh::repo::REFRESH_CHANNEL`]); the one holding a control plane's lease polls it.
async fn listen_for_refresh(pool: PgPool, pollers: Vec<Arc<tokio::sync::Notify>>) {
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(_) if pool.is_closed() => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for mesh refresh requests; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(app::mesh::repo::REFRESH_CHANNEL).await {
            tracing::warn!(error = %err, "cannot listen for mesh refresh requests; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                // A permit is kept if the poller is busy, so a request during a poll is not lost.
                Ok(Some(_)) => pollers.iter().for_each(|p| p.notify_one()),
                Ok(None) => {}
                Err(_) if pool.is_closed() => return,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the mesh refresh listener; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Takes or renews the poll lease every quarter interval for one interval; `holding` says whether
/// this process has it. Logs when it is taken or lost, not on every renewal.
async fn keep_lease(pool: PgPool, name: String, holder: String, interval: Duration, holding: Arc<AtomicBool>) {
    let ttl = interval.max(Duration::from_millis(200));
    while !pool.is_closed() {
        let holds = match write::acquire_lease(&pool, &name, &holder, ttl).await {
            Ok(h) => h,
            Err(err) => {
                tracing::warn!(error = %err, control_plane = %name, "cannot renew the Kuma poll lease");
                false
            }
        };
        if holding.swap(holds, Ordering::AcqRel) != holds {
            if holds {
                tracing::info!(control_plane = %name, "this replica now polls the Kuma control plane");
            } else {
                tracing::info!(control_plane = %name, "another replica polls the Kuma control plane");
            }
        }
        tokio::time::sleep(ttl / 4).await;
    }
}

/// Delay after `failures` consecutive failures: the interval doubled per failure (at most 5
/// minutes), with ±20% jitter.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval
        .saturating_mul(1 << failures.min(5))
        .min(Duration::from_secs(300));
    let jitter: f64 = rand::random::<f64>() * 0.4 + 0.8;
    base.mul_f64(jitter)
}

/// Starts one poller per configured control plane in the background; returns their names.
pub async fn spawn_all(pool: PgPool, args: &KumaArgs) -> anyhow::Result<Vec<Arc<str>>> {
    let mut names = Vec::new();
    let mut wakers = Vec::new();
    for cp in args.control_planes()? {
        let poller = Poller::new(pool.clone(), &cp, args).await?;
        let name: Arc<str> = poller.name.clone().into();
        tracing::info!(control_plane = %name, url = %cp.url, "polling the Kuma control plane");
        wakers.push(poller.refresh.clone());
        tokio::spawn(poller.run());
        names.push(name);
    }
    if !wakers.is_empty() {
        tokio::spawn(listen_for_refresh(pool, wakers));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds of `backoff` for a base delay: ±20% jitter.
    fn within_jitter(d: Duration, base: Duration) -> bool {
        d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2)
    }

    #[test]
    fn backoff_doubles_per_failure_with_jitter_and_is_capped() {
        let interval = Duration::from_secs(2);
        for _ in 0..200 {
            for failures in 0..=4 {
                let base = interval * (1 << failures);
                let d = backoff(interval, failures);
                assert!(
                    within_jitter(d, base),
                    "{failures} failures: {d:?} not within 20% of {base:?}"
                );
            }
            // Ranges of consecutive failures do not overlap (1.2 × base < 0.8 × 2 × base), so
            // every further failure waits longer.
            assert!(backoff(interval, 3) > backoff(interval, 2));
            // Doubling stops after 5 failures...
            for failures in [5, 6, 30, u32::MAX] {
                let d = backoff(interval, failures);
                assert!(within_jitter(d, interval * 32), "{failures} failures: {d:?}");
            }
            // ...and no delay exceeds 5 minutes before jitter, however long the interval.
            let d = backoff(Duration::from_secs(60), 10);
            assert!(within_jitter(d, Duration::from_secs(300)), "capped at 5 min: {d:?}");
        }
    }

    #[test]
    fn backoff_jitter_spreads_retries() {
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| backoff(Duration::from_secs(10), 1)).collect();
        assert!(delays.len() > 1, "replicas failing together must not retry in lockstep");
    }
}
