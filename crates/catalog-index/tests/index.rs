//! The index answers list queries as the catalog's SQL did: filters, orders, pages, facet
//! counts without their own filter, and text that tolerates prefixes and typos.

use bearing_catalog_index::{CatalogIndex, Entry, Query, Sort, FACET_LIMIT};

fn entry(kind: &str, name: &str, owner: &str, tags: &[&str], updated_at: i64) -> Entry<String> {
    Entry {
        key: format!("{kind}:default/{name}"),
        kind: kind.into(),
        name: name.into(),
        title: None,
        description: None,
        entity_type: Some(if kind == "component" { "service" } else { "openapi" }.into()),
        lifecycle: Some("production".into()),
        owner: Some(owner.into()),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        orphaned: false,
        updated_at,
        payload: format!("{kind}:{name}"),
    }
}

fn catalog() -> CatalogIndex<String> {
    let mut ledger = entry("component", "ledger", "group:default/core", &["payments", "java"], 5);
    ledger.title = Some("General Ledger".into());
    ledger.description = Some("Double-entry bookkeeping for every payment".into());
    let mut orphan = entry("component", "legacy-billing", "group:default/core", &["payments"], 1);
    orphan.orphaned = true;
    orphan.lifecycle = Some("deprecated".into());
    CatalogIndex::build(vec![
        entry("component", "checkout", "group:default/web", &["web"], 3),
        ledger,
        entry("api", "ledger", "group:default/core", &["payments"], 4),
        orphan,
        entry(
            "component",
            "payments-gateway",
            "group:default/web",
            &["payments", "go"],
            2,
        ),
    ])
    .expect("index builds")
}

fn names<'a>(items: &[&'a String]) -> Vec<&'a str> {
    items.iter().map(|s| s.as_str()).collect()
}

#[test]
fn orders_and_pages_end_with_the_key_and_never_overlap() {
    let index = catalog();
    let all = |sort| {
        let page = index
            .query(&Query {
                sort,
                limit: 10,
                ..Query::default()
            })
            .unwrap();
        names(&page.items).join(" ")
    };
    assert_eq!(
        all(Sort::Name),
        "component:checkout api:ledger component:ledger component:legacy-billing component:payments-gateway"
    );
    assert_eq!(
        all(Sort::NameDesc),
        "component:payments-gateway component:legacy-billing api:ledger component:ledger component:checkout"
    );
    assert_eq!(
        all(Sort::Kind),
        "api:ledger component:checkout component:ledger component:legacy-billing component:payments-gateway"
    );
    assert_eq!(
        all(Sort::Updated),
        "component:ledger api:ledger component:checkout component:payments-gateway component:legacy-billing"
    );
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let page = index
            .query(&Query {
                sort: Sort::Name,
                offset,
                limit: 2,
                ..Query::default()
            })
            .unwrap();
        assert_eq!(page.total, 5);
        seen.extend(names(&page.items));
    }
    assert_eq!(seen.len(), 5);
    let past = index
        .query(&Query {
            offset: 50,
            limit: 2,
            ..Query::default()
        })
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 5, "a page past the end still has the total");
}

#[test]
fn filters_match_exactly_and_facets_ignore_their_own_filter() {
    let index = catalog();
    let q = Query {
        kind: Some("COMPONENT"),
        owner: Some("group:default/web"),
        limit: 10,
        ..Query::default()
    };
    let page = index.query(&q).unwrap();
    assert_eq!(names(&page.items), ["component:checkout", "component:payments-gateway"]);
    assert_eq!(page.total, 2);
    // Owners of components (the owner filter left out), kinds of web's entities (kind left out).
    assert_eq!(
        page.facets.owner,
        [
            ("group:default/core".to_owned(), 2),
            ("group:default/web".to_owned(), 2)
        ]
    );
    assert_eq!(page.facets.kind, [("component".to_owned(), 2)]);
    let tags: Vec<(&str, usize)> = page.facets.tag.iter().map(|(v, n)| (v.as_str(), *n)).collect();
    assert_eq!(tags, [("go", 1), ("payments", 1), ("web", 1)], "ties by value");

    let tagged = index
        .query(&Query {
            tag: Some("payments"),
            limit: 10,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(tagged.total, 4);
    let nothing = index
        .query(&Query {
            owner: Some("group:default/nobody"),
            limit: 10,
            ..Query::default()
        })
        .unwrap();
    assert_eq!((nothing.total, nothing.items.len()), (0, 0));
    assert_eq!(
        nothing.facets.owner.len(),
        2,
        "the owner facet still offers the owners that exist"
    );
    assert_eq!(index.orphaned(), 1);
}

#[test]
fn text_matches_prefixes_and_typos_and_ranks_the_name_first() {
    let index = catalog();
    let search = |text: &str| {
        let page = index
            .query(&Query {
                text: Some(text),
                limit: 10,
                ..Query::default()
            })
            .unwrap();
        names(&page.items).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    // Exact name first (both ledgers), before an entity that only mentions it elsewhere.
    let first_two = |mut hits: Vec<String>| {
        hits.truncate(2);
        hits.sort();
        hits
    };
    assert_eq!(first_two(search("ledger")), ["api:ledger", "component:ledger"]);
    assert_eq!(
        first_two(search("ledgr")),
        ["api:ledger", "component:ledger"],
        "one typo"
    );
    assert_eq!(search("general ledger")[0], "component:ledger", "the title counts too");
    // A typo of a name ranks that entity above others whose descriptions hold the word.
    assert_eq!(
        search("paymnets")[0],
        "component:payments-gateway",
        "over tags holding the word"
    );
    assert_eq!(search("gatewya")[0], "component:payments-gateway");
    assert!(
        search("gatew").contains(&"component:payments-gateway".to_owned()),
        "a prefix"
    );
    assert!(
        search("bookkeping").contains(&"component:ledger".to_owned()),
        "a typo in the description"
    );
    // Every word must match somewhere.
    assert_eq!(search("payments gateway"), ["component:payments-gateway"]);
    assert!(search("ledger zzzzzz").is_empty());
    // Nothing searchable, or markup: no match, no error.
    assert!(search("--- !!").is_empty());
    assert!(search("<script>alert(1)</script>").is_empty());
    // Text and filters together; the facets count the text's matches.
    let page = index
        .query(&Query {
            text: Some("payments"),
            kind: Some("api"),
            limit: 10,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(names(&page.items), ["api:ledger"]);
    assert_eq!(page.facets.kind, [("component".to_owned(), 3), ("api".to_owned(), 1)]);
}

#[test]
fn facets_list_the_most_frequent_values_first_and_at_most_the_limit() {
    let entries = (0..FACET_LIMIT + 5)
        .flat_map(|team| {
            (0..=team).map(move |i| {
                entry(
                    "component",
                    &format!("c{team}-{i}"),
                    &format!("group:default/t{team:02}"),
                    &[],
                    0,
                )
            })
        })
        .collect();
    let index = CatalogIndex::build(entries).unwrap();
    let page = index
        .query(&Query {
            limit: 0,
            ..Query::default()
        })
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.facets.owner.len(), FACET_LIMIT);
    assert_eq!(page.facets.owner[0], ("group:default/t24".to_owned(), 25));
    assert!(page.facets.owner.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn an_empty_catalog_answers_every_query() {
    let index = CatalogIndex::<()>::build(Vec::new()).unwrap();
    let page = index
        .query(&Query {
            text: Some("anything"),
            owner: Some("x"),
            limit: 20,
            ..Query::default()
        })
        .unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0));
    assert!(index.is_empty());
}
