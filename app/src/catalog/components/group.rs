//! A team's page: ownership coverage, members, child teams and owned entities.

use leptos::prelude::*;

use super::EntityTable;
use crate::catalog::{EntitySummary, GroupView};

/// Team view: coverage, members, child teams, owned entities.
#[component]
pub fn GroupPanel(g: GroupView) -> impl IntoView {
    let c = g.coverage.clone();
    let bar = move |label: &'static str, n: i64| {
        let pct = c.percent(n);
        view! {
            <div>
                <div class="flex justify-between text-sm"><span>{label}</span><span>{format!("{pct}%")}</span></div>
                <svg class="h-2 w-full" aria-hidden="true"><rect width="100%" height="8" rx="4" class="fill-slate-100"/><rect width=format!("{pct}%") height="8" rx="4" class="fill-indigo-500"/></svg>
            </div>
        }
    };
    let link_list = |items: &[EntitySummary]| {
        items
            .iter()
            .map(|m| (m.href(), m.display_name().to_owned()))
            .map(|(href, name)| view! { <li><a href=href class="text-indigo-700 hover:underline">{name}</a></li> })
            .collect_view()
    };
    let people = link_list(&g.members);
    let children = link_list(&g.children);
    let c = g.coverage.clone();
    view! {
        <section class="mt-6 grid gap-6 lg:grid-cols-3" aria-label="Team">
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">"Ownership coverage"</h2>
                <p class="mb-3 text-sm text-slate-500">{format!("{} components owned", c.components)}</p>
                <div class="space-y-2" data-test-coverage="">
                    {bar("Described", c.with_description)}
                    {bar("Lifecycle set", c.with_lifecycle)}
                    {bar("In a known system", c.with_system)}
                    {bar("Has links", c.with_links)}
                </div>
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">{format!("Members ({})", g.members.len())}</h2>
                {if g.members.is_empty() { view! { <p class="text-sm text-slate-500">"No members."</p> }.into_any() } else { view! { <ul class="mt-2 text-sm">{people}</ul> }.into_any() }}
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">{format!("Child teams ({})", g.children.len())}</h2>
                {if g.children.is_empty() { view! { <p class="text-sm text-slate-500">"No child teams."</p> }.into_any() } else { view! { <ul class="mt-2 text-sm">{children}</ul> }.into_any() }}
            </div>
        </section>
        <section class="mt-6" aria-label="Owned entities">
            <h2 class="mb-2 font-semibold">{format!("Owned entities ({})", g.owned.len())}</h2>
            {if g.owned.is_empty() { view! { <p class="text-sm text-slate-500">"This team owns nothing in the catalog yet."</p> }.into_any() } else { view! { <EntityTable items=g.owned/> }.into_any() }}
        </section>
    }
}
