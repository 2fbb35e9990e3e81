//! Benchmark of one Kuma poll cycle over a large mesh, and of the rate computation. Writes its
//! figures to `bench/results/kuma-poll.json`; asserts nothing about them. Run through
//! `bench/kuma-poll.sh` (which builds kuma-sim in release first).
//!
//! - kuma-sim runs as its own process (`KUMA_SIM_BIN`) with a generated world of `PROXIES`
//!   proxies over `SERVICES` services, so this process's memory is the poller's alone.
//! - PostgreSQL is an embedded cluster under `target/bench-pg`, a fresh database per run.
//! - A poll cycle is what the poller does every interval: read meshes, insights, every page of
//!   dataplanes, service insights, MeshServices and permissions; compute statuses; replace the
//!   stored state in one transaction. Timed over `CYCLES` cycles after one warm-up.
//! - The rate computation is parsing every proxy's Envoy stats and differencing two samples
//!   (the stats calls themselves are fetched beforehand and not timed); the full stats cycle,
//!   calls included, is reported separately for information.
//! - Memory: resident set size before the first cycle, after it, after the last, and after the
//!   poller's stats cycles (measured before the benchmark's own stats buffers exist); the growth
//!   is the figure to watch.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use bearing_kuma::stats::{self, Sample};
use server::config::kuma::ControlPlane;
use server::config::KumaArgs;
use server::mesh::poller::Poller;

/// The allocator the `bearing` binary uses (so memory figures match the server's), wrapped to
/// count live heap bytes and their peak: resident set size alone is blurred by what the
/// allocator keeps cached.
#[global_allocator]
static GLOBAL: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

