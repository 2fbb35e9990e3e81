//! Every validation error, at its line and column, with a fix.

use super::{assert_refused, card_with_rule, refused};
use bearing_scorecards::card::{MAX_CHECKS, MAX_DEPTH, MAX_LEVELS, MAX_NODES};

#[test]
fn refuses_bad_top_level_fields() {
    assert_refused("nme: c\n", 1, 1, "unknown field `nme`; expected one of: name, title");
    let body = card_with_rule("has_owner: true");
    assert_refused(
        &body.replace("name: c\n", "name: Prod_Readiness\n"),
        1,
        7,
        "`name: Prod_Readiness` must be lower-case letters",
    );
    assert_refused(
        &body.replace("title: T\n", ""),
        1,
        1,
        "the file has no `title`; add e.g.",
    );
    assert_refused(&body.replace("title: T\n", "title: 12\n"), 2, 8, "`title` must be text");
    assert_refused(&body.replace("title: T\n", "title: '  '\n"), 2, 8, "`title` is blank");
    assert_refused(
        &body.replace("title: T\n", "title: T\ndescription: [a]\n"),
        3,
        14,
        "`description` must be text",
    );
    assert_refused("- a\n", 1, 1, "the file must be a mapping");
    assert_refused("name: c\ntitle: T\n", 1, 1, "`levels` is missing");
    assert_refused(
        "name: c\ntitle: T\nlevels: []\n",
        3,
        9,
        "`levels` must be a non-empty list",
    );
}

#[test]
fn refuses_bad_selects_at_the_field() {
    let body = card_with_rule("has_owner: true");
    let with_select = |select: &str| body.replace("levels:\n", &format!("select:{select}\nlevels:\n"));
    assert_refused(
        &with_select(" {tyep: service}"),
        3,
        10,
        "unknown field `select.tyep`; expected one of: type",
    );
    assert_refused(
        &with_select("\n  type: service\n  tier: {a: 1}"),
        5,
        3,
        "`select.tier` must be a value or a non-empty list",
    );
    assert_refused(&with_select(" service"), 3, 9, "`select` must be a mapping");
}

#[test]
fn refuses_bad_levels() {
    let level = |name: &str, id: &str| {
        format!("  - name: {name}\n    checks:\n      - {{id: {id}, title: T, has_owner: true}}\n")
    };
    let two = format!(
        "name: c\ntitle: T\nlevels:\n{}{}",
        level("Bronze", "a"),
        level("bronze", "b")
    );
    assert_refused(&two, 7, 11, "level name `bronze` is used twice");
    let two = format!(
        "name: c\ntitle: T\nlevels:\n{}{}",
        level("Bronze", "a"),
        level("Silver", "a")
    );
    assert_refused(&two, 9, 14, "check id `a` is used twice in this card");
    let empty = format!("name: c\ntitle: T\nlevels:\n{}  - name: Silver\n", level("Bronze", "a"));
    assert_refused(&empty, 7, 5, "level `Silver` needs `checks`");
    let unknown = format!("name: c\ntitle: T\nlevels:\n{}    check: []\n", level("Bronze", "a"));
    assert_refused(
        &unknown,
        7,
        5,
        "unknown field `levels[0].check`; expected one of: name, checks",
    );
    assert_refused(
        "name: c\ntitle: T\nlevels: [Bronze]\n",
        3,
        10,
        "`levels[0]` must be a mapping",
    );
}

#[test]
fn refuses_bad_checks() {
    let body = card_with_rule("has_owner: true");
    assert_refused(
        &body.replace("id: a", "id: Bad_Id"),
        6,
        13,
        "`id: Bad_Id` must be lower-case",
    );
    assert_refused(
        &body.replace("      - id: a\n", "      - ida: a\n"),
        6,
        9,
        "unknown field `levels[0].checks[0].ida`",
    );
    assert_refused(
        &body.replace("        title: A\n", ""),
        6,
        9,
        "`levels[0].checks[0]` has no `title`",
    );
    assert_refused(
        &card_with_rule(""),
        6,
        9,
        "check `levels[0].checks[0]` has no rule; add one of: has_owner",
    );
    assert_refused(
        &card_with_rule("has_onwer: true"),
        8,
        9,
        "unknown field `levels[0].checks[0].has_onwer`",
    );
    assert_refused(
        &card_with_rule("has_owner: true\nhas_tag: x"),
        9,
        9,
        "has both `has_owner` and `has_tag`",
    );
}

