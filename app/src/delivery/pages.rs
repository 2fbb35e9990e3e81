//! `/delivery`: the latest failed runs and deployments across teams (or of one team), and the
//! team page's "Recent failures" section built from the same overview.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::get_delivery_overview;
use super::components::{deployment_row, run_row};
use super::DeliveryOverview;
use crate::error::{error_fallback, AppError};
use crate::ui::Loading;

const RUN_HEAD: [&str; 6] = ["Status", "Job", "Started", "Duration", "Sent by", "Error"];
const DEPLOYMENT_HEAD: [&str; 5] = ["What", "Environment", "Artifact", "When", "Sent by"];

fn head(columns: &[&'static str]) -> impl IntoView {
    view! {
        <thead class="text-xs uppercase text-slate-500">
            <tr>{columns.iter().map(|c| view! { <th class="pr-3 text-left">{*c}</th> }).collect_view()}</tr>
        </thead>
    }
}

fn failures_table(o: &DeliveryOverview) -> AnyView {
    if o.failures.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-test="no-failures">"No failed runs reported."</p> }
            .into_any();
    }
    view! {
        <table class="w-full text-sm" data-test="recent-failures">
            {head(&RUN_HEAD)}
            <tbody>{o.failures.clone().into_iter().map(run_row).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

fn deployments_table(o: &DeliveryOverview) -> AnyView {
    if o.deployments.is_empty() {
        return view! { <p class="text-sm text-slate-500">"No deployments reported."</p> }.into_any();
    }
    view! {
        <table class="w-full text-sm" data-test="recent-deployments">
            {head(&DEPLOYMENT_HEAD)}
            <tbody>{o.deployments.clone().into_iter().map(deployment_row).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// `/delivery?team=`: what broke and what shipped lately.
#[component]
pub fn DeliveryPage() -> impl IntoView {
    let query = use_query_map();
    let team = move || query.read().get("team").filter(|t| !t.is_empty());
    let overview = Resource::new(team, get_delivery_overview);
    view! {
        <Title text="Delivery"/>
        <h1 class="text-2xl font-semibold">"Delivery"</h1>
        <p class="mt-1 text-sm text-slate-600">"Failed runs and deployments reported by pipelines (OpenLineage, CDEvents), newest first."</p>
        <form method="get" action="/delivery" class="mt-3 flex items-end gap-2 text-sm">
            <label class="flex flex-col">"Team"
                <input name="team" class="rounded border px-2 py-1" placeholder="team-data" value=team/>
            </label>
            <button class="rounded bg-indigo-600 px-3 py-1.5 text-white">"Show"</button>
        </form>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    overview.await.map(|o| view! {
                        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="failures-h">
                            <h2 id="failures-h" class="mb-2 font-semibold">"Recent failures"</h2>
                            {failures_table(&o)}
                        </section>
                        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="deployments-h">
                            <h2 id="deployments-h" class="mb-2 font-semibold">"Recent deployments"</h2>
                            {deployments_table(&o)}
                        </section>
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// A team page's recent failed runs of its components.
#[component]
pub fn TeamFailuresSection(overview: Resource<Result<Option<DeliveryOverview>, AppError>>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="team-failures-h" data-test="team-failures">
            <div class="flex items-center justify-between">
                <h2 id="team-failures-h" class="font-semibold">"Recent failures"</h2>
                {move || overview.get().and_then(Result::ok).flatten().and_then(|o| o.team).map(|t| view! {
                    <a class="text-sm text-indigo-700 hover:underline" href=crate::ui::href_with("/delivery", &[("team", Some(t))])>"All delivery"</a>
                })}
            </div>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { overview.await.map(|o| o.map(|o| failures_table(&o))) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
