//! An index followed by [`CatalogIndex::with_changes`] answers every query as an index built
//! from scratch on the same entries would: orders, pages, filters, facets and text.

use bearing_catalog_index::{CatalogIndex, Entry, Query, Sort};

fn entry(n: u64, owner: u64, lifecycle: &str, words: &str) -> Entry<String> {
    let name = format!("svc-{n:03}");
    Entry {
        key: format!("component:default/{name}"),
        kind: if n.is_multiple_of(5) { "api" } else { "component" }.into(),
        name: name.clone(),
        title: n.is_multiple_of(3).then(|| format!("Title {words}")),
        description: Some(format!("The {words} service")),
        entity_type: Some(if n.is_multiple_of(2) { "service" } else { "library" }.into()),
        lifecycle: Some(lifecycle.into()),
        owner: Some(format!("group:default/team-{owner}")),
        tags: (0..n % 4).map(|t| format!("tag-{t}")).collect(),
        orphaned: n.is_multiple_of(7),
        updated_at: i64::try_from(n * 37 % 101).unwrap_or(0),
        payload: name,
    }
}

/// Small deterministic pseudo-random numbers (xorshift), so failures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

const WORDS: [&str; 6] = ["ledger", "payments", "checkout", "shipping", "search", "billing"];

/// Everything a list page shows for `q`, with text hits compared as a set when ranked by
/// relevance (term statistics differ between a changed and a rebuilt index until a merge).
fn answer(index: &CatalogIndex<String>, q: &Query<'_>) -> String {
    let page = index.query(q).expect("query");
    let mut items: Vec<&str> = page.items.iter().map(|s| s.as_str()).collect();
    if q.text.is_some() && q.sort == Sort::Relevance {
        items.sort_unstable();
    }
    format!("{} {items:?} {:?}", page.total, page.facets)
}

fn queries() -> Vec<Query<'static>> {
    let all = |sort| Query {
        sort,
        limit: 500,
        ..Query::default()
    };
    let mut out = vec![
        all(Sort::Name),
        all(Sort::NameDesc),
        all(Sort::Kind),
        all(Sort::Updated),
        Query {
            owner: Some("group:default/team-1"),
            lifecycle: Some("production"),
            sort: Sort::Updated,
            offset: 2,
            limit: 5,
            ..Query::default()
        },
        Query {
            tag: Some("tag-2"),
            kind: Some("component"),
            limit: 50,
            ..Query::default()
        },
    ];
    for word in WORDS {
        out.push(Query {
            text: Some(word),
            limit: 500,
            ..Query::default()
        });
        out.push(Query {
            text: Some(word),
            sort: Sort::Name,
            entity_type: Some("service"),
            limit: 500,
            ..Query::default()
        });
    }
    out
}

fn assert_same(changed: &CatalogIndex<String>, entries: &[Entry<String>], step: usize) {
    let rebuilt = CatalogIndex::build(entries.to_vec()).expect("build");
    assert_eq!(changed.len(), rebuilt.len(), "step {step}");
    assert_eq!(changed.orphaned(), rebuilt.orphaned(), "step {step}");
    for q in queries() {
        assert_eq!(answer(changed, &q), answer(&rebuilt, &q), "step {step}, {q:?}");
    }
}

#[test]
fn edits_additions_and_removals_answer_as_a_rebuild_would() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut entries: Vec<Entry<String>> = (0..60)
        .map(|n| entry(n, n % 4, "production", WORDS[(n % 6) as usize]))
        .collect();
    let mut index = CatalogIndex::build(entries.clone()).expect("build");
    let mut next_n = 60;
    for step in 0..40 {
        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        for _ in 0..=rng.next(3) {
            match rng.next(4) {
                // An edit: new owner, lifecycle, words and change time.
                0 | 1 if !entries.is_empty() => {
                    let i = rng.next(entries.len() as u64) as usize;
                    let mut e = entries[i].clone();
                    e.owner = Some(format!("group:default/team-{}", rng.next(6)));
                    e.lifecycle = Some(["production", "deprecated", "experimental"][rng.next(3) as usize].into());
                    e.description = Some(format!("Now the {} service", WORDS[rng.next(6) as usize]));
                    e.tags = vec![format!("tag-{}", rng.next(4))];
                    e.updated_at = 1000 + step as i64;
                    e.orphaned = rng.next(2) == 0;
                    entries[i] = e.clone();
                    upserts.push(e);
                }
                2 => {
                    let e = entry(next_n, rng.next(6), "experimental", WORDS[rng.next(6) as usize]);
                    next_n += 1;
                    entries.push(e.clone());
                    upserts.push(e);
                }
                _ if !entries.is_empty() => {
                    let i = rng.next(entries.len() as u64) as usize;
                    removals.push(entries.remove(i).key);
                }
                _ => {}
            }
        }
        // Removing an unknown key does nothing.
        removals.push("component:default/never-was".to_owned());
        index = index.with_changes(upserts, &removals).expect("update");
        assert_same(&index, &entries, step);
    }
    assert!(index.holes() > 0, "removals leave holes until a full build");
}

