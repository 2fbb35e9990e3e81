//! Previous/next page links with a "showing x–y of n" summary.

use leptos::prelude::*;

/// Page links; `href(page)` builds the address of a page (1-based).
#[component]
pub fn Pagination(page: i64, per_page: i64, total: i64, href: impl Fn(i64) -> String + 'static) -> impl IntoView {
    let pages = ((total + per_page - 1) / per_page).max(1);
    let first = if total == 0 { 0 } else { (page - 1) * per_page + 1 };
    let last = (page * per_page).min(total);
    let link = "rounded border border-slate-300 bg-white px-3 py-1 text-sm hover:bg-slate-50";
    view! {
        <nav aria-label="Pagination" class="mt-4 flex items-center justify-between text-sm text-slate-600">
            <span data-test-range="">{format!("Showing {first}–{last} of {total}")}</span>
            <span class="flex items-center gap-2">
                {(page > 1).then(|| view! { <a href=href(page - 1) class=link rel="prev">"← Previous"</a> })}
                <span>{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=href(page + 1) class=link rel="next">"Next →"</a> })}
            </span>
        </nav>
    }
}
