//! Issue 10: imports are bounded by the document as expanded, refused at `file:line:column`
//! with nothing written, never crash the server, and what they accept reads back.

use axum::http::StatusCode;
use bearing_catalog::import::Limits;
use clap::Parser;
use server::cli::{Cli, Command};

use crate::util::TestApp;

const HEAD: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\n";

/// `keys` nested block mappings `k0: k1: ...: leaf`, the first at `indent` spaces.
fn nested(keys: usize, indent: usize) -> String {
    let mut out: String = (0..keys)
        .map(|i| format!("{}k{i}:\n", " ".repeat(indent + i)))
        .collect();
    out.push_str(&format!("{}leaf\n", " ".repeat(indent + keys)));
    out
}

/// Levels of objects and arrays from `v` down to its deepest leaf.
fn depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            serde_json::Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

async fn entity_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM entities")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

#[track_caller]
fn first_error(body: &serde_json::Value) -> &str {
    body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"))
}

/// A 32 kB document whose aliases nest an already deep tree reached ~15,600 levels; the old
/// importer converted and dropped it recursively, overflowed the stack and killed the whole
/// server (this test process, here). Now the first alias that goes too deep is refused.
#[tokio::test]
async fn issue_10_deep_alias_bomb_is_refused_and_the_server_lives() {
    let app = TestApp::new().await;
    let mut doc = format!(
        "{HEAD}metadata: {{name: bomb}}\nspec:\n  a0: &a0 {}{}\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    for i in 1..250 {
        doc.push_str(&format!(
            "  a{i}: &a{i} {}*a{} {}\n",
            "[".repeat(60),
            i - 1,
            "]".repeat(60)
        ));
    }
    assert!(doc.len() > 30_000, "{} bytes", doc.len());
    let (status, body) = app.post("/api/v1/import?source=bomb", "application/yaml", doc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        first_error(&body),
        "api:bomb:6:71: YAML nested deeper than 64 levels once this alias is expanded; flatten the anchored data or stop nesting aliases"
    );
    assert_eq!(entity_count(&app).await, 0, "nothing written");
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "the server still answers");
}

/// Anchors of ten aliases of the anchor before: the old importer deep-copied each anchored
/// collection; the alias that crosses the node budget is refused where it is written.
#[tokio::test]
async fn issue_10_anchor_amplification_is_refused_at_the_alias() {
    let app = TestApp::new().await;
    let mut doc = format!("{HEAD}metadata: {{name: laughs}}\nspec:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..30 {
        doc.push_str(&format!(
            "  l{i}: &l{i} [{}]\n",
            vec![format!("*l{}", i - 1); 10].join(", ")
        ));
    }
    let started = std::time::Instant::now();
    let (status, body) = app.post("/api/v1/import", "application/yaml", doc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        first_error(&body).starts_with("api:default:10:")
            && first_error(&body).contains("YAML has more than 1000000 nodes once aliases are expanded"),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(entity_count(&app).await, 0, "nothing written");
}

/// An entity at the deepest nesting accepted is stored and reads back through every API and
/// its page (a 128-level document used to be stored and then answer 500 everywhere: serde_json
/// reads at most 128 levels). Compass components are stored one level deeper than written.
#[tokio::test]
async fn issue_10_the_deepest_accepted_entity_reads_back_everywhere() {
    let app = TestApp::new().await;
    // Root and spec are two of the 64 levels.
    let backstage = format!("{HEAD}metadata: {{name: deep}}\nspec:\n{}", nested(63, 2));
    let compass = format!("name: Deep Compass\nconfigVersion: 1\n{}", nested(64, 0));
    let (status, body) = app
        .post(
            "/api/v1/import",
            "application/yaml",
            format!("{backstage}---\n{compass}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (kind_path, name) in [("component/default", "deep"), ("component/default", "deep-compass")] {
        let e = app.get_json(&format!("/api/v1/entities/{kind_path}/{name}")).await;
        assert!(e.to_string().contains("\"leaf\""), "{name}: {e}");
        let b = app
            .get_json(&format!("/api/catalog/entities/by-name/{kind_path}/{name}"))
            .await;
        assert!(depth(&b) >= 64, "{name}: stored as deep as written ({})", depth(&b));
        let (status, html) = app.get(&format!("/catalog/{kind_path}/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{name} page: {html}");
    }
    for list in [
        "/api/catalog/entities",
        "/api/catalog/entities/by-query?filter=kind=component",
        "/api/v1/entities?kind=component",
    ] {
        let items = app.get_json(list).await;
        assert!(items.to_string().contains("deep-compass"), "{list}: {items}");
    }
    // One level more is refused where it starts, and nothing is written.
    let deeper = format!("{HEAD}metadata: {{name: deeper}}\nspec:\n{}", nested(64, 2));
    let (status, body) = app.post("/api/v1/import", "application/yaml", deeper).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        first_error(&body).starts_with("api:default:68:66: YAML nested deeper than 64 levels"),
        "{body}"
    );
    assert_eq!(entity_count(&app).await, 2);
}

/// A catalog file the size of those in Backstage's own catalog benchmark: 2,500 components.
fn benchmark_catalog() -> String {
    let mut out = String::new();
    for i in 0..2500 {
        out.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: component-{i}\n  \
             description: Benchmark component {i}\n  \
             annotations:\n    backstage.io/source-location: url:https://git.example.com/org/repo-{i}/tree/main/\n  \
             tags: [java, service]\n  links:\n    - url: https://dashboards.example.com/d/{i}\n      title: Dashboard\n\
             spec:\n  type: service\n  lifecycle: production\n  owner: group:team-{}\n  system: system-{}\n  \
             dependsOn: ['component:component-{}']\n",
            i % 50,
            i % 100,
            (i + 1) % 2500
        ));
    }
    out
}

