//! The background worker: holds the lease, polls the control plane, reads Envoy stats, and backs
//! off on failure. A failed or partial poll never touches the stored state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bearing_kuma::model::{Mesh, MeshInsight};
use bearing_kuma::stats::{self, ClusterKind, Sample};
use futures::StreamExt;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::client::{ClientError, KumaClient};
use super::repo::{self, TrafficRow};
use super::service::{self, MeshRead};
use crate::config::KumaArgs;

/// Traffic samples older than this are deleted.
pub const TRAFFIC_RETENTION: time::Duration = time::Duration::days(7);

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
    /// Previous stats sample per `(mesh, proxy)`.
    samples: HashMap<(String, String), (Instant, Sample)>,
    /// Online proxies from the last successful poll: `(mesh, name, service)`.
    online: Vec<(String, String, String)>,
    /// Whether the last poll failed (to log once per change of state).
    failing: bool,
}

impl Poller {
    /// A poller for the control plane configured by `args` (which must have a URL).
    pub async fn new(pool: PgPool, args: &KumaArgs) -> anyhow::Result<Poller> {
        let url = args
            .kuma_url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("BEARING_KUMA_URL is not set"))?;
        let client = KumaClient::new(&url, args.kuma_token.clone(), args.kuma_timeout)?;
        repo::upsert_control_plane(&pool, &args.kuma_name, &url).await?;
        Ok(Poller {
            name: args.kuma_name.clone(),
            client,
            pool,
            holder: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            poll_interval: args.kuma_poll_interval,
            stats_interval: args.kuma_stats_interval,
            concurrency: args.kuma_concurrency.max(1),
            samples: HashMap::new(),
            online: Vec::new(),
            failing: false,
        })
    }

    /// Reads everything, then replaces the stored state in one transaction. On any error the
    /// stored state is kept and the error recorded.
    pub async fn poll_once(&mut self) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        match self.read_all().await {
            Ok(reads) => {
                let snap = service::snapshot(&reads, now);
                repo::replace_state(&self.pool, &self.name, &snap, now).await?;
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
                repo::record_error(&self.pool, &self.name, &err.to_string(), now).await?;
                if !self.failing {
                    tracing::warn!(control_plane = %self.name, error = %err, "polling the Kuma control plane failed; keeping the last state");
                    self.failing = true;
                }
                metrics::counter!("bearing_kuma_poll_errors_total").increment(1);
                Err(err.into())
            }
        }
    }

    async fn read_all(&self) -> Result<Vec<MeshRead>, ClientError> {
        let meshes: Vec<Mesh> = self.client.list("/meshes").await?;
        let mut insights: HashMap<String, MeshInsight> = self
            .client
            .list::<MeshInsight>("/mesh-insights")
            .await?
            .into_iter()
            .map(|i| (i.meta.name.clone(), i))
            .collect();
        let mut reads = Vec::with_capacity(meshes.len());
        for mesh in meshes {
            let m = mesh.meta.name.clone();
            reads.push(MeshRead {
                insight: insights.remove(&m),
                dataplanes: self.client.list(&format!("/meshes/{m}/dataplanes+insights")).await?,
                service_insights: self.client.list(&format!("/meshes/{m}/service-insights")).await?,
                mtps: self.client.list(&format!("/meshes/{m}/meshtrafficpermissions")).await?,
                tps: self.client.list(&format!("/meshes/{m}/traffic-permissions")).await?,
                mesh,
            });
        }
        Ok(reads)
    }

    /// Reads the stats of every proxy online at the last poll, turns counter deltas since the
    /// previous sample into traffic rows, and prunes old traffic.
    pub async fn stats_once(&mut self) -> anyhow::Result<usize> {
        let client = self.client.clone();
        let fetched: Vec<_> = futures::stream::iter(self.online.clone())
            .map(|(mesh, name, svc)| {
                let client = client.clone();
                async move {
                    let body = client
                        .get_text(&format!("/meshes/{mesh}/dataplanes/{name}/stats"))
                        .await;
                    (mesh, name, svc, Instant::now(), body)
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut agg: HashMap<(String, String, String, &'static str), TrafficRow> = HashMap::new();
        for (mesh, name, svc, at, body) in fetched {
            let Ok(sample) = body.map_err(anyhow::Error::from).and_then(|b| Ok(Sample::parse(&b)?)) else {
                continue;
            };
            let key = (mesh.clone(), name);
            if let Some((prev_at, prev)) = self.samples.get(&key) {
                let rates = stats::rates(prev, &sample, at - *prev_at);
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
                            p99_ms: None,
                        });
                    row.requests_per_s += c.requests_per_s;
                    row.errors_per_s += c.rq_5xx_per_s;
                    if let Some(p99) = c.latency.and_then(|l| l.p99_ms) {
                        row.p99_ms = Some(row.p99_ms.map_or(p99, |v: f64| v.max(p99)));
                    }
                }
            }
            self.samples.insert(key, (at, sample));
        }
        let rows: Vec<TrafficRow> = agg.into_values().collect();
        let now = OffsetDateTime::now_utc();
        repo::insert_traffic(&self.pool, &self.name, now, &rows).await?;
        repo::prune_traffic(&self.pool, now - TRAFFIC_RETENTION).await?;
        Ok(rows.len())
    }

    /// Polls forever while this process holds the lease; backs off exponentially with jitter
    /// after failures.
    pub async fn run(mut self) {
        let lease_ttl = self.poll_interval * 2;
        let mut last_stats: Option<Instant> = None;
        let mut failures: u32 = 0;
        while !self.pool.is_closed() {
            let holds = match repo::acquire_lease(&self.pool, &self.name, &self.holder, lease_ttl).await {
                Ok(h) => h,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot take the Kuma poll lease");
                    false
                }
            };
            let mut wait = self.poll_interval;
            if holds {
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
                }
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// Delay after `failures` consecutive failures: the interval doubled per failure (at most 5
/// minutes), with ±20% jitter. The lease (two intervals) can lapse during a long backoff; another
/// replica may then take over polling, and backs off on its own while the control plane stays down.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval
        .saturating_mul(1 << failures.min(5))
        .min(Duration::from_secs(300));
    let jitter: f64 = rand::random::<f64>() * 0.4 + 0.8;
    base.mul_f64(jitter)
}

/// Starts the poller in the background.
pub async fn spawn(pool: PgPool, args: &KumaArgs) -> anyhow::Result<Arc<str>> {
    let poller = Poller::new(pool, args).await?;
    let name: Arc<str> = poller.name.clone().into();
    tracing::info!(control_plane = %name, "polling the Kuma control plane");
    tokio::spawn(poller.run());
    Ok(name)
}
