//! The entity page's edit panel (for the owning team's lead and admins) and the notice that a
//! field was edited in Bearing while the source file says otherwise.

use leptos::prelude::*;

use super::api::{DecideTransfer, EditEntity, TransferEntity};
use super::EditState;
use crate::catalog::{ref_href, LinkView};

/// Overrides, the pending transfer, and (when allowed) the edit and transfer forms, filled with
/// the entity's current lifecycle, description and links.
#[component]
pub fn EditPanel(
    state: EditState,
    /// The entity's reference key.
    entity_ref: String,
    lifecycle: Option<String>,
    description: Option<String>,
    links: Vec<LinkView>,
    edit: ServerAction<EditEntity>,
    transfer: ServerAction<TransferEntity>,
    decide: ServerAction<DecideTransfer>,
) -> impl IntoView {
    let key = entity_ref;
    let input = "rounded border border-slate-300 px-2 py-1";
    let overrides = state
        .overrides
        .into_iter()
        .map(|o| {
            view! {
                <li class="rounded border border-amber-200 bg-amber-50 p-3 text-sm" data-test-override=o.field.clone()>
                    <p>
                        <strong>{o.field.clone()}</strong>" edited in Bearing to "<strong>{o.value}</strong>
                        " by "{o.edited_by}"; the source says "<strong>{o.source_value}</strong>"."
                    </p>
                    <p class="mt-1 text-slate-600">
                        "To make it permanent, put this in "{o.source.unwrap_or_else(|| "the source file".into())}":"
                    </p>
                    <pre class="mt-1 overflow-x-auto rounded bg-white p-2 text-xs">{o.yaml}</pre>
                </li>
            }
        })
        .collect_view();
    let pending = state.pending_transfer.map(|t| view! {
        <div class="rounded border border-indigo-200 bg-indigo-50 p-3 text-sm" data-test="pending-transfer">
            "Transfer to "<a class="text-indigo-700 underline" href=ref_href(&t.to)>{t.to.clone()}</a>
            " requested by "{t.requested_by.clone()}": “"{t.reason.clone()}"”. The receiving team's lead accepts or rejects it "
            <a class="text-indigo-700 underline" href="/transfers">"on the transfers page"</a>"."
            <ActionForm action=decide attr:class="mt-2 inline-flex gap-2">
                <input type="hidden" name="id" value=t.id/>
                <input type="hidden" name="accept" value="false"/>
                <button class="rounded border border-slate-300 bg-white px-2 py-1">"Reject"</button>
            </ActionForm>
        </div>
    });
    let teams = state.teams.clone();
    let forms = state.can_edit.then(|| {
        let links_text = links
            .iter()
            .map(|l| match &l.title {
                Some(t) => format!("{} {t}", l.url),
                None => l.url.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let transfer_key = key.clone();
        let transfer_form = state.can_transfer.then(|| view! {
            <ActionForm action=transfer attr:class="space-y-2" attr:data-test="transfer-form">
                <h3 class="font-semibold">"Move to another team"</h3>
                <input type="hidden" name="entity" value=transfer_key/>
                <label class="flex flex-col text-sm">"New owner"
                    <select name="to" class=input required>
                        {teams.iter().map(|(k, t)| view! { <option value=k.clone()>{format!("{t} ({k})")}</option> }).collect_view()}
                    </select>
                </label>
                <label class="flex flex-col text-sm">"Reason (required)"
                    <input name="reason" required class=input/>
                </label>
                <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">
                    {if state.transfers_directly { "Transfer now" } else { "Request transfer" }}
                </button>
            </ActionForm>
        });
        view! {
            <div class="grid gap-6 lg:grid-cols-2">
                <ActionForm action=edit attr:class="space-y-2" attr:data-test="edit-form">
                    <h3 class="font-semibold">"Edit"</h3>
                    <input type="hidden" name="entity" value=key.clone()/>
                    <label class="flex flex-col text-sm">"Lifecycle"
                        <input name="lifecycle" required class=input value=lifecycle.unwrap_or_default()/>
                    </label>
                    <label class="flex flex-col text-sm">"Description"
                        <textarea name="description" rows="3" class=input>{crate::ui::raw_text(description.unwrap_or_default())}</textarea>
                    </label>
                    <label class="flex flex-col text-sm">"Links (one per line: URL, then an optional title)"
                        <textarea name="links" rows="3" class=input>{crate::ui::raw_text(links_text)}</textarea>
                    </label>
                    <label class="flex flex-col text-sm">"Reason (optional)"<input name="reason" class=input/></label>
                    <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Save"</button>
                    {move || edit.value().get().map(|r| match r {
                        Ok(()) => view! { <p role="status" class="text-sm text-emerald-800">"Saved."</p> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                    })}
                </ActionForm>
                {transfer_form}
            </div>
        }
    });
    // Outside the forms: a pending request replaces the transfer form, and the message must stay.
    let transfer_result = move || {
        transfer.value().get().map(|r| match r {
        Ok(o) if o.applied => view! { <p role="status" class="text-sm text-emerald-800">"Transferred."</p> }.into_any(),
        Ok(_) => view! { <p role="status" class="text-sm text-emerald-800" data-test="transfer-requested">"Requested; waiting for the receiving lead."</p> }.into_any(),
        Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
    })
    };
    let has_any =
        forms.is_some() || pending.is_some() || !overrides.is_empty() || transfer.value().get_untracked().is_some();
    has_any.then(|| view! {
        <section class="mt-6 space-y-4 rounded-lg border border-slate-200 bg-white p-4" aria-label="Ownership and edits" data-test="edit-panel">
            {transfer_result}
            <ul class="space-y-2">{overrides}</ul>
            {pending}
            {forms}
        </section>
    })
}