#[test]
fn refuses_bad_rule_values() {
    let cases = [
        (
            "has_owner: false",
            20,
            "`has_owner: false` checks nothing; remove the check",
        ),
        ("has_owner: yes", 20, "`has_owner` takes `true`"),
        ("mtls_enabled: 1", 23, "`mtls_enabled` takes `true`"),
        (
            "has_link: runbook",
            19,
            "`levels[0].checks[0].has_link` must be a mapping with the link's `type`",
        ),
        ("has_link: {}", 19, "`levels[0].checks[0].has_link` has no `type`"),
        (
            "has_link: {type: runbook, url: x}",
            35,
            "unknown field `levels[0].checks[0].has_link.url`",
        ),
        (
            "lifecycle_in: []",
            23,
            "`lifecycle_in` must be a value or a non-empty list",
        ),
        ("lifecycle_in: [production, 3]", 23, "`lifecycle_in` must be a value"),
        ("has_annotation: [a]", 25, "`has_annotation` must be a non-blank value"),
        ("has_tag: ''", 18, "`has_tag` must be a non-blank value"),
        (
            "no_edges_of_class: [declared_denied, bogus]",
            28,
            "`bogus` is not an edge class; use any of: declared_denied",
        ),
        (
            "certificates_valid_for_days: 0",
            38,
            "must be a whole number of days from 1 to 365",
        ),
        ("certificates_valid_for_days: 400", 38, "from 1 to 365"),
        ("certificates_valid_for_days: 1.5", 38, "whole number of days"),
        (
            "deployed_within_days: -3",
            31,
            "`deployed_within_days: -3` must be a whole number of days from 1 to 3650",
        ),
        ("deployed_within_days: 4000", 31, "from 1 to 3650"),
        ("deployed_within_days: '30'", 31, "whole number of days"),
        (
            "change_failure_rate_below: 15",
            36,
            "must be a fraction above 0 and at most 1; for 15% write 0.15",
        ),
        (
            "change_failure_rate_below: 0",
            36,
            "must be a fraction above 0 and at most 1, e.g. 0.15",
        ),
        ("change_failure_rate_below: -0.1", 36, "fraction above 0"),
        ("change_failure_rate_below: 150", 36, "fraction above 0"),
    ];
    for (rule, column, says) in cases {
        assert_refused(&card_with_rule(rule), 8, column, says);
    }
}

#[test]
fn refuses_hostile_yaml_with_its_place() {
    assert_refused(
        &card_with_rule("has_tag: &t pci"),
        8,
        18,
        "YAML anchors (`&name`) are not allowed",
    );
    let alias = card_with_rule("has_tag: pci").replace("title: T", "title: &t T")
        + "      - {id: b, title: *t, has_owner: true}\n";
    assert_refused(&alias, 2, 8, "YAML anchors");
    // The parser itself refuses an alias without its anchor; with one, the anchor is refused.
    assert_refused("name: c\ntitle: *t\n", 2, 8, "unknown anchor");
    assert_refused("name: c\n---\nname: d\n", 2, 1, "a second YAML document");
    assert_refused("name: c\nname: d\n", 2, 1, "duplicate key `name`");
    assert_refused("name: [c\n", 2, 1, "invalid YAML");
    let deep = format!(
        "has_link: {{type: {}x{}}}",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    let error = refused(&card_with_rule(&deep));
    assert!(
        error.starts_with("card.yaml:8:") && error.contains(&format!("nested deeper than {MAX_DEPTH} levels")),
        "{error}"
    );
    let many = format!("lifecycle_in: [{}]", vec!["x"; MAX_NODES].join(", "));
    let error = refused(&card_with_rule(&many));
    assert!(
        error.starts_with("card.yaml:8:") && error.contains(&format!("more than {MAX_NODES} YAML nodes")),
        "{error}"
    );
    let big = format!("# {}\n", "x".repeat(70_000)) + &card_with_rule("has_owner: true");
    assert_eq!(
        refused(&big),
        "card.yaml: larger than 64 KiB; split the card into several with their own `select`"
    );
}

#[test]
fn refuses_too_many_levels_and_checks() {
    let level = |i: usize| format!("  - name: L{i}\n    checks:\n      - {{id: c{i}, title: T, has_owner: true}}\n");
    let levels: String = (0..=MAX_LEVELS).map(level).collect();
    let text = format!("name: c\ntitle: T\nlevels:\n{levels}");
    assert_refused(&text, 4 + 3 * MAX_LEVELS, 5, &format!("more than {MAX_LEVELS} levels"));
    let ok: String = (0..MAX_LEVELS).map(level).collect();
    assert!(bearing_scorecards::card::parse("card.yaml", &format!("name: c\ntitle: T\nlevels:\n{ok}")).is_ok());

    let checks: String = (0..=MAX_CHECKS)
        .map(|i| format!("      - {{id: c{i}, title: T, has_owner: true}}\n"))
        .collect();
    let text = format!("name: c\ntitle: T\nlevels:\n  - name: B\n    checks:\n{checks}");
    assert_refused(&text, 6 + MAX_CHECKS, 9, &format!("more than {MAX_CHECKS} checks"));
}
