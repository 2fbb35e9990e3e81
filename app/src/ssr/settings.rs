//! What the server decides at startup and every request reads: who may sign in and read, how
//! the audit log is signed, how mesh data is judged. Plain data, kept beside [`super::ServerCtx`]
//! so that the domain services depend on it and it depends on none of them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bearing_audit::SigningKey;

use crate::auth::{DevUser, RoleMapping};

/// Days an API token lives when whoever creates it gives no expiry.
pub const DEFAULT_TOKEN_EXPIRY_DAYS: u32 = 90;

/// Authentication settings the pages and services need.
#[derive(Debug)]
pub struct AuthSettings {
    /// Anonymous visitors may read the catalog (`BEARING_ANONYMOUS_READ`).
    pub anonymous_read: bool,
    /// Identity-provider groups named `<team><suffix>` make leads of `<team>`.
    pub lead_group_suffix: String,
    /// The identity provider's issuer, if one is configured.
    pub issuer: Option<String>,
    /// Set once discovery succeeded: sign-in can start.
    pub provider_ready: AtomicBool,
    /// Demo users of the development identity provider, shown on the login page.
    pub dev_users: Vec<DevUser>,
    /// People who are admins because the operator said so (`--bootstrap-admin`), as
    /// (issuer, subject): how a fresh install gets its first admin.
    pub bootstrap_admins: Vec<(String, String)>,
    /// Group-to-role mappings from `--role-mapping-file`, read at startup. They add to the
    /// mappings admins edit on /admin and cannot be changed there.
    pub file_mappings: Vec<RoleMapping>,
    /// The role-mapping file, to say on /admin where [`AuthSettings::file_mappings`] come from.
    pub mapping_file: Option<String>,
    /// Days an API token lives when whoever creates it gives no expiry.
    pub token_expiry_days: u32,
}

impl Default for AuthSettings {
    /// Nothing privileged: no anonymous reads, no lead convention, no mappings, no admins.
    fn default() -> Self {
        AuthSettings {
            anonymous_read: false,
            lead_group_suffix: String::new(),
            issuer: None,
            provider_ready: AtomicBool::new(false),
            dev_users: Vec::new(),
            bootstrap_admins: Vec::new(),
            file_mappings: Vec::new(),
            mapping_file: None,
            token_expiry_days: DEFAULT_TOKEN_EXPIRY_DAYS,
        }
    }
}

impl AuthSettings {
    /// Whether sign-in can start now.
    pub fn ready(&self) -> bool {
        self.provider_ready.load(Ordering::Acquire)
    }
}

/// How checkpoints of the chain head are signed.
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// Signs checkpoints (Ed25519).
    pub key: Arc<SigningKey>,
    /// A checkpoint is signed in the appending transaction every this many rows...
    pub checkpoint_rows: i64,
    /// ...and every row is covered by a checkpoint at most about this long after it was
    /// appended ([`keep_checkpointed`]). Rows after the last checkpoint are protected by the
    /// hash chain alone: someone with write access could delete them undetected.
    pub checkpoint_interval: Duration,
}

impl AuditSettings {
    /// Settings with a fresh key, for tests.
    pub fn ephemeral() -> AuditSettings {
        AuditSettings {
            key: Arc::new(SigningKey::generate()),
            checkpoint_rows: 100,
            checkpoint_interval: Duration::from_secs(60),
        }
    }
}

/// How delivery events are kept and judged (issue 13).
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// A run with no event for this long is closed as `lost` (`--delivery-lost-after`).
    pub lost_after: Duration,
    /// Events older than this are deleted (`--delivery-retention`); `None` keeps them.
    pub retention: Option<Duration>,
    /// Which refused producer/component pairs were audited lately. Shared: the context is
    /// cloned per request.
    pub refusals: Arc<crate::delivery::ingest::RefusalLog>,
    /// The environments whose deployments the DORA metrics count when a request names none
    /// (DORA counts deployments to production); empty for every environment.
    pub dora_environments: Arc<[String]>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            lost_after: Duration::from_secs(24 * 3600),
            retention: Some(Duration::from_secs(400 * 86_400)),
            refusals: Arc::default(),
            dora_environments: Arc::from(Vec::new()),
        }
    }
}

/// Admins' scorecards (`--scorecards`) and how often they are evaluated (issue 13 §7).
#[derive(Clone, Debug)]
pub struct ScorecardSettings {
    /// The cards, loaded and validated at start; none without `--scorecards`.
    pub cards: Arc<[bearing_scorecards::Scorecard]>,
    /// Time between two passes of the scorecard worker (`--scorecards-interval`).
    pub interval: Duration,
}

impl Default for ScorecardSettings {
    fn default() -> Self {
        ScorecardSettings {
            cards: Arc::from(Vec::new()),
            interval: Duration::from_secs(300),
        }
    }
}

/// How mesh data is judged and shown.
#[derive(Clone, Debug)]
pub struct MeshSettings {
    /// The poll interval: data older than 3 of them is stale.
    pub poll_interval: Duration,
    /// The stats interval (`--kuma-stats-interval`): a traffic sample older than 3 of them is
    /// no longer a current rate.
    pub stats_interval: Duration,
    /// How far back the component page's traffic chart goes.
    pub history: Duration,
    /// A caller -> destination pair that carried no request for this long counts as not observed
    /// (`--kuma-observed-window`).
    pub observed_window: Duration,
    /// The Dataplane label naming the team that runs a workload, compared with the catalog
    /// owner for ownership drift (`--kuma-team-label`). Shared, as the context is cloned per
    /// request.
    pub team_label: Arc<str>,
}

impl Default for MeshSettings {
    fn default() -> Self {
        MeshSettings {
            poll_interval: Duration::from_secs(15),
            stats_interval: Duration::from_secs(60),
            history: Duration::from_secs(6 * 3600),
            observed_window: Duration::from_secs(7 * 86_400),
            team_label: Arc::from(bearing_policy::edges::DEFAULT_TEAM_LABEL),
        }
    }
}
