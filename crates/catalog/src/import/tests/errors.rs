//! Every error class of a single stream, each at its position; all problems are collected.

use super::*;
use crate::import::Limits;
use crate::model::Position;

const HEAD: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\n";

#[test]
fn invalid_yaml_reports_the_parser_position() {
    let errs = errors("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [a\n  x: y\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("5:") && errs[0].contains("invalid YAML"),
        "{errs:?}"
    );
}

#[test]
fn documents_before_a_syntax_error_are_still_checked() {
    let errs = errors(&format!("{HEAD}metadata: {{name: Bad Name}}\n---\na: [1\nb: 2\n"));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("3:18: metadata.name: invalid name `Bad Name`"),
        "{errs:?}"
    );
    assert!(errs[1].starts_with("6:2: invalid YAML"), "{errs:?}");
}

#[test]
fn a_document_must_be_a_mapping() {
    assert_eq!(
        errors("- a\n- b\n"),
        vec!["1:1: a catalog document must be a mapping (apiVersion, kind, metadata, spec), found a list"]
    );
    assert_eq!(errors("---\njust text\n").len(), 1);
}

#[test]
fn unknown_kind_is_reported_at_the_kind_value() {
    let errs = errors("apiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: {name: a}\n");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("2:7: unknown kind `Widget`; expected one of Component, API"),
        "{errs:?}"
    );
}

#[test]
fn unsupported_api_version_names_it() {
    let errs = errors("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: a}\n");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("1:13: unsupported apiVersion `scaffolder.backstage.io/v1beta3`"),
        "{errs:?}"
    );
}

#[test]
fn missing_api_version_kind_and_name() {
    assert_eq!(
        errors("kind: Component\nmetadata: {name: a}\n"),
        vec!["1:1: missing `apiVersion`; add `apiVersion: backstage.io/v1alpha1`"]
    );
    assert_eq!(
        errors("apiVersion: backstage.io/v1alpha1\nmetadata: {name: a}\n"),
        vec!["1:1: missing `kind`; add e.g. `kind: Component`"]
    );
    assert_has(
        &errors("foo: bar\n"),
        "1:1: not a catalog entity: missing `apiVersion` and `kind`",
    );
    assert_eq!(
        errors(HEAD),
        vec!["1:1: missing `metadata.name`; add `metadata:` with `name: my-entity`"]
    );
    assert_eq!(
        errors(&format!("{HEAD}metadata:\n  title: x\n")),
        vec!["4:3: missing `metadata.name`; add `name: my-entity`"]
    );
    assert_eq!(
        errors(&format!("{HEAD}metadata:\n  name:\n")),
        vec!["4:7: `metadata.name` is empty; give the entity a name"]
    );
    assert_eq!(
        errors(&format!("{HEAD}metadata: [a]\n")),
        vec!["3:11: `metadata` must be a mapping, found a list"]
    );
    assert_eq!(
        errors("apiVersion:\nkind: Component\nmetadata: {name: a}\n"),
        vec!["1:11: `apiVersion` is empty; use `apiVersion: backstage.io/v1alpha1`"]
    );
    assert_eq!(
        errors("apiVersion: backstage.io/v1alpha1\nkind: ~\nmetadata: {name: a}\n"),
        vec!["1:1: missing `kind`; add e.g. `kind: Component`"]
    );
    assert_eq!(
        errors("apiVersion: backstage.io/v1alpha1\nkind: [Component]\nmetadata: {name: a}\n"),
        vec!["2:7: `kind` must be a string, found a list"]
    );
}

#[test]
fn invalid_name_namespace_and_references_are_reported_where_written() {
    let errs = errors(&format!(
        "{HEAD}metadata:\n  name: ok\n  namespace: Team_A\nspec:\n  owner: 'group:a/b/c'\n  dependsOn:\n    - component:fine\n    - 'widget:x'\n    - [nested]\n"
    ));
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(
        errs[0].starts_with("5:14: metadata.namespace: invalid namespace `Team_A`"),
        "{errs:?}"
    );
    assert!(errs[1].starts_with("7:10: spec.owner: invalid name `b/c`"), "{errs:?}");
    assert!(
        errs[2].starts_with("10:7: spec.dependsOn: unknown kind `widget`"),
        "{errs:?}"
    );
    assert!(
        errs[3].starts_with("11:7: each entry of `spec.dependsOn` must be a string, found a list"),
        "{errs:?}"
    );
}

