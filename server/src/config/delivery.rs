//! How delivery events are taken and kept (`bearing serve`; issue 13).

use std::time::Duration;

use clap::Args;

/// Ingest bounds, and how long runs and events live.
#[derive(Clone, Debug, Args)]
pub struct DeliveryArgs {
    /// Largest body `POST /api/v1/lineage[/batch]` and `/api/v1/cdevents` read, such as `8MiB`.
    /// A batch holds at most 1,000 events whatever its size.
    #[arg(long, env = "BEARING_DELIVERY_MAX_BODY_SIZE", default_value = "8MiB", value_parser = super::import::parse_size)]
    pub delivery_max_body_size: u64,
    /// Ingest requests parsed and stored at once; more get 503 with `Retry-After`, which
    /// OpenLineage and CDEvents clients retry.
    #[arg(long, env = "BEARING_DELIVERY_MAX_CONCURRENT", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub delivery_max_concurrent: u16,
    /// A run with no event for this long is closed as `lost` (a late real outcome still wins).
    #[arg(long, env = "BEARING_DELIVERY_LOST_AFTER", default_value = "24h", value_parser = humantime::parse_duration)]
    pub delivery_lost_after: Duration,
    /// Events older than this are deleted (runs, deployments and incidents stay); `0s` keeps
    /// them forever.
    #[arg(long, env = "BEARING_DELIVERY_RETENTION", default_value = "400days", value_parser = humantime::parse_duration)]
    pub delivery_retention: Duration,
}

impl Default for DeliveryArgs {
    fn default() -> Self {
        DeliveryArgs {
            delivery_max_body_size: 8 << 20,
            delivery_max_concurrent: 4,
            delivery_lost_after: Duration::from_secs(24 * 3600),
            delivery_retention: Duration::from_secs(400 * 86_400),
        }
    }
}

impl DeliveryArgs {
    /// What the app's services read.
    pub fn settings(&self) -> app::ssr::DeliverySettings {
        app::ssr::DeliverySettings {
            lost_after: self.delivery_lost_after,
            retention: (!self.delivery_retention.is_zero()).then_some(self.delivery_retention),
            ..Default::default()
        }
    }

    /// What the HTTP handlers read.
    pub fn ingest_limits(&self) -> crate::http::delivery::IngestLimits {
        crate::http::delivery::IngestLimits {
            max_body_bytes: usize::try_from(self.delivery_max_body_size).unwrap_or(usize::MAX),
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(usize::from(self.delivery_max_concurrent))),
        }
    }
}
