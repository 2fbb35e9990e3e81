//! Files on disk: walking, Location following, read-once, limits, and Backstage's own examples.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::*;
use crate::import::Limits;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/backstage-examples"
);

fn component(name: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec: {{type: service, owner: team}}\n")
}

fn location(targets: &[&str]) -> String {
    let list: Vec<String> = targets.iter().map(|t| format!("    - '{t}'\n")).collect();
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: loc\nspec:\n  targets:\n{}",
        list.concat()
    )
}

/// Writes `files` (path, content) under a new temporary directory.
fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, content).expect("write");
    }
    dir
}

/// The label messages use for a file outside the current directory: its canonical path.
fn label(path: &Path) -> String {
    fs::canonicalize(path).expect("canonical").display().to_string()
}

#[track_caller]
fn import_ok(paths: &[PathBuf]) -> ImportSet {
    match import_paths(paths, &KnownIds::default(), &Limits::default()) {
        Ok(set) => set,
        Err(problems) => panic!("expected success, got:\n{}", show(&problems)),
    }
}

#[track_caller]
fn import_err(paths: &[PathBuf]) -> Vec<Problem> {
    import_err_within(paths, &Limits::default())
}

#[track_caller]
fn import_err_within(paths: &[PathBuf], limits: &Limits) -> Vec<Problem> {
    match import_paths(paths, &KnownIds::default(), limits) {
        Ok(set) => panic!("expected errors, got {} entities", set.entities.len()),
        Err(problems) => problems,
    }
}

fn names(set: &ImportSet) -> Vec<&str> {
    set.entities.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn walks_directories_sorted_skipping_hidden_and_node_modules() {
    let dir = tree(&[
        ("b.yaml", &component("b")),
        ("a.yml", &component("a")),
        ("sub/c.YAML", &component("c")),
        ("README.md", "not yaml"),
        (".hidden/x.yaml", "not: [valid"),
        (".dot.yaml", "not: [valid"),
        ("node_modules/pkg/y.yaml", "not: [valid"),
    ]);
    let set = import_ok(&[dir.path().to_path_buf()]);
    assert_eq!(names(&set), vec!["a", "b", "c"]);
    let expected: Vec<String> = ["a.yml", "b.yaml", "sub/c.YAML"]
        .iter()
        .map(|f| label(&dir.path().join(f)))
        .collect();
    assert_eq!(set.sources, expected);
    assert_eq!(set.entities[2].source, expected[2]);
}

#[test]
fn follows_target_targets_globs_and_nested_locations() {
    let single = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: nested}\nspec: {type: file, target: ../apis/api.yaml}\n";
    let api = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: the-api}\nspec: {type: openapi, owner: team, definition: x}\n";
    let dir = tree(&[
        (
            "repo/catalog-info.yaml",
            &location(&["./components/*.yaml", "nested/loc.yaml"]),
        ),
        ("repo/components/one.yaml", &component("one")),
        ("repo/components/two.yaml", &component("two")),
        ("repo/components/notes.txt", "ignored by the glob"),
        ("repo/nested/loc.yaml", single),
        ("repo/apis/api.yaml", api),
        ("repo/unreferenced.yaml", &component("unreferenced")),
    ]);
    let root = dir.path().join("repo/catalog-info.yaml");
    let set = import_ok(std::slice::from_ref(&root));
    // Depth-first, in the order written; Locations are entities too; unreferenced files are not read.
    assert_eq!(names(&set), vec!["loc", "one", "two", "nested", "the-api"]);
    assert_eq!(entity(&set, "location:default/loc").source, label(&root));
    assert_eq!(
        entity(&set, "api:default/the-api").source,
        label(&dir.path().join("repo/apis/api.yaml"))
    );
    assert_eq!(set.sources.len(), 5);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
}

