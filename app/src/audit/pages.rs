//! `/audit`: the audit log with filters, and the chain's verification status.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{get_audit, get_chain_status};
use super::AuditQuery;
use crate::error::error_fallback;
use crate::ui::{href_with, EmptyState, Loading};

/// The audit page (admins and auditors; others get 403 from the server functions).
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        AuditQuery {
            from: q.get("from"),
            to: q.get("to"),
            actor: q.get("actor"),
            action: q.get("action"),
            target: q.get("target"),
            limit: q.get("limit").and_then(|l| l.parse().ok()),
            cursor: q.get("cursor"),
        }
    };
    let entries = Resource::new(params, get_audit);
    let status = Resource::new(|| (), |_| get_chain_status());
    let cell = "border-b border-slate-100 px-2 py-1.5 text-left align-top";
    let field = move |name: &'static str, label: &'static str, kind: &'static str| {
        view! {
            <label class="flex flex-col text-sm">{label}
                <input type=kind name=name value=move || query.read().get(name).unwrap_or_default() class="rounded border border-slate-300 px-2 py-1"/>
            </label>
        }
    };
    view! {
        <Title text="Audit log"/>
        <h1 class="mb-4 text-2xl font-semibold">"Audit log"</h1>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    status.await.map(|s| {
                        let (class, text) = if s.ok {
                            ("bg-emerald-50 text-emerald-900", format!(
                                "Chain verified: {} entries, head {}:{}, {} signed checkpoints (last at row {}).",
                                s.entries, s.head_seq, s.head_hash, s.checkpoints_verified,
                                s.last_checkpoint_seq.map(|c| c.to_string()).unwrap_or_else(|| "none yet".into())))
                        } else {
                            ("bg-red-50 text-red-900", format!("Chain does NOT verify: {}", s.problem.unwrap_or_default()))
                        };
                        view! {
                            <div class=format!("mb-4 rounded px-3 py-2 text-sm {class}")>
                                <p role="status" data-test="chain-status" data-ok=s.ok.to_string()>{text}</p>
                                <p class="mt-1 break-all">
                                    "Checkpoints checked with this server's signing key, SHA-256 fingerprint "
                                    <code data-test="key-fingerprint">{s.key_fingerprint}</code>
                                    ". An auditor checks with a copy of the public key held elsewhere: "
                                    <code>"bearing audit verify --public-key FILE --expect-head SEQ:HASH"</code>
                                </p>
                            </div>
                        }
                    })
                })}
                <form method="GET" action="/audit" class="mb-4 flex flex-wrap items-end gap-2">
                    {field("from", "From", "date")}
                    {field("to", "To", "date")}
                    {field("actor", "Actor", "text")}
                    {field("action", "Action", "text")}
                    {field("target", "Target", "text")}
                    <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Filter"</button>
                </form>
                {move || Suspend::new(async move {
                    entries.await.map(|page| {
                        if page.items.is_empty() {
                            return view! { <EmptyState title="No audit entries match" hint="Widen the filters."><span></span></EmptyState> }.into_any();
                        }
                        let next = page.next_cursor.map(|c| {
                            let q = params();
                            href_with("/audit", &[("from", q.from), ("to", q.to), ("actor", q.actor), ("action", q.action), ("target", q.target), ("cursor", Some(c))])
                        });
                        view! {
                            <table class="w-full text-sm" data-test="audit-entries">
                                <thead><tr>
                                    <th class=cell>"#"</th><th class=cell>"Time"</th><th class=cell>"Actor"</th><th class=cell>"Action"</th>
                                    <th class=cell>"Target"</th><th class=cell>"Change"</th><th class=cell>"Reason"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|e| view! {
                                        <tr data-test-action=e.action.clone() data-test-seq=e.seq>
                                            <td class=cell>{e.seq}</td>
                                            <td class=cell>{e.at}</td>
                                            <td class=cell>
                                                {e.actor_display.map(|d| view! { <span class="font-medium" data-test="actor-display">{d}</span><br/> })}
                                                <span class="break-all">{e.actor}</span><br/><span class="text-xs text-slate-500">{e.client_addr.unwrap_or_default()}</span>
                                            </td>
                                            <td class=cell><code>{e.action.clone()}</code></td>
                                            <td class=cell>{e.target.unwrap_or_default()}</td>
                                            <td class="border-b border-slate-100 px-2 py-1.5 align-top font-mono text-xs">
                                                {e.before.map(|b| format!("before: {b}"))}<br/>{e.after.map(|a| format!("after: {a}"))}
                                            </td>
                                            <td class=cell>{e.reason.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|href| view! { <a href=href class="mt-3 inline-block text-indigo-700 hover:underline">"Older entries →"</a> })}
                        }.into_any()
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
