//! Which way a component's daily history is going.

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// Up, down or flat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A higher level, or the same level and a higher score.
    Up,
    /// A lower level, or the same level and a lower score.
    Down,
    /// The same level and score.
    Flat,
}

/// How a component's standing on one card changed over a window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Which way.
    pub direction: Direction,
    /// The date compared against (the start of the window, or the first day after it).
    #[serde(with = "iso_date")]
    pub since: Date,
    /// Levels gained (negative: lost); reaching no level counts as one below the first.
    pub level_change: i64,
    /// Score gained (negative: lost), from -1 to 1.
    pub score_change: f64,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Scores closer than this are the same (scores are ratios of small counts, so real changes are
/// far larger; this only absorbs floating-point noise).
const SCORE_EPSILON: f64 = 1e-9;

/// The trend over the `days` days up to `today`, from a daily history of
/// `(date, level index, score)` in any order. The latest entry on or before `today` is compared
/// with the latest entry on or before `today - days` (the state at the start of the window), or,
/// when the history starts later, with its first entry in the window. `None` when there are not
/// two entries to compare.
pub fn trend(history: &[(Date, Option<usize>, f64)], today: Date, days: u32) -> Option<Trend> {
    let start = today - Duration::days(i64::from(days));
    let upto_today = history.iter().filter(|(date, ..)| *date <= today);
    let latest = upto_today.clone().max_by_key(|(date, ..)| *date)?;
    let baseline = upto_today
        .clone()
        .filter(|(date, ..)| *date <= start)
        .max_by_key(|(date, ..)| *date)
        .or_else(|| {
            upto_today
                .filter(|(date, ..)| *date > start)
                .min_by_key(|(date, ..)| *date)
        })?;
    if baseline.0 == latest.0 {
        return None;
    }
    let rank = |level: Option<usize>| level.map_or(0, |i| i as i64 + 1);
    let level_change = rank(latest.1) - rank(baseline.1);
    let score_change = latest.2 - baseline.2;
    let direction = match level_change {
        1.. => Direction::Up,
        ..=-1 => Direction::Down,
        0 if score_change > SCORE_EPSILON => Direction::Up,
        0 if score_change < -SCORE_EPSILON => Direction::Down,
        0 => Direction::Flat,
    };
    Some(Trend {
        direction,
        since: baseline.0,
        level_change,
        score_change,
    })
}
