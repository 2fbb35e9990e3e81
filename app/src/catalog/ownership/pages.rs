//! `/transfers`: pending transfers to and from the caller's teams, to accept or reject.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{get_transfers, DecideTransfer};
use crate::auth::api::get_me;
use crate::catalog::ref_href;
use crate::error::error_fallback;
use crate::ui::{EmptyState, Loading};

/// The pending transfers page.
#[component]
pub fn TransfersPage() -> impl IntoView {
    let decide = ServerAction::<DecideTransfer>::new();
    let transfers = Resource::new(move || decide.version().get(), |_| get_transfers());
    let me = Resource::new(|| (), |_| get_me());
    let cell = "border-b border-slate-100 px-2 py-1.5 text-left align-top";
    view! {
        <Title text="Transfers"/>
        <h1 class="mb-4 text-2xl font-semibold">"Pending transfers"</h1>
        {move || decide.value().get().map(|r| match r {
            Ok(t) => view! { <p role="status" class="mb-3 text-sm text-emerald-800">{format!("Transfer of {} {}.", t.entity, t.status)}</p> }.into_any(),
            Err(e) => view! { <p role="alert" class="mb-3 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
        })}
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let me = me.await?.ok_or(crate::error::AppError::Unauthenticated)?;
                    transfers.await.map(|list| {
                        if list.is_empty() {
                            return view! { <EmptyState title="No pending transfers" hint="Transfers to or from your teams appear here."><span></span></EmptyState> }.into_any();
                        }
                        view! {
                            <table class="w-full text-sm" data-test="transfers">
                                <thead><tr>
                                    <th class=cell>"Entity"</th><th class=cell>"From"</th><th class=cell>"To"</th>
                                    <th class=cell>"Reason"</th><th class=cell>"Requested by"</th><th class=cell></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| {
                                        let may_decide = me.is_admin() || me.leads(&t.to);
                                        view! {
                                            <tr data-test-transfer=t.entity.clone()>
                                                <td class=cell><a class="text-indigo-700 hover:underline" href=ref_href(&t.entity)>{t.entity.clone()}</a></td>
                                                <td class=cell>{t.from.clone().unwrap_or_default()}</td>
                                                <td class=cell>{t.to.clone()}</td>
                                                <td class=cell>{t.reason.clone()}</td>
                                                <td class=cell>{t.requested_by.clone()}<br/><span class="text-xs text-slate-500">{t.created_at.clone()}</span></td>
                                                <td class=cell>
                                                    {may_decide.then(|| view! {
                                                        <div class="flex gap-2">
                                                            <ActionForm action=decide>
                                                                <input type="hidden" name="id" value=t.id/>
                                                                <input type="hidden" name="accept" value="true"/>
                                                                <button class="rounded bg-emerald-600 px-2 py-1 text-white">"Accept"</button>
                                                            </ActionForm>
                                                            <ActionForm action=decide>
                                                                <input type="hidden" name="id" value=t.id/>
                                                                <input type="hidden" name="accept" value="false"/>
                                                                <button class="rounded border border-slate-300 px-2 py-1">"Reject"</button>
                                                            </ActionForm>
                                                        </div>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
