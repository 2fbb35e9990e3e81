//! Small labels: kinds, lifecycles and orphaned entities; Kuma statuses, certificate states and
//! edge classes.

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

/// Kuma's status as a coloured label.
#[component]
pub fn MeshStatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let (color, label) = match status.as_str() {
        "online" => ("bg-green-50 text-green-700", "online"),
        "offline" => ("bg-red-100 text-red-800", "offline"),
        "partially_degraded" => ("bg-amber-100 text-amber-800", "partially degraded"),
        "not_available" => ("bg-slate-100 text-slate-600", "not available"),
        _ => ("bg-slate-100 text-slate-600", "unknown"),
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {color}") data-test-mesh-status=status.clone()>{label}</span> }
}

/// A certificate's state as a label.
#[component]
pub fn CertBadge(#[prop(into)] state: String) -> impl IntoView {
    let (color, label) = match state.as_str() {
        "valid" => ("bg-green-50 text-green-700", "valid"),
        "expires_soon" => ("bg-amber-100 text-amber-800", "expires soon"),
        "expired" => ("bg-red-100 text-red-800", "expired"),
        "managed_externally" => ("bg-slate-100 text-slate-600", "managed externally"),
        _ => ("bg-slate-100 text-slate-600", "no mTLS"),
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs {color}") data-test-cert=state.clone()>{label}</span> }
}

/// An edge's class (see [`crate::policy::CLASSES`]) as a coloured label; its meaning on hover.
/// Colours are classes, not inline styles: the pages' Content-Security-Policy refuses those.
#[component]
pub fn ClassBadge(#[prop(into)] class: String) -> impl IntoView {
    let color = match class.as_str() {
        "declared_denied" => "bg-red-100 text-red-800",
        "denied_unknown" => "bg-orange-100 text-orange-800",
        "will_break" => "bg-rose-100 text-rose-800",
        "shadow_denied" => "bg-purple-100 text-purple-800",
        "undeclared" => "bg-amber-100 text-amber-800",
        "over_permitted" => "bg-yellow-100 text-yellow-800",
        "unused_grant" => "bg-slate-100 text-slate-700",
        "healthy" => "bg-green-50 text-green-700",
        _ => "bg-slate-100 text-slate-600",
    };
    view! {
        <span class=format!("whitespace-nowrap rounded px-1.5 py-0.5 text-xs font-medium {color}")
            title=crate::policy::class_meaning(&class) data-test-class-badge=class.clone()>
            {crate::policy::class_label(&class)}
        </span>
    }
}
