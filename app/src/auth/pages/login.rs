//! `/login`: sign in through the identity provider.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::get_login_info;
use crate::error::error_fallback;
use crate::ui::{href_with, Loading};

/// `/login`: sign in through the identity provider; lists the demo users of the development
/// provider. `return_to` is passed on (the server accepts only local paths).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let return_to = move || query.read().get("return_to").unwrap_or_else(|| "/".into());
    let failed = move || query.read().get("error");
    let info = Resource::new(|| (), |_| get_login_info());
    view! {
        <Title text="Sign in"/>
        <section class="mx-auto max-w-md rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
            <h1 class="text-2xl font-semibold">"Sign in to Bearing"</h1>
            {move || failed().map(|e| view! {
                <p role="alert" class="mt-4 rounded bg-red-50 px-3 py-2 text-sm text-red-800" data-test="login-error">
                    {format!("Sign-in did not complete ({e}). Try again.")}
                </p>
            })}
            <Suspense fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        info.await.map(|info| {
                            if !info.provider_ready {
                                return view! {
                                    <p role="alert" class="mt-4 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900" data-test="provider-unavailable">
                                        "The identity provider is unavailable right now"
                                        {info.issuer.map(|i| format!(" ({i})"))}
                                        ". Bearing keeps trying; reload this page in a moment."
                                    </p>
                                }.into_any();
                            }
                            let users = info.dev_users.into_iter().map(|u| {
                                let href = href_with("/auth/login", &[("return_to", Some(return_to())), ("login_hint", Some(u.login.clone()))]);
                                view! {
                                    <li>
                                        <a href=href rel="external" class="flex justify-between rounded border border-slate-200 px-3 py-2 hover:border-indigo-300" data-test-dev-user=u.login.clone()>
                                            <span class="font-medium">{u.name}</span>
                                            <span class="text-sm text-slate-500">{u.role_hint}</span>
                                        </a>
                                    </li>
                                }
                            }).collect_view();
                            view! {
                                <a href=href_with("/auth/login", &[("return_to", Some(return_to()))]) rel="external"
                                    class="mt-6 block rounded bg-indigo-600 px-4 py-2 text-center font-medium text-white hover:bg-indigo-700">
                                    "Sign in with your identity provider"
                                </a>
                                {(!users.is_empty()).then(|| view! {
                                    <h2 class="mt-8 text-sm font-semibold uppercase tracking-wide text-slate-500">"Development identity provider: demo users"</h2>
                                    <ul class="mt-2 space-y-2">{users}</ul>
                                })}
                            }.into_any()
                        })
                    })}
                </ErrorBoundary>
            </Suspense>
        </section>
    }
}
