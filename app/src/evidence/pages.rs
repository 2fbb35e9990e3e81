//! `/evidence`: auditors and admins choose a period (and a sampling seed) and download the
//! bundle; the page shows the signing key's fingerprint to compare out of band, and the latest
//! exports from the audit log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::EvidenceOverview;
use crate::error::{error_fallback, AppError};
use crate::ui::{EmptyState, Loading};

/// The signing key and the latest exports (admins and auditors).
#[server(prefix = "/api/fn", endpoint = "get_evidence_overview")]
pub async fn get_evidence_overview() -> Result<EvidenceOverview, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::overview(&ctx, &caller).await }).await
}

/// The evidence page. The form is a plain GET to the export API, so the browser downloads the
/// zip as it streams (and the form works without JavaScript).
#[component]
pub fn EvidencePage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_evidence_overview());
    let query = use_query_map();
    let value = move |name: &'static str| query.read().get(name).unwrap_or_default();
    let input = "rounded border border-slate-300 px-2 py-1";
    view! {
        <Title text="Evidence"/>
        <h1 class="mb-2 text-2xl font-semibold">"Evidence for auditors"</h1>
        <p class="mb-4 max-w-3xl text-sm text-slate-600">
            "A zip of the period's populations, changes, mesh state, exceptions, samples and audit log, "
            "as of the period's end. Every file is listed in SHA256SUMS, which is signed with the audit "
            "key; VERIFY.md in the zip gives the commands to check it with sha256sum, openssl and python3."
        </p>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    overview.await.map(|o| {
                        let recent = o.recent.clone();
                        view! {
                            <form method="GET" action="/api/v1/evidence" class="mb-6 flex flex-wrap items-end gap-3" data-test="evidence-form">
                                <label class="flex flex-col text-sm">"From (included)"
                                    <input type="date" name="from" required value=move || value("from") class=input/>
                                </label>
                                <label class="flex flex-col text-sm">"To (excluded)"
                                    <input type="date" name="to" required value=move || value("to") class=input/>
                                </label>
                                <label class="flex flex-col text-sm">"Sampling seed (optional)"
                                    <input type="text" name="sample_seed" maxlength="128" value=move || value("sample_seed") class=input
                                        placeholder="chosen by the auditor"/>
                                </label>
                                <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Download bundle"</button>
                            </form>
                            <div class="mb-6 rounded bg-slate-50 px-3 py-2 text-sm">
                                <p>"Signing key " <code data-test="evidence-key-id">{o.key_id.clone()}</code>
                                   ", SHA-256 fingerprint of the public key:"</p>
                                <p class="break-all"><code data-test="evidence-fingerprint">{o.fingerprint.clone()}</code></p>
                                <p class="mt-1 text-slate-600">"Compare it with the one your organisation gave you out of band, and with "
                                   <code>"signing-key.pub.pem"</code>" in the bundle."</p>
                            </div>
                            <h2 class="mb-2 text-lg font-semibold">"Latest exports"</h2>
                            {if recent.is_empty() {
                                view! { <EmptyState title="No export yet" hint="Every export is recorded in the audit log and listed here."><span></span></EmptyState> }.into_any()
                            } else {
                                view! {
                                    <table class="w-full text-sm" data-test="evidence-recent">
                                        <thead><tr class="text-left text-slate-500">
                                            <th class="px-2 py-1">"When"</th><th class="px-2 py-1">"Who"</th>
                                            <th class="px-2 py-1">"Period"</th><th class="px-2 py-1">"Seed"</th>
                                        </tr></thead>
                                        <tbody>
                                            {recent.into_iter().map(|e| view! {
                                                <tr class="border-t border-slate-100">
                                                    <td class="px-2 py-1">{e.at}</td>
                                                    <td class="px-2 py-1 break-all">{e.actor}</td>
                                                    <td class="px-2 py-1">{format!("{} to {}", e.from, e.to)}</td>
                                                    <td class="px-2 py-1 break-all">{e.sample_seed.unwrap_or_else(|| "(the period)".into())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
