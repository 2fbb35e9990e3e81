//! The Kuma control planes the mesh poller reads (issue 4): one from flags, or several from a
//! config file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use app::policy::PolicyMode;
use clap::Args;
use secrecy::SecretString;
use serde::Deserialize;

/// Where the Kuma control planes are and how often to read them.
#[derive(Clone, Debug, Args)]
pub struct KumaArgs {
    /// The control plane's API URL, e.g. `http://127.0.0.1:5681`. Without it (or
    /// `--kuma-config`), no mesh state is polled.
    #[arg(long, env = "BEARING_KUMA_URL")]
    pub kuma_url: Option<String>,

    /// A bearer token for the control plane's API (never logged).
    #[arg(long, env = "BEARING_KUMA_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub kuma_token: Option<SecretString>,

    /// The control plane's name in Bearing.
    #[arg(long, env = "BEARING_KUMA_NAME", default_value = "default")]
    pub kuma_name: String,

    /// A JSON file listing several control planes, instead of `--kuma-url`:
    /// `{"control_planes": [{"name": "eu", "url": "https://...", "token_file": "/run/secrets/eu"}]}`
    /// (`token_env` names an environment variable instead of a file).
    #[arg(long, env = "BEARING_KUMA_CONFIG", conflicts_with = "kuma_url")]
    pub kuma_config: Option<PathBuf>,

    /// What Bearing does with a control plane's traffic policies when an import changes the
    /// declared dependencies they follow: `off` (only show proposals, never write), `propose`
    /// (mark the affected policies out of date for their team's lead to apply) or `apply`
    /// (apply them at once, audited as the identity that imported). `policy_mode` in
    /// `--kuma-config` overrides it per control plane.
    #[arg(long, env = "BEARING_KUMA_POLICY_MODE", default_value = "propose")]
    pub kuma_policy_mode: PolicyMode,

    /// Time between polls of meshes, proxies and services. Data older than three intervals is
    /// shown as stale.
    #[arg(long, env = "BEARING_KUMA_POLL_INTERVAL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub kuma_poll_interval: Duration,

    /// Time between reads of every online proxy's Envoy stats. A rate older than three
    /// intervals (or three poll intervals, if longer) is no longer shown as current.
    #[arg(long, env = "BEARING_KUMA_STATS_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub kuma_stats_interval: Duration,

    /// Timeout of one request to the control plane.
    #[arg(long, env = "BEARING_KUMA_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub kuma_timeout: Duration,

    /// How long a control plane's answer to whether it takes writes (`GET /_resources`,
    /// `readOnly`) is believed. The page of every component in a mesh needs it, to offer the
    /// apply buttons or the manifest to apply instead; a write always asks afresh. Failures to
    /// get an answer are remembered for at most 10 s.
    #[arg(long, env = "BEARING_KUMA_READ_ONLY_RECHECK", default_value = "60s", value_parser = humantime::parse_duration)]
    pub kuma_read_only_recheck: Duration,

    /// Largest number of concurrent stats requests.
    #[arg(long, env = "BEARING_KUMA_CONCURRENCY", default_value_t = 8)]
    pub kuma_concurrency: usize,

    /// Certificates expiring within this window are shown as "expires soon".
    #[arg(long, env = "BEARING_KUMA_EXPIRES_SOON", default_value = "7d", value_parser = humantime::parse_duration)]
    pub kuma_expires_soon: Duration,

    /// Largest body accepted in one answer from the control plane (a page of a list, one proxy's
    /// Envoy stats), e.g. `64MiB`, `500KB` or a number of bytes. A larger answer fails the read
    /// as soon as it passes the cap, without being held in memory: the poll fails and keeps the
    /// stored state. Up to `--kuma-concurrency` stats answers are read at once.
    #[arg(long, env = "BEARING_KUMA_MAX_BODY_SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub kuma_max_body_size: u64,

    /// How long raw traffic samples are kept; older ones are folded into hourly averages (kept
    /// 90 days).
    #[arg(long, env = "BEARING_KUMA_TRAFFIC_RETENTION", default_value = "7d", value_parser = humantime::parse_duration)]
    pub kuma_traffic_retention: Duration,

    /// A caller -> destination pair that carried no request for this long counts as "not
    /// observed" on the policy map (a declared dependency nobody calls, a grant nobody uses).
    #[arg(long, env = "BEARING_KUMA_OBSERVED_WINDOW", default_value = "7d", value_parser = humantime::parse_duration)]
    pub kuma_observed_window: Duration,

    /// The Dataplane label naming the team that runs a workload. A dataplane whose label names
    /// another team than its component's catalog owner is ownership drift (on `/mesh`, team
    /// pages and `GET /api/v1/mesh/ownership-drift`). A label key as Kubernetes and Kuma accept
    /// it, e.g. `team` or `example.com/team`.
    #[arg(long, env = "BEARING_KUMA_TEAM_LABEL", default_value = app::mesh::ownership::DEFAULT_TEAM_LABEL, value_parser = parse_label_key)]
    pub kuma_team_label: String,
}

