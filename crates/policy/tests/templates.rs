//! Policy templates: the example directory loads, selectors select, bad files are refused with
//! a message that names the file and the fix, and the output has Kuma's shapes.

use bearing_policy::generate::DataplaneSelector;
use bearing_policy::names::is_valid_resource_name;
use bearing_policy::templates::{
    for_component, load_dir, parse, tier_of, ComponentMeta, PolicyKind, Template, MAX_FILE_BYTES, MAX_TEMPLATES,
};
use bearing_policy::{spec_hash, Error, COMPONENT_LABEL, SPEC_HASH_LABEL, TEMPLATE_LABEL};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn examples() -> Vec<Template> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy-templates");
    load_dir(&dir).unwrap()
}

fn meta<'a>(selector: &'a DataplaneSelector, tags: &'a [String]) -> ComponentMeta<'a> {
    ComponentMeta {
        component: "component:default/payments",
        mesh: "default",
        service: "payments",
        selector,
        entity_type: Some("service"),
        lifecycle: Some("production"),
        tier: Some("1"),
        tags,
        system: Some("system:default/checkout"),
    }
}

fn names(policies: &[bearing_policy::templates::TemplatePolicy]) -> Vec<&str> {
    policies.iter().map(|p| p.template.as_str()).collect()
}

#[test]
fn example_directory_loads_sorted() {
    let templates = examples();
    assert_eq!(
        templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        [
            "accesslog-production",
            "metrics-experimental",
            "metrics-production",
            "retries-tier1",
            "timeouts-tier1",
            "timeouts-tier2-4"
        ]
    );
    let kinds: std::collections::BTreeSet<PolicyKind> = templates.iter().map(|t| t.kind).collect();
    assert_eq!(kinds.len(), 4, "every kind has an example");
}

#[test]
fn examples_select_by_tier_and_lifecycle() {
    let templates = examples();
    let selector = DataplaneSelector::ServiceTag;
    let tags = Vec::new();
    let tier1 = meta(&selector, &tags);
    assert_eq!(
        names(&for_component(&templates, &tier1)),
        [
            "accesslog-production",
            "metrics-production",
            "retries-tier1",
            "timeouts-tier1"
        ]
    );
    let tier3_experimental = ComponentMeta {
        tier: Some("3"),
        lifecycle: Some("experimental"),
        ..tier1
    };
    assert_eq!(
        names(&for_component(&templates, &tier3_experimental)),
        ["metrics-experimental", "timeouts-tier2-4"]
    );
    let library = ComponentMeta {
        entity_type: Some("library"),
        tier: None,
        ..tier1
    };
    assert_eq!(names(&for_component(&templates, &library)), ["metrics-production"]);
}

fn template(select: &str) -> Template {
    let text = format!(
        "name: t\nselect:\n{select}\npolicy:\n  kind: MeshRetry\n  spec:\n    to:\n      - targetRef: {{kind: Mesh}}\n        default: {{http: {{numRetries: 1}}}}\n"
    );
    parse("t.yaml", &text).unwrap()
}

fn selected(select: &str, meta: &ComponentMeta<'_>) -> bool {
    !for_component(&[template(select)], meta).is_empty()
}

#[test]
fn each_selector_field() {
    let selector = DataplaneSelector::ServiceTag;
    let tags = vec!["PCI".to_string(), "payments".to_string()];
    let m = meta(&selector, &tags);
    for (select, want) in [
        ("  type: service", true),
        ("  type: [website, Service]", true),
        ("  type: library", false),
        ("  lifecycle: production", true),
        ("  lifecycle: [experimental, deprecated]", false),
        ("  tier: 1", true),
        ("  tier: \"1\"", true),
        ("  tier: [2, 3]", false),
        ("  tags: [pci]", true),
        ("  tags: [gdpr, payments]", true),
        ("  tags: gdpr", false),
        ("  system: checkout", true),
        ("  system: system:default/checkout", true),
        ("  system: [search, default/checkout]", true),
        ("  system: checkout-v2", false),
        (
            "  type: service\n  tier: 1\n  tags: [pci]\n  system: checkout\n  lifecycle: production",
            true,
        ),
        ("  type: service\n  tier: 2", false),
    ] {
        assert_eq!(selected(select, &m), want, "{select}");
    }
    // A component without the field is not selected by a selector on it.
    let bare = ComponentMeta {
        tier: None,
        system: None,
        ..m
    };
    assert!(!selected("  tier: 1", &bare));
    assert!(!selected("  system: checkout", &bare));
    assert!(selected("  type: service", &bare));
    let untagged = ComponentMeta { tags: &[], ..m };
    assert!(!selected("  tags: [pci]", &untagged));
}

#[test]
fn tier_from_compass_annotation_or_label() {
    let annotations = BTreeMap::from([("compass.atlassian.com/tier".to_string(), "1".to_string())]);
    let labels = BTreeMap::from([("tier".to_string(), "3".to_string())]);
    assert_eq!(tier_of(&annotations, &labels), Some("1"));
    assert_eq!(tier_of(&BTreeMap::new(), &labels), Some("3"));
    assert_eq!(tier_of(&BTreeMap::new(), &BTreeMap::new()), None);
}

