//! `/catalog` and `/search`: filters, sort, pagination and search over the catalog.
//!
//! All state lives in the query string, so every filter is a plain link that works without
//! JavaScript; once hydrated, the router turns those links into in-place updates.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::catalog::api::get_catalog;
use crate::catalog::components::{CatalogParams, EntityTable, FacetSidebar, PER_PAGE};
use crate::catalog::{CatalogView, Sort};
use crate::error::{error_fallback, AppError};
use crate::ui::{EmptyState, Loading, Pagination};

/// What both list pages request when they are entered: the list parameters in the query string
/// and the page of entities (with facet counts) they select.
fn list_data() -> (Memo<CatalogParams>, Resource<Result<CatalogView, AppError>>) {
    let query = use_query_map();
    let params = Memo::new(move |_| CatalogParams::from_map(&query.read()));
    let data = Resource::new(move || params.get(), |p| get_catalog(p.to_query()));
    (params, data)
}

/// The catalog list.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let (params, data) = list_data();
    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Catalog"</h1>
        <CatalogBrowser base="/catalog" params=params data=data/>
    }
}

/// Search results.
#[component]
pub fn SearchPage() -> impl IntoView {
    let (params, data) = list_data();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    view! {
        <h1 class="mb-4 text-2xl font-semibold">"Search"</h1>
        <Form method="GET" action="/search" attr:class="mb-6 flex max-w-2xl gap-2" attr:role="search">
            <label for="search-q" class="sr-only">"Search text"</label>
            <input id="search-q" type="search" name="q" prop:value=q placeholder="Name, title, description or tag"
                class="flex-1 rounded border border-slate-300 px-3 py-2"/>
            <button type="submit" class="rounded bg-indigo-600 px-4 py-2 text-white hover:bg-indigo-700">"Search"</button>
        </Form>
        <CatalogBrowser base="/search" params=params data=data/>
    }
}

/// Facets, sort control, table and pagination of the entities `data` holds for `params`.
#[component]
fn CatalogBrowser(
    base: &'static str,
    params: Memo<CatalogParams>,
    data: Resource<Result<CatalogView, AppError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let p = params.get_untracked();
                    // A plain string, set again whenever the list reloads: a reactive title
                    // closure can outlive the request's reactive owner during server rendering.
                    let title = match (base, p.q.as_deref()) {
                        ("/search", Some(q)) => format!("Search: {q}"),
                        ("/search", None) => "Search".to_owned(),
                        _ => "Catalog".to_owned(),
                    };
                    data.await.map(|view| {
                        let page_p = p.clone();
                        let total = view.page.total;
                        let body = if view.page.items.is_empty() {
                            view! {
                                <EmptyState title="No entities match" hint="Try fewer filters or different words.">
                                    <a href=base class="text-indigo-700 hover:underline">"Clear all filters"</a>
                                </EmptyState>
                            }.into_any()
                        } else {
                            view! {
                                <EntityTable items=view.page.items/>
                                <Pagination page=p.page per_page=PER_PAGE total=total
                                    href=move |n| page_p.href(base, |p| p.page = n)/>
                            }.into_any()
                        };
                        view! {
                            <Title text=title/>
                            <div class="flex gap-6">
                                <FacetSidebar facets=view.facets params=p.clone() base=base/>
                                <div class="min-w-0 flex-1">
                                    <SortControl params=p.clone() base=base total=total/>
                                    {body}
                                </div>
                            </div>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Result count and a sort selector (a GET form, so it works without JavaScript).
#[component]
fn SortControl(params: CatalogParams, base: &'static str, total: i64) -> impl IntoView {
    let hidden = [
        ("q", params.q.clone()),
        ("kind", params.kind.clone()),
        ("type", params.entity_type.clone()),
        ("owner", params.owner.clone()),
        ("lifecycle", params.lifecycle.clone()),
        ("tag", params.tag.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| view! { <input type="hidden" name=k value=v/> }))
    .collect_view();
    let options = Sort::ALL
        .iter()
        .map(|(s, label)| view! { <option value=s.as_str() selected=*s == params.sort>{*label}</option> })
        .collect_view();
    view! {
        <div class="mb-3 flex items-center justify-between">
            <p class="text-sm text-slate-600" data-test-total=total>{format!("{total} entities")}</p>
            <Form method="GET" action=base attr:class="flex items-center gap-2 text-sm">
                {hidden}
                <label for="sort">"Sort by"</label>
                <select id="sort" name="sort" class="rounded border border-slate-300 px-2 py-1">{options}</select>
                <button type="submit" class="rounded border border-slate-300 bg-white px-2 py-1 hover:bg-slate-50">"Apply"</button>
            </Form>
        </div>
    }
}