#[test]
fn a_file_reached_twice_is_read_once() {
    let dir = tree(&[
        ("all.yaml", &location(&["./c.yaml", "./sub/../c.yaml"])),
        ("c.yaml", &component("c")),
        ("sub/notes.txt", ""),
    ]);
    let c = dir.path().join("c.yaml");
    let dotted = dir.path().join("sub-missing/../c.yaml");
    let set = import_ok(&[
        c.clone(),
        dir.path().to_path_buf(),
        c.clone(),
        dir.path().join("all.yaml"),
    ]);
    assert_eq!(names(&set), vec!["c", "loc"]);
    assert_eq!(set.sources, vec![label(&c), label(&dir.path().join("all.yaml"))]);
    // A path that does not exist is an error even if it would normalise to a real file.
    let problems = import_err(&[dotted]);
    assert!(problems[0].message.starts_with("cannot read"), "{}", show(&problems));
}

#[test]
fn url_targets_and_url_locations_are_refused() {
    let url_type = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: remote}\nspec:\n  type: url\n  target: ./local.yaml\n";
    let dir = tree(&[
        (
            "a.yaml",
            &location(&[
                "https://github.com/acme/x/blob/main/catalog-info.yaml",
                "url:https://x/y.yaml",
                "./ok.yaml",
            ]),
        ),
        ("ok.yaml", &component("ok")),
        ("b.yaml", url_type),
        ("local.yaml", &component("local")),
    ]);
    let problems = import_err(&[dir.path().join("a.yaml"), dir.path().join("b.yaml")]);
    let a = label(&dir.path().join("a.yaml"));
    let b = label(&dir.path().join("b.yaml"));
    assert_eq!(problems.len(), 3, "{}", show(&problems));
    assert_eq!(
        (
            problems[0].position.file.as_str(),
            problems[0].position.line,
            problems[0].position.column
        ),
        (a.as_str(), 7, 7)
    );
    assert!(
        problems[0]
            .message
            .contains("is a URL, and an import never reads the network"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[1].position.line, 8);
    assert_eq!(
        (
            problems[2].position.file.as_str(),
            problems[2].position.line,
            problems[2].position.column
        ),
        (b.as_str(), 5, 9)
    );
    assert!(
        problems[2]
            .message
            .starts_with("Location type `url` reads from the network"),
        "{}",
        problems[2].message
    );
}

#[test]
fn targets_outside_the_tree_are_refused() {
    let dir = tree(&[
        ("secret.yaml", &component("secret")),
        ("repo/catalog-info.yaml", &location(&["../secret.yaml"])),
        (
            "repo/glob.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: g}\nspec: {target: '../*.yaml'}\n",
        ),
    ]);
    let problems = import_err(&[dir.path().join("repo")]);
    assert_eq!(problems.len(), 2, "{}", show(&problems));
    assert!(
        problems[0].message.contains("outside the imported tree"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[0].position.line, 7);
    assert!(
        problems[1].message.contains("`../*.yaml` resolves to"),
        "{}",
        problems[1].message
    );
    // Importing the parent makes the same target fine.
    let set = import_ok(&[
        dir.path().join("repo/catalog-info.yaml"),
        dir.path().join("secret.yaml"),
    ]);
    assert_eq!(names(&set), vec!["loc", "secret"]);
}

#[test]
fn location_cycles_are_named() {
    let dir = tree(&[
        ("a.yaml", &location(&["./b.yaml"])),
        ("b.yaml", &location(&["./a.yaml"]).replace("name: loc", "name: loc-b")),
    ]);
    let problems = import_err(&[dir.path().join("a.yaml")]);
    assert_eq!(problems.len(), 1, "{}", show(&problems));
    let (a, b) = (label(&dir.path().join("a.yaml")), label(&dir.path().join("b.yaml")));
    assert_eq!(problems[0].position.file, b);
    assert_eq!(
        problems[0].message,
        format!("Location cycle: {a} -> {b} -> {a}; remove one of these targets")
    );

    let selfish = tree(&[("s.yaml", &location(&["./s.yaml"]))]);
    let problems = import_err(&[selfish.path().to_path_buf()]);
    assert!(
        problems[0].message.starts_with("Location cycle: "),
        "{}",
        show(&problems)
    );
}

#[test]
fn missing_targets_are_errors_unless_optional() {
    let optional = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: opt}\nspec: {presence: optional, target: ./gone.yaml}\n";
    let dir = tree(&[
        (
            "a.yaml",
            &location(&["./nope.yaml", "./dir", "./*/x.yaml", "./none-*.yaml"]),
        ),
        ("dir/x.yaml", &component("x")),
        ("opt.yaml", optional),
    ]);
    let problems = import_err(&[dir.path().join("a.yaml")]);
    let msgs: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.position.line, p.message))
        .collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert_has(&msgs, "7: target `./nope.yaml` not found");
    assert_has(
        &msgs,
        "8: target `./dir` is a directory; use a glob such as `./dir/*.yaml`",
    );
    assert_has(
        &msgs,
        "9: target `./*/x.yaml`: wildcards are only supported in the last path segment",
    );

    let set = import_ok(&[dir.path().join("opt.yaml")]);
    assert_eq!(set.warnings.len(), 1);
    assert!(set.warnings[0]
        .message
        .starts_with("optional target `./gone.yaml` not found"));
    let glob_only = tree(&[("a.yaml", &location(&["./none-*.yaml"]))]);
    let set = import_ok(&[glob_only.path().to_path_buf()]);
    assert_eq!(set.warnings[0].message, "target `./none-*.yaml` matches no files");
}

