//! Trends over a daily history.

use bearing_scorecards::{trend, Direction};
use time::macros::date;
use time::Date;

const TODAY: Date = date!(2026 - 11 - 01);

#[test]
fn compares_today_with_the_start_of_the_window() {
    let history = [
        (date!(2026 - 10 - 01), None, 0.2),
        (date!(2026 - 10 - 25), Some(0), 0.5),
        (date!(2026 - 10 - 28), Some(1), 0.7),
        (date!(2026 - 11 - 01), Some(0), 0.9),
    ];
    // 30 days: from 2026-10-02; the state then was 2026-10-01's (no level) → Bronze: up.
    let t = trend(&history, TODAY, 30).unwrap();
    assert_eq!(
        (t.direction, t.since, t.level_change),
        (Direction::Up, date!(2026 - 10 - 01), 1)
    );
    assert!((t.score_change - 0.7).abs() < 1e-12);
    // 4 days: from 2026-10-28 (Silver) → Bronze: down, though the score rose.
    let t = trend(&history, TODAY, 4).unwrap();
    assert_eq!(
        (t.direction, t.since, t.level_change),
        (Direction::Down, date!(2026 - 10 - 28), -1)
    );
    // 7 days: from 2026-10-25 (Bronze, 0.5) → Bronze, 0.9: up on the score alone.
    let t = trend(&history, TODAY, 7).unwrap();
    assert_eq!((t.direction, t.level_change), (Direction::Up, 0));
}

#[test]
fn flat_unordered_short_and_future_histories() {
    let flat = [
        (date!(2026 - 10 - 31), Some(1), 0.5),
        (date!(2026 - 10 - 20), Some(1), 0.5),
    ];
    let t = trend(&flat, TODAY, 30).unwrap();
    assert_eq!((t.direction, t.since), (Direction::Flat, date!(2026 - 10 - 20)));
    // The history starts inside the window: compared with its first day.
    let down = [
        (date!(2026 - 10 - 30), Some(0), 0.6),
        (date!(2026 - 10 - 29), Some(0), 0.8),
    ];
    assert_eq!(trend(&down, TODAY, 30).unwrap().direction, Direction::Down);
    // One day, or nothing, is no trend; days after `today` are ignored.
    assert_eq!(trend(&[(TODAY, Some(0), 1.0)], TODAY, 30), None);
    assert_eq!(trend(&[], TODAY, 30), None);
    let future = [(TODAY, Some(0), 1.0), (date!(2026 - 11 - 05), Some(2), 1.0)];
    assert_eq!(trend(&future, TODAY, 30), None);
}