/// The default of `--kuma-max-body-size`: a page of 1,000 dataplanes with insights is about
/// 1.5 MB, and Envoy stats of a proxy that sees 1,000 clusters a few MB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 64 * 1024 * 1024;

impl Default for KumaArgs {
    fn default() -> Self {
        KumaArgs {
            kuma_url: None,
            kuma_token: None,
            kuma_name: "default".into(),
            kuma_config: None,
            kuma_policy_mode: PolicyMode::Propose,
            kuma_poll_interval: Duration::from_secs(15),
            kuma_stats_interval: Duration::from_secs(60),
            kuma_timeout: Duration::from_secs(10),
            kuma_read_only_recheck: Duration::from_secs(60),
            kuma_concurrency: 8,
            kuma_expires_soon: Duration::from_secs(7 * 86_400),
            kuma_traffic_retention: Duration::from_secs(7 * 86_400),
            kuma_max_body_size: DEFAULT_MAX_BODY_SIZE,
            kuma_observed_window: Duration::from_secs(7 * 86_400),
            kuma_team_label: app::mesh::ownership::DEFAULT_TEAM_LABEL.to_owned(),
        }
    }
}

/// One control plane to poll.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    /// Its name in Bearing (pages, API, lease).
    pub name: String,
    /// API base URL.
    pub url: String,
    /// Bearer token, if the API needs one.
    pub token: Option<SecretString>,
    /// What Bearing does with its policies after an import (`--kuma-policy-mode`).
    pub policy_mode: PolicyMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    control_planes: Vec<ConfigEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigEntry {
    name: String,
    url: String,
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    token_env: Option<String>,
    /// `off`, `propose` or `apply`; `--kuma-policy-mode` when absent.
    #[serde(default)]
    policy_mode: Option<String>,
}

impl KumaArgs {
    /// The control planes to poll: the config file's, or the one `--kuma-url` names, or none.
    pub fn control_planes(&self) -> anyhow::Result<Vec<ControlPlane>> {
        if let Some(path) = &self.kuma_config {
            return read_config(path, self.kuma_policy_mode);
        }
        Ok(self
            .kuma_url
            .iter()
            .map(|url| ControlPlane {
                name: self.kuma_name.clone(),
                url: url.clone(),
                token: self.kuma_token.clone(),
                policy_mode: self.kuma_policy_mode,
            })
            .collect())
    }
}

fn read_config(path: &Path, default_mode: PolicyMode) -> anyhow::Result<Vec<ControlPlane>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the Kuma config file {} (BEARING_KUMA_CONFIG)",
            path.display()
        )
    })?;
    let file: ConfigFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a Kuma config: expected {{\"control_planes\": [{{\"name\", \"url\", optional \"token_file\" or \"token_env\"}}]}}",
            path.display()
        )
    })?;
    let mut seen = std::collections::BTreeSet::new();
    file.control_planes
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let at = format!("{}: control_planes[{i}]", path.display());
            anyhow::ensure!(!e.name.trim().is_empty(), "{at}: name is empty");
            anyhow::ensure!(seen.insert(e.name.clone()), "{at}: the name {:?} is used twice", e.name);
            anyhow::ensure!(
                e.url.starts_with("http://") || e.url.starts_with("https://"),
                "{at}: url {:?} must start with http:// or https://",
                e.url
            );
            let token = match (e.token_file, e.token_env) {
                (Some(_), Some(_)) => anyhow::bail!("{at}: give token_file or token_env, not both"),
                (Some(file), None) => Some(
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("{at}: cannot read token_file {}", file.display()))?
                        .trim()
                        .to_owned(),
                ),
                (None, Some(var)) => {
                    Some(std::env::var(&var).with_context(|| format!("{at}: environment variable {var} is not set"))?)
                }
                (None, None) => None,
            };
            let policy_mode = match e.policy_mode {
                None => default_mode,
                Some(m) => m
                    .parse()
                    .map_err(|err: String| anyhow::anyhow!("{at}: policy_mode: {err}"))?,
            };
            Ok(ControlPlane {
                name: e.name,
                url: e.url,
                token: token.map(SecretString::from),
                policy_mode,
            })
        })
        .collect()
}

/// A size such as `64MiB`, `1.5 MB` or `1048576` (bytes); at least one byte.
fn parse_size(s: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = s
        .trim()
        .parse()
        .map_err(|e| format!("{s:?} is not a size such as 64MiB, 500KB or 1048576: {e}"))?;
    match size.as_u64() {
        0 => Err("the size must be at least one byte".to_owned()),
        n => Ok(n),
    }
}

