//! The example directory and each rule kind.

use super::{card_with_rule, parsed};
use bearing_policy::edges::EdgeClass;
use bearing_scorecards::card::{load_dir, MAX_SCORECARDS};
use bearing_scorecards::{Error, Rule};
use std::path::PathBuf;

#[test]
fn example_directory_loads_sorted() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scorecards");
    let cards = load_dir(&dir).unwrap();
    let names: Vec<&str> = cards.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["on-call", "production-readiness"]);
    let readiness = &cards[1];
    let levels: Vec<&str> = readiness.levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(levels, ["Bronze", "Silver", "Gold"]);
    assert_eq!(readiness.selector.types, ["service", "website"]);
    assert_eq!(readiness.selector.lifecycles, ["production"]);
    // Every rule kind but `has_tag` is used by the examples.
    let keys: std::collections::BTreeSet<&str> = cards
        .iter()
        .flat_map(|c| c.checks())
        .map(|(_, c)| c.rule.key())
        .collect();
    assert_eq!(keys.len(), 11, "{keys:?}");
}

#[test]
fn parses_every_rule_kind() {
    let cases = [
        ("has_owner: true", Rule::HasOwner),
        ("has_description: true", Rule::HasDescription),
        (
            "has_link: {type: runbook}",
            Rule::HasLink {
                link_type: "runbook".into(),
            },
        ),
        (
            "lifecycle_in: [production, Beta]",
            Rule::LifecycleIn(vec!["production".into(), "Beta".into()]),
        ),
        ("lifecycle_in: production", Rule::LifecycleIn(vec!["production".into()])),
        (
            "has_annotation: pagerduty.com/service-id",
            Rule::HasAnnotation("pagerduty.com/service-id".into()),
        ),
        ("has_tag: pci", Rule::HasTag("pci".into())),
        ("mtls_enabled: true", Rule::MtlsEnabled),
        (
            "no_edges_of_class: [declared_denied, will_break]",
            Rule::NoEdgesOfClass(vec![EdgeClass::DeclaredDenied, EdgeClass::WillBreak]),
        ),
        ("certificates_valid_for_days: 14", Rule::CertificatesValidForDays(14)),
        ("deployed_within_days: 30", Rule::DeployedWithinDays(30)),
        ("change_failure_rate_below: 0.15", Rule::ChangeFailureRateBelow(0.15)),
        ("change_failure_rate_below: 1", Rule::ChangeFailureRateBelow(1.0)),
        ("last_run_succeeded: true", Rule::LastRunSucceeded),
    ];
    for (yaml, rule) in cases {
        let card = parsed(&card_with_rule(yaml));
        assert_eq!(card.levels[0].checks[0].rule, rule, "{yaml}");
    }
}

#[test]
fn reads_the_optional_fields() {
    let text = "name: c\ntitle: ' Title '\ndescription: Why\nselect: {tier: 1, tags: [pci]}\nlevels:\n  - name: B\n    checks:\n      - {id: a, title: A, description: Fix it, has_owner: true}\n";
    let card = parsed(text);
    assert_eq!(card.title, "Title");
    assert_eq!(card.description.as_deref(), Some("Why"));
    assert_eq!(card.selector.tiers, ["1"]);
    assert_eq!(card.selector.tags, ["pci"]);
    assert_eq!(card.levels[0].checks[0].description.as_deref(), Some("Fix it"));
    assert_eq!(card.file, "card.yaml");
}

#[test]
fn load_dir_skips_other_files_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), card_with_rule("has_owner: true")).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a card").unwrap();
    std::fs::write(dir.path().join(".hidden.yaml"), "not: [a card").unwrap();
    assert_eq!(load_dir(dir.path()).unwrap().len(), 1);

    std::fs::write(dir.path().join("b.yml"), card_with_rule("has_tag: x")).unwrap();
    let error = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("b.yml: scorecard name `c` is already used by"),
        "{error}"
    );
    assert!(error.contains("a.yaml"), "{error}");
}

#[test]
fn load_dir_refuses_too_many_files_and_large_ones() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..=MAX_SCORECARDS {
        std::fs::write(dir.path().join(format!("c{i}.yaml")), "").unwrap();
    }
    let error = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains(&format!("more than {MAX_SCORECARDS} scorecard files")),
        "{error}"
    );

    let dir = tempfile::tempdir().unwrap();
    let big = format!("# {}\n", "x".repeat(70_000)) + &card_with_rule("has_owner: true");
    std::fs::write(dir.path().join("big.yaml"), big).unwrap();
    let error = load_dir(dir.path()).unwrap_err().to_string();
    assert!(error.contains("big.yaml: larger than 64 KiB"), "{error}");

    let missing = load_dir(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}
