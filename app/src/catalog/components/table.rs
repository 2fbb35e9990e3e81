//! The entity table of list pages, team pages and the home page.

use leptos::prelude::*;

use crate::catalog::{ref_href, split_ref, EntitySummary};
use crate::ui::{KindBadge, LifecycleBadge, OrphanBadge};

/// The catalog table: name, kind, type, owner, lifecycle, description.
#[component]
pub fn EntityTable(items: Vec<EntitySummary>) -> impl IntoView {
    let rows = items
        .into_iter()
        .map(|e| {
            let owner = e.owner.clone().map(|o| {
                let label = split_ref(&o).map(|(_, _, n)| n.to_owned()).unwrap_or_else(|| o.clone());
                let href = ref_href(&o);
                view! { <a href=href class="text-indigo-700 hover:underline">{label}</a> }
            });
            let href = e.href();
            let display = e.display_name().to_owned();
            let subtitle = e.title.is_some().then(|| e.name.clone());
            let description = e.description.clone().unwrap_or_default();
            let description_title = description.clone();
            let EntitySummary {
                entity_ref,
                kind,
                entity_type,
                lifecycle,
                orphaned,
                ..
            } = e;
            view! {
                <tr class="border-t border-slate-100 hover:bg-slate-50" data-test-entity-row=entity_ref>
                    <td class="px-3 py-2">
                        <a href=href class="font-medium text-indigo-700 hover:underline">{display}</a>
                        {subtitle.map(|n| view! { <span class="ml-1 text-xs text-slate-400">{n}</span> })}
                        {orphaned.then(|| view! { <span class="ml-2"><OrphanBadge/></span> })}
                    </td>
                    <td class="px-3 py-2"><KindBadge kind=kind/></td>
                    <td class="px-3 py-2 text-sm text-slate-600">{entity_type.unwrap_or_default()}</td>
                    <td class="px-3 py-2 text-sm">{owner}</td>
                    <td class="px-3 py-2">{lifecycle.map(|l| view! { <LifecycleBadge lifecycle=l/> })}</td>
                    <td class="max-w-md truncate px-3 py-2 text-sm text-slate-600" title=description_title>
                        {description}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="w-full text-left">
                <thead class="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Name"</th>
                        <th scope="col" class="px-3 py-2">"Kind"</th>
                        <th scope="col" class="px-3 py-2">"Type"</th>
                        <th scope="col" class="px-3 py-2">"Owner"</th>
                        <th scope="col" class="px-3 py-2">"Lifecycle"</th>
                        <th scope="col" class="px-3 py-2">"Description"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
