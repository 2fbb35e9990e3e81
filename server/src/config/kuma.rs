//! The Kuma control plane the mesh poller reads (issue 4).

use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

/// Where the Kuma control plane is and how often to read it.
#[derive(Clone, Debug, Args)]
pub struct KumaArgs {
    /// The control plane's API URL, e.g. `http://127.0.0.1:5681`. Without it, no mesh state is
    /// polled.
    #[arg(long, env = "BEARING_KUMA_URL")]
    pub kuma_url: Option<String>,

    /// A bearer token for the control plane's API (never logged).
    #[arg(long, env = "BEARING_KUMA_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub kuma_token: Option<SecretString>,

    /// The control plane's name in Bearing.
    #[arg(long, env = "BEARING_KUMA_NAME", default_value = "default")]
    pub kuma_name: String,

    /// Time between polls of meshes, proxies and services.
    #[arg(long, env = "BEARING_KUMA_POLL_INTERVAL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub kuma_poll_interval: Duration,

    /// Time between reads of every online proxy's Envoy stats.
    #[arg(long, env = "BEARING_KUMA_STATS_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub kuma_stats_interval: Duration,

    /// Timeout of one request to the control plane.
    #[arg(long, env = "BEARING_KUMA_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub kuma_timeout: Duration,

    /// Largest number of concurrent stats requests.
    #[arg(long, env = "BEARING_KUMA_CONCURRENCY", default_value_t = 8)]
    pub kuma_concurrency: usize,
}

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}
