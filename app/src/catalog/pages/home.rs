//! `/`: counts per kind, a search box and the latest changes.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use crate::catalog::api::get_home;
use crate::catalog::components::EntityTable;
use crate::catalog::KINDS;
use crate::error::error_fallback;
use crate::ui::{EmptyState, Loading};

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| get_home());
    view! {
        <Title text=""/>
        <section class="mb-8 rounded-xl bg-gradient-to-r from-indigo-600 to-violet-600 px-8 py-10 text-white">
            <h1 class="text-3xl font-semibold">"Find any service, API or team"</h1>
            <Form method="GET" action="/search" attr:class="mt-4 flex max-w-xl gap-2" attr:role="search">
                <label for="home-search" class="sr-only">"Search"</label>
                <input id="home-search" type="search" name="q" placeholder="e.g. checkout, payments, team-payments"
                    class="flex-1 rounded px-3 py-2 text-slate-900"/>
                <button type="submit" class="rounded bg-white/20 px-4 py-2 font-medium hover:bg-white/30">"Search"</button>
            </Form>
        </section>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    home.await.map(|h| {
                        let total: i64 = h.counts.iter().map(|c| c.count).sum();
                        if total == 0 {
                            return view! {
                                <EmptyState title="The catalog is empty" hint="Import catalog-info.yaml or compass.yml files to fill it.">
                                    <code class="rounded bg-slate-100 px-2 py-1 text-sm">"bearing import ./path/to/catalog"</code>
                                </EmptyState>
                            }.into_any();
                        }
                        let cards = h.counts.into_iter().filter(|c| c.value != "location").map(|c| {
                            let label = KINDS.iter().find(|(s, _)| *s == c.value).map(|(_, l)| *l).unwrap_or("?");
                            view! {
                                <a href=format!("/catalog?kind={}", c.value) class="rounded-lg border border-slate-200 bg-white p-4 hover:border-indigo-300" data-test-count=c.value.clone()>
                                    <div class="text-2xl font-semibold">{c.count}</div>
                                    <div class="text-sm text-slate-500">{label}</div>
                                </a>
                            }
                        }).collect_view();
                        view! {
                            <section aria-label="Counts per kind" class="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">{cards}</section>
                            {(h.orphaned > 0).then(|| view! {
                                <p class="mt-3 text-sm text-red-700">{format!("{} orphaned entities: they disappeared from their source.", h.orphaned)}</p>
                            })}
                            <h2 class="mb-2 mt-8 text-lg font-semibold">"Recently changed"</h2>
                            <EntityTable items=h.recent/>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
