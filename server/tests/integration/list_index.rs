//! Issue 15 ("Scale"): the catalog list index follows edits by updating the previous index with
//! the entities written since its read, not by reading and indexing the whole catalog again.
//! Lists, search and facets show the change at once on the editing server, and on another
//! server over the same database once it hears of the change; changes made around Bearing (SQL)
//! and deletions are found the same way.

use app::auth::guard::Caller;
use app::catalog::{CatalogView, ListQuery, Sort};
use app::ssr::ServerCtx;
use axum::http::StatusCode;
use serde_json::json;

use crate::util::TestApp;

const CHECKOUT: &str = "/api/v1/entities/component/default/checkout";

fn query(f: impl FnOnce(&mut ListQuery)) -> ListQuery {
    let mut q = ListQuery {
        limit: 500,
        ..Default::default()
    };
    f(&mut q);
    q
}

async fn view(ctx: &ServerCtx, q: ListQuery) -> CatalogView {
    app::catalog::service::catalog_view(ctx, &Caller::system("test"), q)
        .await
        .expect("catalog view")
}

fn names(view: &CatalogView) -> Vec<&str> {
    view.page.items.iter().map(|e| e.name.as_str()).collect()
}

/// Lists that cover orders, filters, facets and text, for comparing two indexes.
fn probes() -> Vec<ListQuery> {
    let mut out: Vec<ListQuery> = [Sort::Name, Sort::NameDesc, Sort::Kind, Sort::Updated]
        .into_iter()
        .map(|sort| query(|q| q.sort = sort))
        .collect();
    out.push(query(|q| q.owner = Some("group:default/team-fulfilment".into())));
    out.push(query(|q| {
        q.q = Some("parcels".into());
        q.sort = Sort::Name;
    }));
    out.push(query(|q| {
        q.kind = Some("component".into());
        q.lifecycle = Some("sunset".into());
    }));
    out
}

/// An admin moves checkout to another team and edits it: the very next list, search and facets
/// show it, made by updating the index (no full build), and they answer exactly as an index
/// built from scratch on the same database does.
#[tokio::test]
async fn issue_15_an_edit_updates_the_list_index_without_a_full_build() {
    let app = TestApp::with_demo().await;
    let first = view(&app.ctx, query(|_| ())).await;
    let before = app.ctx.list_index.builds();
    assert!(before.full >= 1, "{before:?}");

    let (status, body) = app
        .call(
            "POST",
            &format!("{CHECKOUT}/transfer"),
            Some(&app.admin_token),
            Some(json!({"to": "team-fulfilment", "reason": "fulfilment runs it now"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], true, "{body}");
    let (status, body) = app
        .call(
            "PATCH",
            CHECKOUT,
            Some(&app.admin_token),
            Some(json!({"lifecycle": "sunset", "description": "Hands parcels to the courier", "reason": "test"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let listed = app
        .get_json("/api/v1/entities?owner=group:default/team-fulfilment&lifecycle=sunset")
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["items"][0]["name"], "checkout");
    let found = app.get_json("/api/v1/entities?q=parcels%20courier").await;
    assert_eq!(found["items"][0]["name"], "checkout", "{found}");
    let sunset = view(&app.ctx, query(|q| q.lifecycle = Some("sunset".into()))).await;
    assert_eq!(names(&sunset), ["checkout"]);
    assert!(
        sunset
            .facets
            .owner
            .iter()
            .any(|f| f.value == "group:default/team-fulfilment" && f.count == 1),
        "the owner facet counts the new owner: {:?}",
        sunset.facets.owner
    );
    let everything = view(&app.ctx, query(|_| ())).await;
    assert_eq!(everything.page.total, first.page.total, "an edit adds no entity");
    let newest = view(&app.ctx, query(|q| q.sort = Sort::Updated)).await;
    assert_eq!(names(&newest)[0], "checkout", "the latest change first");

    let after = app.ctx.list_index.builds();
    assert_eq!(
        after.full, before.full,
        "no full build for an edit: {before:?} -> {after:?}"
    );
    assert!(after.updates > before.updates, "{before:?} -> {after:?}");

    // A server that builds its index from scratch now answers every probe the same way.
    let fresh = crate::util::context(app.pool.clone(), true);
    for q in probes() {
        assert_eq!(view(&app.ctx, q.clone()).await, view(&fresh, q.clone()).await, "{q:?}");
    }
    assert_eq!(fresh.list_index.builds().full, 1);
}

/// Another server on the same database (a replica) follows an edit made through this one by
/// an update once it hears of the change, and so it does for rows changed or deleted in SQL
/// around Bearing; when changes may have been missed (its listener reconnected) it builds its
/// index whole.
#[tokio::test]
async fn issue_15_a_replica_follows_edits_by_update_and_builds_whole_after_a_resync() {
    let app = TestApp::with_demo().await;
    let replica = crate::util::context(app.pool.clone(), true);
    let sunset = || query(|q| q.lifecycle = Some("sunset".into()));
    assert_eq!(view(&replica, sunset()).await.page.total, 0);
    let all = view(&replica, query(|_| ())).await.page.total;
    assert_eq!(replica.list_index.builds().full, 1);

    let (status, body) = app
        .call(
            "PATCH",
            CHECKOUT,
            Some(&app.admin_token),
            Some(json!({"lifecycle": "sunset", "reason": "test"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // What `bearing serve` does when the edit's notification arrives.
    replica.cache.invalidate();
    assert_eq!(names(&view(&replica, sunset()).await), ["checkout"]);

    // Around Bearing: an UPDATE and a DELETE in SQL, then a notification.
    sqlx::query("UPDATE entities SET lifecycle = 'sunset' WHERE ref = 'api:default/cart-api'")
        .execute(&app.superuser)
        .await
        .unwrap();
    sqlx::query("DELETE FROM entities WHERE ref = 'api:default/fraud-check-api'")
        .execute(&app.superuser)
        .await
        .unwrap();
    replica.cache.invalidate();
    let now = view(&replica, sunset()).await;
    assert_eq!(names(&now), ["cart-api", "checkout"], "{:?}", now.page);
    let everything = view(&replica, query(|_| ())).await;
    assert_eq!(everything.page.total, all - 1, "the deleted entity is gone");
    assert!(!names(&everything).contains(&"fraud-check-api"));
    let searched = view(&replica, query(|q| q.q = Some("fraud".into()))).await;
    assert!(!names(&searched).contains(&"fraud-check-api"), "{:?}", searched.page);
    let builds = replica.list_index.builds();
    assert_eq!(builds.full, 1, "updates only: {builds:?}");
    assert!(builds.updates >= 2, "{builds:?}");

    replica.cache.resync();
    assert_eq!(view(&replica, sunset()).await.page.total, 2);
    assert_eq!(replica.list_index.builds().full, 2, "a resync builds the index whole");
}
