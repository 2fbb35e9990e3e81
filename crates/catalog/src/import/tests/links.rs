//! Issue 10: link URLs that are not http, https or mailto are dropped at import with a warning,
//! so no API hands out a `javascript:` link, wherever the importer takes links from.

use serde_json::json;

use super::*;

fn warning_lines(set: &ImportSet) -> Vec<String> {
    set.warnings
        .iter()
        .map(|p| format!("{}:{}: {}", p.position.line, p.position.column, p.message))
        .collect()
}

#[test]
fn unsafe_metadata_links_are_dropped_with_a_warning_at_the_url() {
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: evil\n  links:\n    - url: javascript:alert(1)\n      title: Click\n    - url: \" JaVa\\tScRiPt:alert(1)\"\n    - url: data:text/html,<script>alert(1)</script>\n    - {url: 'vbscript:msgbox(1)'}\n    - url: https://ok.example\n      title: Fine\n    - url: mailto:team@example.com\n    - url: /relative/path\n");
    let e = entity(&set, "component:default/evil");
    let urls: Vec<&str> = e.links.iter().map(|l| l.url.as_str()).collect();
    assert_eq!(urls, vec!["https://ok.example", "mailto:team@example.com"]);
    let warnings = warning_lines(&set);
    assert_eq!(warnings.len(), 5, "{warnings:#?}");
    assert_has(&warnings, "6:12: `metadata.links` URL `javascript:alert(1)` dropped: scheme `javascript:` is not allowed; links must be http, https or mailto URLs");
    assert_has(
        &warnings,
        "8:12: `metadata.links` URL ` JaVa\tScRiPt:alert(1)` dropped: scheme `javascript:`",
    );
    assert_has(
        &warnings,
        "9:12: `metadata.links` URL `data:text/html,<script>alert(1)</script>` dropped: scheme `data:`",
    );
    assert_has(
        &warnings,
        "10:13: `metadata.links` URL `vbscript:msgbox(1)` dropped: scheme `vbscript:`",
    );
    assert_has(
        &warnings,
        "14:12: `metadata.links` URL `/relative/path` dropped: not an absolute URL",
    );
}

#[test]
fn unsafe_url_annotations_are_dropped() {
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  annotations:\n    backstage.io/view-url: javascript:alert(1)\n    backstage.io/edit-url: https://git.example/edit\n    backstage.io/source-location: 'url:javascript:alert(1)'\n    backstage.io/techdocs-ref: dir:.\n");
    let e = entity(&set, "component:default/a");
    let keys: Vec<&str> = e.annotations.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["backstage.io/edit-url", "backstage.io/techdocs-ref"]);
    let warnings = warning_lines(&set);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_has(
        &warnings,
        "6:28: `metadata.annotations.backstage.io/view-url` URL `javascript:alert(1)` dropped",
    );
    assert_has(
        &warnings,
        "8:35: `metadata.annotations.backstage.io/source-location` URL `javascript:alert(1)` dropped",
    );
    // A source location that is a file, not a URL, is kept.
    let set = ok("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  annotations:\n    backstage.io/source-location: 'file:./src'\n");
    assert!(set.warnings.is_empty() && entity(&set, "component:default/a").annotations.len() == 1);
}

#[test]
fn unsafe_compass_links_are_dropped_from_links_and_spec() {
    let set = ok_named(
        "compass.yml",
        "name: Svc\nlinks:\n  - name: Evil\n    type: DOCUMENT\n    url: javascript:alert(1)\n  - name: Repo\n    type: REPOSITORY\n    url: https://example.com/repo\n",
    );
    let e = entity(&set, "component:default/svc");
    assert_eq!(e.links.len(), 1);
    assert_eq!(e.links[0].url, "https://example.com/repo");
    assert_eq!(
        e.spec["links"],
        json!([{"name": "Repo", "type": "REPOSITORY", "url": "https://example.com/repo"}])
    );
    assert_eq!(
        warning_lines(&set),
        vec!["5:10: `links` URL `javascript:alert(1)` dropped: scheme `javascript:` is not allowed; links must be http, https or mailto URLs"]
    );
}

/// A file can make a problem per node: only the first thousand are kept, and the last line
/// says how many more there were.
#[test]
fn problems_are_capped() {
    let mut doc = String::from("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  tags: [");
    doc.push_str(&vec!["[x]"; 5000].join(", "));
    doc.push_str("]\n");
    let errs = errors(&doc);
    assert_eq!(errs.len(), 1001);
    assert!(
        errs[1000].ends_with("4000 more problem(s) not shown; only the first 1000 are reported"),
        "{}",
        errs[1000]
    );
}
