//! Many components' results as one summary: for a team, a system or the whole organisation,
//! depending only on which results the server passes in.

use crate::evaluate::{CardResult, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The summary of a set of results, one entry per scorecard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RollUp {
    /// Per card, sorted by card name.
    pub cards: Vec<CardRollUp>,
}

/// One card over many components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CardRollUp {
    /// The card's name.
    pub card: String,
    /// Results counted (one per component).
    pub components: usize,
    /// Components that reached no level.
    pub none: usize,
    /// Per level, lowest first: components whose highest level is exactly that one.
    pub levels: Vec<LevelCount>,
    /// Per check, in card order.
    pub checks: Vec<CheckRate>,
    /// The mean of the components' scores, from 0 to 1 (0 with no components).
    pub mean_score: f64,
}

/// How many components stopped at a level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelCount {
    /// The level's name.
    pub name: String,
    /// Components whose highest level is this one.
    pub count: usize,
}

/// How one check fared over many components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckRate {
    /// The check's id.
    pub id: String,
    /// The check's title.
    pub title: String,
    /// The index of its level.
    pub level: usize,
    /// Components that passed it.
    pub passed: usize,
    /// Components that failed it.
    pub failed: usize,
    /// Components for which it was unknown.
    pub unknown: usize,
    /// `passed / (passed + failed)`; `None` when it is unknown everywhere.
    pub pass_rate: Option<f64>,
}

/// Sums `results` up per card. Results of one card are expected to come from the same version
/// of it; if the card changed between evaluations, level and check names are taken from the
/// latest result and counts stay by level index and check id.
pub fn roll_up<'a>(results: impl IntoIterator<Item = &'a CardResult>) -> RollUp {
    let mut by_card: BTreeMap<&str, Vec<&CardResult>> = BTreeMap::new();
    for result in results {
        by_card.entry(result.card.as_str()).or_default().push(result);
    }
    RollUp {
        cards: by_card
            .into_iter()
            .map(|(card, results)| roll_up_card(card, &results))
            .collect(),
    }
}

fn roll_up_card(card: &str, results: &[&CardResult]) -> CardRollUp {
    // Oldest first, so later results overwrite names.
    let mut results = results.to_vec();
    results.sort_by_key(|r| r.evaluated_at);
    let mut levels: Vec<LevelCount> = Vec::new();
    let mut checks: Vec<CheckRate> = Vec::new();
    let mut none = 0;
    for result in &results {
        let wanted = result.levels.len().max(result.level.map_or(0, |i| i + 1));
        if levels.len() < wanted {
            levels.resize_with(wanted, LevelCount::default);
        }
        for (slot, name) in levels.iter_mut().zip(&result.levels) {
            slot.name.clone_from(name);
        }
        match result.level {
            Some(i) => levels[i].count += 1,
            None => none += 1,
        }
        for check in &result.checks {
            let i = match checks.iter().position(|c| c.id == check.id) {
                Some(i) => i,
                None => {
                    checks.push(CheckRate {
                        id: check.id.clone(),
                        ..CheckRate::default()
                    });
                    checks.len() - 1
                }
            };
            let rate = &mut checks[i];
            rate.title.clone_from(&check.title);
            rate.level = check.level;
            match check.status {
                Status::Pass => rate.passed += 1,
                Status::Fail => rate.failed += 1,
                Status::Unknown => rate.unknown += 1,
            }
        }
    }
    for rate in &mut checks {
        let known = rate.passed + rate.failed;
        rate.pass_rate = (known > 0).then(|| rate.passed as f64 / known as f64);
    }
    checks.sort_by_key(|c| c.level);
    let components = results.len();
    let total: f64 = results.iter().map(|r| r.score).sum();
    CardRollUp {
        card: card.to_string(),
        components,
        none,
        levels,
        checks,
        mean_score: if components == 0 {
            0.0
        } else {
            total / components as f64
        },
    }
}