/// `bearing <args>`'s import limits, as the command line parses them.
fn limits_from(args: &[&str]) -> Limits {
    match Cli::try_parse_from(args).expect("valid command line").command {
        Some(Command::Import(a)) => a.limits.limits(),
        Some(Command::Serve(a)) => a.import.limits(),
        other => panic!("not import or serve: {other:?}"),
    }
}

/// The old 1 MiB cap refused real catalogs. The default (16 MiB) takes a benchmark file, and
/// `--import-max-file-size` refuses it, on the command line and over HTTP, writing nothing.
#[tokio::test]
async fn issue_10_a_benchmark_sized_file_imports_under_the_default_cap_only() {
    let catalog = benchmark_catalog();
    assert!(
        (1_100_000..1_300_000).contains(&catalog.len()),
        "{} bytes",
        catalog.len()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, &catalog).expect("write");

    let small = limits_from(&["bearing", "serve", "--import-max-file-size", "1MiB"]);
    assert_eq!(small.max_file_bytes, 1 << 20);
    let app = TestApp::new().await.with_import_limits(small);
    let (status, body) = app.post("/api/v1/import", "application/yaml", catalog.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        first_error(&body).starts_with("api:default:1:1: the body is larger than the import limit of 1048576 bytes"),
        "{body}"
    );

    let cli_small = limits_from(&["bearing", "import", "--import-max-file-size", "1 MiB", "x"]);
    let Err(app::catalog::import::ImportError::Problems(problems)) =
        app.import_paths_within(std::slice::from_ref(&file), &cli_small).await
    else {
        panic!("a file over the limit was imported")
    };
    assert!(
        problems[0].ends_with(&format!(
            "catalog-info.yaml:1:1: file too large: {} bytes, limit 1048576; split the file, or raise the limit with --import-max-file-size (BEARING_IMPORT_MAX_FILE_SIZE)",
            catalog.len()
        )),
        "{problems:?}"
    );
    assert_eq!(entity_count(&app).await, 0, "nothing written");

    let default = limits_from(&["bearing", "import", "x"]);
    assert_eq!(default, Limits::default());
    let report = app
        .import_paths_within(std::slice::from_ref(&file), &default)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.added.len(), 2500);
    assert_eq!(entity_count(&app).await, 2500);
}
