//! Components shared by every domain: page layout, pagination, empty states, badges.

mod badges;
mod escape;
mod layout;
mod pagination;

pub use badges::{CertBadge, ClassBadge, KindBadge, LifecycleBadge, MeshStatusBadge, OrphanBadge};
pub use escape::raw_text;
pub use layout::Layout;
pub use pagination::Pagination;

use leptos::prelude::*;

/// A friendly "nothing here" panel with a hint of what to do next.
#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] hint: String, children: Children) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center" data-test-empty="">
            <h2 class="text-lg font-medium">{title}</h2>
            <p class="mt-1 text-slate-600">{hint}</p>
            <div class="mt-4">{children()}</div>
        </div>
    }
}

/// Skeleton lines shown while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="animate-pulse space-y-3 py-4" aria-busy="true" aria-label="Loading">
            <div class="h-4 w-1/3 rounded bg-slate-200"></div>
            <div class="h-4 w-2/3 rounded bg-slate-200"></div>
            <div class="h-4 w-1/2 rounded bg-slate-200"></div>
        </div>
    }
}

/// Builds `path?k=v&...` from pairs, skipping empty values, with proper encoding.
pub fn href_with(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            ser.append_pair(k, v);
        }
    }
    let qs = ser.finish();
    if qs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{qs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn href_encodes_and_skips_empty() {
        assert_eq!(
            href_with(
                "/catalog",
                &[
                    ("kind", Some("component".into())),
                    ("q", Some("a b&c".into())),
                    ("tag", None),
                    ("x", Some(String::new()))
                ]
            ),
            "/catalog?kind=component&q=a+b%26c"
        );
        assert_eq!(href_with("/catalog", &[]), "/catalog");
    }
}
