//! Tables and forms of the access-review pages.

use leptos::prelude::*;

use super::api::{DecideReviewEntry, LiftRoleOverride};
use super::{review_href, ReviewEntry, ReviewSummary, RoleOverrideView, ServiceAccess};

const CELL: &str = "border-b border-slate-100 px-2 py-1.5 text-left align-top";
const INPUT: &str = "rounded border border-slate-300 px-2 py-1";

/// Reviews with their progress.
#[component]
pub fn ReviewsTable(reviews: Vec<ReviewSummary>) -> impl IntoView {
    view! {
        <table class="w-full text-sm" data-test="reviews">
            <caption class="sr-only">"Open and past access reviews"</caption>
            <thead><tr>
                <th scope="col" class=CELL>"Review"</th><th scope="col" class=CELL>"Scope"</th>
                <th scope="col" class=CELL>"Status"</th><th scope="col" class=CELL>"Due"</th>
                <th scope="col" class=CELL>"Progress"</th><th scope="col" class=CELL>"Opened"</th>
                <th scope="col" class=CELL>"Closed"</th>
            </tr></thead>
            <tbody>
                {reviews.into_iter().map(|r| {
                    let label = format!("{} of {} decided", r.decided, r.entries);
                    view! {
                        <tr data-test-review=r.id>
                            <td class=CELL><a class="text-indigo-700 hover:underline" href=review_href(r.id)>{format!("Review {}", r.id)}</a></td>
                            <td class=CELL>{r.scope.clone()}</td>
                            <td class=CELL>{r.status.clone()}</td>
                            <td class=CELL>{r.due_on.clone()}{r.overdue.then(|| view! { <span class="ml-1 rounded bg-amber-100 px-1 text-xs text-amber-900">"overdue"</span> })}</td>
                            <td class=CELL>
                                <progress class="mr-2 align-middle" max=r.entries.max(1) value=r.decided aria-label=label.clone()></progress>
                                {label.clone()}{(r.revoked > 0).then(|| format!(", {} revoked", r.revoked))}
                            </td>
                            <td class=CELL>{r.opened_by.clone()}<br/><span class="text-xs text-slate-500">{r.opened_at.clone()}</span></td>
                            <td class=CELL>{r.closed_at.clone().unwrap_or_default()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Entries under one reviewer heading; each undecided entry the caller may decide has a form.
#[component]
pub fn EntryGroup(
    title: String,
    entries: Vec<ReviewEntry>,
    decide: ServerAction<DecideReviewEntry>,
    review: i64,
) -> impl IntoView {
    view! {
        <section class="mt-6" aria-label=title.clone()>
            <h2 class="mb-2 text-lg font-semibold">{title.clone()}</h2>
            <table class="w-full text-sm" data-test="entries">
                <thead><tr>
                    <th scope="col" class=CELL>"Who"</th><th scope="col" class=CELL>"Role"</th>
                    <th scope="col" class=CELL>"Granted via"</th><th scope="col" class=CELL>"Last seen"</th>
                    <th scope="col" class=CELL>"Decision"</th>
                </tr></thead>
                <tbody>
                    {entries.into_iter().map(|e| view! { <EntryRow e decide review/> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn EntryRow(e: ReviewEntry, decide: ServerAction<DecideReviewEntry>, review: i64) -> impl IntoView {
    let role = match &e.team {
        Some(team) => format!("{} of {team}", e.role),
        None => e.role.clone(),
    };
    let decided = e.decision.clone().map(|d| {
        view! {
            <strong>{d}</strong>" by "{e.decided_by.clone().unwrap_or_default()}
            <br/><span class="text-xs text-slate-500">{e.decided_at.clone().unwrap_or_default()}</span>
            {e.note.clone().map(|n| view! { <p class="mt-1 text-slate-700">{n}</p> })}
        }
    });
    let legend = format!("Decision on {}", e.subject_label);
    let form = e.may_decide.then(|| {
        let id = e.id;
        let note_id = format!("note-{id}");
        view! {
            <ActionForm action=decide attr:class="space-y-1" attr:data-test-decide=id>
                <input type="hidden" name="review" value=review/>
                <input type="hidden" name="entry" value=id/>
                <fieldset class="flex gap-3">
                    <legend class="sr-only">{legend}</legend>
                    <label><input type="radio" name="decision" value="keep" required/>" Keep"</label>
                    <label><input type="radio" name="decision" value="revoke"/>" Revoke"</label>
                </fieldset>
                <label for=note_id.clone() class="sr-only">"Note"</label>
                <textarea id=note_id name="note" rows="2" class=INPUT placeholder="Note (required to revoke)"></textarea>
                <button class="rounded bg-indigo-600 px-2 py-1 text-white focus:outline-none focus:ring-2 focus:ring-indigo-400">"Record decision"</button>
            </ActionForm>
        }
    });
    let pending =
        (e.decision.is_none() && !e.may_decide).then(|| view! { <span class="text-slate-500">"undecided"</span> });
    view! {
        <tr data-test-entry=e.id data-kind=e.kind.clone()>
            <td class=CELL>{e.subject_label.clone()}<br/><span class="text-xs text-slate-500 break-all">{e.subject.clone()}</span></td>
            <td class=CELL>{role}</td>
            <td class=CELL>{e.granted_via.clone()}</td>
            <td class=CELL>{e.last_seen_at.clone().unwrap_or_else(|| "never".into())}</td>
            <td class=CELL>{decided}{form}{pending}</td>
        </tr>
    }
}

/// Who could change each mesh service's policies and ownership when the review opened.
#[component]
pub fn ServicesTable(services: Vec<ServiceAccess>) -> impl IntoView {
    (!services.is_empty()).then(|| view! {
        <section class="mt-8" aria-labelledby="mesh-access">
            <h2 id="mesh-access" class="text-lg font-semibold">"Mesh access against IdP roles"</h2>
            <p class="mb-2 text-sm text-slate-600">
                "Who may change each service's policies and ownership: its owning team's leads, as derived from the identity provider, and every admin. Revoke a lead's entry above to take it away."
            </p>
            <table class="w-full text-sm" data-test="service-access">
                <thead><tr>
                    <th scope="col" class=CELL>"Service"</th><th scope="col" class=CELL>"Component"</th>
                    <th scope="col" class=CELL>"Owner"</th><th scope="col" class=CELL>"Leads"</th>
                </tr></thead>
                <tbody>
                    {services.into_iter().map(|s| view! {
                        <tr>
                            <td class=CELL>{format!("{} / {} / {}", s.control_plane, s.mesh, s.service)}</td>
                            <td class=CELL>{s.component.unwrap_or_else(|| "none".into())}</td>
                            <td class=CELL>{s.owner.unwrap_or_else(|| "no owner: admins only".into())}</td>
                            <td class=CELL>{if s.leads.is_empty() { "none".to_owned() } else { s.leads.join(", ") }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    })
}

/// Role overrides in force, each with a button to lift it (admins).
#[component]
pub fn OverridesTable(overrides: Vec<RoleOverrideView>, lift: ServerAction<LiftRoleOverride>) -> impl IntoView {
    view! {
        <section class="mt-8" aria-labelledby="overrides">
            <h2 id="overrides" class="text-lg font-semibold">"Roles taken by reviews"</h2>
            {move || lift.value().get().map(|r| match r {
                Ok(o) => view! { <p role="status" class="text-sm text-emerald-800">{format!("Lifted: {} gets {} back from their groups.", o.subject_label, o.role)}</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
            })}
            {if overrides.is_empty() {
                view! { <p class="text-sm text-slate-600">"None in force."</p> }.into_any()
            } else {
                view! {
                    <table class="w-full text-sm" data-test="overrides">
                        <thead><tr>
                            <th scope="col" class=CELL>"Who"</th><th scope="col" class=CELL>"Role"</th>
                            <th scope="col" class=CELL>"Why"</th><th scope="col" class=CELL>"By"</th><th scope="col" class=CELL></th>
                        </tr></thead>
                        <tbody>
                            {overrides.into_iter().map(|o| view! {
                                <tr>
                                    <td class=CELL>{o.subject_label.clone()}</td>
                                    <td class=CELL>{match &o.team { Some(t) => format!("{} of {t}", o.role), None => o.role.clone() }}</td>
                                    <td class=CELL>{o.reason.clone()}</td>
                                    <td class=CELL>{o.created_by.clone()}<br/><span class="text-xs text-slate-500">{o.created_at.clone()}</span></td>
                                    <td class=CELL>
                                        <ActionForm action=lift>
                                            <input type="hidden" name="id" value=o.id/>
                                            <button class="rounded border border-slate-300 px-2 py-1">"Lift"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