#[test]
fn a_glob_next_to_its_location_skips_the_location_itself() {
    let dir = tree(&[
        ("catalog/all.yaml", &location(&["./*.yaml"])),
        ("catalog/x.yaml", &component("x")),
    ]);
    let set = import_ok(&[dir.path().join("catalog/all.yaml")]);
    assert_eq!(names(&set), vec!["loc", "x"]);
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    let dir = tree(&[]);
    let socket = dir.path().join("sock.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let problems = import_err(std::slice::from_ref(&socket));
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "not a regular file; import files and directories only"
    );
    // In a directory walk, a socket is not even a candidate.
    assert!(import_ok(&[dir.path().to_path_buf()]).entities.is_empty());
}

#[test]
fn duplicates_across_files_name_the_other_file() {
    let dir = tree(&[("a.yaml", &component("foo")), ("b.yaml", &component("Foo"))]);
    let problems = import_err(&[dir.path().to_path_buf()]);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].position.file, label(&dir.path().join("b.yaml")));
    assert_eq!(
        problems[0].message,
        format!("duplicate entity component:default/foo: also defined at {}:2:1; define each entity once (rename or remove one)", label(&dir.path().join("a.yaml")))
    );
}

#[test]
fn limits_and_encoding_are_checked_and_every_file_reported() {
    let mut not_utf8 = component("ok").into_bytes();
    not_utf8.extend_from_slice(b"# caf\xe9\n");
    let dir = tree(&[("good.yaml", &component("good")), ("bad.yaml", "kind: [")]);
    fs::write(dir.path().join("big.yaml"), vec![b'#'; 4097]).expect("write");
    fs::write(dir.path().join("latin1.yaml"), &not_utf8).expect("write");
    let missing = dir.path().join("missing.yaml");
    let limits = Limits {
        max_file_bytes: 4096,
        ..Limits::default()
    };
    let problems = import_err_within(&[dir.path().to_path_buf(), missing.clone()], &limits);
    let got: BTreeMap<String, String> = problems
        .iter()
        .map(|p| {
            (
                p.position.file.clone(),
                format!("{}:{}: {}", p.position.line, p.position.column, p.message),
            )
        })
        .collect();
    assert_eq!(problems.len(), 4, "{}", show(&problems));
    assert!(got[&label(&dir.path().join("big.yaml"))].starts_with(
        "1:1: file too large: 4097 bytes, limit 4096; split the file, or raise the limit with --import-max-file-size"
    ));
    assert_eq!(
        got[&label(&dir.path().join("latin1.yaml"))],
        "6:6: not UTF-8: invalid byte 0xe9; save the file as UTF-8"
    );
    assert!(got[&label(&dir.path().join("bad.yaml"))].contains("invalid YAML"));
    assert!(got[&missing.display().to_string()].starts_with("1:1: cannot read"));
    // Sorted by file, then line and column.
    let mut sorted = problems.clone();
    sorted.sort();
    assert_eq!(problems, sorted);
}