fn heap() -> u64 {
    GLOBAL.allocated() as u64
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Resident set size of this process in bytes.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let proxies = env_usize("PROXIES", 5000);
    let services = env_usize("SERVICES", 1000);
    let cycles = env_usize("CYCLES", 10);
    let sim_bin = std::env::var("KUMA_SIM_BIN").map_or_else(|_| root.join("target/release/kuma-sim"), PathBuf::from);
    let listen = std::env::var("KUMA_SIM_LISTEN").unwrap_or_else(|_| "127.0.0.1:5799".into());
    let url = format!("http://{listen}");

    let mut sim = tokio::process::Command::new(&sim_bin)
        .args(["--listen", &listen, "--generate-proxies", &proxies.to_string()])
        .args(["--generate-services", &services.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it with `cargo build --release -p kuma-sim`)",
                sim_bin.display()
            )
        })?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{url}/")).send().await.is_err() {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "kuma-sim did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cluster = server::db::embedded::Embedded::ensure(&root.join("target/bench-pg"), None).await?;
    let name = format!("bench_{}", std::process::id());
    {
        use sqlx::ConnectOptions;
        let mut conn = cluster.owner_options("postgres").connect().await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
    }
    let options = cluster.owner_options(&name);
    server::db::migrate_with(&options).await?;
    let pool = server::db::app_pool_options(4)
        .connect_with(cluster.server_options(&name))
        .await?;

    let args = KumaArgs {
        kuma_timeout: Duration::from_secs(30),
        kuma_concurrency: 16,
        ..KumaArgs::default()
    };
    let cp = ControlPlane {
        name: "bench".into(),
        url: url.clone(),
        token: None,
        policy_mode: Default::default(),
    };
    let mut poller = Poller::new(pool.clone(), &cp, &args).await?;

    let rss_start = rss_bytes();
    let heap_start = heap();
    let warm = Instant::now();
    poller.poll_once().await?;
    let warmup_ms = warm.elapsed().as_secs_f64() * 1000.0;
    let rss_after_first = rss_bytes();
    let mut cycle_ms = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let t = Instant::now();
        poller.poll_once().await?;
        cycle_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let rss_after_cycles = rss_bytes();
    let heap_after_cycles = heap();
    let heap_peak_poll = GLOBAL.max_allocated() as u64;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_proxies")
        .fetch_one(&pool)
        .await?;
    let stored_services: i64 = sqlx::query_scalar("SELECT count(*) FROM mesh_services")
        .fetch_one(&pool)
        .await?;

    // The poller's own stats cycle, calls included (two rounds: the second yields rates).
    poller.stats_once().await?;
    let t = Instant::now();
    let traffic_rows = poller.stats_once().await?;
    let stats_cycle_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss_after_stats = rss_bytes();
    let heap_after_stats = heap();
    let heap_peak_stats = GLOBAL.max_allocated() as u64;

    // Rate computation alone: fetch two rounds of stats for every online proxy, then time parsing
    // and differencing.
    let online: Vec<String> =
        sqlx::query_scalar("SELECT name FROM mesh_proxies WHERE status <> 'offline' ORDER BY name")
            .fetch_all(&pool)
            .await?;
    let fetch_round = async |names: &[String]| -> anyhow::Result<Vec<String>> {
        use futures::StreamExt;
        futures::stream::iter(names.iter().cloned())
            .map(|n| {
                let http = http.clone();
                let url = url.clone();
                async move {
                    let res = http
                        .get(format!("{url}/meshes/default/dataplanes/{n}/stats"))
                        .send()
                        .await?;
                    Ok::<_, anyhow::Error>(res.text().await?)
                }
            })
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    };
    let first = fetch_round(&online).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = fetch_round(&online).await?;
    let t = Instant::now();
    let mut clusters = 0usize;
    for (a, b) in first.iter().zip(&second) {
        let prev = Sample::parse(a)?;
        let cur = Sample::parse(b)?;
        clusters += stats::rates(&prev, &cur, Duration::from_secs(1)).clusters.len();
    }
    let rates_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop((first, second));

    let mut sorted = cycle_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let result = serde_json::json!({
        "benchmark": "kuma-poll",
        "git": std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
        "world": {"proxies": proxies, "services": services, "stored_proxies": stored, "stored_services": stored_services},
        "poll_cycle_ms": {
            "warmup": warmup_ms,
            "cycles": cycles,
            "median": percentile(&sorted, 0.5),
            "p95": percentile(&sorted, 0.95),
            "max": sorted.last().copied().unwrap_or(0.0),
            "target": 2000.0,
        },
        "rate_computation_ms": {"proxies": online.len(), "clusters": clusters, "total": rates_ms},
        "stats_cycle_with_calls_ms": {"total": stats_cycle_ms, "traffic_rows": traffic_rows, "concurrency": args.kuma_concurrency},
        "heap_mib": {
            "before_first_cycle": mib(heap_start),
            "after_poll_cycles": mib(heap_after_cycles),
            "peak_during_poll_cycles": mib(heap_peak_poll),
            "after_stats_cycles": mib(heap_after_stats),
            "peak_during_stats_cycles": mib(heap_peak_stats),
            "retained_growth": mib(heap_after_stats.saturating_sub(heap_start)),
            "peak_growth": mib(heap_peak_stats.saturating_sub(heap_start)),
            "target_growth": 50.0,
        },
        "rss_mib": {
            "before_first_cycle": mib(rss_start),
            "after_first_cycle": mib(rss_after_first),
            "after_all_cycles": mib(rss_after_cycles),
            "after_stats_cycles": mib(rss_after_stats),
            "growth_over_poll_cycles": mib(rss_after_cycles.saturating_sub(rss_start)),
            "growth_steady_state": mib(rss_after_cycles.saturating_sub(rss_after_first)),
            "growth_with_stats": mib(rss_after_stats.saturating_sub(rss_start)),
        },
    });
    let out = root.join("bench/results/kuma-poll.json");
    std::fs::write(&out, serde_json::to_string_pretty(&result)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    println!("written to {}", out.display());

    pool.close().await;
    {
        use sqlx::ConnectOptions;
        let mut conn = cluster.owner_options("postgres").connect().await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
    }
    cluster.stop().await?;
    sim.kill().await.ok();
    Ok(())
}
