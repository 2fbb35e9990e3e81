//! `/access-reviews` (open and past reviews; admins open one and lift role overrides) and
//! `/access-reviews/:id` (a review's entries, the caller's to decide first). Every form is an
//! `ActionForm`, so the pages work without JavaScript; the server functions check the caller.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::api::{
    get_access_review, get_access_reviews, get_role_overrides, CloseAccessReview, DecideReviewEntry, LiftRoleOverride,
    OpenAccessReview,
};
use super::components::{EntryGroup, OverridesTable, ReviewsTable, ServicesTable};
use super::{review_href, ReviewDetail};
use crate::auth::api::get_me;
use crate::error::{error_fallback, AppError};
use crate::ui::{EmptyState, Loading};

const INPUT: &str = "rounded border border-slate-300 px-2 py-1";
const BUTTON: &str = "rounded bg-indigo-600 px-3 py-1.5 text-sm text-white hover:bg-indigo-700 focus:outline-none focus:ring-2 focus:ring-indigo-400";

/// The list of reviews, and for admins the form opening one and the overrides in force.
#[component]
pub fn AccessReviewsPage() -> impl IntoView {
    let open = ServerAction::<OpenAccessReview>::new();
    let lift = ServerAction::<LiftRoleOverride>::new();
    let reviews = Resource::new(move || open.version().get(), |_| get_access_reviews());
    let me = Resource::new(|| (), |_| get_me());
    // Asked for only by admins: a refused server function would mark the whole page 403.
    let overrides = Resource::new(
        move || lift.version().get(),
        |_| async move {
            match get_me().await {
                Ok(Some(me)) if me.is_admin() => get_role_overrides().await.map(Some),
                _ => Ok(None),
            }
        },
    );
    view! {
        <Title text="Access reviews"/>
        <h1 class="mb-4 text-2xl font-semibold">"Access reviews"</h1>
        {move || open.value().get().map(|r| match r {
            Ok(d) => view! {
                <p role="status" class="mb-3 text-sm text-emerald-800">
                    "Opened "<a class="text-indigo-700 underline" href=review_href(d.review.id)>{format!("review {}", d.review.id)}</a>
                    {format!(" with {} entries.", d.review.entries)}
                </p>
            }.into_any(),
            Err(e) => view! { <p role="alert" class="mb-3 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
        })}
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let me = me.await?.ok_or(AppError::Unauthenticated)?;
                    let list = reviews.await?;
                    let admin = me.is_admin();
                    let form = admin.then(|| view! {
                        <ActionForm action=open attr:class="mb-6 flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4" attr:data-test="open-review">
                            <h2 class="w-full font-semibold">"Open a review"</h2>
                            <label class="flex flex-col text-sm">"Scope: all, or one team"
                                <input name="scope" value="all" class=INPUT aria-describedby="scope-hint"/>
                            </label>
                            <label class="flex flex-col text-sm">"Due on"
                                <input name="due_on" type="date" required class=INPUT/>
                            </label>
                            <button class=BUTTON>"Open review"</button>
                            <p id="scope-hint" class="w-full text-xs text-slate-500">
                                "A team (team-checkout) reviews its leads and tokens; all adds admins, auditors and every token."
                            </p>
                        </ActionForm>
                    });
                    let body = if list.is_empty() {
                        view! { <EmptyState title="No access reviews yet" hint="An admin opens one with a due date; reviewers then keep or revoke each grant."><span></span></EmptyState> }.into_any()
                    } else {
                        view! { <ReviewsTable reviews=list/> }.into_any()
                    };
                    Ok::<_, AppError>(view! { {form} {body} })
                })}
            </ErrorBoundary>
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                overrides.await.ok().flatten().map(|list| view! { <OverridesTable overrides=list lift/> })
            })}
        </Suspense>
    }
}