#[test]
fn an_edit_moves_the_entity_in_order_facets_and_text_and_keeps_the_old_version() {
    let entries: Vec<Entry<String>> = (0..10).map(|n| entry(n, 1, "production", "ledger")).collect();
    let before = CatalogIndex::build(entries.clone()).expect("build");
    let mut edited = entries[2].clone();
    edited.owner = Some("group:default/team-9".into());
    edited.lifecycle = Some("deprecated".into());
    edited.description = Some("Moves parcels to the courier".into());
    edited.updated_at = 10_000;
    let after = before.with_changes(vec![edited], &[]).expect("update");

    let owned = |index: &CatalogIndex<String>| {
        let page = index
            .query(&Query {
                owner: Some("group:default/team-9"),
                limit: 10,
                ..Query::default()
            })
            .expect("query");
        (page.total, page.facets.lifecycle.clone())
    };
    assert_eq!(owned(&before).0, 0);
    let (total, lifecycles) = owned(&after);
    assert_eq!(total, 1);
    assert_eq!(lifecycles, [("deprecated".to_owned(), 1)]);
    let newest = after
        .query(&Query {
            sort: Sort::Updated,
            limit: 1,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(newest.items, [&"svc-002".to_owned()], "first by change time");
    let search = |index: &CatalogIndex<String>, text: &str| {
        let page = index
            .query(&Query {
                text: Some(text),
                limit: 20,
                ..Query::default()
            })
            .expect("query");
        page.items.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(search(&after, "courier"), ["svc-002"]);
    assert!(
        !search(&after, "ledger").contains(&"svc-002".to_owned()),
        "old words are gone"
    );
    // The version before answers as before: readers holding it are not disturbed.
    assert!(search(&before, "courier").is_empty());
    assert!(search(&before, "ledger").contains(&"svc-002".to_owned()));
    assert_eq!(after.len(), 10);
    assert_eq!(
        after.get("component:default/svc-002").map(|e| e.updated_at),
        Some(10_000)
    );

    // Changing an older version again (not the latest) still gives the right answer.
    let mut other = entries[4].clone();
    other.description = Some("Answers with couriers' rates".into());
    let branch = before.with_changes(vec![other], &[]).expect("update an older version");
    assert_eq!(search(&branch, "courier"), ["svc-004"]);
    assert_eq!(search(&after, "courier"), ["svc-002"], "the newer version is untouched");
}

#[test]
fn a_removed_entity_disappears_everywhere() {
    let entries: Vec<Entry<String>> = (0..8).map(|n| entry(n, n % 2, "production", "billing")).collect();
    let before = CatalogIndex::build(entries).expect("build");
    let gone = "component:default/svc-001".to_owned();
    let after = before
        .with_changes(Vec::new(), std::slice::from_ref(&gone))
        .expect("update");
    assert_eq!((before.len(), after.len(), after.holes()), (8, 7, 1));
    assert!(after.get(&gone).is_none());
    for sort in [Sort::Name, Sort::NameDesc, Sort::Kind, Sort::Updated] {
        let page = after
            .query(&Query {
                sort,
                text: (sort == Sort::Name).then_some("billing"),
                limit: 20,
                ..Query::default()
            })
            .expect("query");
        assert_eq!(page.total, 7, "{sort:?}");
        assert!(!page.items.contains(&&"svc-001".to_owned()), "{sort:?}");
    }
    let team1 = after
        .query(&Query {
            limit: 0,
            ..Query::default()
        })
        .expect("query");
    assert!(team1.facets.owner.contains(&("group:default/team-1".to_owned(), 3)));
    // Put back under the same key: listed again (in a new slot).
    let back = after
        .with_changes(vec![entry(1, 1, "production", "billing")], &[])
        .expect("update");
    assert_eq!((back.len(), back.holes()), (8, 1));
    assert!(back.get(&gone).is_some());
}

/// Run with `cargo test --release -p bearing-catalog-index --test update -- --ignored --nocapture`:
/// what one edit costs against a rebuild, at the size of a large catalog.
#[test]
#[ignore = "a measurement, slow in debug builds"]
fn an_edit_at_100k_costs_milliseconds() {
    let entries: Vec<Entry<String>> = (0..100_000)
        .map(|n| entry(n, n % 500, "production", WORDS[(n % 6) as usize]))
        .collect();
    let started = std::time::Instant::now();
    let mut index = CatalogIndex::build(entries.clone()).expect("build");
    let build = started.elapsed();
    let mut took = Vec::new();
    for i in 0..200u64 {
        let mut e = entries[(i * 499 % 100_000) as usize].clone();
        e.owner = Some("group:default/team-new".into());
        e.updated_at = 1_000_000 + i as i64;
        let started = std::time::Instant::now();
        index = index.with_changes(vec![e], &[]).expect("update");
        took.push(started.elapsed());
    }
    took.sort();
    let (median, worst) = (took[took.len() / 2], took[took.len() - 1]);
    println!("build {build:?}; 200 single edits: median {median:?}, worst {worst:?}");
    assert!(median < build / 20, "an edit must cost far less than a build");
}
