//! Roll-ups, counted by hand.

use bearing_scorecards::{roll_up, CardResult, CheckResult, LevelCount, Status};
use time::macros::datetime;

fn result(card: &str, level: Option<usize>, statuses: [Status; 3]) -> CardResult {
    let checks: Vec<CheckResult> = ["a", "b", "c"]
        .iter()
        .zip(statuses)
        .enumerate()
        .map(|(i, (id, status))| CheckResult {
            id: id.to_string(),
            title: id.to_uppercase(),
            level: i,
            status,
            reason: String::new(),
        })
        .collect();
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let (passed, failed, unknown) = (count(Status::Pass), count(Status::Fail), count(Status::Unknown));
    CardResult {
        card: card.into(),
        levels: vec!["Bronze".into(), "Silver".into(), "Gold".into()],
        level,
        checks,
        passed,
        failed,
        unknown,
        score: if passed + failed == 0 {
            0.0
        } else {
            passed as f64 / (passed + failed) as f64
        },
        evaluated_at: datetime!(2026-11-01 0:00 UTC),
    }
}

#[test]
fn counts_levels_and_pass_rates() {
    use Status::{Fail, Pass, Unknown};
    let results = [
        result("ready", Some(2), [Pass, Pass, Pass]),
        result("ready", Some(0), [Pass, Fail, Unknown]),
        result("ready", None, [Fail, Pass, Unknown]),
        result("ready", Some(0), [Pass, Unknown, Pass]),
        result("on-call", None, [Fail, Fail, Fail]),
    ];
    let rolled = roll_up(&results);
    assert_eq!(rolled.cards.len(), 2);
    let on_call = &rolled.cards[0];
    assert_eq!(
        (on_call.card.as_str(), on_call.components, on_call.none),
        ("on-call", 1, 1)
    );
    assert_eq!(on_call.mean_score, 0.0);

    let ready = &rolled.cards[1];
    assert_eq!(ready.card, "ready");
    assert_eq!(ready.components, 4);
    assert_eq!(ready.none, 1);
    let levels = |names: [(&str, usize); 3]| {
        names
            .map(|(name, count)| LevelCount {
                name: name.into(),
                count,
            })
            .to_vec()
    };
    assert_eq!(ready.levels, levels([("Bronze", 2), ("Silver", 0), ("Gold", 1)]));
    // a: 3 passed, 1 failed; b: 2 passed, 1 failed, 1 unknown; c: 2 passed, 2 unknown.
    let rates: Vec<(&str, usize, usize, usize, Option<f64>)> = ready
        .checks
        .iter()
        .map(|c| (c.id.as_str(), c.passed, c.failed, c.unknown, c.pass_rate))
        .collect();
    assert_eq!(
        rates,
        [
            ("a", 3, 1, 0, Some(0.75)),
            ("b", 2, 1, 1, Some(2.0 / 3.0)),
            ("c", 2, 0, 2, Some(1.0))
        ]
    );
    assert_eq!(ready.checks[1].title, "B");
    // Scores 1, 1/2, 1/2, 1: mean 3/4.
    assert_eq!(ready.mean_score, 0.75);
}

#[test]
fn unknown_everywhere_has_no_pass_rate_and_empty_input_nothing() {
    let results = [result("ready", None, [Status::Unknown; 3])];
    let rolled = roll_up(&results);
    assert!(rolled.cards[0].checks.iter().all(|c| c.pass_rate.is_none()));
    assert!(roll_up(&[]).cards.is_empty());
}