/// One review: status, the caller's entries to decide, everyone else's by reviewer, the mesh
/// services, and the attestation once closed.
#[component]
pub fn AccessReviewPage() -> impl IntoView {
    let params = use_params_map();
    let decide = ServerAction::<DecideReviewEntry>::new();
    let close = ServerAction::<CloseAccessReview>::new();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let review = Resource::new(
        move || (id(), decide.version().get(), close.version().get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_access_review(id).await,
                None => Err(AppError::NotFound("access review".into())),
            }
        },
    );
    view! {
        <Title text="Access review"/>
        <p class="mb-2 text-sm"><a class="text-indigo-700 hover:underline" href="/access-reviews">"← All access reviews"</a></p>
        {move || decide.value().get().map(|r| match r {
            Ok(e) => view! { <p role="status" class="mb-3 text-sm text-emerald-800">{format!("Recorded: {} {} of {}.", e.decision.unwrap_or_default(), e.role, e.subject_label)}</p> }.into_any(),
            Err(e) => view! { <p role="alert" class="mb-3 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
        })}
        {move || close.value().get().map(|r| match r {
            Ok(_) => view! { <p role="status" class="mb-3 text-sm text-emerald-800">"Closed; the attestation is signed."</p> }.into_any(),
            Err(e) => view! { <p role="alert" class="mb-3 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
        })}
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { review.await.map(|d| view! { <ReviewView detail=d decide close/> }) })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn ReviewView(
    detail: ReviewDetail,
    decide: ServerAction<DecideReviewEntry>,
    close: ServerAction<CloseAccessReview>,
) -> impl IntoView {
    let r = detail.review.clone();
    let open = r.status == "open";
    let pending = r.entries - r.decided - r.unassigned;
    let (mine, others): (Vec<_>, Vec<_>) = detail.entries.into_iter().partition(|e| e.may_decide);
    let mut groups: Vec<(String, Vec<super::ReviewEntry>)> = Vec::new();
    for e in others {
        let label = match (e.reviewer.as_str(), &e.team) {
            ("team_leads", Some(team)) => format!("Leads of {team}"),
            ("admins", _) => "Admins".to_owned(),
            _ => "Unassigned: nobody but the subject could review these".to_owned(),
        };
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, list)) => list.push(e),
            None => groups.push((label, vec![e])),
        }
    }
    let close_form = (open && detail.may_close).then(|| {
        view! {
            <ActionForm action=close attr:class="inline" attr:data-test="close-review">
                <input type="hidden" name="id" value=r.id/>
                <button class=BUTTON>"Close and sign"</button>
            </ActionForm>
        }
    });
    let attestation = detail.attestation.map(|a| view! {
        <section class="mt-6 rounded-lg border border-emerald-200 bg-emerald-50 p-4 text-sm" aria-labelledby="attestation" data-test="attestation">
            <h2 id="attestation" class="font-semibold">"Signed attestation"</h2>
            <p class="mt-1 break-all">"Signing key fingerprint (SHA-256): "<code data-test="attestation-fingerprint">{a.key_fingerprint}</code></p>
            <p class="mt-1 break-all">"Signature: "<code>{a.signature}</code></p>
            <pre class="mt-2 overflow-x-auto whitespace-pre-wrap break-all rounded bg-white p-2 text-xs">{a.document}</pre>
        </section>
    });
    let empty = mine.is_empty() && groups.is_empty();
    view! {
        <h1 class="mb-1 text-2xl font-semibold" data-test="review-title">{format!("Access review {} · {}", r.id, r.scope)}</h1>
        <p class="mb-4 text-sm text-slate-600" role="status" data-test="review-status" data-status=r.status.clone()>
            {format!("{} · due {}{} · {} of {} decided, {} revoked, {} unassigned · opened by {} at {}",
                r.status, r.due_on, if r.overdue { " (overdue)" } else { "" }, r.decided, r.entries, r.revoked,
                r.unassigned, r.opened_by, r.opened_at)}
            {r.closed_at.clone().map(|at| format!(" · closed by {} at {at}", r.closed_by.clone().unwrap_or_default()))}
        </p>
        {close_form}
        {(open && !detail.may_close && pending > 0).then(|| view! {
            <p class="text-sm text-slate-600">{format!("{pending} entries still need a decision before an admin can close the review.")}</p>
        })}
        {(!mine.is_empty()).then(|| view! { <EntryGroup title="Yours to decide".to_owned() entries=mine decide review=r.id/> })}
        {groups.into_iter().map(|(title, entries)| view! { <EntryGroup title entries decide review=r.id/> }).collect_view()}
        {empty.then(|| view! { <EmptyState title="No entries" hint="Nobody held a reviewed role or token when this review opened."><span></span></EmptyState> })}
        <ServicesTable services=detail.services/>
        {attestation}
    }
}
