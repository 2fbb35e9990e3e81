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
    /// The environments DORA metrics count as production, comma-separated (such as
    /// `production,prod-eu`), unless a request names its own with `environment=`. Empty: every
    /// environment counts.
    #[arg(long, env = "BEARING_DORA_ENVIRONMENTS", value_delimiter = ',', value_parser = parse_environment)]
    pub dora_environments: Vec<String>,
}

/// An environment id as CDEvents names it: not blank, at most 200 characters, no control
/// characters.
fn parse_environment(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("an environment name is empty (a stray comma?)".into());
    }
    if id.chars().count() > 200 || id.chars().any(char::is_control) {
        return Err(format!(
            "`{}` is not an environment id: at most 200 characters, no control characters",
            id.escape_debug()
        ));
    }
    Ok(id.to_owned())
}

impl Default for DeliveryArgs {
    fn default() -> Self {
        DeliveryArgs {
            delivery_max_body_size: 8 << 20,
            delivery_max_concurrent: 4,
            delivery_lost_after: Duration::from_secs(24 * 3600),
            delivery_retention: Duration::from_secs(400 * 86_400),
            dora_environments: Vec::new(),
        }
    }
}

impl DeliveryArgs {
    /// What the app's services read.
    pub fn settings(&self) -> app::ssr::DeliverySettings {
        app::ssr::DeliverySettings {
            lost_after: self.delivery_lost_after,
            retention: (!self.delivery_retention.is_zero()).then_some(self.delivery_retention),
            dora_environments: self.dora_environments.clone().into(),
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        delivery: DeliveryArgs,
    }

    #[test]
    fn dora_environments_are_a_checked_comma_separated_list() {
        let cli = Cli::try_parse_from(["x", "--dora-environments", "production, prod-eu"]).expect("parses");
        assert_eq!(
            cli.delivery.settings().dora_environments.to_vec(),
            ["production", "prod-eu"]
        );
        assert!(Cli::try_parse_from(["x"])
            .expect("parses")
            .delivery
            .dora_environments
            .is_empty());
        for bad in ["production,,staging", "prod\u{7}"] {
            assert!(
                Cli::try_parse_from(["x", "--dora-environments", bad]).is_err(),
                "{bad:?}"
            );
        }
    }
}