#[test]
fn output_shapes() {
    let templates = examples();
    let selector = DataplaneSelector::Labels([("app".to_string(), "payments".to_string())].into());
    let tags = Vec::new();
    let policies = for_component(&templates, &meta(&selector, &tags));
    let timeout = policies.iter().find(|p| p.template == "timeouts-tier1").unwrap();
    let p = &timeout.proposal;
    assert_eq!(timeout.kind, PolicyKind::MeshTimeout);
    assert_eq!(p.name, "bearing-timeouts-tier1--payments");
    assert!(is_valid_resource_name(&p.name));
    assert_eq!(p.labels[COMPONENT_LABEL], "payments");
    assert_eq!(p.labels[TEMPLATE_LABEL], "timeouts-tier1");
    assert_eq!(p.labels[SPEC_HASH_LABEL], spec_hash(&p.spec));
    assert_eq!(
        p.spec["targetRef"],
        json!({"kind": "Dataplane", "labels": {"app": "payments"}})
    );
    assert_eq!(p.spec["to"][0]["default"]["http"]["requestTimeout"], json!("3s"));
    let resource = p.resource_json();
    assert_eq!(resource["type"], json!("MeshTimeout"));
    assert_eq!(resource["mesh"], json!("default"));
    assert!(p
        .universal_yaml
        .starts_with("type: MeshTimeout\nmesh: default\nname: bearing-timeouts-tier1--payments\n"));
    assert!(p
        .kubernetes_yaml
        .starts_with("apiVersion: kuma.io/v1alpha1\nkind: MeshTimeout\n"));
    let metric = policies.iter().find(|p| p.kind == PolicyKind::MeshMetric).unwrap();
    assert_eq!(
        metric.proposal.spec["default"]["backends"][0]["prometheus"]["port"],
        json!(5670)
    );
    assert!(metric.proposal.universal_yaml.contains("\n          port: 5670\n"));
}

fn rejected(text: &str) -> String {
    match parse("bad.yaml", text) {
        Err(e @ Error::Template { .. }) => e.to_string(),
        other => panic!("expected a template error, got {other:?}"),
    }
}

const SPEC: &str = "policy:\n  kind: MeshRetry\n  spec:\n    to: []\n";

#[test]
fn bad_files_are_refused_with_the_fix() {
    let cases = [
        (
            format!("name: t\n{}", SPEC.replace("MeshRetry", "MeshTrafficPermission")),
            "is not one of MeshTimeout",
        ),
        (
            format!("name: t\nselect:\n  owner: team-a\n{SPEC}"),
            "unknown field `select.owner`",
        ),
        (
            format!("name: t\nselect:\n  tier: []\n{SPEC}"),
            "`select.tier` must be a value or a non-empty list",
        ),
        (
            format!("name: t\nselect:\n  tags: {{a: b}}\n{SPEC}"),
            "`select.tags` must be",
        ),
        (format!("name: t\nselect: [a]\n{SPEC}"), "`select` must be a mapping"),
        (format!("name: Timeouts_Tier1\n{SPEC}"), "lower-case letters and digits"),
        (format!("name: {}\n{SPEC}", "a".repeat(25)), "at most 24 characters"),
        (SPEC.to_string(), "`name` is missing"),
        ("name: t\n".to_string(), "`policy` is missing"),
        ("name: t\nselector: {}\n".to_string(), "unknown field `selector`"),
        (
            "name: t\npolicy:\n  kind: MeshRetry\n  spec:\n    targetRef: {kind: Mesh}\n    to: []\n".to_string(),
            "filled in by Bearing",
        ),
        (
            "name: t\npolicy:\n  kind: MeshRetry\n  spec:\n    from: []\n".to_string(),
            "unknown field `policy.spec.from`",
        ),
        (
            "name: t\npolicy:\n  kind: MeshMetric\n  spec: {}\n".to_string(),
            "needs `default`",
        ),
        (
            "name: t\npolicy:\n  kind: MeshMetric\n".to_string(),
            "`policy.spec` is missing",
        ),
        ("name: [t\n".to_string(), "bad.yaml:"),
        ("name: t\nname: u\n".to_string(), "bad.yaml:2: duplicate key `name`"),
        ("name: &a t\n".to_string(), "anchors"),
        ("- a\n".to_string(), "must be a mapping"),
    ];
    for (text, want) in cases {
        let message = rejected(&text);
        assert!(message.contains(want), "{text:?}: {message}");
        assert!(message.starts_with("bad.yaml"), "{message}");
    }
}

#[test]
fn oversized_and_deep_files_are_refused() {
    let big = format!(
        "name: t\ndescription: \"{}\"\n{SPEC}",
        "x".repeat(MAX_FILE_BYTES as usize)
    );
    assert!(rejected(&big).contains("larger than 64 KiB"));
    let deep = format!(
        "name: t\n{}  \n    to: {}{}\n",
        SPEC.trim_end_matches("    to: []\n"),
        "[".repeat(40),
        "]".repeat(40)
    );
    assert!(rejected(&deep).contains("deeper than"), "{}", rejected(&deep));
    let many = format!("name: t\n{SPEC}    extra: [{}]\n", vec!["0"; 6000].join(","));
    assert!(rejected(&many).contains("nodes"));
}

#[test]
fn directory_bounds_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("a.yaml", &format!("name: same\n{SPEC}"));
    write("b.yml", &format!("name: same\n{SPEC}"));
    write("notes.txt", "not a template");
    write(".hidden.yaml", "garbage: [");
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("b.yml") && err.contains("already used by") && err.contains("a.yaml"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("b.yml")).unwrap();
    assert_eq!(load_dir(dir.path()).unwrap().len(), 1);

    write("big.yaml", &"#".repeat(MAX_FILE_BYTES as usize + 10));
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("big.yaml") && err.contains("larger than"), "{err}");
    std::fs::remove_file(dir.path().join("big.yaml")).unwrap();

    for i in 0..=MAX_TEMPLATES {
        write(&format!("t{i}.yaml"), &format!("name: t{i}\n{SPEC}"));
    }
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("more than 200 template files"), "{err}");
    assert!(matches!(load_dir(&dir.path().join("missing")), Err(Error::Io { .. })));
}
