//! Small labels for kinds, lifecycles and orphaned entities.

use leptos::prelude::*;

/// The entity kind as a coloured label.
#[component]
pub fn KindBadge(#[prop(into)] kind: String) -> impl IntoView {
    let color = match kind.as_str() {
        "component" => "bg-indigo-50 text-indigo-700",
        "api" => "bg-emerald-50 text-emerald-700",
        "system" => "bg-amber-50 text-amber-800",
        "domain" => "bg-orange-50 text-orange-800",
        "resource" => "bg-sky-50 text-sky-700",
        "group" => "bg-fuchsia-50 text-fuchsia-700",
        "user" => "bg-slate-100 text-slate-700",
        _ => "bg-slate-100 text-slate-600",
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {color}")>{kind}</span> }
}

/// The lifecycle, with production neutral and the others highlighted.
#[component]
pub fn LifecycleBadge(#[prop(into)] lifecycle: String) -> impl IntoView {
    let color = match lifecycle.as_str() {
        "production" => "bg-green-50 text-green-700",
        "experimental" => "bg-yellow-50 text-yellow-800",
        "deprecated" => "bg-red-50 text-red-700",
        _ => "bg-slate-100 text-slate-600",
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs {color}")>{lifecycle}</span> }
}

/// Marks an entity that disappeared from its source.
#[component]
pub fn OrphanBadge() -> impl IntoView {
    view! {
        <span class="rounded bg-red-100 px-1.5 py-0.5 text-xs font-medium text-red-800" data-test-orphan=""
            title="This entity is no longer in the source it was imported from">"orphaned"</span>
    }
}
