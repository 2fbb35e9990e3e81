//! `kuma-sim`: serve a simulated Kuma control-plane API.

use anyhow::Context;
use clap::Parser;
use kuma_sim::clock::SystemClock;
use kuma_sim::{Sim, WorldSpec};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// A Kuma control plane (API on port 5681) for a configurable world, with `/_sim/` control
/// endpoints. Without `--world` or `--generate-*` it serves the demo catalog's world.
#[derive(Debug, Parser)]
#[command(name = "kuma-sim", version, about)]
struct Args {
    /// Address to serve Kuma's API on.
    #[arg(long, env = "KUMA_SIM_LISTEN", default_value = "127.0.0.1:5681")]
    listen: SocketAddr,
    /// World file (JSON or YAML); see the README for the format.
    #[arg(long, env = "KUMA_SIM_WORLD", conflicts_with_all = ["generate_proxies", "generate_services"])]
    world: Option<PathBuf>,
    /// Generate a world with this many proxies (benchmarks).
    #[arg(long, env = "KUMA_SIM_GENERATE_PROXIES", requires = "generate_services")]
    generate_proxies: Option<usize>,
    /// Generate a world with this many services (benchmarks).
    #[arg(long, env = "KUMA_SIM_GENERATE_SERVICES", requires = "generate_proxies")]
    generate_services: Option<usize>,
    /// Seed for `--generate-*`.
    #[arg(long, env = "KUMA_SIM_SEED", default_value_t = 1)]
    seed: u64,
    /// Print the world (as a world file, JSON) and exit.
    #[arg(long)]
    print_world: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "kuma_sim=info".into()),
        )
        .init();
    let args = Args::parse();
    let world = match (&args.world, args.generate_proxies, args.generate_services) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            WorldSpec::parse(&text).with_context(|| format!("world file {}", path.display()))?
        }
        (None, Some(proxies), Some(services)) => kuma_sim::generate::world(proxies, services, args.seed),
        _ => kuma_sim::default_world::world(),
    };
    if args.print_world {
        // Written, not `println!`: a closed pipe (`| head`) is an error to report, not a panic.
        use std::io::Write;
        let text = serde_json::to_string_pretty(&world)?;
        return match writeln!(std::io::stdout().lock(), "{text}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        };
    }
    let proxies: usize = world.services.iter().map(|s| WorldSpec::proxy_names(s).len()).sum();
    let (meshes, services) = (world.meshes.len(), world.services.len());
    let sim = Arc::new(Sim::new(world, Arc::new(SystemClock::new()))?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        listen = %args.listen, meshes, services, proxies,
        "kuma-sim serving Kuma's API; control endpoints under /_sim/"
    );
    axum::serve(listener, kuma_sim::router(sim))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
