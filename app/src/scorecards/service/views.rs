//! Stored results as the wire types: a card's roll-up, a component's score and checks, the
//! trend.

use std::collections::HashMap;

use bearing_scorecards::{roll_up, trend, CardResult, Scorecard, Status};
use time::Date;

use super::super::repo::ResultRow;
use super::super::{
    CardInfo, CardSummary, CheckOutcome, CheckRate, ComponentCard, ComponentScore, HistoryPoint, LevelCount, TrendView,
    TREND_DAYS,
};

/// Components a card's roll-up names as its worst.
const WORST: usize = 5;

pub(super) fn component_card(
    card: &Scorecard,
    row: &ResultRow,
    day: Date,
    days: &[(Date, Option<usize>, f64)],
) -> ComponentCard {
    let described: HashMap<&str, Option<&String>> = card
        .checks()
        .map(|(_, c)| (c.id.as_str(), c.description.as_ref()))
        .collect();
    let checks = row
        .checks
        .0
        .iter()
        .map(|c| CheckOutcome {
            id: c.id.clone(),
            title: c.title.clone(),
            description: described.get(c.id.as_str()).copied().flatten().cloned(),
            level: c.level as u32,
            status: status_name(c.status).to_owned(),
            reason: c.reason.clone(),
        })
        .collect();
    ComponentCard {
        card: info(card),
        score: score(card, row),
        checks,
        trend: trend(days, day, TREND_DAYS).map(|t| TrendView {
            direction: match t.direction {
                bearing_scorecards::Direction::Up => "up",
                bearing_scorecards::Direction::Down => "down",
                bearing_scorecards::Direction::Flat => "flat",
            }
            .to_owned(),
            since: iso(t.since),
            level_change: t.level_change,
            score_change: t.score_change,
        }),
        history: days
            .iter()
            .map(|(d, level, score)| HistoryPoint {
                day: iso(*d),
                level: level.map(|l| l as u32),
                score: *score,
            })
            .collect(),
    }
}

/// The card's roll-up over `rows` (its results in scope): counts for every level and check of
/// the card as loaded now, zeros included.
pub(super) fn summary<'a>(card: &Scorecard, rows: impl Iterator<Item = &'a ResultRow>) -> CardSummary {
    let rows: Vec<&ResultRow> = rows.collect();
    let results: Vec<CardResult> = rows.iter().map(|r| card_result(card, r)).collect();
    let rolled = roll_up(&results).cards.into_iter().next().unwrap_or_default();
    let levels = card
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| LevelCount {
            name: l.name.clone(),
            count: rolled.levels.get(i).map_or(0, |c| c.count as u64),
        })
        .collect();
    let checks = card
        .checks()
        .map(|(level, c)| {
            let rate = rolled.checks.iter().find(|r| r.id == c.id);
            CheckRate {
                id: c.id.clone(),
                title: c.title.clone(),
                level: level as u32,
                passed: rate.map_or(0, |r| r.passed as u64),
                failed: rate.map_or(0, |r| r.failed as u64),
                unknown: rate.map_or(0, |r| r.unknown as u64),
                pass_rate: rate.and_then(|r| r.pass_rate),
            }
        })
        .collect();
    let mut worst: Vec<ComponentScore> = rows.iter().map(|r| score(card, r)).collect();
    worst.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then(a.level.map_or(0, |l| l + 1).cmp(&b.level.map_or(0, |l| l + 1)))
    });
    worst.truncate(WORST);
    CardSummary {
        card: info(card),
        components: rolled.components as u64,
        none: rolled.none as u64,
        levels,
        checks,
        mean_score: rolled.mean_score,
        worst,
    }
}

/// A stored row as the scorecard crate's result, for its roll-up.
fn card_result(card: &Scorecard, row: &ResultRow) -> CardResult {
    let count = |s: Status| row.checks.0.iter().filter(|c| c.status == s).count();
    CardResult {
        card: card.name.clone(),
        levels: card.levels.iter().map(|l| l.name.clone()).collect(),
        level: row.level.map(|l| l as usize),
        checks: row.checks.0.clone(),
        passed: count(Status::Pass),
        failed: count(Status::Fail),
        unknown: count(Status::Unknown),
        score: f64::from(row.score),
        evaluated_at: row.evaluated_at,
    }
}

pub(super) fn score(card: &Scorecard, row: &ResultRow) -> ComponentScore {
    let count = |s: Status| row.checks.0.iter().filter(|c| c.status == s).count() as u64;
    let level = row.level.and_then(|l| u32::try_from(l).ok());
    ComponentScore {
        component: row.component.clone(),
        title: row.title.clone(),
        owner: row.owner_ref.clone(),
        system: row.system_ref.clone(),
        level,
        level_name: level.and_then(|l| card.levels.get(l as usize)).map(|l| l.name.clone()),
        // Stored as REAL: rounded so that 2/3 reads 0.6667, not 0.6666666865348816.
        score: (f64::from(row.score) * 10_000.0).round() / 10_000.0,
        passed: count(Status::Pass),
        failed: count(Status::Fail),
        unknown: count(Status::Unknown),
        evaluated_at: crate::wire::rfc3339(row.evaluated_at),
    }
}

pub(super) fn info(card: &Scorecard) -> CardInfo {
    CardInfo {
        name: card.name.clone(),
        title: card.title.clone(),
        description: card.description.clone(),
        levels: card.levels.iter().map(|l| l.name.clone()).collect(),
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Unknown => "unknown",
    }
}

pub(super) fn iso(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}