#[test]
fn duplicates_in_one_stream_name_the_first_definition() {
    let doc = format!("{HEAD}metadata: {{name: foo}}\n");
    let errs = errors(&format!(
        "{doc}---\napiVersion: backstage.io/v1alpha1\nkind: component\nmetadata: {{name: FOO}}\n"
    ));
    assert_eq!(errs, vec!["6:1: duplicate entity component:default/foo: also defined at catalog-info.yaml:2:1; define each entity once (rename or remove one)"]);
}

#[test]
fn every_problem_is_collected_and_sorted() {
    let errs = errors(&format!(
        "{HEAD}metadata: {{name: 'a b'}}\n---\napiVersion: v9\nkind: Component\n---\n{HEAD}metadata: {{name: ok, namespace: X}}\n---\nkind: Nope\n"
    ));
    let lines: Vec<&str> = errs.iter().map(|e| e.split(':').next().unwrap_or_default()).collect();
    assert_eq!(lines, vec!["3", "5", "10", "12"], "{errs:#?}");
}

#[test]
fn empty_documents_are_skipped() {
    let set = ok(&format!("---\n# nothing\n---\n{HEAD}metadata: {{name: a}}\n---\n---\n"));
    assert_eq!(set.entities.len(), 1);
    assert_eq!(set.entities[0].position.line, 5);
    assert!(ok("").entities.is_empty());
}

#[test]
fn an_upload_larger_than_the_limit_is_refused() {
    let big = format!("{HEAD}metadata: {{name: a}}\n#{}\n", "x".repeat(1000));
    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let Err(problems) = import_documents("big.yaml", &big, &KnownIds::default(), &limits) else {
        panic!("accepted")
    };
    assert_eq!(
        problems[0].position,
        Position {
            file: "big.yaml".into(),
            line: 1,
            column: 1
        }
    );
    assert!(
        problems[0]
            .message
            .starts_with(&format!("file too large: {} bytes, limit 1000", big.len())),
        "{}",
        problems[0].message
    );
}

#[test]
fn an_upload_cannot_follow_locations() {
    let errs = errors(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\nspec:\n  targets: [./a.yaml]\n",
    );
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("2:1: Location `all` has targets"), "{errs:?}");
    assert!(errs[0].contains("run `bearing import PATH`"), "{errs:?}");
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    let errs = errors(&format!(
        "{HEAD}metadata:\n  name: a\n  tags: {{a: b}}\n  labels: [x]\n  links: [{{title: no-url}}, 3]\nspec: [1]\n"
    ));
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert_has(&errs, "5:9: `metadata.tags` must be a list of strings, found a mapping");
    assert_has(
        &errs,
        "6:11: `metadata.labels` must be a mapping of strings, found a list",
    );
    assert_has(&errs, "link in `metadata.links` has no `url`");
    assert_has(
        &errs,
        "each entry of `metadata.links` must be a mapping with a `url`, found a scalar",
    );
    assert_has(&errs, "8:7: `spec` must be a mapping, found a list");
}

#[test]
fn hostile_inputs_do_not_panic() {
    for input in [
        "[",
        "{",
        "&a [*a]",
        "*x",
        "? : :\n",
        "\u{feff}a: 1",
        "a: !!binary 0x",
        "\t- x",
        "%YAML 9.9\n---\n",
        "'",
    ] {
        let _ = import_documents("x.yaml", input, &KnownIds::default(), &Limits::default());
    }
    // Flow nesting hits the parser's own recursion limit, block nesting ours: both are errors.
    let deep = format!("{HEAD}metadata: {{name: a}}\nspec: {}\n", "[".repeat(10_000));
    assert_has(&errors(&deep), "invalid YAML: recursion limit exceeded");
    let block: String = (0..200).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    assert_has(
        &errors(&format!("{HEAD}metadata: {{name: a}}\nspec:\n{block}")),
        "YAML nested deeper than 64 levels",
    );
}
