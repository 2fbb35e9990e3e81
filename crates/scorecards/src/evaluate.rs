//! One scorecard against one component's facts.
//!
//! The server gathers [`Facts`] from the catalog, the mesh and the delivery integrations and
//! calls [`evaluate`] whenever one of them changes. Missing mesh or delivery data is not a pass:
//! the checks that need it are [`Status::Unknown`], which does not count towards a level but is
//! reported separately, so a team is never told "Gold" because an integration was down, and never
//! blamed for data nobody collected either (the score leaves unknown checks out).

mod rules;

use crate::card::Scorecard;
use bearing_policy::edges::EdgeClass;
use bearing_policy::templates::{tier_of, CatalogFields};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The change failure rate is counted over deployments of the last this many days (DORA's
/// usual window). One window for every card, so the server gathers deployments once.
pub const CHANGE_FAILURE_WINDOW_DAYS: i64 = 30;

/// What the server knows about one component, as of the evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// `spec.owner`, as a reference.
    pub owner: Option<String>,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `spec.type`.
    pub entity_type: Option<String>,
    /// `spec.lifecycle`.
    pub lifecycle: Option<String>,
    /// `spec.system`, as a reference or a name.
    pub system: Option<String>,
    /// `metadata.tags`.
    pub tags: Vec<String>,
    /// `metadata.labels` (the tier may come from here, as for templates).
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The `type` of each of `metadata.links` (links without one are left out).
    pub link_types: Vec<String>,
    /// `None`: no mesh data for the component, and every mesh check is unknown.
    pub mesh: Option<MeshFacts>,
    /// `None`: no delivery data for the component, and every delivery check is unknown.
    pub delivery: Option<DeliveryFacts>,
}

/// What the mesh says about a component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshFacts {
    /// Whether its mesh has mTLS on.
    pub mtls_enabled: bool,
    /// How many of its edges (as caller or callee) have each class; absent classes count 0.
    pub edges: BTreeMap<EdgeClass, u32>,
    /// When the first of its dataplanes' certificates expires; `None` when not reported.
    #[serde(with = "time::serde::rfc3339::option")]
    pub certificates_expire_at: Option<OffsetDateTime>,
}

/// What the delivery integrations say about a component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFacts {
    /// Its latest deployment, however old (the latest of [`DeliveryFacts::deployments`] is used
    /// when it is later).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_deployed_at: Option<OffsetDateTime>,
    /// Its deployments of at least the last [`CHANGE_FAILURE_WINDOW_DAYS`] days (older ones are
    /// ignored), for the change failure rate.
    pub deployments: Vec<Deployment>,
    /// Its latest pipeline run; `None` when it never ran.
    pub last_run: Option<Run>,
}

/// One deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Whether it caused a failure in production (rolled back, hotfixed, incident).
    pub failed: bool,
}

/// One pipeline run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// Whether it succeeded.
    pub succeeded: bool,
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
    /// The facts it needs are missing: not passed, but not the component's fault either.
    Unknown,
}

/// One check's outcome, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's id.
    pub id: String,
    /// The check's title.
    pub title: String,
    /// The index of its level in the card.
    pub level: usize,
    /// Pass, fail or unknown.
    pub status: Status,
    /// Why, for a person: "no runbook link", "certificate expires in 3 days".
    pub reason: String,
}

/// One card's outcome for one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardResult {
    /// The card's name.
    pub card: String,
    /// The card's level names, lowest first.
    pub levels: Vec<String>,
    /// The index of the highest level reached; `None` when not even the first.
    pub level: Option<usize>,
    /// Every check, in card order.
    pub checks: Vec<CheckResult>,
    /// Checks passed.
    pub passed: usize,
    /// Checks failed.
    pub failed: usize,
    /// Checks whose facts are missing.
    pub unknown: usize,
    /// `passed / (passed + failed)`, from 0 to 1; unknown checks are left out, and with no known
    /// check the score is 0.
    pub score: f64,
    /// When it was evaluated (the `now` given).
    #[serde(with = "time::serde::rfc3339")]
    pub evaluated_at: OffsetDateTime,
}

impl CardResult {
    /// The name of the level reached.
    pub fn level_name(&self) -> Option<&str> {
        self.level.and_then(|i| self.levels.get(i)).map(String::as_str)
    }

    /// What stands between the component and the next level: that level's checks that did not
    /// pass (none when the top level is reached).
    pub fn blocking(&self) -> impl Iterator<Item = &CheckResult> {
        let next = self.level.map_or(0, |i| i + 1);
        self.checks
            .iter()
            .filter(move |c| c.level == next && c.status != Status::Pass)
    }
}

impl Scorecard {
    /// Whether the card's `select` matches the component, as a policy template's would.
    pub fn applies_to(&self, facts: &Facts) -> bool {
        self.selector.matches(&CatalogFields {
            entity_type: facts.entity_type.as_deref(),
            lifecycle: facts.lifecycle.as_deref(),
            tier: tier_of(&facts.annotations, &facts.labels),
            tags: &facts.tags,
            system: facts.system.as_deref(),
        })
    }
}

/// Evaluates every check of `card` against `facts` as of `now`. Does not look at the card's
/// `select`: see [`Scorecard::applies_to`].
pub fn evaluate(card: &Scorecard, facts: &Facts, now: OffsetDateTime) -> CardResult {
    let checks: Vec<CheckResult> = card
        .checks()
        .map(|(level, check)| {
            let (status, reason) = rules::judge(&check.rule, facts, now);
            CheckResult {
                id: check.id.clone(),
                title: check.title.clone(),
                level,
                status,
                reason,
            }
        })
        .collect();
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let (passed, failed, unknown) = (count(Status::Pass), count(Status::Fail), count(Status::Unknown));
    // A level counts only when it and every level below it pass in full.
    let reached = (0..card.levels.len())
        .take_while(|&i| checks.iter().filter(|c| c.level == i).all(|c| c.status == Status::Pass))
        .count();
    let known = passed + failed;
    CardResult {
        card: card.name.clone(),
        levels: card.levels.iter().map(|l| l.name.clone()).collect(),
        level: reached.checked_sub(1),
        checks,
        passed,
        failed,
        unknown,
        score: if known == 0 { 0.0 } else { passed as f64 / known as f64 },
        evaluated_at: now,
    }
}