#[test]
fn compass_files_are_recognised_by_name_on_disk() {
    let dir = tree(&[("svc/compass.yml", "name: Svc One\nownerId: 'ari:team/abc'\n")]);
    let set = import_ok(&[dir.path().to_path_buf()]);
    assert_eq!(names(&set), vec!["svc-one"]);
    assert_eq!(
        set.entities[0].owner.as_ref().map(|r| r.key()).as_deref(),
        Some("group:compass/abc")
    );
}

fn kind_counts(set: &ImportSet) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for e in &set.entities {
        *counts.entry(e.kind.as_str()).or_default() += 1;
    }
    counts
}

#[test]
fn imports_backstages_example_catalog_from_its_root_location() {
    let all = Path::new(EXAMPLES).join("all.yaml");
    let set = import_ok(&[all]);
    // all.yaml has only relative file targets (no URLs): 6 Locations and what they list.
    let expected = BTreeMap::from([
        ("API", 7),
        ("Component", 13),
        ("Domain", 2),
        ("Location", 6),
        ("Resource", 1),
        ("System", 3),
    ]);
    assert_eq!(kind_counts(&set), expected);
    assert_eq!(set.sources.len(), 32);
    // The one documented oddity: a relation name used as a spec field, kept with a warning.
    assert_eq!(set.warnings.len(), 1, "{}", show(&set.warnings));
    assert!(set.warnings[0].message.contains("`spec.apiConsumedBy`"));
    assert!(set.warnings[0]
        .position
        .file
        .ends_with("components/artist-lookup-component.yaml"));
    let artist = entity(&set, "component:default/artist-lookup");
    assert_eq!(
        relations(artist),
        vec![
            "component:default/artist-lookup ownedBy group:default/team-a",
            "component:default/artist-lookup partOf system:default/artist-engagement-portal",
            "component:default/artist-lookup dependsOn resource:default/artists-db",
        ]
    );
    // SOURCES.txt: owner 26, system 8, domain 3, subcomponentOf 2, dependsOn 1, providesApis 5
    // and consumesApis 2 entries in these files: one relation each.
    let relation_count: usize = set.entities.iter().map(|e| e.relations.len()).sum();
    assert_eq!(relation_count, 47);
}

#[test]
fn imports_backstages_example_directory() {
    let set = import_ok(&[PathBuf::from(EXAMPLES)]);
    // SOURCES.txt: Location 8, Group 8, User 16, Component 13, API 7, System 3, Domain 2, Resource 1.
    let expected = BTreeMap::from([
        ("API", 7),
        ("Component", 13),
        ("Domain", 2),
        ("Group", 8),
        ("Location", 8),
        ("Resource", 1),
        ("System", 3),
        ("User", 16),
    ]);
    assert_eq!(kind_counts(&set), expected);
    assert_eq!(set.entities.len(), 58);
    // Every file once, though most are reached both by the walk and by a Location.
    assert_eq!(set.sources.len(), 41);
    let infra = entity(&set, "group:default/infrastructure");
    assert_eq!(
        relations(infra),
        vec![
            "group:default/infrastructure childOf group:default/acme-corp",
            "group:default/backstage childOf group:default/infrastructure",
            "group:default/boxoffice childOf group:default/infrastructure",
        ]
    );
    assert_eq!(
        relations(entity(&set, "user:default/guest")),
        vec!["user:default/guest memberOf group:default/team-a"]
    );
    // 47 as above, plus memberOf 16, parent 7 and 7 `children` entries. Each child group's
    // `parent` and its parent's `children` declare the same relation from both ends: every
    // entity keeps what it declares, so 7 relations appear twice across the set.
    let all: Vec<String> = set.entities.iter().flat_map(relations).collect();
    assert_eq!(all.len(), 77);
    let distinct: std::collections::HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), 70);
}
