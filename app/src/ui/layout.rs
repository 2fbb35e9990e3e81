//! The frame around every page: header with navigation and search, main area, footer.

use leptos::prelude::*;
use leptos_router::components::{Form, A};

use crate::auth::api::{get_me, get_my_rights};
use crate::auth::Role;

/// Header, skip link and main content area.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
            "Skip to content"
        </a>
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-7xl items-center gap-6 px-6 py-3">
                <A href="/" attr:class="flex items-center gap-2 text-lg font-semibold text-indigo-700">
                    <span aria-hidden="true">"⎈"</span>"Bearing"
                </A>
                <nav aria-label="Main" class="flex gap-4 text-sm">
                    <A href="/catalog" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">"Catalog"</A>
                    <A href="/catalog?kind=group&type=team" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100">"Teams"</A>
                    <A href="/catalog?kind=api" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100">"APIs"</A>
                    <A href="/mesh" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">"Mesh"</A>
                    <A href="/graph" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">"Map"</A>
                    <A href="/scorecards" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">"Scorecards"</A>
                    <A href="/delivery" attr:class="rounded px-2 py-1 text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">"Delivery"</A>
                </nav>
                <Form method="GET" action="/search" attr:class="ml-auto" attr:role="search">
                    <label for="site-search" class="sr-only">"Search the catalog"</label>
                    <input id="site-search" type="search" name="q" placeholder="Search the catalog…"
                        class="w-72 rounded border border-slate-300 px-3 py-1.5 text-sm"/>
                </Form>
                <UserMenu/>
            </div>
        </header>
        <main id="main" class="mx-auto max-w-7xl px-6 py-6">{children()}</main>
        <footer class="mx-auto max-w-7xl px-6 py-8 text-xs text-slate-400">"Bearing — the service catalog wired to your mesh."</footer>
    }
}

/// The signed-in user's role-specific links, name and sign-out; or a sign-in link.
///
/// The server renders only what follows from the caller's rights, so that the page can be
/// shared by everyone with the same rights (`server::page_cache`); the name is fetched by the
/// browser once the page is live. (Without JavaScript the header shows no name; everything
/// else works.)
#[component]
fn UserMenu() -> impl IntoView {
    let rights = Resource::new(|| (), |_| get_my_rights());
    // Asked for by the browser once the page is live (effects never run on the server), so no
    // rendered page carries it. Made here, outside the suspense below, so that it outlives the
    // views the suspense remakes.
    let name = RwSignal::new(String::new());
    Effect::new(move |_| {
        // Only when signed in: an anonymous call is refused where signing in is required.
        if matches!(rights.get(), Some(Ok(Some(_)))) {
            leptos::task::spawn_local(async move {
                if let Ok(Some(me)) = get_me().await {
                    name.set(me.name);
                }
            });
        }
    });
    let link = "rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100";
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // Without knowing who is asking, offer sign-in; the page is not kept then.
                let rights = rights.await.unwrap_or_else(|_| {
                    crate::error::mark_not_cacheable();
                    None
                });
                match rights {
                    Some(rights) => view! {
                        <nav aria-label="Account" class="flex items-center gap-2">
                            {rights.can_read_audit().then(|| view! { <a href="/audit" class=link>"Audit"</a> })}
                            {rights.can_read_audit().then(|| view! { <a href="/evidence" class=link>"Evidence"</a> })}
                            {rights.has(Role::Lead).then(|| view! { <a href="/transfers" class=link>"Transfers"</a> })}
                            {(rights.can_read_audit() || rights.has(Role::Lead)).then(|| view! { <a href="/access-reviews" class=link>"Access reviews"</a> })}
                            {rights.is_admin().then(|| view! { <a href="/admin" class=link>"Admin"</a> })}
                            <span class="text-sm text-slate-600" data-test="user-name">{move || name.get()}</span>
                            <form method="post" action="/auth/logout">
                                <button class=link data-test="logout">"Sign out"</button>
                            </form>
                        </nav>
                    }.into_any(),
                    None => view! { <a href="/login" class=link>"Sign in"</a> }.into_any(),
                }
            })}
        </Suspense>
    }
}