/// A label key Kuma would accept on a Dataplane (`team`, `example.com/team`): a key it would
/// refuse can never be found on a dataplane, so drift would silently find nothing.
fn parse_label_key(s: &str) -> Result<String, String> {
    let problems = bearing_kuma::checks::label_key_problems(s);
    if problems.is_empty() {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a Dataplane label key such as team or example.com/team: {}",
            problems.join("; ")
        ))
    }
}

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> anyhow::Result<Vec<ControlPlane>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("kuma.json");
        std::fs::write(&path, text)?;
        std::fs::write(dir.path().join("token"), "s3cret\n")?;
        let text = text.replace("TOKEN_PATH", &dir.path().join("token").display().to_string());
        std::fs::write(&path, text)?;
        KumaArgs {
            kuma_config: Some(path),
            ..KumaArgs::default()
        }
        .control_planes()
    }

    #[test]
    fn a_config_file_names_several_control_planes() {
        use secrecy::ExposeSecret;
        let cps = config(
            r#"{"control_planes": [{"name": "eu", "url": "http://eu:5681", "token_file": "TOKEN_PATH"},
                                   {"name": "us", "url": "https://us:5682"}]}"#,
        )
        .expect("valid");
        assert_eq!(cps.len(), 2);
        assert_eq!(
            cps[0].token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(),
            Some("s3cret")
        );
        assert!(cps[1].token.is_none());
    }

    #[test]
    fn bad_config_files_say_where() {
        let dup = config(r#"{"control_planes": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}"#);
        assert!(format!("{:#}", dup.expect_err("dup")).contains("control_planes[1]: the name \"a\" is used twice"));
        let url = config(r#"{"control_planes": [{"name": "a", "url": "ftp://x"}]}"#);
        assert!(format!("{:#}", url.expect_err("url")).contains("must start with http://"));
        let unknown = config(r#"{"control_planes": [{"name": "a", "url": "http://x", "tokn": "y"}]}"#);
        assert!(format!("{:#}", unknown.expect_err("unknown")).contains("is not a Kuma config"));
    }

    #[test]
    fn policy_modes_default_to_the_flag_and_are_set_per_control_plane() {
        let cps = config(
            r#"{"control_planes": [{"name": "eu", "url": "http://eu", "policy_mode": "apply"},
                                   {"name": "us", "url": "http://us"}]}"#,
        )
        .expect("valid");
        assert_eq!(cps[0].policy_mode, PolicyMode::Apply);
        assert_eq!(cps[1].policy_mode, PolicyMode::Propose, "the flag's default");
        let bad = config(r#"{"control_planes": [{"name": "a", "url": "http://x", "policy_mode": "yolo"}]}"#);
        let message = format!("{:#}", bad.expect_err("bad mode"));
        assert!(
            message.contains("control_planes[0]: policy_mode") && message.contains("off, propose, apply"),
            "{message}"
        );
    }

    #[test]
    fn body_sizes_take_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("64 MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        for bad in ["", "0", "lots", "-1MiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_body_cap_is_a_serve_flag_with_a_default() {
        use clap::Parser;
        let serve = |args: &[&str]| match crate::cli::Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(crate::cli::Command::Serve(serve))) => Ok(serve.kuma.kuma_max_body_size),
            Ok(_) => panic!("not serve"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(
            serve(&["bearing", "serve", "--kuma-max-body-size", "2MiB"]),
            Ok(2 << 20)
        );
        assert_eq!(serve(&["bearing", "serve"]), Ok(DEFAULT_MAX_BODY_SIZE));
        let err = serve(&["bearing", "serve", "--kuma-max-body-size", "big"]).expect_err("bad size");
        assert!(err.contains("--kuma-max-body-size") && err.contains("64MiB"), "{err}");
    }

    #[test]
    fn the_team_label_is_a_label_key() {
        use clap::Parser;
        let serve = |args: &[&str]| match crate::cli::Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(crate::cli::Command::Serve(serve))) => Ok(serve.kuma.kuma_team_label),
            Ok(_) => panic!("not serve"),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(serve(&["bearing", "serve"]).as_deref(), Ok("team"));
        assert_eq!(
            serve(&["bearing", "serve", "--kuma-team-label", "example.com/owner"]).as_deref(),
            Ok("example.com/owner")
        );
        for bad in ["", "team name", "a/b/c", "Example.com/team", "-team"] {
            let flag = format!("--kuma-team-label={bad}");
            let err = serve(&["bearing", "serve", &flag]).expect_err(bad);
            assert!(
                err.contains("--kuma-team-label") && err.contains("not a Dataplane label key"),
                "{err}"
            );
        }
    }

    #[test]
    fn without_url_or_file_nothing_is_polled() {
        assert!(KumaArgs::default().control_planes().expect("ok").is_empty());
    }
}
