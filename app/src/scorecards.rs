//! Scorecards (issue 13 §7): admins' YAML cards (`--scorecards`, read by `bearing_scorecards`)
//! with levels of checks on the catalog, the mesh and delivery, evaluated by the server's
//! worker into a daily history per component, rolled up per team, system and organisation.
//! Wire types shared by the pages, the server functions and the JSON API
//! (`/api/v1/scorecards`, `/api/v1/scorecards/{card}`, `/api/v1/entities/.../scorecards`).
//!
//! - [`service`]: the reads (with the caller's check) and [`service::evaluate_all`], the pass
//!   the worker runs.
//! - `facts`: what the catalog, the mesh and delivery say about every component, in a bounded
//!   number of queries.
//! - `repo`: the SQL of `scorecard_results`.
//! - [`api`]: server functions; [`pages`]: `/scorecards` and the sections of the entity page.

pub mod api;
#[cfg(feature = "ssr")]
mod facts;
pub mod pages;
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub use repo::CHANGED_CHANNEL;

/// `GET /api/v1/scorecards`: every card with its roll-up over the components in scope (the
/// organisation, one team or one system).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScorecardList {
    /// The team asked for (reference key), if any.
    pub team: Option<String>,
    /// The system asked for (reference key), if any.
    pub system: Option<String>,
    /// The day the results are from (`YYYY-MM-DD`, UTC): the latest evaluated; null before the
    /// first evaluation.
    pub day: Option<String>,
    /// One entry per card, by name.
    pub cards: Vec<CardSummary>,
    /// Teams that own evaluated components (reference keys), for the filters.
    pub teams: Vec<String>,
    /// Systems of evaluated components (reference keys), for the filters.
    pub systems: Vec<String>,
}

/// What a card is, without its results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CardInfo {
    /// Unique name, as in URLs.
    #[cfg_attr(feature = "ssr", schema(example = "production-readiness"))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(example = "Production readiness"))]
    pub title: String,
    pub description: Option<String>,
    /// Level names, lowest first.
    pub levels: Vec<String>,
}

/// One card over the components in scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CardSummary {
    pub card: CardInfo,
    /// Components evaluated against the card.
    pub components: u64,
    /// Components that reached no level.
    pub none: u64,
    /// Per level, lowest first: components whose highest level is exactly that one.
    pub levels: Vec<LevelCount>,
    /// Per check, in card order.
    pub checks: Vec<CheckRate>,
    /// Mean score, 0 to 1.
    pub mean_score: f64,
    /// The lowest-scoring components (at most five), worst first.
    pub worst: Vec<ComponentScore>,
}

/// How many components stopped at a level.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LevelCount {
    #[cfg_attr(feature = "ssr", schema(example = "Silver"))]
    pub name: String,
    pub count: u64,
}

/// How one check fared over the components in scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckRate {
    #[cfg_attr(feature = "ssr", schema(example = "runbook"))]
    pub id: String,
    pub title: String,
    /// Index of its level.
    pub level: u32,
    pub passed: u64,
    pub failed: u64,
    /// Components for which its facts are missing (no mesh or delivery data).
    pub unknown: u64,
    /// `passed / (passed + failed)`; null when unknown everywhere.
    pub pass_rate: Option<f64>,
}

/// One component's standing on one card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComponentScore {
    /// Reference key.
    #[cfg_attr(feature = "ssr", schema(example = "component:default/checkout"))]
    pub component: String,
    pub title: Option<String>,
    /// The owning team (reference key).
    pub owner: Option<String>,
    /// Its system (reference key).
    pub system: Option<String>,
    /// Index of the highest level reached; null when not even the first.
    pub level: Option<u32>,
    /// Name of that level.
    #[cfg_attr(feature = "ssr", schema(example = "Bronze"))]
    pub level_name: Option<String>,
    /// Checks passed / checks known, 0 to 1.
    pub score: f64,
    pub passed: u64,
    pub failed: u64,
    pub unknown: u64,
    /// When the result was last computed differently (RFC 3339).
    pub evaluated_at: String,
}

/// `GET /api/v1/scorecards/{card}`: one page of components' results on one card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CardResults {
    pub card: CardInfo,
    /// The day the results are from (`YYYY-MM-DD`); null before the first evaluation.
    pub day: Option<String>,
    pub items: Vec<ComponentScore>,
    /// Matching components in all.
    pub total: u64,
    /// Offset of the next page; null on the last.
    pub next_offset: Option<u64>,
}

/// One check's outcome for one component.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckOutcome {
    #[cfg_attr(feature = "ssr", schema(example = "description"))]
    pub id: String,
    pub title: String,
    /// Why it matters or how to fix it, from the card.
    pub description: Option<String>,
    /// Index of its level.
    pub level: u32,
    /// `pass`, `fail` or `unknown` (its facts are missing).
    #[cfg_attr(feature = "ssr", schema(example = "fail"))]
    pub status: String,
    /// Why, for a person.
    #[cfg_attr(feature = "ssr", schema(example = "no description"))]
    pub reason: String,
}

/// Which way a component's standing went over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrendView {
    /// `up`, `down` or `flat`.
    #[cfg_attr(feature = "ssr", schema(example = "up"))]
    pub direction: String,
    /// The day compared against (`YYYY-MM-DD`).
    pub since: String,
    /// Levels gained (negative: lost).
    pub level_change: i64,
    /// Score gained (negative: lost), -1 to 1.
    pub score_change: f64,
}

/// One day of a component's history on one card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HistoryPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub level: Option<u32>,
    pub score: f64,
}

/// One card's result for one component, with every check and the trend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComponentCard {
    pub card: CardInfo,
    pub score: ComponentScore,
    /// Every check, in card order.
    pub checks: Vec<CheckOutcome>,
    /// Over the last [`TREND_DAYS`] days; null without two days to compare.
    pub trend: Option<TrendView>,
    /// The daily history of the last [`TREND_DAYS`] days, oldest first.
    pub history: Vec<HistoryPoint>,
}

/// `GET /api/v1/entities/{kind}/{namespace}/{name}/scorecards`: a component's results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComponentScorecards {
    #[cfg_attr(feature = "ssr", schema(example = "component:default/checkout"))]
    pub component: String,
    /// Whether the server has any scorecard (`--scorecards`).
    pub configured: bool,
    /// The day the results are from; null when the component was not evaluated yet.
    pub day: Option<String>,
    /// One entry per card that applies to the component, by card name.
    pub cards: Vec<ComponentCard>,
}

/// Days of history the trend and the component page look at.
pub const TREND_DAYS: u32 = 30;

/// The scope of a roll-up: `team=` and `system=` as given (a name or a reference).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub team: Option<String>,
    pub system: Option<String>,
}

/// `GET /api/v1/scorecards/{card}`'s filters, order and page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardQuery {
    pub scope: Scope,
    /// `score` (the default), `level` or `component`.
    pub sort: Option<String>,
    /// `asc` (the default: worst first) or `desc`.
    pub order: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}
